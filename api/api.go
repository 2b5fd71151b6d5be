// Package api is Veriflow's HTTP API (Gin): start, check, read, resend and
// cancel verifications, read sandbox messages, and health endpoints. It
// authenticates tenants by API key, reads the Postgres read model, and
// talks to each verification's workflow through Temporal updates.
package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/oklog/ulid/v2"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/veriflow/veriflow/internal/apikey"
	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/evidence"
	"github.com/veriflow/veriflow/internal/guard"
	"github.com/veriflow/veriflow/internal/mask"
	"github.com/veriflow/veriflow/internal/metrics"
	"github.com/veriflow/veriflow/internal/otp"
	"github.com/veriflow/veriflow/internal/policy"
	"github.com/veriflow/veriflow/internal/providers/sandbox"
	"github.com/veriflow/veriflow/internal/store"
)

// Deps are what the API needs.
type Deps struct {
	Store    *store.Store
	Temporal client.Client
	Secrets  *otp.Secrets
	Log      *slog.Logger
	// UpdateTimeout bounds a synchronous call into a workflow (default 10 s).
	UpdateTimeout time.Duration
	// Webhooks receives provider delivery receipts.
	Webhooks Webhooks
	// Policies are the deployment's and tenants' policy overrides.
	Policies policy.Config
	// Evidence holds the evidence keys; GET /v1/keys serves their public halves.
	Evidence *evidence.Keyring
	// Codec, when set, is the Temporal codec server mounted at /codec/.
	Codec http.Handler
	// Guard enforces rate limits and fraud guards (nil: none).
	Guard *guard.Guard
	// Metrics counts HTTP traffic; MetricsHandler serves GET /metrics.
	Metrics        *metrics.Metrics
	MetricsHandler http.Handler
}

// Server serves the HTTP API.
type Server struct {
	Deps
	engine *gin.Engine
}

// New builds the router.
func New(d Deps) *Server {
	if d.UpdateTimeout == 0 {
		d.UpdateTimeout = 10 * time.Second
	}
	gin.SetMode(gin.ReleaseMode)
	s := &Server{Deps: d, engine: gin.New()}
	e := s.engine
	e.HandleMethodNotAllowed = true
	e.ContextWithFallback = true
	e.Use(s.requestLog, s.recover, securityHeaders)
	e.NoRoute(func(c *gin.Context) { writeProblem(c, problem(http.StatusNotFound, CodeNotFound, "No such route.")) })
	e.NoMethod(func(c *gin.Context) {
		writeProblem(c, problem(http.StatusMethodNotAllowed, CodeInvalidRequest, "Method not allowed on this route."))
	})
	e.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	e.GET("/readyz", s.ready)
	if d.MetricsHandler != nil {
		e.GET("/metrics", gin.WrapH(d.MetricsHandler))
	}
	e.GET("/openapi.json", serveOpenAPI)
	s.registerWebhooks(e)
	if d.Codec != nil {
		// The codec server authenticates and answers CORS itself.
		e.Any("/codec/*path", gin.WrapH(d.Codec))
	}

	v1 := e.Group("/v1", s.authenticate)
	v1.POST("/verifications", s.start)
	v1.GET("/verifications/:id", s.get)
	v1.POST("/verifications/:id/check", s.check)
	v1.POST("/verifications/:id/resend", s.resend)
	v1.POST("/verifications/:id/cancel", s.cancel)
	v1.GET("/verifications/:id/evidence", s.evidence)
	v1.GET("/keys", s.keys)
	v1.GET("/analytics/channels", s.analyticsChannels)
	v1.GET("/sandbox/messages", s.sandboxMessages)
	s.registerEvents(v1)
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.engine.ServeHTTP(w, r) }

