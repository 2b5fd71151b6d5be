package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/otp"
	"github.com/veriflow/veriflow/internal/providers"
)

// memStore keeps messages by idempotency key, as the store does.
type memStore struct{ byKey map[string]Message }

func (s *memStore) SaveMessage(_ context.Context, m Message) (string, error) {
	if old, ok := s.byKey[m.IdempotencyKey]; ok {
		return old.ID, nil
	}
	s.byKey[m.IdempotencyKey] = m
	return m.ID, nil
}

type receipts []contract.Receipt

func (r *receipts) Ingest(_ context.Context, rc contract.Receipt) error {
	*r = append(*r, rc)
	return nil
}

// TestSendKeepsSealedMessageAndScriptsReceipts: the message is stored
// sealed (the code only inside), a retried send finds it again, and the
// scripted receipts go to the Ingester.
func TestSendKeepsSealedMessageAndScriptsReceipts(t *testing.T) {
	secrets, err := otp.New(bytes.Repeat([]byte("k"), otp.MinSecretLen))
	if err != nil {
		t.Fatal(err)
	}
	st, got := &memStore{byKey: map[string]Message{}}, &receipts{}
	p := New(st, secrets, got)
	m := providers.Message{IdempotencyKey: "vf_1-1", VerificationID: "vf_1", TenantID: "acme", Channel: contract.ChannelWhatsApp,
		To: PhoneNotOnWhatsApp, Recipient: contract.Destinations{Phone: PhoneNotOnWhatsApp}, Code: "482913", Text: "Your code is 482913"}
	res, err := p.Send(t.Context(), m)
	if err != nil || !strings.HasPrefix(res.MessageID, "SB") {
		t.Fatalf("Send = %+v, %v", res, err)
	}
	again, err := p.Send(t.Context(), m)
	if err != nil || again.MessageID != res.MessageID {
		t.Fatalf("retried Send = %+v, %v; want message %s", again, err, res.MessageID)
	}
	stored := st.byKey["vf_1-1"]
	if bytes.Contains(stored.SealedBody, []byte("482913")) || bytes.Contains(stored.ToHash, []byte(PhoneNotOnWhatsApp)) ||
		strings.Contains(stored.ToMasked, "5550001") {
		t.Fatalf("stored message shows the code or the destination: %+v", stored)
	}
	plain, err := secrets.Open(stored.SealedBody, stored.ID)
	if err != nil {
		t.Fatal(err)
	}
	var b Body
	if err := json.Unmarshal(plain, &b); err != nil || b.Code != "482913" {
		t.Fatalf("body %+v, %v", b, err)
	}
	if len(*got) != 2 || (*got)[0].Status != contract.AttemptFailed || (*got)[0].Error != contract.ReasonNotOnWhatsApp ||
		(*got)[0].MessageID != res.MessageID || (*got)[0].Provider != Name {
		t.Fatalf("receipts %+v", *got)
	}
}
