package providers

import (
	"testing"

	"github.com/veriflow/veriflow/internal/contract"
)

func TestErrorTableLookup(t *testing.T) {
	table := ErrorTable{
		{Codes: []int{550, 551}, Reason: contract.ReasonMailboxUnavailable, Permanent: true},
		{Min: 500, Max: 599, Reason: contract.ReasonSMTPRejected, Permanent: true},
		{Min: 400, Max: 499, Reason: contract.ReasonTemporaryFailure},
	}
	for _, tc := range []struct {
		code      int
		reason    contract.FailureReason
		permanent bool
		ok        bool
	}{
		{550, contract.ReasonMailboxUnavailable, true, true},
		{551, contract.ReasonMailboxUnavailable, true, true},
		{552, contract.ReasonSMTPRejected, true, true},
		{500, contract.ReasonSMTPRejected, true, true},
		{599, contract.ReasonSMTPRejected, true, true},
		{421, contract.ReasonTemporaryFailure, false, true},
		{250, "", false, false},
		{0, "", false, false},
	} {
		r, ok := table.Lookup(tc.code)
		if ok != tc.ok || r.Reason != tc.reason || r.Permanent != tc.permanent {
			t.Errorf("Lookup(%d) = %+v, %v; want %s, %v, %v", tc.code, r, ok, tc.reason, tc.permanent, tc.ok)
		}
	}
}
