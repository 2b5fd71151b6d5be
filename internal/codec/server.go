package codec

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"go.temporal.io/sdk/converter"
)

// Paths served by NewServer. Configure the Temporal UI (codec endpoint) and
// CLI (--codec-endpoint) with the server's base URL followed by PathPrefix;
// they append /encode and /decode.
const (
	PathPrefix = "/codec"
	EncodePath = PathPrefix + "/encode"
	DecodePath = PathPrefix + "/decode"
)

// MaxBodyBytes bounds a request body of the codec server (4 MiB).
const MaxBodyBytes = 4 << 20

// ServerOptions configures NewServer.
type ServerOptions struct {
	// Token, when set, must be presented as "Authorization: Bearer <token>"
	// on every encode and decode request (compared in constant time).
	// Production MUST set a token: without one, the server decrypts for any
	// loopback (or TrustedNetworks) client that claims an allowed Origin,
	// and an Origin header is trivially forged by anything but a browser.
	//
	// The temporal CLI sends it with --codec-auth "Bearer <token>". The
	// Temporal UI can only forward its user's own access token, so a
	// production UI needs the codec server behind the same SSO proxy, or a
	// token-issuing setup that matches it.
	Token string
	// AllowedOrigins are the exact browser origins (scheme://host[:port]) of
	// the Temporal UIs that may call the server, e.g.
	// "http://localhost:8233". Matching requests get CORS headers that echo
	// the origin (never "*"); requests from any other Origin are refused
	// with 403. Entries "*" and "null" are ignored; a trailing "/" is
	// dropped and case does not matter.
	AllowedOrigins []string
	// TrustedNetworks are source networks treated like loopback when no
	// Token is set: a request from one of them with an allowed Origin is
	// served without a token. It is an explicit opt-in for a local stack
	// behind Docker's port mapping, where the browser's requests reach the
	// API from the bridge network's gateway rather than from loopback;
	// anything that can send from these networks and forge an Origin can
	// decode, so a shared deployment sets Token instead. Ignored when Token
	// is set.
	TrustedNetworks []netip.Prefix
	// Namespaces, when non-empty, are the only namespaces accepted in the
	// X-Namespace header; a request without the header is then refused.
	// Empty accepts any namespace.
	Namespaces []string
}

type server struct {
	codec      http.Handler
	hasToken   bool
	tokenHash  [sha256.Size]byte
	origins    map[string]bool
	trusted    []netip.Prefix
	namespaces map[string]bool
}

// NewServer returns the codec server for the Temporal UI and CLI: POST
// /codec/encode and /codec/decode with the standard codec-server JSON body
// ({"payloads": [...]}, protojson), answered by
// converter.NewPayloadCodecHTTPHandler over NewCodec(k).
//
// Around it the server enforces, in order: the path (404); the Origin
// header, when present, against AllowedOrigins (403, no CORS headers);
// CORS preflight (OPTIONS, 204); the method (405 unless POST);
// authentication (401 for a missing or wrong bearer token when Token is set;
// when it is not, 403 unless the request comes from an allowed Origin over
// loopback, the `veriflow dev` set-up, or from TrustedNetworks, the
// docker-compose one); X-Namespace against Namespaces
// (403); and the body size (413 above MaxBodyBytes). Its own errors are
// application/problem+json; every response is marked no-store.
//
// It panics like NewCodec for a keyring without keys.
func NewServer(k *Keyring, opts ServerOptions) http.Handler {
	s := &server{
		codec:      converter.NewPayloadCodecHTTPHandler(NewCodec(k)),
		origins:    map[string]bool{},
		namespaces: map[string]bool{},
	}
	if opts.Token != "" {
		// A blank token is still "set": it then matches nothing (fail closed).
		s.hasToken = true
		s.tokenHash = sha256.Sum256([]byte(strings.TrimSpace(opts.Token)))
	}
	for _, o := range opts.AllowedOrigins {
		o = normalizeOrigin(o)
		if o != "" && o != "*" && o != "null" {
			s.origins[o] = true
		}
	}
	for _, p := range opts.TrustedNetworks {
		if p.IsValid() {
			s.trusted = append(s.trusted, p.Masked())
		}
	}
	for _, ns := range opts.Namespaces {
		if ns != "" {
			s.namespaces[ns] = true
		}
	}
	return s
}

func normalizeOrigin(o string) string {
	return strings.ToLower(strings.TrimRight(strings.TrimSpace(o), "/"))
}

// ServeHTTP implements http.Handler.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Add("Vary", "Origin")

	if r.URL.Path != EncodePath && r.URL.Path != DecodePath {
		writeProblem(w, http.StatusNotFound, "not_found", "Use POST "+EncodePath+" or "+DecodePath+".")
		return
	}

	origin := r.Header.Get("Origin")
	if origin != "" {
		if !s.origins[normalizeOrigin(origin)] {
			writeProblem(w, http.StatusForbidden, "forbidden", "Origin is not allowed.")
			return
		}
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
	}

	switch r.Method {
	case http.MethodPost:
	case http.MethodOptions:
		// Preflight: browsers send no credentials, so no authentication.
		h.Set("Allow", "POST, OPTIONS")
		if origin != "" {
			h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Content-Type, Authorization, X-Namespace")
			h.Set("Access-Control-Max-Age", "600")
		}
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		h.Set("Allow", "POST, OPTIONS")
		writeProblem(w, http.StatusMethodNotAllowed, "method_not_allowed", "Use POST.")
		return
	}

	if s.hasToken {
		if !s.tokenOK(r.Header.Get("Authorization")) {
			h.Set("WWW-Authenticate", `Bearer realm="veriflow-codec"`)
			writeProblem(w, http.StatusUnauthorized, "unauthorized", "A valid bearer token is required.")
			return
		}
	} else if origin == "" || !s.local(r.RemoteAddr) {
		writeProblem(w, http.StatusForbidden, "forbidden",
			"No token is configured: only browser requests from an allowed origin over loopback or a trusted network are accepted.")
		return
	}

	if len(s.namespaces) > 0 && !s.namespaces[r.Header.Get("X-Namespace")] {
		writeProblem(w, http.StatusForbidden, "forbidden", "Namespace is not allowed.")
		return
	}

	if r.ContentLength > MaxBodyBytes {
		writeProblem(w, http.StatusRequestEntityTooLarge, "payload_too_large", "The body exceeds 4 MiB.")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		writeProblem(w, http.StatusBadRequest, "invalid_request", "The body could not be read.")
		return
	}
	if len(body) > MaxBodyBytes {
		writeProblem(w, http.StatusRequestEntityTooLarge, "payload_too_large", "The body exceeds 4 MiB.")
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	s.codec.ServeHTTP(w, r)
}

// tokenOK compares the bearer token with the configured one in constant
// time (over hashes, so the length does not leak either).
func (s *server) tokenOK(authorization string) bool {
	scheme, token, ok := strings.Cut(strings.TrimSpace(authorization), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return subtle.ConstantTimeCompare(got[:], s.tokenHash[:]) == 1
}

// local reports whether remoteAddr is a loopback address or in one of the
// trusted networks.
func (s *server) local(remoteAddr string) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	a = a.Unmap().WithZone("")
	if a.IsLoopback() {
		return true
	}
	for _, p := range s.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// problem is an RFC 9457 problem details object, in the style of the
// Veriflow API.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	Code   string `json:"code"`
}

func writeProblem(w http.ResponseWriter, status int, code, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(problem{
		Type:   "https://veriflow.dev/problems/" + code,
		Title:  http.StatusText(status),
		Status: status,
		Detail: detail,
		Code:   code,
	})
}
