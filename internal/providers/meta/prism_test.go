package meta

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/prismtest"
	"github.com/veriflow/veriflow/internal/providers"
)

// The Meta spec (shared/specs/meta_business_messaging_v23.0.yaml) served by
// Prism with --errors checks Send's path, headers (Authorization,
// Content-Type, User-Agent) and template payload against the Cloud API's
// own contract. It cannot check the OTP button component: its pattern for a
// button's index, ^[2-6, 11-14]$, is a character class that rejects "0",
// even the spec's own example, while "0" is what Meta documents for the
// one button of an authentication template. So these tests rewrite the
// request on its way to Prism: TestPrismSend drops the button component
// (and checks it separately), and TestPrismButtonIndexQuirk shows that the
// button validates once its index is "1", so the index is the only part
// Prism cannot judge.

const metaSpec = "meta_business_messaging_v23.0.yaml"

// rewriter is a transport that edits the JSON body of each request before
// sending it on, and records what it removed and what came back.
type rewriter struct {
	edit func(body map[string]any) (removed []any)

	mu       sync.Mutex
	removed  []any
	statuses []int
	bodies   []string
}

func (rw *rewriter) RoundTrip(req *http.Request) (*http.Response, error) {
	raw, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	if err := req.Body.Close(); err != nil {
		return nil, err
	}
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		return nil, err
	}
	removed := rw.edit(body)
	edited, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	out := req.Clone(req.Context())
	out.Body = io.NopCloser(bytes.NewReader(edited))
	out.ContentLength = int64(len(edited))
	resp, err := http.DefaultTransport.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	respBody, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if err := resp.Body.Close(); err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	rw.mu.Lock()
	rw.removed = append(rw.removed, removed...)
	rw.statuses = append(rw.statuses, resp.StatusCode)
	rw.bodies = append(rw.bodies, string(respBody))
	rw.mu.Unlock()
	return resp, nil
}

// components returns the template components of a send body.
func components(t *testing.T, body map[string]any) []any {
	t.Helper()
	tpl, ok := body["template"].(map[string]any)
	if !ok {
		t.Fatalf("no template in %v", body)
	}
	cs, ok := tpl["components"].([]any)
	if !ok {
		t.Fatalf("no components in %v", tpl)
	}
	return cs
}

func startPrism(t *testing.T) string {
	t.Helper()
	return prismtest.Start(t, prismtest.SpecPath(t, metaSpec))
}

func prismProvider(t *testing.T, base string, rw *rewriter) *Provider {
	t.Helper()
	cfg := testConfig(base, nil)
	cfg.HTTPClient = &http.Client{Transport: rw}
	return newTestProvider(t, cfg)
}

// TestPrismSend: without its button component (which the spec cannot
// validate, see above), the send request passes the spec's validation and
// the spec's example response yields the message id.
func TestPrismSend(t *testing.T) {
	rw := &rewriter{}
	rw.edit = func(body map[string]any) []any {
		var kept, removed []any
		for _, c := range components(t, body) {
			if c.(map[string]any)["type"] == "button" {
				removed = append(removed, c)
				continue
			}
			kept = append(kept, c)
		}
		body["template"].(map[string]any)["components"] = kept
		return removed
	}
	p := prismProvider(t, startPrism(t), rw)
	for _, locale := range []string{"en", "it", "es", "de", "fr", "pt"} {
		res, err := p.Send(context.Background(), whatsAppMessage(locale))
		if err != nil {
			t.Fatalf("Send(%s) against Prism: %v\nresponses: %v", locale, err, rw.bodies)
		}
		if !strings.HasPrefix(res.MessageID, "wamid.") {
			t.Errorf("MessageID = %q", res.MessageID)
		}
	}
	for i, s := range rw.statuses {
		if s < 200 || s > 299 {
			t.Errorf("request %d: HTTP %d: %s", i, s, rw.bodies[i])
		}
	}
	// What was held back from Prism is exactly the documented button.
	wantButton := map[string]any{
		"type": "button", "sub_type": "url", "index": "0",
		"parameters": []any{map[string]any{"type": "text", "text": testCode}},
	}
	if len(rw.removed) != 6 {
		t.Fatalf("%d button components removed, want 6", len(rw.removed))
	}
	for _, b := range rw.removed {
		if !reflect.DeepEqual(b, wantButton) {
			t.Errorf("button component %v, want %v", b, wantButton)
		}
	}
}

// TestPrismButtonIndexQuirk pins the spec's button-index defect: the full
// payload is refused by Prism only for template.components.1.index, and the
// same payload with index "1" (which the broken pattern happens to accept)
// passes, so everything else in the button component is valid.
func TestPrismButtonIndexQuirk(t *testing.T) {
	base := startPrism(t)
	asSent := &rewriter{edit: func(map[string]any) []any { return nil }}
	p := prismProvider(t, base, asSent)
	_, err := p.Send(context.Background(), whatsAppMessage("en"))
	var perm *providers.PermanentError
	if !errors.As(err, &perm) || perm.Reason != contract.ReasonProviderRejected {
		t.Fatalf("full payload: err = %v, want Prism's 422 as provider_rejected", err)
	}
	if len(asSent.statuses) != 1 || asSent.statuses[0] != http.StatusUnprocessableEntity ||
		!strings.Contains(asSent.bodies[0], `"location":["body","template","components","1","index"]`) {
		t.Fatalf("full payload: want 422 on the button index, got %v %v", asSent.statuses, asSent.bodies)
	}

	indexOne := &rewriter{edit: func(body map[string]any) []any {
		for _, c := range components(t, body) {
			if m := c.(map[string]any); m["type"] == "button" {
				m["index"] = "1"
			}
		}
		return nil
	}}
	p = prismProvider(t, base, indexOne)
	res, err := p.Send(context.Background(), whatsAppMessage("en"))
	if err != nil {
		t.Fatalf("payload with index \"1\": %v\nresponses: %v", err, indexOne.bodies)
	}
	if res.MessageID == "" {
		t.Error("no message id")
	}
}

// TestPrismRejectsDefaultUserAgent shows why Send sets its own User-Agent:
// the spec's User-Agent pattern refuses Go's default.
func TestPrismRejectsDefaultUserAgent(t *testing.T) {
	p := newTestProvider(t, testConfig(startPrism(t), nil))
	r := p.request("393331234567", testCode, "en_US")
	r.Template.Components = r.Template.Components[:1] // body only: see the button quirk above
	body, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, p.endpoint, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Go-http-client/1.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if err := resp.Body.Close(); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(raw), `"user-agent"`) {
		t.Errorf("Go's default User-Agent: HTTP %d %s; want 422 on user-agent", resp.StatusCode, raw)
	}
}
