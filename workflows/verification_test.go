package workflows

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/otp"
)

// harness runs one verification in the time-skipping test environment with
// a scripted SendCode and a recording projection.
type harness struct {
	t       *testing.T
	env     *testsuite.TestWorkflowEnvironment
	secrets *otp.Secrets
	in      contract.VerificationInput
	start   time.Time

	mu    sync.Mutex
	sends []sendCall
	// script decides what SendCode does per channel; default: accepted.
	script  map[contract.Channel]sendScript
	records []contract.RecordInput
	// sendDelay is how long every SendCode takes (time-skipped).
	sendDelay time.Duration
}

type sendCall struct {
	channel contract.Channel
	at      time.Duration // since start
	seq     int
}

type sendScript struct {
	err error
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	env := suite.NewTestWorkflowEnvironment()
	secrets, err := otp.New(bytes.Repeat([]byte("s"), otp.MinSecretLen))
	require.NoError(t, err)
	h := &harness{t: t, env: env, secrets: secrets, script: map[contract.Channel]sendScript{}}
	h.start = env.Now()
	h.in = contract.VerificationInput{
		ID: "vf_test1", TenantID: "t1", Mode: contract.ModeTest, Kind: contract.KindSignup,
		To:        contract.Destinations{Phone: "+15005550000", Email: "ada@example.com"},
		Plan:      contract.Plan{Channels: []contract.Channel{contract.ChannelWhatsApp, contract.ChannelSMS, contract.ChannelEmail}, StepTimeout: 30 * time.Second},
		Policy:    contract.CodePolicy{Length: 6, TTL: 10 * time.Minute, MaxChecks: 3, ResendCooldown: 30 * time.Second, MaxSends: 5},
		CreatedAt: h.start,
	}
	env.RegisterWorkflowWithOptions(Verification, workflow.RegisterOptions{Name: contract.WorkflowVerification})
	env.RegisterActivityWithOptions(func(ctx context.Context, in contract.SendInput) (contract.SendResult, error) {
		return contract.SendResult{}, nil
	}, activity.RegisterOptions{Name: contract.ActivitySendCode})
	env.RegisterActivityWithOptions(func(ctx context.Context, in contract.RecordInput) error {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.records = append(h.records, in)
		return nil
	}, activity.RegisterOptions{Name: contract.ActivityRecord})
	env.RegisterActivityWithOptions(func(context.Context) error { return nil }, activity.RegisterOptions{Name: contract.ActivityCommit})
	return h
}

func msgID(seq int) string { return fmt.Sprintf("M%d", seq) }

func (h *harness) code() string { return h.codeOf(0) }

// codeOf is the code of generation gen, bound to the verification's binding.
func (h *harness) codeOf(gen int) string {
	return h.secrets.Code(h.in.ID, gen, contract.BindingDigest(h.in.Transaction, h.in.Document), h.in.Policy.Length)
}

func (h *harness) at(d time.Duration, f func()) { h.env.RegisterDelayedCallback(f, d) }

func (h *harness) receipt(d time.Duration, id int64, seq int, s contract.AttemptStatus, errCode string) {
	h.at(d, func() {
		h.env.SignalWorkflow(contract.SignalReceipt, contract.Receipt{ID: id, Provider: "fake", MessageID: msgID(seq), Status: s, Error: contract.FailureReason(errCode)})
	})
}

// update runs an update at d and stores its outcome in *res / *rejected.
type updateResult struct {
	rejected error
	err      error
	check    contract.CheckResult
	state    contract.State
	done     bool
}

func (h *harness) update(d time.Duration, name string, arg any) *updateResult {
	r := &updateResult{}
	h.at(d, func() {
		h.env.UpdateWorkflow(name, fmt.Sprintf("%s-%d", name, d), &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { r.rejected = err; r.done = true },
			OnComplete: func(v any, err error) {
				r.err, r.done = err, true
				switch x := v.(type) {
				case contract.CheckResult:
					r.check = x
				case contract.State:
					r.state = x
				}
			},
		}, arg)
	})
	return r
}

func (h *harness) check(d time.Duration, code string) *updateResult {
	return h.update(d, contract.UpdateCheck, contract.CheckInput{CodeHash: h.secrets.Hash(h.in.ID, code), BindingDigest: h.in.BindingDigest})
}

