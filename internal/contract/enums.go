package contract

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
	ChannelWhatsApp Channel = "whatsapp"
	ChannelSMS      Channel = "sms"
	ChannelEmail    Channel = "email"
)

// Valid reports whether c is a known channel.
func (c Channel) Valid() bool {
	switch c {
	case ChannelWhatsApp, ChannelSMS, ChannelEmail:
		return true
	}
	return false
}

// Destination returns the destination of c in to ("" when missing).
func (c Channel) Destination(to Destinations) string {
	switch c {
	case ChannelWhatsApp, ChannelSMS:
		return to.Phone
	case ChannelEmail:
		return to.Email
	}
	return ""
}

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
