package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/veriflow/veriflow/evidence"
)

func TestEvidenceVerifyCommand(t *testing.T) {
	kid, seed, err := evidence.GenerateKey(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ring, err := evidence.ParseKeyring(kid + ":" + seed)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := ring.Sign(evidence.Record{VerificationID: "vf_1", TenantID: "acme", Kind: "signature",
		Document: evidence.Document{SHA256: strings.Repeat("ab", 32), Title: "NDA"}, Channel: "sms", ApprovedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	evFile, keysFile := filepath.Join(dir, "ev.json"), filepath.Join(dir, "keys.json")
	for path, v := range map[string]any{evFile: signed, keysFile: ring.PublicKeys()} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	if err := run(t.Context(), []string{"evidence", "verify", evFile, "--keys", keysFile}, &out); err != nil || !strings.Contains(out.String(), "evidence valid") {
		t.Fatalf("verify: %v %s", err, out.String())
	}
	b, _ := os.ReadFile(evFile)
	if err := os.WriteFile(evFile, bytes.Replace(b, []byte(`"NDA"`), []byte(`"NDB"`), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := run(t.Context(), []string{"evidence", "verify", evFile, "--keys", keysFile}, &out); err == nil {
		t.Fatal("tampered evidence verified")
	}
	out.Reset()
	if err := run(t.Context(), []string{"evidence", "keygen"}, &out); err != nil || !strings.HasPrefix(out.String(), "VERIFLOW_EVIDENCE_KEYS=ev-") {
		t.Fatalf("keygen: %v %q", err, out.String())
	}
	if err := run(t.Context(), []string{"--help"}, &out); err != nil {
		t.Fatal(err)
	}
}