// sendCode is the scripted SendCode activity.
func (h *harness) sendCode(ctx context.Context, in contract.SendInput) (contract.SendResult, error) {
	h.mu.Lock()
	h.sends = append(h.sends, sendCall{channel: in.Channel, at: h.env.Now().Sub(h.start), seq: in.Seq})
	sc := h.script[in.Channel]
	h.mu.Unlock()
	if sc.err != nil {
		return contract.SendResult{}, sc.err
	}
	code := h.secrets.Code(in.VerificationID, in.Generation, contract.BindingDigest(in.Transaction, in.Document), in.CodeLength)
	return contract.SendResult{Provider: "fake", MessageID: msgID(in.Seq), CodeHash: h.secrets.Hash(in.VerificationID, code)}, nil
}

func (h *harness) run() contract.State {
	h.t.Helper()
	h.env.OnActivity(contract.ActivitySendCode, mock.Anything, mock.Anything).After(h.sendDelay).Return(h.sendCode)
	h.env.ExecuteWorkflow(Verification, h.in)
	require.True(h.t, h.env.IsWorkflowCompleted())
	require.NoError(h.t, h.env.GetWorkflowError())
	var st contract.State
	require.NoError(h.t, h.env.GetWorkflowResult(&st))
	// The read model always ends with the final state.
	h.mu.Lock()
	defer h.mu.Unlock()
	require.NotEmpty(h.t, h.records)
	last := h.records[0]
	for _, r := range h.records {
		if r.State.Version > last.State.Version {
			last = r
		}
	}
	require.Equal(h.t, st.Status, last.State.Status)
	return st
}

func (h *harness) channels() []contract.Channel {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []contract.Channel
	for _, s := range h.sends {
		out = append(out, s.channel)
	}
	return out
}

func (h *harness) sendAt(i int) time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.sends[i].at
}

func (h *harness) events() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, r := range h.records {
		for _, e := range r.Events {
			out = append(out, string(e.Type))
		}
	}
	return out
}

const (
	wa    = contract.ChannelWhatsApp
	sms   = contract.ChannelSMS
	email = contract.ChannelEmail
)

func TestApprovedAtFirstTry(t *testing.T) {
	h := newHarness(t)
	h.receipt(time.Second, 1, 1, contract.AttemptDelivered, "")
	c := h.check(5*time.Second, h.code())
	st := h.run()
	require.Equal(t, contract.StatusApproved, st.Status)
	require.Equal(t, contract.CheckApproved, c.check.Outcome)
	require.Equal(t, contract.StatusApproved, c.check.State.Status)
	require.Equal(t, []contract.Channel{wa}, h.channels())
	require.Equal(t, contract.AttemptDelivered, st.Attempts[0].Status)
	require.NotNil(t, st.CompletedAt)
	require.Contains(t, h.events(), "approved")
}

func TestWrongCodeThenRight(t *testing.T) {
	h := newHarness(t)
	wrong := h.check(2*time.Second, "000000")
	if h.code() == "000000" {
		t.Skip("derived code happens to be the wrong one")
	}
	right := h.check(3*time.Second, h.code())
	st := h.run()
	require.Equal(t, contract.CheckWrongCode, wrong.check.Outcome)
	require.Equal(t, contract.StatusPending, wrong.check.State.Status)
	require.Equal(t, 2, wrong.check.State.ChecksLeft)
	require.Equal(t, contract.CheckApproved, right.check.Outcome)
	require.Equal(t, contract.StatusApproved, st.Status)
	require.Equal(t, 2, st.ChecksLeft)
}

func TestMaxChecks(t *testing.T) {
	h := newHarness(t)
	var rs []*updateResult
	for i := range 3 {
		rs = append(rs, h.check(time.Duration(i+1)*time.Second, "99999"))
	}
	st := h.run()
	require.Equal(t, contract.StatusMaxChecksReached, st.Status)
	require.Equal(t, 0, st.ChecksLeft)
	require.Equal(t, 1, rs[1].check.State.ChecksLeft)
	require.Equal(t, contract.StatusMaxChecksReached, rs[2].check.State.Status)
}

func TestExpiry(t *testing.T) {
	h := newHarness(t)
	h.receipt(time.Second, 1, 1, contract.AttemptDelivered, "")
	st := h.run()
	require.Equal(t, contract.StatusExpired, st.Status)
	require.Equal(t, h.in.Policy.TTL, st.CompletedAt.Sub(h.start))
	require.Equal(t, []contract.Channel{wa}, h.channels())
}

