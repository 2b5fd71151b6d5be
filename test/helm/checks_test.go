package helm

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/veriflow/veriflow/api"
	"github.com/veriflow/veriflow/internal/config"
	"github.com/veriflow/veriflow/test/envvars"
)

// expect is what a values set should produce beyond the rules every
// rendering must follow.
type expect struct {
	// fullname prefixes every object (release "vf" → "vf-veriflow").
	fullname string
	// external Secrets: referenced but created outside the chart.
	external []string
	// replicas per component when it has no HPA; 0 means it must have one.
	replicas map[string]int32
	// serviceMonitors expected (0 or 2).
	serviceMonitors int
}

// components are the chart's workloads and the veriflow subcommand each runs.
var components = []struct{ kind, component string }{
	{"Deployment", "api"}, {"Deployment", "worker"}, {"Job", "migrate"},
}

// secretLike names variables whose values must come from a Secret.
var secretLike = regexp.MustCompile(`SECRET|TOKEN|PASSWORD|_KEYS$|^DATABASE_URL$`)

// requiredVars derives the variables api and worker cannot start without
// from config.Validate's own messages on an empty configuration.
func requiredVars(t *testing.T) []string {
	t.Helper()
	err := config.Config{}.Validate()
	if err == nil {
		t.Fatal("config.Config{}.Validate() accepts an empty configuration")
	}
	names := regexp.MustCompile(`\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b`).FindAllString(err.Error(), -1)
	slices.Sort(names)
	names = slices.Compact(names)
	if len(names) < 4 {
		t.Fatalf("required variables %v from %q: the scan is broken", names, err)
	}
	return names
}

// checker holds what every check needs: the rendered objects and what the
// code says.
type checker struct {
	t        *testing.T
	docs     []*manifest
	exp      expect
	readable func(string) bool // a variable Veriflow reads
	required []string
	router   http.Handler
	problems []string
}

func (c *checker) errorf(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

// check runs every check on docs and returns the problems found.
func check(t *testing.T, docs []*manifest, exp expect) []string {
	t.Helper()
	names, prefixes := readVars(t)
	c := &checker{t: t, docs: docs, exp: exp, required: requiredVars(t),
		readable: func(k string) bool {
			return names[k] || slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(k, p) })
		},
		// Zero dependencies suffice to route: the checks only ask which
		// paths exist (a wrong method on a known path answers 405).
		router: api.New(api.Deps{Log: slog.New(slog.DiscardHandler), MetricsHandler: http.NotFoundHandler()}),
	}
	cfgs := map[string]config.Config{}
	for _, w := range components {
		obj := find(docs, w.kind, exp.fullname+"-"+w.component)
		if obj == nil {
			c.errorf("%s %s-%s is not rendered", w.kind, exp.fullname, w.component)
			continue
		}
		cfg, ok := c.workload(obj, w.component)
		if ok {
			cfgs[w.component] = cfg
		}
	}
	if a, w := cfgs["api"], cfgs["worker"]; a.TemporalAddress != w.TemporalAddress || a.TemporalNamespace != w.TemporalNamespace {
		c.errorf("api and worker use different Temporal endpoints: %s/%s vs %s/%s", a.TemporalAddress, a.TemporalNamespace, w.TemporalAddress, w.TemporalNamespace)
	}
	c.migrateHook()
	c.services()
	c.scaling()
	c.serviceMonitors()
	return c.problems
}

