package e2e

import (
	"slices"
	"testing"
	"time"

	"github.com/veriflow/veriflow/client"
)

// goalStart starts a verification with the Go client and the acme test key;
// it never supersedes, so the cases may share a number.
func goalStart(t *testing.T, c *client.Client, phone string, channels []string, goal string) client.Verification {
	t.Helper()
	no := false
	v, _, err := c.Start(t.Context(), client.StartRequest{Kind: "signup", To: client.Destinations{Phone: phone},
		Channels: channels, ChannelGoal: goal, ChannelTimeoutSeconds: 5, Supersede: &no})
	if err != nil || v.Status != "pending" {
		t.Fatalf("start answered %+v, %v", v, err)
	}
	return v
}

// approveWithSandboxCode checks the code the sandbox received and expects
// the verification approved.
func (s *stack) approveWithSandboxCode(t *testing.T, c *client.Client, phone, id string) client.Verification {
	t.Helper()
	code := s.sandboxCode(t, s.acme, phone, id)
	v, err := c.Check(t.Context(), id, client.CheckRequest{Code: code})
	if err != nil || !v.Approved() {
		t.Fatalf("check answered %+v, %v", v, err)
	}
	return v
}

// sentGap is the time between two attempts' sends.
func sentGap(t *testing.T, v client.Verification, i, j int) time.Duration {
	t.Helper()
	if v.Attempts[i].SentAt == nil || v.Attempts[j].SentAt == nil {
		t.Fatalf("attempts %d and %d not both sent: %+v", i, j, v.Attempts)
	}
	return v.Attempts[j].SentAt.Sub(*v.Attempts[i].SentAt)
}

// TestChannelGoalRead runs the sandbox numbers of the channel goal and the
// new channels through the API: with "channel_goal": "read", WhatsApp and
// RCS delivered but never read (+15005550005) fail over after the channel
// timeout with "not_read", and SMS (no reads) counts delivery; with the
// default goal the same number stays on WhatsApp.
func TestChannelGoalRead(t *testing.T) {
	s := need(t)
	c := client.New(s.server.URL, s.acme, nil)
	const neverRead = "+15005550005"
	plan := []string{"whatsapp", "rcs", "sms"}
	byDefault := goalStart(t, c, neverRead, plan, "")
	read := goalStart(t, c, neverRead, plan, "read")

	want := []attemptWant{{"whatsapp", "delivered", "not_read"}, {"rcs", "delivered", "not_read"}, {"sms", "delivered", ""}}
	got := waitClient(t, c, read.ID, 45*time.Second, "whatsapp → rcs → sms, each left unread", func(v client.Verification) bool {
		return slices.Equal(clientAttempts(v), want)
	})
	for i, a := range got.Attempts {
		if a.DeliveredAt == nil || a.ReadAt != nil {
			t.Errorf("attempt %d (%s): delivered_at %v, read_at %v; want delivered, never read", i, a.Channel, a.DeliveredAt, a.ReadAt)
		}
	}
	// Each channel had its whole timeout to be read, though delivered at once.
	for i := range 2 {
		if gap := sentGap(t, got, i, i+1); gap < 5*time.Second {
			t.Errorf("%s left after %v, before its 5 s timeout", got.Attempts[i].Channel, gap)
		}
	}

	// Meanwhile the default goal was met by the delivery: still on WhatsApp,
	// though its timeout passed (it started first) — twice over.
	if v, err := c.Get(t.Context(), byDefault.ID); err != nil || v.Status != "pending" ||
		!slices.Equal(clientAttempts(v), []attemptWant{{"whatsapp", "delivered", ""}}) {
		t.Fatalf("default goal: %+v, %v", v, err)
	}
	s.approveWithSandboxCode(t, c, neverRead, read.ID)
	s.approveWithSandboxCode(t, c, neverRead, byDefault.ID)
	s.recordHistory(t, "goal_read_never_read", read.ID)
}

