package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// recordHistory waits for a verification's workflow to close and, when
// VERIFLOW_RECORD_HISTORIES names a folder, writes its history there as
// JSON for the replay tests in workflows/ (make record-histories).
func (s *stack) recordHistory(t *testing.T, name, verificationID string) {
	t.Helper()
	dir := os.Getenv("VERIFLOW_RECORD_HISTORIES")
	if dir == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	wfID := "verification/" + verificationID
	if err := s.app.Temporal.GetWorkflow(ctx, wfID, "").Get(ctx, nil); err != nil {
		t.Fatalf("wait for %s: %v", wfID, err)
	}
	var h historypb.History
	it := s.app.Temporal.GetWorkflowHistory(ctx, wfID, "", false, 0)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		h.Events = append(h.Events, e)
	}
	b, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(&h)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}
