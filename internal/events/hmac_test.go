package events_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// hmacHex is the receiver's side of the signature, independent of Sign.
func hmacHex(secret, msg string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}
