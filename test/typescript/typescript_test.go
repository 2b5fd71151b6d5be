package typescript

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/devstack"
	"github.com/veriflow/veriflow/internal/localpg"
)

// maxRedoclyWarnings is the number of warnings Redocly's recommended rules
// leave on api/openapi.json (info-license: no license chosen yet;
// operation-4xx-response on /healthz, /readyz, /metrics and /openapi.json,
// which answer no 4xx). A new warning fails the test.
const maxRedoclyWarnings = 5

// tools locates the repository and the Node tools installed by `make
// ts-deps`; it skips the test when they are missing, or fails it when
// VERIFLOW_REQUIRE_NODE=1.
type tools struct {
	root, bin, node string
}

func need(t *testing.T) tools {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	tl := tools{root: root, bin: filepath.Join(root, ".dev", "ts", "node_modules", ".bin")}
	missing := func(why string) {
		t.Helper()
		if os.Getenv("VERIFLOW_REQUIRE_NODE") == "1" {
			t.Fatalf("VERIFLOW_REQUIRE_NODE=1 but %s", why)
		}
		t.Skipf("skipping: %s", why)
	}
	if tl.node, err = exec.LookPath("node"); err != nil {
		missing("no node on PATH")
	}
	for _, name := range []string{"tsc", "openapi-typescript", "redocly"} {
		if _, err := os.Stat(filepath.Join(tl.bin, name)); err != nil {
			missing(name + " is not installed (make ts-deps)")
		}
	}
	want, err := os.ReadFile(filepath.Join(root, "client", "typescript", "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(root, ".dev", "ts", "package-lock.json")); err != nil || !bytes.Equal(got, want) {
		missing(".dev/ts holds other versions than client/typescript/package-lock.json (make ts-deps)")
	}
	return tl
}

// run runs a tool of .dev/ts in the repository root and returns its
// combined output.
func (tl tools) run(ctx context.Context, t *testing.T, name string, args ...string) ([]byte, error) {
	t.Helper()
	cmd := exec.CommandContext(ctx, filepath.Join(tl.bin, name), args...)
	cmd.Dir = tl.root
	cmd.Env = append(os.Environ(), "REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true", "NO_UPDATE_NOTIFIER=1")
	return cmd.CombinedOutput()
}

// TestSchemaUpToDate regenerates the client's types from api/openapi.json and
// fails when the committed src/schema.ts differs (VERIFLOW_UPDATE_CLIENT=1
// rewrites it).
func TestSchemaUpToDate(t *testing.T) {
	tl := need(t)
	out := filepath.Join(t.TempDir(), "schema.ts")
	if b, err := tl.run(t.Context(), t, "openapi-typescript", "api/openapi.json", "-o", out); err != nil {
		t.Fatalf("openapi-typescript: %v\n%s", err, b)
	}
	fresh, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	committed := filepath.Join(tl.root, "client", "typescript", "src", "schema.ts")
	if os.Getenv("VERIFLOW_UPDATE_CLIENT") == "1" {
		if err := os.WriteFile(committed, fresh, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	old, err := os.ReadFile(committed)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(old, fresh) {
		t.Fatalf("client/typescript/src/schema.ts is not what openapi-typescript generates from api/openapi.json; run make ts-generate")
	}
	// No unknown where the spec has a shape: the only unknowns allowed are
	// the open header maps openapi-typescript writes for every response and
	// objects the spec declares open (additionalProperties: true).
	for i, line := range strings.Split(string(fresh), "\n") {
		l := strings.TrimSpace(line)
		if strings.HasPrefix(l, "*") || strings.HasPrefix(l, "/**") {
			continue
		}
		code := quoted.ReplaceAllString(l, `""`)
		if unknownType.MatchString(code) && l != "[name: string]: unknown;" && l != "[key: string]: unknown;" {
			t.Errorf("schema.ts:%d: unknown type: %s", i+1, l)
		}
		if strings.Contains(code, "Record<string, never>") && !strings.HasPrefix(l, "export type $defs") {
			t.Errorf("schema.ts:%d: an empty object type: %s", i+1, l)
		}
	}
}

var (
	quoted      = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	unknownType = regexp.MustCompile(`\bunknown\b`)
)

// TestRedoclyLint runs Redocly's recommended rules on api/openapi.json: no
// error, and no warning beyond the known ones.
func TestRedoclyLint(t *testing.T) {
	tl := need(t)
	b, err := tl.run(t.Context(), t, "redocly", "lint", "api/openapi.json", "--format=json")
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("redocly: %v\n%s", err, b)
	}
	var report struct {
		Totals struct {
			Errors   int `json:"errors"`
			Warnings int `json:"warnings"`
		} `json:"totals"`
		Problems []struct {
			RuleID   string `json:"ruleId"`
			Severity string `json:"severity"`
			Message  string `json:"message"`
			Location []struct {
				Pointer string `json:"pointer"`
			} `json:"location"`
		} `json:"problems"`
	}
	// The report is the first JSON value of the output; a summary line follows.
	start := bytes.IndexByte(b, '{')
	if start < 0 || json.NewDecoder(bytes.NewReader(b[start:])).Decode(&report) != nil {
		t.Fatalf("redocly --format=json: %v\n%s", err, b)
	}
	for _, p := range report.Problems {
		where := ""
		if len(p.Location) > 0 {
			where = p.Location[0].Pointer
		}
		t.Logf("%s %s %s: %s", p.Severity, p.RuleID, where, p.Message)
	}
	t.Logf("redocly: %d errors, %d warnings", report.Totals.Errors, report.Totals.Warnings)
	if report.Totals.Errors != 0 || err != nil {
		t.Errorf("redocly: %d errors (exit %v), want 0", report.Totals.Errors, err)
	}
	if report.Totals.Warnings > maxRedoclyWarnings {
		t.Errorf("redocly: %d warnings, want at most %d", report.Totals.Warnings, maxRedoclyWarnings)
	}
}

// TestClientTransaction compiles the client and client/typescript/test/
// transaction.ts with tsc and runs it with node against a local stack: a
// whole transaction verification (start with amount and payee, the code
// from the sandbox, a wrong code, a binding mismatch as a typed problem, the
// right check, get), an idempotent replay, a rate-limited resend with
// retryAfter, a cancel and the analytics calls.
func TestClientTransaction(t *testing.T) {
	tl := need(t)
	if testing.Short() {
		t.Skip("needs Postgres and Temporal")
	}
	out := t.TempDir()
	if b, err := tl.run(t.Context(), t, "tsc", "-p", "client/typescript/tsconfig.json", "--outDir", out); err != nil {
		t.Fatalf("tsc: %v\n%s", err, b)
	}
	// tsc writes ES modules; node reads .js under this folder as such.
	if err := os.WriteFile(filepath.Join(out, "package.json"), []byte(`{"type":"module"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	dev, err := devstack.Start(t.Context(), devstack.Options{DatabaseURL: localpg.ForTest(t)})
	if errors.Is(err, devstack.ErrNoTemporalCLI) && os.Getenv("VERIFLOW_REQUIRE_TEMPORAL") != "1" {
		t.Skipf("skipping: %v", err)
	}
	if err != nil {
		t.Fatalf("stack: %v", err)
	}
	t.Cleanup(func() {
		if err := dev.Close(); err != nil {
			t.Errorf("stack: %v", err)
		}
	})
	key, err := dev.CreateKey(t.Context(), "ts", contract.ModeTest)
	if err != nil {
		t.Fatal(err)
	}
	// A fresh Italian mobile number: the sandbox delivers it on every channel.
	n, err := rand.Int(rand.Reader, big.NewInt(10_000_000))
	if err != nil {
		t.Fatal(err)
	}
	phone := fmt.Sprintf("+39333%07d", n.Int64())

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, tl.node, filepath.Join(out, "test", "transaction.js"))
	cmd.Env = append(os.Environ(), "VERIFLOW_URL="+dev.URL, "VERIFLOW_KEY="+key, "VERIFLOW_PHONE="+phone)
	b, err := cmd.CombinedOutput()
	t.Logf("node test/transaction.js:\n%s", b)
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	if !bytes.Contains(b, []byte("ok: ")) {
		t.Fatal("the script did not report ok")
	}
}
