package codec

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"
)

type delivery struct {
	Destination string
	Code        string
	Attempt     int
}

func TestDataConverterEncryptsValues(t *testing.T) {
	const secret = "+393331234567"
	dc := DataConverter(mustKeyring(t, "k1:"+testKey(t)))
	in := delivery{Destination: secret, Code: "483920", Attempt: 2}

	p, err := dc.ToPayload(in)
	if err != nil {
		t.Fatal(err)
	}
	wire, _ := proto.Marshal(p)
	for _, leak := range []string{secret, "483920", "Destination", "json/plain"} {
		if bytes.Contains(wire, []byte(leak)) {
			t.Errorf("payload contains %q", leak)
		}
	}
	if string(p.Metadata[converter.MetadataEncoding]) != EncodingEncrypted {
		t.Errorf("encoding %q", p.Metadata[converter.MetadataEncoding])
	}
	var out delivery
	if err := dc.FromPayload(p, &out); err != nil || out != in {
		t.Fatalf("FromPayload = %+v, %v", out, err)
	}

	ps, err := dc.ToPayloads(in, "second "+secret)
	if err != nil {
		t.Fatal(err)
	}
	if wire, _ := proto.Marshal(ps); bytes.Contains(wire, []byte(secret)) {
		t.Error("payloads contain the secret")
	}
	var s string
	if err := dc.FromPayloads(ps, &out, &s); err != nil || out != in || s != "second "+secret {
		t.Fatalf("FromPayloads = %+v, %q, %v", out, s, err)
	}

	// A payload written before encryption was turned on still reads.
	legacy, err := converter.GetDefaultDataConverter().ToPayload(in)
	if err != nil {
		t.Fatal(err)
	}
	out = delivery{}
	if err := dc.FromPayload(legacy, &out); err != nil || out != in {
		t.Fatalf("FromPayload(legacy) = %+v, %v", out, err)
	}

	// Another keyring cannot read it.
	other := DataConverter(mustKeyring(t, "k2:"+testKey(t)))
	if err := other.FromPayload(p, &out); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("FromPayload with other keyring: %v", err)
	}
}

func TestFailureConverterEncryptsMessage(t *testing.T) {
	const phone = "+393331234567"
	const msg = "send to " + phone + " failed"
	k := mustKeyring(t, "k1:"+testKey(t))
	fc := FailureConverter(k)

	cause := errors.New("provider said no to " + phone)
	f := fc.ErrorToFailure(temporal.NewApplicationErrorWithCause(msg, "SendFailed", cause, "detail "+phone))
	if strings.Contains(f.GetMessage(), phone) || strings.Contains(f.GetStackTrace(), phone) {
		t.Fatalf("failure message %q holds the phone", f.GetMessage())
	}
	if f.GetEncodedAttributes() == nil {
		t.Fatal("no encoded attributes")
	}
	if string(f.GetEncodedAttributes().GetMetadata()[converter.MetadataEncoding]) != EncodingEncrypted {
		t.Fatal("encoded attributes are not encrypted")
	}
	if wire, _ := proto.Marshal(f); bytes.Contains(wire, []byte(phone)) || bytes.Contains(wire, []byte("provider said")) {
		t.Fatal("the failure proto (with cause and details) holds plaintext")
	}
	if f.GetApplicationFailureInfo().GetType() != "SendFailed" {
		t.Errorf("type %q", f.GetApplicationFailureInfo().GetType())
	}

	back := fc.FailureToError(f)
	var appErr *temporal.ApplicationError
	if !errors.As(back, &appErr) {
		t.Fatalf("FailureToError = %T %v", back, back)
	}
	if appErr.Message() != msg || appErr.Type() != "SendFailed" {
		t.Fatalf("round trip message %q type %q", appErr.Message(), appErr.Type())
	}
	var detail string
	if err := appErr.Details(&detail); err != nil || detail != "detail "+phone {
		t.Fatalf("details %q, %v", detail, err)
	}
	if c := errors.Unwrap(back); c == nil || !strings.Contains(c.Error(), "provider said no to "+phone) {
		t.Fatalf("cause %v", c)
	}
}

// EncodedAttributes are a payload like any other: the codec server can
// decode them for the UI.
func TestFailureAttributesDecodeWithCodec(t *testing.T) {
	k := mustKeyring(t, "k1:"+testKey(t))
	f := FailureConverter(k).ErrorToFailure(temporal.NewApplicationError("send to +393331234567 failed", "SendFailed"))
	dec, err := NewCodec(k).Decode([]*commonpb.Payload{f.GetEncodedAttributes()})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(dec[0].GetData(), []byte("send to +393331234567 failed")) {
		t.Fatalf("decoded attributes %s", dec[0].GetData())
	}
}
