package e2e

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/veriflow/veriflow/client"
)

// TestGoClient drives a verification with the Go client: start (and an
// idempotent replay), sandbox code, wrong code, typed errors, approval.
func TestGoClient(t *testing.T) {
	s := need(t)
	ctx := context.Background()
	c := client.New(s.server.URL, s.newTenantKey(t, "client"), nil)
	req := client.StartRequest{Kind: "transaction", To: client.Destinations{Phone: "+15005550000"},
		Transaction: &client.Transaction{Amount: "12.00", Currency: "EUR", Payee: "Shop"}, IdempotencyKey: "client-1"}
	v, replay, err := c.Start(ctx, req)
	if err != nil || replay || v.Status != "pending" {
		t.Fatalf("start: %+v %v %v", v, replay, err)
	}
	again, replay, err := c.Start(ctx, req)
	if err != nil || !replay || again.ID != v.ID {
		t.Fatalf("replay: %+v %v %v", again, replay, err)
	}
	code := poll(t, 10*time.Second, "the sandbox message", func() string {
		msgs, err := c.SandboxMessages(ctx, "+15005550000")
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if m.VerificationID == v.ID {
				return m.Code
			}
		}
		return ""
	}, func(code string) bool { return code != "" })
	tx := &client.Transaction{Amount: "12", Currency: "EUR", Payee: "Shop"}
	other := &client.Transaction{Amount: "120", Currency: "EUR", Payee: "Shop"}
	if _, err := c.Check(ctx, v.ID, client.CheckRequest{Code: code, Transaction: other}); !client.IsCode(err, "binding_mismatch") {
		t.Fatalf("mismatch: %v", err)
	}
	var apiErr *client.Error
	if _, err := c.Check(ctx, v.ID, client.CheckRequest{Code: "12"}); !errors.As(err, &apiErr) || apiErr.Status != 400 || len(apiErr.Errors) == 0 {
		t.Fatalf("bad code: %v", err)
	}
	if _, err := c.Get(ctx, "vf_nope"); !client.IsCode(err, "not_found") {
		t.Fatalf("get unknown: %v", err)
	}
	got, err := c.Check(ctx, v.ID, client.CheckRequest{Code: code, Transaction: tx})
	if err != nil || !got.Approved() || !got.Final() || got.ChecksLeft != 2 {
		t.Fatalf("check: %+v %v", got, err)
	}
	if _, err := c.Resend(ctx, v.ID, ""); !client.IsCode(err, "not_pending") {
		t.Fatalf("resend after approval: %v", err)
	}
}
