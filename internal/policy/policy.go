// Package policy holds what each verification kind decides — channels, step
// timeout, ttl, checks, code length, resend cooldown, send cap, new or same
// code on resend, whether a new start supersedes a pending one — and
// resolves it with the precedence request > tenant > deployment > built-in.
package policy

import (
	"errors"
	"fmt"
	"time"

	"github.com/veriflow/veriflow/internal/contract"
)

// Limits of the settings (inclusive). Requests may set the first five
// (the contract's); deployments and tenants may set all.
const (
	MinCodeLength      = 4
	MaxCodeLength      = 10
	MinTTL             = 60 * time.Second
	MaxTTL             = 3600 * time.Second
	MinChecks          = 1
	MaxChecks          = 10
	MinStepTimeout     = 5 * time.Second
	MaxStepTimeout     = 900 * time.Second
	DefaultStepWait    = 30 * time.Second
	MaxResendCooldown  = 3600 * time.Second
	MinSends, MaxSends = 1, 10
)

// Policy is everything a kind decides about a verification.
type Policy struct {
	Plan contract.Plan
	Code contract.CodePolicy
	// Supersede: a new start for the same destination and kind cancels the
	// pending one instead of leaving two live codes.
	Supersede bool
}

// Default returns the built-in policy of kind k (the contract's table).
func Default(k contract.Kind) Policy {
	p := Policy{
		Plan: contract.Plan{StepTimeout: DefaultStepWait, Goal: contract.GoalDelivered},
		Code: contract.CodePolicy{Length: 6, ResendCooldown: 30 * time.Second, MaxSends: 5},
	}
	wa, sms, email := contract.ChannelWhatsApp, contract.ChannelSMS, contract.ChannelEmail
	switch k {
	case contract.KindSignup:
		p.Plan.Channels = []contract.Channel{wa, sms, email}
		p.Code.TTL, p.Code.MaxChecks = 600*time.Second, 5
		p.Supersede = true
	case contract.KindTransaction:
		// Each transaction is its own approval: several may be pending.
		p.Plan.Channels = []contract.Channel{wa, sms}
		p.Code.TTL, p.Code.MaxChecks = 300*time.Second, 3
		p.Code.NewCodeOnResend = true
	case contract.KindPasswordReset:
		p.Plan.Channels = []contract.Channel{email, sms}
		p.Code.TTL, p.Code.MaxChecks = 600*time.Second, 5
		p.Supersede = true
		p.Code.NewCodeOnResend = true
	case contract.KindTwoFactor:
		p.Plan.Channels = []contract.Channel{wa, sms}
		p.Code.TTL, p.Code.MaxChecks = 300*time.Second, 5
		p.Supersede = true
	case contract.KindSignature:
		p.Plan.Channels = []contract.Channel{wa, sms, email}
		p.Code.TTL, p.Code.MaxChecks = 900*time.Second, 3
		p.Code.NewCodeOnResend = true
	}
	return p
}

// Settings overrides part of a policy; zero values and nil mean "inherit".
// It is the shape of the config file's "policies" entries.
type Settings struct {
	Channels              []contract.Channel `json:"channels,omitempty"`
	ChannelTimeoutSeconds int                `json:"channel_timeout_seconds,omitempty"`
	TTLSeconds            int                `json:"ttl_seconds,omitempty"`
	MaxChecks             int                `json:"max_checks,omitempty"`
	CodeLength            int                `json:"code_length,omitempty"`
	ResendCooldownSeconds *int               `json:"resend_cooldown_seconds,omitempty"`
	MaxSends              int                `json:"max_sends,omitempty"`
	NewCodeOnResend       *bool              `json:"new_code_on_resend,omitempty"`
	Supersede             *bool              `json:"supersede,omitempty"`
	// ChannelGoal is what each channel must reach before the plan moves on
	// (delivered, or read on channels that report reads).
	ChannelGoal contract.ChannelGoal `json:"channel_goal,omitempty"`
}

