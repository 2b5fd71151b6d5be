package api

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/policy"
)

// Fuzz targets of the request decoding and validation. Run one with
//
//	go test -run='^$' -fuzz='^FuzzStartRequest$' -fuzztime=60s ./api
//
// or all of them with `make fuzz`. Plain `go test` runs the seeds below and
// the corpus in testdata/fuzz.

// fuzzResolve is the resolver of the fuzz targets: built-in policies with
// the request's settings on top.
func fuzzResolve(k contract.Kind, s policy.Settings) policy.Policy {
	return policy.Config{}.Resolve("t", k, s)
}

// fuzzDecode runs body through decodeJSON exactly as a handler does: a gin
// test context whose request carries body.
func fuzzDecode(body []byte, dst any) *Problem {
	c, _ := gin.CreateTestContext(httptest.NewRecorder())
	c.Request = httptest.NewRequest(http.MethodPost, "/v1/verifications", bytes.NewReader(body))
	c.Request.Header.Set("Content-Type", "application/json")
	return decodeJSON(c, dst, false)
}

// checkProblem asserts the shape of a problem a request can earn: 400 or
// 413, a code, and for 400 invalid_request only.
func checkProblem(t *testing.T, p *Problem) {
	t.Helper()
	if p.Code == "" {
		t.Fatalf("problem without a code: %+v", p)
	}
	switch p.Status {
	case http.StatusBadRequest:
		if p.Code != CodeInvalidRequest {
			t.Fatalf("400 with code %q", p.Code)
		}
	case http.StatusRequestEntityTooLarge:
		if p.Code != CodePayloadTooLarge {
			t.Fatalf("413 with code %q", p.Code)
		}
	default:
		t.Fatalf("problem with status %d: %+v", p.Status, p)
	}
	if p.Type != "https://veriflow.dev/problems/"+string(p.Code) || p.Title == "" {
		t.Fatalf("problem type/title: %+v", p)
	}
	for _, e := range p.Errors {
		if e.Message == "" {
			t.Fatalf("field error without a message: %+v", p.Errors)
		}
	}
}

