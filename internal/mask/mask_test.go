package mask

import "testing"

func TestMask(t *testing.T) {
	cases := map[string]string{
		"+393331234567":     "+39333*****67",
		"+15005550000":      "+15005****00",
		"ada@example.com":   "a***@example.com",
		"":                  "",
		"+123":              "***",
		"x":                 "***",
		"émile@example.org": "é***@example.org",
	}
	for in, want := range cases {
		if got := Destination(in); got != want {
			t.Errorf("Destination(%q) = %q, want %q", in, got, want)
		}
	}
}