func (s *Server) requestLog(c *gin.Context) {
	start := time.Now()
	rid := c.GetHeader("X-Request-Id")
	if rid == "" || len(rid) > 64 {
		rid = strings.ToLower(rand.Text()[:16])
	}
	c.Header("X-Request-Id", rid)
	c.Set("request_id", rid)
	c.Next()
	if s.Metrics != nil {
		s.Metrics.ObserveHTTP(c.FullPath(), c.Request.Method, c.Writer.Status(), time.Since(start))
	}
	level := slog.LevelInfo
	if c.Writer.Status() >= 500 {
		level = slog.LevelError
	}
	s.Log.Log(c.Request.Context(), level, "http request", "request_id", rid, "method", c.Request.Method,
		"route", c.FullPath(), "status", c.Writer.Status(), "duration_ms", time.Since(start).Milliseconds(),
		"tenant_id", c.GetString("tenant_id"), "verification_id", c.Param("id"))
}

// securityHeaders sets the headers that apply to a JSON API: nothing is
// sniffed, framed, cached or given a referrer.
func securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	if c.Request.TLS != nil || c.GetHeader("X-Forwarded-Proto") == "https" {
		h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
	}
	c.Next()
}

// recover turns a panic into a plain 500 problem: no stack, no message.
func (s *Server) recover(c *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			s.Log.ErrorContext(c.Request.Context(), "panic in handler", "panic", fmt.Sprint(r), "route", c.FullPath())
			writeProblem(c, problem(http.StatusInternalServerError, CodeInternal, "An internal error occurred."))
		}
	}()
	c.Next()
}

func (s *Server) ready(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	checks := gin.H{"postgres": "ok", "temporal": "ok"}
	ok := true
	if err := s.Store.Ping(ctx); err != nil {
		checks["postgres"], ok = "unreachable", false
	}
	if _, err := s.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		checks["temporal"], ok = "unreachable", false
	}
	if !ok {
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable", "checks": checks})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ok", "checks": checks})
}

// tenant is the authenticated caller.
type tenant struct {
	ID    string
	Mode  contract.Mode
	KeyID string
}

const tenantKey = "veriflow.tenant"

func (s *Server) authenticate(c *gin.Context) {
	unauthorized := problem(http.StatusUnauthorized, CodeUnauthorized, "A valid API key is required: Authorization: Bearer <key>.")
	token, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
	if !ok {
		writeProblem(c, unauthorized)
		return
	}
	k, err := apikey.Parse(strings.TrimSpace(token))
	if err != nil {
		writeProblem(c, unauthorized)
		return
	}
	ctx := c.Request.Context()
	stored, err := s.Store.APIKeyByID(ctx, k.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeProblem(c, unauthorized)
		return
	case err != nil:
		s.unavailable(c, "api key lookup", err)
		return
	}
	if !apikey.Matches(k.Secret, stored.SecretHash) || stored.RevokedAt != nil || stored.Mode != k.Mode {
		writeProblem(c, unauthorized)
		return
	}
	// last_used_at is kept to the minute: most requests need no write.
	if stored.LastUsedAt == nil || time.Since(*stored.LastUsedAt) > time.Minute {
		if err := s.Store.TouchAPIKey(ctx, k.ID); err != nil {
			s.Log.WarnContext(ctx, "touch api key", "error", err)
		}
	}
	c.Set(tenantKey, tenant{ID: stored.TenantID, Mode: stored.Mode, KeyID: stored.ID})
	c.Set("tenant_id", stored.TenantID)
	c.Next()
}

func tenantOf(c *gin.Context) tenant {
	t, _ := c.MustGet(tenantKey).(tenant)
	return t
}

// unavailable answers 503 for a dependency failure; the cause is logged,
// never sent.
func (s *Server) unavailable(c *gin.Context, what string, err error) {
	s.Log.ErrorContext(c.Request.Context(), what+" failed", "error", err, "request_id", c.GetString("request_id"))
	p := problem(http.StatusServiceUnavailable, CodeUnavailable, "A dependency is unavailable; retry later.")
	p.RetryAfter = 1
	writeProblem(c, p)
}

