package twilio

import (
	"errors"
	"strings"

	api "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/providers"
)

// rcsPrefix is Twilio's channel prefix of RCS addresses.
const rcsPrefix = "rcs:"

// maxRCSSenderID bounds the sender id after "rcs:".
const maxRCSSenderID = 128

// rcsEnabled reports whether c configures an RCS sender.
func (c Config) rcsEnabled() bool { return c.RCSSender != "" }

// normalizeRCSSender returns s in Twilio's address form: "rcs:" + sender
// id. A bare sender id gets the prefix; "" stays "".
func normalizeRCSSender(s string) string {
	if s == "" || strings.HasPrefix(s, rcsPrefix) {
		return s
	}
	return rcsPrefix + s
}

// validRCSSender reports whether s, once normalized, is "rcs:" followed by
// 1 to 128 ASCII letters, digits, "_", "-" or ".".
func validRCSSender(s string) bool {
	id := strings.TrimPrefix(normalizeRCSSender(s), rcsPrefix)
	if id == "" || len(id) > maxRCSSenderID {
		return false
	}
	for _, r := range id {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || r == '_' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

// rcsParams fills params for a direct RCS message: From is the RCS sender,
// To the recipient's "rcs:" address, Body the same text as an SMS. No
// Messaging Service is set, so Twilio does not fall back to SMS by itself:
// a device that cannot receive RCS fails (63035/63036 → rcs_not_capable)
// and the verification's plan decides what comes next.
func (p *Provider) rcsParams(params *api.CreateMessageParams, m providers.Message) error {
	if !p.cfg.rcsEnabled() {
		return notConfigured(m.Channel)
	}
	if !IsE164(m.To) {
		return &providers.PermanentError{Reason: contract.ReasonInvalidNumber, Err: errors.New("twilio: rcs destination is not an E.164 number")}
	}
	if m.Text == "" {
		return &providers.PermanentError{Reason: contract.ReasonInvalidMessage, Err: errors.New("twilio: rcs message without text")}
	}
	params.SetFrom(p.cfg.RCSSender).SetTo(rcsPrefix + m.To).SetBody(m.Text)
	return nil
}
