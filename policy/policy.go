// Package policy holds the built-in defaults of each verification kind and
// resolves a request's overrides against them within the contract's limits.
package policy

import (
	"time"

	"github.com/veriflow/veriflow/contract"
)

// Limits of the overridable settings (inclusive), from the contract.
const (
	MinCodeLength   = 4
	MaxCodeLength   = 10
	MinTTL          = 60 * time.Second
	MaxTTL          = 3600 * time.Second
	MinChecks       = 1
	MaxChecks       = 10
	MinStepTimeout  = 5 * time.Second
	MaxStepTimeout  = 900 * time.Second
	DefaultStepWait = 30 * time.Second
)

// Policy is everything a kind decides about a verification.
type Policy struct {
	Plan contract.Plan
	Code contract.CodePolicy
}

// Default returns the built-in policy of kind k (the contract's table).
func Default(k contract.Kind) Policy {
	p := Policy{
		Plan: contract.Plan{StepTimeout: DefaultStepWait},
		Code: contract.CodePolicy{
			Length:         6,
			ResendCooldown: 30 * time.Second,
			MaxSends:       5,
		},
	}
	wa, sms, email := contract.ChannelWhatsApp, contract.ChannelSMS, contract.ChannelEmail
	switch k {
	case contract.KindSignup:
		p.Plan.Channels = []contract.Channel{wa, sms, email}
		p.Code.TTL, p.Code.MaxChecks = 600*time.Second, 5
	case contract.KindTransaction:
		p.Plan.Channels = []contract.Channel{wa, sms}
		p.Code.TTL, p.Code.MaxChecks = 300*time.Second, 3
	case contract.KindPasswordReset:
		p.Plan.Channels = []contract.Channel{email, sms}
		p.Code.TTL, p.Code.MaxChecks = 600*time.Second, 5
	case contract.KindTwoFactor:
		p.Plan.Channels = []contract.Channel{wa, sms}
		p.Code.TTL, p.Code.MaxChecks = 300*time.Second, 5
	case contract.KindSignature:
		p.Plan.Channels = []contract.Channel{wa, sms, email}
		p.Code.TTL, p.Code.MaxChecks = 900*time.Second, 3
	}
	return p
}

// Overrides are the per-request settings; nil or zero means "default".
type Overrides struct {
	Channels    []contract.Channel
	StepTimeout time.Duration
	CodeLength  int
	TTL         time.Duration
	MaxChecks   int
}

// Resolve applies o over the default of kind k. The caller validates the
// ranges of o first (see Validate).
func Resolve(k contract.Kind, o Overrides) Policy {
	p := Default(k)
	if len(o.Channels) > 0 {
		p.Plan.Channels = append([]contract.Channel(nil), o.Channels...)
	}
	if o.StepTimeout > 0 {
		p.Plan.StepTimeout = o.StepTimeout
	}
	if o.CodeLength > 0 {
		p.Code.Length = o.CodeLength
	}
	if o.TTL > 0 {
		p.Code.TTL = o.TTL
	}
	if o.MaxChecks > 0 {
		p.Code.MaxChecks = o.MaxChecks
	}
	return p
}