// Validate reports every setting outside its limits.
func (s Settings) Validate() []error {
	var errs []error
	rng := func(name string, v, lo, hi int) {
		if v != 0 && (v < lo || v > hi) {
			errs = append(errs, fmt.Errorf("%s must be between %d and %d, not %d", name, lo, hi, v))
		}
	}
	seen := map[contract.Channel]bool{}
	for _, ch := range s.Channels {
		if !ch.Valid() || seen[ch] {
			errs = append(errs, fmt.Errorf("channels: %q is unknown or repeated", ch))
		}
		seen[ch] = true
	}
	if err := VoiceLast(s.Channels); err != nil {
		errs = append(errs, fmt.Errorf("channels: %w", err))
	}
	if s.ChannelGoal != "" && !s.ChannelGoal.Valid() {
		errs = append(errs, fmt.Errorf("channel_goal must be delivered or read, not %q", s.ChannelGoal))
	}
	rng("channel_timeout_seconds", s.ChannelTimeoutSeconds, int(MinStepTimeout/time.Second), int(MaxStepTimeout/time.Second))
	rng("ttl_seconds", s.TTLSeconds, int(MinTTL/time.Second), int(MaxTTL/time.Second))
	rng("max_checks", s.MaxChecks, MinChecks, MaxChecks)
	rng("code_length", s.CodeLength, MinCodeLength, MaxCodeLength)
	rng("max_sends", s.MaxSends, MinSends, MaxSends)
	if c := s.ResendCooldownSeconds; c != nil && (*c < 0 || *c > int(MaxResendCooldown/time.Second)) {
		errs = append(errs, fmt.Errorf("resend_cooldown_seconds must be between 0 and %d", int(MaxResendCooldown/time.Second)))
	}
	return errs
}

// apply lays s over p.
func (s Settings) apply(p *Policy) {
	if len(s.Channels) > 0 {
		p.Plan.Channels = append([]contract.Channel(nil), s.Channels...)
	}
	if s.ChannelTimeoutSeconds > 0 {
		p.Plan.StepTimeout = time.Duration(s.ChannelTimeoutSeconds) * time.Second
	}
	if s.TTLSeconds > 0 {
		p.Code.TTL = time.Duration(s.TTLSeconds) * time.Second
	}
	if s.MaxChecks > 0 {
		p.Code.MaxChecks = s.MaxChecks
	}
	if s.CodeLength > 0 {
		p.Code.Length = s.CodeLength
	}
	if s.ResendCooldownSeconds != nil {
		p.Code.ResendCooldown = time.Duration(*s.ResendCooldownSeconds) * time.Second
	}
	if s.MaxSends > 0 {
		p.Code.MaxSends = s.MaxSends
	}
	if s.NewCodeOnResend != nil {
		p.Code.NewCodeOnResend = *s.NewCodeOnResend
	}
	if s.Supersede != nil {
		p.Supersede = *s.Supersede
	}
	if s.ChannelGoal != "" {
		p.Plan.Goal = s.ChannelGoal
	}
}

// ErrVoiceNotLast refuses a plan with voice before another channel: a call
// is the last resort, after every message channel was tried.
var ErrVoiceNotLast = errors.New("voice must be the last channel")

// VoiceLast returns ErrVoiceNotLast when voice comes before another channel.
func VoiceLast(chs []contract.Channel) error {
	for i, ch := range chs {
		if ch == contract.ChannelVoice && i != len(chs)-1 {
			return ErrVoiceNotLast
		}
	}
	return nil
}

// Config holds the configured overrides: per deployment and per tenant,
// each per kind.
type Config struct {
	Deployment map[contract.Kind]Settings
	Tenants    map[string]map[contract.Kind]Settings
}

// Resolve returns the policy of a tenant's verification of kind k:
// request > tenant > deployment > built-in.
func (c Config) Resolve(tenant string, k contract.Kind, request Settings) Policy {
	p := Default(k)
	c.Deployment[k].apply(&p)
	c.Tenants[tenant][k].apply(&p)
	request.apply(&p)
	return p
}

// Validate checks every configured setting.
func (c Config) Validate() []error {
	var errs []error
	check := func(where string, m map[contract.Kind]Settings) {
		for k, s := range m {
			if !k.Valid() {
				errs = append(errs, fmt.Errorf("%s: unknown kind %q", where, k))
			}
			for _, err := range s.Validate() {
				errs = append(errs, fmt.Errorf("%s %s: %w", where, k, err))
			}
		}
	}
	check("policies", c.Deployment)
	for tenant, m := range c.Tenants {
		check("tenant "+tenant+" policies", m)
	}
	return errs
}
