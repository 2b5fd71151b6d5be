package messages

import (
	"testing"
	"time"

	"github.com/veriflow/veriflow/internal/contract"
)

// TestRCSRendersLikeSMS: an RCS message is the SMS text, without the
// e-mail's subject and HTML, in every locale and kind.
func TestRCSRendersLikeSMS(t *testing.T) {
	for _, loc := range Locales() {
		for _, kind := range contract.Kinds() {
			in := Input{Kind: kind, Locale: loc, Code: "482913", TTL: 10 * time.Minute, Channel: contract.ChannelSMS,
				Transaction: &contract.Transaction{Amount: "149.90", Currency: "EUR", Payee: "ACME S.p.A."},
				Document:    &contract.Document{Title: "Contratto 2026-001"}}
			sms := Render(in)
			in.Channel = contract.ChannelRCS
			if rcs := Render(in); rcs != sms || rcs.Subject != "" || rcs.HTML != "" || rcs.Text == "" {
				t.Errorf("%s %s: rcs %+v, want the sms %+v", loc, kind, rcs, sms)
			}
		}
	}
}
