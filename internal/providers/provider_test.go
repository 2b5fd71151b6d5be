package providers

import (
	"context"
	"errors"
	"testing"

	"github.com/veriflow/veriflow/internal/contract"
)

type named string

func (n named) Name() string { return string(n) }
func (n named) Send(context.Context, Message) (Result, error) {
	return Result{}, nil
}

func TestRouter(t *testing.T) {
	r := Router{
		Sandbox:   named("sandbox"),
		Providers: map[string]Provider{"meta": named("meta"), "twilio": named("twilio")},
		Channels:  map[contract.Channel]string{contract.ChannelWhatsApp: "meta", contract.ChannelSMS: "twilio"},
		Tenants:   map[string]map[contract.Channel]string{"acme": {contract.ChannelWhatsApp: "twilio"}},
	}
	cases := []struct {
		mode    contract.Mode
		tenant  string
		ch      contract.Channel
		want    string
		missing bool
	}{
		{contract.ModeTest, "acme", contract.ChannelWhatsApp, "sandbox", false},
		{contract.ModeLive, "globex", contract.ChannelWhatsApp, "meta", false},
		{contract.ModeLive, "acme", contract.ChannelWhatsApp, "twilio", false},
		{contract.ModeLive, "acme", contract.ChannelSMS, "twilio", false},
		{contract.ModeLive, "acme", contract.ChannelEmail, "", true},
	}
	for _, c := range cases {
		p, err := r.For(c.mode, c.tenant, c.ch)
		if c.missing {
			var perm *PermanentError
			if !errors.As(err, &perm) || perm.Reason != "channel_not_configured" || !errors.Is(err, ErrNotConfigured) {
				t.Errorf("%+v: err %v", c, err)
			}
			continue
		}
		if err != nil || p.Name() != c.want {
			t.Errorf("%+v: got %v, %v", c, p, err)
		}
	}
}
