// Package helm checks the Helm chart in deploy/helm/veriflow: helm lint,
// then helm template with default and non-default values, the rendered
// manifests parsed and compared with what Veriflow's code reads and serves
// (the way test/compose checks docker-compose.yml). No cluster is needed.
// Without a helm binary the tests are skipped, unless VERIFLOW_REQUIRE_HELM=1
// (make test sets it; `make helm` builds it into .dev/bin).
package helm

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/veriflow/veriflow/internal/contract"
)

const (
	root    = "../.."
	release = "vf"
)

var chart = filepath.Join(root, "deploy", "helm", "veriflow")

// helmBin finds helm: $VERIFLOW_HELM, .dev/bin/helm, then PATH.
func helmBin(t *testing.T) string {
	t.Helper()
	candidates := []string{os.Getenv("VERIFLOW_HELM"), filepath.Join(root, ".dev", "bin", "helm")}
	if p, err := exec.LookPath("helm"); err == nil {
		candidates = append(candidates, p)
	}
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if st, err := os.Stat(c); err == nil && !st.IsDir() {
			abs, err := filepath.Abs(c)
			if err != nil {
				t.Fatal(err)
			}
			return abs
		}
	}
	why := "no helm binary ($VERIFLOW_HELM, .dev/bin/helm or PATH); run make helm"
	if os.Getenv("VERIFLOW_REQUIRE_HELM") == "1" {
		t.Fatalf("VERIFLOW_REQUIRE_HELM=1 but %s", why)
	}
	t.Skip(why)
	return ""
}

// runHelm runs helm with args and returns its stdout; it fails the test on
// an error unless wantErr.
func runHelm(t *testing.T, args ...string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, helmBin(t), args...)
	// helm keeps no state for lint and template; keep its caches out of $HOME.
	tmp := t.TempDir()
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+tmp, "HELM_CONFIG_HOME="+tmp, "HELM_DATA_HOME="+tmp)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		err = errors.Join(err, errors.New(strings.TrimSpace(stderr.String()+"\n"+stdout.String())))
	}
	return stdout.Bytes(), err
}

// valueSets are the values the chart is linted and rendered with, and
// what each should produce.
var valueSets = []struct {
	name   string
	files  []string
	expect expect
}{
	{
		name: "defaults",
		expect: expect{
			fullname: release + "-veriflow",
			// The keys' Secret is created outside the chart by default.
			external:        []string{release + "-veriflow"},
			replicas:        map[string]int32{}, // both autoscaled
			serviceMonitors: 0,
		},
	},
	{
		// Chart-created Secret, config file, custom ports, a fixed
		// worker count, ServiceMonitors.
		name:  "custom",
		files: []string{"testdata/custom.yaml"},
		expect: expect{
			fullname:        release + "-veriflow",
			replicas:        map[string]int32{"worker": 3},
			serviceMonitors: 2,
		},
	},
	{
		// Existing Secrets: the keys' and a database operator's URL.
		name:  "external",
		files: []string{"testdata/external.yaml"},
		expect: expect{
			fullname:        "veriflow",
			external:        []string{"veriflow-keys", "pg-app"},
			replicas:        map[string]int32{"api": 4, "worker": 2},
			serviceMonitors: 0,
		},
	},
}

func valueArgs(files []string) []string {
	var args []string
	for _, f := range files {
		args = append(args, "-f", f)
	}
	return args
}

func render(t *testing.T, files []string) []*manifest {
	t.Helper()
	out, err := runHelm(t, append([]string{"template", release, chart, "--namespace", "veriflow"}, valueArgs(files)...)...)
	if err != nil {
		t.Fatalf("helm template: %v", err)
	}
	return parseManifests(t, out)
}

func TestHelmLint(t *testing.T) {
	for _, vs := range valueSets {
		t.Run(vs.name, func(t *testing.T) {
			out, err := runHelm(t, append([]string{"lint", "--strict", chart}, valueArgs(vs.files)...)...)
			if err != nil {
				t.Fatalf("helm lint: %v", err)
			}
			if !bytes.Contains(out, []byte("0 chart(s) failed")) {
				t.Errorf("helm lint output:\n%s", out)
			}
		})
	}
}