func TestWhatsAppFailureReceiptFailsOverAtOnce(t *testing.T) {
	h := newHarness(t)
	h.receipt(2*time.Second, 1, 1, contract.AttemptFailed, "not_on_whatsapp")
	h.receipt(3*time.Second, 2, 2, contract.AttemptDelivered, "")
	h.check(4*time.Second, h.code())
	st := h.run()
	require.Equal(t, contract.StatusApproved, st.Status)
	require.Equal(t, []contract.Channel{wa, sms}, h.channels())
	require.Equal(t, 2*time.Second, h.sendAt(1))
	require.Equal(t, contract.ReasonNotOnWhatsApp, st.Attempts[0].Error)
	require.Equal(t, contract.AttemptDelivered, st.Attempts[1].Status)
	require.Contains(t, h.events(), "failed_over")
}

func TestNoReceiptFailsOverAfterStepTimeout(t *testing.T) {
	h := newHarness(t)
	h.receipt(time.Second, 1, 1, contract.AttemptSent, "")
	h.receipt(31*time.Second, 2, 2, contract.AttemptDelivered, "")
	h.check(40*time.Second, h.code())
	st := h.run()
	require.Equal(t, contract.StatusApproved, st.Status)
	require.Equal(t, []contract.Channel{wa, sms}, h.channels())
	require.Equal(t, 30*time.Second, h.sendAt(1))
	require.Equal(t, contract.AttemptSent, st.Attempts[0].Status)
}

func TestAllChannelsFail(t *testing.T) {
	h := newHarness(t)
	h.receipt(time.Second, 1, 1, contract.AttemptFailed, "not_on_whatsapp")
	h.receipt(2*time.Second, 2, 2, contract.AttemptUndelivered, "carrier_rejected")
	h.script[email] = sendScript{err: temporal.NewNonRetryableApplicationError("bounced", contract.ErrTypeDeliveryFailed, nil, contract.FailureReason("mailbox_unavailable"))}
	st := h.run()
	require.Equal(t, contract.StatusFailed, st.Status)
	require.Equal(t, []contract.Channel{wa, sms, email}, h.channels())
	require.Equal(t, contract.ReasonMailboxUnavailable, st.Attempts[2].Error)
	require.Equal(t, contract.FailureReason("carrier_rejected"), st.Attempts[1].Error)
	require.Less(t, st.CompletedAt.Sub(h.start), 3*time.Second)
}

func TestChannelWithoutDestinationIsSkipped(t *testing.T) {
	h := newHarness(t)
	h.in.To = contract.Destinations{Email: "ada@example.com"}
	h.check(time.Second, h.code())
	st := h.run()
	require.Equal(t, contract.StatusApproved, st.Status)
	require.Equal(t, []contract.Channel{email}, h.channels())
}

func TestCancel(t *testing.T) {
	h := newHarness(t)
	c := h.update(5*time.Second, contract.UpdateCancel, nil)
	st := h.run()
	require.Equal(t, contract.StatusCanceled, st.Status)
	require.Equal(t, contract.StatusCanceled, c.state.Status)
}

func TestResendCooldownAndCap(t *testing.T) {
	h := newHarness(t)
	h.in.Policy.MaxSends = 3
	h.receipt(time.Second, 1, 1, contract.AttemptDelivered, "")
	early := h.update(10*time.Second, contract.UpdateResend, contract.ResendInput{})
	first := h.update(31*time.Second, contract.UpdateResend, contract.ResendInput{}) // next: sms
	h.receipt(32*time.Second, 2, 2, contract.AttemptDelivered, "")
	named := h.update(62*time.Second, contract.UpdateResend, contract.ResendInput{Channel: contract.ChannelEmail}) // named
	capped := h.update(100*time.Second, contract.UpdateResend, contract.ResendInput{})
	bad := h.update(101*time.Second, contract.UpdateResend, contract.ResendInput{Channel: "pigeon"})
	h.check(120*time.Second, h.code())
	st := h.run()
	require.Equal(t, contract.StatusApproved, st.Status)
	require.ErrorContains(t, early.rejected, "cooldown")
	require.NoError(t, first.rejected)
	require.Len(t, first.state.Attempts, 2)
	require.Equal(t, contract.ChannelSMS, first.state.Channel)
	require.NoError(t, named.rejected)
	require.ErrorContains(t, capped.rejected, "send cap")
	require.Error(t, bad.rejected)
	require.Equal(t, []contract.Channel{wa, sms, email}, h.channels())
	require.Equal(t, 31*time.Second, h.sendAt(1))
}

