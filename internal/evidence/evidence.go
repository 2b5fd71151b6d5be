// Package evidence issues and verifies signed evidence records for approved
// document-signature verifications: what was consented to (the document's
// hash and title), by whom (the masked and keyed-hashed destination that
// received the code), and when (sent, delivered, approved, issued).
//
// A record is serialised to canonical JSON and signed with Ed25519. The
// signed bytes travel verbatim in [Signed.Record], next to the signature and
// the id of the key that made it, so anyone holding the public keys (GET
// /v1/keys, see [KeySet]) can check a record offline with [Verify] or
// [VerifyFile]. Keys rotate by key id: a [Keyring] signs with its first key
// and keeps older ones only so that their public halves stay published.
//
// # Canonical form and reformatted files
//
// The signed bytes are the compact encoding/json encoding of [Record] (fixed
// field order, no insignificant whitespace, no HTML escaping). A Signed value
// keeps those bytes exactly as long as nothing rewrites the nested JSON — but
// several ordinary things do: json.MarshalIndent and pretty-printers
// (jq, python -m json.tool) re-indent it, json.Marshal and a default
// json.Encoder HTML-escape "<", ">" and "&" inside it, and python escapes
// every non-ASCII character. [Verify] therefore checks the signature over the
// exact bytes first and, failing that, over the record's canonical form: the
// same tokens in the same order with whitespace removed and every string
// re-encoded the way encoding/json writes it. Such a reformatted file still
// verifies; any change of a value, a key, the order of keys, or a duplicated
// key does not. Reordering keys (jq -S) breaks verification.
package evidence

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Algorithm is the only signature algorithm: the "alg" of every [Signature]
// and [PublicKey].
const Algorithm = "Ed25519"

// RecordVersion is the version of the [Record] format this package issues
// and accepts.
const RecordVersion = 1

// Sentinel errors returned (wrapped) by [Verify] and [VerifyFile]; test them
// with errors.Is.
var (
	// ErrUnknownKey: the signature's key id is not in the key set.
	ErrUnknownKey = errors.New("evidence: unknown signing key")
	// ErrBadSignature: the signature does not match the record, or uses an
	// algorithm other than Ed25519, or is not a well-formed signature value.
	ErrBadSignature = errors.New("evidence: bad signature")
	// ErrMalformed: the evidence, the record inside it or the key set is not
	// what this package produces (bad JSON, unknown fields, unsupported
	// version, bad public key).
	ErrMalformed = errors.New("evidence: malformed evidence")
	// ErrInvalidKeyring: the keyring specification given to [ParseKeyring]
	// is invalid. Its messages never contain key material.
	ErrInvalidKeyring = errors.New("evidence: invalid keyring")
)

// Record is what a signature approval proves. All times are UTC and encode
// as RFC 3339.
type Record struct {
	// Version is the record format version, [RecordVersion].
	Version int `json:"version"`
	// VerificationID identifies the verification that was approved.
	VerificationID string `json:"verification_id"`
	// TenantID identifies the tenant that requested it.
	TenantID string `json:"tenant_id"`
	// Kind is the kind of verification, "signature".
	Kind string `json:"kind"`
	// Document is what was consented to.
	Document Document `json:"document"`
	// Destination is who consented: where the code was sent.
	Destination Destination `json:"destination"`
	// Channel is the channel that delivered the code.
	Channel string `json:"channel"`
	// SentAt is when the code was sent, if known.
	SentAt *time.Time `json:"sent_at,omitempty"`
	// DeliveredAt is when the code was delivered, if known.
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
	// ApprovedAt is when the approval was received.
	ApprovedAt time.Time `json:"approved_at"`
	// ClientIP is the address the approval came from, if known.
	ClientIP string `json:"client_ip,omitempty"`
	// IssuedAt is when this evidence was issued (signed).
	IssuedAt time.Time `json:"issued_at"`
}

// Document identifies the signed document.
type Document struct {
	// SHA256 is the hex SHA-256 of the document.
	SHA256 string `json:"sha256"`
	// Title is the document's title as shown to the signer.
	Title string `json:"title"`
}

// Destination identifies the signer by where the code was sent, without
// revealing it.
type Destination struct {
	// Type is "phone" or "email".
	Type string `json:"type"`
	// Masked is the masked destination, e.g. "+39333*****67".
	Masked string `json:"masked"`
	// HMAC is the hex keyed hash of the full destination.
	HMAC string `json:"hmac"`
}

