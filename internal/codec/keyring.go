// Package codec encrypts every Temporal payload Veriflow writes, so that
// workflow histories (readable by anyone with Temporal UI access) hold only
// ciphertext. It provides the keyring, the converter.PayloadCodec, the data
// and failure converters built on it, and the codec server that lets the
// Temporal UI and CLI show decrypted payloads to authorised engineers.
//
// Keys come from the VERIFLOW_PAYLOAD_KEYS environment variable, a comma
// separated list of kid:base64key entries. The first key encrypts; every key
// decrypts. To rotate, put a new key first and keep the old ones for as long
// as histories encrypted with them are retained.
package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// EnvPayloadKeys is the environment variable that holds the keyring.
const EnvPayloadKeys = "VERIFLOW_PAYLOAD_KEYS"

// KeySize is the size in bytes of an AES-256 key.
const KeySize = 32

const maxKeyIDLen = 32

var (
	// ErrInvalidKeyring is returned (wrapped) by ParseKeyring for a malformed keyring.
	ErrInvalidKeyring = errors.New("codec: invalid keyring")
	// ErrUnknownKey is returned (wrapped) when a payload names a key id the keyring does not hold.
	ErrUnknownKey = errors.New("codec: unknown encryption key id")
	// ErrDecrypt is returned (wrapped) when a payload fails authentication
	// (tampered data, wrong key, wrong key id) or is malformed.
	ErrDecrypt = errors.New("codec: cannot decrypt payload")
)

// Keyring holds AES-256 keys by id. The first key encrypts, all keys
// decrypt: to rotate, put the new key first and keep the old ones.
//
// A Keyring never exposes key material: String, GoString and LogValue print
// key ids only, and its errors never contain keys. It is safe for concurrent
// use. Build one with ParseKeyring.
type Keyring struct {
	ids   []string               // in order; ids[0] encrypts
	aeads map[string]cipher.AEAD // AES-256-GCM with random 12-byte nonces
}

// ParseKeyring parses "kid1:BASE64KEY,kid2:BASE64KEY", the format of
// VERIFLOW_PAYLOAD_KEYS. Each key is 32 bytes, base64 in the standard or the
// URL-safe alphabet, padded or not. A key id is 1–32 characters of
// [A-Za-z0-9._-] and appears once. Blank space around entries and empty
// entries are ignored; at least one key is required. Errors name entries by
// position and valid key ids, never key material.
func ParseKeyring(s string) (*Keyring, error) {
	k := &Keyring{aeads: map[string]cipher.AEAD{}}
	for i, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		n := i + 1
		kid, encoded, ok := strings.Cut(entry, ":")
		if !ok {
			return nil, fmt.Errorf("%w: entry %d: want kid:base64key", ErrInvalidKeyring, n)
		}
		kid, encoded = strings.TrimSpace(kid), strings.TrimSpace(encoded)
		// An invalid kid is not echoed: it may be a misplaced key.
		if err := checkKeyID(kid); err != nil {
			return nil, fmt.Errorf("%w: entry %d: %w", ErrInvalidKeyring, n, err)
		}
		if _, dup := k.aeads[kid]; dup {
			return nil, fmt.Errorf("%w: entry %d: duplicate key id %q", ErrInvalidKeyring, n, kid)
		}
		aead, err := newAEAD(encoded)
		if err != nil {
			return nil, fmt.Errorf("%w: entry %d (key id %q): %w", ErrInvalidKeyring, n, kid, err)
		}
		k.ids = append(k.ids, kid)
		k.aeads[kid] = aead
	}
	if len(k.ids) == 0 {
		return nil, fmt.Errorf("%w: no keys (want kid:base64key[,kid:base64key...])", ErrInvalidKeyring)
	}
	return k, nil
}

