package api

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/mail"
	"net/netip"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/currency"
	"golang.org/x/text/language"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/policy"
)

// maxBody bounds every request body.
const maxBody = 64 << 10

// decodeJSON strictly decodes the request body into dst: unknown fields,
// trailing data, wrong types and oversized bodies are client errors. An
// empty body decodes as {} when allowEmpty.
func decodeJSON(c *gin.Context, dst any, allowEmpty bool) *Problem {
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return problem(http.StatusRequestEntityTooLarge, CodePayloadTooLarge, fmt.Sprintf("The body exceeds %d bytes.", maxBody))
		}
		return problem(http.StatusBadRequest, CodeInvalidRequest, "The body could not be read.")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if allowEmpty {
			return nil
		}
		return problem(http.StatusBadRequest, CodeInvalidRequest, "A JSON body is required.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonProblem(err)
	}
	// Anything after the value — even a stray "}" or "]", which dec.More
	// would not report — is a client error.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return problem(http.StatusBadRequest, CodeInvalidRequest, "The body holds more than one JSON value.")
	}
	return nil
}

func jsonProblem(err error) *Problem {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return problem(http.StatusBadRequest, CodeInvalidRequest, "The body must be a JSON object.")
		}
		return invalid(FieldError{Field: field, Message: "must be " + jsonKind(typeErr.Type.Kind().String())})
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return problem(http.StatusBadRequest, CodeInvalidRequest, "The body is not valid JSON.")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return invalid(FieldError{Field: name, Message: "is not a known field"})
	}
	return problem(http.StatusBadRequest, CodeInvalidRequest, "The body is not valid JSON.")
}

func jsonKind(k string) string {
	switch k {
	case "int", "int64", "int32", "uint", "uint64", "float64":
		return "a number"
	case "string":
		return "a string"
	case "slice":
		return "an array"
	case "map", "struct", "ptr":
		return "an object"
	case "bool":
		return "a boolean"
	}
	return "of another type"
}

// startRequest is the body of POST /v1/verifications.
type startRequest struct {
	Kind                  contract.Kind          `json:"kind"`
	To                    *contract.Destinations `json:"to"`
	Channels              []contract.Channel     `json:"channels,omitempty"`
	ChannelTimeoutSeconds *int                   `json:"channel_timeout_seconds,omitempty"`
	Locale                string                 `json:"locale,omitempty"`
	CodeLength            *int                   `json:"code_length,omitempty"`
	TTLSeconds            *int                   `json:"ttl_seconds,omitempty"`
	MaxChecks             *int                   `json:"max_checks,omitempty"`
	Transaction           *contract.Transaction  `json:"transaction,omitempty"`
	Document              *contract.Document     `json:"document,omitempty"`
	ClientIP              string                 `json:"client_ip,omitempty"`
	Metadata              map[string]string      `json:"metadata,omitempty"`
	// Supersede overrides the kind's policy: true cancels a pending
	// verification of the same kind and destination, false keeps it.
	Supersede *bool `json:"supersede,omitempty"`
	// ChannelGoal overrides the kind's channel goal (delivered or read).
	ChannelGoal contract.ChannelGoal `json:"channel_goal,omitempty"`
}

// validated is a start request after validation and normalization.
type validated struct {
	req    startRequest
	to     contract.Destinations
	policy policy.Policy
}

type fieldErrors []FieldError

// maxFieldErrors bounds the errors listed in one problem.
const maxFieldErrors = 50

