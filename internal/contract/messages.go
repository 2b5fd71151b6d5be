package contract

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
)

// Destinations are where a code may be sent.
type Destinations struct {
	Phone string `json:"phone,omitempty"`
	Email string `json:"email,omitempty"`
}

// Transaction is what a transaction verification approves.
type Transaction struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
	Payee    string `json:"payee"`
}

// Document is what a signature verification consents to.
type Document struct {
	SHA256 string `json:"sha256"`
	Title  string `json:"title"`
}

// Plan is the ordered failover plan of a verification.
type Plan struct {
	Channels    []Channel     `json:"channels"`
	StepTimeout time.Duration `json:"step_timeout"`
	// Goal is what each channel must reach within StepTimeout; empty means
	// GoalDelivered (histories before channel goals).
	Goal ChannelGoal `json:"goal,omitempty"`
}

// CodePolicy governs the code of a verification.
type CodePolicy struct {
	Length         int           `json:"length"`
	TTL            time.Duration `json:"ttl"`
	MaxChecks      int           `json:"max_checks"`
	ResendCooldown time.Duration `json:"resend_cooldown"`
	MaxSends       int           `json:"max_sends"`
	// NewCodeOnResend makes a resend issue a new code that replaces the
	// previous ones; otherwise the same code is sent again.
	NewCodeOnResend bool `json:"new_code_on_resend,omitempty"`
}