func notFound(c *gin.Context) {
	writeProblem(c, problem(http.StatusNotFound, CodeNotFound, "No such verification."))
}

// load returns the caller's verification named in the path, or answers.
func (s *Server) load(c *gin.Context) (store.Verification, bool) {
	id := c.Param("id")
	if !strings.HasPrefix(id, "vf_") || len(id) > 64 {
		notFound(c)
		return store.Verification{}, false
	}
	v, err := s.Store.GetVerification(c.Request.Context(), tenantOf(c).ID, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		notFound(c)
		return v, false
	case err != nil:
		s.unavailable(c, "load verification", err)
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
	ctx := c.Request.Context()
	now := time.Now().UTC().Truncate(time.Millisecond)
	row := store.Verification{
		ID: "vf_" + ulid.Make().String(), TenantID: t.ID, Mode: t.Mode, Kind: req.Kind, Status: contract.StatusPending,
		ToPhone: mask.Phone(v.to.Phone), ToEmail: mask.Email(v.to.Email), ChecksLeft: v.policy.Code.MaxChecks,
		ToPhoneHash: s.destHash(v.to.Phone), ToEmailHash: s.destHash(v.to.Email),
		Attempts: []contract.Attempt{}, Metadata: req.Metadata, CreatedAt: now, ExpiresAt: now.Add(v.policy.Code.TTL),
	}
	if !s.allowStart(c, t, v, row, idem) {
		return
	}
	var reqHash []byte
	if idem != "" {
		canonical, err := json.Marshal(struct {
			R  startRequest
			To contract.Destinations
		}{v.req, v.to})
		if err != nil {
			s.unavailable(c, "hash request", err)
			return
		}
		sum := sha256.Sum256(canonical)
		reqHash = sum[:]
	}
	id, replay, err := s.Store.InsertVerification(ctx, store.StartRequest{Verification: row, IdempotencyKey: idem, RequestHash: reqHash})
	switch {
	case errors.Is(err, store.ErrIdempotencyConflict):
		writeProblem(c, problem(http.StatusConflict, CodeIdempotencyConflict, "This Idempotency-Key was used with a different request."))
		return
	case err != nil:
		s.unavailable(c, "insert verification", err)
		return
	}
	if replay {
		row, err = s.Store.GetVerification(ctx, t.ID, id)
		if err != nil {
			s.unavailable(c, "load replayed verification", err)
			return
		}
		// The first attempt may have died between storing and starting:
		// starting again is idempotent (same workflow id).
		if row.Version == 0 {
			if err := s.startWorkflow(ctx, row, v); err != nil {
				s.unavailable(c, "restart workflow", err)
				return
			}
		}
		c.JSON(http.StatusOK, view(row, nil))
		return
	}
	if err := s.startWorkflow(ctx, row, v); err != nil {
		if derr := s.Store.DeleteUnstartedVerification(context.WithoutCancel(ctx), t.ID, row.ID); derr != nil {
			s.Log.ErrorContext(ctx, "clean up unstarted verification", "verification_id", row.ID, "error", derr)
		}
		s.unavailable(c, "start workflow", err)
		return
	}
	s.Log.InfoContext(ctx, "verification started", "verification_id", row.ID, "tenant_id", t.ID, "kind", req.Kind,
		"to_phone", row.ToPhone, "to_email", row.ToEmail, "mode", t.Mode)
	if v.policy.Supersede {
		s.supersede(ctx, row)
	}
	c.Header("Location", "/v1/verifications/"+row.ID)
	c.JSON(http.StatusCreated, view(row, nil))
}

// allowStart applies the rate limits and fraud guards to a start (not to an
// idempotent replay), answering and auditing a refusal.
func (s *Server) allowStart(c *gin.Context, t tenant, v validated, row store.Verification, idem string) bool {
	if s.Guard == nil {
		return true
	}
	ctx := c.Request.Context()
	if idem != "" {
		used, err := s.Store.IdempotencyKeyUsed(ctx, t.ID, idem)
		if err != nil {
			s.unavailable(c, "idempotency lookup", err)
			return false
		}
		if used {
			return true
		}
	}
	ref, err := s.Guard.AllowStart(ctx, guard.StartInfo{
		Tenant: t.ID, Phone: v.to.Phone, PhoneHash: hexOrEmpty(row.ToPhoneHash), EmailHash: hexOrEmpty(row.ToEmailHash),
		ClientIP: v.req.ClientIP, Sandbox: t.Mode == contract.ModeTest,
		TrustedPhone: t.Mode == contract.ModeTest && sandbox.Scripted(v.to.Phone),
	})
	if err != nil {
		s.unavailable(c, "rate limits", err)
		return false
	}
	if ref == nil {
		return true
	}
	e := contract.Event{Type: contract.EventStartRefused, Detail: ref.Code, At: time.Now().UTC()}
	if err := s.Store.AppendEvent(ctx, "", t.ID, e); err != nil {
		s.Log.WarnContext(ctx, "audit refused start", "error", err)
	}
	s.Log.WarnContext(ctx, "start refused", "tenant_id", t.ID, "code", ref.Code, "to_phone", row.ToPhone, "to_email", row.ToEmail)
	refuse(c, ref)
	return false
}

// refuse answers a guard refusal: 429 with Retry-After for rate limits and
// the velocity guard, 422 for numbers the tenant may not send to.
func refuse(c *gin.Context, ref *guard.Refusal) {
	status := http.StatusTooManyRequests
	if ref.RetryAfter == 0 {
		status = http.StatusUnprocessableEntity
	}
	p := problem(status, Code(ref.Code), ref.Detail)
	p.RetryAfter = int((ref.RetryAfter + time.Second - 1) / time.Second)
	if ref.Field != "" {
		p.Errors = []FieldError{{Field: ref.Field, Message: ref.Detail}}
	}
	writeProblem(c, p)
}

func hexOrEmpty(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return hex.EncodeToString(b)
}

// destinationHashes are the keyed hashes of a verification's destinations.
func destinationHashes(v store.Verification) []string {
	var out []string
	for _, h := range [][]byte{v.ToPhoneHash, v.ToEmailHash} {
		if len(h) > 0 {
			out = append(out, hex.EncodeToString(h))
		}
	}
	return out
}

// destHash is the keyed hash of a destination, nil for none.
func (s *Server) destHash(d string) []byte {
	if d == "" {
		return nil
	}
	return s.Secrets.HashDestination(d)
}

// supersede cancels the tenant's other pending verifications of the same
// kind and destination, so only one live code exists. It is best effort:
// a failure is logged and the new verification stands.
func (s *Server) supersede(ctx context.Context, row store.Verification) {
	ids, err := s.Store.PendingSameDestination(ctx, row.TenantID, row.Kind, row.ToPhoneHash, row.ToEmailHash, row.ID)
	if err != nil {
		s.Log.WarnContext(ctx, "supersede lookup", "verification_id", row.ID, "error", err)
		return
	}
	for _, old := range ids {
		var st contract.State
		if err := s.update(ctx, old, contract.UpdateCancel, nil, &st); err != nil {
			if o, _ := classify(err); o != updateNotPending {
				s.Log.WarnContext(ctx, "supersede", "verification_id", old, "error", err)
			}
			continue
		}
		e := contract.Event{Type: contract.EventSuperseded, Detail: row.ID, At: time.Now().UTC()}
		if err := s.Store.AppendEvent(ctx, old, row.TenantID, e); err != nil {
			s.Log.WarnContext(ctx, "audit supersede", "verification_id", old, "error", err)
		}
		s.Log.InfoContext(ctx, "verification superseded", "verification_id", old, "by", row.ID)
	}
}

// summary says, for the Temporal UI, what a verification approves. It
// carries no destination; amounts and titles stay out of search attributes.
func summary(row store.Verification, v validated) string {
	switch {
	case v.req.Transaction != nil:
		tx := v.req.Transaction
		return fmt.Sprintf("transaction: approve %s %s to %s", tx.Currency, tx.Amount, tx.Payee)
	case v.req.Document != nil:
		return fmt.Sprintf("signature: sign %q (sha256 %s…)", v.req.Document.Title, v.req.Document.SHA256[:12])
	}
	return fmt.Sprintf("%s verification", row.Kind)
}

func (s *Server) startWorkflow(ctx context.Context, row store.Verification, v validated) error {
	in := contract.VerificationInput{
		ID: row.ID, TenantID: row.TenantID, Mode: row.Mode, Kind: row.Kind, To: v.to, Locale: v.req.Locale,
		Plan: v.policy.Plan, Policy: v.policy.Code,
		Transaction: v.req.Transaction, Document: v.req.Document,
		BindingDigest: contract.BindingDigest(v.req.Transaction, v.req.Document),
		CreatedAt:     row.CreatedAt,
		ClientIP:      v.req.ClientIP,
	}
	plan := make([]string, len(in.Plan.Channels))
	for i, ch := range in.Plan.Channels {
		plan[i] = string(ch)
	}
	_, err := s.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       contract.WorkflowID(row.ID),
		TaskQueue:                contract.TaskQueue,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		StaticSummary:            summary(row, v),
		StaticDetails: fmt.Sprintf("kind %s (%s mode); plan: %s, step timeout %s, ttl %s, %d checks, %d sends max",
			row.Kind, row.Mode, strings.Join(plan, " → "), in.Plan.StepTimeout, in.Policy.TTL, in.Policy.MaxChecks, in.Policy.MaxSends),
		TypedSearchAttributes: temporal.NewSearchAttributes(searchAttributes(row, in)...),
	}, contract.WorkflowVerification, in)
	if err != nil {
		return fmt.Errorf("start workflow: %w", err)
	}
	return nil
}

