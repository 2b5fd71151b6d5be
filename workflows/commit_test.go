package workflows_test

import (
	"os"
	"path/filepath"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/veriflow/veriflow/internal/codec"
)

// TestUpdatesCommitBeforeTheyRecord reads every recorded history made with
// the change "update-commits-first" (or "local-sends" or "receipt-batches", which imply it)
// and checks what it promises: a check, resend or cancel completes in a
// later workflow task than the one that accepted it. The handler changes
// nothing before that later task (commitFirst), so whatever it projects or
// emits follows from durable history — never from the update's own,
// possibly speculative, task. It fails on histories recorded without the
// commit (most updates complete in the task that accepted them).
func TestUpdatesCommitBeforeTheyRecord(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "*", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	dc := codec.DataConverter(replayKeys(t))
	checked := 0
	for _, f := range files {
		h := readHistory(t, f)
		if !hasChange(t, dc, h, "update-commits-first") && !hasChange(t, dc, h, "local-sends") && !hasChange(t, dc, h, "receipt-batches") {
			continue
		}
		evs := h.GetEvents()
		for i, e := range evs {
			id := e.GetWorkflowExecutionUpdateAcceptedEventAttributes().GetAcceptedRequest().GetMeta().GetUpdateId()
			if id == "" {
				continue
			}
			committed := false
			for _, later := range evs[i+1:] {
				if later.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED {
					committed = true
				}
				if later.GetWorkflowExecutionUpdateCompletedEventAttributes().GetMeta().GetUpdateId() == id {
					if !committed {
						t.Errorf("%s: update %s (event %d) completed at event %d in the task that accepted it", f, id, e.GetEventId(), later.GetEventId())
					}
					checked++
					break
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no recorded history has a completed update made with update-commits-first: run make record-histories")
	}
	t.Logf("%d completed updates checked", checked)
}

func readHistory(t *testing.T, f string) *historypb.History {
	t.Helper()
	r, err := os.Open(f)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = r.Close() }()
	h, err := client.HistoryFromJSON(r, client.HistoryJSONOptions{})
	if err != nil {
		t.Fatalf("%s: %v", f, err)
	}
	return h
}

// hasChange reports whether h recorded a version marker of change id.
func hasChange(t *testing.T, dc converter.DataConverter, h *historypb.History, id string) bool {
	t.Helper()
	for _, e := range h.GetEvents() {
		m := e.GetMarkerRecordedEventAttributes()
		if m.GetMarkerName() != "Version" {
			continue
		}
		var got string
		if err := dc.FromPayloads(m.GetDetails()["change-id"], &got); err != nil {
			t.Fatalf("decode change id: %v", err)
		}
		if got == id {
			return true
		}
	}
	return false
}
