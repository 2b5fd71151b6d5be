// Package uitest holds the browser test of the Temporal Web UI: it runs
// Veriflow (API, worker, codec server) against a Temporal dev server with
// its UI and a throwaway Postgres, drives a verification to approved over
// HTTP, then opens the UI in headless Chromium (Debian's chromium, through
// chromedp), filters by VerificationKind, opens the workflow and checks
// that its summary and its payloads, decoded by the codec server, show.
// It saves a full-page screenshot.
//
// The package has no non-test code; everything lives in its _test files.
package browser
