package chaos

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/veriflow/veriflow/internal/providers/providerstest"
)

// Provider credentials of the chaos deployment (fakes on loopback).
const (
	fakeTwilioSID   = "AC0123456789abcdef0123456789abcdef"
	fakeTwilioToken = "chaosprimarytoken0123456789abcd"
	fakeMetaSecret  = "chaos-app-secret"
)

// liveSend is one request a fake provider endpoint received.
type liveSend struct {
	at      time.Time
	channel string // whatsapp (Meta) or sms (Twilio)
	id      string // the message id the fake answered
	code    string
}

// fakeProviders stands in for the Twilio REST API (HTTPS, reached through a
// local CONNECT proxy that terminates TLS with a certificate of a CA only
// the Veriflow processes trust: twilio-go has no base URL option) and for
// the WhatsApp Cloud API (plain HTTP, META_BASE_URL). Every request is
// recorded per destination and channel — the chaos tenant's live
// destinations are unique per verification, so requests per (destination,
// channel) are requests per attempt — and answered with a fresh message id;
// then the fake posts a signed status webhook to the API, as the provider
// would: "failed" (not on WhatsApp) or "delivered", per plan.
type fakeProviders struct {
	meta   *httptest.Server
	twilio *http.Server
	proxy  *http.Server
	conns  chan net.Conn
	caFile string
	// proxyURL is the HTTPS_PROXY of the Veriflow processes.
	proxyURL string

	// webhooks: the API bases to post to, and Twilio's signing URL base.
	apiBases   []string
	publicBase string
	hc         *http.Client

	mu     sync.Mutex
	sends  map[string][]liveSend // "<digits>|<channel>" → requests
	plan   map[string]string     // digits → "wa_fail" or "wa_ok"
	hooks  sync.WaitGroup
	ctx    context.Context
	posted atomic.Int64 // webhooks accepted by an API
	lost   atomic.Int64 // webhooks never accepted
	rr     atomic.Int64
}

// codeRe finds the code in a message: the first run of 4 to 10 digits
// alone in a string (Meta's template parameter) or at the start of a body.
var codeRe = regexp.MustCompile(`^(\d{4,10})\b`)

func newFakeProviders(ctx context.Context, dir string) (*fakeProviders, error) {
	f := &fakeProviders{sends: map[string][]liveSend{}, plan: map[string]string{}, conns: make(chan net.Conn, 64), ctx: ctx,
		hc: &http.Client{Timeout: 10 * time.Second}}
	// Meta.
	mmux := http.NewServeMux()
	mmux.HandleFunc("POST /{version}/{phone}/messages", func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, "bad json", http.StatusBadRequest)
			return
		}
		to, _ := body["to"].(string)
		id := "wamid." + rand.Text()
		f.record(to, "whatsapp", id, findCode(body))
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"messaging_product": "whatsapp", "messages": []map[string]string{{"id": id}}})
	})
	f.meta = httptest.NewServer(mmux)

	// Twilio, over TLS behind the proxy.
	tmux := http.NewServeMux()
	tmux.HandleFunc("POST /2010-04-01/Accounts/{sid}/Messages.json", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		sid := "SM" + strings.ToLower(hex.EncodeToString([]byte(rand.Text()[:16])))
		code := ""
		if m := codeRe.FindStringSubmatch(r.PostForm.Get("Body")); m != nil {
			code = m[1]
		}
		f.record(r.PostForm.Get("To"), "sms", sid, code)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]any{"sid": sid, "status": "queued", "account_sid": r.PathValue("sid")})
	})
	cert, caPEM, err := selfSignedFor("api.twilio.com")
	if err != nil {
		return nil, err
	}
	f.caFile = dir + "/fake-ca.pem"
	if err := os.WriteFile(f.caFile, caPEM, 0o600); err != nil {
		return nil, err
	}
	f.twilio = &http.Server{Handler: tmux, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		_ = f.twilio.ServeTLS(chanListener{c: f.conns, done: make(chan struct{}), once: new(sync.Once)}, "", "")
	}()

	// The CONNECT proxy: every tunnel ends at the fake Twilio, whatever
	// host it names; nothing leaves the machine.
	pl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f.proxy = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		hj, ok := w.(http.Hijacker)
		if !ok {
			http.Error(w, "no hijack", http.StatusInternalServerError)
			return
		}
		conn, buf, err := hj.Hijack()
		if err != nil {
			return
		}
		if _, err := conn.Write([]byte("HTTP/1.1 200 Connection Established\r\n\r\n")); err != nil {
			_ = conn.Close()
			return
		}
		f.conns <- bufConn{Conn: conn, r: buf.Reader}
	})}
	go func() { _ = f.proxy.Serve(pl) }()
	f.proxyURL = "http://" + pl.Addr().String()
	return f, nil
}

func (f *fakeProviders) close() {
	f.hooks.Wait()
	f.meta.Close()
	_ = f.proxy.Close()
	_ = f.twilio.Close()
}

