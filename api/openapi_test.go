package api

// These tests keep api/openapi.json honest: every route the router serves is
// documented and nothing else is, every $ref resolves, the examples satisfy
// their schemas, and real handler outputs (the views, problems and evidence
// the handlers build) satisfy the response schemas. Full HTTP round trips of
// the /v1 handlers need Postgres and Temporal and are covered by the e2e
// suite; here the outputs are built from the same functions the handlers
// call (view, viewEvent, problem, invalid, problemOf, decodeJSON, validateStart,
// ...), and the routes that need no dependency (/healthz, /openapi.json,
// 401/404 problems) go through the real router.
//
// JSON Schema validation uses github.com/santhosh-tekuri/jsonschema/v6: a
// maintained, dependency-light validator with full draft 2020-12 support
// (the dialect of OpenAPI 3.1 schemas), $ref into arbitrary JSON pointers of
// a document, and opt-in format assertion.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/events"
	"github.com/veriflow/veriflow/internal/evidence"
	"github.com/veriflow/veriflow/internal/guard"
	"github.com/veriflow/veriflow/internal/store"
	"github.com/veriflow/veriflow/internal/verify"
)

const specURL = "https://veriflow.test/openapi.json"

// loadSpec parses the embedded document.
func loadSpec(t *testing.T) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(openAPISpec, &doc); err != nil {
		t.Fatalf("openapi.json is not valid JSON: %v", err)
	}
	return doc
}

// specValidator compiles schemas of the spec by JSON pointer.
type specValidator struct {
	t *testing.T
	c *jsonschema.Compiler
}

func newSpecValidator(t *testing.T) *specValidator {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(openAPISpec))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(specURL, doc); err != nil {
		t.Fatal(err)
	}
	return &specValidator{t: t, c: c}
}

