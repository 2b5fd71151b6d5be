// Package obs checks the observability files under deploy/: the Grafana
// dashboards' and the Prometheus alert rules' queries name only metrics
// Veriflow exports (scraped from the real local stack), and the alert
// rules pass their promtool unit tests.
package obs

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

const root = "../.."

// Pieces of PromQL that hold no metric name, removed before tokenizing.
var (
	// Grafana's variables: $__rate_interval, ${datasource}, $var.
	reVariable = regexp.MustCompile(`\$\{[^}]*\}|\$\w+`)
	// A metric named by a matcher: {__name__="x"}.
	reNameMatcher = regexp.MustCompile(`__name__\s*=\s*"([a-zA-Z_:][a-zA-Z0-9_:]*)"`)
	// String literals (label values, label_replace arguments).
	reString = regexp.MustCompile("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'|`[^`]*`")
	// Label matchers, ranges and subqueries (with their durations).
	reMatchers = regexp.MustCompile(`\{[^{}]*\}`)
	reRange    = regexp.MustCompile(`\[[^\[\]]*\]`)
	// Grouping clauses and their label lists.
	reGrouping = regexp.MustCompile(`(?i)\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)`)
	// Tokens: numbers and durations (5m, 1e3, 0x1f), then identifiers, the
	// latter with a following "(" when they call a function or aggregate.
	reToken = regexp.MustCompile(`[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?[a-zA-Z0-9]*|[a-zA-Z_:][a-zA-Z0-9_:]*(?:\s*\()?`)
)

// keywords are PromQL's words that are not metric names when they stand
// alone (binary operators, modifiers, literals, grouping without a list).
var keywords = map[string]bool{
	"and": true, "or": true, "unless": true, "bool": true, "offset": true, "atan2": true,
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
	"inf": true, "nan": true,
}

// metricNames returns the metric names a PromQL expression selects,
// sorted and without repeats: everything that is not a function or
// aggregation call, a label matcher or list, a duration, a number, a
// string, a keyword or a Grafana variable.
func metricNames(expr string) []string {
	var names []string
	for _, m := range reNameMatcher.FindAllStringSubmatch(expr, -1) {
		names = append(names, m[1])
	}
	s := reVariable.ReplaceAllString(expr, " ")
	s = reString.ReplaceAllString(s, `""`)
	for _, re := range []*regexp.Regexp{reMatchers, reRange, reGrouping} {
		// Nested brackets (a subquery over a range) need more than one pass.
		for prev := ""; prev != s; {
			prev, s = s, re.ReplaceAllString(s, " ")
		}
	}
	for _, tok := range reToken.FindAllString(s, -1) {
		if tok[0] >= '0' && tok[0] <= '9' || tok[0] == '.' || strings.HasSuffix(tok, "(") || keywords[strings.ToLower(tok)] {
			continue
		}
		names = append(names, tok)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// query is one PromQL expression and where it comes from.
type query struct {
	where, expr string
}

// dashboardQueries returns every target expression of every panel (rows'
// nested panels included) of the dashboards under deploy/grafana/dashboards.
func dashboardQueries(t *testing.T) []query {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "deploy", "grafana", "dashboards", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards: %v", err)
	}
	type panel struct {
		Title   string `json:"title"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
		Panels []json.RawMessage `json:"panels"`
	}
	var out []query
	var walk func(file string, raw []json.RawMessage)
	walk = func(file string, raw []json.RawMessage) {
		for _, r := range raw {
			var p panel
			if err := json.Unmarshal(r, &p); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			for _, tg := range p.Targets {
				if tg.Expr != "" {
					out = append(out, query{file + ": " + p.Title, tg.Expr})
				}
			}
			walk(file, p.Panels)
		}
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d struct {
			Panels []json.RawMessage `json:"panels"`
		}
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		walk(filepath.Base(f), d.Panels)
	}
	return out
}

// alertQueries returns the expression of every rule in alerts.yml.
func alertQueries(t *testing.T) []query {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, "deploy", "prometheus", "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Groups []struct {
			Rules []struct {
				Alert, Record, Expr string
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(raw, &f); err != nil {
		t.Fatalf("alerts.yml: %v", err)
	}
	var out []query
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			out = append(out, query{"alerts.yml: " + r.Alert + r.Record, r.Expr})
		}
	}
	return out
}

// exposedNames returns the names of the samples in a Prometheus text
// exposition (a histogram shows as its _bucket, _sum and _count series).
func exposedNames(body string) map[string]bool {
	names := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		if i := strings.IndexAny(line, "{ "); i > 0 {
			names[line[:i]] = true
		}
	}
	return names
}

// unknownMetrics returns, per query, the metric names it selects that are
// not in exported.
func unknownMetrics(queries []query, exported map[string]bool) map[string][]string {
	bad := map[string][]string{}
	for _, q := range queries {
		for _, n := range metricNames(q.expr) {
			if !exported[n] {
				bad[q.where] = append(bad[q.where], n)
			}
		}
	}
	return bad
}

// Selectors with label matchers, and their equality matchers.
var (
	reSelector = regexp.MustCompile(`([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^{}]*)\}`)
	reEquality = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"`)
	reLabel    = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)
)