// TestChannelGoalReadIsMetByARead: a number that reads (any other) meets the
// read goal on WhatsApp; the attempt shows when it was delivered and read.
func TestChannelGoalReadIsMetByARead(t *testing.T) {
	s := need(t)
	c := client.New(s.server.URL, s.acme, nil)
	const reader = "+393331230055"
	v := goalStart(t, c, reader, []string{"whatsapp", "sms"}, "read")
	got := waitClient(t, c, v.ID, 20*time.Second, "whatsapp read", func(v client.Verification) bool {
		return slices.Equal(clientAttempts(v), []attemptWant{{"whatsapp", "read", ""}})
	})
	a := got.Attempts[0]
	if a.DeliveredAt == nil || a.ReadAt == nil || a.ReadAt.Before(*a.DeliveredAt) || a.DeliveredAt.Before(*a.SentAt) {
		t.Fatalf("read attempt: sent_at %v, delivered_at %v, read_at %v", a.SentAt, a.DeliveredAt, a.ReadAt)
	}
	approved := s.approveWithSandboxCode(t, c, reader, v.ID)
	if !slices.Equal(clientAttempts(approved), []attemptWant{{"whatsapp", "read", ""}}) {
		t.Fatalf("approved after a failover: %+v", approved.Attempts)
	}
	s.recordHistory(t, "goal_read_read", v.ID)
}

// TestNewChannelsSandboxNumbers: RCS not capable fails over at once;
// voice not answered fails the verification when it is the only channel,
// and is never reached when SMS before it is delivered.
func TestNewChannelsSandboxNumbers(t *testing.T) {
	s := need(t)
	c := client.New(s.server.URL, s.acme, nil)

	t.Run("rcs not capable", func(t *testing.T) {
		t.Parallel()
		const phone = "+15005550004"
		v := goalStart(t, c, phone, []string{"rcs", "sms"}, "")
		got := waitClient(t, c, v.ID, 20*time.Second, "rcs failed, sms delivered", func(v client.Verification) bool {
			return slices.Equal(clientAttempts(v), []attemptWant{{"rcs", "failed", "rcs_not_capable"}, {"sms", "delivered", ""}})
		})
		if gap := sentGap(t, got, 0, 1); gap >= 5*time.Second {
			t.Errorf("sms sent %v after rcs: the refusal should fail over at once", gap)
		}
		s.approveWithSandboxCode(t, c, phone, v.ID)
		s.recordHistory(t, "sandbox_rcs_not_capable", v.ID)
	})
	t.Run("voice no answer, only channel", func(t *testing.T) {
		t.Parallel()
		const phone = "+15005550007"
		v := goalStart(t, c, phone, []string{"voice"}, "")
		got := waitClient(t, c, v.ID, 20*time.Second, "voice not answered, verification failed", func(v client.Verification) bool {
			return v.Status == "failed" && slices.Equal(clientAttempts(v), []attemptWant{{"voice", "failed", "no_answer"}})
		})
		if got.CompletedAt == nil {
			t.Fatal("failed verification without completed_at")
		}
		s.recordHistory(t, "sandbox_voice_no_answer", v.ID)
	})
	t.Run("sms before voice", func(t *testing.T) {
		t.Parallel()
		const phone = "+15005550007"
		v := goalStart(t, c, phone, []string{"sms", "voice"}, "")
		waitClient(t, c, v.ID, 20*time.Second, "sms delivered", func(v client.Verification) bool {
			return slices.Equal(clientAttempts(v), []attemptWant{{"sms", "delivered", ""}})
		})
		approved := s.approveWithSandboxCode(t, c, phone, v.ID)
		if !slices.Equal(clientAttempts(approved), []attemptWant{{"sms", "delivered", ""}}) {
			t.Fatalf("voice was called after a delivered sms: %+v", approved.Attempts)
		}
	})
}
