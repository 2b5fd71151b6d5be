package chaos

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/veriflow/veriflow/internal/contract"
)

// dumpHistories writes, for each verification id, its workflow's history
// as one line per event (id, time, type, and the marker, timer or update
// it concerns) into dir/histories/<id>.txt, so a verification that ended in
// the wrong state can be read after the run. Payloads stay encrypted: the
// lines show the shape, not the data.
func dumpHistories(ctx context.Context, hostPort, dir string, ids []string) error {
	c, err := client.Dial(client.Options{HostPort: hostPort, Namespace: "default"})
	if err != nil {
		return fmt.Errorf("dial temporal: %w", err)
	}
	defer c.Close()
	out := filepath.Join(dir, "histories")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for _, id := range ids {
		var b strings.Builder
		it := c.GetWorkflowHistory(ctx, contract.WorkflowID(id), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			e, err := it.Next()
			if err != nil {
				fmt.Fprintf(&b, "error: %v\n", err)
				break
			}
			typ := strings.TrimPrefix(e.GetEventType().String(), "EVENT_TYPE_")
			fmt.Fprintf(&b, "%4d %s %s", e.GetEventId(), e.GetEventTime().AsTime().Format(time.TimeOnly+".000"), typ)
			switch {
			case e.GetMarkerRecordedEventAttributes() != nil:
				fmt.Fprintf(&b, " %s", e.GetMarkerRecordedEventAttributes().GetMarkerName())
			case e.GetWorkflowExecutionUpdateAcceptedEventAttributes() != nil:
				fmt.Fprintf(&b, " %s", e.GetWorkflowExecutionUpdateAcceptedEventAttributes().GetAcceptedRequest().GetInput().GetName())
			case e.GetActivityTaskScheduledEventAttributes() != nil:
				fmt.Fprintf(&b, " %s", e.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName())
			case e.GetWorkflowTaskFailedEventAttributes() != nil:
				fmt.Fprintf(&b, " %s", e.GetWorkflowTaskFailedEventAttributes().GetCause())
			case e.GetWorkflowExecutionSignaledEventAttributes() != nil:
				fmt.Fprintf(&b, " %s", e.GetWorkflowExecutionSignaledEventAttributes().GetSignalName())
			}
			b.WriteByte('\n')
		}
		if err := os.WriteFile(filepath.Join(out, id+".txt"), []byte(b.String()), 0o644); err != nil {
			return err
		}
	}
	return nil
}
