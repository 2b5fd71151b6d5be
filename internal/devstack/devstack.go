// Package devstack runs Veriflow and its dependencies on one machine, for
// `veriflow dev`, the benchmark and the end-to-end and browser tests: Start
// builds the whole stack (a throwaway PostgreSQL, a Temporal dev server
// with its Web UI, fresh keys, the migrated schema, the worker and the API),
// each dependency unless an existing one is named; StartTemporal runs the
// pinned Temporal CLI's dev server alone.
package devstack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// FreePort returns a free TCP port on the loopback interface.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("devstack: free port: %w", err)
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// WaitHTTP polls url until it answers 200 or timeout passes (a service
// started by a test or a benchmark becoming ready).
func WaitHTTP(ctx context.Context, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return errors.Join(fmt.Errorf("%s not ready after %s", url, timeout), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