// validate checks a JSON document against the schema at pointer ptr.
func (v *specValidator) validate(ptr string, instance []byte) error {
	v.t.Helper()
	sch, err := v.c.Compile(specURL + "#" + ptr)
	if err != nil {
		v.t.Fatalf("compile %s: %v", ptr, err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(instance))
	if err != nil {
		v.t.Fatalf("instance for %s is not JSON: %v\n%s", ptr, err, instance)
	}
	return sch.Validate(inst)
}

// mustMatch asserts that value, encoded with encoding/json (as gin's c.JSON
// does), satisfies the named component schema.
func (v *specValidator) mustMatch(schema string, value any) {
	v.t.Helper()
	b, err := json.Marshal(value)
	if err != nil {
		v.t.Fatal(err)
	}
	v.mustMatchJSON(schema, b)
}

func (v *specValidator) mustMatchJSON(schema string, b []byte) {
	v.t.Helper()
	if err := v.validate("/components/schemas/"+schema, b); err != nil {
		v.t.Errorf("%s does not match schema %s: %v", b, schema, err)
	}
}

func pointerEscape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// resolvePointer follows a local JSON pointer ("#/a/b") through doc.
func resolvePointer(doc any, ref string) (any, bool) {
	p, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return nil, false
	}
	cur := doc
	if p == "" {
		return cur, true
	}
	for _, tok := range strings.Split(strings.TrimPrefix(p, "/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[tok]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// walk calls fn for every object of the document with its JSON pointer.
func walk(node any, ptr string, fn func(ptr string, obj map[string]any)) {
	switch n := node.(type) {
	case map[string]any:
		fn(ptr, n)
		for _, k := range slices.Sorted(maps.Keys(n)) {
			walk(n[k], ptr+"/"+pointerEscape(k), fn)
		}
	case []any:
		for i, e := range n {
			walk(e, fmt.Sprintf("%s/%d", ptr, i), fn)
		}
	}
}

var httpMethods = []string{"get", "put", "post", "delete", "patch", "head", "options", "trace"}

// specOperations lists the documented "METHOD path" pairs.
func specOperations(t *testing.T, doc map[string]any) map[string]map[string]any {
	t.Helper()
	paths, ok := doc["paths"].(map[string]any)
	if !ok {
		t.Fatal("spec has no paths")
	}
	ops := map[string]map[string]any{}
	for p, item := range paths {
		for m, op := range item.(map[string]any) {
			if !slices.Contains(httpMethods, m) {
				continue
			}
			ops[strings.ToUpper(m)+" "+p] = op.(map[string]any)
		}
	}
	return ops
}

var ginParam = regexp.MustCompile(`:([A-Za-z_][A-Za-z0-9_]*)`)

// codecPaths are what the codec server's catch-all route /codec/*path
// serves (codec.EncodePath and codec.DecodePath).
var codecPaths = []string{"/codec/encode", "/codec/decode"}

// routerOperations lists the "METHOD path" pairs the router serves, in
// OpenAPI path syntax. HEAD and OPTIONS are skipped. The codec route is
// registered with e.Any; the codec server answers only POST (and the CORS
// preflight, OPTIONS) on its two paths, and 405 for any other method, so
// only POST on the two concrete paths is an operation.
func routerOperations(t *testing.T) map[string]bool {
	t.Helper()
	// Zero deps suffice to list routes; Codec must be set for its route.
	s := New(Deps{Webhooks: testWebhooks(), Codec: http.NotFoundHandler(), MetricsHandler: http.NotFoundHandler(), Log: slog.New(slog.DiscardHandler)})
	ops := map[string]bool{}
	sawCodec := false
	for _, r := range s.engine.Routes() {
		if r.Method == http.MethodHead || r.Method == http.MethodOptions {
			continue
		}
		if r.Path == "/codec/*path" {
			if r.Method == http.MethodPost {
				sawCodec = true
				for _, p := range codecPaths {
					ops["POST "+p] = true
				}
			}
			continue
		}
		if strings.Contains(r.Path, "*") {
			t.Errorf("unexpected wildcard route %s %s: map it to concrete paths in this test", r.Method, r.Path)
			continue
		}
		ops[r.Method+" "+ginParam.ReplaceAllString(r.Path, "{$1}")] = true
	}
	if !sawCodec {
		t.Error("the codec route POST /codec/*path is not registered")
	}
	return ops
}

func TestOpenAPIRoutesMatchRouter(t *testing.T) {
	doc := loadSpec(t)
	spec := specOperations(t, doc)
	served := routerOperations(t)
	for _, op := range slices.Sorted(maps.Keys(served)) {
		if spec[op] == nil {
			t.Errorf("%s is served but not in openapi.json", op)
		}
	}
	for _, op := range slices.Sorted(maps.Keys(spec)) {
		if !served[op] {
			t.Errorf("%s is in openapi.json but the router does not serve it", op)
		}
	}
	t.Logf("%d operations served and documented", len(served))

	ids := map[string]string{}
	for name, op := range spec {
		id, _ := op["operationId"].(string)
		if id == "" {
			t.Errorf("%s has no operationId", name)
		} else if other, dup := ids[id]; dup {
			t.Errorf("operationId %s is used by %s and %s", id, name, other)
		}
		ids[id] = name
		resps, _ := op["responses"].(map[string]any)
		if len(resps) == 0 {
			t.Errorf("%s documents no responses", name)
		}
		// /v1 needs an API key; nothing else takes one.
		sec, hasSec := op["security"].([]any)
		bearer := hasSec && len(sec) == 1 && sec[0].(map[string]any)["bearerAuth"] != nil
		_, path, _ := strings.Cut(name, " ")
		v1 := strings.HasPrefix(path, "/v1/")
		switch {
		case v1 && !bearer:
			t.Errorf("%s: security must be bearerAuth", name)
		case !v1 && (!hasSec || bearer):
			t.Errorf("%s: security must be explicit and not bearerAuth", name)
		case v1 && resps["401"] == nil:
			t.Errorf("%s: no 401 response", name)
		}
		// Every 4xx/5xx of the API is problem+json (the WhatsApp challenge's
		// 200 is text/plain; 204s have no body).
		for code, r := range resps {
			if !strings.HasPrefix(code, "4") && !strings.HasPrefix(code, "5") || name == "GET /readyz" {
				continue
			}
			r := r.(map[string]any)
			if ref, ok := r["$ref"].(string); ok {
				resolved, _ := resolvePointer(doc, ref)
				r, _ = resolved.(map[string]any)
			}
			content, _ := r["content"].(map[string]any)
			if content["application/problem+json"] == nil {
				t.Errorf("%s %s is not application/problem+json", name, code)
			}
		}
	}
	for _, op := range []string{"POST /v1/verifications", "POST /v1/verifications/{id}/check"} {
		for _, code := range []string{"200", "400", "401", "404", "409", "413", "429", "503"} {
			if op == "POST /v1/verifications" && code == "404" {
				code = "422"
			}
			if spec[op]["responses"].(map[string]any)[code] == nil {
				t.Errorf("%s: no %s response", op, code)
			}
		}
	}
	if spec["POST /v1/verifications"]["responses"].(map[string]any)["201"] == nil {
		t.Error("POST /v1/verifications: no 201 response")
	}
}

func TestOpenAPIDocument(t *testing.T) {
	doc := loadSpec(t)
	if doc["openapi"] != "3.1.0" {
		t.Fatalf("openapi = %v, want 3.1.0", doc["openapi"])
	}
	refs := 0
	walk(doc, "", func(ptr string, obj map[string]any) {
		ref, ok := obj["$ref"].(string)
		if !ok {
			return
		}
		refs++
		if _, ok := resolvePointer(doc, ref); !ok {
			t.Errorf("%s: $ref %q does not resolve", ptr, ref)
		}
	})
	if refs == 0 {
		t.Error("no $ref at all")
	}
	// Every component schema compiles as JSON Schema 2020-12 (this also
	// resolves the $refs inside schemas).
	v := newSpecValidator(t)
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	for _, name := range slices.Sorted(maps.Keys(schemas)) {
		if _, err := v.c.Compile(specURL + "#/components/schemas/" + name); err != nil {
			t.Errorf("schema %s: %v", name, err)
		}
	}
	for _, name := range []string{"StartRequest", "CheckRequest", "ResendRequest", "CallbackRequest", "Verification", "Attempt",
		"SandboxMessage", "EventList", "Evidence", "KeySet", "Problem", "OutboundEvent"} {
		if schemas[name] == nil {
			t.Errorf("no schema %s", name)
		}
	}
	if doc["webhooks"].(map[string]any)["verificationEvent"] == nil {
		t.Error("the outbound event (Veriflow-Signature) is not documented under webhooks")
	}
}

// TestOpenAPIExamples validates every example of the document against its
// schema: JSON Schema "examples" arrays, media type and parameter examples.
func TestOpenAPIExamples(t *testing.T) {
	doc := loadSpec(t)
	v := newSpecValidator(t)
	n := 0
	check := func(where, schemaPtr string, value any) {
		t.Helper()
		n++
		b, err := json.Marshal(value)
		if err != nil {
			t.Fatal(err)
		}
		if err := v.validate(schemaPtr, b); err != nil {
			t.Errorf("example %s does not match its schema: %v", where, err)
		}
	}
	walk(doc, "", func(ptr string, obj map[string]any) {
		if _, isSchema := obj["schema"]; isSchema {
			// A media type or a parameter: named examples or one example.
			if exs, ok := obj["examples"].(map[string]any); ok {
				for name, ex := range exs {
					ex := ex.(map[string]any)
					if ref, ok := ex["$ref"].(string); ok {
						r, _ := resolvePointer(doc, ref)
						ex = r.(map[string]any)
					}
					check(ptr+"/examples/"+name, ptr+"/schema", ex["value"])
				}
			}
			if ex, ok := obj["example"]; ok {
				check(ptr+"/example", ptr+"/schema", ex)
			}
			return
		}
		if exs, ok := obj["examples"].([]any); ok {
			for i, ex := range exs {
				check(fmt.Sprintf("%s/examples/%d", ptr, i), ptr, ex)
			}
		}
	})
	if n < 10 {
		t.Errorf("only %d examples checked", n)
	}
	start := doc["paths"].(map[string]any)["/v1/verifications"].(map[string]any)["post"].(map[string]any)
	media := start["requestBody"].(map[string]any)["content"].(map[string]any)["application/json"].(map[string]any)
	if len(media["examples"].(map[string]any)) == 0 {
		t.Error("the start request has no examples")
	}
	created := start["responses"].(map[string]any)["201"].(map[string]any)["content"].(map[string]any)["application/json"].(map[string]any)
	if len(created["examples"].(map[string]any)) == 0 {
		t.Error("the verification object (201) has no examples")
	}
}

// testContext is a gin context over a recorder, with body as the request.
func testContext(body []byte) (*gin.Context, *httptest.ResponseRecorder) {
	w := httptest.NewRecorder()
	c, _ := gin.CreateTestContext(w)
	c.Request = httptest.NewRequest(http.MethodPost, "/v1/verifications", bytes.NewReader(body))
	c.Request.Header.Set("Content-Type", "application/json")
	return c, w
}

// operationExamples returns the request body examples of an operation.
func operationExamples(t *testing.T, doc map[string]any, path, method string) map[string][]byte {
	t.Helper()
	op := doc["paths"].(map[string]any)[path].(map[string]any)[method].(map[string]any)
	media := op["requestBody"].(map[string]any)["content"].(map[string]any)["application/json"].(map[string]any)
	out := map[string][]byte{}
	for name, ex := range media["examples"].(map[string]any) {
		b, err := json.Marshal(ex.(map[string]any)["value"])
		if err != nil {
			t.Fatal(err)
		}
		out[name] = b
	}
	schema := media["schema"].(map[string]any)
	if ref, ok := schema["$ref"].(string); ok {
		r, _ := resolvePointer(doc, ref)
		schema = r.(map[string]any)
	}
	exs, _ := schema["examples"].([]any)
	for i, ex := range exs {
		b, err := json.Marshal(ex)
		if err != nil {
			t.Fatal(err)
		}
		out[fmt.Sprintf("schema example %d", i)] = b
	}
	if len(out) == 0 {
		t.Fatalf("%s %s has no request examples", method, path)
	}
	return out
}

// TestOpenAPIRequestExamplesAccepted runs the documented request examples
// through the handlers' own decoding and validation.
func TestOpenAPIRequestExamplesAccepted(t *testing.T) {
	doc := loadSpec(t)
	for name, body := range operationExamples(t, doc, "/v1/verifications", "post") {
		c, _ := testContext(body)
		var req startRequest
		if p := decodeJSON(c, &req, false); p != nil {
			t.Errorf("start example %s: decodeJSON: %v", name, p)
			continue
		}
		if _, p := validateStart(req, fuzzResolve); p != nil {
			t.Errorf("start example %s refused: %v %+v", name, p, p.Errors)
		}
	}
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	for i, ex := range schemas["CheckRequest"].(map[string]any)["examples"].([]any) {
		body, _ := json.Marshal(ex)
		c, _ := testContext(body)
		var req checkRequest
		if p := decodeJSON(c, &req, false); p != nil {
			t.Errorf("check example %d: decodeJSON: %v", i, p)
			continue
		}
		kind := contract.KindSignup
		switch {
		case req.Transaction != nil:
			kind = contract.KindTransaction
		case req.Document != nil:
			kind = contract.KindSignature
		}
		if _, p := validateCheck(kind, req); p != nil {
			t.Errorf("check example %d refused: %v %+v", i, p, p.Errors)
		}
	}
	for i, ex := range schemas["ResendRequest"].(map[string]any)["examples"].([]any) {
		body, _ := json.Marshal(ex)
		c, _ := testContext(body)
		var req resendRequest
		if p := decodeJSON(c, &req, true); p != nil || (req.Channel != "" && !req.Channel.Valid()) {
			t.Errorf("resend example %d refused: %v", i, p)
		}
	}
}

// TestOpenAPIStartSchemaAgrees checks that bodies the StartRequest schema
// refuses are refused by the handler too (the schema is not looser than
// decodeJSON + validateStart on these shapes).
func TestOpenAPIStartSchemaAgrees(t *testing.T) {
	v := newSpecValidator(t)
	for _, body := range []string{
		`{"to": {"phone": "+393331234567"}}`,
		`{"kind": "signup"}`,
		`{"kind": "signup", "to": {}}`,
		`{"kind": "bogus", "to": {"phone": "+393331234567"}}`,
		`{"kind": "signup", "to": {"phone": "+393331234567"}, "unknown": 1}`,
		`{"kind": "signup", "to": {"phone": "+393331234567"}, "code_length": 3}`,
		`{"kind": "signup", "to": {"phone": "+393331234567"}, "ttl_seconds": 3601}`,
		`{"kind": "signup", "to": {"phone": "+393331234567"}, "channels": []}`,
		`{"kind": "signup", "to": {"phone": "+393331234567"}, "channels": ["sms", "sms"]}`,
		`{"kind": "signup", "to": {"phone": "+393331234567"}, "channels": ["pigeon"]}`,
		`{"kind": "transaction", "to": {"phone": "+393331234567"}, "transaction": {"amount": "1,00", "currency": "EUR", "payee": "x"}}`,
		`{"kind": "signature", "to": {"phone": "+393331234567"}, "document": {"sha256": "abc", "title": "x"}}`,
	} {
		if err := v.validate("/components/schemas/StartRequest", []byte(body)); err == nil {
			t.Errorf("the schema accepts %s", body)
		}
		c, _ := testContext([]byte(body))
		var req startRequest
		p := decodeJSON(c, &req, false)
		if p == nil {
			_, p = validateStart(req, fuzzResolve)
		}
		if p == nil {
			t.Errorf("the handler accepts %s", body)
		} else {
			v.mustMatch("Problem", p)
		}
	}
}

// TestOpenAPIResponsesMatch validates real handler outputs against the
// response schemas.
func TestOpenAPIResponsesMatch(t *testing.T) {
	v := newSpecValidator(t)
	now := time.Date(2026, 11, 21, 10, 0, 0, 123456789, time.FixedZone("CET", 3600))
	sent := now.Add(time.Second)
	done := now.Add(90 * time.Second)
	row := store.Verification{
		ID: "vf_01JD8X3QH7Z9K2M4N6P8R0T2V4", TenantID: "t_1", Mode: contract.ModeTest, Kind: contract.KindSignup,
		Status: contract.StatusPending, ToPhone: "+39333*****67", ToEmail: "a***@example.com", ChecksLeft: 5,
		Attempts: []contract.Attempt{}, Metadata: map[string]string{"user_id": "u_42"}, CreatedAt: now, ExpiresAt: now.Add(10 * time.Minute),
	}
	// Fresh from start: no channel yet, no attempts.
	v.mustMatch("Verification", view(row, nil))
	// Without metadata and with one destination.
	bare := row
	bare.Metadata, bare.ToEmail = nil, ""
	v.mustMatch("Verification", view(bare, nil))
	// After a failover and an approval (a live state overriding the row).
	live := contract.State{Status: contract.StatusApproved, Channel: contract.ChannelSMS, ChecksLeft: 4, CompletedAt: &done, Version: 9,
		Attempts: []contract.Attempt{
			{Seq: 1, Channel: contract.ChannelWhatsApp, Status: contract.AttemptFailed, Error: "not_on_whatsapp", Provider: "meta", MessageID: "wamid.1", SentAt: &sent, UpdatedAt: sent},
			{Seq: 2, Channel: contract.ChannelSMS, Status: contract.AttemptDelivered, Provider: "twilio", SentAt: &sent, DeliveredAt: &done, UpdatedAt: done},
			{Seq: 3, Channel: contract.ChannelEmail, Status: contract.AttemptSending, UpdatedAt: done},
		}}
	v.mustMatch("Verification", view(row, &live))

	// Problems as the handlers build them.
	left := 2
	mismatch := problem(http.StatusConflict, CodeBindingMismatch, "The check does not repeat what the code approves.")
	mismatch.ChecksLeft = &left
	limited := problem(http.StatusTooManyRequests, CodeRateLimited, "Too many sends: cooldown.")
	limited.RetryAfter = 30
	for _, p := range []*Problem{
		invalid(FieldError{Field: "to.phone", Message: "is not a valid phone number"}, FieldError{Field: "kind", Message: "is required"}),
		problem(http.StatusUnauthorized, CodeUnauthorized, "A valid API key is required."),
		problem(http.StatusNotFound, CodeNotFound, "No such verification."),
		problem(http.StatusConflict, CodeIdempotencyConflict, "This Idempotency-Key was used with a different request."),
		problem(http.StatusConflict, CodeNoCallback, "No callback is registered."),
		problem(http.StatusRequestEntityTooLarge, CodePayloadTooLarge, "The body is too large."),
		problem(http.StatusInternalServerError, CodeInternal, "An internal error occurred."),
		mismatch, limited,
	} {
		v.mustMatch("Problem", p)
	}
	// writeProblem and refuse, as sent on the wire.
	for _, ref := range []*guard.Refusal{
		{Code: guard.CodeRateLimited, Detail: "Too many verifications.", RetryAfter: 1500 * time.Millisecond},
		{Code: guard.CodeCountryNotAllowed, Detail: "The country is not allowed.", Field: "to.phone"},
	} {
		c, w := testContext(nil)
		writeProblem(c, problemOf(verify.RefusalError(ref)))
		if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("refuse: Content-Type %q", ct)
		}
		if ref.RetryAfter > 0 && w.Header().Get("Retry-After") != "2" {
			t.Errorf("refuse: Retry-After %q", w.Header().Get("Retry-After"))
		}
		v.mustMatchJSON("Problem", w.Body.Bytes())
	}
	// A decode failure of each kind.
	for _, body := range []string{`[`, `[]`, `{"kind": 1}`, `{} {}`, strings.Repeat(" ", maxBody+1)} {
		c, _ := testContext([]byte(body))
		var req startRequest
		if p := decodeJSON(c, &req, false); p == nil {
			t.Errorf("decodeJSON accepted %q", body)
		} else {
			v.mustMatch("Problem", p)
		}
	}

	// Sandbox messages, events, callbacks, keys and evidence.
	msg := sandboxMessageView{ID: "sbx_1", VerificationID: row.ID, Channel: contract.ChannelSMS, To: "+39333*****67",
		Body: "Your Veriflow code is 123456", Code: "123456", CreatedAt: now.UTC()}
	v.mustMatch("SandboxMessage", msg)
	v.mustMatch("SandboxMessageList", gin.H{"messages": []sandboxMessageView{msg}})
	v.mustMatch("SandboxMessageList", gin.H{"messages": []sandboxMessageView{}})

	status := 500
	pending := viewEvent(store.OutboundEvent{ID: 7, Type: "sent", Status: store.OutboundPending, Attempts: 2, LastStatus: &status,
		LastError: "HTTP 500", CreatedAt: now})
	delivered := viewEvent(store.OutboundEvent{ID: 8, Type: "approved", Status: store.OutboundDelivered, Attempts: 1, CreatedAt: now, DeliveredAt: &done})
	fresh := viewEvent(store.OutboundEvent{ID: 9, Type: "failed_over", Status: store.OutboundPending, CreatedAt: now})
	v.mustMatch("EventList", gin.H{"events": []eventView{pending, delivered, fresh}})
	v.mustMatch("EventResendAccepted", pending)
	v.mustMatch("EventResendAccepted", gin.H{"id": events.EventID(9), "status": store.OutboundPending})
	body, err := events.Body(9, row.ID, contract.Event{Type: "approved", At: done}, live)
	if err != nil {
		t.Fatal(err)
	}
	v.mustMatchJSON("OutboundEvent", body)
	sig := events.Sign(events.NewSecret(), done, body)
	if err := v.validate("/webhooks/verificationEvent/post/parameters/0/schema", []byte(`"`+sig+`"`)); err != nil {
		t.Errorf("Veriflow-Signature %q does not match its schema: %v", sig, err)
	}
	v.mustMatch("CallbackCreated", gin.H{"url": "https://backend.example.com/hook", "secret": events.NewSecret()})
	v.mustMatch("Callback", gin.H{"url": "https://backend.example.com/hook"})

	v.mustMatch("KeySet", evidence.KeySet{Keys: []evidence.PublicKey{}})
	var entries []string
	for range 2 {
		kid, seed, err := evidence.GenerateKey(now)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, kid+":"+seed)
	}
	ring, err := evidence.ParseKeyring(strings.Join(entries, ","))
	if err != nil {
		t.Fatal(err)
	}
	v.mustMatch("KeySet", ring.PublicKeys())
	signed, err := ring.Sign(evidence.Record{VerificationID: row.ID, TenantID: row.TenantID, Kind: string(contract.KindSignature),
		Document:    evidence.Document{SHA256: strings.Repeat("ab", 32), Title: "Contratto 2026-001"},
		Destination: evidence.Destination{Type: "phone", Masked: "+39333*****67", HMAC: strings.Repeat("0f", 32)},
		Channel:     string(contract.ChannelSMS), SentAt: &sent, DeliveredAt: &done, ApprovedAt: done, ClientIP: "203.0.113.7"})
	if err != nil {
		t.Fatal(err)
	}
	v.mustMatch("Evidence", signed)
	minimal, err := ring.Sign(evidence.Record{VerificationID: row.ID, TenantID: row.TenantID, Kind: "signature",
		Destination: evidence.Destination{Type: "email", Masked: "a***@example.com", HMAC: "00"}, Channel: "email", ApprovedAt: done})
	if err != nil {
		t.Fatal(err)
	}
	v.mustMatch("Evidence", minimal)
	v.mustMatch("Readiness", gin.H{"status": "unavailable", "checks": gin.H{"postgres": "ok", "temporal": "unreachable"}})
}

// TestOpenAPIRouterResponses sends the requests that need no database or
// Temporal through the real router and validates the answers.
func TestOpenAPIRouterResponses(t *testing.T) {
	v := newSpecValidator(t)
	s := New(Deps{Webhooks: testWebhooks(), Log: slog.New(slog.DiscardHandler)})
	do := func(method, path string, hdr ...string) *httptest.ResponseRecorder {
		t.Helper()
		r := httptest.NewRequest(method, path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		return w
	}

	w := do(http.MethodGet, "/openapi.json")
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET /openapi.json: %d %q", w.Code, w.Header().Get("Content-Type"))
	}
	got, _ := io.ReadAll(w.Body)
	if !bytes.Equal(got, openAPISpec) {
		t.Error("GET /openapi.json does not serve the embedded document")
	}
	v.mustMatchJSON("OpenAPIDocument", got)
	if cc := w.Header().Get("Cache-Control"); cc != "public, max-age=300" {
		t.Errorf("GET /openapi.json: Cache-Control %q", cc)
	}
	etag := w.Header().Get("ETag")
	if w := do(http.MethodGet, "/openapi.json", "If-None-Match", etag); etag == "" || w.Code != http.StatusNotModified || w.Body.Len() != 0 {
		t.Errorf("GET /openapi.json with If-None-Match %q: %d", etag, w.Code)
	}

	w = do(http.MethodGet, "/healthz")
	if w.Code != http.StatusOK {
		t.Fatalf("GET /healthz: %d", w.Code)
	}
	v.mustMatchJSON("Health", w.Body.Bytes())

	for _, tc := range []struct {
		method, path string
		status       int
		hdr          []string
	}{
		{http.MethodGet, "/v1/verifications/vf_1", http.StatusUnauthorized, nil},
		{http.MethodPost, "/v1/verifications", http.StatusUnauthorized, []string{"Authorization", "Bearer not-a-key"}},
		{http.MethodGet, "/v1/keys", http.StatusUnauthorized, []string{"Authorization", "Basic x"}},
		{http.MethodPost, "/webhooks/twilio/status", http.StatusNotFound, nil},
		{http.MethodPost, "/webhooks/twilio/voice", http.StatusNotFound, nil},
		{http.MethodGet, "/webhooks/whatsapp", http.StatusNotFound, nil},
		{http.MethodPost, "/webhooks/whatsapp", http.StatusNotFound, nil},
		{http.MethodGet, "/no/such/route", http.StatusNotFound, nil},
		{http.MethodDelete, "/healthz", http.StatusMethodNotAllowed, nil},
	} {
		w := do(tc.method, tc.path, tc.hdr...)
		if w.Code != tc.status || w.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s %s: %d %q, want %d problem+json", tc.method, tc.path, w.Code, w.Header().Get("Content-Type"), tc.status)
			continue
		}
		v.mustMatchJSON("Problem", w.Body.Bytes())
	}
}
