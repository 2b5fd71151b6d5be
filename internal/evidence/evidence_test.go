package evidence_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/veriflow/veriflow/internal/evidence"
)

// testSeed returns a distinctive, deterministic 32-byte seed.
func testSeed(n byte) []byte {
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = n*31 + byte(i)*7 + 3
	}
	return seed
}

func keyEntry(kid string, n byte) string {
	return kid + ":" + base64.StdEncoding.EncodeToString(testSeed(n))
}

func mustKeyring(t *testing.T, spec string) *evidence.Keyring {
	t.Helper()
	k, err := evidence.ParseKeyring(spec)
	if err != nil {
		t.Fatalf("ParseKeyring: %v", err)
	}
	return k
}

func sampleRecord() evidence.Record {
	rome := time.FixedZone("CET", 3600)
	sent := time.Date(2026, 3, 4, 11, 19, 58, 0, rome)
	delivered := time.Date(2026, 3, 4, 10, 20, 1, 500_000_000, time.UTC)
	return evidence.Record{
		VerificationID: "ver_01HZX3K9Q7",
		TenantID:       "ten_acme",
		Kind:           "signature",
		Document: evidence.Document{
			SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
			Title:  "Contratto R&D <v2> / cessione è 🖋",
		},
		Destination: evidence.Destination{
			Type:   "phone",
			Masked: "+39333*****67",
			HMAC:   "5d41402abc4b2a76b9719d911017c592ae6f0f1b4e3c6d1a2b3c4d5e6f708192",
		},
		Channel:     "sms",
		SentAt:      &sent,
		DeliveredAt: &delivered,
		ApprovedAt:  time.Date(2026, 3, 4, 10, 20, 30, 0, time.UTC),
		ClientIP:    "203.0.113.7",
		IssuedAt:    time.Date(2026, 3, 4, 10, 20, 31, 0, time.UTC),
	}
}

// signRaw signs arbitrary bytes as a record, to test what Verify does with
// validly signed but unexpected content.
func signRaw(kid string, n byte, raw string) evidence.Signed {
	priv := ed25519.NewKeyFromSeed(testSeed(n))
	return evidence.Signed{
		Record: json.RawMessage(raw),
		Signature: evidence.Signature{
			KeyID:     kid,
			Algorithm: "Ed25519",
			Value:     base64.StdEncoding.EncodeToString(ed25519.Sign(priv, []byte(raw))),
		},
	}
}

// fixture returns a keyring with one key, a record signed by it and the
// keyring's key set.
func fixture(t *testing.T) (evidence.Signed, evidence.KeySet) {
	t.Helper()
	k := mustKeyring(t, keyEntry("k1", 1))
	s, err := k.Sign(sampleRecord())
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return s, k.PublicKeys()
}

