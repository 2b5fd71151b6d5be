package providers_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestProvidersDoNotImportTheStore: no package under internal/providers
// depends on internal/store (nor on the database driver), directly or
// through another package: providers reach storage only through the
// narrow interfaces they declare (sandbox.Store, providers.Ingester).
func TestProvidersDoNotImportTheStore(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool on PATH")
	}
	out, err := exec.Command(goTool, "list", "-deps", "-test", "-f", "{{.ImportPath}}", "./...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list found %d packages: the scan is broken", len(deps))
	}
	for _, forbidden := range []string{"github.com/veriflow/veriflow/internal/store", "github.com/jackc/pgx"} {
		for _, d := range deps {
			if d == forbidden || strings.HasPrefix(d, forbidden+"/") {
				t.Errorf("a package under internal/providers depends on %s", d)
			}
		}
	}
}
