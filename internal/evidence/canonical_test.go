package evidence

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

func TestCanonicalJSON(t *testing.T) {
	cases := map[string]string{
		`{}`:    `{}`,
		` [ ] `: `[]`,
		`{"a" : [1, 2.50, -3e2, true, false, null, {"b":"c"}], "d":{}}`: `{"a":[1,2.50,-3e2,true,false,null,{"b":"c"}],"d":{}}`,
		"{\n  \"k\":\t\"v\"\r\n}":    `{"k":"v"}`,
		`"R\u0026D \u003cx\u003e"`:   `"R&D <x>"`,
		`"\u00e8\u00E8\ud83d\udd8b"`: `"èè🖋"`,
		`"a\/b"`:                     `"a/b"`,
		`"\u0041\t\u000a\u0007"`:     `"A\t\n\u0007"`,
		`"\u2028"`:                   `"\u2028"`,
		"\"\u2028\"":                 `"\u2028"`,
		`"\\u003c"`:                  `"\\u003c"`,
		`{"a":1,"a":2,"A":3}`:        `{"a":1,"a":2,"A":3}`,
		`{"\u0061":1}`:               `{"a":1}`,
		`  42 `:                      `42`,
		`"x"`:                        `"x"`,
	}
	for in, want := range cases {
		got, err := canonicalJSON([]byte(in))
		if err != nil {
			t.Errorf("canonicalJSON(%s): %v", in, err)
			continue
		}
		if string(got) != want {
			t.Errorf("canonicalJSON(%s) = %s, want %s", in, got, want)
		}
	}

	for _, in := range []string{``, ` `, `{`, `{"a":}`, `{"a" 1}`, `{1:2}`, `[1,]`, `{} {}`, `{}x`, `"unterminated`, `'a'`, `[1 2]`} {
		if got, err := canonicalJSON([]byte(in)); err == nil {
			t.Errorf("canonicalJSON(%q) = %s, want error", in, got)
		}
	}
}

// TestSignedBytesAreCanonical checks that whatever the strings of a record,
// the bytes Sign signs are their own canonical form — what makes a
// reformatted record verify.
func TestSignedBytesAreCanonical(t *testing.T) {
	k, err := ParseKeyring("k:" + base64.StdEncoding.EncodeToString(make([]byte, 32)))
	if err != nil {
		t.Fatal(err)
	}
	titles := []string{
		"", "plain", `R&D <x> "quoted" \ back\slash /`, "tab\tnewline\nnul\x00bell\x07del\x7f",
		"line sep \u2028 para sep \u2029", "invalid \xff\xfe utf-8 \xc3", "replacement \uFFFD",
		"emoji 🖋 è ü 漢字", `\u003c literal`, strings.Repeat("x", 5000),
	}
	for _, title := range titles {
		r := Record{
			Kind:       "signature",
			Document:   Document{SHA256: "00", Title: title},
			ClientIP:   title,
			ApprovedAt: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC),
			IssuedAt:   time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC),
		}
		s, err := k.Sign(r)
		if err != nil {
			t.Fatalf("Sign(title %q): %v", title, err)
		}
		canon, err := canonicalJSON(s.Record)
		if err != nil || string(canon) != string(s.Record) {
			t.Errorf("title %q: signed bytes\n%s\ncanonical\n%s (%v)", title, s.Record, canon, err)
		}
	}
}