func wantErr(t *testing.T, err, sentinel error) {
	t.Helper()
	if err == nil {
		t.Fatalf("got nil error, want %v", sentinel)
	}
	if !errors.Is(err, sentinel) {
		t.Fatalf("got error %q, want one wrapping %q", err, sentinel)
	}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	k := mustKeyring(t, keyEntry("k1", 1))
	in := sampleRecord()
	s, err := k.Sign(in)
	if err != nil {
		t.Fatal(err)
	}
	if s.Signature.KeyID != "k1" || s.Signature.Algorithm != "Ed25519" {
		t.Errorf("signature = %+v", s.Signature)
	}
	if sig, err := base64.StdEncoding.DecodeString(s.Signature.Value); err != nil || len(sig) != ed25519.SignatureSize {
		t.Errorf("signature value %q: %d bytes, %v", s.Signature.Value, len(sig), err)
	}
	// Compact, no HTML escaping, no trailing newline, fixed field order.
	raw := string(s.Record)
	for _, want := range []string{`"title":"Contratto R&D <v2> / cessione è 🖋"`, `"approved_at":"2026-03-04T10:20:30Z"`, `"sent_at":"2026-03-04T10:19:58Z"`} {
		if !strings.Contains(raw, want) {
			t.Errorf("record %s lacks %s", raw, want)
		}
	}
	if !strings.HasPrefix(raw, `{"version":1,"verification_id":"ver_01HZX3K9Q7","tenant_id":"ten_acme","kind":"signature","document":`) {
		t.Errorf("record does not start with the fields in order: %s", raw)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, s.Record); err != nil || compact.String() != raw {
		t.Errorf("record is not compact JSON: %s (%v)", raw, err)
	}

	got, err := evidence.Verify(s, k.PublicKeys())
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	want := in
	want.Version = 1
	if got.Version != 1 || got.VerificationID != want.VerificationID || got.TenantID != want.TenantID ||
		got.Kind != want.Kind || got.Document != want.Document || got.Destination != want.Destination ||
		got.Channel != want.Channel || got.ClientIP != want.ClientIP ||
		!got.ApprovedAt.Equal(want.ApprovedAt) || !got.IssuedAt.Equal(want.IssuedAt) ||
		got.SentAt == nil || !got.SentAt.Equal(*want.SentAt) ||
		got.DeliveredAt == nil || !got.DeliveredAt.Equal(*want.DeliveredAt) {
		t.Errorf("Verify returned\n%+v\nwant\n%+v", got, want)
	}
	if got.SentAt.Location() != time.UTC || got.ApprovedAt.Location() != time.UTC {
		t.Errorf("times not UTC: %v %v", got.SentAt, got.ApprovedAt)
	}

	// The stored form survives a marshal/unmarshal round trip that keeps
	// the nested JSON as is.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	var back evidence.Signed
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back.Record, s.Record) {
		t.Errorf("record bytes changed over a round trip:\n%s\n%s", back.Record, s.Record)
	}
	if _, err := evidence.Verify(back, k.PublicKeys()); err != nil {
		t.Errorf("Verify after round trip: %v", err)
	}
}

func TestSignOmitsUnsetOptionalFields(t *testing.T) {
	k := mustKeyring(t, keyEntry("k1", 1))
	r := sampleRecord()
	r.SentAt, r.DeliveredAt, r.ClientIP = nil, nil, ""
	s, err := k.Sign(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{"sent_at", "delivered_at", "client_ip"} {
		if strings.Contains(string(s.Record), field) {
			t.Errorf("record has %s: %s", field, s.Record)
		}
	}
	got, err := evidence.Verify(s, k.PublicKeys())
	if err != nil {
		t.Fatal(err)
	}
	if got.SentAt != nil || got.DeliveredAt != nil {
		t.Errorf("got times %v %v, want nil", got.SentAt, got.DeliveredAt)
	}
}

func TestSignNormalises(t *testing.T) {
	k := mustKeyring(t, keyEntry("k1", 1))
	zone := time.FixedZone("X", -5*3600)
	sent := time.Date(2026, 3, 4, 5, 19, 58, 0, zone)
	r := sampleRecord()
	r.SentAt = &sent
	r.ApprovedAt = time.Date(2026, 3, 4, 5, 20, 30, 0, zone)
	r.IssuedAt = time.Time{}
	r.Document.Title = "bad \xff utf-8"
	before := time.Now()
	s, err := k.Sign(r)
	if err != nil {
		t.Fatal(err)
	}
	if sent.Location() != zone {
		t.Error("Sign changed the caller's SentAt")
	}
	if !strings.Contains(string(s.Record), `"approved_at":"2026-03-04T10:20:30Z"`) ||
		!strings.Contains(string(s.Record), `"sent_at":"2026-03-04T10:19:58Z"`) {
		t.Errorf("times not converted to UTC: %s", s.Record)
	}
	got, err := evidence.Verify(s, k.PublicKeys())
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 1 {
		t.Errorf("version = %d, want 1", got.Version)
	}
	if got.IssuedAt.Before(before.Add(-time.Second)) || got.IssuedAt.After(time.Now().Add(time.Second)) {
		t.Errorf("issued_at = %v, want about now", got.IssuedAt)
	}
	if got.Document.Title != "bad \uFFFD utf-8" || !utf8.ValidString(got.Document.Title) {
		t.Errorf("title = %q", got.Document.Title)
	}
	// Still verifies once re-indented.
	var indented bytes.Buffer
	if err := json.Indent(&indented, s.Record, "", "  "); err != nil {
		t.Fatal(err)
	}
	s.Record = indented.Bytes()
	if _, err := evidence.Verify(s, k.PublicKeys()); err != nil {
		t.Errorf("re-indented: %v", err)
	}
}

func TestSignRejects(t *testing.T) {
	k := mustKeyring(t, keyEntry("k1", 1))
	r := sampleRecord()
	r.Version = 2
	if _, err := k.Sign(r); err == nil {
		t.Error("Sign accepted version 2")
	}
	r = sampleRecord()
	r.ApprovedAt = time.Time{}
	if _, err := k.Sign(r); err == nil {
		t.Error("Sign accepted a zero approved_at")
	}
	var nilKeyring *evidence.Keyring
	if _, err := nilKeyring.Sign(sampleRecord()); err == nil {
		t.Error("nil keyring signed")
	}
}

func writeJSONFile(t *testing.T, dir, name string, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, dir, name, b)
}

