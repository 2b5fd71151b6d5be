package delivery

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/events"
	"github.com/veriflow/veriflow/internal/otp"
	"github.com/veriflow/veriflow/internal/store"
	"github.com/veriflow/veriflow/internal/store/storetest"
)

// receiver verifies deliveries the way a tenant would: HMAC-SHA256 of
// t + "." + body with the secret, computed here from scratch.
type receiver struct {
	secret string
	mu     sync.Mutex
	status []int // answers to give in order; then 200
	got    []http.Header
	bodies [][]byte
	bad    int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if r.Header.Get("Content-Type") != "application/json" || events.Verify(rc.secret, r.Header.Get("Veriflow-Signature"), body, time.Now(), 5*time.Minute) != nil {
		rc.bad++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	rc.got = append(rc.got, r.Header.Clone())
	rc.bodies = append(rc.bodies, body)
	if len(rc.status) > 0 {
		code := rc.status[0]
		rc.status = rc.status[1:]
		w.WriteHeader(code)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func TestEventsPost(t *testing.T) {
	ctx := t.Context()
	st := storetest.Open(t)
	secrets, err := otp.New(bytes.Repeat([]byte("k"), otp.MinSecretLen))
	if err != nil {
		t.Fatal(err)
	}
	secret := events.NewSecret()
	rc := &receiver{secret: secret, status: []int{500, 302}}
	srv := httptest.NewServer(rc)
	defer srv.Close()

	if err := st.EnsureTenant(ctx, "t1", "t1"); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if _, _, err := st.InsertVerification(ctx, store.StartRequest{Verification: store.Verification{ID: "vf_pe1", TenantID: "t1",
		Mode: contract.ModeTest, Kind: contract.KindSignup, Status: contract.StatusPending, ChecksLeft: 5, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	sealed, err := secrets.Seal([]byte(secret), events.SecretAAD("t1"))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetCallback(ctx, "t1", srv.URL+"/hook", sealed); err != nil {
		t.Fatal(err)
	}
	posts := outcomes{}
	a := &Activities{Store: st, Secrets: secrets, Log: slog.New(slog.DiscardHandler), Metrics: posts}
	ids, err := st.Record(ctx, contract.RecordInput{VerificationID: "vf_pe1", TenantID: "t1",
		State:  contract.State{Status: contract.StatusApproved, Channel: contract.ChannelSMS, ChecksLeft: 4, Version: 1},
		Events: []contract.Event{{Type: contract.EventApproved, At: now}}}, nil)
	if err != nil || len(ids) != 1 {
		t.Fatalf("queued: %v %v", ids, err)
	}
	id := ids[0]

	retryable := func(err error, what string) {
		t.Helper()
		var appErr *temporal.ApplicationError
		if !errors.As(err, &appErr) || appErr.NonRetryable() || appErr.Type() != ErrTypeCallbackFailed {
			t.Fatalf("%s: want a retryable CallbackFailed error, got %v", what, err)
		}
	}
	// 500: recorded, retryable.
	retryable(a.PostEvent(ctx, id), "500")
	ev, _ := st.GetOutboundEvent(ctx, id)
	if ev.Status != store.OutboundPending || ev.Attempts != 1 || ev.LastStatus == nil || *ev.LastStatus != 500 || ev.LastError != "HTTP 500" {
		t.Fatalf("after 500: %+v", ev)
	}
	// A redirect is not followed and not an acknowledgement.
	retryable(a.PostEvent(ctx, id), "302")
	// 200: delivered.
	if err := a.PostEvent(ctx, id); err != nil {
		t.Fatal(err)
	}
	ev, _ = st.GetOutboundEvent(ctx, id)
	if ev.Status != store.OutboundDelivered || ev.Attempts != 3 || *ev.LastStatus != 200 || ev.DeliveredAt == nil {
		t.Fatalf("after 200: %+v", ev)
	}
	// Delivered: a retried activity posts nothing again.
	if err := a.PostEvent(ctx, id); err != nil {
		t.Fatal(err)
	}
	rc.mu.Lock()
	if rc.bad != 0 || len(rc.got) != 3 {
		t.Fatalf("receiver: %d bad, %d good", rc.bad, len(rc.got))
	}
	for i, h := range rc.got {
		if h.Get("Veriflow-Event-Id") != events.EventID(id) || !bytes.Equal(rc.bodies[i], ev.Body) {
			t.Fatalf("delivery %d: %v %s", i, h, rc.bodies[i])
		}
	}
	rc.mu.Unlock()

	// A forged secret: the receiver refuses, the event stays pending.
	if err := st.ResendOutboundEvent(ctx, "t1", "vf_pe1", id, "wf2"); err != nil {
		t.Fatal(err)
	}
	forged, _ := secrets.Seal([]byte(events.NewSecret()), events.SecretAAD("t1"))
	if err := st.SetCallback(ctx, "t1", srv.URL+"/hook", forged); err != nil {
		t.Fatal(err)
	}
	retryable(a.PostEvent(ctx, id), "forged")
	if ev, _ := st.GetOutboundEvent(ctx, id); ev.Status != store.OutboundPending || *ev.LastStatus != 401 {
		t.Fatalf("after forged: %+v", ev)
	}
	// A secret sealed for another tenant does not open.
	other, _ := secrets.Seal([]byte(secret), events.SecretAAD("t2"))
	if err := st.SetCallback(ctx, "t1", srv.URL+"/hook", other); err != nil {
		t.Fatal(err)
	}
	nonRetryable(t, a.PostEvent(ctx, id), "secret of another tenant")
	if ev, _ := st.GetOutboundEvent(ctx, id); ev.Status != store.OutboundFailed {
		t.Fatalf("after unreadable secret: %+v", ev)
	}

	// No callback any more: marked failed, not retried.
	if err := st.ResendOutboundEvent(ctx, "t1", "vf_pe1", id, "wf3"); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteCallback(ctx, "t1"); err != nil {
		t.Fatal(err)
	}
	nonRetryable(t, a.PostEvent(ctx, id), "no callback")
	if ev, _ := st.GetOutboundEvent(ctx, id); ev.Status != store.OutboundFailed || ev.LastError != "no callback registered" {
		t.Fatalf("after delete: %+v", ev)
	}
	nonRetryable(t, a.PostEvent(ctx, 1<<40), "no such event")

	// 500, 302 and the forged secret failed; one delivery; two given up.
	if want := (outcomes{"failed": 3, "delivered": 1, "given_up": 2}); !maps.Equal(posts, want) {
		t.Errorf("observed outcomes %v, want %v", posts, want)
	}
}

// outcomes counts the outcomes PostEvent reports.
type outcomes map[string]int

func (o outcomes) ObserveEventPost(outcome string) { o[outcome]++ }

func TestEventsPostTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the post timeout")
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	st := storetest.Open(t)
	// A receiver that never answers within the client's timeout.
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
	defer srv.Close()
	defer close(block)
	secrets, _ := otp.New(bytes.Repeat([]byte("k"), otp.MinSecretLen))
	_ = st.EnsureTenant(ctx, "t1", "t1")
	now := time.Now().UTC()
	if _, _, err := st.InsertVerification(ctx, store.StartRequest{Verification: store.Verification{ID: "vf_pe2", TenantID: "t1",
		Mode: contract.ModeTest, Kind: contract.KindSignup, Status: contract.StatusPending, ChecksLeft: 5, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	sealed, _ := secrets.Seal([]byte("s"), events.SecretAAD("t1"))
	_ = st.SetCallback(ctx, "t1", srv.URL, sealed)
	ids, err := st.Record(ctx, contract.RecordInput{VerificationID: "vf_pe2", TenantID: "t1",
		State: contract.State{Status: contract.StatusExpired, Version: 1}, Events: []contract.Event{{Type: contract.EventExpired, At: now}}}, nil)
	if err != nil || len(ids) != 1 {
		t.Fatal(ids, err)
	}
	a := &Activities{Store: st, Secrets: secrets, Log: slog.New(slog.DiscardHandler), HTTPClient: &http.Client{Timeout: 200 * time.Millisecond}}
	err = a.PostEvent(ctx, ids[0])
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.NonRetryable() {
		t.Fatalf("want retryable, got %v", err)
	}
	if ev, _ := st.GetOutboundEvent(ctx, ids[0]); ev.Attempts != 1 || ev.LastStatus != nil || ev.LastError == "" || strings.Contains(ev.LastError, "127.0.0.1") {
		t.Fatalf("after timeout: %+v", ev)
	}
}

func nonRetryable(t *testing.T, err error, what string) {
	t.Helper()
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || !appErr.NonRetryable() || appErr.Type() != ErrTypeEventUndeliverable {
		t.Fatalf("%s: want a non-retryable EventUndeliverable error, got %v", what, err)
	}
}
