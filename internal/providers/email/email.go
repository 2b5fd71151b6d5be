// Package email is the email provider: it hands one-time-code messages to an
// SMTP relay (a mail service's submission endpoint or a local MTA) with
// github.com/wneessen/go-mail.
//
// A message is accepted when the relay accepts it (250 after DATA); delivery
// to the mailbox happens later and is not reported back through this
// package. A permanent SMTP refusal (a 5xx reply) becomes a
// *providers.PermanentError with a stable reason, see Reason; temporary
// refusals (4xx), connection, TLS and timeout errors are returned as plain
// errors so that the caller retries.
//
// The message body, subject and code never appear in an error string, and
// the package logs nothing.
package email

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"os"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/providers"
)

// Name is the provider name of messages sent by this package.
const Name = "smtp"

// DefaultTimeout bounds one Send when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// TLSMode is how the SMTP connection is secured.
type TLSMode string

const (
	// TLSStartTLS connects in plain text and upgrades with STARTTLS, which
	// is mandatory: a server that does not offer it is an error. Default
	// port 587.
	TLSStartTLS TLSMode = "starttls"
	// TLSImplicit speaks TLS from the first byte (SMTPS). Default port 465.
	TLSImplicit TLSMode = "tls"
	// TLSNone never encrypts. Only for local relays and tests: credentials
	// are then sent only to a loopback host (localhost, 127.0.0.1, ::1).
	// Default port 25.
	TLSNone TLSMode = "none"
)

// Config configures the SMTP adapter.
type Config struct {
	// Host is the SMTP server's host name (or IP address); it is also the
	// name its TLS certificate is checked against unless TLSConfig sets
	// ServerName.
	Host string
	// Port is the server's port; zero means the default of the TLS mode
	// (587 starttls, 465 tls, 25 none).
	Port int
	// Username and Password authenticate with SMTP AUTH (PLAIN, or LOGIN
	// when the server offers no PLAIN). An empty Username means no AUTH.
	Username, Password string
	// TLS is how the connection is secured; empty means TLSStartTLS.
	TLS TLSMode
	// From is the sender, as an RFC 5322 address:
	// "Veriflow <no-reply@example.com>". Its domain names the Message-IDs.
	From string
	// ReplyTo is an optional Reply-To address.
	ReplyTo string
	// HeloName is the name sent with EHLO; empty means the host name of
	// this machine.
	HeloName string
	// Timeout bounds one Send, from dialling to QUIT (and each network
	// operation within it); zero means DefaultTimeout. A shorter deadline
	// of the Send's context wins.
	Timeout time.Duration
	// TLSConfig is an optional TLS configuration (tests use it to trust the
	// test server's certificate). It is cloned; ServerName defaults to Host
	// and MinVersion to TLS 1.2.
	TLSConfig *tls.Config
}

// Provider sends email over SMTP. It is safe for concurrent use: each Send
// opens its own connection.
type Provider struct {
	cfg     Config
	from    *mail.Address
	replyTo *mail.Address
	domain  string // of From, for Message-IDs
	helo    string
	tls     *tls.Config
}

// New validates cfg, applies its defaults and returns the provider.
func New(cfg Config) (*Provider, error) {
	if strings.TrimSpace(cfg.Host) == "" || strings.ContainsAny(cfg.Host, " \t\r\n/") {
		return nil, fmt.Errorf("email: invalid host %q", cfg.Host)
	}
	if cfg.TLS == "" {
		cfg.TLS = TLSStartTLS
	}
	switch cfg.TLS {
	case TLSStartTLS, TLSImplicit, TLSNone:
	default:
		return nil, fmt.Errorf("email: unknown TLS mode %q (want %q, %q or %q)", cfg.TLS, TLSStartTLS, TLSImplicit, TLSNone)
	}
	if cfg.Port == 0 {
		cfg.Port = defaultPort(cfg.TLS)
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		return nil, fmt.Errorf("email: invalid port %d", cfg.Port)
	}
	if cfg.Username == "" && cfg.Password != "" {
		return nil, errors.New("email: password set without username")
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("email: negative timeout %s", cfg.Timeout)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("email: invalid From %q: %w", cfg.From, err)
	}
	at := strings.LastIndexByte(from.Address, '@')
	if at < 0 || at == len(from.Address)-1 {
		return nil, fmt.Errorf("email: From %q has no domain", cfg.From)
	}
	p := &Provider{from: from, domain: from.Address[at+1:]}
	if cfg.ReplyTo != "" {
		if p.replyTo, err = mail.ParseAddress(cfg.ReplyTo); err != nil {
			return nil, fmt.Errorf("email: invalid ReplyTo %q: %w", cfg.ReplyTo, err)
		}
	}
	p.helo = cfg.HeloName
	if p.helo == "" {
		if p.helo, err = os.Hostname(); err != nil || p.helo == "" {
			p.helo = "localhost"
		}
	}
	if strings.ContainsAny(p.helo, " \t\r\n") {
		return nil, fmt.Errorf("email: invalid HELO name %q", p.helo)
	}
	if cfg.TLSConfig != nil {
		p.tls = cfg.TLSConfig.Clone()
	} else {
		p.tls = &tls.Config{}
	}
	if p.tls.ServerName == "" {
		p.tls.ServerName = cfg.Host
	}
	if p.tls.MinVersion < tls.VersionTLS12 {
		p.tls.MinVersion = tls.VersionTLS12
	}
	cfg.TLSConfig = nil // p.tls is the one in use
	p.cfg = cfg
	return p, nil
}

func defaultPort(m TLSMode) int {
	switch m {
	case TLSImplicit:
		return 465
	case TLSNone:
		return 25
	default:
		return 587
	}
}

// Name implements providers.Provider.
func (p *Provider) Name() string { return Name }

