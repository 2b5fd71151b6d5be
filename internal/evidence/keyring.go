package evidence

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// Keyring holds the signing keys. The first key is active: it signs. The
// others only keep their public halves in [Keyring.PublicKeys] so evidence
// they signed still verifies. To rotate, put a new key first and keep the
// old ones after it.
//
// Printing a Keyring with the fmt package shows key ids, never key material.
type Keyring struct {
	keys []signingKey
}

// signingKey is one Ed25519 key of a Keyring. The private key lives only in
// the sign closure, where neither fmt nor any other reflection can reach it.
type signingKey struct {
	kid  string
	pub  string // base64 of the public key
	sign func(message []byte) []byte
}

// newSigningKey returns the signing key for seed.
func newSigningKey(kid string, seed []byte) signingKey {
	priv := ed25519.NewKeyFromSeed(seed)
	return signingKey{
		kid:  kid,
		pub:  base64.StdEncoding.EncodeToString(priv.Public().(ed25519.PublicKey)),
		sign: func(message []byte) []byte { return ed25519.Sign(priv, message) },
	}
}

// maxKeyIDLen is the longest key id ParseKeyring accepts.
const maxKeyIDLen = 64

// ParseKeyring parses a keyring specification, the format of the env
// variable VERIFLOW_EVIDENCE_KEYS:
//
//	kid1:SEED1,kid2:SEED2
//
// Each SEED is a 32-byte Ed25519 seed, base64 standard (padded) or raw URL
// (unpadded) encoded; the unpadded standard and padded URL variants are
// accepted as well. Key ids are 1–64 characters of [A-Za-z0-9._-] and must be
// unique. Spaces around entries, ids and seeds are ignored. The first key is
// the active one.
//
// Errors wrap [ErrInvalidKeyring] and name entries by position only: they
// never contain key material, nor the key id text (which might be a seed
// written in the wrong place).
func ParseKeyring(s string) (*Keyring, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("%w: no keys", ErrInvalidKeyring)
	}
	entries := strings.Split(s, ",")
	k := &Keyring{keys: make([]signingKey, 0, len(entries))}
	seen := make(map[string]int, len(entries))
	for i, entry := range entries {
		n := i + 1
		entry = strings.TrimSpace(entry)
		if entry == "" {
			return nil, fmt.Errorf("%w: entry %d is empty", ErrInvalidKeyring, n)
		}
		kid, encoded, ok := strings.Cut(entry, ":")
		if !ok {
			return nil, fmt.Errorf("%w: entry %d is not KID:SEED", ErrInvalidKeyring, n)
		}
		kid, encoded = strings.TrimSpace(kid), strings.TrimSpace(encoded)
		if !validKeyID(kid) {
			return nil, fmt.Errorf("%w: entry %d: key id must be 1-%d characters of [A-Za-z0-9._-]", ErrInvalidKeyring, n, maxKeyIDLen)
		}
		if prev, dup := seen[kid]; dup {
			return nil, fmt.Errorf("%w: entry %d: key id repeats the one of entry %d", ErrInvalidKeyring, n, prev)
		}
		seen[kid] = n
		seed, err := decodeBase64(encoded)
		if err != nil {
			// err (a base64.CorruptInputError) holds only an offset, but
			// is left out all the same: nothing about the seed is reported.
			return nil, fmt.Errorf("%w: entry %d: seed is not base64 (standard or raw URL)", ErrInvalidKeyring, n)
		}
		if len(seed) != ed25519.SeedSize {
			clear(seed)
			return nil, fmt.Errorf("%w: entry %d: seed must be %d bytes", ErrInvalidKeyring, n, ed25519.SeedSize)
		}
		k.keys = append(k.keys, newSigningKey(kid, seed))
		clear(seed)
	}
	return k, nil
}

// validKeyID reports whether kid is 1–64 characters of [A-Za-z0-9._-].
func validKeyID(kid string) bool {
	if kid == "" || len(kid) > maxKeyIDLen {
		return false
	}
	for i := 0; i < len(kid); i++ {
		c := kid[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// decodeBase64 decodes s as standard or URL base64, padded or not.
func decodeBase64(s string) ([]byte, error) {
	var firstErr error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawURLEncoding, base64.RawStdEncoding, base64.URLEncoding} {
		b, err := enc.DecodeString(s)
		if err == nil {
			return b, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, firstErr
}

// GenerateKey returns a new key for [ParseKeyring]: a key id "ev-YYYYMMDD-"
// plus 8 random hex digits (the date is now's, in UTC) and a random 32-byte
// seed, raw URL base64 encoded. Used by `veriflow dev` and `veriflow evidence
// keygen`; the entry for the keyring is kid + ":" + encodedSeed.
func GenerateKey(now time.Time) (kid, encodedSeed string, err error) {
	var random [4]byte
	if _, err := rand.Read(random[:]); err != nil {
		return "", "", fmt.Errorf("evidence: generate key id: %w", err)
	}
	seed := make([]byte, ed25519.SeedSize)
	defer clear(seed)
	if _, err := rand.Read(seed); err != nil {
		return "", "", fmt.Errorf("evidence: generate key seed: %w", err)
	}
	kid = "ev-" + now.UTC().Format("20060102") + "-" + hex.EncodeToString(random[:])
	return kid, base64.RawURLEncoding.EncodeToString(seed), nil
}

// ActiveKeyID returns the id of the key that signs, "" for a nil keyring.
func (k *Keyring) ActiveKeyID() string {
	if k == nil || len(k.keys) == 0 {
		return ""
	}
	return k.keys[0].kid
}

// PublicKeys returns the public halves of all keys, in keyring order, with
// the active (first) one marked: the body of GET /v1/keys.
func (k *Keyring) PublicKeys() KeySet {
	ks := KeySet{Keys: []PublicKey{}}
	if k == nil {
		return ks
	}
	for i, key := range k.keys {
		ks.Keys = append(ks.Keys, PublicKey{
			KeyID:     key.kid,
			Algorithm: Algorithm,
			PublicKey: key.pub,
			Active:    i == 0,
		})
	}
	return ks
}

// String describes the keyring by key ids only.
func (k *Keyring) String() string {
	if k == nil {
		return "evidence.Keyring(nil)"
	}
	kids := make([]string, len(k.keys))
	for i, key := range k.keys {
		kids[i] = key.kid
	}
	return "evidence.Keyring{active: " + k.ActiveKeyID() + ", keys: [" + strings.Join(kids, " ") + "]}"
}
