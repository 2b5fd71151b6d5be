package config

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
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

func TestCodecTrustedNetworks(t *testing.T) {
	c, err := FromEnv(env(map[string]string{"VERIFLOW_CODEC_TRUSTED_NETWORKS": " 172.16.0.0/12, 192.168.1.7/16 ,fd00::/8,"}))
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("172.16.0.0/12"), netip.MustParsePrefix("192.168.0.0/16"), netip.MustParsePrefix("fd00::/8")}
	if !slices.Equal(c.CodecTrustedNetworks, want) {
		t.Fatalf("networks %v, want %v", c.CodecTrustedNetworks, want)
	}
	if c, err := FromEnv(env(nil)); err != nil || c.CodecTrustedNetworks != nil {
		t.Fatalf("default: %v %v", c.CodecTrustedNetworks, err)
	}

	// From the config file's env, like every variable.
	path := filepath.Join(t.TempDir(), "veriflow.json")
	if err := os.WriteFile(path, []byte(`{"env": {"VERIFLOW_CODEC_TRUSTED_NETWORKS": "172.16.0.0/12"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if c, err := FromEnv(env(map[string]string{"VERIFLOW_CONFIG_FILE": path})); err != nil || len(c.CodecTrustedNetworks) != 1 {
		t.Fatalf("config file: %v %v", c.CodecTrustedNetworks, err)
	}

	// An invalid entry stops the start with a message naming the variable
	// and the entry.
	for value, want := range map[string]string{
		"172.16.0.0/12,docker": `"docker" is not a CIDR`,
		"172.18.0.1":           `"172.18.0.1" is not a CIDR`,
		"10.0.0.0/33":          `"10.0.0.0/33" is not a CIDR`,
		"0.0.0.0/0":            "trusts every address",
		"::/0":                 "trusts every address",
	} {
		_, err := FromEnv(env(map[string]string{"VERIFLOW_CODEC_TRUSTED_NETWORKS": value}))
		if err == nil || !strings.Contains(err.Error(), "VERIFLOW_CODEC_TRUSTED_NETWORKS: ") || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want one with %q", value, err, want)
		}
	}
}

// TestAdmissionSettings: the per-tenant admission bounds and the share
// rule's global bound are off by default, read as numbers, and refused
// when negative or not numbers.
func TestAdmissionSettings(t *testing.T) {
	c, _ := FromEnv(env(nil))
	if c.TenantStartsInFlight != 0 || c.TenantUnsentStarts != 0 || c.UnsentStartsGlobal != 0 {
		t.Fatalf("admission defaults %d/%d/%d, want off", c.TenantStartsInFlight, c.TenantUnsentStarts, c.UnsentStartsGlobal)
	}
	c, _ = FromEnv(env(map[string]string{"VERIFLOW_TENANT_STARTS_IN_FLIGHT": "8", "VERIFLOW_TENANT_UNSENT_STARTS": "16", "VERIFLOW_UNSENT_STARTS_GLOBAL": "64"}))
	if c.TenantStartsInFlight != 8 || c.TenantUnsentStarts != 16 || c.UnsentStartsGlobal != 64 {
		t.Fatalf("admission %d/%d/%d, want 8/16/64", c.TenantStartsInFlight, c.TenantUnsentStarts, c.UnsentStartsGlobal)
	}
	for _, k := range []string{"VERIFLOW_TENANT_STARTS_IN_FLIGHT", "VERIFLOW_TENANT_UNSENT_STARTS", "VERIFLOW_UNSENT_STARTS_GLOBAL"} {
		for _, v := range []string{"-1", "many"} {
			if _, err := FromEnv(env(map[string]string{k: v})); err == nil || !strings.Contains(err.Error(), k) {
				t.Errorf("%s=%s: %v, want an error naming it", k, v, err)
			}
		}
	}
}

func TestAPIKeyCacheSettings(t *testing.T) {
	c, _ := FromEnv(env(nil))
	if c.APIKeyCacheTTL != 30*time.Second || c.APIKeyCacheSize != 10000 {
		t.Fatalf("key cache defaults %v/%d, want 30s/10000", c.APIKeyCacheTTL, c.APIKeyCacheSize)
	}
	c, _ = FromEnv(env(map[string]string{"VERIFLOW_API_KEY_CACHE_TTL": "0"}))
	if c.APIKeyCacheTTL >= 0 {
		t.Fatalf("VERIFLOW_API_KEY_CACHE_TTL=0: %v, want negative (off)", c.APIKeyCacheTTL)
	}
	c, _ = FromEnv(env(map[string]string{"VERIFLOW_API_KEY_CACHE_TTL": "5s", "VERIFLOW_API_KEY_CACHE_SIZE": "50"}))
	if c.APIKeyCacheTTL != 5*time.Second || c.APIKeyCacheSize != 50 {
		t.Fatalf("key cache %v/%d, want 5s/50", c.APIKeyCacheTTL, c.APIKeyCacheSize)
	}
	for k, vs := range map[string][]string{"VERIFLOW_API_KEY_CACHE_TTL": {"-1s", "soon"}, "VERIFLOW_API_KEY_CACHE_SIZE": {"0", "many"}} {
		for _, v := range vs {
			if _, err := FromEnv(env(map[string]string{k: v})); err == nil || !strings.Contains(err.Error(), k) {
				t.Errorf("%s=%s: %v, want an error naming it", k, v, err)
			}
		}
	}
}
