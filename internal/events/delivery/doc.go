// Package delivery delivers outbound events (see package events for their
// rules): the DeliverEvent workflow retries the PostEvent activity, which
// signs and POSTs one queued event to its tenant's callback; Start starts
// the workflow of a queued event and RelayPending, the events relay, starts
// those whose start was missed. Registered names and options are part of
// recorded histories: contract.WorkflowDeliverEvent ("DeliverEvent") and
// contract.ActivityPostEvent ("PostEvent").
package delivery
