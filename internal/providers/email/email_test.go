package email

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/providers"
)

const (
	testCode    = "482913"
	testSubject = "482913 è il tuo codice Veriflow"
	testText    = "Your Veriflow code: 482913\nIt expires in 10 minutes."
	testHTML    = "<!doctype html><p>Your Veriflow code: <b>482913</b></p><p>It expires in 10 minutes.</p>"
)

func testMessage(to string) providers.Message {
	return providers.Message{
		IdempotencyKey: "vf_01/1", VerificationID: "vf_01", TenantID: "tn_1",
		Channel: contract.ChannelEmail, To: to, Kind: "signup", Locale: "it",
		Code: testCode, TTL: 10 * time.Minute,
		Subject: testSubject, Text: testText, HTML: testHTML,
	}
}

// newProvider returns a provider for ts (TLSNone unless edit says
// otherwise).
func newProvider(t *testing.T, ts *testServer, edit func(*Config)) *Provider {
	t.Helper()
	cfg := Config{
		Host: "127.0.0.1", Port: ts.port, TLS: TLSNone,
		From: "Veriflow <no-reply@veriflow.test>", ReplyTo: "Veriflow Support <support@veriflow.test>",
		HeloName: "client.veriflow.test", Timeout: 5 * time.Second,
	}
	if edit != nil {
		edit(&cfg)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

func trust(ts *testServer) func(*Config) {
	return func(c *Config) { c.TLSConfig = &tls.Config{RootCAs: ts.roots} }
}

// only returns the single delivery of ts.
func only(t *testing.T, ts *testServer) delivery {
	t.Helper()
	ds := ts.deliveries()
	if len(ds) != 1 {
		t.Fatalf("server received %d messages, want 1", len(ds))
	}
	return ds[0]
}

// assertPermanent checks that err is a *providers.PermanentError with reason.
func assertPermanent(t *testing.T, err error, reason contract.FailureReason) {
	t.Helper()
	var perm *providers.PermanentError
	if !errors.As(err, &perm) {
		t.Fatalf("err = %v, want a permanent error %q", err, reason)
	}
	if perm.Reason != reason {
		t.Fatalf("reason = %q, want %q (err: %v)", perm.Reason, reason, err)
	}
}

// assertTemporary checks that err is an error, and not permanent.
func assertTemporary(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("err = nil, want a temporary error")
	}
	var perm *providers.PermanentError
	if errors.As(err, &perm) {
		t.Fatalf("err = %v is permanent, want temporary", err)
	}
}

// assertClean checks that neither err nor any error of its Unwrap chain
// shows the code, the body or the unmasked recipient.
func assertClean(t *testing.T, err error, m providers.Message) {
	t.Helper()
	for e := err; e != nil; e = errors.Unwrap(e) {
		s := strings.ToLower(e.Error())
		for _, secret := range []string{m.Code, m.Subject, m.Text, m.HTML, m.To} {
			if secret != "" && strings.Contains(s, strings.ToLower(secret)) {
				t.Errorf("error text %q contains %q", e.Error(), secret)
			}
		}
	}
}

func TestSendTextAndHTML(t *testing.T) {
	ts := startServer(t, serverOptions{})
	p := newProvider(t, ts, nil)
	m := testMessage("ada@example.com")
	res, err := p.Send(t.Context(), m)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if !strings.HasPrefix(res.MessageID, "<") || !strings.HasSuffix(res.MessageID, "@veriflow.test>") {
		t.Errorf("MessageID = %q, want <...@veriflow.test>", res.MessageID)
	}
	d := only(t, ts)
	if d.from != "no-reply@veriflow.test" || len(d.to) != 1 || d.to[0] != "ada@example.com" {
		t.Errorf("envelope = %q -> %q", d.from, d.to)
	}
	if d.tls {
		t.Error("TLSNone session was TLS")
	}

	msg, err := mail.ReadMessage(bytes.NewReader(d.data))
	if err != nil {
		t.Fatalf("parse delivered message: %v", err)
	}
	h := msg.Header
	assertAddress(t, h, "From", "Veriflow", "no-reply@veriflow.test")
	assertAddress(t, h, "Reply-To", "Veriflow Support", "support@veriflow.test")
	assertAddress(t, h, "To", "", "ada@example.com")
	subject, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
	if err != nil || subject != testSubject {
		t.Errorf("Subject = %q (%v), want %q", subject, err, testSubject)
	}
	if got := h.Get("Message-ID"); got != res.MessageID {
		t.Errorf("Message-ID = %q, Result.MessageID = %q", got, res.MessageID)
	}
	if _, err := h.Date(); err != nil {
		t.Errorf("Date: %v", err)
	}
	for k, want := range map[string]string{
		"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All", "MIME-Version": "1.0",
		"User-Agent": "", "X-Mailer": "", "Precedence": "", "List-Unsubscribe": "", "Bcc": "", "Cc": "",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}

	mediaType, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || mediaType != "multipart/alternative" {
		t.Fatalf("Content-Type = %q (%v), want multipart/alternative", h.Get("Content-Type"), err)
	}
	parts := map[string]string{}
	var order []string
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("NextPart: %v", err)
		}
		ct, cparams, err := mime.ParseMediaType(part.Header.Get("Content-Type"))
		if err != nil {
			t.Fatalf("part Content-Type %q: %v", part.Header.Get("Content-Type"), err)
		}
		if !strings.EqualFold(cparams["charset"], "utf-8") {
			t.Errorf("%s charset = %q, want UTF-8", ct, cparams["charset"])
		}
		body, err := io.ReadAll(part) // quoted-printable is decoded by NextPart
		if err != nil {
			t.Fatal(err)
		}
		parts[ct] = normalize(string(body))
		order = append(order, ct)
	}
	if len(order) != 2 || order[0] != "text/plain" || order[1] != "text/html" {
		t.Fatalf("parts = %q, want [text/plain text/html]", order)
	}
	if parts["text/plain"] != testText {
		t.Errorf("text part = %q, want %q", parts["text/plain"], testText)
	}
	if parts["text/html"] != testHTML {
		t.Errorf("html part = %q, want %q", parts["text/html"], testHTML)
	}
}

