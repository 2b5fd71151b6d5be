package meta

import (
	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/providers"
)

// errorTable returns the Cloud API's error table (Graph API error.code,
// also statuses[].errors[].code in webhooks); ErrorReason documents it.
// Alert marks the codes that break the WhatsApp setup for every send, not
// this recipient: Send logs them at ERROR level for an operator.
func errorTable() providers.ErrorTable {
	transient := func(r contract.FailureReason, codes ...int) providers.ErrorRule {
		return providers.ErrorRule{Codes: codes, Reason: r}
	}
	recipient := func(r contract.FailureReason, codes ...int) providers.ErrorRule {
		return providers.ErrorRule{Codes: codes, Reason: r, Permanent: true}
	}
	setup := func(r contract.FailureReason, codes ...int) providers.ErrorRule {
		return providers.ErrorRule{Codes: codes, Reason: r, Permanent: true, Alert: true}
	}
	return providers.ErrorTable{
		// Transient: retry (rate limits, throttling, Meta-side outages).
		// 1 API Unknown, 131000 something went wrong.
		transient(contract.ReasonProviderError, 1, 131000),
		// 2 API Service (temporary downtime / overload), 131016 service
		// unavailable, 131057 account in maintenance mode, 133004 server
		// temporarily unavailable.
		transient(contract.ReasonProviderUnavailable, 2, 131016, 131057, 133004),
		// 4 API Too Many Calls (app-level), 80007 WABA rate limit, 130429
		// Cloud API throughput reached, 131048 spam rate limit hit, 131056
		// (business, consumer) pair rate limit.
		transient(contract.ReasonRateLimited, 4, 80007, 130429, 131048, 131056),

		// Permanent, this recipient: fail over to the next channel.
		// 131026 message undeliverable (not a WhatsApp user, old client,
		// terms not accepted).
		recipient(contract.ReasonNotOnWhatsApp, 131026),
		recipient(contract.ReasonInvalidDestination, 131021),   // recipient cannot be sender
		recipient(contract.ReasonRecipientNotAllowed, 131030),  // not in the test number's allowed list
		recipient(contract.ReasonOutsideSessionWindow, 131047), // re-engagement: 24 h since the user's last reply
		recipient(contract.ReasonRecipientLimited, 131049),     // healthy ecosystem engagement
		recipient(contract.ReasonRecipientOptedOut, 131050),    // user stopped marketing messages
		recipient(contract.ReasonUnsupportedMessage, 131051),   // unsupported message type
		recipient(contract.ReasonRecipientExperiment, 130472),  // user's number is part of an experiment
		setup(contract.ReasonCountryRestricted, 130497),        // business restricted from this country

		// Permanent, the setup: fail over, and alert an operator.
		// 132000 parameter count mismatch, 132005 hydrated text too long,
		// 132007 format character policy, 132012 parameter format mismatch.
		setup(contract.ReasonTemplateMismatch, 132000, 132005, 132007, 132012),
		setup(contract.ReasonTemplateMissing, 132001),  // not existing (or approved) in that language
		setup(contract.ReasonTemplatePaused, 132015),   // paused (low quality)
		setup(contract.ReasonTemplateDisabled, 132016), // disabled (low quality)
		// 0 AuthException, 3 API method (capability or permission), 10
		// permission denied, 190 access token expired or invalid, 131005
		// access denied; 200 to 299 API Permission.
		setup(contract.ReasonProviderAuth, 0, 3, 10, 190, 131005),
		{Min: 200, Max: 299, Reason: contract.ReasonProviderAuth, Permanent: true, Alert: true},
		// 33 phone number id deleted or wrong, 131037 display name needs
		// approval, 131045 incorrect certificate, 133010 phone number not
		// registered.
		setup(contract.ReasonProviderConfig, 33, 131037, 131045, 133010),
		// 368 temporarily blocked for policy violations, 131031 business
		// account locked.
		setup(contract.ReasonAccountRestricted, 368, 131031),
		setup(contract.ReasonAccountPayment, 131042), // business eligibility payment issue

		// Permanent, the request: rejected as sent. 100 invalid parameter,
		// 131008 required parameter missing, 131009 parameter value not valid.
		recipient(contract.ReasonProviderRejected, 100, 131008, 131009),
	}
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
func ErrorReason(code int) (reason contract.FailureReason, permanent bool) {
	if r, ok := errorTable().Lookup(code); ok {
		return r.Reason, r.Permanent
	}
	return contract.ReasonProviderRejected, true
}
