package contract

// The two vocabularies that are stored in workflow histories and shown in the
// public API: what happened to a verification (EventType) and why a message
// failed (FailureReason). Each has exactly one list below; the OpenAPI
// document's enums and the Go client are checked against these lists.
//
// Both are plain strings on the wire, so typing them changed no byte of a
// recorded history; a value, once shipped, is never renamed.

// EventType names one entry of a verification's audit trail. The outbound
// ones (see events.IsOutbound) are also sent to the tenant's callback.
type EventType string

// Event types, in the order a verification usually meets them.
const (
	// EventCreated: the workflow started.
	EventCreated EventType = "created"
	// EventStartRefused: a start was refused by a rate limit or fraud guard
	// (audited without a verification).
	EventStartRefused EventType = "start_refused"
	// EventRiskAssessed: the fraud engine challenged or blocked a start (or
	// would have, in shadow mode); Detail is the decision, the mode and each
	// reason with its value and threshold. A blocked start is audited
	// without a verification.
	EventRiskAssessed EventType = "risk_assessed"
	// EventSuperseded: a newer verification of the same kind and destination
	// canceled this one; Detail is the newer verification's id.
	EventSuperseded EventType = "superseded"
	// EventSending: a send began; Detail is why (initial, failover, resend).
	EventSending EventType = "sending"
	// EventSendFailed: the provider refused the message; Detail is the reason.
	EventSendFailed EventType = "send_failed"
	// EventSent: the provider accepted the message; Detail is the provider.
	EventSent EventType = "sent"
	// EventQueued: a receipt says the provider queued the message.
	EventQueued EventType = "queued"
	// EventDelivered: a receipt says the message reached the device.
	EventDelivered EventType = "delivered"
	// EventRead: a receipt says the person read the message.
	EventRead EventType = "read"
	// EventFailed: with a channel, a receipt says the message failed; without
	// one, the verification ended failed (Detail says why).
	EventFailed EventType = "failed"
	// EventUndelivered: a receipt says the carrier could not deliver.
	EventUndelivered EventType = "undelivered"
	// EventFailedOver: the plan moved on from a channel; Detail is the reason.
	EventFailedOver EventType = "failed_over"
	// EventCheckFailed: a check did not approve; Detail is the outcome.
	EventCheckFailed EventType = "check_failed"
	// EventApproved: a check presented the right code.
	EventApproved EventType = "approved"
	// EventExpired: the code's time to live ran out.
	EventExpired EventType = "expired"
	// EventCanceled: the verification was canceled (by the API or superseded).
	EventCanceled EventType = "canceled"
	// EventMaxChecksReached: too many wrong checks.
	EventMaxChecksReached EventType = "max_checks_reached"
	// EventReceiptAfterCompletion: a receipt arrived after the workflow ended
	// (audited, not applied); Detail is its status.
	EventReceiptAfterCompletion EventType = "receipt_after_completion"
	// EventSendUncertain: a send attempt was repeated because an earlier
	// call of it may have reached the provider and its answer was lost (a
	// possible duplicate message); Detail is the provider.
	EventSendUncertain EventType = "send_uncertain"
)

// EventTypes is the one list of event types.
var EventTypes = []EventType{
	EventCreated, EventStartRefused, EventRiskAssessed, EventSuperseded, EventSending, EventSendFailed, EventSent,
	EventQueued, EventDelivered, EventRead, EventFailed, EventUndelivered, EventFailedOver,
	EventCheckFailed, EventApproved, EventExpired, EventCanceled, EventMaxChecksReached,
	EventReceiptAfterCompletion, EventSendUncertain,
}

// Valid reports whether t is one of EventTypes.
func (t EventType) Valid() bool { return oneOf(t, EventTypes) }

// StatusEvent is the event of a verification reaching status s.
func StatusEvent(s Status) EventType { return EventType(s) }

// AttemptEvent is the event of a receipt moving an attempt to status s.
func AttemptEvent(s AttemptStatus) EventType { return EventType(s) }