// workload checks one Deployment or Job and returns the configuration its
// container would run with.
func (c *checker) workload(obj *manifest, component string) (config.Config, bool) {
	name := obj.Kind + " " + obj.Metadata.Name
	pod := obj.Spec.Template.Spec
	if obj.Kind == "Deployment" && !matches(selectorLabels(obj.Spec.Selector), obj.Spec.Template.Metadata.Labels) {
		c.errorf("%s: selector %v does not match its pod labels %v", name, obj.Spec.Selector, obj.Spec.Template.Metadata.Labels)
	}
	if len(pod.Containers) != 1 {
		c.errorf("%s: %d containers, want 1", name, len(pod.Containers))
		return config.Config{}, false
	}
	ctr := pod.Containers[0]
	// The image's ENTRYPOINT is /veriflow (test/compose checks the
	// Dockerfile): the subcommand is the only argument.
	if len(ctr.Command) != 0 && !slices.Equal(ctr.Command, []string{"/veriflow"}) {
		c.errorf("%s: command %v overrides the image's /veriflow entrypoint", name, ctr.Command)
	}
	if !slices.Equal(ctr.Args, []string{component}) {
		c.errorf("%s: args %v, want [%s] (veriflow %s)", name, ctr.Args, component, component)
	}
	if ref := ctr.Image[strings.LastIndex(ctr.Image, "/")+1:]; !strings.Contains(ref, "@sha256:") {
		if _, tag, ok := strings.Cut(ref, ":"); !ok || tag == "" || tag == "latest" {
			c.errorf("%s: image %q is not pinned to a tag or digest", name, ctr.Image)
		}
	}
	if pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot {
		c.errorf("%s: pod does not require runAsNonRoot (the image runs as nonroot)", name)
	}

	env := c.environment(name, ctr, pod)
	if component == "migrate" {
		if env["DATABASE_URL"] == "" {
			c.errorf("%s: DATABASE_URL is not set", name)
		}
		return config.Config{}, false
	}
	explicit := map[string]bool{}
	for _, e := range ctr.Env {
		explicit[e.Name] = true
	}
	for _, k := range append(slices.Clone(c.required), "TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE") {
		if !explicit[k] {
			c.errorf("%s: required variable %s is not set in env", name, k)
		}
	}
	cfg, err := config.FromEnv(func(k string) string { return env[k] })
	if err != nil {
		c.errorf("%s: config.FromEnv: %v", name, err)
		return cfg, false
	}
	if err := cfg.Validate(); err != nil {
		c.errorf("%s: Validate: %v", name, err)
	}
	if pod.TerminationGracePeriodSeconds == nil || float64(*pod.TerminationGracePeriodSeconds) <= cfg.ShutdownTimeout.Seconds() {
		c.errorf("%s: terminationGracePeriodSeconds %v does not exceed VERIFLOW_SHUTDOWN_TIMEOUT %s", name, deref(pod.TerminationGracePeriodSeconds), cfg.ShutdownTimeout)
	}
	c.ports(name, component, ctr, cfg, obj.Spec.Template.Metadata.Annotations)
	return cfg, true
}

func deref[T any](p *T) any {
	if p == nil {
		return "unset"
	}
	return *p
}

// environment resolves a container's environment the way the kubelet
// would: plain values, Secret and ConfigMap keys (which must exist in a
// rendered object, or be an expected external Secret: a placeholder then),
// envFrom Secrets; the config file is written to a temporary file.
func (c *checker) environment(name string, ctr container, pod podSpec) map[string]string {
	env := map[string]string{}
	for _, from := range ctr.EnvFrom {
		if from.SecretRef == nil {
			c.errorf("%s: envFrom other than a Secret", name)
			continue
		}
		s := find(c.docs, "Secret", from.SecretRef.Name)
		if s == nil {
			if !slices.Contains(c.exp.external, from.SecretRef.Name) && !from.SecretRef.Optional {
				c.errorf("%s: envFrom Secret %q is neither rendered nor an expected external Secret", name, from.SecretRef.Name)
			}
			continue
		}
		for k, v := range secretData(s) {
			if !c.readable(k) {
				c.errorf("%s: Secret %s key %s is not a variable Veriflow reads", name, s.Metadata.Name, k)
			}
			env[k] = v
		}
	}
	seen := map[string]bool{}
	for _, e := range ctr.Env {
		if seen[e.Name] {
			c.errorf("%s: %s is set twice", name, e.Name)
		}
		seen[e.Name] = true
		if !c.readable(e.Name) {
			c.errorf("%s: %s is not a variable Veriflow reads", name, e.Name)
		}
		switch {
		case e.ValueFrom == nil:
			if secretLike.MatchString(e.Name) && e.Value != "" {
				c.errorf("%s: %s is a plain value: secrets must come from a Secret", name, e.Name)
			}
			env[e.Name] = e.Value
		case e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			s := find(c.docs, "Secret", ref.Name)
			switch {
			case s != nil:
				v, ok := secretData(s)[ref.Key]
				if !ok {
					c.errorf("%s: %s: Secret %s has no key %s", name, e.Name, ref.Name, ref.Key)
				}
				env[e.Name] = v
			case slices.Contains(c.exp.external, ref.Name):
				env[e.Name] = "placeholder-" + strings.Repeat("x", 40)
			default:
				c.errorf("%s: %s references Secret %q, neither rendered nor an expected external Secret", name, e.Name, ref.Name)
			}
		default:
			c.errorf("%s: %s: only values and Secret keys are expected", name, e.Name)
		}
	}
	if file := env["VERIFLOW_CONFIG_FILE"]; file != "" {
		env["VERIFLOW_CONFIG_FILE"] = c.configFile(name, file, ctr, pod)
	}
	return env
}

