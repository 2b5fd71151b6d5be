// Package registry is the one list of Veriflow's delivery providers. A
// provider is a folder under internal/providers (its sender, error table,
// webhook and configuration) plus one line in Plugins.
package registry

import (
	"github.com/veriflow/veriflow/internal/providers"
	"github.com/veriflow/veriflow/internal/providers/email"
	"github.com/veriflow/veriflow/internal/providers/meta"
	"github.com/veriflow/veriflow/internal/providers/twilio"
	"github.com/veriflow/veriflow/internal/providers/twiliovoice"
)

// Plugins returns the registered providers. The order decides which one a
// channel goes to by default when several can serve it: WhatsApp goes to
// the Cloud API when it is configured, else to Twilio.
func Plugins() []providers.Plugin {
	return []providers.Plugin{
		meta.Plugin(),        // WhatsApp Cloud API
		twilio.Plugin(),      // SMS, and WhatsApp with a content template
		email.Plugin(),       // email over SMTP
		twiliovoice.Plugin(), // voice calls through Twilio Programmable Voice
	}
}