func (f *fieldErrors) add(field, format string, args ...any) {
	if len(*f) < maxFieldErrors {
		*f = append(*f, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
}

func checkRange(errs *fieldErrors, field string, v *int, lo, hi int) int {
	if v == nil {
		return 0
	}
	if *v < lo || *v > hi {
		errs.add(field, "must be between %d and %d", lo, hi)
		return 0
	}
	return *v
}

// validateStart checks every field of a start request and normalizes it
// (E.164 phone, lower-case email, canonical amount); resolve applies the
// request's settings over the tenant's and deployment's policy.
func validateStart(r startRequest, resolve func(contract.Kind, policy.Settings) policy.Policy) (validated, *Problem) {
	var errs fieldErrors
	v := validated{req: r}
	if r.Kind == "" {
		errs.add("kind", "is required")
	} else if !r.Kind.Valid() {
		errs.add("kind", "must be one of signup, transaction, password_reset, two_factor, signature")
	}
	if r.To == nil || (r.To.Phone == "" && r.To.Email == "") {
		errs.add("to", "needs a phone or an email")
	} else {
		if r.To.Phone != "" {
			p, msg := normalizePhone(r.To.Phone)
			if msg != "" {
				errs.add("to.phone", "%s", msg)
			}
			v.to.Phone = p
		}
		if r.To.Email != "" {
			e, msg := normalizeEmail(r.To.Email)
			if msg != "" {
				errs.add("to.email", "%s", msg)
			}
			v.to.Email = e
		}
	}
	seen := map[contract.Channel]bool{}
	for i, ch := range r.Channels {
		switch {
		case !ch.Valid():
			errs.add(fmt.Sprintf("channels[%d]", i), "must be one of %s", contract.ChannelNames())
		case seen[ch]:
			errs.add(fmt.Sprintf("channels[%d]", i), "is repeated")
		}
		seen[ch] = true
	}
	if r.Channels != nil && len(r.Channels) == 0 {
		errs.add("channels", "must not be empty")
	}
	if policy.VoiceLast(r.Channels) != nil {
		errs.add("channels", "must end with voice: a call is the last resort")
	}
	if r.ChannelGoal != "" && !r.ChannelGoal.Valid() {
		errs.add("channel_goal", "must be delivered or read")
	}
	o := policy.Settings{
		Channels:              r.Channels,
		ChannelTimeoutSeconds: checkRange(&errs, "channel_timeout_seconds", r.ChannelTimeoutSeconds, int(policy.MinStepTimeout/time.Second), int(policy.MaxStepTimeout/time.Second)),
		CodeLength:            checkRange(&errs, "code_length", r.CodeLength, policy.MinCodeLength, policy.MaxCodeLength),
		TTLSeconds:            checkRange(&errs, "ttl_seconds", r.TTLSeconds, int(policy.MinTTL/time.Second), int(policy.MaxTTL/time.Second)),
		MaxChecks:             checkRange(&errs, "max_checks", r.MaxChecks, policy.MinChecks, policy.MaxChecks),
		Supersede:             r.Supersede,
		ChannelGoal:           r.ChannelGoal,
	}
	if r.Locale != "" {
		if _, err := language.Parse(r.Locale); err != nil || len(r.Locale) > 35 {
			errs.add("locale", "must be a BCP 47 language tag such as it or pt-BR")
		}
	}
	if r.ClientIP != "" {
		if _, err := netip.ParseAddr(r.ClientIP); err != nil {
			errs.add("client_ip", "must be an IPv4 or IPv6 address")
		}
	}
	if len(r.Metadata) > 20 {
		errs.add("metadata", "may hold at most 20 keys")
	}
	for k, val := range r.Metadata {
		if k == "" || len(k) > 40 || len(val) > 500 || !utf8.ValidString(k) || !utf8.ValidString(val) {
			errs.add("metadata."+k, "keys are 1-40 characters and values at most 500")
		}
	}
	v.req.Transaction, v.req.Document = validateBinding(&errs, r.Kind, r.Transaction, r.Document)
	if len(errs) == 0 {
		v.policy = resolve(r.Kind, o)
		reachable := false
		for _, ch := range v.policy.Plan.Channels {
			reachable = reachable || ch.Destination(v.to) != ""
		}
		if !reachable {
			errs.add("channels", "no channel of the plan has a destination in to")
		}
	}
	if len(errs) > 0 {
		return validated{}, invalid(errs...)
	}
	return v, nil
}

// validateBinding checks the transaction / document a kind requires (and
// refuses them on kinds that bind nothing), returning them normalized.
func validateBinding(errs *fieldErrors, kind contract.Kind, tx *contract.Transaction, doc *contract.Document) (*contract.Transaction, *contract.Document) {
	if kind == contract.KindTransaction {
		if tx == nil {
			errs.add("transaction", "is required for kind transaction")
		} else {
			n := *tx
			amount, ok := canonicalAmount(tx.Amount)
			if !ok {
				errs.add("transaction.amount", "must be a positive decimal string such as \"149.90\"")
			}
			n.Amount = amount
			n.Currency = strings.ToUpper(tx.Currency)
			if _, err := currency.ParseISO(n.Currency); err != nil || len(n.Currency) != 3 {
				errs.add("transaction.currency", "must be an ISO 4217 code such as EUR")
			}
			n.Payee = strings.TrimSpace(tx.Payee)
			if n.Payee == "" || utf8.RuneCountInString(n.Payee) > 140 {
				errs.add("transaction.payee", "must have 1 to 140 characters")
			}
			tx = &n
		}
	} else if tx != nil {
		errs.add("transaction", "is only for kind transaction")
	}
	if kind == contract.KindSignature {
		if doc == nil {
			errs.add("document", "is required for kind signature")
		} else {
			n := *doc
			n.SHA256 = strings.ToLower(doc.SHA256)
			if b, err := hex.DecodeString(n.SHA256); err != nil || len(b) != 32 {
				errs.add("document.sha256", "must be 64 hexadecimal characters")
			}
			n.Title = strings.TrimSpace(doc.Title)
			if n.Title == "" || utf8.RuneCountInString(n.Title) > 200 {
				errs.add("document.title", "must have 1 to 200 characters")
			}
			doc = &n
		}
	} else if doc != nil {
		errs.add("document", "is only for kind signature")
	}
	return tx, doc
}

var amountRE = regexp.MustCompile(`^(0|[1-9][0-9]{0,14})(\.[0-9]{1,4})?$`)

// canonicalAmount validates a decimal amount and returns it without
// trailing fractional zeros, so "149.90" and "149.9" bind the same.
func canonicalAmount(s string) (string, bool) {
	if !amountRE.MatchString(s) {
		return s, false
	}
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s, s != "0"
}

// normalizePhone parses an E.164 number with libphonenumber's metadata.
func normalizePhone(s string) (string, string) {
	if !strings.HasPrefix(s, "+") || len(s) > 20 {
		return s, "must be an E.164 number such as +393331234567"
	}
	n, err := phonenumbers.Parse(s, "")
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return s, "is not a valid phone number"
	}
	return phonenumbers.Format(n, phonenumbers.E164), ""
}

// normalizeEmail accepts a bare address (no display name) and lower-cases it.
func normalizeEmail(s string) (string, string) {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" || len(s) > 254 {
		return s, "must be an email address such as ada@example.com"
	}
	_, domain, _ := strings.Cut(s, "@")
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		return s, "must be an email address such as ada@example.com"
	}
	return strings.ToLower(s), ""
}