func writeFile(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// writeCompact writes v as compact JSON without HTML escaping, keeping the
// record bytes exactly as signed.
func writeCompact(t *testing.T, dir, name string, v any) string {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return writeFile(t, dir, name, buf.Bytes())
}

func TestVerifyFile(t *testing.T) {
	s, ks := fixture(t)
	dir := t.TempDir()
	evPath := writeCompact(t, dir, "evidence.json", s)
	keysPath := writeJSONFile(t, dir, "keys.json", ks)

	got, err := evidence.VerifyFile(evPath, keysPath)
	if err != nil {
		t.Fatalf("VerifyFile: %v", err)
	}
	if got.VerificationID != "ver_01HZX3K9Q7" || got.Document.Title != sampleRecord().Document.Title {
		t.Errorf("VerifyFile returned %+v", got)
	}

	// The keys file may carry fields this version does not know.
	extended := writeFile(t, dir, "keys-ext.json", []byte(`{"keys":[{"kid":"k1","alg":"Ed25519","public_key":"`+
		ks.Keys[0].PublicKey+`","active":true,"created_at":"2026-01-01T00:00:00Z"}],"next":null}`))
	if _, err := evidence.VerifyFile(evPath, extended); err != nil {
		t.Errorf("VerifyFile with extra key set fields: %v", err)
	}

	if _, err := evidence.VerifyFile(filepath.Join(dir, "missing.json"), keysPath); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing evidence file: %v", err)
	}
	if _, err := evidence.VerifyFile(evPath, filepath.Join(dir, "missing.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing keys file: %v", err)
	}
}