// GenerateKey returns a new random key: its id "pk-YYYYMMDD-xxxxxxxx" (date
// of now in UTC, 8 random hex digits) and the key in standard base64, ready
// for an entry kid:encoded of VERIFLOW_PAYLOAD_KEYS.
func GenerateKey(now time.Time) (kid, encoded string, err error) {
	var suffix [4]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		return "", "", fmt.Errorf("codec: generate key id: %w", err)
	}
	key := make([]byte, KeySize)
	defer clear(key)
	if _, err := rand.Read(key); err != nil {
		return "", "", fmt.Errorf("codec: generate key: %w", err)
	}
	kid = "pk-" + now.UTC().Format("20060102") + "-" + hex.EncodeToString(suffix[:])
	return kid, base64.StdEncoding.EncodeToString(key), nil
}

// PrimaryKeyID returns the id of the key that encrypts.
func (k *Keyring) PrimaryKeyID() string {
	if k == nil || len(k.ids) == 0 {
		return ""
	}
	return k.ids[0]
}

// KeyIDs returns the key ids in order, the encrypting one first.
func (k *Keyring) KeyIDs() []string {
	if k == nil {
		return nil
	}
	return append([]string(nil), k.ids...)
}

// String describes the keyring by key ids only, e.g.
// "codec.Keyring{encrypt: new, decrypt: [new old]}".
func (k *Keyring) String() string {
	if k == nil {
		return "codec.Keyring(nil)"
	}
	return fmt.Sprintf("codec.Keyring{encrypt: %s, decrypt: %v}", k.PrimaryKeyID(), k.ids)
}

// GoString is String, so %#v does not dump the key schedule.
func (k *Keyring) GoString() string { return k.String() }

// LogValue implements slog.LogValuer with key ids only.
func (k *Keyring) LogValue() slog.Value { return slog.StringValue(k.String()) }

// primary returns the encrypting key id and cipher.
func (k *Keyring) primary() (string, cipher.AEAD, bool) {
	if k == nil || len(k.ids) == 0 {
		return "", nil, false
	}
	return k.ids[0], k.aeads[k.ids[0]], true
}

// lookup returns the cipher of a key id.
func (k *Keyring) lookup(kid string) (cipher.AEAD, bool) {
	if k == nil {
		return nil, false
	}
	a, ok := k.aeads[kid]
	return a, ok
}

func checkKeyID(kid string) error {
	if kid == "" || len(kid) > maxKeyIDLen {
		return fmt.Errorf("key id must be 1-%d characters, got %d", maxKeyIDLen, len(kid))
	}
	for i := 0; i < len(kid); i++ {
		c := kid[i]
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '.' && c != '_' && c != '-' {
			return fmt.Errorf("key id may hold only [A-Za-z0-9._-] (bad character at position %d)", i+1)
		}
	}
	return nil
}

// decodeKey decodes a base64 key in the standard or URL-safe alphabet,
// padded or not. The caller clears the result.
func decodeKey(encoded string) ([]byte, error) {
	if encoded == "" {
		return nil, errors.New("key is empty")
	}
	enc := base64.RawStdEncoding
	if strings.ContainsAny(encoded, "-_") {
		enc = base64.RawURLEncoding
	}
	key, err := enc.DecodeString(strings.TrimRight(encoded, "="))
	if err != nil {
		// CorruptInputError holds an offset only, no input.
		return nil, fmt.Errorf("key is not base64: %w", err)
	}
	if len(key) != KeySize {
		clear(key)
		return nil, fmt.Errorf("key is %d bytes, want %d (AES-256)", len(key), KeySize)
	}
	return key, nil
}

func newAEAD(encoded string) (cipher.AEAD, error) {
	key, err := decodeKey(encoded)
	if err != nil {
		return nil, err
	}
	defer clear(key)
	zero := true
	for _, b := range key {
		zero = zero && b == 0
	}
	if zero {
		return nil, errors.New("key is all zero bytes (a placeholder?)")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("aes: %w", err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("gcm: %w", err)
	}
	return aead, nil
}
