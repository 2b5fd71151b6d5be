// Package events is the outbound-events feature: the contract's "Events"
// that Veriflow POSTs to a tenant's callback on every state change.
//
// This package holds the pure rules, shared by the store, the API and the
// delivery: which workflow events go out (IsOutbound), the exact JSON body
// (Body), the Veriflow-Signature header (Sign, Verify), the public event id
// and the delivery workflow ids (EventID, WorkflowID, ResendWorkflowID),
// the callback URL rules (ValidateURL) and the signing secret (NewSecret,
// SecretAAD).
//
// The sub-package delivery moves them: the DeliverEvent workflow, its
// PostEvent activity, Start (starts the delivery workflow of a queued
// event) and RelayPending (the events relay, which starts the deliveries
// whose start was missed). The SQL lives in internal/store (events.go): an
// event is queued in the same transaction as the state change it reports.
package events
