package messages

import (
	"slices"
	"testing"
)

func TestLocales(t *testing.T) {
	got := Locales()
	if want := []string{"en", "it", "es", "de", "fr", "pt"}; !slices.Equal(got, want) {
		t.Fatalf("Locales() = %v, want %v", got, want)
	}
	if len(catalog) != len(got) || len(numberFormats) != len(got) {
		t.Errorf("catalog has %d locales, numberFormats %d, Locales %d", len(catalog), len(numberFormats), len(got))
	}
	for _, loc := range got {
		if _, ok := catalog[loc]; !ok {
			t.Errorf("no texts for %s", loc)
		}
		if _, ok := numberFormats[loc]; !ok {
			t.Errorf("no number format for %s", loc)
		}
	}
	got[0] = "xx"
	if Locales()[0] != "en" {
		t.Error("Locales shares its slice")
	}
	for region, loc := range regionLocales {
		if _, ok := catalog[loc]; !ok {
			t.Errorf("region %s maps to unsupported %q", region, loc)
		}
	}
}

func TestResolve(t *testing.T) {
	tests := []struct {
		requested, phone, want string
	}{
		// The requested locale wins.
		{"it", "+12025550123", "it"},
		{"it-IT", "", "it"},
		{"pt-BR", "+393331234567", "pt"},
		{"pt_PT", "", "pt"},
		{"es-419", "+4915112345678", "es"},
		{"DE-at", "", "de"},
		{"fr-CA", "+12025550123", "fr"},
		{"en-GB", "+393331234567", "en"},
		{"en-US-u-nu-latn", "+393331234567", "en"},
		// An unsupported or malformed request falls back to the phone.
		{"ja-JP", "+393331234567", "it"},
		{"nl-BE", "+32470123456", "fr"},
		{"und-IT", "+34612345678", "es"},
		{"xx", "+33612345678", "fr"},
		{"not a tag!", "+4915112345678", "de"},
		{"", "+393331234567", "it"},
		{"", "+39 06 1234 5678", "it"},
		{"", "+37866661212", "it"},   // San Marino
		{"", "+34612345678", "es"},   // Spain
		{"", "+5215512345678", "es"}, // Mexico
		{"", "+17875551234", "es"},   // Puerto Rico shares +1
		{"", "+4915112345678", "de"}, // Germany
		{"", "+436641234567", "de"},  // Austria
		{"", "+41791234567", "de"},   // Switzerland
		{"", "+33612345678", "fr"},   // France
		{"", "+32470123456", "fr"},   // Belgium
		{"", "+221771234567", "fr"},  // Senegal
		{"", "+351912345678", "pt"},  // Portugal
		{"", "+5511987654321", "pt"}, // Brazil
		{"", "+244923123456", "pt"},  // Angola
		{"", "+12025550123", "en"},   // United States
		{"", "+14165550123", "en"},   // Canada
		{"", "+447911123456", "en"},  // United Kingdom
		{"", "+819012345678", "en"},  // Japan: unsupported language
		// A number too short for any region still has a country code.
		{"", "+39123", "it"},
		// Nothing usable.
		{"", "", "en"},
		{"", "abc", "en"},
		{"", "3331234567", "en"}, // no country code
		{"", "+999123456", "en"}, // unassigned country code
		{"", "+", "en"},
		{"ja", "", "en"},
	}
	for _, tt := range tests {
		if got := Resolve(tt.requested, tt.phone); got != tt.want {
			t.Errorf("Resolve(%q, %q) = %q, want %q", tt.requested, tt.phone, got, tt.want)
		}
	}
}
