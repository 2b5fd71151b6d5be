package policy

import (
	"slices"
	"testing"
	"time"

	"github.com/veriflow/veriflow/contract"
)

func TestDefaultsMatchContractTable(t *testing.T) {
	wa, sms, email := contract.ChannelWhatsApp, contract.ChannelSMS, contract.ChannelEmail
	cases := []struct {
		kind     contract.Kind
		channels []contract.Channel
		ttl      time.Duration
		checks   int
	}{
		{contract.KindSignup, []contract.Channel{wa, sms, email}, 600 * time.Second, 5},
		{contract.KindTransaction, []contract.Channel{wa, sms}, 300 * time.Second, 3},
		{contract.KindPasswordReset, []contract.Channel{email, sms}, 600 * time.Second, 5},
		{contract.KindTwoFactor, []contract.Channel{wa, sms}, 300 * time.Second, 5},
		{contract.KindSignature, []contract.Channel{wa, sms, email}, 900 * time.Second, 3},
	}
	for _, c := range cases {
		p := Default(c.kind)
		if !slices.Equal(p.Plan.Channels, c.channels) || p.Code.TTL != c.ttl || p.Code.MaxChecks != c.checks || p.Code.Length != 6 {
			t.Errorf("%s: got %+v", c.kind, p)
		}
	}
}

func TestResolveOverrides(t *testing.T) {
	p := Resolve(contract.KindSignup, Overrides{Channels: []contract.Channel{contract.ChannelSMS}, StepTimeout: 10 * time.Second, CodeLength: 8, TTL: 120 * time.Second, MaxChecks: 2})
	if !slices.Equal(p.Plan.Channels, []contract.Channel{contract.ChannelSMS}) || p.Plan.StepTimeout != 10*time.Second ||
		p.Code.Length != 8 || p.Code.TTL != 120*time.Second || p.Code.MaxChecks != 2 {
		t.Fatalf("got %+v", p)
	}
	d := Resolve(contract.KindTransaction, Overrides{})
	if d.Code.MaxChecks != 3 || d.Plan.StepTimeout != DefaultStepWait {
		t.Fatalf("defaults not kept: %+v", d)
	}
}