// TestReformattedEvidenceVerifies covers the ways a stored evidence file is
// commonly rewritten without changing what it says.
func TestReformattedEvidenceVerifies(t *testing.T) {
	s, ks := fixture(t)
	dir := t.TempDir()
	keysPath := writeJSONFile(t, dir, "keys.json", ks)

	// json.MarshalIndent re-indents the nested record and, like
	// json.Marshal, HTML-escapes "<", ">" and "&" in it.
	indented, err := json.MarshalIndent(s, "", "    ")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(indented), "\n        \"version\": 1,") || !strings.Contains(string(indented), `R\u0026D \u003cv2\u003e`) {
		t.Fatalf("MarshalIndent did not reformat the record as expected:\n%s", indented)
	}
	if _, err := evidence.VerifyFile(writeFile(t, dir, "indented.json", indented), keysPath); err != nil {
		t.Errorf("MarshalIndent-ed file: %v", err)
	}

	variants := map[string]func([]byte) []byte{
		"json.Marshal (HTML escaping)": func(b []byte) []byte {
			var v evidence.Signed
			v.Record = b
			out, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(out, &v); err != nil {
				t.Fatal(err)
			}
			return v.Record
		},
		"tabs and CRLF": func(b []byte) []byte {
			var out bytes.Buffer
			if err := json.Indent(&out, b, "\r\n", "\t"); err != nil {
				t.Fatal(err)
			}
			return out.Bytes()
		},
		"leading and trailing space": func(b []byte) []byte {
			return append(append([]byte("\n  "), b...), " \n"...)
		},
		"non-ASCII as \\u escapes (python json.tool)": escapeNonASCII,
		"escaped solidus": func(b []byte) []byte { return bytes.ReplaceAll(b, []byte("/"), []byte(`\/`)) },
		"upper-case hex escapes": func(b []byte) []byte {
			return bytes.ReplaceAll(escapeNonASCII(b), []byte(`\u00e8`), []byte(`\u00E8`))
		},
	}
	for name, reformat := range variants {
		t.Run(name, func(t *testing.T) {
			v := s
			v.Record = reformat(bytes.Clone(s.Record))
			if bytes.Equal(v.Record, s.Record) {
				t.Fatal("reformatting did not change the bytes")
			}
			got, err := evidence.Verify(v, ks)
			if err != nil {
				t.Fatalf("Verify: %v\nrecord: %s", err, v.Record)
			}
			if got.Document.Title != sampleRecord().Document.Title {
				t.Errorf("title = %q", got.Document.Title)
			}
		})
	}
}

// escapeNonASCII writes every non-ASCII character as \uXXXX (surrogate pairs
// above U+FFFF), as python's json module does by default.
func escapeNonASCII(b []byte) []byte {
	var out bytes.Buffer
	for _, r := range string(b) {
		switch {
		case r < utf8.RuneSelf:
			out.WriteRune(r)
		case r > 0xFFFF:
			r -= 0x10000
			fmt.Fprintf(&out, `\u%04x\u%04x`, 0xD800+(r>>10), 0xDC00+(r&0x3FF))
		default:
			fmt.Fprintf(&out, `\u%04x`, r)
		}
	}
	return out.Bytes()
}

func TestReformattedAndChangedFails(t *testing.T) {
	s, ks := fixture(t)
	indented, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	changed := bytes.Replace(indented, []byte(`"approved_at": "2026-03-04T10:20:30Z"`), []byte(`"approved_at": "2026-03-04T10:20:31Z"`), 1)
	if bytes.Equal(changed, indented) {
		t.Fatalf("approved_at not found in\n%s", indented)
	}
	dir := t.TempDir()
	_, err = evidence.VerifyFile(writeFile(t, dir, "e.json", changed), writeJSONFile(t, dir, "k.json", ks))
	wantErr(t, err, evidence.ErrBadSignature)
}