// Signed is the stored and served form of a record: the exact signed bytes
// of the record (as a nested JSON value) and the signature over them.
//
// Keep Record byte for byte where possible. Reformatting the nested JSON
// (re-indenting it, escaping characters differently) is tolerated by
// [Verify]; reordering or changing anything else breaks verification. See
// the package documentation.
type Signed struct {
	// Record is the canonical JSON of a [Record]: the exact bytes that were
	// signed.
	Record json.RawMessage `json:"record"`
	// Signature is the signature over Record.
	Signature Signature `json:"signature"`
}

// Signature is an Ed25519 signature and the id of the key that made it.
type Signature struct {
	// KeyID is the id of the signing key in the [KeySet].
	KeyID string `json:"kid"`
	// Algorithm is always [Algorithm], "Ed25519".
	Algorithm string `json:"alg"`
	// Value is the 64-byte signature, base64 (standard, padded).
	Value string `json:"sig"`
}

// PublicKey is one entry of GET /v1/keys.
type PublicKey struct {
	// KeyID is the key's id, the "kid" of signatures it made.
	KeyID string `json:"kid"`
	// Algorithm is always [Algorithm], "Ed25519".
	Algorithm string `json:"alg"`
	// PublicKey is the 32-byte Ed25519 public key, base64 (standard, padded).
	PublicKey string `json:"public_key"`
	// Active reports whether the key signs new evidence; inactive keys are
	// listed so that evidence they signed still verifies.
	Active bool `json:"active"`
}

// KeySet is the body of GET /v1/keys and the keys file of `veriflow evidence
// verify`.
type KeySet struct {
	// Keys lists the public keys, the active one first.
	Keys []PublicKey `json:"keys"`
}

// Sign issues evidence for r, signed with the active key.
//
// Before signing, r is normalised: a zero Version becomes [RecordVersion]
// (any other version is an error), a zero IssuedAt becomes the current time,
// all times are converted to UTC, and invalid UTF-8 in strings is replaced
// by U+FFFD (so that the signed bytes are their own canonical form, see
// [Verify]). ApprovedAt must be set. The record is then encoded
// canonically — encoding/json of the struct, fixed field order, compact,
// without HTML escaping — and those bytes are signed and returned verbatim
// in [Signed.Record].
func (k *Keyring) Sign(r Record) (Signed, error) {
	if k == nil || len(k.keys) == 0 {
		return Signed{}, errors.New("evidence: sign: empty keyring")
	}
	switch r.Version {
	case 0:
		r.Version = RecordVersion
	case RecordVersion:
	default:
		return Signed{}, fmt.Errorf("evidence: sign: unsupported record version %d", r.Version)
	}
	if r.ApprovedAt.IsZero() {
		return Signed{}, errors.New("evidence: sign: approved_at is not set")
	}
	if r.IssuedAt.IsZero() {
		r.IssuedAt = time.Now()
	}
	r.ApprovedAt = r.ApprovedAt.UTC()
	r.IssuedAt = r.IssuedAt.UTC()
	r.SentAt = utcPtr(r.SentAt)
	r.DeliveredAt = utcPtr(r.DeliveredAt)
	for _, p := range []*string{
		&r.VerificationID, &r.TenantID, &r.Kind, &r.Document.SHA256, &r.Document.Title,
		&r.Destination.Type, &r.Destination.Masked, &r.Destination.HMAC, &r.Channel, &r.ClientIP,
	} {
		*p = strings.ToValidUTF8(*p, "\uFFFD")
	}

	raw, err := encodeCanonical(r)
	if err != nil {
		return Signed{}, fmt.Errorf("evidence: sign: encode record: %w", err)
	}
	// The signed bytes must be their own canonical form, or a re-indented
	// copy would not verify. With valid UTF-8 they always are; check anyway.
	if canon, err := canonicalJSON(raw); err != nil || !bytes.Equal(canon, raw) {
		return Signed{}, errors.New("evidence: sign: record encoding is not canonical")
	}
	active := k.keys[0]
	return Signed{
		Record: raw,
		Signature: Signature{
			KeyID:     active.kid,
			Algorithm: Algorithm,
			Value:     base64.StdEncoding.EncodeToString(active.sign(raw)),
		},
	}, nil
}