// searchAttributes are a new verification's: kind, tenant, status pending
// and the channel of its first send (so the workflow need not upsert them
// before that send).
func searchAttributes(row store.Verification, in contract.VerificationInput) []temporal.SearchAttributeUpdate {
	sa := []temporal.SearchAttributeUpdate{
		contract.SAKind.ValueSet(string(row.Kind)),
		contract.SAStatus.ValueSet(string(contract.StatusPending)),
		contract.SATenant.ValueSet(row.TenantID),
	}
	for _, ch := range in.Plan.Channels {
		if ch.Destination(in.To) != "" {
			return append(sa, contract.SAChannel.ValueSet(string(ch)))
		}
	}
	return sa
}

func (s *Server) get(c *gin.Context) {
	v, ok := s.load(c)
	if !ok {
		return
	}
	c.JSON(http.StatusOK, view(v, nil))
}

// update runs a workflow update and waits for its result. The update has
// one id for all its tries, so retrying after a transient failure (the
// server aborts updates in flight when a workflow task fails, for example
// when signals race it) can never apply it twice.
func (s *Server) update(ctx context.Context, id, name string, arg, out any) error {
	ctx, cancel := context.WithTimeout(ctx, s.UpdateTimeout)
	defer cancel()
	opts := client.UpdateWorkflowOptions{
		UpdateID:   name + "-" + rand.Text(),
		WorkflowID: contract.WorkflowID(id), UpdateName: name, WaitForStage: client.WorkflowUpdateStageCompleted,
	}
	if arg != nil {
		opts.Args = []any{arg}
	}
	backoff := 20 * time.Millisecond
	for {
		err := tryUpdate(ctx, s.Temporal, opts, out)
		if err == nil {
			return nil
		}
		if o, _ := classify(err); o != updateFailed || ctx.Err() != nil {
			return err
		}
		s.Log.DebugContext(ctx, "update retried", "update", name, "verification_id", id, "error", err)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

func tryUpdate(ctx context.Context, c client.Client, opts client.UpdateWorkflowOptions, out any) error {
	h, err := c.UpdateWorkflow(ctx, opts)
	if err != nil {
		return err
	}
	return h.Get(ctx, out)
}

// updateOutcome classifies an update error.
type updateOutcome int

const (
	updateFailed     updateOutcome = iota // dependency trouble: 503
	updateNotPending                      // the verification has finished
	updateRateLimited
	updateInvalid
)

func classify(err error) (updateOutcome, *temporal.ApplicationError) {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		switch appErr.Type() {
		case contract.ErrTypeNotPending:
			return updateNotPending, appErr
		case contract.ErrTypeRateLimited:
			return updateRateLimited, appErr
		case contract.ErrTypeInvalidArgument:
			return updateInvalid, appErr
		}
	}
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return updateNotPending, nil
	}
	return updateFailed, nil
}