// normalize turns CRLF into LF and drops the trailing line break.
func normalize(s string) string {
	return strings.TrimRight(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
}

func assertAddress(t *testing.T, h mail.Header, key, name, addr string) {
	t.Helper()
	list, err := h.AddressList(key)
	if err != nil || len(list) != 1 || list[0].Name != name || list[0].Address != addr {
		t.Errorf("%s = %q (%v), want %q <%s>", key, h.Get(key), err, name, addr)
	}
}

func TestSendTextOnly(t *testing.T) {
	ts := startServer(t, serverOptions{})
	p := newProvider(t, ts, func(c *Config) { c.ReplyTo = "" })
	m := testMessage("ada@example.com")
	m.HTML = ""
	if _, err := p.Send(t.Context(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(only(t, ts).data))
	if err != nil {
		t.Fatal(err)
	}
	if got := msg.Header.Get("Reply-To"); got != "" {
		t.Errorf("Reply-To = %q without ReplyTo", got)
	}
	ct, _, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || ct != "text/plain" {
		t.Fatalf("Content-Type = %q (%v), want text/plain", msg.Header.Get("Content-Type"), err)
	}
	var body io.Reader = msg.Body
	if strings.EqualFold(msg.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		body = quotedprintable.NewReader(body)
	}
	got, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	if normalize(string(got)) != testText {
		t.Errorf("body = %q, want %q", got, testText)
	}
}

func TestSendHTMLOnly(t *testing.T) {
	ts := startServer(t, serverOptions{})
	p := newProvider(t, ts, nil)
	m := testMessage("ada@example.com")
	m.Text = ""
	if _, err := p.Send(t.Context(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(only(t, ts).data))
	if err != nil {
		t.Fatal(err)
	}
	if ct, _, err := mime.ParseMediaType(msg.Header.Get("Content-Type")); err != nil || ct != "text/html" {
		t.Fatalf("Content-Type = %q (%v), want text/html", msg.Header.Get("Content-Type"), err)
	}
	got, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatal(err)
	}
	if normalize(string(got)) != testHTML {
		t.Errorf("body = %q, want %q", got, testHTML)
	}
}

func TestSendStartTLS(t *testing.T) {
	ts := startServer(t, serverOptions{startTLS: true})
	p := newProvider(t, ts, func(c *Config) {
		c.TLS = TLSStartTLS
		trust(ts)(c)
	})
	if _, err := p.Send(t.Context(), testMessage("ada@example.com")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	d := only(t, ts)
	if !d.tls || d.tlsVer < tls.VersionTLS12 {
		t.Errorf("session TLS = %v, version %x; want TLS >= 1.2", d.tls, d.tlsVer)
	}
}

func TestStartTLSUntrustedCertificate(t *testing.T) {
	ts := startServer(t, serverOptions{startTLS: true})
	p := newProvider(t, ts, func(c *Config) { c.TLS = TLSStartTLS })
	m := testMessage("ada@example.com")
	_, err := p.Send(t.Context(), m)
	assertTemporary(t, err)
	assertClean(t, err, m)
	if n := len(ts.deliveries()); n != 0 {
		t.Errorf("%d messages delivered over an untrusted connection", n)
	}
}

func TestStartTLSNotOffered(t *testing.T) {
	ts := startServer(t, serverOptions{})
	p := newProvider(t, ts, func(c *Config) { c.TLS = TLSStartTLS })
	_, err := p.Send(t.Context(), testMessage("ada@example.com"))
	assertTemporary(t, err)
	if !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("err = %v, want it to name STARTTLS", err)
	}
	if n := len(ts.deliveries()); n != 0 {
		t.Errorf("%d messages delivered in clear text", n)
	}
}

func TestSendImplicitTLS(t *testing.T) {
	ts := startServer(t, serverOptions{implicitTLS: true})
	p := newProvider(t, ts, func(c *Config) {
		c.TLS = TLSImplicit
		trust(ts)(c)
	})
	if _, err := p.Send(t.Context(), testMessage("ada@example.com")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if d := only(t, ts); !d.tls {
		t.Error("implicit TLS session was not TLS")
	}
}

func TestImplicitTLSUntrustedCertificate(t *testing.T) {
	ts := startServer(t, serverOptions{implicitTLS: true})
	p := newProvider(t, ts, func(c *Config) { c.TLS = TLSImplicit })
	_, err := p.Send(t.Context(), testMessage("ada@example.com"))
	assertTemporary(t, err)
	if n := len(ts.deliveries()); n != 0 {
		t.Errorf("%d messages delivered over an untrusted connection", n)
	}
}

func TestAuth(t *testing.T) {
	creds := func(user, pass string) func(*Config) {
		return func(c *Config) { c.Username, c.Password = user, pass }
	}
	t.Run("right credentials", func(t *testing.T) {
		ts := startServer(t, serverOptions{user: "veriflow", pass: "s3cret"})
		p := newProvider(t, ts, creds("veriflow", "s3cret"))
		if _, err := p.Send(t.Context(), testMessage("ada@example.com")); err != nil {
			t.Fatalf("Send: %v", err)
		}
		if d := only(t, ts); d.authUser != "veriflow" {
			t.Errorf("authenticated user = %q", d.authUser)
		}
	})
	t.Run("right credentials over implicit TLS", func(t *testing.T) {
		ts := startServer(t, serverOptions{implicitTLS: true, user: "veriflow", pass: "s3cret"})
		p := newProvider(t, ts, func(c *Config) {
			c.TLS = TLSImplicit
			trust(ts)(c)
			creds("veriflow", "s3cret")(c)
		})
		if _, err := p.Send(t.Context(), testMessage("ada@example.com")); err != nil {
			t.Fatalf("Send: %v", err)
		}
		if d := only(t, ts); d.authUser != "veriflow" || !d.tls {
			t.Errorf("authenticated user = %q, TLS %v", d.authUser, d.tls)
		}
	})
	t.Run("right credentials over STARTTLS", func(t *testing.T) {
		ts := startServer(t, serverOptions{startTLS: true, user: "veriflow", pass: "s3cret"})
		p := newProvider(t, ts, func(c *Config) {
			c.TLS = TLSStartTLS
			trust(ts)(c)
			creds("veriflow", "s3cret")(c)
		})
		if _, err := p.Send(t.Context(), testMessage("ada@example.com")); err != nil {
			t.Fatalf("Send: %v", err)
		}
		if d := only(t, ts); d.authUser != "veriflow" || !d.tls {
			t.Errorf("authenticated user = %q, TLS %v", d.authUser, d.tls)
		}
	})
	// Wrong or missing credentials are a misconfiguration that retrying
	// cannot fix: permanent smtp_auth_failed.
	t.Run("wrong credentials", func(t *testing.T) {
		ts := startServer(t, serverOptions{user: "veriflow", pass: "s3cret"})
		p := newProvider(t, ts, creds("veriflow", "wrong"))
		m := testMessage("ada@example.com")
		_, err := p.Send(t.Context(), m)
		assertPermanent(t, err, contract.ReasonSMTPAuthFailed)
		assertClean(t, err, m)
		if strings.Contains(err.Error(), "wrong") {
			t.Errorf("error %q shows the password", err)
		}
		if n := len(ts.deliveries()); n != 0 {
			t.Errorf("%d messages delivered", n)
		}
	})
	t.Run("no credentials", func(t *testing.T) {
		ts := startServer(t, serverOptions{user: "veriflow", pass: "s3cret"})
		p := newProvider(t, ts, nil)
		_, err := p.Send(t.Context(), testMessage("ada@example.com"))
		assertPermanent(t, err, contract.ReasonSMTPAuthFailed) // 530 to MAIL FROM
	})
	t.Run("server offers no mechanism", func(t *testing.T) {
		ts := startServer(t, serverOptions{user: "veriflow", pass: "s3cret", noAuth: true})
		p := newProvider(t, ts, creds("veriflow", "s3cret"))
		_, err := p.Send(t.Context(), testMessage("ada@example.com"))
		assertPermanent(t, err, contract.ReasonSMTPAuthFailed)
	})
}

func TestRecipientRejected(t *testing.T) {
	ts := startServer(t, serverOptions{})
	p := newProvider(t, ts, nil)
	m := testMessage(rcptUnknown + "@example.com")
	_, err := p.Send(t.Context(), m)
	assertPermanent(t, err, contract.ReasonMailboxUnavailable)
	assertClean(t, err, m)
	if !strings.Contains(err.Error(), "550") || !strings.Contains(err.Error(), "u***@example.com") {
		t.Errorf("err = %q, want the reply code and the masked recipient", err)
	}
}

func TestSenderRejected(t *testing.T) {
	ts := startServer(t, serverOptions{rejectSender: true})
	p := newProvider(t, ts, nil)
	_, err := p.Send(t.Context(), testMessage("ada@example.com"))
	assertPermanent(t, err, contract.ReasonSenderRejected) // 553 to MAIL FROM
}

func TestRecipientTemporaryFailure(t *testing.T) {
	ts := startServer(t, serverOptions{})
	p := newProvider(t, ts, nil)
	m := testMessage(rcptBusy + "@example.com")
	_, err := p.Send(t.Context(), m)
	assertTemporary(t, err)
	assertClean(t, err, m)
	if !strings.Contains(err.Error(), "451") {
		t.Errorf("err = %q, want the reply code", err)
	}
}

func TestRejectionEchoingTheBodyIsRedacted(t *testing.T) {
	ts := startServer(t, serverOptions{})
	p := newProvider(t, ts, nil)
	m := testMessage(rcptEcho + "@example.com")
	_, err := p.Send(t.Context(), m)
	assertPermanent(t, err, contract.ReasonMessageRejected)
	assertClean(t, err, m)
	if !strings.Contains(err.Error(), "[redacted]") || !strings.Contains(err.Error(), "e***@example.com") {
		t.Errorf("err = %q, want the code redacted and the recipient masked", err)
	}
}

func TestServerNotListening(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	p, err := New(Config{Host: "127.0.0.1", Port: port, TLS: TLSNone, From: "no-reply@veriflow.test"})
	if err != nil {
		t.Fatal(err)
	}
	m := testMessage("ada@example.com")
	_, err = p.Send(t.Context(), m)
	assertTemporary(t, err)
	assertClean(t, err, m)
}

func TestContextDeadline(t *testing.T) {
	ts := startServer(t, serverOptions{})
	p := newProvider(t, ts, nil) // Timeout 5 s: the context's deadline is shorter
	m := testMessage(rcptSlow + "@example.com")
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := p.Send(ctx, m)
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("Send took %s past a 300ms deadline", took)
	}
	assertTemporary(t, err)
	assertClean(t, err, m)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want context.DeadlineExceeded", err)
	}
}

func TestConfigTimeout(t *testing.T) {
	ts := startServer(t, serverOptions{})
	p := newProvider(t, ts, func(c *Config) { c.Timeout = 300 * time.Millisecond })
	start := time.Now()
	_, err := p.Send(t.Context(), testMessage(rcptSlow+"@example.com"))
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("Send took %s with a 300ms timeout", took)
	}
	assertTemporary(t, err)
	// Whichever fires first — the context deadline or the connection's
	// I/O deadline, both set from Config.Timeout — it is a timeout.
	var netErr net.Error
	if !errors.Is(err, context.DeadlineExceeded) && !(errors.As(err, &netErr) && netErr.Timeout()) {
		t.Errorf("err = %v, want a timeout", err)
	}
}

