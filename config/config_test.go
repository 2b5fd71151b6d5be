package config

import (
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	c, err := FromEnv(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != "127.0.0.1:8080" || c.TemporalAddress != "127.0.0.1:7233" || c.ShutdownTimeout != 20*time.Second {
		t.Fatalf("defaults: %+v", c)
	}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "DATABASE_URL") || !strings.Contains(err.Error(), "VERIFLOW_CODE_SECRET") {
		t.Fatalf("Validate: %v", err)
	}
}

func TestBadValuesAndRedaction(t *testing.T) {
	if _, err := FromEnv(env(map[string]string{"VERIFLOW_SHUTDOWN_TIMEOUT": "soon", "VERIFLOW_LOG_FORMAT": "xml"})); err == nil {
		t.Fatal("bad values accepted")
	}
	c, err := FromEnv(env(map[string]string{"DATABASE_URL": "postgres://app:hunter2@db:5432/veriflow", "VERIFLOW_CODE_SECRET": strings.Repeat("x", 32),
		"VERIFLOW_EVIDENCE_KEYS": "ev-1:c2VlZA", "VERIFLOW_PAYLOAD_KEYS": "pk-1:a2V5"}))
	if err != nil || c.Validate() != nil {
		t.Fatal(err, c.Validate())
	}
	if s := c.String(); strings.Contains(s, "hunter2") || strings.Contains(s, "xxxx") {
		t.Fatalf("String leaks secrets: %s", s)
	}
}
