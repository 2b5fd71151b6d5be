package codec

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

const (
	uiOrigin    = "http://localhost:8233"
	otherOrigin = "https://evil.example"
	testToken   = "s3cret-token-for-tests"
)

// codecServer starts NewServer on a loopback listener.
func codecServer(t *testing.T, k *Keyring, opts ServerOptions) string {
	t.Helper()
	srv := httptest.NewServer(NewServer(k, opts))
	t.Cleanup(srv.Close)
	return srv.URL
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request with headers given as name, value pairs.
func do(t *testing.T, method, url string, body io.Reader, headers ...string) reply {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{resp.StatusCode, resp.Header, b}
}

func payloadsBody(t *testing.T, ps []*commonpb.Payload) *bytes.Reader {
	t.Helper()
	b, err := protojson.Marshal(&commonpb.Payloads{Payloads: ps})
	if err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(b)
}

func parsePayloads(t *testing.T, r reply) []*commonpb.Payload {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var ps commonpb.Payloads
	if err := protojson.Unmarshal(r.body, &ps); err != nil {
		t.Fatalf("response %s: %v", r.body, err)
	}
	return ps.Payloads
}

func wantProblem(t *testing.T, r reply, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	var p problem
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type %q", ct)
	}
	if err := json.Unmarshal(r.body, &p); err != nil || p.Status != status || p.Code != code {
		t.Errorf("problem %s: %v", r.body, err)
	}
}

func wantCORS(t *testing.T, r reply, origin string) {
	t.Helper()
	if got := r.header.Get("Access-Control-Allow-Origin"); got != origin {
		t.Errorf("Access-Control-Allow-Origin %q, want %q", got, origin)
	}
	if origin != "" && r.header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Error("no Access-Control-Allow-Credentials")
	}
	if r.header.Get("Vary") != "Origin" {
		t.Errorf("Vary %q", r.header.Values("Vary"))
	}
}

// encrypted returns sample payloads, encrypted with k, and the originals.
func encrypted(t *testing.T, k *Keyring) (enc, plain []*commonpb.Payload) {
	t.Helper()
	plain = samplePayloads(t, "+393331234567")
	enc, err := NewCodec(k).Encode(plain)
	if err != nil {
		t.Fatal(err)
	}
	return enc, plain
}

func wantPayloads(t *testing.T, got, want []*commonpb.Payload) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d payloads, want %d", len(got), len(want))
	}
	for i := range want {
		if !proto.Equal(got[i], want[i]) {
			t.Errorf("payload %d = %v, want %v", i, got[i], want[i])
		}
	}
}

func TestServerDecodeFromAllowedOriginWithoutToken(t *testing.T) {
	k := mustKeyring(t, "k1:"+testKey(t))
	url := codecServer(t, k, ServerOptions{AllowedOrigins: []string{uiOrigin + "/"}})
	enc, plain := encrypted(t, k)
	r := do(t, http.MethodPost, url+DecodePath, payloadsBody(t, enc),
		"Origin", uiOrigin, "Content-Type", "application/json", "X-Namespace", "default")
	wantPayloads(t, parsePayloads(t, r), plain)
	wantCORS(t, r, uiOrigin)
	if r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q", r.header.Get("Cache-Control"))
	}
}

func TestServerWithoutTokenRefusesNonBrowserAndRemoteClients(t *testing.T) {
	k := mustKeyring(t, "k1:"+testKey(t))
	opts := ServerOptions{AllowedOrigins: []string{uiOrigin}}
	enc, _ := encrypted(t, k)

	// No Origin (CLI, scripts): a token is required for them.
	r := do(t, http.MethodPost, codecServer(t, k, opts)+DecodePath, payloadsBody(t, enc))
	wantProblem(t, r, http.StatusForbidden, "forbidden")

	// An allowed Origin from a non-loopback address (a server exposed by mistake).
	req := httptest.NewRequest(http.MethodPost, DecodePath, payloadsBody(t, enc))
	req.RemoteAddr = "192.0.2.7:41000"
	req.Header.Set("Origin", uiOrigin)
	rec := httptest.NewRecorder()
	NewServer(k, opts).ServeHTTP(rec, req)
	wantProblem(t, reply{rec.Code, rec.Header(), rec.Body.Bytes()}, http.StatusForbidden, "forbidden")

	// The same from loopback passes (IPv6 and IPv4-mapped too).
	for _, addr := range []string{"127.0.0.1:41000", "[::1]:41000", "[::ffff:127.0.0.1]:41000"} {
		req := httptest.NewRequest(http.MethodPost, DecodePath, payloadsBody(t, enc))
		req.RemoteAddr = addr
		req.Header.Set("Origin", uiOrigin)
		rec := httptest.NewRecorder()
		NewServer(k, opts).ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Errorf("%s: status %d: %s", addr, rec.Code, rec.Body)
		}
	}
}

