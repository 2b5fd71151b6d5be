// Package apikey generates and parses Veriflow API keys. A key reads
// vf_<mode>_<id>_<secret>: the id is the public lookup prefix stored in
// Postgres, the secret is random and stored only as a SHA-256.
package apikey

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"strings"

	"github.com/veriflow/veriflow/internal/contract"
)

// Key is a parsed API key.
type Key struct {
	Mode   contract.Mode
	ID     string
	Secret string
}

// String returns the full key as a client presents it.
func (k Key) String() string { return "vf_" + string(k.Mode) + "_" + k.ID + "_" + k.Secret }

// ErrMalformed is returned for a string that is not an API key.
var ErrMalformed = errors.New("apikey: malformed key")

const (
	idLen = 12
)

// Generate returns a new random key of the given mode.
func Generate(mode contract.Mode) Key {
	return Key{Mode: mode, ID: strings.ToLower(rand.Text()[:idLen]), Secret: rand.Text()}
}

// Parse splits a key into its parts and checks their shape.
func Parse(s string) (Key, error) {
	parts := strings.Split(s, "_")
	if len(parts) != 4 || parts[0] != "vf" {
		return Key{}, ErrMalformed
	}
	k := Key{Mode: contract.Mode(parts[1]), ID: parts[2], Secret: parts[3]}
	if !k.Mode.Valid() || len(k.ID) != idLen || len(k.Secret) < 16 || len(k.Secret) > 128 || !alnum(k.ID) || !alnum(k.Secret) {
		return Key{}, ErrMalformed
	}
	return k, nil
}

func alnum(s string) bool {
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// Hash returns what is stored for a secret.
func Hash(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

// Matches compares a presented secret with a stored hash in constant time.
func Matches(secret string, stored []byte) bool {
	return subtle.ConstantTimeCompare(Hash(secret), stored) == 1
}
