package codec

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"
)

// samplePayloads returns payloads of several encodings, each holding secret.
func samplePayloads(t *testing.T, secret string) []*commonpb.Payload {
	t.Helper()
	ps, err := converter.GetDefaultDataConverter().ToPayloads(
		"code for "+secret,                   // json/plain
		nil,                                  // binary/null
		[]byte("raw "+secret),                // binary/plain
		&commonpb.WorkflowType{Name: secret}, // json/protobuf
		map[string]any{"to": secret, "n": 3}, // json/plain object
	)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"json/plain", "binary/null", "binary/plain", "json/protobuf", "json/plain"}
	for i, p := range ps.Payloads {
		if got := string(p.Metadata[converter.MetadataEncoding]); got != want[i] {
			t.Fatalf("payload %d encoding %q, want %q", i, got, want[i])
		}
	}
	return ps.Payloads
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	const secret = "+393331234567"
	var c converter.PayloadCodec = NewCodec(mustKeyring(t, "k1:"+testKey(t)))
	in := samplePayloads(t, secret)
	enc, err := c.Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(enc) != len(in) {
		t.Fatalf("Encode returned %d payloads for %d", len(enc), len(in))
	}
	for i, p := range enc {
		md := p.GetMetadata()
		if string(md[converter.MetadataEncoding]) != EncodingEncrypted ||
			string(md[MetadataKeyID]) != "k1" || string(md[MetadataCipher]) != CipherAES256GCM || len(md) != 3 {
			t.Errorf("payload %d metadata %q", i, md)
		}
		plain, _ := proto.Marshal(in[i])
		if len(p.Data) != nonceSize+len(plain)+tagSize {
			t.Errorf("payload %d: %d data bytes, want nonce+%d+tag", i, len(p.Data), len(plain))
		}
		wire, _ := proto.Marshal(p)
		for _, leak := range [][]byte{[]byte(secret), []byte(secret[3:9]), in[i].Data, in[i].Metadata[converter.MetadataEncoding]} {
			if len(leak) > 0 && bytes.Contains(wire, leak) {
				t.Errorf("encoded payload %d contains plaintext %q", i, leak)
			}
		}
	}
	dec, err := c.Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		if !proto.Equal(dec[i], in[i]) {
			t.Errorf("payload %d: decoded %v, want %v", i, dec[i], in[i])
		}
	}
	var wt commonpb.WorkflowType
	if err := converter.GetDefaultDataConverter().FromPayload(dec[3], &wt); err != nil || wt.Name != secret {
		t.Errorf("decoded proto = %v, %v", &wt, err)
	}
}

func TestEncodeUsesRandomNonce(t *testing.T) {
	c := NewCodec(mustKeyring(t, "k1:"+testKey(t)))
	p := samplePayloads(t, "same")[0]
	a, err := c.Encode([]*commonpb.Payload{p})
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Encode([]*commonpb.Payload{p})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a[0].Data, b[0].Data) || bytes.Equal(a[0].Data[:nonceSize], b[0].Data[:nonceSize]) {
		t.Fatal("two encodings of one payload are equal")
	}
}

func TestEncodeDecodeEdgeCases(t *testing.T) {
	c := NewCodec(mustKeyring(t, "k1:"+testKey(t)))
	for _, in := range [][]*commonpb.Payload{nil, {}, {nil}, {{}}} {
		enc, err := c.Encode(in)
		if err != nil {
			t.Fatal(err)
		}
		dec, err := c.Decode(enc)
		if err != nil {
			t.Fatal(err)
		}
		if len(dec) != len(in) {
			t.Fatalf("%v -> %v", in, dec)
		}
		for i := range in {
			if (in[i] == nil) != (dec[i] == nil) || !proto.Equal(in[i], dec[i]) {
				t.Fatalf("%v -> %v", in, dec)
			}
		}
	}
}

