package api

import (
	"slices"
	"testing"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/events"
	"github.com/veriflow/veriflow/internal/fraud"
)

// TestOpenAPIVocabularies keeps the document's enums equal to the one Go
// list of each vocabulary: FailureReason to contract.FailureReasons,
// EventType (outbound events) to events.Types.
func TestOpenAPIVocabularies(t *testing.T) {
	schemas := loadSpec(t)["components"].(map[string]any)["schemas"].(map[string]any)
	enum := func(name string) []string {
		s, ok := schemas[name].(map[string]any)
		if !ok {
			t.Fatalf("schema %s missing", name)
		}
		var out []string
		for _, v := range s["enum"].([]any) {
			out = append(out, v.(string))
		}
		return out
	}
	same := func(name string, got []string, want []string) {
		t.Helper()
		for _, w := range want {
			if !slices.Contains(got, w) {
				t.Errorf("openapi.json %s lacks %q (add it to the enum)", name, w)
			}
		}
		for _, g := range got {
			if !slices.Contains(want, g) {
				t.Errorf("openapi.json %s has %q, which is not in the Go list", name, g)
			}
		}
	}
	reasons := make([]string, 0, len(contract.FailureReasons))
	for _, r := range contract.FailureReasons {
		reasons = append(reasons, string(r))
	}
	same("FailureReason", enum("FailureReason"), reasons)
	types := make([]string, 0, len(events.Types))
	for _, e := range events.Types {
		types = append(types, string(e))
	}
	same("EventType", enum("EventType"), types)
	same("RiskDecision", enum("RiskDecision"), strs(fraud.Decisions))
	same("RiskMode", enum("RiskMode"), strs(fraud.Modes))
	same("RiskSignal", enum("RiskSignal"), strs(fraud.Signals))
	same("RiskScope", enum("RiskScope"), strs(fraud.Scopes))
	for _, ref := range []string{"Attempt", "OutboundAttempt"} {
		p := schemas[ref].(map[string]any)["properties"].(map[string]any)["error"].(map[string]any)
		if p["$ref"] != "#/components/schemas/FailureReason" {
			t.Errorf("%s.error does not reference FailureReason", ref)
		}
	}
}

// strs converts a typed string list.
func strs[T ~string](xs []T) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = string(x)
	}
	return out
}
