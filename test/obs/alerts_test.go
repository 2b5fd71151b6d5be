package obs

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestAlertRules runs `promtool test rules` on deploy/prometheus/alerts_test.yml
// (every alert fires in one case and stays quiet in another) after
// `promtool check rules` on alerts.yml. Without promtool (Debian package
// prometheus) it skips, unless VERIFLOW_REQUIRE_PROMTOOL=1.
func TestAlertRules(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if errors.Is(err, exec.ErrNotFound) && os.Getenv("VERIFLOW_REQUIRE_PROMTOOL") != "1" {
		t.Skip("promtool not found (apt-get install prometheus); VERIFLOW_REQUIRE_PROMTOOL=1 makes this a failure")
	}
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "deploy", "prometheus")
	for _, args := range [][]string{{"check", "rules", "alerts.yml"}, {"test", "rules", "alerts_test.yml"}} {
		cmd := exec.CommandContext(t.Context(), promtool, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("promtool %v: %v\n%s", args, err, out)
		}
	}
}