func TestContextCanceled(t *testing.T) {
	ts := startServer(t, serverOptions{})
	p := newProvider(t, ts, nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := p.Send(ctx, testMessage("ada@example.com"))
	assertTemporary(t, err)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if n := len(ts.deliveries()); n != 0 {
		t.Errorf("%d messages delivered after cancellation", n)
	}
}

func TestChannelNotSupported(t *testing.T) {
	ts := startServer(t, serverOptions{})
	p := newProvider(t, ts, nil)
	m := testMessage("ada@example.com")
	m.Channel, m.To = contract.ChannelSMS, "+393331234567"
	_, err := p.Send(t.Context(), m)
	assertPermanent(t, err, contract.ReasonChannelNotSupported)
}

func TestInvalidRecipient(t *testing.T) {
	ts := startServer(t, serverOptions{})
	p := newProvider(t, ts, nil)
	for _, to := range []string{"", "not an address", "ada@example.com\r\nBcc: eve@example.com"} {
		m := testMessage(to)
		_, err := p.Send(t.Context(), m)
		assertPermanent(t, err, contract.ReasonInvalidAddress)
		assertClean(t, err, m)
	}
	if n := len(ts.deliveries()); n != 0 {
		t.Errorf("%d messages delivered", n)
	}
}

func TestEmptyMessage(t *testing.T) {
	ts := startServer(t, serverOptions{})
	p := newProvider(t, ts, nil)
	m := testMessage("ada@example.com")
	m.Text, m.HTML = "", ""
	_, err := p.Send(t.Context(), m)
	assertTemporary(t, err)
}

func TestSubjectCannotInjectHeaders(t *testing.T) {
	ts := startServer(t, serverOptions{})
	p := newProvider(t, ts, nil)
	m := testMessage("ada@example.com")
	m.Subject = "Your code\r\nBcc: eve@example.com"
	if _, err := p.Send(t.Context(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	d := only(t, ts)
	if len(d.to) != 1 {
		t.Errorf("envelope recipients = %q", d.to)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(d.data))
	if err != nil {
		t.Fatal(err)
	}
	if got := msg.Header.Get("Bcc"); got != "" {
		t.Errorf("Bcc = %q", got)
	}
	if got := msg.Header.Get("Subject"); got != "Your code Bcc: eve@example.com" {
		t.Errorf("Subject = %q", got)
	}
}

func TestMessageIDStableAcrossRetries(t *testing.T) {
	ts := startServer(t, serverOptions{})
	p := newProvider(t, ts, nil)
	send := func(key string) string {
		t.Helper()
		m := testMessage("ada@example.com")
		m.IdempotencyKey = key
		res, err := p.Send(t.Context(), m)
		if err != nil {
			t.Fatalf("Send: %v", err)
		}
		return res.MessageID
	}
	a1, a2, b := send("vf_01/1"), send("vf_01/1"), send("vf_01/2")
	if a1 != a2 {
		t.Errorf("retries of one attempt: Message-IDs %q and %q differ", a1, a2)
	}
	if a1 == b {
		t.Errorf("two attempts share Message-ID %q", a1)
	}
	if r1, r2 := send(""), send(""); r1 == r2 {
		t.Errorf("random Message-IDs are equal: %q", r1)
	}
	for i, d := range ts.deliveries() {
		msg, err := mail.ReadMessage(bytes.NewReader(d.data))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := msg.Header.AddressList("Message-ID"); err != nil {
			// A msg-id has the syntax of an angle-addr.
			t.Errorf("message %d: Message-ID %q: %v", i, msg.Header.Get("Message-ID"), err)
		}
	}
}

func TestConcurrentSends(t *testing.T) {
	ts := startServer(t, serverOptions{startTLS: true, user: "veriflow", pass: "s3cret"})
	p := newProvider(t, ts, func(c *Config) {
		c.TLS = TLSStartTLS
		trust(ts)(c)
		c.Username, c.Password = "veriflow", "s3cret"
	})
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			m := testMessage(fmt.Sprintf("user%d@example.com", i))
			m.IdempotencyKey = fmt.Sprintf("vf_%d/1", i)
			_, errs[i] = p.Send(t.Context(), m)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("send %d: %v", i, err)
		}
	}
	if got := len(ts.deliveries()); got != n {
		t.Errorf("%d messages delivered, want %d", got, n)
	}
}

func TestNew(t *testing.T) {
	ok := Config{Host: "smtp.example.com", From: "Veriflow <no-reply@example.com>"}
	p, err := New(ok)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if p.Name() != "smtp" || p.cfg.TLS != TLSStartTLS || p.cfg.Port != 587 || p.cfg.Timeout != DefaultTimeout {
		t.Errorf("defaults: name %q, TLS %q, port %d, timeout %s", p.Name(), p.cfg.TLS, p.cfg.Port, p.cfg.Timeout)
	}
	if p.tls.ServerName != "smtp.example.com" || p.tls.MinVersion != tls.VersionTLS12 {
		t.Errorf("TLS config: server name %q, min version %x", p.tls.ServerName, p.tls.MinVersion)
	}
	if p.helo == "" {
		t.Error("empty default HELO name")
	}
	for mode, port := range map[TLSMode]int{TLSImplicit: 465, TLSNone: 25} {
		c := ok
		c.TLS = mode
		if p, err := New(c); err != nil || p.cfg.Port != port {
			t.Errorf("%s: port %v (%v), want %d", mode, p, err, port)
		}
	}
	given := &tls.Config{ServerName: "mx.example.com"}
	c := ok
	c.TLSConfig = given
	if p, err := New(c); err != nil || p.tls == given || p.tls.ServerName != "mx.example.com" || given.MinVersion != 0 {
		t.Errorf("TLSConfig must be cloned and keep its ServerName (%v)", err)
	}

	for name, edit := range map[string]func(*Config){
		"no host":          func(c *Config) { c.Host = "" },
		"bad host":         func(c *Config) { c.Host = "smtp.example.com\r\n" },
		"bad TLS mode":     func(c *Config) { c.TLS = "ssl" },
		"bad port":         func(c *Config) { c.Port = 70000 },
		"negative port":    func(c *Config) { c.Port = -1 },
		"no From":          func(c *Config) { c.From = "" },
		"bad From":         func(c *Config) { c.From = "Veriflow" },
		"bad ReplyTo":      func(c *Config) { c.ReplyTo = "support at example.com" },
		"password only":    func(c *Config) { c.Password = "s3cret" },
		"negative timeout": func(c *Config) { c.Timeout = -time.Second },
		"bad HELO":         func(c *Config) { c.HeloName = "a b" },
	} {
		c := ok
		edit(&c)
		if _, err := New(c); err == nil {
			t.Errorf("%s: New accepted %+v", name, c)
		}
	}
}

func TestReason(t *testing.T) {
	for _, tc := range []struct {
		code      int
		reason    contract.FailureReason
		permanent bool
	}{
		{550, contract.ReasonMailboxUnavailable, true},
		{551, contract.ReasonMailboxUnavailable, true},
		{553, contract.ReasonMailboxUnavailable, true},
		{556, contract.ReasonMailboxUnavailable, true},
		{552, contract.ReasonMessageRejected, true},
		{554, contract.ReasonMessageRejected, true},
		{530, contract.ReasonSMTPAuthFailed, true},
		{535, contract.ReasonSMTPAuthFailed, true},
		{538, contract.ReasonSMTPAuthFailed, true},
		{500, contract.ReasonSMTPRejected, true},
		{521, contract.ReasonSMTPRejected, true},
		{555, contract.ReasonSMTPRejected, true},
		{421, contract.ReasonTemporaryFailure, false},
		{450, contract.ReasonTemporaryFailure, false},
		{451, contract.ReasonTemporaryFailure, false},
		{452, contract.ReasonTemporaryFailure, false},
		{250, "", false},
		{354, "", false},
		{0, "", false},
		{600, "", false},
	} {
		reason, permanent := Reason(tc.code)
		if reason != tc.reason || permanent != tc.permanent {
			t.Errorf("Reason(%d) = %q, %v; want %q, %v", tc.code, reason, permanent, tc.reason, tc.permanent)
		}
	}
}
