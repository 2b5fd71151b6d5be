package otp

import (
	"bytes"
	"strings"
	"testing"
)

func testSecrets(t *testing.T) *Secrets {
	t.Helper()
	s, err := New(bytes.Repeat([]byte("k"), MinSecretLen))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNewRejectsShortSecret(t *testing.T) {
	if _, err := New([]byte("short")); err == nil {
		t.Fatal("short secret accepted")
	}
}

func TestCodeIsDeterministicAndShaped(t *testing.T) {
	s := testSecrets(t)
	for _, n := range []int{4, 6, 8, 10} {
		c := s.Code("vf_1", 0, "", n)
		if len(c) != n || strings.Trim(c, "0123456789") != "" {
			t.Fatalf("code %q for length %d", c, n)
		}
		if c != s.Code("vf_1", 0, "", n) {
			t.Fatal("code not deterministic")
		}
	}
	if s.Code("vf_1", 0, "", 10) == s.Code("vf_2", 0, "", 10) || s.Code("vf_1", 0, "", 10) == s.Code("vf_1", 1, "", 10) {
		t.Fatal("codes of different verifications or generations collide")
	}
	if s.Code("vf_1", 0, "tx-a", 10) == s.Code("vf_1", 0, "tx-b", 10) {
		t.Fatal("the code is not bound to what it approves")
	}
}

func TestHash(t *testing.T) {
	s := testSecrets(t)
	h := s.Hash("vf_1", "123456")
	if !ValidHash(h) || strings.Contains(h, "123456") {
		t.Fatalf("bad hash %q", h)
	}
	if !Equal(h, s.Hash("vf_1", "123456")) || Equal(h, s.Hash("vf_2", "123456")) || Equal(h, s.Hash("vf_1", "123457")) {
		t.Fatal("hash equality wrong")
	}
	if ValidHash("xyz") || ValidHash(strings.Repeat("g", 64)) {
		t.Fatal("ValidHash accepted junk")
	}
}

func TestSealOpen(t *testing.T) {
	s := testSecrets(t)
	sealed, err := s.Seal([]byte("Your code is 123456"), "row1")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("123456")) {
		t.Fatal("sealed data holds plaintext")
	}
	got, err := s.Open(sealed, "row1")
	if err != nil || string(got) != "Your code is 123456" {
		t.Fatalf("open: %q %v", got, err)
	}
	if _, err := s.Open(sealed, "row2"); err == nil {
		t.Fatal("opened with the wrong aad")
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := s.Open(sealed, "row1"); err == nil {
		t.Fatal("opened tampered data")
	}
}
