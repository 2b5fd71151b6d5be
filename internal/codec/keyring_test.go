package codec

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"
)

// testKey returns a random key in standard base64.
func testKey(t *testing.T) string {
	t.Helper()
	_, enc, err := GenerateKey(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return enc
}

// mustKeyring parses s or fails the test.
func mustKeyring(t *testing.T, s string) *Keyring {
	t.Helper()
	k, err := ParseKeyring(s)
	if err != nil {
		t.Fatalf("ParseKeyring: %v", err)
	}
	return k
}

func TestParseKeyring(t *testing.T) {
	std := testKey(t)
	raw, _ := base64.StdEncoding.DecodeString(testKey(t))
	rawURL := base64.RawURLEncoding.EncodeToString(raw)
	k := mustKeyring(t, " pk-20260101-aa:"+std+" , old.key_1:"+rawURL+",")
	if got := k.KeyIDs(); len(got) != 2 || got[0] != "pk-20260101-aa" || got[1] != "old.key_1" {
		t.Fatalf("KeyIDs = %v", got)
	}
	if k.PrimaryKeyID() != "pk-20260101-aa" {
		t.Fatalf("PrimaryKeyID = %q", k.PrimaryKeyID())
	}
	// Unpadded standard and padded URL-safe forms are accepted too.
	mustKeyring(t, "a:"+strings.TrimRight(std, "="))
	mustKeyring(t, "a:"+base64.URLEncoding.EncodeToString(raw))
}

func TestParseKeyringRejects(t *testing.T) {
	key := testKey(t)
	short := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef"))
	zero := base64.StdEncoding.EncodeToString(make([]byte, KeySize))
	for name, tc := range map[string]struct{ in, want string }{
		"empty":           {"", "no keys"},
		"only commas":     {" , ,", "no keys"},
		"no colon":        {key, "entry 1: want kid:base64key"},
		"empty kid":       {":" + key, "entry 1: key id must be 1-32"},
		"long kid":        {strings.Repeat("k", 33) + ":" + key, "key id must be 1-32"},
		"bad kid char":    {"a/b:" + key, "bad character at position 2"},
		"kid is key":      {key + ":" + key, "entry 1: key id"},
		"duplicate":       {"a:" + key + ",b:" + testKey(t) + ",a:" + testKey(t), `entry 3: duplicate key id "a"`},
		"not base64":      {"a:" + key[:10] + "!!" + key[12:], `entry 1 (key id "a"): key is not base64`},
		"mixed alphabets": {"a:+" + key[1:20] + "_" + key[21:], "not base64"},
		"short key":       {"a:" + short, "key is 16 bytes, want 32"},
		"empty key":       {"a:", "key is empty"},
		"zero key":        {"a:" + zero, "all zero"},
		"second bad":      {"a:" + key + ",b:" + short, `entry 2 (key id "b")`},
	} {
		t.Run(name, func(t *testing.T) {
			k, err := ParseKeyring(tc.in)
			if err == nil {
				t.Fatalf("accepted: %v", k)
			}
			if !errors.Is(err, ErrInvalidKeyring) {
				t.Errorf("error %v is not ErrInvalidKeyring", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			for _, secret := range []string{key, key[:20], key[10:30], short[:16]} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q contains key material", err)
				}
			}
		})
	}
}

func TestKeyringPrintsKeyIDsOnly(t *testing.T) {
	key := testKey(t)
	raw, _ := base64.StdEncoding.DecodeString(key)
	k := mustKeyring(t, "new:"+key+",old:"+testKey(t))
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("keys", "keyring", k)
	for _, out := range []string{
		k.String(), fmt.Sprint(k), fmt.Sprintf("%+v", k), fmt.Sprintf("%#v", k), fmt.Sprintf("%v", *k), logged.String(),
	} {
		if !strings.Contains(out, "new") || !strings.Contains(out, "old") {
			t.Errorf("%q does not name the key ids", out)
		}
		if strings.Contains(out, key[:16]) || bytes.Contains([]byte(out), raw[:8]) {
			t.Errorf("%q contains key material", out)
		}
	}
	if got := k.String(); got != "codec.Keyring{encrypt: new, decrypt: [new old]}" {
		t.Errorf("String() = %q", got)
	}
}

func TestGenerateKey(t *testing.T) {
	now := time.Date(2026, 3, 7, 23, 30, 0, 0, time.FixedZone("X", -5*3600)) // 2026-03-08 in UTC
	kid1, enc1, err := GenerateKey(now)
	if err != nil {
		t.Fatal(err)
	}
	kid2, enc2, err := GenerateKey(now)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`^pk-20260308-[0-9a-f]{8}$`)
	if !re.MatchString(kid1) || !re.MatchString(kid2) {
		t.Fatalf("kids %q, %q do not match %v", kid1, kid2, re)
	}
	if kid1 == kid2 || enc1 == enc2 {
		t.Fatal("two generated keys are equal")
	}
	if raw, err := base64.StdEncoding.DecodeString(enc1); err != nil || len(raw) != KeySize {
		t.Fatalf("key %d bytes, %v", len(raw), err)
	}
	k := mustKeyring(t, kid1+":"+enc1+","+kid2+":"+enc2)
	if k.PrimaryKeyID() != kid1 {
		t.Fatalf("PrimaryKeyID = %q", k.PrimaryKeyID())
	}
}