// FailureReason is a stable, client-safe snake_case reason why a message
// was not delivered or a channel was left: the error of an attempt, the
// reason of a permanent provider failure, the detail of a failover.
type FailureReason string

// Failure reasons. Providers map their own codes to these in their error
// tables (internal/providers/<name>/errors.go).
const (
	// Decided by Veriflow itself.

	// ReasonTimeout: no delivery receipt within the channel timeout.
	ReasonTimeout FailureReason = "timeout"
	// ReasonProviderTimeout: the provider did not answer the send in time.
	ReasonProviderTimeout FailureReason = "provider_timeout"
	// ReasonProviderError: the provider failed in a way it did not explain.
	ReasonProviderError FailureReason = "provider_error"
	// ReasonNoDestination: the verification has no destination for any
	// channel of its plan.
	ReasonNoDestination FailureReason = "no_destination"
	// ReasonAllChannelsFailed: every channel of the plan failed.
	ReasonAllChannelsFailed FailureReason = "all_channels_failed"
	// ReasonChannelNotConfigured: no provider serves the channel.
	ReasonChannelNotConfigured FailureReason = "channel_not_configured"
	// ReasonChannelNotSupported: the provider does not serve this channel.
	ReasonChannelNotSupported FailureReason = "channel_not_supported"
	// ReasonInvalidMessage: the message lacks its text or code.
	ReasonInvalidMessage FailureReason = "invalid_message"
	// ReasonFailed: a "failed" receipt that gave no reason.
	ReasonFailed FailureReason = "failed"
	// ReasonUndelivered: an "undelivered" receipt that gave no reason.
	ReasonUndelivered FailureReason = "undelivered"
	// ReasonSandboxFailure: the sandbox's scripted failure (test mode only).
	ReasonSandboxFailure FailureReason = "sandbox_failure"

	// The destination cannot receive on the channel.

	// ReasonInvalidNumber: not a valid phone number for the provider.
	ReasonInvalidNumber FailureReason = "invalid_number"
	// ReasonInvalidDestination: the provider refused the destination.
	ReasonInvalidDestination FailureReason = "invalid_destination"
	// ReasonInvalidAddress: not an email address.
	ReasonInvalidAddress FailureReason = "invalid_address"
	// ReasonInvalidRecipient: the WhatsApp recipient is invalid.
	ReasonInvalidRecipient FailureReason = "invalid_recipient"
	// ReasonNotAMobileNumber: SMS to a number that is not mobile.
	ReasonNotAMobileNumber FailureReason = "not_a_mobile_number"
	// ReasonNotOnWhatsApp: the number has no WhatsApp account.
	ReasonNotOnWhatsApp FailureReason = "not_on_whatsapp"
	// ReasonUnsubscribed: the recipient opted out of SMS (STOP).
	ReasonUnsubscribed FailureReason = "unsubscribed"
	// ReasonRecipientOptedOut: the recipient opted out of the business's messages.
	ReasonRecipientOptedOut FailureReason = "recipient_opted_out"
	// ReasonRecipientRestricted: the recipient cannot receive this message.
	ReasonRecipientRestricted FailureReason = "recipient_restricted"
	// ReasonRecipientLimited: the recipient reached a per-user message limit.
	ReasonRecipientLimited FailureReason = "recipient_limited"
	// ReasonRecipientExperiment: the recipient is in a provider experiment group.
	ReasonRecipientExperiment FailureReason = "recipient_in_experiment"
	// ReasonRecipientNotAllowed: a test sender may not write to the recipient.
	ReasonRecipientNotAllowed FailureReason = "recipient_not_allowed"
	// ReasonRegionNotPermitted: the account may not send to the region.
	ReasonRegionNotPermitted FailureReason = "region_not_permitted"
	// ReasonCountryRestricted: the provider does not deliver to the country.
	ReasonCountryRestricted FailureReason = "country_restricted"
	// ReasonUnreachableRoute: no route to the destination.
	ReasonUnreachableRoute FailureReason = "unreachable_route"
	// ReasonOutsideSessionWindow: a free-form WhatsApp message outside the 24 h window.
	ReasonOutsideSessionWindow FailureReason = "outside_session_window"
	// ReasonRCSNotCapable: the device cannot receive RCS messages.
	ReasonRCSNotCapable FailureReason = "rcs_not_capable"
	// ReasonNotRead: delivered, but not read within the channel timeout
	// (a plan whose goal is "read").
	ReasonNotRead FailureReason = "not_read"
	// ReasonNoAnswer: the call rang out unanswered.
	ReasonNoAnswer FailureReason = "no_answer"
	// ReasonBusy: the line was busy.
	ReasonBusy FailureReason = "busy"
	// ReasonCallFailed: the call could not be placed.
	ReasonCallFailed FailureReason = "call_failed"
	// ReasonCallCanceled: the call was canceled before it was answered.
	ReasonCallCanceled FailureReason = "call_canceled"
	// ReasonAnsweringMachine: a machine answered (answering-machine
	// detection on).
	ReasonAnsweringMachine FailureReason = "answering_machine"
	// ReasonMailboxUnavailable: the mailbox does not exist or takes no mail.
	ReasonMailboxUnavailable FailureReason = "mailbox_unavailable"
	// ReasonMessageRejected: the mail server refused the message.
	ReasonMessageRejected FailureReason = "message_rejected"

	// Delivery failures, mostly reported by receipts.

	// ReasonUnreachable: the handset was unreachable.
	ReasonUnreachable FailureReason = "unreachable"
	// ReasonMessageBlocked: a carrier blocked the message.
	ReasonMessageBlocked FailureReason = "message_blocked"
	// ReasonUnknownDestination: the carrier does not know the number.
	ReasonUnknownDestination FailureReason = "unknown_destination"
	// ReasonLandline: a landline, or a carrier that cannot be reached.
	ReasonLandline FailureReason = "landline_or_unreachable_carrier"
	// ReasonCarrierFiltered: the carrier filtered the message as spam.
	ReasonCarrierFiltered FailureReason = "carrier_filtered"
	// ReasonUnknownError: the carrier reported an unknown error.
	ReasonUnknownError FailureReason = "unknown_error"
	// ReasonDeliveryFailed: the provider could not deliver (no detail).
	ReasonDeliveryFailed FailureReason = "delivery_failed"
	// ReasonUnsupportedMessage: the recipient's app cannot show the message.
	ReasonUnsupportedMessage FailureReason = "unsupported_message"
	// ReasonRateLimited: the provider throttled the sender (retried).
	ReasonRateLimited FailureReason = "rate_limited"
	// ReasonQueueOverflow: the provider's queue for the sender overflowed (retried).
	ReasonQueueOverflow FailureReason = "queue_overflow"
	// ReasonTemporaryFailure: a transient failure (retried).
	ReasonTemporaryFailure FailureReason = "temporary_failure"
	// ReasonProviderUnavailable: the provider is down (retried).
	ReasonProviderUnavailable FailureReason = "provider_unavailable"
	// ReasonProviderRejected: the provider refused the request (another 4xx).
	ReasonProviderRejected FailureReason = "provider_rejected"

	// Veriflow's sender, template or account is wrong.

	// ReasonSenderMisconfigured: the sender number or service is wrong.
	ReasonSenderMisconfigured FailureReason = "sender_misconfigured"
	// ReasonSenderUnregistered: the sender is not registered (A2P 10DLC).
	ReasonSenderUnregistered FailureReason = "sender_unregistered"
	// ReasonSenderRejected: the mail server refused the From address.
	ReasonSenderRejected FailureReason = "sender_rejected"
	// ReasonAccountSuspended: the provider account is suspended.
	ReasonAccountSuspended FailureReason = "account_suspended"
	// ReasonAccountRestricted: the provider account may not send.
	ReasonAccountRestricted FailureReason = "account_restricted"
	// ReasonAccountPayment: the provider account has a payment issue.
	ReasonAccountPayment FailureReason = "account_payment_issue"
	// ReasonProviderAuth: the provider refused Veriflow's credentials.
	ReasonProviderAuth FailureReason = "provider_auth"
	// ReasonProviderConfig: the provider integration is misconfigured.
	ReasonProviderConfig FailureReason = "provider_config"
	// ReasonSMTPAuthFailed: SMTP authentication failed.
	ReasonSMTPAuthFailed FailureReason = "smtp_auth_failed"
	// ReasonSMTPRejected: any other permanent SMTP reply.
	ReasonSMTPRejected FailureReason = "smtp_rejected"
	// ReasonTemplateMisconfigured: the WhatsApp template is wrong.
	ReasonTemplateMisconfigured FailureReason = "template_misconfigured"
	// ReasonTemplateMissing: the WhatsApp template does not exist.
	ReasonTemplateMissing FailureReason = "template_missing"
	// ReasonTemplatePaused: the WhatsApp template is paused.
	ReasonTemplatePaused FailureReason = "template_paused"
	// ReasonTemplateDisabled: the WhatsApp template is disabled.
	ReasonTemplateDisabled FailureReason = "template_disabled"
	// ReasonTemplateMismatch: the parameters do not fit the template.
	ReasonTemplateMismatch FailureReason = "template_mismatch"
)

