package apikey

import (
	"testing"

	"github.com/veriflow/veriflow/internal/contract"
)

func TestGenerateParseRoundTrip(t *testing.T) {
	k := Generate(contract.ModeTest)
	got, err := Parse(k.String())
	if err != nil || got != k {
		t.Fatalf("Parse(%q) = %+v, %v", k.String(), got, err)
	}
	if !Matches(k.Secret, Hash(k.Secret)) || Matches(k.Secret+"x", Hash(k.Secret)) {
		t.Fatal("Matches wrong")
	}
}

func TestParseRejects(t *testing.T) {
	for _, s := range []string{"", "vf_test", "vf_prod_abcdefabcdef_" + "A234567890123456", "xx_test_abcdefabcdef_A234567890123456",
		"vf_test_short_A234567890123456", "vf_test_abcdefabcdef_short", "vf_test_abcdefabcdef_A23456789012345!", "vf_test_abcdefabcdef_A234567890123456_x"} {
		if _, err := Parse(s); err == nil {
			t.Errorf("Parse(%q) accepted", s)
		}
	}
}