// TestServerTrustedNetworks: without a token, browser requests from a
// trusted source network (Docker's bridge, behind the port mapping) are
// served like loopback ones; other networks, requests without an Origin and
// foreign origins are still refused, and a configured token still wins.
func TestServerTrustedNetworks(t *testing.T) {
	k := mustKeyring(t, "k1:"+testKey(t))
	opts := ServerOptions{AllowedOrigins: []string{uiOrigin},
		TrustedNetworks: []netip.Prefix{netip.MustParsePrefix("172.16.0.0/12"), netip.MustParsePrefix("10.1.2.3/16")}}
	enc, plain := encrypted(t, k)
	serve := func(opts ServerOptions, addr string, headers ...string) reply {
		req := httptest.NewRequest(http.MethodPost, DecodePath, payloadsBody(t, enc))
		req.RemoteAddr = addr
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		rec := httptest.NewRecorder()
		NewServer(k, opts).ServeHTTP(rec, req)
		return reply{rec.Code, rec.Header(), rec.Body.Bytes()}
	}

	for _, addr := range []string{"172.18.0.1:41000", "[::ffff:172.18.0.1]:41000", "10.1.200.4:5000", "127.0.0.1:41000"} {
		r := serve(opts, addr, "Origin", uiOrigin)
		wantPayloads(t, parsePayloads(t, r), plain)
		wantCORS(t, r, uiOrigin)
	}
	for _, tc := range []struct {
		what, addr string
		headers    []string
	}{
		{"untrusted network", "192.0.2.7:41000", []string{"Origin", uiOrigin}},
		{"next to the trusted /12", "172.32.0.1:41000", []string{"Origin", uiOrigin}},
		{"outside the masked /16", "10.2.0.1:41000", []string{"Origin", uiOrigin}},
		{"no Origin", "172.18.0.1:41000", nil},
		{"foreign Origin", "172.18.0.1:41000", []string{"Origin", otherOrigin}},
	} {
		r := serve(opts, tc.addr, tc.headers...)
		if r.status != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403: %s", tc.what, r.status, r.body)
		}
	}
	// A token is required even from a trusted network once one is set.
	opts.Token = testToken
	if r := serve(opts, "172.18.0.1:41000", "Origin", uiOrigin); r.status != http.StatusUnauthorized {
		t.Errorf("with a token: status %d, want 401", r.status)
	}
}

func TestServerToken(t *testing.T) {
	k := mustKeyring(t, "k1:"+testKey(t))
	url := codecServer(t, k, ServerOptions{Token: testToken, AllowedOrigins: []string{uiOrigin}})
	enc, plain := encrypted(t, k)

	for name, auth := range map[string]string{
		"missing":      "",
		"wrong":        "Bearer wrong-token",
		"prefix":       "Bearer " + testToken[:len(testToken)-1],
		"longer":       "Bearer " + testToken + "x",
		"basic scheme": "Basic " + testToken,
		"bare token":   testToken,
	} {
		t.Run(name, func(t *testing.T) {
			r := do(t, http.MethodPost, url+DecodePath, payloadsBody(t, enc), "Origin", uiOrigin, "Authorization", auth)
			wantProblem(t, r, http.StatusUnauthorized, "unauthorized")
			if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate %q", r.header.Get("WWW-Authenticate"))
			}
			wantCORS(t, r, uiOrigin) // so the UI can show the error
		})
	}

	r := do(t, http.MethodPost, url+DecodePath, payloadsBody(t, enc), "Origin", uiOrigin, "Authorization", "Bearer "+testToken)
	wantPayloads(t, parsePayloads(t, r), plain)
	wantCORS(t, r, uiOrigin)

	// The CLI sends no Origin; the token suffices (from any address).
	r = do(t, http.MethodPost, url+DecodePath, payloadsBody(t, enc), "Authorization", "bearer "+testToken)
	wantPayloads(t, parsePayloads(t, r), plain)
	if r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Error("CORS header without Origin")
	}
}

