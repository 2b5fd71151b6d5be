package twilio

import (
	"context"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/twilio/twilio-go/client"
	api "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/veriflow/veriflow/internal/providers"
)

// NewAPIService returns twilio-go's 2010-04-01 API service for one request
// of a Twilio plug-in (Send here, the voice plug-in's Send): the
// credentials and hc only (no TWILIO_EDGE/TWILIO_REGION lookups), every
// request bound to ctx. Call done once the service's call returned: it
// closes the answers' bodies and returns the HTTP status of the last
// answer (0 if none came).
func NewAPIService(ctx context.Context, hc *http.Client, accountSID, authToken string) (svc *api.ApiService, done func() int) {
	svc, answer := NewAPIServiceAnswer(ctx, hc, accountSID, authToken)
	return svc, func() int { return answer().Status }
}

// NewAPIServiceAnswer is NewAPIService whose done reports the last
// answer's HTTP status and Retry-After.
func NewAPIServiceAnswer(ctx context.Context, hc *http.Client, accountSID, authToken string) (svc *api.ApiService, done func() Answer) {
	rt := &callTransport{ctx: ctx, base: hc.Transport}
	if rt.base == nil {
		rt.base = http.DefaultTransport
	}
	c := *hc
	c.Transport = rt
	cl := &client.Client{Credentials: client.NewCredentials(accountSID, authToken), HTTPClient: &c}
	cl.SetAccountSid(accountSID)
	return api.NewApiService(&client.RequestHandler{Client: cl}), func() Answer {
		rt.closeBodies()
		return Answer{Status: rt.status, RetryAfter: rt.retryAfter}
	}
}

// callTransport binds one Send's requests to its ctx (twilio-go builds
// its requests with context.Background()) and records the HTTP status of
// the last answer (twilio-go drops it when an error body is not JSON). It
// serves one Send, from one goroutine.
type callTransport struct {
	ctx    context.Context
	base   http.RoundTripper
	status int
	// retryAfter is the last answer's Retry-After.
	retryAfter time.Duration
	bodies     []io.Closer
}

// closeBodies closes every answer body once twilio-go is done with them:
// twilio-go leaves error answers' bodies open.
func (t *callTransport) closeBodies() {
	for _, b := range t.bodies {
		_ = b.Close() // the body was read already; nothing to report
	}
	t.bodies = nil
}

// RoundTrip implements http.RoundTripper. The request's context (which
// carries the http.Client's timeout) is cancelled as well when t.ctx is.
func (t *callTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	stop := context.AfterFunc(t.ctx, func() { cancel(context.Cause(t.ctx)) })
	release := func() {
		stop()
		cancel(nil)
	}
	resp, err := t.base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		release()
		return nil, err
	}
	t.status = resp.StatusCode
	t.retryAfter = providers.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	body := &releaseBody{ReadCloser: resp.Body, release: release}
	resp.Body = body
	t.bodies = append(t.bodies, body)
	return resp, nil
}

// releaseBody releases a request's context once its body is closed.
type releaseBody struct {
	io.ReadCloser
	release func()
	once    sync.Once
}

// Close implements io.Closer.
func (b *releaseBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.release)
	return err
}
