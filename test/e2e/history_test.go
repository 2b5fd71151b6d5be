package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
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
	s.recordWorkflowHistory(t, name, "verification/"+verificationID)
}

// recordWorkflowHistory is recordHistory for any workflow id.
func (s *stack) recordWorkflowHistory(t *testing.T, name, wfID string) {
	t.Helper()
	dir := os.Getenv("VERIFLOW_RECORD_HISTORIES")
	if dir == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.app.Temporal.GetWorkflow(ctx, wfID, "").Get(ctx, nil); err != nil {
		t.Fatalf("wait for %s: %v", wfID, err)
	}
	h := historypb.History{Events: s.historyEvents(t, wfID)}
	b, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(&h)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// historyEvents returns a workflow's history as the server stores it.
func (s *stack) historyEvents(t *testing.T, wfID string) []*historypb.HistoryEvent {
	t.Helper()
	var events []*historypb.HistoryEvent
	it := s.app.Temporal.GetWorkflowHistory(t.Context(), wfID, "", false, 0)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, e)
	}
	return events
}

// historyText renders a verification's history as protojson, each event
// followed by what reveal makes of its payloads.
func (s *stack) historyText(t *testing.T, verificationID string, reveal func(*testing.T, []byte) []byte) string {
	t.Helper()
	var b strings.Builder
	for _, e := range s.historyEvents(t, "verification/"+verificationID) {
		j, err := protojson.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(j)
		b.Write(reveal(t, j))
	}
	return b.String()
}
