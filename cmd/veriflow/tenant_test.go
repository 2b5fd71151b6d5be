package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/veriflow/veriflow/internal/localpg"
	"github.com/veriflow/veriflow/internal/store"
	"github.com/veriflow/veriflow/internal/store/storetest"
)

// TestTenantBrandingCLI sets a tenant's name and autofill through the
// command line into Postgres, layered over the config file's entry.
func TestTenantBrandingCLI(t *testing.T) {
	url := localpg.ForTest(t)
	st := storetest.OpenURL(t, url)
	ctx := t.Context()
	if err := st.EnsureTenant(ctx, "acme", "acme"); err != nil {
		t.Fatal(err)
	}
	cfgFile := filepath.Join(t.TempDir(), "veriflow.json")
	if err := os.WriteFile(cfgFile, []byte(`{"tenants": {"acme": {"display_name": "Acme From File", "android_app_hash": "abcdefghij0"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	getenv := func(k string) string {
		return map[string]string{"DATABASE_URL": url, "VERIFLOW_CONFIG_FILE": cfgFile, "VERIFLOW_BRAND": "Example Pay"}[k]
	}
	veriflow := func(wantCode int, args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		if code := run(ctx, args, &out, &errOut, getenv); code != wantCode {
			t.Fatalf("%q: exit %d, want %d\nstdout %s\nstderr %s", args, code, wantCode, out.String(), errOut.String())
		}
		return out.String() + errOut.String()
	}
	branding := func() store.Branding {
		t.Helper()
		b, err := st.TenantBranding(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	out := veriflow(0, "tenant", "show", "--tenant", "acme")
	for _, want := range []string{"name:     Acme From File (config file)", "origin:   -", "app hash: abcdefghij0 (config file)",
		"123456 is your Acme From File code to sign in. It expires in 5 minutes. Never share this code with anyone.\nabcdefghij0\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}

	out = veriflow(0, "tenant", "set-name", "--tenant", "acme", "--name", "  Acme   Bank ")
	if b := branding(); b != (store.Branding{Name: "Acme Bank"}) || !strings.Contains(out, "name:     Acme Bank (veriflow tenant)") {
		t.Fatalf("after set-name: %+v\n%s", b, out)
	}
	out = veriflow(0, "tenant", "set-autofill", "--tenant", "acme", "--origin", "Acme.Example")
	if b := branding(); b != (store.Branding{Name: "Acme Bank", Origin: "acme.example"}) ||
		!strings.HasSuffix(out, "code to sign in. It expires in 5 minutes. Never share this code with anyone.\nabcdefghij0\n@acme.example #123456\n") {
		t.Fatalf("after set-autofill --origin: %+v\n%s", b, out)
	}
	veriflow(0, "tenant", "set-autofill", "--tenant", "acme", "--app-hash", "FA+9qCX9VSu")
	if b := branding(); b != (store.Branding{Name: "Acme Bank", Origin: "acme.example", AppHash: "FA+9qCX9VSu"}) {
		t.Fatalf("after set-autofill --app-hash (origin kept): %+v", b)
	}
	veriflow(0, "tenant", "set-autofill", "--tenant", "acme", "--origin", "", "--app-hash", "")
	out = veriflow(0, "tenant", "set-name", "--tenant", "acme", "--name", "")
	if b := branding(); b != (store.Branding{}) || !strings.Contains(out, "name:     Acme From File (config file)") {
		t.Fatalf("after unsetting: %+v\n%s", b, out)
	}

	// Refusals: bad values (nothing stored), an unknown tenant.
	for _, args := range [][]string{
		{"tenant", "set-name", "--tenant", "acme", "--name", "acme.com"},
		{"tenant", "set-name", "--tenant", "acme", "--name", "Acme\nBank"},
		{"tenant", "set-name", "--tenant", "acme", "--name", strings.Repeat("x", 41)},
		{"tenant", "set-autofill", "--tenant", "acme", "--origin", "https://acme.example/login"},
		{"tenant", "set-autofill", "--tenant", "acme", "--app-hash", "too-short"},
		{"tenant", "set-name", "--tenant", "nobody", "--name", "Nobody"},
		{"tenant", "show", "--tenant", "nobody"},
	} {
		if out := veriflow(1, args...); !strings.Contains(out, "veriflow tenant") {
			t.Errorf("%q: %s", args, out)
		}
	}
	if b := branding(); b != (store.Branding{}) {
		t.Fatalf("a refused value was stored: %+v", b)
	}
	if err := st.SetTenantName(ctx, "nobody", "x"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("store: unknown tenant: %v", err)
	}
	// The database refuses what the application would (last line of defence).
	if err := st.SetTenantName(ctx, "acme", "a\nb"); err == nil {
		t.Fatal("database accepted a name with a line break")
	}

	for _, tc := range []struct{ args []string }{
		{[]string{"tenant", "set-name", "--tenant", "acme"}},
		{[]string{"tenant", "set-autofill", "--tenant", "acme"}},
		{[]string{"tenant", "show"}},
	} {
		if out := veriflow(2, tc.args...); !strings.Contains(out, "Usage: veriflow") {
			t.Errorf("%q: %s", tc.args, out)
		}
	}
}