func secretData(s *manifest) map[string]string {
	out := map[string]string{}
	for k, v := range s.Data {
		out[k] = v // base64 in a real object; the checks only need presence
	}
	for k, v := range s.StringData {
		out[k] = v
	}
	return out
}

// configFile finds the ConfigMap mounted at the file's directory and
// writes the file to a temporary path that config.FromEnv then reads.
func (c *checker) configFile(name, file string, ctr container, pod podSpec) string {
	dir, base := path.Split(file)
	for _, m := range ctr.VolumeMounts {
		if strings.TrimSuffix(m.MountPath, "/")+"/" != dir {
			continue
		}
		for _, v := range pod.Volumes {
			if v.Name != m.Name || v.ConfigMap == nil {
				continue
			}
			cm := find(c.docs, "ConfigMap", v.ConfigMap.Name)
			if cm == nil {
				c.errorf("%s: ConfigMap %s is not rendered", name, v.ConfigMap.Name)
				return ""
			}
			content, ok := cm.Data[base]
			if !ok {
				c.errorf("%s: ConfigMap %s has no key %s", name, cm.Metadata.Name, base)
				return ""
			}
			p := filepath.Join(c.t.TempDir(), base)
			if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
				c.t.Fatal(err)
			}
			return p
		}
	}
	c.errorf("%s: VERIFLOW_CONFIG_FILE %s is not on a mounted ConfigMap", name, file)
	return ""
}

// ports checks the listen addresses against the container ports, and the
// probes and scrape annotations against the routes the process serves.
func (c *checker) ports(name, component string, ctr container, cfg config.Config, annotations map[string]string) {
	containerPort := func(p any) (int, bool) {
		for _, cp := range ctr.Ports {
			if cp.Name == fmt.Sprint(p) || strconv.Itoa(cp.ContainerPort) == fmt.Sprint(p) {
				return cp.ContainerPort, true
			}
		}
		return 0, false
	}
	listen := map[int]bool{}
	addr := cfg.HTTPAddr
	if component == "worker" {
		addr = cfg.MetricsAddr
	}
	if addr != "" {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			c.errorf("%s: listen address %q: %v", name, addr, err)
		} else {
			if host != "0.0.0.0" && host != "" && host != "::" {
				c.errorf("%s: listens on %s: not reachable from outside the pod", name, addr)
			}
			n, _ := strconv.Atoi(port)
			listen[n] = true
			if _, ok := containerPort(n); !ok {
				c.errorf("%s: listens on %s but no container port %d is declared", name, addr, n)
			}
		}
	}
	for _, cp := range ctr.Ports {
		if !listen[cp.ContainerPort] {
			c.errorf("%s: container port %s/%d is not where the process listens (%s)", name, cp.Name, cp.ContainerPort, addr)
		}
	}
	// served reports whether the process answers GET path.
	served := func(p string) bool {
		if component == "worker" {
			// cmd/veriflow serve: a worker-only process serves GET /metrics
			// on VERIFLOW_METRICS_ADDR and nothing else.
			return p == "/metrics" && cfg.MetricsAddr != ""
		}
		rec := httptest.NewRecorder()
		// A wrong method on a path the router knows answers 405, on an
		// unknown path 404; no handler runs.
		c.router.ServeHTTP(rec, httptest.NewRequest(http.MethodPatch, p, nil))
		return rec.Code == http.StatusMethodNotAllowed
	}
	probes := map[string]*probe{"liveness": ctr.LivenessProbe, "readiness": ctr.ReadinessProbe, "startup": ctr.StartupProbe}
	want := map[string]string{}
	if component == "api" {
		want = map[string]string{"liveness": "/healthz", "readiness": "/readyz"}
	}
	for kind, p := range probes {
		if p == nil {
			if want[kind] != "" {
				c.errorf("%s: no %s probe (want GET %s)", name, kind, want[kind])
			}
			continue
		}
		if p.HTTPGet == nil {
			c.errorf("%s: %s probe is not an HTTP GET", name, kind)
			continue
		}
		if w := want[kind]; w != "" && p.HTTPGet.Path != w {
			c.errorf("%s: %s probe path %s, want %s", name, kind, p.HTTPGet.Path, w)
		}
		if !served(p.HTTPGet.Path) {
			c.errorf("%s: %s probe path %s is not a route the process serves", name, kind, p.HTTPGet.Path)
		}
		if n, ok := containerPort(p.HTTPGet.Port); !ok || !listen[n] {
			c.errorf("%s: %s probe port %v is not the port the process listens on", name, kind, p.HTTPGet.Port)
		}
	}
	if annotations["prometheus.io/scrape"] == "true" {
		n, err := strconv.Atoi(annotations["prometheus.io/port"])
		if err != nil || !listen[n] {
			c.errorf("%s: prometheus.io/port %q is not the port the process listens on", name, annotations["prometheus.io/port"])
		}
		if p := annotations["prometheus.io/path"]; !served(p) || p != "/metrics" {
			c.errorf("%s: prometheus.io/path %q is not /metrics served by the process", name, p)
		}
	}
}