func TestRenderedManifests(t *testing.T) {
	for _, vs := range valueSets {
		t.Run(vs.name, func(t *testing.T) {
			docs := render(t, vs.files)
			if len(docs) < 4 {
				t.Fatalf("only %d objects rendered", len(docs))
			}
			for _, p := range check(t, docs, vs.expect) {
				t.Error(p)
			}
		})
	}
}

// TestChecksCatchBrokenManifests proves the checks can fail: each case
// breaks one thing in a good rendering and expects a problem naming it.
func TestChecksCatchBrokenManifests(t *testing.T) {
	containerOf := func(docs []*manifest, kind, name string) *container {
		return &find(docs, kind, name).Spec.Template.Spec.Containers[0]
	}
	api := func(docs []*manifest) *container { return containerOf(docs, "Deployment", release+"-veriflow-api") }
	worker := func(docs []*manifest) *container { return containerOf(docs, "Deployment", release+"-veriflow-worker") }
	dropEnv := func(c *container, name string) {
		c.Env = slices.DeleteFunc(c.Env, func(e envVar) bool { return e.Name == name })
	}
	cases := []struct {
		name   string
		vs     int // index in valueSets
		mutate func(docs []*manifest)
		want   string
	}{
		{"required secret missing", 0, func(d []*manifest) { dropEnv(api(d), "VERIFLOW_CODE_SECRET") }, "VERIFLOW_CODE_SECRET"},
		{"temporal address missing", 0, func(d []*manifest) { dropEnv(worker(d), "TEMPORAL_ADDRESS") }, "required variable TEMPORAL_ADDRESS"},
		{"unknown variable", 0, func(d []*manifest) {
			api(d).Env = append(api(d).Env, envVar{Name: "VERIFLOW_HTTP_PORT", Value: "8080"})
		}, "not a variable Veriflow reads"},
		{"secret as plain value", 0, func(d []*manifest) {
			w := worker(d)
			dropEnv(w, "VERIFLOW_PAYLOAD_KEYS")
			w.Env = append(w.Env, envVar{Name: "VERIFLOW_PAYLOAD_KEYS", Value: "k1:AAAA"})
		}, "plain value"},
		{"wrong subcommand", 0, func(d []*manifest) { worker(d).Args = []string{"serve"} }, "want [worker]"},
		{"entrypoint overridden", 0, func(d []*manifest) {
			containerOf(d, "Job", release+"-veriflow-migrate").Command = []string{"/bin/sh", "-c"}
		}, "overrides the image's /veriflow entrypoint"},
		{"unpinned image", 0, func(d []*manifest) { api(d).Image = "ghcr.io/veriflow/veriflow:latest" }, "not pinned"},
		{"readiness on an unserved route", 0, func(d []*manifest) { api(d).ReadinessProbe.HTTPGet.Path = "/ready" }, "/ready is not a route the process serves"},
		{"liveness on the readiness route", 0, func(d []*manifest) { api(d).LivenessProbe.HTTPGet.Path = "/readyz" }, "liveness probe path /readyz, want /healthz"},
		{"worker probe on an API route", 0, func(d []*manifest) { worker(d).LivenessProbe.HTTPGet.Path = "/healthz" }, "/healthz is not a route the process serves"},
		{"container port not the listen port", 0, func(d []*manifest) { api(d).Ports[0].ContainerPort = 9999 }, "no container port 8080"},
		{"worker metrics address dropped", 0, func(d []*manifest) { dropEnv(worker(d), "VERIFLOW_METRICS_ADDR") }, "is not where the process listens"},
		{"scrape annotation on the wrong port", 0, func(d []*manifest) {
			find(d, "Deployment", release+"-veriflow-worker").Spec.Template.Metadata.Annotations["prometheus.io/port"] = "8080"
		}, "prometheus.io/port"},
		{"unknown external secret", 0, func(d []*manifest) {
			api(d).Env[slices.IndexFunc(api(d).Env, func(e envVar) bool { return e.Name == "VERIFLOW_EVIDENCE_KEYS" })].ValueFrom.SecretKeyRef.Name = "other"
		}, `references Secret "other"`},
		{"secret key missing", 1, func(d []*manifest) {
			delete(find(d, "Secret", release+"-veriflow").StringData, "VERIFLOW_EVIDENCE_KEYS")
		}, "has no key VERIFLOW_EVIDENCE_KEYS"},
		{"secret created after the migration", 1, func(d []*manifest) {
			find(d, "Secret", release+"-veriflow").Metadata.Annotations = nil
		}, "would not exist yet"},
		{"config file not mounted", 1, func(d []*manifest) { api(d).VolumeMounts = nil }, "not on a mounted ConfigMap"},
		{"invalid config file", 1, func(d []*manifest) {
			find(d, "ConfigMap", release+"-veriflow-config").Data["config.json"] = `{"limitz": {}}`
		}, "config.FromEnv"},
		{"grace period shorter than the drain", 1, func(d []*manifest) {
			g := int64(30)
			find(d, "Deployment", release+"-veriflow-api").Spec.Template.Spec.TerminationGracePeriodSeconds = &g
		}, "terminationGracePeriodSeconds 30 does not exceed"},
		{"HPA targets nothing", 0, func(d []*manifest) {
			find(d, "HorizontalPodAutoscaler", release+"-veriflow-worker").Spec.ScaleTargetRef.Name = "vf-worker"
		}, "not a rendered Deployment"},
		{"replicas fight the HPA", 0, func(d []*manifest) {
			n := int32(2)
			find(d, "Deployment", release+"-veriflow-api").Spec.Replicas = &n
		}, "although its HPA owns them"},
		{"HPA without CPU request", 0, func(d []*manifest) { delete(api(d).Resources.Requests, "cpu") }, "requests no cpu"},
		{"wrong replica count", 1, func(d []*manifest) {
			n := int32(1)
			find(d, "Deployment", release+"-veriflow-worker").Spec.Replicas = &n
		}, "replicas 1, want 3"},
		{"service selects nothing", 0, func(d []*manifest) {
			find(d, "Service", release+"-veriflow-api").Spec.Selector = map[string]any{"app.kubernetes.io/component": "web"}
		}, "selects 0 Deployments"},
		{"service targets a missing port", 0, func(d []*manifest) {
			find(d, "Service", release+"-veriflow-api").Spec.Ports[0].TargetPort = "web"
		}, "targetPort web"},
		{"ServiceMonitor on a missing port", 1, func(d []*manifest) {
			find(d, "ServiceMonitor", release+"-veriflow-api").Spec.Endpoints[0].Port = "metrics"
		}, "is not Service"},
		{"migration Job not a hook", 0, func(d []*manifest) {
			find(d, "Job", release+"-veriflow-migrate").Metadata.Annotations["helm.sh/hook"] = "post-install"
		}, "want pre-install and pre-upgrade"},
	}
	rendered := map[int][]byte{}
	for _, i := range []int{0, 1} {
		out, err := runHelm(t, append([]string{"template", release, chart, "--namespace", "veriflow"}, valueArgs(valueSets[i].files)...)...)
		if err != nil {
			t.Fatalf("helm template: %v", err)
		}
		rendered[i] = out
		if p := check(t, parseManifests(t, out), valueSets[i].expect); len(p) != 0 {
			t.Fatalf("the %s rendering is not clean, so breaking it proves nothing: %v", valueSets[i].name, p)
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			docs := parseManifests(t, rendered[tc.vs])
			tc.mutate(docs)
			problems := check(t, docs, valueSets[tc.vs].expect)
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tc.want) }) {
				t.Errorf("no problem mentions %q; got %q", tc.want, problems)
			}
		})
	}
}

