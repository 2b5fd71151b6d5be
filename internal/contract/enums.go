package contract

import "strings"

// Kind is what a verification proves.
type Kind string

// The five verification kinds.
const (
	KindSignup        Kind = "signup"
	KindTransaction   Kind = "transaction"
	KindPasswordReset Kind = "password_reset"
	KindTwoFactor     Kind = "two_factor"
	KindSignature     Kind = "signature"
)

// Kinds lists every kind.
func Kinds() []Kind {
	return []Kind{KindSignup, KindTransaction, KindPasswordReset, KindTwoFactor, KindSignature}
}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool {
	switch k {
	case KindSignup, KindTransaction, KindPasswordReset, KindTwoFactor, KindSignature:
		return true
	}
	return false
}

// Channel is a delivery channel.
type Channel string

// Delivery channels.
const (
	// ChannelWhatsApp: an authentication template over WhatsApp (reports reads).
	ChannelWhatsApp Channel = "whatsapp"
	// ChannelRCS: a direct RCS message (reports reads); never falls back to
	// SMS by itself — the plan decides.
	ChannelRCS Channel = "rcs"
	// ChannelSMS: a text message.
	ChannelSMS Channel = "sms"
	// ChannelEmail: an email with a text and an HTML part.
	ChannelEmail Channel = "email"
	// ChannelVoice: a phone call that speaks the code; never the first
	// channel of a plan unless it is the only one, always the last.
	ChannelVoice Channel = "voice"
)

// Channels is the one list of channels, in the contract's order.
var Channels = []Channel{ChannelWhatsApp, ChannelRCS, ChannelSMS, ChannelEmail, ChannelVoice}

// ChannelNames is the list of channels for messages ("whatsapp, rcs, …").
func ChannelNames() string {
	names := make([]string, len(Channels))
	for i, c := range Channels {
		names[i] = string(c)
	}
	return strings.Join(names, ", ")
}

// Valid reports whether c is a known channel.
func (c Channel) Valid() bool { return oneOf(c, Channels) }

// ReportsReads reports whether the channel's receipts say when the person
// read the message (so a plan may require "read" on it).
func (c Channel) ReportsReads() bool { return c == ChannelWhatsApp || c == ChannelRCS }

// Destination returns the destination of c in to ("" when missing).
func (c Channel) Destination(to Destinations) string {
	switch c {
	case ChannelWhatsApp, ChannelRCS, ChannelSMS, ChannelVoice:
		return to.Phone
	case ChannelEmail:
		return to.Email
	}
	return ""
}

// ChannelGoal is what a channel must reach within its timeout before the
// plan moves on.
type ChannelGoal string

// Channel goals.
const (
	// GoalDelivered: the message reached the device (the default).
	GoalDelivered ChannelGoal = "delivered"
	// GoalRead: the person read it, on channels that report reads
	// (ReportsReads); the others count delivery.
	GoalRead ChannelGoal = "read"
)

// ChannelGoals is the one list of channel goals.
var ChannelGoals = []ChannelGoal{GoalDelivered, GoalRead}

// Valid reports whether g is a known goal.
func (g ChannelGoal) Valid() bool { return oneOf(g, ChannelGoals) }

// Mode is the mode of an API key: test keys only ever reach the sandbox.
type Mode string

// API key modes.
const (
	ModeTest Mode = "test"
	ModeLive Mode = "live"
)

// Valid reports whether m is a known mode.
func (m Mode) Valid() bool { return m == ModeTest || m == ModeLive }

// Status is the status of a verification.
type Status string

// Verification statuses. Every status but pending is final.
const (
	StatusPending          Status = "pending"
	StatusApproved         Status = "approved"
	StatusExpired          Status = "expired"
	StatusCanceled         Status = "canceled"
	StatusMaxChecksReached Status = "max_checks_reached"
	StatusFailed           Status = "failed"
)

// Statuses lists every verification status (the read model's CHECK
// constraint, migration 006, lists the same values).
var Statuses = []Status{StatusPending, StatusApproved, StatusExpired, StatusCanceled, StatusMaxChecksReached, StatusFailed}

// Final reports whether s can no longer change.
func (s Status) Final() bool { return s != StatusPending && s != "" }

// AttemptStatus is the delivery status of one send attempt, normalized
// across providers.
type AttemptStatus string

// Attempt statuses. sending is Veriflow's own (the provider has not
// accepted the message yet); the others are the providers' receipts.
const (
	AttemptSending     AttemptStatus = "sending"
	AttemptQueued      AttemptStatus = "queued"
	AttemptSent        AttemptStatus = "sent"
	AttemptDelivered   AttemptStatus = "delivered"
	AttemptRead        AttemptStatus = "read"
	AttemptFailed      AttemptStatus = "failed"
	AttemptUndelivered AttemptStatus = "undelivered"
)

// Valid reports whether s is a known receipt status.
func (s AttemptStatus) Valid() bool {
	switch s {
	case AttemptSending, AttemptQueued, AttemptSent, AttemptDelivered, AttemptRead, AttemptFailed, AttemptUndelivered:
		return true
	}
	return false
}

// Failed reports whether s means the message will never arrive.
func (s AttemptStatus) Failed() bool { return s == AttemptFailed || s == AttemptUndelivered }

// Delivered reports whether s means the message reached the person.
func (s AttemptStatus) Delivered() bool { return s == AttemptDelivered || s == AttemptRead }

// Informational reports whether a receipt with this status can never change
// an attempt: a send that returned is already at least "sent", so "queued"
// and "sent" receipts only go to the audit trail and are not signalled.
func (s AttemptStatus) Informational() bool {
	r := s.Rank()
	return r >= 0 && r <= AttemptSent.Rank()
}

// Rank orders statuses so that receipts arriving out of order never move an
// attempt backwards: a status only replaces one of a lower rank.
func (s AttemptStatus) Rank() int {
	switch s {
	case AttemptSending:
		return 0
	case AttemptQueued:
		return 1
	case AttemptSent:
		return 2
	case AttemptFailed, AttemptUndelivered:
		return 3
	case AttemptDelivered:
		return 4
	case AttemptRead:
		return 5
	}
	return -1
}
