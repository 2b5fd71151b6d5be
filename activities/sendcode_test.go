package activities

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/veriflow/veriflow/internal/branding"
	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/messages"
	"github.com/veriflow/veriflow/internal/otp"
	"github.com/veriflow/veriflow/internal/providers"
	"github.com/veriflow/veriflow/internal/store"
)

// captureProvider keeps the messages it is given.
type captureProvider struct{ sent []providers.Message }

func (p *captureProvider) Name() string { return "capture" }

func (p *captureProvider) Send(_ context.Context, m providers.Message) (providers.Result, error) {
	p.sent = append(p.sent, m)
	return providers.Result{MessageID: "m1"}, nil
}

// messageStore accepts the message map; the rest of Store is unused.
type messageStore struct{ Store }

func (messageStore) RegisterMessage(context.Context, store.Message) error { return nil }

type noReceipts struct{}

func (noReceipts) ApplyPending(context.Context, string, string, string, string) error { return nil }

// brands serves one tenant's brand, or fails.
type brands struct {
	b   branding.Brand
	err error
}

func (f brands) Lookup(context.Context, string) (branding.Brand, error) { return f.b, f.err }

// TestSendCodeRendersTheTenantsBrand: SendCode renders every channel with
// the brand it looks up, the SMS with its autofill lines.
func TestSendCodeRendersTheTenantsBrand(t *testing.T) {
	secrets, err := otp.New([]byte(strings.Repeat("s", 32)))
	if err != nil {
		t.Fatal(err)
	}
	p := &captureProvider{}
	a := &Activities{Store: messageStore{}, Providers: providers.Router{Sandbox: p}, Secrets: secrets, Receipts: noReceipts{},
		Log:    slog.New(slog.DiscardHandler),
		Brands: brands{b: branding.Brand{Name: "Acme Bank", Autofill: messages.Autofill{Origin: "acme.example", AppHash: "FA+9qCX9VSu"}}}}
	in := contract.SendInput{VerificationID: "v1", TenantID: "acme", Mode: contract.ModeTest, Kind: contract.KindTwoFactor,
		To: contract.Destinations{Phone: "+393331234567", Email: "ada@example.com"}, Locale: "en", CodeLength: 6, TTL: 5 * time.Minute}
	for _, ch := range []contract.Channel{contract.ChannelSMS, contract.ChannelWhatsApp, contract.ChannelEmail} {
		in.Channel = ch
		if _, err := a.SendCode(t.Context(), in); err != nil {
			t.Fatalf("%s: %v", ch, err)
		}
	}
	sms, wa, email := p.sent[0], p.sent[1], p.sent[2]
	if want := sms.Code + " is your Acme Bank code to sign in. It expires in 5 minutes. Never share this code with anyone.\nFA+9qCX9VSu\n@acme.example #" + sms.Code; sms.Text != want {
		t.Errorf("SMS\n got %q\nwant %q", sms.Text, want)
	}
	if !strings.Contains(wa.Text, "is your Acme Bank code") || strings.Contains(wa.Text, "\n") {
		t.Errorf("WhatsApp text %q", wa.Text)
	}
	if email.Subject != "Your Acme Bank verification code" || !strings.Contains(email.HTML, "Acme Bank") || strings.Contains(email.Text, "acme.example") {
		t.Errorf("e-mail: subject %q text %q", email.Subject, email.Text)
	}

	// A failed lookup fails the attempt before anything is sent (Temporal retries it).
	a.Brands = brands{err: errors.New("db down")}
	if _, err := a.SendCode(t.Context(), in); err == nil || len(p.sent) != 3 {
		t.Fatalf("lookup failure: %v, %d sent", err, len(p.sent))
	}
	// Without a resolver: the default name, no autofill.
	a.Brands = nil
	in.Channel = contract.ChannelSMS
	if _, err := a.SendCode(t.Context(), in); err != nil || !strings.Contains(p.sent[3].Text, "your Veriflow code") || strings.Contains(p.sent[3].Text, "\n") {
		t.Fatalf("default brand: %v %q", err, p.sent[3].Text)
	}
}