// migrateHook checks that the migration Job runs before the release's
// pods, and that a chart-rendered Secret it reads exists before it.
func (c *checker) migrateHook() {
	job := find(c.docs, "Job", c.exp.fullname+"-migrate")
	if job == nil {
		return
	}
	hooks := strings.Split(job.Metadata.Annotations["helm.sh/hook"], ",")
	if !slices.Contains(hooks, "pre-install") || !slices.Contains(hooks, "pre-upgrade") {
		c.errorf("Job %s: helm.sh/hook %v, want pre-install and pre-upgrade", job.Metadata.Name, hooks)
	}
	if job.Spec.Template.Spec.RestartPolicy != "Never" && job.Spec.Template.Spec.RestartPolicy != "OnFailure" {
		c.errorf("Job %s: restartPolicy %q", job.Metadata.Name, job.Spec.Template.Spec.RestartPolicy)
	}
	jobWeight, _ := strconv.Atoi(job.Metadata.Annotations["helm.sh/hook-weight"])
	for _, ctr := range job.Spec.Template.Spec.Containers {
		for _, e := range ctr.Env {
			if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
				continue
			}
			s := find(c.docs, "Secret", e.ValueFrom.SecretKeyRef.Name)
			if s == nil {
				continue // reported by environment
			}
			w, _ := strconv.Atoi(s.Metadata.Annotations["helm.sh/hook-weight"])
			sh := strings.Split(s.Metadata.Annotations["helm.sh/hook"], ",")
			if !slices.Contains(sh, "pre-install") || !slices.Contains(sh, "pre-upgrade") || w >= jobWeight {
				c.errorf("Job %s reads Secret %s, which is not a pre-install/pre-upgrade hook weighted before it (hook %v, weight %d vs %d): it would not exist yet", job.Metadata.Name, s.Metadata.Name, sh, w, jobWeight)
			}
		}
	}
}

// services checks that each Service selects exactly its component's pods
// and targets a port they declare.
func (c *checker) services() {
	podsOf := map[string]*manifest{}
	for _, d := range c.docs {
		if d.Kind == "Deployment" {
			podsOf[d.Metadata.Name] = d
		}
	}
	api := find(c.docs, "Service", c.exp.fullname+"-api")
	if api == nil {
		c.errorf("Service %s-api is not rendered", c.exp.fullname)
	}
	for _, s := range c.docs {
		if s.Kind != "Service" {
			continue
		}
		sel := selectorLabels(s.Spec.Selector)
		var selected []*manifest
		for _, d := range podsOf {
			if matches(sel, d.Spec.Template.Metadata.Labels) {
				selected = append(selected, d)
			}
		}
		if len(selected) != 1 {
			c.errorf("Service %s selects %d Deployments' pods, want 1", s.Metadata.Name, len(selected))
			continue
		}
		ctr := selected[0].Spec.Template.Spec.Containers[0]
		for _, p := range s.Spec.Ports {
			if !slices.ContainsFunc(ctr.Ports, func(cp containerPort) bool {
				return cp.Name == fmt.Sprint(p.TargetPort) || strconv.Itoa(cp.ContainerPort) == fmt.Sprint(p.TargetPort)
			}) {
				c.errorf("Service %s: targetPort %v is not a port of %s", s.Metadata.Name, p.TargetPort, selected[0].Metadata.Name)
			}
		}
	}
	if api != nil {
		if d := podsOf[c.exp.fullname+"-api"]; d != nil && !matches(selectorLabels(api.Spec.Selector), d.Spec.Template.Metadata.Labels) {
			c.errorf("Service %s does not select the api pods", api.Metadata.Name)
		}
	}
}

