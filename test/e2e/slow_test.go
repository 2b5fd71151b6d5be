package e2e

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/workflow"

	"github.com/veriflow/veriflow/client"
	"github.com/veriflow/veriflow/internal/contract"
)

// slowCancels makes chosen verification workflows slow to answer the
// cancel update: a stand-in for an older verification whose workflow is
// busy, retried or on a lagging worker.
type slowCancels struct {
	interceptor.WorkerInterceptorBase
	mu    sync.Mutex
	delay map[string]time.Duration // workflow id → delay before a cancel is handled
}

func newSlowCancels() *slowCancels { return &slowCancels{delay: map[string]time.Duration{}} }

// slow makes the cancel update of workflow id wait d (workflow time)
// before it runs.
func (s *slowCancels) slow(id string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay[id] = d
}

func (s *slowCancels) delayOf(id string) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.delay[id]
}

// InterceptWorkflow implements interceptor.WorkerInterceptor.
func (s *slowCancels) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &slowCancelsWorkflow{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}, root: s}
}

type slowCancelsWorkflow struct {
	interceptor.WorkflowInboundInterceptorBase
	root *slowCancels
}

func (w *slowCancelsWorkflow) ExecuteUpdate(ctx workflow.Context, in *interceptor.UpdateInput) (any, error) {
	if in.Name == contract.UpdateCancel {
		if d := w.root.delayOf(workflow.GetInfo(ctx).WorkflowExecution.ID); d > 0 {
			if err := workflow.Sleep(ctx, d); err != nil {
				return nil, err
			}
		}
	}
	return w.Next.ExecuteUpdate(ctx, in)
}

// TestSupersedeDoesNotWaitForTheOlderWorkflow: a new start answers while
// the verification it supersedes is slow to cancel (the start used to wait
// for that cancel), yet the new code is sent only once the old one is dead,
// and the old code is refused.
func TestSupersedeDoesNotWaitForTheOlderWorkflow(t *testing.T) {
	s := need(t)
	const phone = "+393331230077"
	const slowness = 4 * time.Second
	body := map[string]any{"kind": "two_factor", "to": map[string]string{"phone": phone}}
	sandbox := client.New(s.server.URL, s.acme, nil)
	messageOf := func(id string) client.SandboxMessage {
		msgs := poll(t, 10*time.Second, "the sandbox message of "+id, func() []client.SandboxMessage {
			m, err := sandbox.SandboxMessages(t.Context(), phone)
			if err != nil {
				t.Fatalf("sandbox: %v", err)
			}
			return m
		}, func(ms []client.SandboxMessage) bool {
			for _, m := range ms {
				if m.VerificationID == id {
					return true
				}
			}
			return false
		})
		for _, m := range msgs {
			if m.VerificationID == id {
				return m
			}
		}
		return client.SandboxMessage{}
	}

	old := s.start(t, s.acme, body)
	oldCode := messageOf(old.ID).Code
	s.slowCancels.slow(contract.WorkflowID(old.ID), slowness)

	began := time.Now()
	fresh := s.start(t, s.acme, body)
	if took := time.Since(began); took >= slowness {
		t.Fatalf("the start took %s: it waited for the older workflow's cancel (%s)", took, slowness)
	}
	if fresh.Status != "pending" {
		t.Fatalf("new verification: %+v", fresh)
	}

	// The new code goes out (the sandbox stores it as the provider sends
	// it) only after the older verification was canceled.
	sent := messageOf(fresh.ID)
	freshCode := sent.Code
	oldNow := s.call(t, "GET", "/v1/verifications/"+old.ID, s.acme, nil).verification(t)
	if oldNow.Status != "canceled" || oldNow.CompletedAt == nil {
		t.Fatalf("older verification when the new code was sent: %+v", oldNow)
	}
	if sent.CreatedAt.Before(*oldNow.CompletedAt) {
		t.Fatalf("new code sent at %v, before the older verification was canceled at %v", sent.CreatedAt, oldNow.CompletedAt)
	}
	s.waitForEvent(t, old.ID, "superseded")

	// The old code is refused; the new one approves.
	r := s.call(t, "POST", "/v1/verifications/"+old.ID+"/check", s.acme, map[string]string{"code": oldCode})
	if r.Status != http.StatusOK || r.verification(t).Status != "canceled" {
		t.Fatalf("old code on the older verification: %d %s", r.Status, r.Body)
	}
	r = s.call(t, "POST", "/v1/verifications/"+fresh.ID+"/check", s.acme, map[string]string{"code": oldCode})
	if v := r.verification(t); oldCode != freshCode && v.Status == "approved" {
		t.Fatalf("the old code approved the new verification: %s", r.Body)
	}
	r = s.call(t, "POST", "/v1/verifications/"+fresh.ID+"/check", s.acme, map[string]string{"code": freshCode})
	if v := r.verification(t); v.Status != "approved" {
		t.Fatalf("new code: %d %s", r.Status, r.Body)
	}
}
