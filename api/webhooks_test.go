package api

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	wire "github.com/veriflow/veriflow/internal/problem"
	"github.com/veriflow/veriflow/internal/providers"
)

// routes is a webhook made of fixed routes.
type routes []providers.Route

func (r routes) Routes() []providers.Route { return r }

// testWebhooks stands for the providers' webhooks, unconfigured: the
// documented routes, each answering 404 as an unconfigured provider does.
// (internal/app checks that the registered providers serve exactly the
// documented webhook routes; api itself knows no provider.)
func testWebhooks() Webhooks {
	notConfigured := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		wire.NotFound(w, "This webhook is not configured.")
	})
	return Webhooks{
		routes{{Method: http.MethodPost, Path: "/webhooks/twilio/status", Handler: notConfigured}},
		routes{{Method: http.MethodPost, Path: "/webhooks/twilio/voice", Handler: notConfigured}},
		routes{
			{Method: http.MethodGet, Path: "/webhooks/whatsapp", Handler: notConfigured},
			{Method: http.MethodPost, Path: "/webhooks/whatsapp", Handler: notConfigured},
		},
	}
}

// TestProblemBytesMatch: the problems the webhooks write with package
// internal/problem are byte for byte those the API writes.
func TestProblemBytesMatch(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	for _, tc := range []struct {
		name  string
		write func(http.ResponseWriter)
		api   *Problem
	}{
		{"not found", func(w http.ResponseWriter) { wire.NotFound(w, "This webhook is not configured.") },
			problem404()},
		{"forbidden", func(w http.ResponseWriter) { wire.Forbidden(w, "The signature is missing or invalid.") },
			webhookProblem(http.StatusForbidden, CodeForbidden, "The signature is missing or invalid.")},
		{"bad request", func(w http.ResponseWriter) { wire.BadRequest(w, "Not a Twilio status callback.") },
			webhookProblem(http.StatusBadRequest, CodeInvalidRequest, "Not a Twilio status callback.")},
		{"too large", wire.TooLarge,
			webhookProblem(http.StatusRequestEntityTooLarge, CodePayloadTooLarge, "The body is too large.")},
		{"unavailable", wire.Unavailable, unavailable503()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := httptest.NewRecorder()
			tc.write(got)
			want := httptest.NewRecorder()
			c, _ := gin.CreateTestContext(want)
			writeProblem(c, tc.api)
			c.Writer.WriteHeaderNow()
			if got.Code != want.Code || !bytes.Equal(got.Body.Bytes(), want.Body.Bytes()) {
				t.Errorf("problem.Write: %d %s\nwriteProblem: %d %s", got.Code, got.Body, want.Code, want.Body)
			}
			for _, h := range []string{"Content-Type", "Cache-Control", "Retry-After"} {
				if got.Header().Get(h) != want.Header().Get(h) {
					t.Errorf("%s: %q, want %q", h, got.Header().Get(h), want.Header().Get(h))
				}
			}
		})
	}
}

func webhookProblem(status int, code Code, detail string) *Problem {
	return problem(status, code, detail)
}

func problem404() *Problem {
	return webhookProblem(http.StatusNotFound, CodeNotFound, "This webhook is not configured.")
}

func unavailable503() *Problem {
	p := webhookProblem(http.StatusServiceUnavailable, CodeUnavailable, "A dependency is unavailable; retry later.")
	p.RetryAfter = 1
	return p
}