func TestDuplicateAndOutOfOrderReceipts(t *testing.T) {
	h := newHarness(t)
	h.receipt(time.Second, 1, 1, contract.AttemptDelivered, "")
	h.receipt(2*time.Second, 1, 1, contract.AttemptDelivered, "") // duplicate id
	h.receipt(3*time.Second, 2, 1, contract.AttemptSent, "")      // late "sent"
	h.receipt(4*time.Second, 3, 1, contract.AttemptFailed, "x")   // failure after delivery
	h.receipt(5*time.Second, 4, 9, contract.AttemptFailed, "x")   // unknown message
	h.check(60*time.Second, h.code())
	st := h.run()
	require.Equal(t, contract.StatusApproved, st.Status)
	require.Equal(t, []contract.Channel{wa}, h.channels(), "no failover once delivered")
	require.Equal(t, contract.AttemptDelivered, st.Attempts[0].Status)
}

func TestDuplicateFailureReceiptsFailOverOnce(t *testing.T) {
	h := newHarness(t)
	for i := range 3 {
		h.receipt(time.Second+time.Duration(i)*time.Millisecond, int64(10+i), 1, contract.AttemptFailed, "not_on_whatsapp")
	}
	h.receipt(5*time.Second, 20, 2, contract.AttemptDelivered, "")
	h.check(10*time.Second, h.code())
	st := h.run()
	require.Equal(t, contract.StatusApproved, st.Status)
	require.Equal(t, []contract.Channel{wa, sms}, h.channels())
}

func TestEarlyReceiptBeforeSendReturns(t *testing.T) {
	h := newHarness(t)
	// The WhatsApp send takes 5 s; its failure receipt arrives at 1 s.
	h.sendDelay = 5 * time.Second
	h.receipt(time.Second, 1, 1, contract.AttemptFailed, "not_on_whatsapp")
	h.receipt(12*time.Second, 2, 2, contract.AttemptDelivered, "")
	h.check(13*time.Second, h.code())
	st := h.run()
	require.Equal(t, contract.StatusApproved, st.Status)
	require.Equal(t, []contract.Channel{wa, sms}, h.channels())
	require.Equal(t, contract.ReasonNotOnWhatsApp, st.Attempts[0].Error)
	// SMS went out as soon as the WhatsApp send returned, not after 30 s.
	require.Equal(t, 10*time.Second, h.sendAt(1))
}

func TestPermanentSendErrorFailsOverAtOnce(t *testing.T) {
	h := newHarness(t)
	h.script[wa] = sendScript{err: temporal.NewNonRetryableApplicationError("nope", contract.ErrTypeDeliveryFailed, nil, contract.FailureReason("not_on_whatsapp"))}
	h.check(3*time.Second, h.code())
	st := h.run()
	require.Equal(t, contract.StatusApproved, st.Status)
	require.Equal(t, []contract.Channel{wa, sms}, h.channels())
	require.Equal(t, time.Duration(0), h.sendAt(1))
}

func TestBindingMismatchCountsAsFailedCheck(t *testing.T) {
	h := newHarness(t)
	h.in.Kind = contract.KindTransaction
	h.in.Transaction = &contract.Transaction{Amount: "149.9", Currency: "EUR", Payee: "ACME"}
	h.in.BindingDigest = contract.BindingDigest(h.in.Transaction, nil)
	other := contract.BindingDigest(&contract.Transaction{Amount: "1499", Currency: "EUR", Payee: "ACME"}, nil)
	mismatch := h.update(time.Second, contract.UpdateCheck, contract.CheckInput{CodeHash: h.secrets.Hash(h.in.ID, h.code()), BindingDigest: other})
	ok := h.check(2*time.Second, h.code())
	st := h.run()
	require.Equal(t, contract.CheckBindingMismatch, mismatch.check.Outcome)
	require.Equal(t, 2, mismatch.check.State.ChecksLeft)
	require.Equal(t, contract.CheckApproved, ok.check.Outcome)
	require.Equal(t, contract.StatusApproved, st.Status)
}