// FailureReasons is the one list of failure reasons.
var FailureReasons = []FailureReason{
	ReasonTimeout, ReasonProviderTimeout, ReasonProviderError, ReasonNoDestination, ReasonAllChannelsFailed,
	ReasonChannelNotConfigured, ReasonChannelNotSupported, ReasonInvalidMessage, ReasonFailed, ReasonUndelivered,
	ReasonSandboxFailure,
	ReasonInvalidNumber, ReasonInvalidDestination, ReasonInvalidAddress, ReasonInvalidRecipient,
	ReasonNotAMobileNumber, ReasonNotOnWhatsApp, ReasonUnsubscribed, ReasonRecipientOptedOut,
	ReasonRecipientRestricted, ReasonRecipientLimited, ReasonRecipientExperiment, ReasonRecipientNotAllowed,
	ReasonRegionNotPermitted, ReasonCountryRestricted, ReasonUnreachableRoute, ReasonOutsideSessionWindow,
	ReasonRCSNotCapable, ReasonNotRead, ReasonNoAnswer, ReasonBusy, ReasonCallFailed, ReasonCallCanceled,
	ReasonAnsweringMachine,
	ReasonMailboxUnavailable, ReasonMessageRejected,
	ReasonUnreachable, ReasonMessageBlocked, ReasonUnknownDestination, ReasonLandline, ReasonCarrierFiltered,
	ReasonUnknownError, ReasonDeliveryFailed, ReasonUnsupportedMessage, ReasonRateLimited, ReasonQueueOverflow,
	ReasonTemporaryFailure, ReasonProviderUnavailable, ReasonProviderRejected,
	ReasonSenderMisconfigured, ReasonSenderUnregistered, ReasonSenderRejected, ReasonAccountSuspended,
	ReasonAccountRestricted, ReasonAccountPayment, ReasonProviderAuth, ReasonProviderConfig,
	ReasonSMTPAuthFailed, ReasonSMTPRejected, ReasonTemplateMisconfigured, ReasonTemplateMissing,
	ReasonTemplatePaused, ReasonTemplateDisabled, ReasonTemplateMismatch,
}

// Valid reports whether r is one of FailureReasons.
func (r FailureReason) Valid() bool { return oneOf(r, FailureReasons) }

// ReasonOf is the reason of a failed attempt status when a receipt gave none.
func ReasonOf(s AttemptStatus) FailureReason { return FailureReason(s) }

func oneOf[T comparable](v T, list []T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
