package limits

import "testing"

func TestOrFillsUnsetFields(t *testing.T) {
	d := Default()
	if d != (Limits{5, 20, 20, 600, 10, 30}) {
		t.Fatalf("defaults %+v", d)
	}
	got := Limits{PerTenantMinute: 7, PrefixBurst: -1}.Or(d)
	want := d
	want.PerTenantMinute = 7
	if got != want {
		t.Fatalf("Or = %+v, want %+v", got, want)
	}
	if DefaultPolicy().Limits != d || DefaultPolicy().AllowedCountries != nil {
		t.Fatalf("DefaultPolicy = %+v", DefaultPolicy())
	}
}