func TestRotation(t *testing.T) {
	newKey, oldKey := testKey(t), testKey(t)
	oldOnly := NewCodec(mustKeyring(t, "old:"+oldKey))
	rotated := NewCodec(mustKeyring(t, "new:"+newKey+",old:"+oldKey))
	in := samplePayloads(t, "rotate")

	fromOld, err := oldOnly.Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	fromNew, err := rotated.Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	if kid := string(fromNew[0].Metadata[MetadataKeyID]); kid != "new" {
		t.Fatalf("rotated keyring encrypts with %q, want new", kid)
	}
	// The rotated keyring reads both generations, even mixed in one call.
	mixed := append(append([]*commonpb.Payload{}, fromOld...), fromNew...)
	dec, err := rotated.Decode(mixed)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range dec {
		if !proto.Equal(p, in[i%len(in)]) {
			t.Errorf("payload %d: decoded %v", i, p)
		}
	}
	// A keyring without the new key fails, naming it.
	_, err = oldOnly.Decode(fromNew)
	if !errors.Is(err, ErrUnknownKey) || !strings.Contains(err.Error(), `"new"`) {
		t.Fatalf("Decode with missing key: %v", err)
	}
	if strings.Contains(err.Error(), newKey[:12]) || strings.Contains(err.Error(), oldKey[:12]) {
		t.Fatalf("error %q contains key material", err)
	}
	// Same key id, different key: authentication fails.
	_, err = NewCodec(mustKeyring(t, "new:"+testKey(t))).Decode(fromNew)
	if !errors.Is(err, ErrDecrypt) {
		t.Fatalf("Decode with wrong key under the same id: %v", err)
	}
}

func TestDecodeRejectsTampering(t *testing.T) {
	c := NewCodec(mustKeyring(t, "a:"+testKey(t)+",b:"+testKey(t)))
	enc, err := c.Encode(samplePayloads(t, "tamper")[:1])
	if err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(p *commonpb.Payload){
		"flip ciphertext bit": func(p *commonpb.Payload) { p.Data[nonceSize+1] ^= 1 },
		"flip nonce bit":      func(p *commonpb.Payload) { p.Data[0] ^= 0x80 },
		"flip tag bit":        func(p *commonpb.Payload) { p.Data[len(p.Data)-1] ^= 1 },
		"truncate":            func(p *commonpb.Payload) { p.Data = p.Data[:len(p.Data)-1] },
		"too short":           func(p *commonpb.Payload) { p.Data = p.Data[:nonceSize+tagSize-1] },
		"append":              func(p *commonpb.Payload) { p.Data = append(p.Data, 0) },
		"other key id (AAD)":  func(p *commonpb.Payload) { p.Metadata[MetadataKeyID] = []byte("b") },
		"no key id":           func(p *commonpb.Payload) { delete(p.Metadata, MetadataKeyID) },
		"other cipher":        func(p *commonpb.Payload) { p.Metadata[MetadataCipher] = []byte("ROT13") },
	} {
		t.Run(name, func(t *testing.T) {
			p := proto.Clone(enc[0]).(*commonpb.Payload)
			mutate(p)
			dec, err := c.Decode([]*commonpb.Payload{p})
			if !errors.Is(err, ErrDecrypt) || dec != nil {
				t.Fatalf("Decode = %v, %v; want ErrDecrypt", dec, err)
			}
		})
	}
}

func TestDecodePassesThroughPlainPayloads(t *testing.T) {
	c := NewCodec(mustKeyring(t, "k1:"+testKey(t)))
	in := samplePayloads(t, "legacy history")
	in = append(in, &commonpb.Payload{Data: []byte("no metadata")}, nil)
	snapshot := make([]*commonpb.Payload, len(in))
	for i, p := range in {
		if p != nil {
			snapshot[i] = proto.Clone(p).(*commonpb.Payload)
		}
	}
	dec, err := c.Decode(in)
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		if dec[i] != in[i] || !proto.Equal(in[i], snapshot[i]) {
			t.Errorf("payload %d changed: %v", i, dec[i])
		}
	}
}

func TestCodecConcurrentUse(t *testing.T) {
	c := NewCodec(mustKeyring(t, "k1:"+testKey(t)))
	in := samplePayloads(t, "parallel")
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			for range 50 {
				enc, err := c.Encode(in)
				if err == nil {
					_, err = c.Decode(enc)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestNewCodecNeedsAKey(t *testing.T) {
	for _, k := range []*Keyring{nil, {}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewCodec(%v) did not panic", k)
				}
			}()
			NewCodec(k)
		}()
	}
}
