package meta

// Reasons of the failures Send and ParseWebhook report. They are stable,
// client-safe codes (provider.PermanentError.Reason, contract.Receipt.Error).
const (
	ReasonNotOnWhatsApp       = "not_on_whatsapp"
	ReasonInvalidDestination  = "invalid_destination"
	ReasonRecipientNotAllowed = "recipient_not_allowed"
	ReasonRecipientLimited    = "recipient_limited"
	ReasonRecipientOptedOut   = "recipient_opted_out"
	ReasonRecipientExperiment = "recipient_in_experiment"
	ReasonUnsupportedMessage  = "unsupported_message"
	ReasonOutsideWindow       = "outside_session_window"
	ReasonCountryRestricted   = "country_restricted"
	ReasonTemplateMissing     = "template_missing"
	ReasonTemplateMismatch    = "template_mismatch"
	ReasonTemplatePaused      = "template_paused"
	ReasonTemplateDisabled    = "template_disabled"
	ReasonAuth                = "provider_auth"
	ReasonConfig              = "provider_config"
	ReasonAccountRestricted   = "account_restricted"
	ReasonAccountPayment      = "account_payment_issue"
	ReasonRejected            = "provider_rejected"
	ReasonRateLimited         = "rate_limited"
	ReasonProviderError       = "provider_error"
	ReasonProviderUnavailable = "provider_unavailable"
	ReasonDeliveryFailed      = "delivery_failed"
	ReasonChannelNotSupported = "channel_not_supported"
	ReasonInvalidMessage      = "invalid_message"
)

// errorEntry is one row of the error table.
type errorEntry struct {
	reason    string
	permanent bool
	// alert: the WhatsApp setup is broken for every send, not this
	// recipient; Send logs it at ERROR level for an operator.
	alert bool
}

// lookup returns the error table entry of a WhatsApp Cloud API error code
// (Graph API error.code, also statuses[].errors[].code in webhooks); false
// for the codes Veriflow does not tell apart.
func lookup(code int) (errorEntry, bool) {
	transient := func(reason string) (errorEntry, bool) { return errorEntry{reason, false, false}, true }
	recipient := func(reason string) (errorEntry, bool) { return errorEntry{reason, true, false}, true }
	setup := func(reason string) (errorEntry, bool) { return errorEntry{reason, true, true}, true }
	switch code {
	// Transient: retry (rate limits, throttling, Meta-side outages).
	case 1: // API Unknown
		return transient(ReasonProviderError)
	case 2: // API Service (temporary downtime / overload)
		return transient(ReasonProviderUnavailable)
	case 4: // API Too Many Calls (app-level)
		return transient(ReasonRateLimited)
	case 80007: // WABA rate limit
		return transient(ReasonRateLimited)
	case 130429: // Cloud API throughput reached
		return transient(ReasonRateLimited)
	case 131000: // Something went wrong
		return transient(ReasonProviderError)
	case 131016: // Service unavailable
		return transient(ReasonProviderUnavailable)
	case 131048: // Spam rate limit hit
		return transient(ReasonRateLimited)
	case 131056: // (Business, Consumer) pair rate limit
		return transient(ReasonRateLimited)
	case 131057: // Account in maintenance mode
		return transient(ReasonProviderUnavailable)
	case 133004: // Server temporarily unavailable
		return transient(ReasonProviderUnavailable)

	// Permanent, this recipient: fail over to the next channel.
	case 131026: // Message undeliverable (not a WhatsApp user, old client, terms not accepted)
		return recipient(ReasonNotOnWhatsApp)
	case 131021: // Recipient cannot be sender
		return recipient(ReasonInvalidDestination)
	case 131030: // Recipient not in the allowed list (test number)
		return recipient(ReasonRecipientNotAllowed)
	case 131047: // Re-engagement: more than 24 h since the user's last reply
		return recipient(ReasonOutsideWindow)
	case 131049: // Not delivered to maintain healthy ecosystem engagement
		return recipient(ReasonRecipientLimited)
	case 131050: // User stopped receiving marketing messages
		return recipient(ReasonRecipientOptedOut)
	case 131051: // Unsupported message type
		return recipient(ReasonUnsupportedMessage)
	case 130472: // User's number is part of an experiment
		return recipient(ReasonRecipientExperiment)
	case 130497: // Business account restricted from messaging users in this country
		return setup(ReasonCountryRestricted)

	// Permanent, the setup: fail over, and alert an operator.
	case 132000: // Template parameter count mismatch
		return setup(ReasonTemplateMismatch)
	case 132001: // Template does not exist (or not approved) in that language
		return setup(ReasonTemplateMissing)
	case 132005: // Template hydrated text too long
		return setup(ReasonTemplateMismatch)
	case 132007: // Template format character policy violated
		return setup(ReasonTemplateMismatch)
	case 132012: // Template parameter format mismatch
		return setup(ReasonTemplateMismatch)
	case 132015: // Template paused (low quality)
		return setup(ReasonTemplatePaused)
	case 132016: // Template disabled (low quality)
		return setup(ReasonTemplateDisabled)
	case 0: // AuthException
		return setup(ReasonAuth)
	case 3: // API Method (capability or permission)
		return setup(ReasonAuth)
	case 10: // Permission denied
		return setup(ReasonAuth)
	case 190: // Access token expired or invalid
		return setup(ReasonAuth)
	case 131005: // Access denied
		return setup(ReasonAuth)
	case 33: // Parameter value not valid (phone number id deleted or wrong)
		return setup(ReasonConfig)
	case 131037: // Display name needs approval
		return setup(ReasonConfig)
	case 131045: // Incorrect certificate (phone number registration)
		return setup(ReasonConfig)
	case 133010: // Phone number not registered
		return setup(ReasonConfig)
	case 368: // Temporarily blocked for policy violations
		return setup(ReasonAccountRestricted)
	case 131031: // Business account locked
		return setup(ReasonAccountRestricted)
	case 131042: // Business eligibility payment issue
		return setup(ReasonAccountPayment)

	// Permanent, the request: rejected as sent.
	case 100: // Invalid parameter
		return recipient(ReasonRejected)
	case 131008: // Required parameter missing
		return recipient(ReasonRejected)
	case 131009: // Parameter value not valid
		return recipient(ReasonRejected)

		// lookup returns the table entry of code; codes 200 to 299 (API
		// Permission) are provider_auth.

	}
	if code >= 200 && code <= 299 { // API Permission
		return setup(ReasonAuth)
	}
	return errorEntry{}, false
}