// TestChartRefusesBadValues: values that cannot work stop the rendering.
func TestChartRefusesBadValues(t *testing.T) {
	cases := []struct {
		name string
		set  []string
		want string
	}{
		{"created secret without keys", []string{"secrets.create=true"}, "secrets.data.VERIFLOW_CODE_SECRET is required"},
		{"short code secret", []string{"secrets.create=true", "secrets.data.VERIFLOW_CODE_SECRET=short", "secrets.data.VERIFLOW_PAYLOAD_KEYS=k", "secrets.data.VERIFLOW_EVIDENCE_KEYS=k", "secrets.data.DATABASE_URL=postgres://x"}, "at least 32 bytes"},
		{"both secret modes", []string{"secrets.create=true", "secrets.existingSecret=x", "secrets.data.VERIFLOW_CODE_SECRET=" + strings.Repeat("x", 32), "secrets.data.VERIFLOW_PAYLOAD_KEYS=k", "secrets.data.VERIFLOW_EVIDENCE_KEYS=k", "secrets.data.DATABASE_URL=postgres://x"}, "not both"},
		{"latest image", []string{"image.tag=latest"}, "not latest"},
		{"secret through env", []string{"env.VERIFLOW_CODEC_TOKEN=t"}, "not env"},
		{"password through env", []string{"env.SMTP_PASSWORD=p"}, "not env"},
		{"listen address through env", []string{"env.VERIFLOW_HTTP_ADDR=127.0.0.1:8080"}, "not env"},
		{"HPA without a target", []string{"api.autoscaling.targetCPUUtilizationPercentage=null"}, "api.autoscaling"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"template", release, chart}
			for _, s := range tc.set {
				args = append(args, "--set", s)
			}
			_, err := runHelm(t, args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("helm template %v: err %v, want one containing %q", tc.set, err, tc.want)
			}
		})
	}
}