func TestServerDisallowedOrigin(t *testing.T) {
	k := mustKeyring(t, "k1:"+testKey(t))
	enc, _ := encrypted(t, k)
	for _, opts := range []ServerOptions{
		{AllowedOrigins: []string{uiOrigin}},
		{AllowedOrigins: []string{uiOrigin, "*", "null"}, Token: testToken},
	} {
		url := codecServer(t, k, opts)
		for _, origin := range []string{otherOrigin, "null", uiOrigin + ".evil.example", "http://localhost:8234"} {
			for _, method := range []string{http.MethodPost, http.MethodOptions} {
				r := do(t, method, url+DecodePath, payloadsBody(t, enc), "Origin", origin,
					"Authorization", "Bearer "+testToken, "Access-Control-Request-Method", "POST")
				wantProblem(t, r, http.StatusForbidden, "forbidden")
				for name := range r.header {
					if strings.HasPrefix(name, "Access-Control-") {
						t.Errorf("%s from %s: header %s: %q", method, origin, name, r.header.Get(name))
					}
				}
				if bytes.Contains(r.body, []byte("payloads")) {
					t.Errorf("%s from %s: body %s", method, origin, r.body)
				}
			}
		}
	}
}

func TestServerPreflight(t *testing.T) {
	k := mustKeyring(t, "k1:"+testKey(t))
	for _, token := range []string{"", testToken} {
		url := codecServer(t, k, ServerOptions{Token: token, AllowedOrigins: []string{"HTTP://LocalHost:8233"}})
		for _, path := range []string{EncodePath, DecodePath} {
			r := do(t, http.MethodOptions, url+path, nil, "Origin", uiOrigin,
				"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization,content-type,x-namespace")
			if r.status != http.StatusNoContent {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			wantCORS(t, r, uiOrigin)
			for name, want := range map[string]string{
				"Access-Control-Allow-Methods": "POST, OPTIONS",
				"Access-Control-Allow-Headers": "Content-Type, Authorization, X-Namespace",
				"Access-Control-Max-Age":       "600",
			} {
				if got := r.header.Get(name); got != want {
					t.Errorf("%s: %q, want %q", name, got, want)
				}
			}
		}
	}
}

func TestServerBodyLimit(t *testing.T) {
	k := mustKeyring(t, "k1:"+testKey(t))
	url := codecServer(t, k, ServerOptions{Token: testToken, AllowedOrigins: []string{uiOrigin}})
	auth := []string{"Authorization", "Bearer " + testToken, "Origin", uiOrigin}

	// Declared length over the limit.
	r := do(t, http.MethodPost, url+DecodePath, bytes.NewReader(make([]byte, MaxBodyBytes+1)), auth...)
	wantProblem(t, r, http.StatusRequestEntityTooLarge, "payload_too_large")
	wantCORS(t, r, uiOrigin)

	// Unknown length (chunked) over the limit.
	big := io.MultiReader(strings.NewReader(`{"payloads":[]}`), bytes.NewReader(bytes.Repeat([]byte(" "), MaxBodyBytes)))
	r = do(t, http.MethodPost, url+DecodePath, big, auth...)
	wantProblem(t, r, http.StatusRequestEntityTooLarge, "payload_too_large")

	// Exactly at the limit is served.
	enc, plain := encrypted(t, k)
	body, _ := io.ReadAll(payloadsBody(t, enc))
	body = append(body, bytes.Repeat([]byte(" "), MaxBodyBytes-len(body))...)
	r = do(t, http.MethodPost, url+DecodePath, bytes.NewReader(body), auth...)
	wantPayloads(t, parsePayloads(t, r), plain)
}

func TestServerMethodsAndPaths(t *testing.T) {
	k := mustKeyring(t, "k1:"+testKey(t))
	url := codecServer(t, k, ServerOptions{Token: testToken, AllowedOrigins: []string{uiOrigin}})
	for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
		r := do(t, method, url+DecodePath, nil, "Origin", uiOrigin)
		wantProblem(t, r, http.StatusMethodNotAllowed, "method_not_allowed")
		if r.header.Get("Allow") != "POST, OPTIONS" {
			t.Errorf("Allow %q", r.header.Get("Allow"))
		}
	}
	for _, path := range []string{"/", "/decode", "/encode", "/codec", "/codec/decode/x", "/x/codec/decode"} {
		r := do(t, http.MethodPost, url+path, strings.NewReader(`{"payloads":[]}`), "Authorization", "Bearer "+testToken)
		wantProblem(t, r, http.StatusNotFound, "not_found")
	}
}