// reread answers with the stored verification after a race with its end.
func (s *Server) reread(c *gin.Context, id string, status int) {
	v, err := s.Store.GetVerification(c.Request.Context(), tenantOf(c).ID, id)
	if err != nil {
		s.unavailable(c, "reload verification", err)
		return
	}
	c.JSON(status, view(v, nil))
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
	if v.Status.Final() {
		c.JSON(http.StatusOK, view(v, nil))
		return
	}
	ctx := c.Request.Context()
	if s.Guard != nil {
		// Failed checks are budgeted per destination across all of its
		// verifications: parallel verifications do not multiply guesses.
		ref, err := s.Guard.CheckBudget(ctx, v.TenantID, destinationHashes(v))
		if err != nil {
			s.unavailable(c, "check budget", err)
			return
		}
		if ref != nil {
			refuse(c, ref)
			return
		}
	}
	var res contract.CheckResult
	err := s.update(c.Request.Context(), v.ID, contract.UpdateCheck,
		contract.CheckInput{CodeHash: s.Secrets.Hash(v.ID, req.Code), BindingDigest: digest}, &res)
	if err != nil {
		if o, _ := classify(err); o == updateNotPending {
			s.reread(c, v.ID, http.StatusOK)
			return
		}
		s.unavailable(c, "check update", err)
		return
	}
	if s.Guard != nil && (res.Outcome == contract.CheckWrongCode || res.Outcome == contract.CheckBindingMismatch) {
		if err := s.Guard.SpendFailedCheck(ctx, v.TenantID, destinationHashes(v)); err != nil {
			s.Log.WarnContext(ctx, "spend failed check", "verification_id", v.ID, "error", err)
		}
	}
	if res.Outcome == contract.CheckBindingMismatch {
		p := problem(http.StatusConflict, CodeBindingMismatch, "The check does not repeat what the code approves; it counts as a failed check.")
		left := res.State.ChecksLeft
		p.ChecksLeft = &left
		writeProblem(c, p)
		return
	}
	c.JSON(http.StatusOK, view(v, &res.State))
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
		writeProblem(c, invalid(FieldError{Field: "channel", Message: "must be one of whatsapp, sms, email"}))
		return
	}
	if v.Status.Final() {
		writeProblem(c, problem(http.StatusConflict, CodeNotPending, "The verification is "+string(v.Status)+"."))
		return
	}
	var st contract.State
	err := s.update(c.Request.Context(), v.ID, contract.UpdateResend, contract.ResendInput{Channel: req.Channel}, &st)
	if err != nil {
		s.updateProblem(c, "resend", err)
		return
	}
	c.JSON(http.StatusAccepted, view(v, &st))
}

