package codec

import (
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"
)

// Metadata of an encrypted payload.
const (
	// EncodingEncrypted is the "encoding" metadata value of an encrypted payload.
	EncodingEncrypted = "binary/encrypted"
	// MetadataKeyID is the metadata key naming the key that encrypted a payload.
	MetadataKeyID = "encryption-key-id"
	// MetadataCipher is the metadata key naming the cipher of a payload.
	MetadataCipher = "encryption-cipher"
	// CipherAES256GCM is the only cipher written and read.
	CipherAES256GCM = "AES-256-GCM"
)

const (
	nonceSize = 12
	tagSize   = 16
)

// Codec is a converter.PayloadCodec that encrypts payloads with the first key
// of a Keyring (AES-256-GCM, random 12-byte nonce, the key id as additional
// authenticated data) and decrypts them with whichever key they name.
// Payloads that are not encrypted pass through Decode unchanged, so histories
// written before encryption was turned on stay readable. It is safe for
// concurrent use.
type Codec struct {
	keys *Keyring
}

// NewCodec returns a Codec over k. It panics if k is nil or holds no key (a
// Keyring from ParseKeyring always holds one): a codec that cannot encrypt
// must not be wired into a worker, whose failure converter panics on
// encoding errors anyway.
func NewCodec(k *Keyring) *Codec {
	if _, _, ok := k.primary(); !ok {
		panic("codec: NewCodec needs a keyring with at least one key")
	}
	return &Codec{keys: k}
}

// Encode encrypts each payload: the result has metadata
// {"encoding": "binary/encrypted", "encryption-key-id": kid,
// "encryption-cipher": "AES-256-GCM"} and data nonce||ciphertext||tag of the
// proto-marshalled original payload. Nil payloads stay nil.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	kid, aead, ok := c.keys.primary()
	if !ok {
		return nil, fmt.Errorf("%w: keyring is empty", ErrUnknownKey)
	}
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if p == nil {
			continue
		}
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("codec: marshal payload %d: %w", i, err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(EncodingEncrypted),
				MetadataKeyID:              []byte(kid),
				MetadataCipher:             []byte(CipherAES256GCM),
			},
			// The random nonce is prepended by the AEAD.
			Data: aead.Seal(nil, nil, plain, []byte(kid)),
		}
	}
	return out, nil
}

// Decode decrypts payloads whose encoding is binary/encrypted and returns the
// others unchanged. It fails, naming the payload index and key id, for an
// unknown key id (ErrUnknownKey) or data that does not authenticate
// (ErrDecrypt).
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) != EncodingEncrypted {
			out[i] = p
			continue
		}
		d, err := c.decrypt(p)
		if err != nil {
			return nil, fmt.Errorf("payload %d: %w", i, err)
		}
		out[i] = d
	}
	return out, nil
}

func (c *Codec) decrypt(p *commonpb.Payload) (*commonpb.Payload, error) {
	md := p.GetMetadata()
	if ci, ok := md[MetadataCipher]; ok && string(ci) != CipherAES256GCM {
		return nil, fmt.Errorf("%w: unsupported cipher %q", ErrDecrypt, truncate(string(ci)))
	}
	rawKid, ok := md[MetadataKeyID]
	if !ok {
		return nil, fmt.Errorf("%w: no %s metadata", ErrDecrypt, MetadataKeyID)
	}
	kid := string(rawKid)
	aead, ok := c.keys.lookup(kid)
	if !ok {
		return nil, fmt.Errorf("%w %q (keyring holds %v; was an old key dropped from %s?)",
			ErrUnknownKey, truncate(kid), c.keys.ids, EnvPayloadKeys)
	}
	if len(p.GetData()) < nonceSize+tagSize {
		return nil, fmt.Errorf("%w: key id %q: data is %d bytes, shorter than nonce and tag",
			ErrDecrypt, kid, len(p.GetData()))
	}
	plain, err := aead.Open(nil, nil, p.GetData(), rawKid)
	if err != nil {
		return nil, fmt.Errorf("%w: key id %q: authentication failed (tampered data or wrong key): %w",
			ErrDecrypt, kid, err)
	}
	var d commonpb.Payload
	if err := proto.Unmarshal(plain, &d); err != nil {
		return nil, fmt.Errorf("%w: key id %q: decrypted data is not a payload: %w", ErrDecrypt, kid, err)
	}
	return &d, nil
}

// truncate bounds untrusted metadata echoed in errors.
func truncate(s string) string {
	if len(s) > 2*maxKeyIDLen {
		return s[:2*maxKeyIDLen] + "…"
	}
	return s
}