// utcPtr returns a pointer to a UTC copy of *t (nil for nil), leaving the
// caller's value alone.
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// encodeCanonical encodes v with encoding/json, compact and without HTML
// escaping, without the Encoder's trailing newline.
func encodeCanonical(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Verify checks s against the keys of ks and returns the record it proves.
//
// It finds the key named by the signature's kid (none: [ErrUnknownKey]),
// requires alg "Ed25519" and a well-formed 64-byte signature
// ([ErrBadSignature]), and checks the signature over the exact bytes of
// s.Record or, failing that, over their canonical form, which undoes
// re-indentation and re-escaping (see the package documentation); a mismatch
// is [ErrBadSignature]. It then decodes the signed bytes strictly — unknown
// fields, trailing data or a version other than [RecordVersion] are
// [ErrMalformed] — so the returned Record is exactly what was signed.
// Whether the key is active does not matter: rotated-out keys still verify.
func Verify(s Signed, ks KeySet) (Record, error) {
	if len(bytes.TrimSpace(s.Record)) == 0 {
		return Record{}, fmt.Errorf("%w: no record", ErrMalformed)
	}
	pub, err := findKey(ks, s.Signature.KeyID)
	if err != nil {
		return Record{}, err
	}
	if s.Signature.Algorithm != Algorithm {
		return Record{}, fmt.Errorf("%w: unsupported algorithm %q", ErrBadSignature, s.Signature.Algorithm)
	}
	sig, err := decodeBase64(s.Signature.Value)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return Record{}, fmt.Errorf("%w: signature value is not a base64 %d-byte Ed25519 signature", ErrBadSignature, ed25519.SignatureSize)
	}

	signed := []byte(s.Record)
	if !ed25519.Verify(pub, signed, sig) {
		canon, err := canonicalJSON(signed)
		if err != nil {
			return Record{}, fmt.Errorf("%w: record is not valid JSON: %w", ErrMalformed, err)
		}
		if bytes.Equal(canon, signed) || !ed25519.Verify(pub, canon, sig) {
			return Record{}, fmt.Errorf("%w: signature does not match the record (key %q)", ErrBadSignature, s.Signature.KeyID)
		}
		signed = canon
	}

	r, err := decodeRecord(signed)
	if err != nil {
		return Record{}, err
	}
	return r, nil
}

// findKey returns the public key of kid in ks.
func findKey(ks KeySet, kid string) (ed25519.PublicKey, error) {
	if kid == "" {
		return nil, fmt.Errorf("%w: signature has no key id", ErrUnknownKey)
	}
	var found *PublicKey
	for i := range ks.Keys {
		if ks.Keys[i].KeyID != kid {
			continue
		}
		if found != nil {
			return nil, fmt.Errorf("%w: key set lists key %q more than once", ErrMalformed, kid)
		}
		found = &ks.Keys[i]
	}
	if found == nil {
		return nil, fmt.Errorf("%w: key %q is not in the key set", ErrUnknownKey, kid)
	}
	if found.Algorithm != Algorithm {
		return nil, fmt.Errorf("%w: key %q has unsupported algorithm %q", ErrMalformed, kid, found.Algorithm)
	}
	pub, err := decodeBase64(found.PublicKey)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: key %q is not a base64 %d-byte Ed25519 public key", ErrMalformed, kid, ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(pub), nil
}

// decodeRecord decodes the signed bytes of a record strictly.
func decodeRecord(b []byte) (Record, error) {
	var r Record
	if err := decodeStrict(b, &r); err != nil {
		return Record{}, fmt.Errorf("%w: record: %w", ErrMalformed, err)
	}
	if r.Version != RecordVersion {
		return Record{}, fmt.Errorf("%w: unsupported record version %d", ErrMalformed, r.Version)
	}
	return r, nil
}

// decodeStrict decodes exactly one JSON value from b into v, rejecting
// unknown fields and trailing data.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

// VerifyFile verifies the evidence file at evidencePath (a [Signed] as JSON)
// against the key set file at keysPath (a [KeySet], what GET /v1/keys
// returns), for `veriflow evidence verify FILE --keys KEYS.json`. The
// evidence file must contain exactly a Signed value (unknown fields are
// [ErrMalformed]: nothing unsigned may pass as part of the evidence); the
// key set may carry fields this version does not know.
func VerifyFile(evidencePath, keysPath string) (Record, error) {
	evidence, err := os.ReadFile(evidencePath)
	if err != nil {
		return Record{}, fmt.Errorf("evidence: read evidence file: %w", err)
	}
	keys, err := os.ReadFile(keysPath)
	if err != nil {
		return Record{}, fmt.Errorf("evidence: read keys file: %w", err)
	}
	var s Signed
	if err := decodeStrict(evidence, &s); err != nil {
		return Record{}, fmt.Errorf("%w: evidence file %s: %w", ErrMalformed, evidencePath, err)
	}
	var ks KeySet
	dec := json.NewDecoder(bytes.NewReader(keys))
	if err := dec.Decode(&ks); err != nil {
		return Record{}, fmt.Errorf("%w: keys file %s: %w", ErrMalformed, keysPath, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Record{}, fmt.Errorf("%w: keys file %s: trailing data after the JSON value", ErrMalformed, keysPath)
	}
	r, err := Verify(s, ks)
	if err != nil {
		return Record{}, fmt.Errorf("%s: %w", evidencePath, err)
	}
	return r, nil
}
