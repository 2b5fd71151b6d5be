package messages

import (
	"strings"
	"testing"
	"time"

	"github.com/veriflow/veriflow/contract"
)

func TestRender(t *testing.T) {
	got := Render(Input{Kind: contract.KindTransaction, Code: "123456", TTL: 5 * time.Minute,
		Transaction: &contract.Transaction{Amount: "149.90", Currency: "EUR", Payee: "ACME S.p.A."}})
	for _, want := range []string{"123456", "EUR 149.90", "ACME S.p.A.", "5 minutes", "Never share"} {
		if !strings.Contains(got, want) {
			t.Errorf("%q lacks %q", got, want)
		}
	}
	got = Render(Input{Kind: contract.KindSignature, Code: "42424242", TTL: 50 * time.Second,
		Document: &contract.Document{Title: "Contract 2026-001"}})
	if !strings.Contains(got, `"Contract 2026-001"`) || !strings.Contains(got, "1 minute.") {
		t.Errorf("signature message %q", got)
	}
}