func TestTamperedRecordFails(t *testing.T) {
	s, ks := fixture(t)
	cases := []struct{ name, old, new string }{
		{"hash digit", `"sha256":"9f86`, `"sha256":"8f86`},
		{"hash last digit", `0a08"`, `0a09"`},
		{"approved_at second", `"approved_at":"2026-03-04T10:20:30Z"`, `"approved_at":"2026-03-04T10:20:31Z"`},
		{"title", `Contratto R&D`, `Contratto R&E`},
		{"title escaped equivalently but changed", `R&D <v2>`, `R\u0026D \u003cv3\u003e`},
		{"masked destination", `*****67`, `*****68`},
		{"destination hmac", `"hmac":"5d41`, `"hmac":"5d42`},
		{"verification id", `ver_01HZX3K9Q7`, `ver_01HZX3K9Q8`},
		{"tenant", `ten_acme`, `ten_acmf`},
		{"version", `"version":1`, `"version":2`},
		{"channel", `"channel":"sms"`, `"channel":"sm2"`},
		{"client ip", `203.0.113.7`, `203.0.113.8`},
		{"delivered fraction", `10:20:01.5Z`, `10:20:01.6Z`},
		{"key case (Go decodes it the same)", `"tenant_id"`, `"Tenant_id"`},
		{"duplicate key before the real one", `{"version":1,`, `{"document":{"sha256":"00","title":"other"},"version":1,`},
		{"duplicate key after the real one", `"issued_at"`, `"document":{"sha256":"00","title":"other"},"issued_at"`},
		{"dropped optional field", `,"client_ip":"203.0.113.7"`, ``},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := s
			v.Record = json.RawMessage(strings.Replace(string(s.Record), c.old, c.new, 1))
			if bytes.Equal(v.Record, s.Record) {
				t.Fatalf("%q not in record %s", c.old, s.Record)
			}
			if !json.Valid(v.Record) {
				t.Fatalf("tampered record is not valid JSON: %s", v.Record)
			}
			_, err := evidence.Verify(v, ks)
			wantErr(t, err, evidence.ErrBadSignature)
		})
	}

	t.Run("sorted keys (jq -S)", func(t *testing.T) {
		var m map[string]any
		if err := json.Unmarshal(s.Record, &m); err != nil {
			t.Fatal(err)
		}
		sorted, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		v := s
		v.Record = sorted
		_, err = evidence.Verify(v, ks)
		wantErr(t, err, evidence.ErrBadSignature)
	})
}

// TestEverySingleByteChangeFails changes each byte of the signed record in
// several ways: none may verify.
func TestEverySingleByteChangeFails(t *testing.T) {
	s, ks := fixture(t)
	var tried int
	for i := range s.Record {
		for _, b := range []byte{s.Record[i] ^ 0x01, s.Record[i] ^ 0x20, ' ', '\n', '"', '\\', '0', 'e', ','} {
			if b == s.Record[i] {
				continue
			}
			v := s
			v.Record = bytes.Clone(s.Record)
			v.Record[i] = b
			tried++
			_, err := evidence.Verify(v, ks)
			if err == nil {
				t.Fatalf("byte %d changed %q -> %q still verifies: %s", i, s.Record[i], b, v.Record)
			}
			if !errors.Is(err, evidence.ErrBadSignature) && !errors.Is(err, evidence.ErrMalformed) {
				t.Fatalf("byte %d: unexpected error %v", i, err)
			}
		}
	}
	t.Logf("%d single-byte changes rejected", tried)
}

func TestTamperedSignatureFails(t *testing.T) {
	s, ks := fixture(t)
	sig, err := base64.StdEncoding.DecodeString(s.Signature.Value)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 31, 32, 63} {
		bad := bytes.Clone(sig)
		bad[i] ^= 0x01
		v := s
		v.Signature.Value = base64.StdEncoding.EncodeToString(bad)
		_, err := evidence.Verify(v, ks)
		wantErr(t, err, evidence.ErrBadSignature)
	}
	for name, value := range map[string]string{
		"empty":         "",
		"not base64":    "!!!!" + s.Signature.Value[4:],
		"truncated":     base64.StdEncoding.EncodeToString(sig[:63]),
		"extended":      base64.StdEncoding.EncodeToString(append(bytes.Clone(sig), 0)),
		"other message": signRaw("k1", 1, `{"version":1}`).Signature.Value,
	} {
		t.Run(name, func(t *testing.T) {
			v := s
			v.Signature.Value = value
			_, err := evidence.Verify(v, ks)
			wantErr(t, err, evidence.ErrBadSignature)
		})
	}
	// The signature value may be re-encoded (raw URL base64): it is the
	// same signature.
	v := s
	v.Signature.Value = base64.RawURLEncoding.EncodeToString(sig)
	if _, err := evidence.Verify(v, ks); err != nil {
		t.Errorf("raw URL base64 signature: %v", err)
	}
}

