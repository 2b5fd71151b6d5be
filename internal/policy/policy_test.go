package policy

import (
	"slices"
	"testing"
	"time"

	"github.com/veriflow/veriflow/internal/contract"
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

func ptr[T any](v T) *T { return &v }

// TestPrecedence: request > tenant > deployment > built-in, setting by setting.
func TestPrecedence(t *testing.T) {
	cfg := Config{
		Deployment: map[contract.Kind]Settings{contract.KindSignup: {TTLSeconds: 900, MaxChecks: 4, CodeLength: 8, MaxSends: 3}},
		Tenants: map[string]map[contract.Kind]Settings{"acme": {contract.KindSignup: {
			TTLSeconds: 120, MaxChecks: 2, ResendCooldownSeconds: ptr(0), Supersede: ptr(false)}}},
	}
	request := Settings{TTLSeconds: 61, Channels: []contract.Channel{contract.ChannelEmail}}
	cases := []struct {
		name    string
		tenant  string
		request Settings
		check   func(Policy) bool
	}{
		{"built-in when nothing set", "globex", Settings{}, func(p Policy) bool {
			return Default(contract.KindSignup).Plan.StepTimeout == p.Plan.StepTimeout && p.Code.ResendCooldown == 30*time.Second
		}},
		{"deployment over built-in", "globex", Settings{}, func(p Policy) bool {
			return p.Code.TTL == 900*time.Second && p.Code.MaxChecks == 4 && p.Code.Length == 8 && p.Code.MaxSends == 3 && p.Supersede
		}},
		{"tenant over deployment", "acme", Settings{}, func(p Policy) bool {
			return p.Code.TTL == 120*time.Second && p.Code.MaxChecks == 2 && p.Code.Length == 8 && p.Code.ResendCooldown == 0 && !p.Supersede
		}},
		{"request over tenant", "acme", request, func(p Policy) bool {
			return p.Code.TTL == 61*time.Second && p.Code.MaxChecks == 2 && slices.Equal(p.Plan.Channels, []contract.Channel{contract.ChannelEmail})
		}},
		{"request over built-in", "globex", Settings{Supersede: ptr(false), CodeLength: 4}, func(p Policy) bool {
			return !p.Supersede && p.Code.Length == 4
		}},
	}
	for _, c := range cases {
		if p := cfg.Resolve(c.tenant, contract.KindSignup, c.request); !c.check(p) {
			t.Errorf("%s: %+v", c.name, p)
		}
	}
	// Other kinds are untouched by signup settings.
	if p := cfg.Resolve("acme", contract.KindTransaction, Settings{}); p.Code.TTL != 300*time.Second || !p.Code.NewCodeOnResend || p.Supersede {
		t.Errorf("transaction: %+v", p)
	}
}

func TestValidate(t *testing.T) {
	bad := Config{
		Deployment: map[contract.Kind]Settings{"login": {}, contract.KindSignup: {TTLSeconds: 5, Channels: []contract.Channel{"fax"}}},
		Tenants:    map[string]map[contract.Kind]Settings{"acme": {contract.KindTwoFactor: {MaxSends: 50, ResendCooldownSeconds: ptr(-1)}}},
	}
	if errs := bad.Validate(); len(errs) != 5 {
		t.Fatalf("want 5 errors, got %d: %v", len(errs), errs)
	}
	good := Config{Deployment: map[contract.Kind]Settings{contract.KindSignup: {TTLSeconds: 300, MaxSends: 2}}}
	if errs := good.Validate(); len(errs) != 0 {
		t.Fatal(errs)
	}
}
