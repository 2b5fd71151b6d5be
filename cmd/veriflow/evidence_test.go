package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/veriflow/veriflow/internal/evidence"
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
	var out, errOut bytes.Buffer
	if code := run(t.Context(), []string{"evidence", "verify", evFile, "--keys", keysFile}, &out, &errOut, noEnv); code != 0 || !strings.Contains(out.String(), "evidence valid") {
		t.Fatalf("verify: exit %d %s %s", code, out.String(), errOut.String())
	}
	b, _ := os.ReadFile(evFile)
	if err := os.WriteFile(evFile, bytes.Replace(b, []byte(`"NDA"`), []byte(`"NDB"`), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	errOut.Reset()
	if code := run(t.Context(), []string{"evidence", "verify", evFile, "--keys", keysFile}, &out, &errOut, noEnv); code != 1 || !strings.Contains(errOut.String(), "NOT valid") {
		t.Fatalf("tampered evidence: exit %d %q", code, errOut.String())
	}
	out.Reset()
	if code := run(t.Context(), []string{"evidence", "keygen"}, &out, &errOut, noEnv); code != 0 || !strings.HasPrefix(out.String(), "VERIFLOW_EVIDENCE_KEYS=ev-") {
		t.Fatalf("keygen: exit %d %q", code, out.String())
	}
}
