// Package otp derives one-time codes and their keyed hashes from a server
// secret, so that no code is ever stored: the worker derives a code when it
// sends it, the workflow keeps only its keyed hash, and the API hashes the
// code a person types before it reaches Temporal. It also seals sandbox
// message bodies, the only place a code is ever readable.
package otp

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
)

// MinSecretLen is the minimum length of the server secret in bytes.
const MinSecretLen = 32

// Secrets holds the keys derived from the server secret.
type Secrets struct {
	codeKey []byte
	hashKey []byte
	destKey []byte
	seal    cipher.AEAD
}

// New derives the keys from secret, which must have at least MinSecretLen bytes.
func New(secret []byte) (*Secrets, error) {
	if len(secret) < MinSecretLen {
		return nil, fmt.Errorf("otp: secret must have at least %d bytes, has %d", MinSecretLen, len(secret))
	}
	block, err := aes.NewCipher(derive(secret, "seal"))
	if err != nil {
		return nil, fmt.Errorf("otp: seal key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("otp: seal key: %w", err)
	}
	return &Secrets{
		codeKey: derive(secret, "code"),
		hashKey: derive(secret, "code-hash"),
		destKey: derive(secret, "destination"),
		seal:    aead,
	}, nil
}

func derive(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("veriflow/" + purpose))
	return m.Sum(nil)
}

func mac(key []byte, parts ...string) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

// Code returns the code of generation gen of a verification, with length
// digits (1..18). binding is the digest of what the code approves (a
// transaction or a document; "" for none), so the code itself is bound to
// it (PSD2 dynamic linking). The same inputs always give the same code.
func (s *Secrets) Code(verificationID string, gen int, binding string, length int) string {
	sum := mac(s.codeKey, verificationID, strconv.Itoa(gen), binding)
	n := binary.BigEndian.Uint64(sum[:8])
	mod := uint64(1)
	for range length {
		mod *= 10
	}
	// The modulo bias is below 10^10/2^64 ≈ 5e-10 for the longest codes.
	return fmt.Sprintf("%0*d", length, n%mod)
}

// Hash returns the keyed hash of a code of a verification, as hex. It is
// what the workflow stores and what a check presents.
func (s *Secrets) Hash(verificationID, code string) string {
	return hex.EncodeToString(mac(s.hashKey, verificationID, code))
}

// HashDestination returns a keyed hash of a normalized destination, for
// lookups that must not store the destination itself.
func (s *Secrets) HashDestination(dest string) []byte {
	return mac(s.destKey, dest)
}

// Equal compares two hashes in constant time.
func Equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// ValidHash reports whether h has the shape of a Hash result.
func ValidHash(h string) bool {
	if len(h) != 64 {
		return false
	}
	_, err := hex.DecodeString(h)
	return err == nil
}

// Seal encrypts plaintext with AES-256-GCM; aad binds it to its row.
func (s *Secrets) Seal(plaintext []byte, aad string) ([]byte, error) {
	nonce := make([]byte, s.seal.NonceSize(), s.seal.NonceSize()+len(plaintext)+s.seal.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("otp: nonce: %w", err)
	}
	return s.seal.Seal(nonce, nonce, plaintext, []byte(aad)), nil
}

// ErrOpen is returned when sealed data fails authentication.
var ErrOpen = errors.New("otp: cannot open sealed data")

// Open decrypts what Seal produced with the same aad.
func (s *Secrets) Open(sealed []byte, aad string) ([]byte, error) {
	ns := s.seal.NonceSize()
	if len(sealed) < ns {
		return nil, ErrOpen
	}
	out, err := s.seal.Open(nil, sealed[:ns], sealed[ns:], []byte(aad))
	if err != nil {
		return nil, ErrOpen
	}
	return out, nil
}
