package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/veriflow/veriflow/internal/otp"
	"github.com/veriflow/veriflow/internal/providers/sandbox"
)

// veriflowTarget drives the full path through Veriflow's HTTP API, as a
// product backend would: start a signup verification to the sandbox number
// that delivers, then — after the think time in which the person reads the
// code — check it. The code is derived from the server secret, standing for
// the person's phone (reading it from the sandbox API would add a request
// the real path does not have).
type veriflowTarget struct {
	url, key string
	secrets  *otp.Secrets
	http     *http.Client
	wait     time.Duration
	// pending keeps verifications open: start only, no check.
	pending bool
}

func newVeriflowTarget(s *Stack, wait time.Duration) *veriflowTarget {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 4096, 4096
	return &veriflowTarget{url: s.APIURL, key: s.APIKey, secrets: s.Secrets, wait: wait,
		http: &http.Client{Transport: tr, Timeout: time.Minute}}
}

func (v *veriflowTarget) Name() string { return "veriflow" }

// startBody is a signup to the sandbox's always-delivering number; its
// rate limits are lifted for the benchmark tenant and supersede is off so
// concurrent verifications to the one number do not cancel each other.
var startBody = []byte(`{"kind":"signup","to":{"phone":"` + sandbox.PhoneAllDelivered + `"},"supersede":false}`)

// pendingBody keeps a verification waiting: WhatsApp to the sandbox number
// that never confirms delivery, 15 minutes before failover and an hour
// before expiry (the longest the API allows).
var pendingBody = []byte(`{"kind":"signup","to":{"phone":"` + sandbox.PhoneWhatsAppSilent + `"},"supersede":false,` +
	`"channel_timeout_seconds":900,"ttl_seconds":3600}`)

type verificationView struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

// Verify runs one verification start to approval.
func (v *veriflowTarget) Verify(ctx context.Context) (Sample, error) {
	body := startBody
	if v.pending {
		body = pendingBody
	}
	t0 := time.Now()
	var started verificationView
	shed, err := v.post(ctx, "/v1/verifications", body, http.StatusCreated, &started)
	if err != nil {
		return Sample{}, fmt.Errorf("start: %w", err)
	}
	s := Sample{Start: time.Since(t0), ID: started.ID, Began: t0, Shed: shed}
	if v.pending {
		return s, nil
	}
	if err := think(ctx, v.wait); err != nil {
		return s, err
	}
	code := v.secrets.Code(started.ID, 0, "", 6)
	t1 := time.Now()
	var checked verificationView
	shed, err = v.post(ctx, "/v1/verifications/"+started.ID+"/check", []byte(`{"code":"`+code+`"}`), http.StatusOK, &checked)
	s.Shed += shed
	if err != nil {
		return s, fmt.Errorf("check: %w", err)
	}
	s.Check = time.Since(t1)
	if checked.Status != "approved" {
		return s, fmt.Errorf("check: status %q, want approved", checked.Status)
	}
	return s, nil
}

// maxShed bounds how many times one request is asked again after a 429 or
// 503 with Retry-After.
const maxShed = 30

// post sends body to path and decodes the answer into out. An answer 429
// or 503 with Retry-After (the API shedding load) is honoured: the caller
// waits that long and asks again, as a well-behaved backend would; shed
// says how many times. No Idempotency-Key is sent (none was before, and
// its lookup would change the measured work): a shed request did no work,
// and a start answered 503 by the use case deleted its row.
func (v *veriflowTarget) post(ctx context.Context, path string, body []byte, want int, out any) (shed int, err error) {
	for {
		status, after, err := v.postOnce(ctx, path, body, want, out)
		if err == nil || after <= 0 || shed >= maxShed || (status != http.StatusTooManyRequests && status != http.StatusServiceUnavailable) {
			return shed, err
		}
		shed++
		if err := think(ctx, after); err != nil {
			return shed, err
		}
	}
}

// postOnce is one try of post; after is the answer's Retry-After (0: none).
func (v *veriflowTarget) postOnce(ctx context.Context, path string, body []byte, want int, out any) (status int, after time.Duration, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.url+path, bytes.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+v.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := v.http.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return resp.StatusCode, 0, err
	}
	if resp.StatusCode != want {
		if sec, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && sec >= 0 {
			after = max(time.Duration(sec)*time.Second, 50*time.Millisecond)
		}
		return resp.StatusCode, after, fmt.Errorf("HTTP %d: %.200s", resp.StatusCode, b)
	}
	return resp.StatusCode, 0, json.Unmarshal(b, out)
}