// ErrorReason maps a WhatsApp Cloud API error code to Veriflow's reason
// and whether the failure is permanent (retrying cannot help: the
// verification fails over to its next channel at once). Codes not listed
// are ("provider_rejected", true); Send, which also sees the HTTP status,
// instead retries an unlisted code answered with HTTP 408, 429 or 5xx.
//
//	code            reason                   permanent  meaning
//	131026          not_on_whatsapp          yes        message undeliverable: not a WhatsApp user, outdated client, terms not accepted
//	131021          invalid_destination      yes        recipient cannot be sender
//	131030          recipient_not_allowed    yes        recipient not in the test number's allowed list
//	131047          outside_session_window   yes        re-engagement message (24 h window closed)
//	131049          recipient_limited        yes        not delivered to maintain healthy ecosystem engagement
//	131050          recipient_opted_out      yes        user stopped marketing messages
//	131051          unsupported_message      yes        unsupported message type
//	130472          recipient_in_experiment  yes        user's number is part of an experiment
//	130497          country_restricted       yes *      business restricted from messaging users in this country
//	132001          template_missing         yes *      template does not exist / not approved in that language
//	132000 132005   template_mismatch        yes *      parameter count mismatch, hydrated text too long,
//	132007 132012                                       format character policy, parameter format mismatch
//	132015          template_paused          yes *      template paused for low quality
//	132016          template_disabled        yes *      template disabled for low quality
//	0 3 10 190      provider_auth            yes *      auth exception, capability, permission denied, token expired,
//	200-299 131005                                      API permission, access denied
//	33 131037       provider_config          yes *      phone number id invalid, display name not approved,
//	131045 133010                                       incorrect certificate, number not registered
//	368 131031      account_restricted       yes *      blocked for policy violations, account locked
//	131042          account_payment_issue    yes *      business eligibility payment issue
//	100 131008      provider_rejected        yes        invalid parameter, required parameter missing,
//	131009                                              parameter value not valid
//	4 80007 130429  rate_limited             no         app, WABA and throughput rate limits,
//	131048 131056                                       spam rate limit, business/consumer pair rate limit
//	1 131000        provider_error           no         unknown error, something went wrong
//	2 131016        provider_unavailable     no         service unavailable, maintenance mode,
//	131057 133004                                       server temporarily unavailable
//	other           provider_rejected        yes
//
// (*) Send also logs these at ERROR level, with the template name and
// language, since they fail every send until an operator acts.
func ErrorReason(code int) (reason string, permanent bool) {
	if e, ok := lookup(code); ok {
		return e.reason, e.permanent
	}
	return ReasonRejected, true
}