func TestUnknownKey(t *testing.T) {
	s, ks := fixture(t)
	for _, kid := range []string{"k2", "", "K1", "k1 "} {
		v := s
		v.Signature.KeyID = kid
		_, err := evidence.Verify(v, ks)
		wantErr(t, err, evidence.ErrUnknownKey)
	}
	_, err := evidence.Verify(s, evidence.KeySet{})
	wantErr(t, err, evidence.ErrUnknownKey)
	// Another key under the same kid does not verify.
	other := mustKeyring(t, keyEntry("k1", 9)).PublicKeys()
	_, err = evidence.Verify(s, other)
	wantErr(t, err, evidence.ErrBadSignature)
}

func TestWrongAlgorithm(t *testing.T) {
	s, ks := fixture(t)
	for _, alg := range []string{"", "EdDSA", "ed25519", "ES256", "none"} {
		v := s
		v.Signature.Algorithm = alg
		_, err := evidence.Verify(v, ks)
		wantErr(t, err, evidence.ErrBadSignature)
	}
	// A key set entry under another algorithm is not used.
	bad := evidence.KeySet{Keys: append([]evidence.PublicKey(nil), ks.Keys...)}
	bad.Keys[0].Algorithm = "RS256"
	_, err := evidence.Verify(s, bad)
	wantErr(t, err, evidence.ErrMalformed)
}