// checkRequest is the body of POST /v1/verifications/{id}/check.
type checkRequest struct {
	Code        string                `json:"code"`
	Transaction *contract.Transaction `json:"transaction,omitempty"`
	Document    *contract.Document    `json:"document,omitempty"`
}

var codeRE = regexp.MustCompile(`^[0-9]{4,10}$`)

// validateCheck checks a check's shape and returns its binding digest.
func validateCheck(kind contract.Kind, r checkRequest) (string, *Problem) {
	var errs fieldErrors
	if r.Code == "" {
		errs.add("code", "is required")
	} else if !codeRE.MatchString(r.Code) {
		errs.add("code", "must be 4 to 10 digits")
	}
	tx, doc := validateBinding(&errs, kind, r.Transaction, r.Document)
	if len(errs) > 0 {
		return "", invalid(errs...)
	}
	return contract.BindingDigest(tx, doc), nil
}

// resendRequest is the body of POST /v1/verifications/{id}/resend.
type resendRequest struct {
	Channel contract.Channel `json:"channel,omitempty"`
}

// canonical is the form of a validated start request that an
// Idempotency-Key is bound to (verify.Start hashes it). Its JSON must not
// change: stored keys compare against its hash.
func canonical(v validated) any {
	return struct {
		R  startRequest
		To contract.Destinations
	}{v.req, v.to}
}
