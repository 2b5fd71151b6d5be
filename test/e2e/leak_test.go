package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/encoding/protojson"
)

// TestNothingLeaks runs full verifications of every kind over several
// channels, then exports their Temporal histories (raw, as the server
// stores them), the logs of the API and worker, and a dump of every table
// in Postgres, and looks in all of them for the issued codes and the
// unmasked destinations.
func TestNothingLeaks(t *testing.T) {
	s := need(t)
	type issued struct {
		id, code string
	}
	var runs []issued
	var secrets []string // codes and destinations that must appear nowhere
	doc := map[string]string{"sha256": strings.Repeat("c3", 32), "title": "Leak test"}
	tx := map[string]string{"amount": "10.50", "currency": "EUR", "payee": "Leak Ltd"}
	for i, c := range []struct {
		kind  string
		phone string
		extra map[string]any
	}{
		{"signup", "+393339990001", nil},
		{"two_factor", "+393339990002", nil},
		{"password_reset", "+393339990003", nil},
		{"transaction", "+393339990004", map[string]any{"transaction": tx}},
		{"signature", "+393339990005", map[string]any{"document": doc}},
	} {
		email := fmt.Sprintf("leak.user%d@leak-example.org", i)
		body := map[string]any{"kind": c.kind, "to": map[string]string{"phone": c.phone, "email": email}, "code_length": 10}
		check := map[string]any{}
		for k, v := range c.extra {
			body[k], check[k] = v, v
		}
		v := s.start(t, s.acme, body)
		code := s.sandboxCodeEventually(t, s.acme, firstDestination(c.kind, c.phone, email), v.ID)
		wrong := map[string]any{"code": "0123456789"}
		for k, v := range check {
			wrong[k] = v
		}
		s.call(t, "POST", "/v1/verifications/"+v.ID+"/check", s.acme, wrong)
		check["code"] = code
		if r := s.call(t, "POST", "/v1/verifications/"+v.ID+"/check", s.acme, check); r.verification(t).Status != "approved" {
			t.Fatalf("%s: %s", c.kind, r.Body)
		}
		runs = append(runs, issued{v.ID, code})
		secrets = append(secrets, code, c.phone, strings.TrimPrefix(c.phone, "+"), email)
	}

	ctx := context.Background()
	var corpus strings.Builder
	for _, r := range runs {
		if err := s.app.Temporal.GetWorkflow(ctx, "verification/"+r.id, "").Get(ctx, nil); err != nil {
			t.Fatal(err)
		}
		corpus.WriteString(s.historyText(t, r.id, decodedPayloads)) // base64 only: no decryption
	}
	history := corpus.String()
	if !strings.Contains(history, "binary/encrypted") && !strings.Contains(history, base64.StdEncoding.EncodeToString([]byte("binary/encrypted"))) {
		t.Fatal("history payloads are not encrypted")
	}
	logs := s.logs.String()
	if !strings.Contains(logs, "code sent") {
		t.Fatal("no logs were captured")
	}
	dump := s.dumpDatabase(t)
	for _, secret := range secrets {
		for where, text := range map[string]string{"temporal history": history, "logs": logs, "database": dump} {
			if strings.Contains(text, secret) {
				t.Errorf("%s contains %q", where, secret)
			}
		}
	}
}

func firstDestination(kind, phone, email string) string {
	if kind == "password_reset" {
		return email
	}
	return phone
}

// dumpDatabase renders every row of every table as text.
func (s *stack) dumpDatabase(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(ctx) }()
	rows, err := conn.Query(ctx, `select table_name from information_schema.tables where table_schema = 'public' order by 1`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, table := range tables {
		rows, err := conn.Query(ctx, fmt.Sprintf(`select t::text from %s t`, pgx.Identifier{table}.Sanitize()))
		if err != nil {
			t.Fatal(err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(table + "\n" + strings.Join(lines, "\n") + "\n")
		// bytea columns render as hex: also search their decoded bytes.
		for _, l := range lines {
			b.WriteString(decodeHexRuns(l))
		}
	}
	if !strings.Contains(b.String(), "verifications") {
		t.Fatal("empty dump")
	}
	return b.String()
}

// decodeHexRuns decodes the \x… bytea literals of a row's text.
func decodeHexRuns(row string) string {
	var out strings.Builder
	for _, part := range strings.Split(row, `\\x`)[1:] {
		end := 0
		for end < len(part) && strings.ContainsRune("0123456789abcdef", rune(part[end])) {
			end++
		}
		for i := 0; i+1 < end; i += 2 {
			var c byte
			_, _ = fmt.Sscanf(part[i:i+2], "%02x", &c)
			out.WriteByte(c)
		}
		out.WriteByte('\n')
	}
	return out.String()
}

// TestCodecServer decodes an encrypted history payload through the codec
// server, as the Temporal UI does, and refuses callers without the token.
func TestCodecServer(t *testing.T) {
	s := need(t)
	v := s.start(t, s.acme, map[string]any{"kind": "signup", "to": map[string]string{"phone": "+393339990099"}})
	ctx := context.Background()
	it := s.app.Temporal.GetWorkflowHistory(ctx, "verification/"+v.ID, "", false, 0)
	first, err := it.Next()
	if err != nil {
		t.Fatal(err)
	}
	input := first.GetWorkflowExecutionStartedEventAttributes().GetInput()
	body, err := protojson.Marshal(input)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(decodedPayloads(t, body)), "+393339990099") {
		t.Fatal("the workflow input is stored in clear")
	}
	if r := s.postWebhook(t, "/codec/decode", "application/json", body); r.Status != 401 && r.Status != 403 {
		t.Fatalf("decode without a token: %d %s", r.Status, r.Body)
	}
	r := s.postWebhook(t, "/codec/decode", "application/json", body, "Authorization", "Bearer "+codecToken, "X-Namespace", "default")
	if r.Status != 200 {
		t.Fatalf("decode: %d %s", r.Status, r.Body)
	}
	if decoded := string(decodedPayloads(t, r.Body)); !strings.Contains(decoded, "+393339990099") || !strings.Contains(decoded, `"kind":"signup"`) {
		t.Fatalf("decoded payload: %s", decoded)
	}
}