func TestMalformed(t *testing.T) {
	s, ks := fixture(t)
	pub := mustKeyring(t, keyEntry("k1", 1)).PublicKeys()

	records := map[string]string{
		"truncated JSON":  `{"version":1,"verification_id":"v"`,
		"not JSON":        `version=1`,
		"unknown field":   strings.Replace(string(s.Record), `"channel":`, `"extra":true,"channel":`, 1),
		"trailing data":   string(s.Record) + `{}`,
		"version 2":       strings.Replace(string(s.Record), `"version":1`, `"version":2`, 1),
		"no version":      strings.Replace(string(s.Record), `"version":1,`, ``, 1),
		"array":           `[1,2]`,
		"null":            `null`,
		"wrong type":      strings.Replace(string(s.Record), `"version":1`, `"version":"1"`, 1),
		"bad time":        strings.Replace(string(s.Record), `10:20:30Z`, `10:20:30`, 1),
		"whitespace only": ` `,
	}
	for name, raw := range records {
		t.Run("validly signed "+name, func(t *testing.T) {
			_, err := evidence.Verify(signRaw("k1", 1, raw), pub)
			wantErr(t, err, evidence.ErrMalformed)
		})
	}
	t.Run("invalid JSON with a signature over other bytes", func(t *testing.T) {
		v := s
		v.Record = json.RawMessage(`{"version":1,`)
		_, err := evidence.Verify(v, ks)
		wantErr(t, err, evidence.ErrMalformed)
	})
	t.Run("no record", func(t *testing.T) {
		v := s
		v.Record = nil
		_, err := evidence.Verify(v, ks)
		wantErr(t, err, evidence.ErrMalformed)
	})

	badKeys := map[string]evidence.KeySet{
		"public key not base64":  {Keys: []evidence.PublicKey{{KeyID: "k1", Algorithm: "Ed25519", PublicKey: "%%%"}}},
		"public key short":       {Keys: []evidence.PublicKey{{KeyID: "k1", Algorithm: "Ed25519", PublicKey: base64.StdEncoding.EncodeToString(make([]byte, 31))}}},
		"kid listed twice":       {Keys: []evidence.PublicKey{ks.Keys[0], ks.Keys[0]}},
		"public key is a seed64": {Keys: []evidence.PublicKey{{KeyID: "k1", Algorithm: "Ed25519", PublicKey: base64.StdEncoding.EncodeToString(ed25519.NewKeyFromSeed(testSeed(1)))}}},
	}
	for name, bad := range badKeys {
		t.Run(name, func(t *testing.T) {
			_, err := evidence.Verify(s, bad)
			wantErr(t, err, evidence.ErrMalformed)
		})
	}

	dir := t.TempDir()
	good := writeCompact(t, dir, "good.json", s)
	keysPath := writeJSONFile(t, dir, "keys.json", ks)
	files := map[string]string{
		"empty file":           ``,
		"not JSON":             `this is not json`,
		"truncated":            `{"record":{"version":1},"signature":{"kid":"k1"`,
		"unsigned extra field": strings.Replace(readFile(t, good), `"signature":`, `"note":"approved by the CEO","signature":`, 1),
		"two values":           readFile(t, good) + readFile(t, good),
		"record is a string":   `{"record":"{}","signature":{"kid":"k1","alg":"Ed25519","sig":"` + s.Signature.Value + `"}}`,
	}
	for name, content := range files {
		t.Run("evidence file "+name, func(t *testing.T) {
			_, err := evidence.VerifyFile(writeFile(t, dir, "bad.json", []byte(content)), keysPath)
			if name == "record is a string" {
				// Valid envelope, but the signature is not over `"{}"`.
				wantErr(t, err, evidence.ErrBadSignature)
				return
			}
			wantErr(t, err, evidence.ErrMalformed)
		})
	}
	for name, content := range map[string]string{
		"not JSON":    `keys`,
		"wrong shape": `{"keys":{"kid":"k1"}}`,
		"two values":  readFile(t, keysPath) + `{}`,
	} {
		t.Run("keys file "+name, func(t *testing.T) {
			_, err := evidence.VerifyFile(good, writeFile(t, dir, "badkeys.json", []byte(content)))
			wantErr(t, err, evidence.ErrMalformed)
		})
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRotation(t *testing.T) {
	oldOnly := mustKeyring(t, keyEntry("old", 1))
	rotated := mustKeyring(t, keyEntry("new", 2)+","+keyEntry("old", 1))

	if got := rotated.ActiveKeyID(); got != "new" {
		t.Fatalf("ActiveKeyID = %q, want new", got)
	}
	fresh, err := rotated.Sign(sampleRecord())
	if err != nil {
		t.Fatal(err)
	}
	if fresh.Signature.KeyID != "new" {
		t.Errorf("rotated keyring signed with %q, want new", fresh.Signature.KeyID)
	}
	legacy, err := oldOnly.Sign(sampleRecord())
	if err != nil {
		t.Fatal(err)
	}
	if legacy.Signature.KeyID != "old" {
		t.Fatalf("old keyring signed with %q", legacy.Signature.KeyID)
	}

	both := rotated.PublicKeys()
	if len(both.Keys) != 2 || both.Keys[0].KeyID != "new" || !both.Keys[0].Active || both.Keys[1].KeyID != "old" || both.Keys[1].Active {
		t.Fatalf("rotated key set = %+v", both)
	}
	// The old key's public half is the same in both keyrings.
	if both.Keys[1].PublicKey != oldOnly.PublicKeys().Keys[0].PublicKey {
		t.Error("old public key differs between keyrings")
	}
	for name, s := range map[string]evidence.Signed{"new": fresh, "old": legacy} {
		if _, err := evidence.Verify(s, both); err != nil {
			t.Errorf("evidence signed by %s key does not verify with the rotated key set: %v", name, err)
		}
	}

	// Through files, as the CLI does.
	dir := t.TempDir()
	if _, err := evidence.VerifyFile(writeCompact(t, dir, "legacy.json", legacy), writeJSONFile(t, dir, "keys.json", both)); err != nil {
		t.Errorf("VerifyFile legacy evidence: %v", err)
	}

	// Once the old key is dropped, its evidence no longer verifies.
	newOnly := evidence.KeySet{Keys: both.Keys[:1]}
	_, err = evidence.Verify(legacy, newOnly)
	wantErr(t, err, evidence.ErrUnknownKey)
	if _, err := evidence.Verify(fresh, newOnly); err != nil {
		t.Errorf("new evidence with new-only key set: %v", err)
	}
	_, err = evidence.Verify(fresh, oldOnly.PublicKeys())
	wantErr(t, err, evidence.ErrUnknownKey)
}