func TestServerNamespaces(t *testing.T) {
	k := mustKeyring(t, "k1:"+testKey(t))
	url := codecServer(t, k, ServerOptions{Token: testToken, Namespaces: []string{"veriflow", "veriflow-staging"}})
	enc, plain := encrypted(t, k)
	auth := []string{"Authorization", "Bearer " + testToken}

	r := do(t, http.MethodPost, url+DecodePath, payloadsBody(t, enc), append(auth, "X-Namespace", "veriflow-staging")...)
	wantPayloads(t, parsePayloads(t, r), plain)
	for _, ns := range []string{"default", ""} {
		r := do(t, http.MethodPost, url+DecodePath, payloadsBody(t, enc), append(auth, "X-Namespace", ns)...)
		wantProblem(t, r, http.StatusForbidden, "forbidden")
	}
}

func TestServerEncodeDecodeRoundTrip(t *testing.T) {
	k := mustKeyring(t, "k1:"+testKey(t))
	url := codecServer(t, k, ServerOptions{Token: testToken})
	auth := []string{"Authorization", "Bearer " + testToken, "Content-Type", "application/json"}
	plain := samplePayloads(t, "+393331234567")

	r := do(t, http.MethodPost, url+EncodePath, payloadsBody(t, plain), auth...)
	if bytes.Contains(r.body, []byte("393331234567")) {
		t.Fatalf("encode response holds plaintext: %s", r.body)
	}
	enc := parsePayloads(t, r)
	for i, p := range enc {
		if string(p.GetMetadata()[MetadataKeyID]) != "k1" {
			t.Fatalf("payload %d not encrypted: %v", i, p)
		}
	}
	r = do(t, http.MethodPost, url+DecodePath, payloadsBody(t, enc), auth...)
	wantPayloads(t, parsePayloads(t, r), plain)

	// The codec itself reads what the server encoded.
	dec, err := NewCodec(k).Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	wantPayloads(t, dec, plain)
}

func TestServerBadRequests(t *testing.T) {
	k := mustKeyring(t, "k1:"+testKey(t))
	url := codecServer(t, k, ServerOptions{Token: testToken})
	auth := []string{"Authorization", "Bearer " + testToken}

	r := do(t, http.MethodPost, url+DecodePath, strings.NewReader("{not json"), auth...)
	if r.status != http.StatusBadRequest {
		t.Errorf("bad JSON: status %d", r.status)
	}
	// A payload from a key the server does not hold: 400 naming the key id.
	enc, _ := encrypted(t, mustKeyring(t, "retired-key:"+testKey(t)))
	r = do(t, http.MethodPost, url+DecodePath, payloadsBody(t, enc), auth...)
	if r.status != http.StatusBadRequest || !bytes.Contains(r.body, []byte("retired-key")) {
		t.Errorf("unknown key: status %d: %s", r.status, r.body)
	}
}