// checkAccepted asserts that a body decodeJSON accepted is one JSON value
// (with surrounding white space).
//
// KNOWN BUG, not fixed yet: decodeJSON tests for trailing data with
// dec.More(), which is false when the next byte is '}' or ']', so a
// valid value followed by '}' or ']' and anything after it (`{}}`,
// `{"code":"1234"}]garbage`) is accepted. That case only is logged here so
// that fuzzing can go on finding other bugs; delete the tolerance when
// decodeJSON checks `dec.Token()` returns io.EOF (or decodes with
// json.Unmarshal after json.Valid).
func checkAccepted(t *testing.T, body []byte) {
	t.Helper()
	if json.Valid(body) {
		return
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var v any
	if err := dec.Decode(&v); err == nil {
		rest := bytes.TrimLeft(body[dec.InputOffset():], " \t\r\n")
		if len(rest) > 0 {
			t.Fatalf("trailing %q accepted", rest)
		}
	}
	t.Fatalf("decodeJSON accepted a body that is not one JSON value: %q", body)
}

func FuzzStartRequest(f *testing.F) {
	gin.SetMode(gin.TestMode)
	for _, s := range []string{
		// Valid requests of every kind.
		`{"kind":"signup","to":{"phone":"+393331234567"}}`,
		`{"kind":"signup","to":{"phone":"+39 333 123 4567","email":"Ada@Example.com"},"channels":["sms","email"],"locale":"it"}`,
		`{"kind":"two_factor","to":{"phone":"+14155552671"},"channels":["whatsapp"],"channel_timeout_seconds":60,"code_length":8,"ttl_seconds":120,"max_checks":3,"supersede":false}`,
		`{"kind":"password_reset","to":{"email":"ada@example.com"},"client_ip":"2001:db8::1","metadata":{"user":"42","source":"web"}}`,
		`{"kind":"transaction","to":{"phone":"+447911123456"},"transaction":{"amount":"149.90","currency":"eur","payee":"  ACME S.p.A. "}}`,
		`{"kind":"signature","to":{"email":"ada@example.com"},"document":{"sha256":"E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855","title":"Contract 2024/17"},"locale":"pt-BR"}`,
		// Invalid ones.
		`{"kind":"signup","to":{"email":"ada@example.com"},"channels":["sms"]}`,
		`{"kind":"login","to":{}}`,
		`{"kind":"signup","to":{"phone":"393331234567"}}`,
		`{"kind":"signup","to":{"phone":"+1"},"channels":[]}`,
		`{"kind":"signup","to":{"email":"Ada <ada@example.com>"}}`,
		`{"kind":"signup","to":{"phone":"+393331234567"},"channels":["sms","sms","fax"]}`,
		`{"kind":"signup","to":{"phone":"+393331234567"},"code_length":3,"ttl_seconds":99999,"max_checks":0,"channel_timeout_seconds":-1}`,
		`{"kind":"signup","to":{"phone":"+393331234567"},"locale":"not a locale","client_ip":"300.1.1.1"}`,
		`{"kind":"transaction","to":{"phone":"+393331234567"},"transaction":{"amount":"0.00","currency":"XXXX","payee":" "}}`,
		`{"kind":"signup","to":{"phone":"+393331234567"},"document":{"sha256":"zz","title":""}}`,
		`{"kind":"signup","to":{"phone":"+393331234567"},"metadata":{"":"x"}}`,
		`{"kind":"signup","to":{"phone":"+393331234567"},"unknown":1}`,
		`{"kind":1}`,
		`{"kind":"signup","to":"+393331234567"}`,
		`{"kind":"signup","to":{"phone":"+393331234567"}} {}`,
		`{"kind":"signup","to":{"phone":"+393331234567"}}}`, // refused since the trailing-data fix
		`{"kind":"signup"`,
		`[]`,
		`null`,
		``,
		"  \n\t",
	} {
		f.Add([]byte(s))
	}
	// A body over maxBody is 413; checked once here rather than as a seed,
	// which would slow every mutation of it down.
	big := append(append([]byte(`{"kind":"signup","to":{"email":"a@b.co"},"metadata":{"k":"`), bytes.Repeat([]byte("x"), maxBody)...), `"}}`...)
	if p := fuzzDecode(big, new(startRequest)); p == nil || p.Status != http.StatusRequestEntityTooLarge {
		f.Fatalf("body of %d bytes: problem %+v, want 413", len(big), p)
	}

	f.Fuzz(func(t *testing.T, body []byte) {
		var req startRequest
		if p := fuzzDecode(body, &req); p != nil {
			checkProblem(t, p)
			if p.Status == http.StatusRequestEntityTooLarge && len(body) <= maxBody {
				t.Fatalf("413 for a body of %d bytes", len(body))
			}
			return
		}
		if len(body) > maxBody {
			t.Fatalf("decodeJSON accepted a body of %d bytes", len(body))
		}
		checkAccepted(t, body)

		v, p := validateStart(req, fuzzResolve)
		if p != nil {
			checkProblem(t, p)
			if p.Status != http.StatusBadRequest || len(p.Errors) == 0 {
				t.Fatalf("validation problem without field errors: %+v", p)
			}
			return
		}
		checkValidated(t, v)
	})
}

// checkValidated asserts what a validated start request guarantees.
func checkValidated(t *testing.T, v validated) {
	t.Helper()
	if !v.req.Kind.Valid() {
		t.Fatalf("kind %q accepted", v.req.Kind)
	}
	if v.to.Phone == "" && v.to.Email == "" {
		t.Fatal("no destination")
	}
	if ph := v.to.Phone; ph != "" {
		if !strings.HasPrefix(ph, "+") {
			t.Fatalf("phone %q is not E.164", ph)
		}
		if again, msg := normalizePhone(ph); msg != "" || again != ph {
			t.Fatalf("normalized phone %q does not normalize to itself: %q %q", ph, again, msg)
		}
	}
	if em := v.to.Email; em != "" {
		if em != strings.ToLower(em) || !strings.Contains(em, "@") {
			t.Fatalf("email %q is not normalized", em)
		}
	}
	pol := v.policy
	if len(pol.Plan.Channels) == 0 {
		t.Fatal("policy without channels")
	}
	reachable := false
	seen := map[contract.Channel]bool{}
	for _, ch := range pol.Plan.Channels {
		if !ch.Valid() || seen[ch] {
			t.Fatalf("plan channels %v", pol.Plan.Channels)
		}
		seen[ch] = true
		reachable = reachable || ch.Destination(v.to) != ""
	}
	if !reachable {
		t.Fatalf("no channel of %v reaches %+v", pol.Plan.Channels, v.to)
	}
	if l := pol.Code.Length; l < policy.MinCodeLength || l > policy.MaxCodeLength {
		t.Fatalf("code length %d", l)
	}
	if ttl := pol.Code.TTL; ttl < policy.MinTTL || ttl > policy.MaxTTL {
		t.Fatalf("ttl %v", ttl)
	}
	if st := pol.Plan.StepTimeout; st < policy.MinStepTimeout || st > policy.MaxStepTimeout {
		t.Fatalf("step timeout %v", st)
	}
	if mc := pol.Code.MaxChecks; mc < policy.MinChecks || mc > policy.MaxChecks {
		t.Fatalf("max checks %d", mc)
	}
	if len(v.req.Metadata) > 20 {
		t.Fatalf("%d metadata keys", len(v.req.Metadata))
	}
	checkBinding(t, v.req.Kind, v.req.Transaction, v.req.Document)
}

// checkBinding asserts that an accepted binding is present exactly for its
// kind and normalized.
func checkBinding(t *testing.T, kind contract.Kind, tx *contract.Transaction, doc *contract.Document) {
	t.Helper()
	if (tx != nil) != (kind == contract.KindTransaction) {
		t.Fatalf("kind %q with transaction %+v", kind, tx)
	}
	if (doc != nil) != (kind == contract.KindSignature) {
		t.Fatalf("kind %q with document %+v", kind, doc)
	}
	if tx != nil {
		if a, ok := canonicalAmount(tx.Amount); !ok || a != tx.Amount {
			t.Fatalf("amount %q is not canonical (%q, %v)", tx.Amount, a, ok)
		}
		if len(tx.Currency) != 3 || tx.Currency != strings.ToUpper(tx.Currency) {
			t.Fatalf("currency %q", tx.Currency)
		}
		if tx.Payee == "" || tx.Payee != strings.TrimSpace(tx.Payee) {
			t.Fatalf("payee %q", tx.Payee)
		}
	}
	if doc != nil {
		if b, err := hex.DecodeString(doc.SHA256); err != nil || len(b) != 32 || doc.SHA256 != strings.ToLower(doc.SHA256) {
			t.Fatalf("sha256 %q", doc.SHA256)
		}
		if doc.Title == "" || doc.Title != strings.TrimSpace(doc.Title) {
			t.Fatalf("title %q", doc.Title)
		}
	}
}

func FuzzCheckRequest(f *testing.F) {
	gin.SetMode(gin.TestMode)
	for _, s := range []string{
		`{"code":"482913"}`,
		`{"code":"0000"}`,
		`{"code":"1234567890"}`,
		`{"code":"482913","transaction":{"amount":"149.9","currency":"EUR","payee":"ACME S.p.A."}}`,
		`{"code":"482913","transaction":{"amount":"1000000.0000","currency":"usd","payee":"Bob"}}`,
		`{"code":"482913","document":{"sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","title":"Contract"}}`,
		`{"code":"123"}`,
		`{"code":"12345678901"}`,
		`{"code":"４８２９１３"}`,
		`{"code":482913}`,
		`{"code":""}`,
		`{}`,
		`{"code":"482913","transaction":{"amount":"-1","currency":"EU","payee":""}}`,
		`{"code":"482913","extra":true}`,
		`{"code":"482913"}{"code":"1"}`,
		`{"code":"482913"}] trailing garbage`, // refused since the trailing-data fix
		`{"code":"48`,
		`"482913"`,
		``,
	} {
		f.Add([]byte(s))
	}
	kinds := append(contract.Kinds(), "", "login")

	f.Fuzz(func(t *testing.T, body []byte) {
		var req checkRequest
		if p := fuzzDecode(body, &req); p != nil {
			checkProblem(t, p)
			return
		}
		checkAccepted(t, body)
		for _, kind := range kinds {
			digest, p := validateCheck(kind, req)
			if p != nil {
				checkProblem(t, p)
				if p.Status != http.StatusBadRequest || len(p.Errors) == 0 {
					t.Fatalf("kind %q: validation problem without field errors: %+v", kind, p)
				}
				continue
			}
			if !codeRE.MatchString(req.Code) {
				t.Fatalf("kind %q: code %q accepted", kind, req.Code)
			}
			if !kind.Valid() && (req.Transaction != nil || req.Document != nil) {
				t.Fatalf("kind %q: binding accepted", kind)
			}
			binds := kind == contract.KindTransaction || kind == contract.KindSignature
			if binds != (digest != "") {
				t.Fatalf("kind %q: digest %q", kind, digest)
			}
			if digest != "" {
				if b, err := hex.DecodeString(digest); err != nil || len(b) != 32 {
					t.Fatalf("kind %q: digest %q is not sha256 hex", kind, digest)
				}
			}
			if again, _ := validateCheck(kind, req); again != digest {
				t.Fatalf("kind %q: digest not deterministic: %q %q", kind, digest, again)
			}
		}
	})
}
