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
// the change "update-commits-first" (or "local-sends", which implies it)
// and checks what it promises: between a
// check's, resend's or cancel's acceptance and the next projection (the
// Record local activity's marker) there is a completed workflow task — the
// projection ran after the acceptance was durable, never inside the
// update's own (speculative) workflow task. It fails on histories recorded
// without the commit (the projection marker follows the acceptance in the
// same task).
func TestUpdatesCommitBeforeTheyRecord(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "*", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	dc := codec.DataConverter(replayKeys(t))
	checked := 0
	for _, f := range files {
		h := readHistory(t, f)
		if !hasChange(t, dc, h, "update-commits-first") && !hasChange(t, dc, h, "local-sends") {
			continue
		}
		evs := h.GetEvents()
		for i, e := range evs {
			if e.GetEventType() != enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED {
				continue
			}
			committed := false
			for _, later := range evs[i+1:] {
				switch {
				case later.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
					committed = true
				case isProjection(later) && !committed:
					t.Errorf("%s: event %d projects in the task that accepted update event %d", f, later.GetEventId(), e.GetEventId())
				}
				if committed || later.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED {
					break
				}
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no recorded history has an update made with update-commits-first: run make record-histories")
	}
	t.Logf("%d accepted updates checked", checked)
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

// isProjection reports whether e records a local activity: a projection,
// or with local sends a send — neither may run in the task that accepted
// an update.
func isProjection(e *historypb.HistoryEvent) bool {
	return e.GetMarkerRecordedEventAttributes().GetMarkerName() == "LocalActivity"
}
