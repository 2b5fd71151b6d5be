package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/policy"
	"github.com/veriflow/veriflow/internal/store"
	"github.com/veriflow/veriflow/internal/verify"
)

// load returns the caller's verification named in the path, or answers.
func (s *Server) load(c *gin.Context) (store.Verification, bool) {
	v, err := s.verify.Get(c.Request.Context(), tenantOf(c).ID, c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return v, false
	}
	return v, true
}

func (s *Server) start(c *gin.Context) {
	t := tenantOf(c)
	var req startRequest
	if p := decodeJSON(c, &req, false); p != nil {
		writeProblem(c, p)
		return
	}
	v, p := validateStart(req, func(k contract.Kind, o policy.Settings) policy.Policy { return s.Policies.Resolve(t.ID, k, o) })
	if p != nil {
		writeProblem(c, p)
		return
	}
	idem := c.GetHeader("Idempotency-Key")
	if len(idem) > 255 {
		writeProblem(c, invalid(FieldError{Field: "Idempotency-Key", Message: "must have at most 255 characters"}))
		return
	}
	res, err := s.verify.Start(c.Request.Context(), t, verify.StartInput{
		Kind: v.req.Kind, To: v.to, Locale: v.req.Locale, Transaction: v.req.Transaction, Document: v.req.Document,
		ClientIP: v.req.ClientIP, Metadata: v.req.Metadata, Policy: v.policy,
		IdempotencyKey: idem, Request: canonical(v),
	})
	switch {
	case err != nil:
		s.fail(c, err)
	case res.Replay:
		c.JSON(http.StatusOK, view(res.Verification, nil))
	default:
		c.Header("Location", "/v1/verifications/"+res.Verification.ID)
		c.JSON(http.StatusCreated, view(res.Verification, nil))
	}
}

func (s *Server) get(c *gin.Context) {
	if v, ok := s.load(c); ok {
		c.JSON(http.StatusOK, view(v, nil))
	}
}

func (s *Server) check(c *gin.Context) {
	v, ok := s.load(c)
	if !ok {
		return
	}
	var req checkRequest
	if p := decodeJSON(c, &req, false); p != nil {
		writeProblem(c, p)
		return
	}
	digest, p := validateCheck(v.Kind, req)
	if p != nil {
		writeProblem(c, p)
		return
	}
	res, err := s.verify.Check(c.Request.Context(), v, verify.CheckInput{Code: req.Code, BindingDigest: digest})
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, view(res.Verification, res.Live))
}

func (s *Server) resend(c *gin.Context) {
	v, ok := s.load(c)
	if !ok {
		return
	}
	var req resendRequest
	if p := decodeJSON(c, &req, true); p != nil {
		writeProblem(c, p)
		return
	}
	if req.Channel != "" && !req.Channel.Valid() {
		writeProblem(c, invalid(FieldError{Field: "channel", Message: "must be one of " + contract.ChannelNames()}))
		return
	}
	res, err := s.verify.Resend(c.Request.Context(), v, req.Channel)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusAccepted, view(res.Verification, res.Live))
}

func (s *Server) cancel(c *gin.Context) {
	res, err := s.verify.Cancel(c.Request.Context(), tenantOf(c).ID, c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, view(res.Verification, res.Live))
}

// evidence serves the signed evidence of an approved signature, byte for
// byte as it was signed and stored.
func (s *Server) evidence(c *gin.Context) {
	doc, err := s.verify.Evidence(c.Request.Context(), tenantOf(c).ID, c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Data(http.StatusOK, "application/json", doc)
}

// sandboxMessageView is one message of GET /v1/sandbox/messages: the only
// place a code is ever shown.
type sandboxMessageView struct {
	ID             string           `json:"id"`
	VerificationID string           `json:"verification_id"`
	Channel        contract.Channel `json:"channel"`
	To             string           `json:"to"`
	Body           string           `json:"body"`
	Code           string           `json:"code"`
	CreatedAt      time.Time        `json:"created_at"`
}

func (s *Server) sandboxMessages(c *gin.Context) {
	t := tenantOf(c)
	if err := verify.AllowSandbox(t); err != nil {
		s.fail(c, err)
		return
	}
	limit := 50
	if l := c.Query("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 200 {
			writeProblem(c, invalid(FieldError{Field: "limit", Message: "must be between 1 and 200"}))
			return
		}
		limit = n
	}
	var to string
	if q := c.Query("to"); q != "" {
		norm, msg := normalizePhone(q)
		if strings.Contains(q, "@") {
			norm, msg = normalizeEmail(q)
		}
		if msg != "" {
			writeProblem(c, invalid(FieldError{Field: "to", Message: "must be an E.164 phone number or an email address"}))
			return
		}
		to = norm
	}
	msgs, err := s.verify.SandboxMessages(c.Request.Context(), t, to, limit)
	if err != nil {
		s.fail(c, err)
		return
	}
	out := make([]sandboxMessageView, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, sandboxMessageView(m))
	}
	c.JSON(http.StatusOK, gin.H{"messages": out})
}