// updateProblem answers a refused resend or cancel.
func (s *Server) updateProblem(c *gin.Context, what string, err error) {
	o, appErr := classify(err)
	switch o {
	case updateNotPending:
		writeProblem(c, problem(http.StatusConflict, CodeNotPending, "The verification has finished."))
	case updateRateLimited:
		p := problem(http.StatusTooManyRequests, CodeRateLimited, "Too many sends: "+appErr.Message()+".")
		var secs int
		if appErr.HasDetails() && appErr.Details(&secs) == nil && secs > 0 {
			p.RetryAfter = secs
		}
		writeProblem(c, p)
	case updateInvalid:
		writeProblem(c, invalid(FieldError{Field: "channel", Message: "has no destination in this verification"}))
	default:
		s.unavailable(c, what+" update", err)
	}
}

func (s *Server) cancel(c *gin.Context) {
	v, ok := s.load(c)
	if !ok {
		return
	}
	if v.Status == contract.StatusCanceled {
		c.JSON(http.StatusOK, view(v, nil))
		return
	}
	if v.Status.Final() {
		writeProblem(c, problem(http.StatusConflict, CodeNotPending, "The verification is "+string(v.Status)+"."))
		return
	}
	var st contract.State
	if err := s.update(c.Request.Context(), v.ID, contract.UpdateCancel, nil, &st); err != nil {
		if o, _ := classify(err); o == updateNotPending {
			fresh, gerr := s.Store.GetVerification(c.Request.Context(), tenantOf(c).ID, v.ID)
			if gerr == nil && fresh.Status == contract.StatusCanceled {
				c.JSON(http.StatusOK, view(fresh, nil))
				return
			}
		}
		s.updateProblem(c, "cancel", err)
		return
	}
	c.JSON(http.StatusOK, view(v, &st))
}

