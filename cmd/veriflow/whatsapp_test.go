package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

const (
	graphToken = "EAAclitest.TOKEN_987"
	graphWABA  = "102290129340398"
)

// graph is a fake Graph API holding one WABA's templates.
type graph struct {
	t  *testing.T
	mu sync.Mutex
	// templates by id; each a Meta rendering (map) with id, name, language,
	// status, category, components, message_send_ttl_seconds.
	templates map[string]map[string]any
	nextID    int
	creates   []map[string]any // bodies of POST message_templates
	updates   map[string]map[string]any
	fail      string // when set, every request gets this error JSON (HTTP 400)
}

func newGraph(t *testing.T) (*graph, *httptest.Server) {
	g := &graph{t: t, templates: map[string]map[string]any{}, nextID: 1000, updates: map[string]map[string]any{}}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return g, srv
}

func (g *graph) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if r.Header.Get("Authorization") != "Bearer "+graphToken {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"error":{"message":"Invalid OAuth access token.","type":"OAuthException","code":190}}`)
		return
	}
	if g.fail != "" {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, g.fail)
		return
	}
	var body map[string]any
	if r.Method == http.MethodPost {
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
	}
	list := "/v23.0/" + graphWABA + "/message_templates"
	switch {
	case r.Method == http.MethodGet && r.URL.Path == list:
		var data []map[string]any
		for _, tpl := range g.templates {
			if tpl["name"] == r.URL.Query().Get("name") {
				data = append(data, tpl)
			}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"data": data})
	case r.Method == http.MethodPost && r.URL.Path == list:
		g.creates = append(g.creates, body)
		g.nextID++
		id := fmt.Sprint(g.nextID)
		tpl := map[string]any{"id": id, "status": "PENDING"}
		for k, v := range body {
			tpl[k] = v
		}
		g.templates[id] = tpl
		_ = json.NewEncoder(w).Encode(map[string]any{"id": id, "status": "PENDING", "category": "AUTHENTICATION"})
	case r.Method == http.MethodPost && g.templates[strings.TrimPrefix(r.URL.Path, "/v23.0/")] != nil:
		id := strings.TrimPrefix(r.URL.Path, "/v23.0/")
		g.updates[id] = body
		for k, v := range body {
			g.templates[id][k] = v
		}
		_, _ = io.WriteString(w, `{"success":true}`)
	default:
		http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusNotFound)
	}
}

// seed stores the template that create would make in every language
// (a copy-code button, footer 5, ttl 30: the defaults), all APPROVED.
func (g *graph) seed(t *testing.T, srv *httptest.Server) {
	t.Helper()
	out, errOut, code := runTemplate(t, srv, nil, "create")
	if code != 0 {
		t.Fatalf("seed: exit %d %s %s", code, out, errOut)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, tpl := range g.templates {
		tpl["status"] = "APPROVED"
	}
	g.creates = nil
}

// byLanguage returns the stored template of lang.
func (g *graph) byLanguage(lang string) map[string]any {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, tpl := range g.templates {
		if tpl["language"] == lang {
			return tpl
		}
	}
	return nil
}

// runTemplate runs veriflow whatsapp template args against srv with the
// META_* variables set, plus env.
func runTemplate(t *testing.T, srv *httptest.Server, env map[string]string, args ...string) (string, string, int) {
	t.Helper()
	vars := map[string]string{
		"META_ACCESS_TOKEN": graphToken, "META_WABA_ID": graphWABA, "META_BASE_URL": srv.URL,
		"META_TEMPLATE_NAME": "veriflow_code",
	}
	for k, v := range env {
		vars[k] = v
	}
	var out, errOut bytes.Buffer
	code := run(t.Context(), append([]string{"whatsapp", "template"}, args...), &out, &errOut, func(k string) string { return vars[k] })
	return out.String(), errOut.String(), code
}

// TestTemplateCreateSixLanguages: create posts the authentication template
// once per language Veriflow sends in, with the defaults derived from the
// built-in policies.
func TestTemplateCreateSixLanguages(t *testing.T) {
	g, srv := newGraph(t)
	out, errOut, code := runTemplate(t, srv, nil, "create")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	var langs []string
	for _, b := range g.creates {
		langs = append(langs, b["language"].(string))
		want := `{"category":"AUTHENTICATION","components":[{"add_security_recommendation":true,"type":"BODY"},` +
			`{"code_expiration_minutes":5,"type":"FOOTER"},{"buttons":[{"otp_type":"COPY_CODE","type":"OTP"}],"type":"BUTTONS"}],` +
			`"language":"` + langs[len(langs)-1] + `","message_send_ttl_seconds":30,"name":"veriflow_code"}`
		if got, _ := json.Marshal(b); string(got) != want {
			t.Errorf("body\n got %s\nwant %s", got, want)
		}
	}
	slices.Sort(langs)
	if !slices.Equal(langs, []string{"de", "en_US", "es", "fr", "it", "pt_BR"}) {
		t.Errorf("languages %v", langs)
	}
	for _, want := range []string{"message_send_ttl_seconds: 30", "footer: code expires in 5 min", "button: copy_code", "pt_BR  created  id "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestTemplateSyncUpdatesOnlyTheDifferingOne: one language edited by hand
// in WhatsApp Manager (no footer) and one deleted; sync edits the first,
// creates the second and leaves the other four alone.
func TestTemplateSyncUpdatesOnlyTheDifferingOne(t *testing.T) {
	g, srv := newGraph(t)
	g.seed(t, srv)
	it, de := g.byLanguage("it"), g.byLanguage("de")
	g.mu.Lock()
	it["components"] = []any{
		map[string]any{"type": "BODY", "text": "*{{1}}* è il tuo codice di verifica.", "add_security_recommendation": true},
		map[string]any{"type": "BUTTONS", "buttons": []any{map[string]any{"type": "OTP", "otp_type": "COPY_CODE", "text": "Copia codice"}}},
	}
	delete(g.templates, de["id"].(string))
	g.mu.Unlock()

	out, errOut, code := runTemplate(t, srv, nil, "sync")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if len(g.updates) != 1 || g.updates[it["id"].(string)] == nil {
		t.Errorf("updates %v, want only it (%s)", g.updates, it["id"])
	}
	if upd := g.updates[it["id"].(string)]; upd["name"] != nil || upd["message_send_ttl_seconds"] != float64(30) {
		t.Errorf("edit body %v: no name, the ttl", upd)
	}
	if len(g.creates) != 1 || g.creates[0]["language"] != "de" {
		t.Errorf("creates %v, want only de", g.creates)
	}
	for _, want := range []string{"it     updated", "code_expiration_minutes: 0, want 5", "de     created", "en_US  up to date"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	// Synced: a second run changes nothing.
	g.updates, g.creates = map[string]map[string]any{}, nil
	if out, errOut, code := runTemplate(t, srv, nil, "sync"); code != 0 || len(g.updates) != 0 || len(g.creates) != 0 {
		t.Errorf("second sync: exit %d, %d updates, %d creates\n%s%s", code, len(g.updates), len(g.creates), out, errOut)
	}

	// A pending template that differs cannot be edited: said, exit 1.
	g.mu.Lock()
	it["status"] = "PENDING"
	it["message_send_ttl_seconds"] = float64(600)
	g.mu.Unlock()
	out, errOut, code = runTemplate(t, srv, nil, "sync")
	if code != 1 || len(g.updates) != 0 || !strings.Contains(errOut, "Meta edits only approved, rejected or paused templates") {
		t.Errorf("pending: exit %d, updates %v\n%s%s", code, g.updates, out, errOut)
	}
}

// TestTemplateShowStatuses prints each language's review status and
// definition, the missing ones, and what differs.
func TestTemplateShowStatuses(t *testing.T) {
	g, srv := newGraph(t)
	g.seed(t, srv)
	g.mu.Lock()
	g.byLanguageLocked("it")["status"] = "PENDING"
	fr := g.byLanguageLocked("fr")
	fr["status"], fr["rejected_reason"] = "REJECTED", "INVALID_FORMAT"
	delete(g.templates, g.byLanguageLocked("es")["id"].(string))
	g.mu.Unlock()

	out, errOut, code := runTemplate(t, srv, map[string]string{"META_TEMPLATE_BUTTON": "copy_code"}, "show", "--code-expiration", "10")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"en_US  APPROVED id ", "AUTHENTICATION: button copy_code, security recommendation, footer 5 min, ttl 30 s",
		"it     PENDING id ", "fr     REJECTED id ", "rejected: INVALID_FORMAT", "es     MISSING",
		"differs from the configuration: code_expiration_minutes: 5, want 10",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if len(g.creates) != 0 || len(g.updates) != 0 {
		t.Error("show changed something")
	}
}

func (g *graph) byLanguageLocked(lang string) map[string]any {
	for _, tpl := range g.templates {
		if tpl["language"] == lang {
			return tpl
		}
	}
	g.t.Fatalf("no template in %s", lang)
	return nil
}

// TestTemplateTTLFromPolicies: the time-to-live is the longest WhatsApp
// channel timeout of the deployment's policies, clamped to Meta's 30-900 s
// (and said so); the button and its Android app come from configuration.
func TestTemplateTTLFromPolicies(t *testing.T) {
	for _, tc := range []struct {
		policies string
		ttl      float64
		note     string
	}{
		{`{"signup": {"channel_timeout_seconds": 120}, "two_factor": {"channel_timeout_seconds": 45}}`, 120, "120 s, kind signup)"},
		{`{"signup": {"channel_timeout_seconds": 10}, "transaction": {"channel_timeout_seconds": 10}, "two_factor": {"channel_timeout_seconds": 10}, "signature": {"channel_timeout_seconds": 10}}`, 30, "clamped to Meta's 30-900 s"},
		{`{"signup": {"channel_timeout_seconds": 900, "channels": ["sms", "email"]}, "signature": {"channel_timeout_seconds": 600}}`, 600, "600 s, kind signature)"},
	} {
		g, srv := newGraph(t)
		file := filepath.Join(t.TempDir(), "config.json")
		if err := os.WriteFile(file, []byte(`{"policies": `+tc.policies+`}`), 0o600); err != nil {
			t.Fatal(err)
		}
		env := map[string]string{
			"VERIFLOW_CONFIG_FILE": file, "META_TEMPLATE_BUTTON": "zero_tap", "META_ZERO_TAP_TERMS_ACCEPTED": "true",
			"META_ANDROID_PACKAGE": "com.example.veriflow", "META_ANDROID_SIGNATURE_HASH": "K8a/AINcGX7",
		}
		out, errOut, code := runTemplate(t, srv, env, "create", "--code-expiration", "none")
		if code != 0 || len(g.creates) != 6 {
			t.Fatalf("%s: exit %d, %d creates\n%s\n%s", tc.policies, code, len(g.creates), out, errOut)
		}
		body, _ := json.Marshal(g.creates[0])
		if g.creates[0]["message_send_ttl_seconds"] != tc.ttl || !strings.Contains(out, tc.note) {
			t.Errorf("%s: ttl %v, want %v; output lacks %q:\n%s", tc.policies, g.creates[0]["message_send_ttl_seconds"], tc.ttl, tc.note, out)
		}
		if !strings.Contains(string(body), `{"otp_type":"ZERO_TAP","supported_apps":[{"package_name":"com.example.veriflow","signature_hash":"K8a/AINcGX7"}],"type":"OTP","zero_tap_terms_accepted":true}`) ||
			strings.Contains(string(body), "FOOTER") {
			t.Errorf("body %s", body)
		}
	}
}

// TestTemplateErrors: Meta's refusals and bad configuration are clear CLI
// errors (exit 1) that never show the token; wrong command lines exit 2.
func TestTemplateErrors(t *testing.T) {
	g, srv := newGraph(t)
	g.fail = `{"error":{"message":"(#100) Invalid parameter for token ` + graphToken + `","type":"OAuthException","code":100,"error_subcode":2388043,"error_data":{"details":"Message template \"veriflow_code\" already exists"},"fbtrace_id":"AbCd"}}`
	for _, args := range [][]string{{"create"}, {"sync"}, {"show"}} {
		out, errOut, code := runTemplate(t, srv, nil, args...)
		if code != 1 || !strings.Contains(errOut, "veriflow whatsapp template: ") || !strings.Contains(errOut, "code 100 subcode 2388043") ||
			!strings.Contains(errOut, "already exists") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
		if strings.Contains(out+errOut, graphToken) {
			t.Errorf("%v: token shown:\n%s%s", args, out, errOut)
		}
	}
	g.fail = ""
	for _, tc := range []struct {
		env  map[string]string
		args []string
		code int
		want string
	}{
		{map[string]string{"META_ACCESS_TOKEN": "EAAwrong"}, []string{"show"}, 1, "code 190"},
		{map[string]string{"META_WABA_ID": ""}, []string{"sync"}, 1, "META_WABA_ID"},
		{map[string]string{"META_TEMPLATE_BUTTON": "one_tap"}, []string{"create"}, 1, "META_ANDROID_PACKAGE"},
		{map[string]string{"META_TEMPLATE_BUTTON": "swipe"}, []string{"create"}, 1, "META_TEMPLATE_BUTTON"},
		{nil, []string{"delete"}, 2, "needs one of create, sync or show"},
		{nil, []string{}, 2, "needs one of create, sync or show"},
		{nil, []string{"create", "--button", "ONE_TAP"}, 2, "--button must be one of"},
		{nil, []string{"create", "--code-expiration", "91"}, 2, "--code-expiration must be"},
	} {
		out, errOut, code := runTemplate(t, srv, tc.env, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) || strings.Contains(out+errOut, graphToken) {
			t.Errorf("%v %v: exit %d, stderr %q; want %d and %q", tc.env, tc.args, code, errOut, tc.code, tc.want)
		}
	}
	if len(g.creates) != 0 {
		t.Errorf("refused commands created %d templates", len(g.creates))
	}
}

// TestTemplateDryRun prints the six bodies without a request.
func TestTemplateDryRun(t *testing.T) {
	g, srv := newGraph(t)
	g.fail = `{"error":{"message":"no request expected","code":1}}`
	out, errOut, code := runTemplate(t, srv, nil, "sync", "--dry-run")
	if code != 0 || strings.Count(out, `"category": "AUTHENTICATION"`) != 6 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
}
