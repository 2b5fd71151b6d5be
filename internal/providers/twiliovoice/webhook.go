package twiliovoice

import (
	"net/url"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/providers"
	"github.com/veriflow/veriflow/internal/providers/twilio"
)

// webhook returns the call status callback endpoint (POST StatusPath), a
// twilio.FormWebhook as the message status callbacks' is: 204 once the
// receipt is stored; 403 on a bad signature, 413 on a body over 64 KiB,
// 400 on a form that is not a call status callback, 404 when voice is not
// configured. amd: this deployment asks for answering-machine detection.
func webhook(env providers.Env, enabled, amd bool, authToken, authTokenSecondary string) *twilio.FormWebhook {
	w := twilio.NewFormWebhook(Name, StatusPath, env, enabled, authToken, authTokenSecondary)
	w.Parse = func(form url.Values) (contract.Receipt, error) { return ParseCallStatus(form, amd) }
	w.NotCallback = "Not a Twilio call status callback."
	return w
}