// Send implements providers.Provider: it sends m as one email to m.To and
// returns its Message-ID header (angle brackets included) once the SMTP
// server has accepted it.
//
// The Message-ID is derived from m.TenantID and m.IdempotencyKey, so the
// retries of one attempt carry the same Message-ID (receivers may drop
// duplicates); it is random when m.IdempotencyKey is empty.
//
// Errors: channels other than email, an unparsable m.To and permanent SMTP
// replies are *providers.PermanentError (see Reason); everything else
// (4xx replies, network, TLS, context deadline or cancellation) is a plain
// error to retry. errors.Is and errors.As see through the returned errors
// (context.DeadlineExceeded, go-mail's *SendError, ...), but errors.Unwrap does
// not: the chain ends at a sanitized error whose text never holds the
// code, subject or body, and shows the recipient masked.
func (p *Provider) Send(ctx context.Context, m providers.Message) (providers.Result, error) {
	if m.Channel != contract.ChannelEmail {
		return providers.Result{}, &providers.PermanentError{Reason: contract.ReasonChannelNotSupported,
			Err: fmt.Errorf("email: channel %q not supported", m.Channel)}
	}
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return providers.Result{}, &providers.PermanentError{Reason: contract.ReasonInvalidAddress,
			Err: sanitize(fmt.Errorf("email: invalid recipient address: %w", err), m)}
	}
	if m.Text == "" && m.HTML == "" {
		return providers.Result{}, errors.New("email: message has neither text nor HTML")
	}
	if err := ctx.Err(); err != nil {
		return providers.Result{}, fmt.Errorf("email: not sent: %w", err)
	}

	msg, id := p.message(m, to)

	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	var auth *authenticator
	if p.cfg.Username != "" {
		auth = &authenticator{username: p.cfg.Username, password: p.cfg.Password, host: p.cfg.Host}
	}
	client, err := p.client(ctx, auth)
	if err != nil {
		return providers.Result{}, fmt.Errorf("email: smtp client: %w", err)
	}
	err = client.DialAndSendWithContext(ctx, msg)
	if err == nil || msg.IsDelivered() {
		// Accepted; a failure after that (RSET, QUIT) does not matter.
		return providers.Result{MessageID: id}, nil
	}
	if reason, ok := permanent(err, auth); ok {
		return providers.Result{}, &providers.PermanentError{Reason: reason,
			Err: sanitize(fmt.Errorf("email: smtp refused: %w", err), m)}
	}
	if cerr := ctx.Err(); cerr != nil {
		return providers.Result{}, sanitize(fmt.Errorf("email: smtp send: %w: %w", cerr, err), m)
	}
	return providers.Result{}, sanitize(fmt.Errorf("email: smtp send: %w", err), m)
}

// message builds the email and returns it with its Message-ID.
func (p *Provider) message(m providers.Message, to *mail.Address) (*gomail.Msg, string) {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(p.from)
	msg.ToMailAddress(to)
	if p.replyTo != nil {
		msg.ReplyToMailAddress(p.replyTo)
	}
	msg.Subject(oneLine(m.Subject))
	local := messageIDLocal(m)
	msg.SetMessageIDWithValue(local + "@" + p.domain)
	msg.SetDate()
	// Transactional mail (RFC 3834): no auto-replies, no bulk/list
	// headers, no tracking.
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetGenHeader(gomail.HeaderXAutoResponseSuppress, "All")
	switch {
	case m.HTML == "":
		msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	case m.Text == "":
		msg.SetBodyString(gomail.TypeTextHTML, m.HTML)
	default:
		msg.SetBodyString(gomail.TypeTextPlain, m.Text)
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, msg.GetMessageID()
}

// messageIDLocal is the part of the Message-ID before '@'.
func messageIDLocal(m providers.Message) string {
	if m.IdempotencyKey == "" {
		return strings.ToLower(rand.Text())
	}
	sum := sha256.Sum256([]byte("veriflow-email\x00" + m.TenantID + "\x00" + m.IdempotencyKey))
	return hex.EncodeToString(sum[:16])
}

// oneLine folds line breaks of a header value into spaces.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '\r' || r == '\n' }), " ")
}

// client returns a go-mail client for one Send. Its connections are closed
// when ctx is done, which the caller's deferred cancel also guarantees, so
// neither a deadline nor a cancellation waits for a network timeout.
func (p *Provider) client(ctx context.Context, auth *authenticator) (*gomail.Client, error) {
	policy := gomail.NoTLS
	if p.cfg.TLS == TLSStartTLS {
		policy = gomail.TLSMandatory
	}
	implicit := p.cfg.TLS == TLSImplicit
	dial := func(dctx context.Context, network, address string) (net.Conn, error) {
		var d net.Dialer
		conn, err := d.DialContext(dctx, network, address)
		if err != nil {
			return nil, err
		}
		context.AfterFunc(ctx, func() { _ = conn.Close() })
		if !implicit {
			return conn, nil
		}
		tc := tls.Client(conn, p.tls)
		if err := tc.HandshakeContext(dctx); err != nil {
			_ = conn.Close()
			return nil, fmt.Errorf("tls handshake: %w", err)
		}
		return tc, nil
	}
	opts := []gomail.Option{
		gomail.WithPort(p.cfg.Port),
		gomail.WithTimeout(p.cfg.Timeout),
		gomail.WithHELO(p.helo),
		gomail.WithTLSConfig(p.tls),
		gomail.WithTLSPolicy(policy),
		gomail.WithDialContextFunc(dial),
		gomail.WithoutNoop(),
		gomail.WithoutRset(),
	}
	if auth != nil {
		opts = append(opts, gomail.WithSMTPAuthCustom(auth))
	}
	return gomail.NewClient(p.cfg.Host, opts...)
}
