package workflows_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.temporal.io/sdk/worker"

	"github.com/veriflow/veriflow/internal/codec"
	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/events/delivery"
	"github.com/veriflow/veriflow/workflows"
	sdkworkflow "go.temporal.io/sdk/workflow"
)

// TestReplayRecordedHistories replays every history recorded under
// testdata/histories against the current workflow code: a change that is
// not guarded by workflow.GetVersion fails here with a nondeterminism error.
// Record new ones with `make record-histories`.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "*", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no recorded histories under testdata/histories")
	}
	keys := replayKeys(t)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{
				DataConverter: codec.DataConverter(keys), FailureConverter: codec.FailureConverter(keys),
			})
			if err != nil {
				t.Fatal(err)
			}
			r.RegisterWorkflowWithOptions(workflows.Verification, sdkworkflow.RegisterOptions{Name: contract.WorkflowVerification})
			r.RegisterWorkflowWithOptions(delivery.DeliverEvent, sdkworkflow.RegisterOptions{Name: contract.WorkflowDeliverEvent})
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
				t.Fatalf("replay %s: %v", f, err)
			}
		})
	}
}

// replayKeys reads the test-only payload key that recorded histories are
// encrypted with (histories recorded before encryption are plain and pass
// through the codec unchanged).
func replayKeys(t *testing.T) *codec.Keyring {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "payload-keys.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var spec string
	for _, line := range strings.Split(string(b), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			spec = line
		}
	}
	k, err := codec.ParseKeyring(spec)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
