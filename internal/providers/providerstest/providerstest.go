// Package providerstest helps the providers' tests check their error
// tables against the rows their documentation promises.
package providerstest

import (
	"strconv"
	"strings"
	"testing"

	"github.com/veriflow/veriflow/internal/contract"
)

// CheckErrorTable checks lookup (a provider's ErrorReason) against rows,
// one "code reason permanent" per line, permanent being yes or no and
// reason "-" for a code the table does not list.
func CheckErrorTable(t testing.TB, lookup func(code int) (contract.FailureReason, bool), rows string) {
	t.Helper()
	n := 0
	for _, line := range strings.Split(rows, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		code, err := strconv.Atoi(f[0])
		if len(f) != 3 || err != nil || (f[2] != "yes" && f[2] != "no") {
			t.Fatalf("malformed row %q", line)
		}
		want := contract.FailureReason(f[1])
		if want == "-" {
			want = ""
		}
		reason, permanent := lookup(code)
		if reason != want || permanent != (f[2] == "yes") {
			t.Errorf("code %d: %q, permanent %v; want %q, %s", code, reason, permanent, want, f[2])
		}
		n++
	}
	if n == 0 {
		t.Fatal("no rows")
	}
}