func TestMalformedCheckRejectedByValidator(t *testing.T) {
	h := newHarness(t)
	bad := h.update(time.Second, contract.UpdateCheck, contract.CheckInput{CodeHash: "123456"})
	h.check(2*time.Second, h.code())
	st := h.run()
	require.Error(t, bad.rejected)
	require.Equal(t, h.in.Policy.MaxChecks, st.ChecksLeft, "a rejected check costs nothing")
}

func TestQueryState(t *testing.T) {
	h := newHarness(t)
	var q contract.State
	h.at(2*time.Second, func() {
		v, err := h.env.QueryWorkflow(contract.QueryState)
		require.NoError(t, err)
		require.NoError(t, v.Get(&q))
	})
	h.check(3*time.Second, h.code())
	h.run()
	require.Equal(t, contract.StatusPending, q.Status)
	require.Len(t, q.Attempts, 1)
}

func TestNewCodeOnResendReplacesTheOldOne(t *testing.T) {
	h := newHarness(t)
	h.in.Policy.NewCodeOnResend = true
	if h.codeOf(0) == h.codeOf(1) {
		t.Skip("generations collide")
	}
	h.receipt(time.Second, 1, 1, contract.AttemptDelivered, "")
	h.update(31*time.Second, contract.UpdateResend, contract.ResendInput{})
	old := h.check(40*time.Second, h.codeOf(0))
	fresh := h.check(41*time.Second, h.codeOf(1))
	st := h.run()
	require.Equal(t, contract.CheckWrongCode, old.check.Outcome, "the first code no longer works")
	require.Equal(t, contract.CheckApproved, fresh.check.Outcome)
	require.Equal(t, contract.StatusApproved, st.Status)
}

func TestSameCodeOnResendByDefault(t *testing.T) {
	h := newHarness(t)
	h.receipt(time.Second, 1, 1, contract.AttemptDelivered, "")
	h.update(31*time.Second, contract.UpdateResend, contract.ResendInput{})
	c := h.check(40*time.Second, h.codeOf(0))
	h.run()
	require.Equal(t, contract.CheckApproved, c.check.Outcome)
}

func TestSignatureApprovalCarriesEvidence(t *testing.T) {
	h := newHarness(t)
	h.in.Kind = contract.KindSignature
	h.in.ClientIP = "203.0.113.7"
	h.in.Document = &contract.Document{SHA256: strings.Repeat("ab", 32), Title: "Contract"}
	h.in.BindingDigest = contract.BindingDigest(nil, h.in.Document)
	h.receipt(time.Second, 1, 1, contract.AttemptFailed, "not_on_whatsapp")
	h.receipt(2*time.Second, 2, 2, contract.AttemptDelivered, "")
	h.check(3*time.Second, h.code())
	st := h.run()
	require.Equal(t, contract.StatusApproved, st.Status)
	h.mu.Lock()
	defer h.mu.Unlock()
	var ev []*contract.EvidenceInput
	for _, r := range h.records {
		if r.Evidence != nil {
			ev = append(ev, r.Evidence)
			require.Equal(t, contract.StatusApproved, r.State.Status, "evidence travels with the approved state")
		}
	}
	require.Len(t, ev, 1)
	e := ev[0]
	require.Equal(t, contract.ChannelSMS, e.Channel)
	require.Equal(t, "+15005550000", e.Destination)
	require.Equal(t, "203.0.113.7", e.ClientIP)
	require.NotNil(t, e.DeliveredAt)
	require.Equal(t, 2*time.Second, e.DeliveredAt.Sub(h.start))
	require.Equal(t, 3*time.Second, e.ApprovedAt.Sub(h.start))
}

// TestCheckDuringSendWaitsForTheCode: the provider delivered the code before
// SendCode returned; a check in that gap is answered once the send is done,
// with the code's hash known, instead of counting as a wrong code.
func TestCheckDuringSendWaitsForTheCode(t *testing.T) {
	h := newHarness(t)
	h.sendDelay = 5 * time.Second
	c := h.check(2*time.Second, h.code())
	st := h.run()
	require.Equal(t, contract.CheckApproved, c.check.Outcome)
	require.Equal(t, contract.StatusApproved, st.Status)
	require.Equal(t, h.in.Policy.MaxChecks, st.ChecksLeft)
}

