// Package api is Veriflow's HTTP API (Gin): start, check, read, resend and
// cancel verifications, read sandbox messages, callbacks and events,
// analytics, provider webhooks and health endpoints.
//
// A handler only authenticates (through verify), decodes and validates the
// request (request.go), calls one use case of internal/verify and renders
// its result (view.go) or maps its typed error to a problem (fail, in
// problem.go: the one place where use-case errors become HTTP answers).
package api

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/sdk/client"

	"github.com/veriflow/veriflow/internal/admission"
	"github.com/veriflow/veriflow/internal/config"
	"github.com/veriflow/veriflow/internal/evidence"
	"github.com/veriflow/veriflow/internal/fraud"
	"github.com/veriflow/veriflow/internal/guard"
	"github.com/veriflow/veriflow/internal/keycache"
	"github.com/veriflow/veriflow/internal/metrics"
	"github.com/veriflow/veriflow/internal/otp"
	"github.com/veriflow/veriflow/internal/policy"
	"github.com/veriflow/veriflow/internal/store"
	"github.com/veriflow/veriflow/internal/verify"
)

// Deps are what the API needs.
type Deps struct {
	Store    *store.Store
	Temporal client.Client
	Secrets  *otp.Secrets
	Log      *slog.Logger
	// UpdateTimeout bounds a synchronous call into a workflow, retries
	// included (default 10 s).
	UpdateTimeout time.Duration
	// Webhooks receives provider delivery receipts.
	Webhooks Webhooks
	// Policies are the deployment's and tenants' policy overrides.
	Policies policy.Config
	// Evidence holds the evidence keys; GET /v1/keys serves their public halves.
	Evidence *evidence.Keyring
	// Codec, when set, is the Temporal codec server mounted at /codec/.
	Codec http.Handler
	// Guard enforces rate limits and fixed fraud guards (nil: none).
	Guard *guard.Guard
	// Fraud is the adaptive fraud engine (nil: none).
	Fraud *fraud.Engine
	// Metrics counts HTTP traffic; MetricsHandler serves GET /metrics.
	Metrics        *metrics.Metrics
	MetricsHandler http.Handler
	// Prices is the price table of GET /v1/analytics/attempts.
	Prices config.Prices
	// Admission bounds each tenant's starts in flight in this replica
	// (nil: no bound).
	Admission *admission.Limiter
	// UnsentStarts bounds each tenant's verifications started but not
	// sent yet, across replicas (0: no bound).
	UnsentStarts int
	// Share is the share rule over the unsent starts of all tenants
	// (nil: off).
	Share *admission.Share
	// Capacity bounds the starts and checks in flight (admission.go).
	Capacity Admission
	// Keys caches authenticated API keys in this replica (nil: none).
	Keys *keycache.Cache
}

// Server serves the HTTP API.
type Server struct {
	Deps
	verify *verify.Service
	engine *gin.Engine
}

// New builds the router and the use cases (internal/verify) it calls.
func New(d Deps) *Server {
	gin.SetMode(gin.ReleaseMode)
	s := &Server{Deps: d, engine: gin.New(), verify: verify.New(verify.Deps{
		Store: d.Store, Temporal: d.Temporal, Secrets: d.Secrets, Log: d.Log, Guard: d.Guard, UpdateTimeout: d.UpdateTimeout,
		Prices: d.Prices, Fraud: d.Fraud, Metrics: d.Metrics, Admission: d.Admission, UnsentStarts: d.UnsentStarts,
		Keys:  d.Keys,
		Share: d.Share,
	})}
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
	admit := newAdmitter(d.Capacity)
	v1.POST("/verifications", admit.start, s.start)
	v1.GET("/verifications/:id", s.get)
	v1.POST("/verifications/:id/check", admit.check, s.check)
	v1.POST("/verifications/:id/resend", s.resend)
	v1.POST("/verifications/:id/cancel", s.cancel)
	v1.GET("/verifications/:id/evidence", s.evidence)
	v1.GET("/keys", s.keys)
	v1.GET("/analytics/channels", s.analyticsChannels)
	v1.GET("/analytics/attempts", s.analyticsAttempts)
	v1.GET("/risk/report", s.riskReport)
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
	r := s.verify.Ready(ctx)
	checks := gin.H{"postgres": "ok", "temporal": "ok"}
	if !r.Postgres {
		checks["postgres"] = "unreachable"
	}
	if !r.Temporal {
		checks["temporal"] = "unreachable"
	}
	if !r.Postgres || !r.Temporal {
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable", "checks": checks})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ok", "checks": checks})
}

const tenantKey = "veriflow.tenant"

// authenticate reads the bearer key and lets verify authenticate it.
func (s *Server) authenticate(c *gin.Context) {
	token, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
	if !ok {
		token = "" // verify refuses it like any bad key
	}
	t, err := s.verify.Authenticate(c.Request.Context(), strings.TrimSpace(token))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Set(tenantKey, t)
	c.Set("tenant_id", t.ID)
	c.Next()
}

// tenantOf is the caller that authenticate let through.
func tenantOf(c *gin.Context) verify.Tenant {
	t, _ := c.MustGet(tenantKey).(verify.Tenant)
	return t
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
