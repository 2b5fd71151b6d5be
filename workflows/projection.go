package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/veriflow/veriflow/internal/contract"
)

// upsertSearch brings the search attributes up to date. When they already
// are (the API sets the first channel at start), it issues nothing: an
// upsert is a history event and a visibility write. Starts without the
// channel attribute (older histories) upsert exactly as before.
func (v *verification) upsertSearch(ctx workflow.Context) {
	sa := workflow.GetTypedSearchAttributes(ctx)
	status, _ := sa.GetKeyword(contract.SAStatus)
	channel, _ := sa.GetKeyword(contract.SAChannel)
	if status == string(v.state.Status) && channel == string(v.state.Channel) {
		return
	}
	updates := []temporal.SearchAttributeUpdate{contract.SAStatus.ValueSet(string(v.state.Status))}
	if v.state.Channel != "" {
		updates = append(updates, contract.SAChannel.ValueSet(string(v.state.Channel)))
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
		workflow.GetLogger(ctx).Warn("upsert search attributes", "error", err)
	}
}

// emit queues an event for the next projection.
func (v *verification) emit(ctx workflow.Context, typ contract.EventType, ch contract.Channel, detail string) {
	v.events = append(v.events, contract.Event{Type: typ, Channel: ch, Detail: detail, At: workflow.Now(ctx)})
}

// project writes the state and the queued events to Postgres with a local
// activity. Each projection carries a higher version, so the read model
// never goes backwards even if two projections race.
func (v *verification) project(ctx workflow.Context) {
	workflow.SetCurrentDetails(ctx, v.details())
	v.state.Version++
	in := contract.RecordInput{
		VerificationID: v.in.ID, TenantID: v.in.TenantID, Kind: v.in.Kind,
		State: cloneState(v.state), Events: v.events, Evidence: v.evidence,
	}
	v.events, v.evidence = nil, nil
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		ScheduleToCloseTimeout: 10 * time.Minute,
		StartToCloseTimeout:    10 * time.Second,
		RetryPolicy:            &temporal.RetryPolicy{InitialInterval: 200 * time.Millisecond, MaximumInterval: 10 * time.Second},
	})
	v.inflight++
	defer func() { v.inflight-- }()
	if err := workflow.ExecuteLocalActivity(lctx, contract.ActivityRecord, in).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("projection failed", "error", err)
	}
}

// details reads like "whatsapp failed (not_on_whatsapp) → sms delivered →
// approved" for the Temporal UI; it holds no destination and no code.
func (v *verification) details() string {
	parts := make([]string, 0, len(v.state.Attempts)+1)
	for _, a := range v.state.Attempts {
		p := string(a.Channel) + " " + string(a.Status)
		if a.Error != "" {
			p += " (" + string(a.Error) + ")"
		}
		parts = append(parts, p)
	}
	if v.state.Status != contract.StatusPending || len(parts) == 0 {
		parts = append(parts, string(v.state.Status))
	}
	return fmt.Sprintf("%s: %s; %d checks left", v.in.Kind, strings.Join(parts, " → "), v.state.ChecksLeft)
}

// cloneState copies a state so that a projection or an answer does not
// share its attempts with the running workflow. The copy is never nil, so
// it marshals as [] (not null) before the first send.
func cloneState(s contract.State) contract.State {
	s.Attempts = append(make([]contract.Attempt, 0, len(s.Attempts)), s.Attempts...)
	return s
}
