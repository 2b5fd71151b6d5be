// Package chaos holds Veriflow's chaos tests: hundreds of verifications
// driven through the HTTP API while processes are killed -9 and restarted,
// then checks that every verification reaches the final state its script
// implies, that receipts and events are not lost, and counts duplicate
// sends.
//
// TestChaosProd (make chaos, make chaos-short) runs the production
// topology: the Temporal server on Postgres, two APIs and two workers, the
// real Twilio and Meta adapters against fake endpoints, kill -9 of an API,
// a worker and the Temporal server, and a Postgres restart. TestChaos (make
// chaos-dev, make chaos-dev-short) runs one API, one worker and the
// Temporal dev server, and pauses Postgres.
//
// They run only with VERIFLOW_CHAOS=1.
package chaos
