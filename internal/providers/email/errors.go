package email

import (
	"errors"
	"fmt"
	"net/mail"
	"net/textproto"
	"regexp"
	"slices"
	"strings"

	gomail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/mask"
	"github.com/veriflow/veriflow/internal/providers"
)

// replyTable returns the table of SMTP reply codes (Reason documents it).
func replyTable() providers.ErrorTable {
	return providers.ErrorTable{
		{Codes: []int{550, 551, 553, 556}, Reason: contract.ReasonMailboxUnavailable, Permanent: true},
		{Codes: []int{552, 554}, Reason: contract.ReasonMessageRejected, Permanent: true},
		{Codes: []int{530, 534, 535, 538}, Reason: contract.ReasonSMTPAuthFailed, Permanent: true},
		{Min: 500, Max: 599, Reason: contract.ReasonSMTPRejected, Permanent: true},
		{Min: 400, Max: 499, Reason: contract.ReasonTemporaryFailure},
	}
}

// Reason maps an SMTP reply code to a stable reason and tells whether it
// is permanent, i.e. whether sending the same message again is pointless:
//
//	550, 551, 553, 556      mailbox_unavailable  permanent
//	552, 554                message_rejected     permanent
//	530, 534, 535, 538      smtp_auth_failed     permanent
//	other 5xx               smtp_rejected        permanent
//	4xx                     temporary_failure    not permanent (retry)
//	anything else           ""                   not permanent
//
// Send applies it to the server's reply to MAIL FROM, RCPT TO and DATA,
// with one exception: mailbox_unavailable in reply to MAIL FROM is about
// Veriflow's own sender address and is reported as sender_rejected. Any
// 5xx reply to AUTH is smtp_auth_failed. Replies before AUTH (greeting,
// EHLO, STARTTLS) are connection problems and never permanent.
//
// The reasons are contract.ReasonMailboxUnavailable (the mailbox does not
// exist or takes no mail), contract.ReasonMessageRejected (policy, spam,
// size), contract.ReasonSMTPAuthFailed (a misconfiguration of Veriflow:
// retrying does not help), contract.ReasonSMTPRejected,
// contract.ReasonTemporaryFailure, and, from Send,
// contract.ReasonSenderRejected, contract.ReasonInvalidAddress (Message.To
// is not an email address) and contract.ReasonChannelNotSupported.
func Reason(code int) (reason contract.FailureReason, permanent bool) {
	r, _ := replyTable().Lookup(code)
	return r.Reason, r.Permanent
}

// permanent tells whether err, returned by go-mail for a message that was
// not accepted, is a permanent failure, and its reason. auth is the
// authenticator of the Send, nil without AUTH.
func permanent(err error, auth *authenticator) (contract.FailureReason, bool) {
	var se *gomail.SendError
	if errors.As(err, &se) {
		// MAIL FROM, RCPT TO, DATA or the end of DATA: go-mail keeps
		// the server's reply code.
		reason, perm := Reason(se.ErrorCode())
		if perm && reason == contract.ReasonMailboxUnavailable && se.Reason == gomail.ErrSMTPMailFrom {
			reason = contract.ReasonSenderRejected
		}
		return reason, perm
	}
	if auth == nil || !auth.started {
		// Dial, greeting, EHLO, STARTTLS.
		return "", false
	}
	// AUTH is the last step before sending: it failed.
	var tpe *textproto.Error
	if errors.As(err, &tpe) {
		return contract.ReasonSMTPAuthFailed, tpe.Code >= 500 && tpe.Code <= 599
	}
	var nm *noMechanismError
	if errors.As(err, &nm) || errors.Is(err, smtp.ErrUnencrypted) || errors.Is(err, smtp.ErrWrongHostname) {
		return contract.ReasonSMTPAuthFailed, true
	}
	return "", false
}

// authenticator is SMTP AUTH with PLAIN, or LOGIN when the server offers no
// PLAIN. Like go-mail's own, it refuses to send credentials over a
// connection that is neither TLS nor to a loopback host. started records
// that the AUTH step was reached, so that a failure then is known to be an
// authentication failure. One authenticator serves one Send.
type authenticator struct {
	username, password, host string

	started bool
	inner   smtp.Auth
}

// noMechanismError: the server offers neither PLAIN nor LOGIN.
type noMechanismError struct{ offered []string }

func (e *noMechanismError) Error() string {
	return fmt.Sprintf("server offers no supported AUTH mechanism (offered: %q; supported: PLAIN, LOGIN)", e.offered)
}

// Start implements smtp.Auth.
func (a *authenticator) Start(server *smtp.ServerInfo) (string, []byte, error) {
	a.started = true
	switch {
	case slices.ContainsFunc(server.Auth, func(s string) bool { return strings.EqualFold(s, "PLAIN") }):
		a.inner = smtp.PlainAuth("", a.username, a.password, a.host, false)
	case slices.ContainsFunc(server.Auth, func(s string) bool { return strings.EqualFold(s, "LOGIN") }):
		a.inner = smtp.LoginAuth(a.username, a.password, a.host, false)
	default:
		return "", nil, &noMechanismError{offered: server.Auth}
	}
	return a.inner.Start(server)
}

// Next implements smtp.Auth.
func (a *authenticator) Next(fromServer []byte, more bool) ([]byte, error) {
	return a.inner.Next(fromServer, more)
}

// sanitizedError is where the chain of an error returned by Send ends. Its
// text is that of the wrapped error with the code, subject and body
// redacted and the recipient masked: a server may echo any of them, and
// error texts reach logs and, cause by cause, workflow histories. It has
// no Unwrap for that reason; Is and As still look into the wrapped chain.
type sanitizedError struct {
	msg string
	err error
}

func (e *sanitizedError) Error() string { return e.msg }

// Is lets errors.Is look into the wrapped chain.
func (e *sanitizedError) Is(target error) bool { return errors.Is(e.err, target) }

// As lets errors.As look into the wrapped chain.
func (e *sanitizedError) As(target any) bool { return errors.As(e.err, target) }

// sanitize returns err with the secrets of m removed from its text: the
// code, and the subject, text and HTML when a server echoes them whole
// (they are not redacted when shorter than 8 bytes, which would only
// garble the text); the recipient is masked.
func sanitize(err error, m providers.Message) error {
	s := err.Error()
	if m.Code != "" {
		s = strings.ReplaceAll(s, m.Code, "[redacted]")
	}
	for _, secret := range []string{m.Subject, m.Text, m.HTML} {
		if len(secret) >= 8 {
			s = strings.ReplaceAll(s, secret, "[redacted]")
		}
	}
	if m.To != "" {
		addr := m.To
		if a, perr := mail.ParseAddress(m.To); perr == nil {
			addr = a.Address
		}
		masked := mask.Destination(addr)
		s = replaceFold(s, m.To, masked)
		if addr != m.To {
			s = replaceFold(s, addr, masked)
		}
	}
	return &sanitizedError{msg: s, err: err}
}

// replaceFold replaces old in s, ignoring case.
func replaceFold(s, old, repl string) string {
	re, err := regexp.Compile("(?i)" + regexp.QuoteMeta(old))
	if err != nil {
		return strings.ReplaceAll(s, old, repl)
	}
	return re.ReplaceAllLiteralString(s, repl)
}
