// Package chaos holds Veriflow's chaos test (TestChaos): hundreds of
// sandbox verifications driven through the HTTP API while the test kills -9
// and restarts the worker, the API and the Temporal dev server (file-backed)
// and pauses Postgres, then checks that every verification reaches the
// final state its sandbox script implies and every receipt is applied.
//
// It runs only with VERIFLOW_CHAOS=1 (make chaos, make chaos-short).
package chaos
