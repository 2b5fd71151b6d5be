package workflows_test

import (
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/worker"

	"github.com/veriflow/veriflow/contract"
	"github.com/veriflow/veriflow/workflows"
	sdkworkflow "go.temporal.io/sdk/workflow"
)

// TestReplayRecordedHistories replays every history recorded under
// testdata/histories against the current workflow code: a change that is
// not guarded by workflow.GetVersion fails here with a nondeterminism error.
// Record new ones with `make record-histories`.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no recorded histories under testdata/histories")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflowWithOptions(workflows.Verification, sdkworkflow.RegisterOptions{Name: contract.WorkflowVerification})
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
				t.Fatalf("replay %s: %v", f, err)
			}
		})
	}
}
