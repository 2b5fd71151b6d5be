package events_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/events"
)

func TestEventsSignature(t *testing.T) {
	secret := events.NewSecret()
	body := []byte(`{"id":"evt_1"}`)
	now := time.Unix(1_800_000_000, 0)
	h := events.Sign(secret, now, body)
	ts, v1, ok := strings.Cut(strings.TrimPrefix(h, "t="), ",v1=")
	if !ok || ts != "1800000000" {
		t.Fatalf("header %q", h)
	}
	if want := hmacHex(secret, ts+"."+string(body)); v1 != want {
		t.Fatalf("v1 %s, want %s", v1, want)
	}
	if err := events.Verify(secret, h, body, now.Add(time.Minute), 5*time.Minute); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		secret, header string
		body           []byte
		now            time.Time
	}{
		"stale":        {secret, h, body, now.Add(6 * time.Minute)},
		"future":       {secret, h, body, now.Add(-6 * time.Minute)},
		"forged":       {events.NewSecret(), h, body, now},
		"changed body": {secret, h, []byte(`{"id":"evt_2"}`), now},
		"no v1":        {secret, "t=1800000000", body, now},
		"other t":      {secret, strings.Replace(h, "t=1800000000", "t=1800000001", 1), body, now},
		"empty":        {secret, "", body, now},
	} {
		if err := events.Verify(c.secret, c.header, c.body, c.now, 5*time.Minute); !errors.Is(err, events.ErrSignature) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestCallbackURL(t *testing.T) {
	for _, u := range []string{"https://hooks.example.com/veriflow", "http://127.0.0.1:8080/x", "http://localhost/x", "http://[::1]:1/x"} {
		if err := events.ValidateURL(u); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	for _, u := range []string{"", "http://hooks.example.com/x", "ftp://x.example/", "https://user:pw@x.example/", "/relative",
		"https://x.example/#frag", "https://", "mailto:a@example.com", "https://x.example/" + strings.Repeat("a", 3000)} {
		if err := events.ValidateURL(u); err == nil {
			t.Errorf("%q accepted", u)
		}
	}
}

func TestWorkflowIDs(t *testing.T) {
	if got := events.WorkflowID("vf_01J", 42); got != "event/vf_01J/42" {
		t.Errorf("WorkflowID: %s", got)
	}
	if got := events.ResendWorkflowID("vf_01J", 42, time.Unix(1, 5)); got != "event/vf_01J/42/resend/1000000005" {
		t.Errorf("ResendWorkflowID: %s", got)
	}
	if got := events.EventID(42); got != "evt_42" {
		t.Errorf("EventID: %s", got)
	}
	for _, s := range []string{"evt_0", "evt_", "evt_042", "42", "evt_-1", "evt_99999999999999999999"} {
		if _, ok := events.ParseEventID(s); ok {
			t.Errorf("ParseEventID(%q) accepted", s)
		}
	}
	if id, ok := events.ParseEventID("evt_42"); !ok || id != 42 {
		t.Errorf("ParseEventID(evt_42) = %d, %v", id, ok)
	}
}

// TestBodyAround: the body a store completes around the id it learns on
// insert is, byte for byte, the body of that id.
func TestBodyAround(t *testing.T) {
	at := time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC)
	st := contract.State{Status: contract.StatusApproved, Channel: contract.ChannelSMS, ChecksLeft: 4, Version: 7,
		Attempts: []contract.Attempt{{Channel: contract.ChannelWhatsApp, Status: contract.AttemptFailed, Error: "not_on_whatsapp"},
			{Channel: contract.ChannelSMS, Status: contract.AttemptDelivered}}}
	e := contract.Event{Type: contract.EventApproved, At: at, Detail: `"id":"evt_0"`}
	head, tail, err := events.BodyAround("ver_01", e, st)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{1, 9, 10, 12345678901234} {
		want, err := events.Body(id, "ver_01", e, st)
		if err != nil {
			t.Fatal(err)
		}
		got := string(head) + events.EventID(id) + string(tail)
		if got != string(want) {
			t.Fatalf("id %d:\n got %s\nwant %s", id, got, want)
		}
	}
}