// renderNotes renders templates/NOTES.txt with the values files: helm
// template and helm lint skip it, so a copy of the chart defines it as a
// template and prints it in a ConfigMap.
func renderNotes(t *testing.T, files []string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "veriflow")
	if err := os.CopyFS(dir, os.DirFS(chart)); err != nil {
		t.Fatal(err)
	}
	notes, err := os.ReadFile(filepath.Join(dir, "templates", "NOTES.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{
		"NOTES.txt":        "",
		"_notes.tpl":       `{{- define "test.notes" -}}` + string(notes) + `{{- end -}}`,
		"notes-check.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: {{ include \"test.notes\" . | toJson }}\n",
	} {
		path := filepath.Join(dir, "templates", name)
		if body == "" {
			err = os.Remove(path)
		} else {
			err = os.WriteFile(path, []byte(body), 0o600)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	args := append([]string{"template", release, dir, "--namespace", "veriflow", "--show-only", "templates/notes-check.yaml"}, valueArgs(files)...)
	out, err := runHelm(t, args...)
	if err != nil {
		t.Fatalf("rendering NOTES.txt: %v", err)
	}
	docs := parseManifests(t, out)
	if len(docs) != 1 || docs[0].Data["notes"] == "" {
		t.Fatalf("NOTES.txt rendered nothing:\n%s", out)
	}
	return docs[0].Data["notes"]
}

// TestNotesAndSearchAttributes: NOTES.txt renders with every values set and
// names the Secret it needs, and both it and the chart's README name every
// search attribute the workflow's start sets, with the command creating them.
func TestNotesAndSearchAttributes(t *testing.T) {
	texts := map[string]string{}
	raw, err := os.ReadFile(filepath.Join(chart, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	texts["README.md"] = string(raw)
	for _, vs := range valueSets {
		notes := renderNotes(t, vs.files)
		texts["NOTES.txt ("+vs.name+")"] = notes
		for _, s := range vs.expect.external {
			if !strings.Contains(notes, s) {
				t.Errorf("NOTES.txt (%s) does not name the Secret %s", vs.name, s)
			}
		}
	}
	for name, text := range texts {
		for _, sa := range contract.SearchAttributeNames() {
			if !strings.Contains(text, sa) {
				t.Errorf("%s does not name search attribute %s", name, sa)
			}
		}
		if !strings.Contains(text, "temporal operator search-attribute create") || !strings.Contains(text, "--type Keyword") {
			t.Errorf("%s lacks the temporal operator search-attribute create … --type Keyword command", name)
		}
	}
}