func TestCurrentDetailsTellTheStory(t *testing.T) {
	v := &verification{
		in: contract.VerificationInput{Kind: contract.KindSignup},
		state: contract.State{Status: contract.StatusApproved, ChecksLeft: 4, Attempts: []contract.Attempt{
			{Channel: contract.ChannelWhatsApp, Status: contract.AttemptFailed, Error: "not_on_whatsapp"},
			{Channel: contract.ChannelSMS, Status: contract.AttemptDelivered},
		}},
	}
	require.Equal(t, "signup: whatsapp failed (not_on_whatsapp) → sms delivered → approved; 4 checks left", v.details())
	v.state = contract.State{Status: contract.StatusPending, ChecksLeft: 5}
	require.Equal(t, "signup: pending; 5 checks left", v.details())
}

// TestCheckBeforeFirstSendWaitsForTheCode: a check that reaches the
// workflow before its first send has even started (its first task was still
// running under load) waits for that send instead of counting as wrong.
func TestCheckBeforeFirstSendWaitsForTheCode(t *testing.T) {
	h := newHarness(t)
	h.sendDelay = 2 * time.Second
	c := h.check(0, h.code())
	st := h.run()
	require.Equal(t, contract.CheckApproved, c.check.Outcome)
	require.Equal(t, contract.StatusApproved, st.Status)
	require.Equal(t, h.in.Policy.MaxChecks, st.ChecksLeft)
}

// TestSearchAttributesUpsertedOnlyWhenChanged: the API sets the first
// channel at start, so the workflow's first upsert (status pending, that
// channel) would change nothing and is skipped; starts without it (older
// histories) still upsert at the first send.
func TestSearchAttributesUpsertedOnlyWhenChanged(t *testing.T) {
	for _, tc := range []struct {
		name         string
		startChannel bool
		want         int
	}{{"channel set at start", true, 1}, {"no channel at start", false, 2}} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			sa := []temporal.SearchAttributeUpdate{
				contract.SAKind.ValueSet(string(h.in.Kind)), contract.SAStatus.ValueSet(string(contract.StatusPending)),
				contract.SATenant.ValueSet(h.in.TenantID),
			}
			if tc.startChannel {
				sa = append(sa, contract.SAChannel.ValueSet(string(contract.ChannelWhatsApp)))
			}
			require.NoError(t, h.env.SetTypedSearchAttributesOnStart(temporal.NewSearchAttributes(sa...)))
			upserts := 0
			h.env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(mock.Arguments) { upserts++ }).Return(nil)
			h.receipt(time.Second, 1, 1, contract.AttemptDelivered, "")
			h.check(2*time.Second, h.code())
			st := h.run()
			require.Equal(t, contract.StatusApproved, st.Status)
			require.Equal(t, tc.want, upserts)
		})
	}
}

// TestReceiptsOfOneTaskProjectedOnce: a delivered and a read receipt that
// arrive together are applied together and written with one projection
// (changeReceiptBatches), not one each.
func TestReceiptsOfOneTaskProjectedOnce(t *testing.T) {
	h := newHarness(t)
	h.at(time.Second, func() {
		// Buffered together, as the server hands them to one workflow task.
		h.env.SignalWorkflowSkippingWorkflowTask(contract.SignalReceipt,
			contract.Receipt{ID: 1, Provider: "fake", MessageID: msgID(1), Status: contract.AttemptDelivered})
		h.env.SignalWorkflow(contract.SignalReceipt, contract.Receipt{ID: 2, Provider: "fake", MessageID: msgID(1), Status: contract.AttemptRead})
	})
	h.check(5*time.Second, h.code())
	st := h.run()
	require.Equal(t, contract.AttemptRead, st.Attempts[0].Status)
	h.mu.Lock()
	defer h.mu.Unlock()
	var withReceipts [][]string
	for _, r := range h.records {
		var types []string
		for _, e := range r.Events {
			if e.Type == contract.AttemptEvent(contract.AttemptDelivered) || e.Type == contract.AttemptEvent(contract.AttemptRead) {
				types = append(types, string(e.Type))
			}
		}
		if len(types) > 0 {
			withReceipts = append(withReceipts, types)
		}
	}
	require.Equal(t, [][]string{{"delivered", "read"}}, withReceipts)
}
