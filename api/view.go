package api

import (
	"slices"
	"time"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/fraud"
	"github.com/veriflow/veriflow/internal/store"
)

// verificationView is the contract's verification object.
type verificationView struct {
	ID          string            `json:"id"`
	Kind        contract.Kind     `json:"kind"`
	Status      contract.Status   `json:"status"`
	To          toView            `json:"to"`
	Channel     *contract.Channel `json:"channel"`
	ChecksLeft  int               `json:"checks_left"`
	CreatedAt   time.Time         `json:"created_at"`
	ExpiresAt   time.Time         `json:"expires_at"`
	CompletedAt *time.Time        `json:"completed_at"`
	Attempts    []attemptView     `json:"attempts"`
	Metadata    map[string]string `json:"metadata,omitempty"`
	// Risk is the fraud engine's decision on the start (absent only on
	// verifications started before the engine existed).
	Risk *riskView `json:"risk,omitempty"`
}

// riskView is a decision with its reasons' signal and scope: the values and
// thresholds stay in the audit trail and the shadow report, so an end user
// shown a response learns nothing to tune an attack against.
type riskView struct {
	Decision fraud.Decision   `json:"decision"`
	Mode     fraud.Mode       `json:"mode"`
	Reasons  []riskReasonView `json:"reasons"`
}

type riskReasonView struct {
	Signal fraud.Signal `json:"signal"`
	Scope  fraud.Scope  `json:"scope,omitempty"`
}

// viewRisk renders a risk (nil for none).
func viewRisk(r *fraud.Risk) *riskView {
	if r == nil {
		return nil
	}
	out := &riskView{Decision: r.Decision, Mode: r.Mode, Reasons: make([]riskReasonView, 0, len(r.Reasons))}
	for _, x := range r.Reasons {
		rv := riskReasonView{Signal: x.Signal, Scope: x.Scope}
		if !slices.Contains(out.Reasons, rv) {
			out.Reasons = append(out.Reasons, rv)
		}
	}
	return out
}

// toView holds masked destinations only.
type toView struct {
	Phone string `json:"phone,omitempty"`
	Email string `json:"email,omitempty"`
}

type attemptView struct {
	Channel contract.Channel       `json:"channel"`
	Status  contract.AttemptStatus `json:"status"`
	Error   contract.FailureReason `json:"error,omitempty"`
	SentAt  *time.Time             `json:"sent_at"`
	// DeliveredAt and ReadAt are set once the attempt was delivered / read.
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
	ReadAt      *time.Time `json:"read_at,omitempty"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

// utc returns t in UTC, nil for nil.
func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// view renders a read-model row; a fresher workflow state, when given,
// overrides its live fields.
func view(v store.Verification, live *contract.State) verificationView {
	if live != nil && live.Version >= v.Version {
		v.Status, v.Channel, v.ChecksLeft, v.Attempts, v.CompletedAt = live.Status, live.Channel, live.ChecksLeft, live.Attempts, live.CompletedAt
	}
	out := verificationView{
		ID: v.ID, Kind: v.Kind, Status: v.Status,
		To:         toView{Phone: v.ToPhone, Email: v.ToEmail},
		ChecksLeft: v.ChecksLeft, CreatedAt: v.CreatedAt.UTC(), ExpiresAt: v.ExpiresAt.UTC(),
		Attempts: make([]attemptView, 0, len(v.Attempts)), Metadata: v.Metadata, Risk: viewRisk(v.Risk),
	}
	if v.Channel != "" {
		ch := v.Channel
		out.Channel = &ch
	}
	out.CompletedAt = utc(v.CompletedAt)
	for _, a := range v.Attempts {
		av := attemptView{Channel: a.Channel, Status: a.Status, Error: a.Error, UpdatedAt: a.UpdatedAt.UTC(),
			SentAt: utc(a.SentAt), DeliveredAt: utc(a.DeliveredAt), ReadAt: utc(a.ReadAt)}
		out.Attempts = append(out.Attempts, av)
	}
	return out
}