// findCode returns the first string in a JSON value that is a code.
func findCode(v any) string {
	switch x := v.(type) {
	case string:
		if m := codeRe.FindStringSubmatch(x); m != nil && len(m[1]) == len(x) {
			return x
		}
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if c := findCode(x[k]); c != "" {
				return c
			}
		}
	case []any:
		for _, e := range x {
			if c := findCode(e); c != "" {
				return c
			}
		}
	}
	return ""
}

func digits(phone string) string { return strings.TrimPrefix(phone, "+") }

func (f *fakeProviders) setPlan(phone, plan string) {
	f.mu.Lock()
	f.plan[digits(phone)] = plan
	f.mu.Unlock()
}

func (f *fakeProviders) record(to, channel, id, code string) {
	d := digits(to)
	f.mu.Lock()
	f.sends[d+"|"+channel] = append(f.sends[d+"|"+channel], liveSend{at: time.Now(), channel: channel, id: id, code: code})
	plan := f.plan[d]
	f.mu.Unlock()
	status := "delivered"
	if channel == "whatsapp" && plan == "wa_fail" {
		status = "failed"
	}
	f.hooks.Add(1)
	go func() {
		defer f.hooks.Done()
		f.postReceipt(channel, id, to, status)
	}()
}

// code returns the code of the last request to phone on channel.
func (f *fakeProviders) code(phone, channel string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.sends[digits(phone)+"|"+channel]
	if len(s) == 0 {
		return ""
	}
	return s[len(s)-1].code
}

// requests returns a copy of the recorded requests per "<digits>|<channel>".
func (f *fakeProviders) requests() map[string][]liveSend {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string][]liveSend, len(f.sends))
	for k, v := range f.sends {
		out[k] = append([]liveSend(nil), v...)
	}
	return out
}

// postReceipt posts a signed status webhook to the APIs (round robin) until
// one accepts it or three minutes have passed, as a provider retries.
func (f *fakeProviders) postReceipt(channel, id, to, status string) {
	var path, ctype, sigHeader, sig string
	var body []byte
	if channel == "whatsapp" {
		code := 0
		if status == "failed" {
			code = 131026
		}
		body = metaStatus(id, status, code)
		path, ctype, sigHeader, sig = "/webhooks/whatsapp", "application/json", "X-Hub-Signature-256", providerstest.MetaSignature(fakeMetaSecret, body)
	} else {
		form := url.Values{"MessageSid": {id}, "MessageStatus": {status}, "AccountSid": {fakeTwilioSID}, "To": {to}}
		body = []byte(form.Encode())
		path, ctype, sigHeader = "/webhooks/twilio/status", "application/x-www-form-urlencoded", "X-Twilio-Signature"
		sig = providerstest.TwilioSignature(fakeTwilioToken, f.publicBase+path, form)
	}
	if !sleepCtx(f.ctx, 200*time.Millisecond) {
		f.lost.Add(1)
		return
	}
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) && f.ctx.Err() == nil {
		base := f.apiBases[int(f.rr.Add(1))%len(f.apiBases)]
		req, err := http.NewRequestWithContext(f.ctx, http.MethodPost, base+path, strings.NewReader(string(body)))
		if err != nil {
			break
		}
		req.Header.Set("Content-Type", ctype)
		req.Header.Set(sigHeader, sig)
		resp, err := f.hc.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode < 300 {
				f.posted.Add(1)
				return
			}
		}
		sleepCtx(f.ctx, 500*time.Millisecond)
	}
	f.lost.Add(1)
}

// metaStatus builds a WhatsApp Business notification with one status.
func metaStatus(messageID, status string, errorCode int) []byte {
	st := map[string]any{"id": messageID, "status": status, "timestamp": fmt.Sprint(time.Now().Unix()), "recipient_id": "393331234567"}
	if errorCode != 0 {
		st["errors"] = []map[string]any{{"code": errorCode, "title": "Message undeliverable"}}
	}
	body, _ := json.Marshal(map[string]any{
		"object": "whatsapp_business_account",
		"entry": []map[string]any{{"id": "WABA", "changes": []map[string]any{{"field": "messages",
			"value": map[string]any{"messaging_product": "whatsapp", "statuses": []any{st}}}}}},
	})
	return body
}

// selfSignedFor returns a certificate for host signed by a fresh CA, and
// the CA's PEM (the processes' SSL_CERT_FILE).
func selfSignedFor(host string) (tls.Certificate, []byte, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	now := time.Now()
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "veriflow chaos fake CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key},
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), nil
}

// chanListener is a net.Listener of the proxy's tunnelled connections.
type chanListener struct {
	c    chan net.Conn
	done chan struct{}
	once *sync.Once
}

func (l chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.c:
		return c, nil
	case <-l.done:
		return nil, errors.New("closed")
	}
}
func (l chanListener) Close() error   { l.once.Do(func() { close(l.done) }); return nil }
func (l chanListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

// bufConn is a hijacked connection whose first bytes may sit in a reader.
type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (c bufConn) Read(p []byte) (int, error) { return c.r.Read(p) }
