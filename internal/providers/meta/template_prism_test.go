package meta

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/veriflow/veriflow/internal/prismtest"
)

// The template requests checked by Prism against Meta's spec (see
// prism_test.go for the send path).
//
// The button-index quirk of the spec (README of ../shared/specs) concerns
// the send payload's button component only: a template's OTP button has
// no index (Meta gives it index 0 itself), so create and update bodies go
// to Prism whole, and TestPrismTemplateCreate checks that no index is
// there to hold back.
//
// A second quirk: the spec has many operations on /{Version}/{id}
// (phone number, business profile, flow, template, …), so Prism routes
// POST /v23.0/{TEMPLATE_ID} to another of them and refuses the edit for a
// missing messaging_product (TestPrismTemplateUpdateRoutingQuirk pins it).
// TestPrismTemplateUpdate therefore serves a copy of the spec cut down to
// the two template paths, where the edit reaches editTemplate.

// templateSpecPaths are the paths kept by templateSpec.
func templateSpecPaths() []string {
	return []string{"  /{Version}/{TEMPLATE_ID}:", "  /{Version}/{WABA-ID}/message_templates:"}
}

// graphRecorder is a transport that records each request's body and Prism's
// answer.
type graphRecorder struct {
	mu       sync.Mutex
	requests []string
	statuses []int
	bodies   []string
}

func (rec *graphRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		raw, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		if err := req.Body.Close(); err != nil {
			return nil, err
		}
		reqBody = raw
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(raw))
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if err := resp.Body.Close(); err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(raw))
	rec.mu.Lock()
	rec.requests = append(rec.requests, string(reqBody))
	rec.statuses = append(rec.statuses, resp.StatusCode)
	rec.bodies = append(rec.bodies, string(raw))
	rec.mu.Unlock()
	return resp, nil
}

// templateSpec writes Meta's spec with only the template paths and returns
// its path. It cuts the YAML by lines: under "paths:" every path is a key
// at indent 2.
func templateSpec(t *testing.T) string {
	t.Helper()
	full := prismtest.SpecPath(t, metaSpec)
	in, err := os.Open(full)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = in.Close() }()
	var out strings.Builder
	inPaths, keep := false, true
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "paths:":
			inPaths, keep = true, true
		case inPaths && len(line) > 0 && line[0] != ' ':
			inPaths, keep = false, true
		case inPaths && strings.HasPrefix(line, "  /"):
			keep = false
			for _, p := range templateSpecPaths() {
				keep = keep || line == p
			}
		}
		if keep {
			out.WriteString(line + "\n")
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for _, p := range templateSpecPaths() {
		if !strings.Contains(out.String(), "\n"+p+"\n") {
			t.Fatalf("spec has no %s", p)
		}
	}
	path := filepath.Join(t.TempDir(), "meta_templates.yaml")
	if err := os.WriteFile(path, []byte(out.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// prismTemplateClient returns a client for base whose requests pass
// through rw (which records them and Prism's answers).
func prismTemplateClient(t *testing.T, base string, b ButtonType, rw *graphRecorder) *TemplateClient {
	t.Helper()
	cfg := templateConfig(base, b)
	cfg.HTTPClient = &http.Client{Transport: rw}
	c, err := NewTemplateClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestPrismTemplateCreate: the create body of every button type, in every
// language, with footer and time-to-live, passes the spec's validation.
func TestPrismTemplateCreate(t *testing.T) {
	base := startPrism(t)
	for _, b := range ButtonTypes() {
		rw := &graphRecorder{}
		c := prismTemplateClient(t, base, b, rw)
		cfg := templateConfig(base, b)
		cfg.CodeExpirationMinutes, cfg.MessageSendTTLSeconds = 5, 30
		for _, lang := range TemplateLanguages(cfg) {
			created, err := c.Create(context.Background(), TemplateDefinition(cfg, lang))
			if err != nil {
				t.Fatalf("%s %s against Prism: %v\nresponses: %v", b, lang, err, rw.bodies)
			}
			if created.ID == "" || created.Status == "" {
				t.Errorf("%s %s: %+v", b, lang, created)
			}
		}
		// Prism judges: the same call with a malformed body is refused.
		var out struct{}
		err := c.do(context.Background(), http.MethodPost, c.base+"/"+c.waba+"/message_templates", map[string]any{"name": 5, "components": "BODY"}, &out)
		if apiErr := (*APIError)(nil); !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("malformed create: err = %v, want Prism's 422", err)
		}
		rw.requests, rw.statuses, rw.bodies = rw.requests[:6], rw.statuses[:6], rw.bodies[:6]
		if len(rw.requests) != 6 {
			t.Fatalf("%s: %d requests, want 6", b, len(rw.requests))
		}
		for i, body := range rw.requests {
			if strings.Contains(body, `"index"`) || !strings.Contains(body, `"otp_type":"`+b.otpType()+`"`) {
				t.Errorf("%s: body %s", b, body)
			}
			if rw.statuses[i] != http.StatusOK {
				t.Errorf("%s: HTTP %d %s", b, rw.statuses[i], rw.bodies[i])
			}
		}
	}
}

// TestPrismTemplateList: the GET passes validation, and the spec's example
// answer is read (its template hello_world, by exact name).
func TestPrismTemplateList(t *testing.T) {
	rw := &graphRecorder{}
	c := prismTemplateClient(t, startPrism(t), ButtonCopyCode, rw)
	got, err := c.List(context.Background(), "hello_world")
	if err != nil {
		t.Fatalf("List against Prism: %v", err)
	}
	if len(got) != 1 || got[0].ID != "1192339204654487" || got[0].Language != "en_US" || got[0].Status != "APPROVED" {
		t.Errorf("List(hello_world) = %+v", got)
	}
	if got, err := c.List(context.Background(), testTemplate); err != nil || len(got) != 0 {
		t.Errorf("List(%s) = %+v, %v; want none", testTemplate, got, err)
	}
}

// TestPrismTemplateUpdate: the edit body (components and time-to-live)
// passes editTemplate's validation, on the cut-down spec.
func TestPrismTemplateUpdate(t *testing.T) {
	base := prismtest.Start(t, templateSpec(t))
	for _, b := range ButtonTypes() {
		rw := &graphRecorder{}
		c := prismTemplateClient(t, base, b, rw)
		cfg := templateConfig(base, b)
		cfg.MessageSendTTLSeconds = 120
		if err := c.Update(context.Background(), "920070352646140", TemplateDefinition(cfg, "it")); err != nil {
			t.Fatalf("%s: Update against Prism: %v\nresponses: %v", b, err, rw.bodies)
		}
	}
	// The cut-down spec still judges: a malformed edit is refused.
	c := prismTemplateClient(t, base, ButtonCopyCode, &graphRecorder{})
	var out struct{}
	err := c.do(context.Background(), http.MethodPost, c.base+"/920070352646140", map[string]any{"components": "BODY"}, &out)
	if apiErr := (*APIError)(nil); !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("malformed edit: err = %v, want Prism's 422", err)
	}
}

// TestPrismTemplateUpdateRoutingQuirk pins the routing quirk: on the full
// spec, Prism judges the edit by another /{Version}/{id} operation.
func TestPrismTemplateUpdateRoutingQuirk(t *testing.T) {
	rw := &graphRecorder{}
	c := prismTemplateClient(t, startPrism(t), ButtonCopyCode, rw)
	err := c.Update(context.Background(), "920070352646140", TemplateDefinition(templateConfig("", ButtonCopyCode), "en"))
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("full spec: err = %v, want Prism's 422", err)
	}
}
