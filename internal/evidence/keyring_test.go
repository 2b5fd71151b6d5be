package evidence_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/veriflow/veriflow/internal/evidence"
)

func TestParseKeyring(t *testing.T) {
	seed1, seed2 := testSeed(1), testSeed(2)
	spec := " a.b_C-1 : " + base64.StdEncoding.EncodeToString(seed1) + " ,\n" +
		"k2:" + base64.RawURLEncoding.EncodeToString(seed2)
	k, err := evidence.ParseKeyring(spec)
	if err != nil {
		t.Fatal(err)
	}
	if got := k.ActiveKeyID(); got != "a.b_C-1" {
		t.Errorf("ActiveKeyID = %q", got)
	}
	ks := k.PublicKeys()
	want := []struct {
		kid  string
		seed []byte
	}{{"a.b_C-1", seed1}, {"k2", seed2}}
	if len(ks.Keys) != len(want) {
		t.Fatalf("PublicKeys = %+v", ks)
	}
	for i, w := range want {
		pub := ed25519.NewKeyFromSeed(w.seed).Public().(ed25519.PublicKey)
		got := ks.Keys[i]
		if got.KeyID != w.kid || got.Algorithm != "Ed25519" || got.PublicKey != base64.StdEncoding.EncodeToString(pub) {
			t.Errorf("key %d = %+v", i, got)
		}
		if got.Active != (i == 0) {
			t.Errorf("key %d active = %v", i, got.Active)
		}
	}

	// A 64-character kid is the longest accepted.
	long := strings.Repeat("x", 64)
	if _, err := evidence.ParseKeyring(long + ":" + base64.StdEncoding.EncodeToString(seed1)); err != nil {
		t.Errorf("64-character kid: %v", err)
	}
}

func TestParseKeyringErrors(t *testing.T) {
	seed := testSeed(7)
	std := base64.StdEncoding.EncodeToString(seed)
	rawURL := base64.RawURLEncoding.EncodeToString(seed)
	short := base64.StdEncoding.EncodeToString(seed[:16])
	long := base64.StdEncoding.EncodeToString(append(append([]byte(nil), seed...), seed[:8]...))
	// Secrets that must never appear in an error, in any encoding.
	secrets := []string{std, rawURL, strings.TrimRight(std, "="), short, long, hex.EncodeToString(seed),
		std[:12], rawURL[:12], short[:12], long[:12], rawURL[10:30]}

	cases := map[string]string{
		"empty":                   "",
		"blank":                   "  \n",
		"no colon":                std,
		"no kid":                  ":" + std,
		"no seed":                 "k1:",
		"bad base64":              "k1:" + std[:20] + "!" + std[21:],
		"short seed":              "k1:" + short,
		"long seed":               "k1:" + long,
		"private key not seed":    "k1:" + base64.StdEncoding.EncodeToString(ed25519.NewKeyFromSeed(seed)),
		"duplicate kid":           "k1:" + std + ",k1:" + rawURL,
		"space in kid":            "k 1:" + std,
		"slash in kid":            "k/1:" + std,
		"colon in kid (2 colons)": "k1:x:" + std,
		"non-ASCII kid":           "clé:" + std,
		"kid too long":            strings.Repeat("k", 65) + ":" + std,
		"trailing comma":          "k1:" + std + ",",
		"leading comma":           ",k1:" + std,
		"seed where kid goes":     rawURL + ":k1",
		"second entry bad":        "k1:" + std + ",k2:" + short,
	}
	for name, spec := range cases {
		t.Run(name, func(t *testing.T) {
			k, err := evidence.ParseKeyring(spec)
			if err == nil {
				t.Fatalf("ParseKeyring(%q) = %v, want error", spec, k)
			}
			if !errors.Is(err, evidence.ErrInvalidKeyring) {
				t.Errorf("error %q does not wrap ErrInvalidKeyring", err)
			}
			for _, secret := range secrets {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q contains key material %q", err, secret)
				}
			}
		})
	}
}

func TestPublicKeysMarksActive(t *testing.T) {
	k := mustKeyring(t, keyEntry("c", 3)+","+keyEntry("b", 2)+","+keyEntry("a", 1))
	ks := k.PublicKeys()
	var active []string
	for _, pk := range ks.Keys {
		if pk.Active {
			active = append(active, pk.KeyID)
		}
	}
	if len(ks.Keys) != 3 || len(active) != 1 || active[0] != "c" || ks.Keys[0].KeyID != "c" {
		t.Errorf("PublicKeys = %+v", ks)
	}
	var nilKeyring *evidence.Keyring
	if got := nilKeyring.PublicKeys(); got.Keys == nil || len(got.Keys) != 0 {
		t.Errorf("nil keyring PublicKeys = %#v, want empty non-nil keys", got)
	}
	if got := nilKeyring.ActiveKeyID(); got != "" {
		t.Errorf("nil keyring ActiveKeyID = %q", got)
	}
}

func TestGenerateKey(t *testing.T) {
	// 23:30 on 3 March at UTC-5 is 4 March in UTC.
	now := time.Date(2026, 3, 3, 23, 30, 0, 0, time.FixedZone("X", -5*3600))
	kid, seed, err := evidence.GenerateKey(now)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^ev-20260304-[0-9a-f]{8}$`).MatchString(kid) {
		t.Errorf("kid = %q", kid)
	}
	k, err := evidence.ParseKeyring(kid + ":" + seed)
	if err != nil {
		t.Fatalf("generated key does not parse: %v", err)
	}
	if k.ActiveKeyID() != kid {
		t.Errorf("ActiveKeyID = %q, want %q", k.ActiveKeyID(), kid)
	}
	s, err := k.Sign(sampleRecord())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := evidence.Verify(s, k.PublicKeys()); err != nil {
		t.Errorf("Verify with generated key: %v", err)
	}

	kid2, seed2, err := evidence.GenerateKey(now)
	if err != nil {
		t.Fatal(err)
	}
	if kid2 == kid || seed2 == seed {
		t.Error("two generated keys are equal")
	}
}

// TestKeyringDoesNotPrintKeys checks that formatting a keyring, whatever
// the verb, shows no key material.
func TestKeyringDoesNotPrintKeys(t *testing.T) {
	seed := testSeed(5)
	k := mustKeyring(t, keyEntry("k1", 5))
	priv := ed25519.NewKeyFromSeed(seed)
	secrets := []string{
		base64.StdEncoding.EncodeToString(seed)[:12],
		base64.RawURLEncoding.EncodeToString(seed)[:12],
		hex.EncodeToString(seed[:6]),
		strings.Trim(fmt.Sprint(seed[:6]), "[]"),
		strings.Trim(fmt.Sprint([]byte(priv[:6])), "[]"),
		hex.EncodeToString(priv[:6]),
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%X", "%q"} {
		for _, arg := range []any{k, *k} {
			out := fmt.Sprintf(verb, arg)
			for _, secret := range secrets {
				if strings.Contains(strings.ToLower(out), strings.ToLower(secret)) {
					t.Errorf("Sprintf(%q, %T) = %q contains key material", verb, arg, out)
				}
			}
		}
	}
	if got := k.String(); !strings.Contains(got, "k1") {
		t.Errorf("String() = %q, want the key id", got)
	}
}
