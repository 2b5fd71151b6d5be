package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/veriflow/veriflow/internal/contract"
)

// TestRiskSandboxScripts: a test key's scripted numbers play the fraud
// engine's decisions, so an integration can test its handling of them: a
// challenge keeps WhatsApp only (a resend by SMS is 403 blocked), a block
// is 403 blocked with the risk and stores nothing; any other number is
// allowed.
func TestRiskSandboxScripts(t *testing.T) {
	s := need(t)
	v := s.start(t, s.acme, map[string]any{"kind": "two_factor", "to": map[string]string{"phone": "+15005550000"}})
	if v.Risk == nil || v.Risk.Decision != "allow" || len(v.Risk.Reasons) != 0 {
		t.Fatalf("ordinary start risk %+v", v.Risk)
	}
	v = s.start(t, s.acme, map[string]any{"kind": "two_factor", "to": map[string]string{"phone": "+15005550008"}})
	if v.Risk == nil || v.Risk.Decision != "challenge" || v.Risk.Mode != "shadow" {
		t.Fatalf("challenge script risk %+v", v.Risk)
	}
	// The suite's deployment runs the engine in shadow mode, so the plan
	// is kept: the script's decision is recorded, not acted on.
	k, err := s.server.CreateKey(context.Background(), "riskscript", contract.ModeTest)
	if err != nil {
		t.Fatal(err)
	}
	v = s.start(t, k, map[string]any{"kind": "two_factor", "to": map[string]string{"phone": "+15005550008"}})
	if v.Risk == nil || v.Risk.Decision != "challenge" || v.Risk.Mode != "enforce" {
		t.Fatalf("enforced challenge script risk %+v", v.Risk)
	}
	got := s.waitFor(t, k, v.ID, 10*time.Second, "a first attempt", func(v verification) bool { return len(v.Attempts) > 0 })
	if got.Attempts[0].Channel != "whatsapp" {
		t.Fatalf("challenged verification sent by %s", got.Attempts[0].Channel)
	}
	r := s.call(t, "POST", "/v1/verifications/"+v.ID+"/resend", k, map[string]any{"channel": "sms"})
	if r.Status != http.StatusForbidden || r.problem(t).Code != "blocked" {
		t.Fatalf("resend by SMS of a challenged verification: %d %s", r.Status, r.Body)
	}
	r = s.call(t, "POST", "/v1/verifications", k, map[string]any{"kind": "two_factor", "to": map[string]string{"phone": "+15005550009"}})
	if r.Status != http.StatusForbidden || r.problem(t).Code != "blocked" || !strings.Contains(string(r.Body), `"decision":"block"`) {
		t.Fatalf("block script: %d %s", r.Status, r.Body)
	}
}

// TestRiskEnforcedOnLiveTraffic pumps one 5-digit block of numbers through
// HTTP with a live key of a tenant whose engine enforces: the floor's worth
// of starts is allowed, the next ones are challenged, then blocked; the
// report lists the challenged ones with their values and thresholds, and
// the metrics count the decisions.
func TestRiskEnforcedOnLiveTraffic(t *testing.T) {
	s := need(t)
	key, err := s.server.CreateKey(context.Background(), "riskpump", contract.ModeLive)
	if err != nil {
		t.Fatal(err)
	}
	suffix := time.Now().UnixNano() % 1000
	decisions := map[string]int{}
	for i := range 30 {
		r := s.call(t, "POST", "/v1/verifications", key, map[string]any{"kind": "two_factor",
			"to": map[string]string{"phone": fmt.Sprintf("+4474009%03d%02d", suffix, i)}})
		switch r.Status {
		case http.StatusCreated:
			v := r.verification(t)
			decisions[v.Risk.Decision]++
		case http.StatusForbidden:
			if p := r.problem(t); p.Code != "blocked" {
				t.Fatalf("403 %s", r.Body)
			}
			decisions["block"]++
		default:
			t.Fatalf("start %d: %d %s", i, r.Status, r.Body)
		}
	}
	if decisions["allow"] != 6 || decisions["challenge"] == 0 || decisions["block"] == 0 {
		t.Fatalf("decisions %v: want 6 allowed (the 5-digit block's hourly floor), then challenges, then blocks", decisions)
	}
	r := s.call(t, "GET", "/v1/risk/report", key, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("report: %d %s", r.Status, r.Body)
	}
	var rep struct {
		Mode          string `json:"mode"`
		Verifications []struct {
			Decision string `json:"decision"`
			Reasons  []struct {
				Signal    string  `json:"signal"`
				Scope     string  `json:"scope"`
				Key       string  `json:"key"`
				Value     float64 `json:"value"`
				Threshold float64 `json:"threshold"`
			} `json:"reasons"`
		} `json:"verifications"`
	}
	r.decode(t, &rep)
	if rep.Mode != "enforce" || len(rep.Verifications) != decisions["challenge"] {
		t.Fatalf("report %s", r.Body)
	}
	oldest := rep.Verifications[len(rep.Verifications)-1]
	x := oldest.Reasons[0]
	if x.Scope != "prefix_long" || x.Key != "+44-74009" || x.Value <= x.Threshold || x.Threshold != 6 {
		t.Fatalf("reason %+v", x)
	}
	m := s.call(t, "GET", "/metrics", "", nil)
	if !strings.Contains(string(m.Body), `veriflow_risk_decisions_total{decision="challenge",mode="enforce"}`) ||
		!strings.Contains(string(m.Body), `veriflow_risk_reasons_total{mode="enforce",scope="prefix_long",signal="unverified_hour"}`) {
		t.Fatal("risk metrics missing")
	}
}