// evidence serves the signed evidence of an approved signature, byte for
// byte as it was signed and stored.
func (s *Server) evidence(c *gin.Context) {
	v, ok := s.load(c)
	if !ok {
		return
	}
	e, err := s.Store.GetEvidence(c.Request.Context(), v.TenantID, v.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeProblem(c, problem(http.StatusNotFound, CodeNotFound, "No evidence: only an approved signature verification has evidence."))
		return
	case err != nil:
		s.unavailable(c, "load evidence", err)
		return
	}
	c.Data(http.StatusOK, "application/json", e.Document)
}

// keys serves the public evidence keys (active first), for offline checks
// with `veriflow evidence verify`.
func (s *Server) keys(c *gin.Context) {
	if s.Evidence == nil {
		c.JSON(http.StatusOK, evidence.KeySet{Keys: []evidence.PublicKey{}})
		return
	}
	c.JSON(http.StatusOK, s.Evidence.PublicKeys())
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
	if t.Mode != contract.ModeTest {
		writeProblem(c, problem(http.StatusForbidden, CodeForbidden, "Sandbox messages are readable with test-mode keys only."))
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
	var toHash []byte
	if to := c.Query("to"); to != "" {
		norm, msg := normalizePhone(to)
		if strings.Contains(to, "@") {
			norm, msg = normalizeEmail(to)
		}
		if msg != "" {
			writeProblem(c, invalid(FieldError{Field: "to", Message: "must be an E.164 phone number or an email address"}))
			return
		}
		toHash = s.Secrets.HashDestination(norm)
	}
	msgs, err := s.Store.SandboxMessages(c.Request.Context(), t.ID, toHash, limit)
	if err != nil {
		s.unavailable(c, "sandbox messages", err)
		return
	}
	out := make([]sandboxMessageView, 0, len(msgs))
	for _, m := range msgs {
		plain, err := s.Secrets.Open(m.SealedBody, m.ID)
		if err != nil {
			s.Log.WarnContext(c.Request.Context(), "sandbox message cannot be opened (secret rotated?)", "id", m.ID)
			continue
		}
		var b sandbox.Body
		if err := json.Unmarshal(plain, &b); err != nil {
			continue
		}
		out = append(out, sandboxMessageView{ID: m.ID, VerificationID: m.VerificationID, Channel: m.Channel,
			To: m.ToMasked, Body: b.Text, Code: b.Code, CreatedAt: m.CreatedAt.UTC()})
	}
	c.JSON(http.StatusOK, gin.H{"messages": out})
}
