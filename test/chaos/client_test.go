package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"
)

// apiClient calls the Veriflow API and retries, with backoff, whatever a
// crash or a paused dependency can cause: transport errors, 5xx and 429.
// Starts carry an Idempotency-Key, so a retried start never makes a second
// verification.
type apiClient struct {
	bases     []string // the APIs, used in turn; a transport error moves on to the next, as a load balancer would
	rr        atomic.Int64
	key       string
	hc        *http.Client
	calls     atomic.Int64
	retries   atomic.Int64
	failovers atomic.Int64
}

func newAPIClient(key string, bases ...string) *apiClient {
	tr := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: 30 * time.Second}
	return &apiClient{bases: bases, key: key, hc: &http.Client{Transport: tr}}
}

// call sends one request until it gets an answer that is not a transient
// failure, or ctx is done. It returns the status and body of that answer.
func (c *apiClient) call(ctx context.Context, method, path string, body []byte, idem string) (int, []byte, error) {
	backoff := 100 * time.Millisecond
	var last string
	base := c.bases[int(c.rr.Add(1))%len(c.bases)]
	for {
		c.calls.Add(1)
		status, b, wait, err := c.once(ctx, base+path, method, body, idem)
		if err == nil && status < 500 && status != http.StatusTooManyRequests {
			return status, b, nil
		}
		if err != nil {
			last = err.Error()
		} else {
			last = fmt.Sprintf("%d %s", status, b)
		}
		if ctx.Err() != nil {
			return 0, nil, fmt.Errorf("%s %s: gave up (%w); last answer: %s", method, path, ctx.Err(), last)
		}
		c.retries.Add(1)
		if err != nil && len(c.bases) > 1 {
			// Connection refused or reset: the load balancer sends the
			// retry to another API at once.
			base = c.bases[int(c.rr.Add(1))%len(c.bases)]
			c.failovers.Add(1)
		}
		d := backoff/2 + rand.N(backoff/2+1)
		if wait > d {
			d = wait
		}
		if !sleepCtx(ctx, d) {
			return 0, nil, fmt.Errorf("%s %s: gave up (%w); last answer: %s", method, path, ctx.Err(), last)
		}
		backoff = min(backoff*2, 3*time.Second)
	}
}

// try sends one request once, to the next API: no retry (a wrong code
// typed once; a retry after a 503 could count it twice).
func (c *apiClient) try(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	c.calls.Add(1)
	status, b, _, err := c.once(ctx, c.bases[int(c.rr.Add(1))%len(c.bases)]+path, method, body, "")
	return status, b, err
}

func (c *apiClient) once(ctx context.Context, target, method string, body []byte, idem string) (int, []byte, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return 0, nil, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if idem != "" {
		req.Header.Set("Idempotency-Key", idem)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, 0, err
	}
	var wait time.Duration
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		wait = min(time.Duration(s)*time.Second, 10*time.Second)
	}
	return resp.StatusCode, b, wait, nil
}

// verification is the part of the API's verification object the test reads.
type verification struct {
	ID       string    `json:"id"`
	Status   string    `json:"status"`
	Attempts []attempt `json:"attempts"`
}

type attempt struct {
	Channel string `json:"channel"`
	Status  string `json:"status"`
	Error   string `json:"error"`
}

func (c *apiClient) get(ctx context.Context, id string) (verification, error) {
	var v verification
	status, b, err := c.call(ctx, http.MethodGet, "/v1/verifications/"+id, nil, "")
	if err != nil {
		return v, err
	}
	if status != http.StatusOK {
		return v, fmt.Errorf("get %s: %d %s", id, status, b)
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return v, fmt.Errorf("get %s: %w", id, err)
	}
	return v, nil
}

// sandboxCode returns the code of the sandbox message of verification id on
// channel ch, or "" if there is none yet.
func (c *apiClient) sandboxCode(ctx context.Context, to, id, ch string) (string, error) {
	status, b, err := c.call(ctx, http.MethodGet, "/v1/sandbox/messages?limit=200&to="+url.QueryEscape(to), nil, "")
	if err != nil {
		return "", err
	}
	if status != http.StatusOK {
		return "", fmt.Errorf("sandbox messages: %d %s", status, b)
	}
	var out struct {
		Messages []struct {
			VerificationID string `json:"verification_id"`
			Channel        string `json:"channel"`
			Code           string `json:"code"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return "", fmt.Errorf("sandbox messages: %w", err)
	}
	for _, m := range out.Messages {
		if m.VerificationID == id && m.Channel == ch {
			return m.Code, nil
		}
	}
	return "", nil
}
