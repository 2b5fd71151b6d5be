package providers

import "github.com/veriflow/veriflow/internal/contract"

// ErrorRule is one row of a provider's error table: the provider error
// codes it covers, the reason Veriflow reports for them, and whether the
// failure is permanent (sending the same message to the same destination
// on the same channel again cannot succeed).
type ErrorRule struct {
	// Codes are the codes of the rule; Min and Max, when Max is not zero,
	// add the inclusive range Min..Max.
	Codes    []int
	Min, Max int
	// Reason is the stable, client-safe reason of these codes.
	Reason contract.FailureReason
	// Permanent: retrying cannot help; the verification fails over at once.
	Permanent bool
	// Alert: the provider's setup (credentials, template, account) is
	// broken for every send, not for this recipient; the adapter logs it
	// for an operator.
	Alert bool
}

// matches reports whether code is one of the rule's codes.
func (r ErrorRule) matches(code int) bool {
	for _, c := range r.Codes {
		if c == code {
			return true
		}
	}
	return r.Max != 0 && r.Min <= code && code <= r.Max
}

// ErrorTable is a provider's error table, declared as data: the first rule
// matching a code wins, so exact codes go before the ranges that include
// them.
type ErrorTable []ErrorRule

// Lookup returns the rule of code; false for a code the table does not list.
func (t ErrorTable) Lookup(code int) (ErrorRule, bool) {
	for _, r := range t {
		if r.matches(code) {
			return r, true
		}
	}
	return ErrorRule{}, false
}
