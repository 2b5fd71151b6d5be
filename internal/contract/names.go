// Package contract holds the names and types shared by the HTTP API, the
// worker and the workflows: workflow, signal, update and query names, their
// inputs and outputs, the typed enums of the public contract and the
// workflow-ID helper. It has no dependencies on the rest of Veriflow.
package contract

import "go.temporal.io/sdk/temporal"

// TaskQueue is the Temporal task queue served by the Veriflow worker.
const TaskQueue = "veriflow"

// Temporal names of the verification workflow and its message handlers.
const (
	WorkflowVerification = "Verification"
	SignalReceipt        = "receipt"
	UpdateCheck          = "check"
	UpdateResend         = "resend"
	UpdateCancel         = "cancel"
	QueryState           = "state"
)

// Activity names.
const (
	ActivitySendCode = "SendCode"
	ActivityRecord   = "Record"
	// ActivitySupersede cancels the tenant's other pending verifications of
	// the same kind and destination before a superseding one sends its code.
	ActivitySupersede = "Supersede"
	// ActivityPostEvent POSTs one outbound event to its tenant's callback.
	ActivityPostEvent = "PostEvent"
	// ActivityCommit does nothing: an update handler runs it so that the
	// workflow task that accepted the update completes (durably) before
	// the handler changes anything (workflows, commitFirst).
	ActivityCommit = "Commit"
)

// WorkflowDeliverEvent delivers one outbound event (workflow id
// "event/<verification id>/<id>", plus "/resend/<unix nanos>" for a resend).
const WorkflowDeliverEvent = "DeliverEvent"

// Search attributes upserted by the workflow. None of them carries PII.
var (
	SAKind    = temporal.NewSearchAttributeKeyKeyword("VerificationKind")
	SAStatus  = temporal.NewSearchAttributeKeyKeyword("VerificationStatus")
	SAChannel = temporal.NewSearchAttributeKeyKeyword("VerificationChannel")
	SATenant  = temporal.NewSearchAttributeKeyKeyword("TenantID")
)

// SearchAttributeNames lists the custom search attributes a Temporal
// namespace must have registered (all Keyword).
func SearchAttributeNames() []string {
	return []string{SAKind.GetName(), SAStatus.GetName(), SAChannel.GetName(), SATenant.GetName()}
}

// WorkflowID returns the Temporal workflow ID of a verification.
func WorkflowID(verificationID string) string { return "verification/" + verificationID }
