package twilio

import (
	"context"
	"net/http"

	"github.com/twilio/twilio-go/client"
	api "github.com/twilio/twilio-go/rest/api/v2010"
)

// NewAPIService returns twilio-go's 2010-04-01 API service for one request
// of another Twilio plug-in (voice), built as Send builds its own: the
// credentials and hc only (no TWILIO_EDGE/TWILIO_REGION lookups), every
// request bound to ctx. Call done once the service's call returned: it
// closes the answers' bodies and returns the HTTP status of the last
// answer (0 if none came).
func NewAPIService(ctx context.Context, hc *http.Client, accountSID, authToken string) (svc *api.ApiService, done func() int) {
	rt := &callTransport{ctx: ctx, base: hc.Transport}
	if rt.base == nil {
		rt.base = http.DefaultTransport
	}
	c := *hc // per-call copy whose transport follows ctx
	c.Transport = rt
	cl := &client.Client{Credentials: client.NewCredentials(accountSID, authToken), HTTPClient: &c}
	cl.SetAccountSid(accountSID)
	return api.NewApiService(&client.RequestHandler{Client: cl}), func() int {
		rt.closeBodies()
		return rt.status
	}
}
