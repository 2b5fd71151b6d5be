package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "veriflow.json")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestBranding(t *testing.T) {
	c, err := FromEnv(env(nil))
	if err != nil || c.Branding.Default != "Veriflow" || len(c.Branding.Tenants) != 0 {
		t.Fatalf("default branding %+v, %v", c.Branding, err)
	}

	path := writeFile(t, `{"env": {"VERIFLOW_BRAND": "  Example   Pay "},
		"tenants": {
			"acme": {"display_name": "Acme Bank", "web_origin": "Login.Acme.example", "android_app_hash": "FA+9qCX9VSu"},
			"globex": {"web_origin": "globex.example"},
			"initech": {"channels": {"sms": "twilio"}}}}`)
	c, err = FromEnv(env(map[string]string{"VERIFLOW_CONFIG_FILE": path}))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]TenantBranding{
		"acme":   {Name: "Acme Bank", Origin: "login.acme.example", AppHash: "FA+9qCX9VSu"},
		"globex": {Origin: "globex.example"},
	}
	if c.Branding.Default != "Example Pay" || len(c.Branding.Tenants) != len(want) {
		t.Fatalf("branding %+v", c.Branding)
	}
	for tenant, w := range want {
		if got := c.Branding.Tenants[tenant]; got != w {
			t.Errorf("%s: %+v, want %+v", tenant, got, w)
		}
	}
	// The real environment wins over the file's env.
	if c, err := FromEnv(env(map[string]string{"VERIFLOW_CONFIG_FILE": path, "VERIFLOW_BRAND": "Envy"})); err != nil || c.Branding.Default != "Envy" {
		t.Fatalf("VERIFLOW_BRAND from the environment: %q %v", c.Branding.Default, err)
	}

	// Invalid values stop the start, naming the setting.
	for body, wantErr := range map[string]string{
		`{"env": {"VERIFLOW_BRAND": "www.veriflow.example"}}`:                        "VERIFLOW_BRAND: ",
		`{"tenants": {"acme": {"display_name": "Acme\nBank"}}}`:                      "tenants.acme: name has a control",
		`{"tenants": {"acme": {"display_name": "` + strings.Repeat("x", 41) + `"}}}`: "at most 40",
		`{"tenants": {"acme": {"web_origin": "https://acme.example"}}}`:              "tenants.acme: origin",
		`{"tenants": {"acme": {"android_app_hash": "FA+9qCX9VS"}}}`:                  "tenants.acme: app hash",
	} {
		_, err := FromEnv(env(map[string]string{"VERIFLOW_CONFIG_FILE": writeFile(t, body)}))
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("%s: error %v, want one with %q", body, err, wantErr)
		}
	}
}