// scaling checks replicas and HPAs: each Deployment either has an HPA
// (autoscaling/v2, and then no replicas field to fight it) or fixed
// replicas, as the values asked.
func (c *checker) scaling() {
	hpas := map[string]*manifest{}
	for _, d := range c.docs {
		if d.Kind != "HorizontalPodAutoscaler" {
			continue
		}
		if d.APIVersion != "autoscaling/v2" {
			c.errorf("HPA %s: apiVersion %s, want autoscaling/v2", d.Metadata.Name, d.APIVersion)
		}
		ref := d.Spec.ScaleTargetRef
		target := find(c.docs, ref.Kind, ref.Name)
		if ref.Kind != "Deployment" || ref.APIVersion != "apps/v1" || target == nil {
			c.errorf("HPA %s targets %s %s %s, which is not a rendered Deployment", d.Metadata.Name, ref.APIVersion, ref.Kind, ref.Name)
			continue
		}
		if hpas[ref.Name] != nil {
			c.errorf("Deployment %s has two HPAs", ref.Name)
		}
		hpas[ref.Name] = d
		if d.Spec.MinReplicas == nil || *d.Spec.MinReplicas < 1 || *d.Spec.MinReplicas > d.Spec.MaxReplicas {
			c.errorf("HPA %s: minReplicas %v, maxReplicas %d", d.Metadata.Name, deref(d.Spec.MinReplicas), d.Spec.MaxReplicas)
		}
		if len(d.Spec.Metrics) == 0 {
			c.errorf("HPA %s has no metric", d.Metadata.Name)
		}
		for _, m := range d.Spec.Metrics {
			if m.Type == "Resource" && target.Spec.Template.Spec.Containers[0].Resources.Requests[m.Resource.Name] == "" {
				c.errorf("HPA %s scales on %s utilization but %s requests no %s", d.Metadata.Name, m.Resource.Name, ref.Name, m.Resource.Name)
			}
		}
	}
	for _, comp := range []string{"api", "worker"} {
		name := c.exp.fullname + "-" + comp
		d := find(c.docs, "Deployment", name)
		if d == nil {
			continue
		}
		want := c.exp.replicas[comp]
		switch {
		case want == 0 && hpas[name] == nil:
			c.errorf("Deployment %s has no HPA", name)
		case want == 0 && d.Spec.Replicas != nil:
			c.errorf("Deployment %s sets replicas %d although its HPA owns them", name, *d.Spec.Replicas)
		case want != 0 && hpas[name] != nil:
			c.errorf("Deployment %s has an HPA, want fixed replicas %d", name, want)
		case want != 0 && (d.Spec.Replicas == nil || *d.Spec.Replicas != want):
			c.errorf("Deployment %s replicas %v, want %d", name, deref(d.Spec.Replicas), want)
		}
	}
}

// serviceMonitors checks each ServiceMonitor selects a Service with the
// named port, scraping /metrics.
func (c *checker) serviceMonitors() {
	n := 0
	for _, sm := range c.docs {
		if sm.Kind != "ServiceMonitor" {
			continue
		}
		n++
		var svc *manifest
		for _, s := range c.docs {
			if s.Kind == "Service" && matches(selectorLabels(sm.Spec.Selector), s.Metadata.Labels) {
				if svc != nil {
					c.errorf("ServiceMonitor %s selects more than one Service", sm.Metadata.Name)
				}
				svc = s
			}
		}
		if svc == nil {
			c.errorf("ServiceMonitor %s selects no Service", sm.Metadata.Name)
			continue
		}
		for _, e := range sm.Spec.Endpoints {
			if !slices.ContainsFunc(svc.Spec.Ports, func(p servicePort) bool { return p.Name == e.Port }) || e.Path != "/metrics" {
				c.errorf("ServiceMonitor %s: endpoint %s%s is not Service %s's metrics port", sm.Metadata.Name, e.Port, e.Path, svc.Metadata.Name)
			}
		}
	}
	if n != c.exp.serviceMonitors {
		c.errorf("%d ServiceMonitors, want %d", n, c.exp.serviceMonitors)
	}
}

// readVars returns the environment variables Veriflow reads (envvars.Read).
func readVars(t *testing.T) (names map[string]bool, prefixes []string) {
	t.Helper()
	names, prefixes, err := envvars.Read(root)
	if err != nil {
		t.Fatal(err)
	}
	return names, prefixes
}