// VerificationInput starts a verification workflow.
type VerificationInput struct {
	ID       string       `json:"id"`
	TenantID string       `json:"tenant_id"`
	Mode     Mode         `json:"mode"`
	Kind     Kind         `json:"kind"`
	To       Destinations `json:"to"`
	Locale   string       `json:"locale,omitempty"`
	Plan     Plan         `json:"plan"`
	Policy   CodePolicy   `json:"policy"`
	// Transaction or Document is what the code approves (kind-dependent).
	Transaction *Transaction `json:"transaction,omitempty"`
	Document    *Document    `json:"document,omitempty"`
	// BindingDigest is BindingDigest(Transaction, Document): a check must
	// present the same digest.
	BindingDigest string    `json:"binding_digest,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
	// ClientIP is the end user's IP address given at start (evidence).
	ClientIP string `json:"client_ip,omitempty"`
	// Supersede asks the workflow to cancel the tenant's other pending
	// verifications of the same kind and destination before its first send
	// (ActivitySupersede).
	Supersede bool `json:"supersede,omitempty"`
}

// SupersedeInput is the argument of the Supersede activity.
type SupersedeInput struct {
	VerificationID string       `json:"verification_id"`
	TenantID       string       `json:"tenant_id"`
	Kind           Kind         `json:"kind"`
	To             Destinations `json:"to"`
}

// Attempt is one send of the code over one channel.
type Attempt struct {
	Seq       int           `json:"seq"`
	Channel   Channel       `json:"channel"`
	Status    AttemptStatus `json:"status"`
	Error     FailureReason `json:"error,omitempty"`
	Provider  string        `json:"provider,omitempty"`
	MessageID string        `json:"message_id,omitempty"`
	SentAt    *time.Time    `json:"sent_at,omitempty"`
	// DeliveredAt is when the first delivered/read receipt was applied.
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
	// ReadAt is when the first read receipt was applied.
	ReadAt    *time.Time `json:"read_at,omitempty"`
	UpdatedAt time.Time  `json:"updated_at"`
}

// State is the live state of a verification as the workflow knows it.
type State struct {
	Status      Status     `json:"status"`
	Channel     Channel    `json:"channel,omitempty"`
	ChecksLeft  int        `json:"checks_left"`
	Sends       int        `json:"sends"`
	Attempts    []Attempt  `json:"attempts"`
	LastSendAt  time.Time  `json:"last_send_at,omitzero"`
	CompletedAt *time.Time `json:"completed_at,omitempty"`
	// Version increases with every change; the read model keeps the highest.
	Version int64 `json:"version"`
}

// CheckInput is the argument of the check update. It carries a keyed hash
// of the submitted code, never the code.
type CheckInput struct {
	CodeHash      string `json:"code_hash"`
	BindingDigest string `json:"binding_digest,omitempty"`
}

// CheckOutcome is what one check did.
type CheckOutcome string

// Check outcomes.
const (
	CheckApproved        CheckOutcome = "approved"
	CheckWrongCode       CheckOutcome = "wrong_code"
	CheckBindingMismatch CheckOutcome = "binding_mismatch"
	CheckNotPending      CheckOutcome = "not_pending"
)

// CheckResult is the answer of the check update.
type CheckResult struct {
	Outcome CheckOutcome `json:"outcome"`
	State   State        `json:"state"`
}

// ResendInput is the argument of the resend update.
type ResendInput struct {
	// Channel to use; empty means the next channel of the plan.
	Channel Channel `json:"channel,omitempty"`
}

// Receipt is a normalized delivery receipt, signalled to the workflow.
type Receipt struct {
	// ID is the receipt's row id in Postgres (deduplication key).
	ID         int64         `json:"id"`
	Provider   string        `json:"provider"`
	MessageID  string        `json:"message_id"`
	Status     AttemptStatus `json:"status"`
	Error      FailureReason `json:"error,omitempty"`
	OccurredAt time.Time     `json:"occurred_at"`
}

// SendInput is the argument of the SendCode activity.
type SendInput struct {
	VerificationID string       `json:"verification_id"`
	TenantID       string       `json:"tenant_id"`
	Mode           Mode         `json:"mode"`
	Kind           Kind         `json:"kind"`
	Seq            int          `json:"seq"`
	Channel        Channel      `json:"channel"`
	To             Destinations `json:"to"`
	Locale         string       `json:"locale,omitempty"`
	CodeLength     int          `json:"code_length"`
	// Generation numbers the code: a resend with a new code increments it.
	Generation  int           `json:"generation,omitempty"`
	TTL         time.Duration `json:"ttl"`
	Transaction *Transaction  `json:"transaction,omitempty"`
	Document    *Document     `json:"document,omitempty"`
}

// SendResult is what SendCode returns: the provider's message id and the
// keyed hash of the code that was sent (never the code).
type SendResult struct {
	Provider  string `json:"provider"`
	MessageID string `json:"message_id"`
	CodeHash  string `json:"code_hash"`
}

// Event is one entry of the append-only audit trail.
type Event struct {
	Type    EventType `json:"type"`
	Channel Channel   `json:"channel,omitempty"`
	Detail  string    `json:"detail,omitempty"`
	At      time.Time `json:"at"`
}

// RecordInput is the argument of the Record local activity: the state to
// project into the read model and the events to append.
type RecordInput struct {
	VerificationID string  `json:"verification_id"`
	TenantID       string  `json:"tenant_id"`
	Kind           Kind    `json:"kind,omitempty"`
	State          State   `json:"state"`
	Events         []Event `json:"events,omitempty"`
	// Evidence, set once on the approval of a signature, is signed and
	// stored in the same transaction as the approved state.
	Evidence *EvidenceInput `json:"evidence,omitempty"`
}

// EvidenceInput is what the workflow knows of an approved signature.
type EvidenceInput struct {
	Kind        Kind       `json:"kind"`
	Document    Document   `json:"document"`
	Channel     Channel    `json:"channel"`
	Destination string     `json:"destination"`
	SentAt      *time.Time `json:"sent_at,omitempty"`
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
	ApprovedAt  time.Time  `json:"approved_at"`
	ClientIP    string     `json:"client_ip,omitempty"`
}

// Application error types raised by the workflow's update validators and
// the activities, matched by the API.
const (
	ErrTypeNotPending      = "NotPending"
	ErrTypeInvalidArgument = "InvalidArgument"
	ErrTypeRateLimited     = "RateLimited"
	ErrTypeDeliveryFailed  = "DeliveryFailed"
)

// BindingDigest returns the hex SHA-256 of what a code approves, in a
// canonical form, or "" when it approves nothing in particular. Callers
// normalize the fields first (see the api package's validation).
func BindingDigest(tx *Transaction, doc *Document) string {
	var parts []string
	if tx != nil {
		parts = append(parts, "transaction", tx.Amount, tx.Currency, tx.Payee)
	}
	if doc != nil {
		parts = append(parts, "document", doc.SHA256)
	}
	if len(parts) == 0 {
		return ""
	}
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:])
}