// unknownLabelValues returns, per query, the metric{label="value"}
// equality matchers that no series of the exposition satisfies. (Regex and
// negative matchers are not checked.)
func unknownLabelValues(queries []query, body string) map[string][]string {
	seen := map[string]bool{} // metric\x00label\x00value
	for _, line := range strings.Split(body, "\n") {
		i := strings.IndexByte(line, '{')
		if line == "" || line[0] == '#' || i < 0 {
			continue
		}
		for _, m := range reLabel.FindAllStringSubmatch(line[i:], -1) {
			seen[line[:i]+"\x00"+m[1]+"\x00"+m[2]] = true
		}
	}
	bad := map[string][]string{}
	for _, q := range queries {
		expr := reVariable.ReplaceAllString(q.expr, " ")
		for _, sel := range reSelector.FindAllStringSubmatch(expr, -1) {
			for _, m := range reEquality.FindAllStringSubmatch(sel[2], -1) {
				// "=" but not the tail of "!=" (the regexp starts at the name).
				if strings.Contains(sel[2], m[1]+"!=") || m[1] == "__name__" {
					continue
				}
				if !seen[sel[1]+"\x00"+m[1]+"\x00"+m[2]] {
					bad[q.where] = append(bad[q.where], sel[1]+"{"+m[1]+"=\""+m[2]+"\"}")
				}
			}
		}
	}
	return bad
}

func TestUnknownLabelValues(t *testing.T) {
	body := "veriflow_checks_total{kind=\"signup\",outcome=\"approved\"} 1\n"
	for _, c := range []struct {
		expr string
		bad  []string
	}{
		{`rate(veriflow_checks_total{outcome="approved"}[5m])`, nil},
		{`rate(veriflow_checks_total{outcome=~"appr.*", kind!="x"}[5m])`, nil},
		{`rate(veriflow_checks_total{outcome="aproved"}[5m])`, []string{`veriflow_checks_total{outcome="aproved"}`}},
		{`rate(veriflow_checks_total{route="approved"}[5m])`, []string{`veriflow_checks_total{route="approved"}`}},
	} {
		got := unknownLabelValues([]query{{"case", c.expr}}, body)["case"]
		if !slices.Equal(got, c.bad) {
			t.Errorf("%s: unknown %v, want %v", c.expr, got, c.bad)
		}
	}
}

func TestMetricNames(t *testing.T) {
	for _, c := range []struct {
		expr string
		want []string
	}{
		{`veriflow_sends_total`, []string{"veriflow_sends_total"}},
		{`sum by (route) (rate(veriflow_http_requests_total{code=~"5..", route!="/healthz"}[$__rate_interval]))`,
			[]string{"veriflow_http_requests_total"}},
		{`histogram_quantile(0.99, sum by (le, route) (rate(veriflow_http_request_duration_seconds_bucket[5m])))`,
			[]string{"veriflow_http_request_duration_seconds_bucket"}},
		{`sum(rate(a_total[5m])) by (x) / ignoring (y) group_left (z) sum without (w) (b_total offset 1h) > bool 1e3`,
			[]string{"a_total", "b_total"}},
		{`min_over_time(sum by (relay) (rate(veriflow_relay_redriven_total[5m]))[30m:1m]) > 0 and on() vector(1)`,
			[]string{"veriflow_relay_redriven_total"}},
		{`time() - veriflow_relay_last_success_timestamp_seconds > 120`, []string{"veriflow_relay_last_success_timestamp_seconds"}},
		{`label_replace(up{job="api"}, "dst", "$1", "src", "(.*)") or absent(nope_total) unless {__name__="by_name"}`,
			[]string{"by_name", "nope_total", "up"}},
		{`sum(increase(veriflow_checks_total{outcome="approved"}[${range}])) / 1/60 * 1.5e-3 + 0x1f`, []string{"veriflow_checks_total"}},
		{"sum(rate(x_total{l=`a}b`}[1m])) AND y", []string{"x_total", "y"}},
	} {
		if got := metricNames(c.expr); !slices.Equal(got, c.want) {
			t.Errorf("metricNames(%q) = %v, want %v", c.expr, got, c.want)
		}
	}
}

// TestUnknownMetricsFails proves the check can fail: a query naming a
// metric that is not exported (a typo, a histogram's bare name) is reported.
func TestUnknownMetricsFails(t *testing.T) {
	exported := exposedNames("# TYPE veriflow_sends_total counter\nveriflow_sends_total{channel=\"sms\"} 1\n" +
		"h_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n")
	for _, c := range []struct {
		expr string
		bad  []string
	}{
		{`rate(veriflow_sends_total[5m])`, nil},
		{`histogram_quantile(0.9, rate(h_bucket[5m])) + rate(h_sum[5m]) / rate(h_count[5m])`, nil},
		{`rate(veriflow_bogus_total[5m]) + rate(veriflow_sends_total[5m])`, []string{"veriflow_bogus_total"}},
		{`rate(veriflow_send_total[5m])`, []string{"veriflow_send_total"}},
		{`histogram_quantile(0.9, rate(h[5m]))`, []string{"h"}},
	} {
		got := unknownMetrics([]query{{"case", c.expr}}, exported)["case"]
		if !slices.Equal(got, c.bad) {
			t.Errorf("%s: unknown %v, want %v", c.expr, got, c.bad)
		}
	}
}

// TestQueriesParse: every dashboard panel and alert has a query naming at
// least one metric, so a parse that drops everything cannot pass.
func TestQueriesParse(t *testing.T) {
	qs := append(dashboardQueries(t), alertQueries(t)...)
	if len(qs) < 30 {
		t.Fatalf("only %d queries found in the dashboards and alerts.yml", len(qs))
	}
	for _, q := range qs {
		if len(metricNames(q.expr)) == 0 {
			t.Errorf("%s: no metric name in %q", q.where, q.expr)
		}
	}
}
