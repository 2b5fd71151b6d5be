// Package deploy holds the container deployment files' checks: the
// repository's docker-compose.yml and Dockerfile are parsed (no Docker
// engine is needed) and compared with what Veriflow's code reads.
package compose

import (
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/veriflow/veriflow/internal/config"
	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/providers/email"
	"github.com/veriflow/veriflow/test/envvars"
)

const root = "../.."

type compose struct {
	Services map[string]service `yaml:"services"`
}

type service struct {
	Image       string            `yaml:"image"`
	Build       any               `yaml:"build"`
	Command     any               `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Ports       []string          `yaml:"ports"`
	Volumes     []string          `yaml:"volumes"`
	DependsOn   map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	Healthcheck *struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
}

func load(t *testing.T) compose {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var generic map[string]any
	if err := yaml.Unmarshal(raw, &generic); err != nil {
		t.Fatal(err)
	}
	if _, ok := generic["version"]; ok {
		t.Error("docker-compose.yml has the obsolete version: key")
	}
	var c compose
	if err := yaml.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// interpolate resolves compose's ${VAR:-default}, ${VAR:?message} and $$ the
// way compose would with an empty .env, except that required variables get
// a placeholder secret long enough for Validate.
func interpolate(v string) string {
	v = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)(?::?([-?])([^}]*))?\}`).ReplaceAllStringFunc(v, func(m string) string {
		sub := regexp.MustCompile(`\$\{([A-Za-z0-9_]+)(?::?([-?])([^}]*))?\}`).FindStringSubmatch(m)
		switch sub[2] {
		case "-":
			return sub[3]
		case "?":
			return "placeholder-" + strings.Repeat("x", 40)
		}
		return ""
	})
	return strings.ReplaceAll(v, "$$", "$")
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

// hostPort returns the host side of a "[ip:]host:container" port mapping
// whose container side is container.
func hostPort(s service, container string) (string, bool) {
	for _, p := range s.Ports {
		parts := strings.Split(p, ":")
		if len(parts) >= 2 && parts[len(parts)-1] == container {
			return parts[len(parts)-2], true
		}
	}
	return "", false
}

func TestServicesAndImages(t *testing.T) {
	c := load(t)
	for _, name := range []string{"postgres", "temporal", "temporal-admin-tools", "temporal-ui", "migrate", "api", "worker", "mailpit", "prometheus", "grafana"} {
		if _, ok := c.Services[name]; !ok {
			t.Errorf("service %s is missing", name)
		}
	}
	for name, s := range c.Services {
		if s.Build != nil {
			continue
		}
		ref := s.Image
		if i := strings.LastIndex(ref, "/"); i >= 0 {
			ref = ref[i+1:]
		}
		_, tag, ok := strings.Cut(ref, ":")
		if !ok || tag == "" || tag == "latest" || strings.Contains(s.Image, "$") {
			t.Errorf("%s: image %q is not pinned to a tag", name, s.Image)
		}
	}
	for _, name := range []string{"api", "worker", "migrate"} {
		s := c.Services[name]
		b, ok := s.Build.(map[string]any)
		if !ok || b["context"] != "." || b["dockerfile"] != "Dockerfile" {
			t.Errorf("%s: build = %v, want context . and the Dockerfile", name, s.Build)
		}
		if cmd, ok := s.Command.([]any); !ok || len(cmd) != 1 || cmd[0] != name {
			t.Errorf("%s: command = %v, want [%s]", name, s.Command, name)
		}
	}
	for svc, port := range map[string]string{"api": "8080", "temporal": "7233", "temporal-ui": "8080", "mailpit": "8025"} {
		if _, ok := hostPort(c.Services[svc], port); !ok {
			t.Errorf("%s: container port %s is not published", svc, port)
		}
	}
	if p, _ := hostPort(c.Services["temporal-ui"], "8080"); p != "8233" {
		t.Errorf("temporal-ui is published on %q, want 8233", p)
	}
	if p, _ := hostPort(c.Services["temporal"], "7233"); p != "7233" {
		t.Errorf("temporal is published on %q, want 7233", p)
	}
	if hc := c.Services["postgres"].Healthcheck; hc == nil || !slices.Contains(hc.Test, "pg_isready") {
		t.Error("postgres has no pg_isready healthcheck")
	}
	if c.Services["temporal"].Healthcheck == nil {
		t.Error("temporal has no healthcheck (others wait for service_healthy)")
	}
}

func TestVeriflowEnvironment(t *testing.T) {
	c := load(t)
	names, prefixes := readVars(t)
	for _, svc := range []string{"api", "worker", "migrate"} {
		env := c.Services[svc].Environment
		for k := range env {
			known := names[k]
			for _, p := range prefixes {
				known = known || strings.HasPrefix(k, p)
			}
			if !known {
				t.Errorf("%s: %s is not a variable Veriflow reads", svc, k)
			}
		}
		if env["DATABASE_URL"] == "" {
			t.Errorf("%s: DATABASE_URL is not set", svc)
		}
	}
	for _, svc := range []string{"api", "worker"} {
		env := c.Services[svc].Environment
		for _, k := range []string{"DATABASE_URL", "VERIFLOW_CODE_SECRET", "VERIFLOW_PAYLOAD_KEYS", "VERIFLOW_EVIDENCE_KEYS", "TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE"} {
			if env[k] == "" {
				t.Errorf("%s: %s is not set", svc, k)
			}
		}
		for _, k := range []string{"VERIFLOW_CODE_SECRET", "VERIFLOW_PAYLOAD_KEYS", "VERIFLOW_EVIDENCE_KEYS", "VERIFLOW_CODEC_TOKEN"} {
			if v := env[k]; !strings.HasPrefix(v, "${"+k+":") {
				t.Errorf("%s: %s = %q: secrets must come from .env interpolation", svc, k, v)
			}
		}
		// The compose environment (with placeholder secrets) must be a
		// configuration Veriflow accepts and can run with.
		cfg, err := config.FromEnv(func(k string) string { return interpolate(env[k]) })
		if err != nil {
			t.Errorf("%s: config.FromEnv: %v", svc, err)
			continue
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("%s: Validate: %v", svc, err)
		}
		if smtp, _ := cfg.Providers.Settings[email.Name].(email.Config); cfg.Providers.Channels["email"] != email.Name || smtp.Host != "mailpit" || smtp.Port != 1025 {
			t.Errorf("%s: email does not go to mailpit:1025: %+v", svc, smtp)
		}
		if cfg.TemporalAddress != "temporal:7233" {
			t.Errorf("%s: TEMPORAL_ADDRESS = %s", svc, cfg.TemporalAddress)
		}
	}
	if a := c.Services["api"].Environment["VERIFLOW_HTTP_ADDR"]; !strings.HasPrefix(a, "0.0.0.0:") || !strings.HasSuffix(a, ":8080") {
		t.Errorf("api: VERIFLOW_HTTP_ADDR = %q, want 0.0.0.0:8080 (the published container port)", a)
	}
}

func TestCodecWiring(t *testing.T) {
	c := load(t)
	ui := c.Services["temporal-ui"]
	endpoint, err := url.Parse(ui.Environment["TEMPORAL_CODEC_ENDPOINT"])
	if err != nil || endpoint.Host == "" {
		t.Fatalf("TEMPORAL_CODEC_ENDPOINT %q: %v", ui.Environment["TEMPORAL_CODEC_ENDPOINT"], err)
	}
	if !strings.HasSuffix(endpoint.Path, "/codec") {
		t.Errorf("TEMPORAL_CODEC_ENDPOINT path %q does not end with /codec", endpoint.Path)
	}
	apiPort, _ := hostPort(c.Services["api"], "8080")
	if endpoint.Port() != apiPort {
		t.Errorf("TEMPORAL_CODEC_ENDPOINT port %q is not the api's published port %q", endpoint.Port(), apiPort)
	}
	uiPort, _ := hostPort(ui, "8080")
	origin := "http://localhost:" + uiPort
	for _, svc := range []string{"api", "worker"} {
		var origins []string
		for _, o := range strings.Split(c.Services[svc].Environment["VERIFLOW_CODEC_ORIGINS"], ",") {
			origins = append(origins, strings.TrimSpace(o))
		}
		if !slices.Contains(origins, origin) {
			t.Errorf("%s: VERIFLOW_CODEC_ORIGINS %v does not allow the UI's origin %s", svc, origins, origin)
		}
	}
	if got := ui.Environment["TEMPORAL_CORS_ORIGINS"]; got != origin {
		t.Errorf("temporal-ui: TEMPORAL_CORS_ORIGINS = %q, want %s", got, origin)
	}

	// Without a token the codec server serves loopback only; the browser's
	// requests reach the api container from the compose network's gateway,
	// so the api trusts Docker's private bridge ranges (and nothing else).
	env := c.Services["api"].Environment
	cfg, err := config.FromEnv(func(k string) string { return interpolate(env[k]) })
	if err != nil {
		t.Fatalf("api: config.FromEnv: %v", err)
	}
	if cfg.CodecToken == "" && len(cfg.CodecTrustedNetworks) == 0 {
		t.Error("api: no VERIFLOW_CODEC_TRUSTED_NETWORKS: the UI cannot decode through the port mapping")
	}
	for _, gw := range []string{"172.17.0.1", "172.18.0.1", "192.168.16.1"} {
		if !slices.ContainsFunc(cfg.CodecTrustedNetworks, func(p netip.Prefix) bool { return p.Contains(netip.MustParseAddr(gw)) }) {
			t.Errorf("api: VERIFLOW_CODEC_TRUSTED_NETWORKS %v lacks Docker's gateway %s", cfg.CodecTrustedNetworks, gw)
		}
	}
	for _, p := range cfg.CodecTrustedNetworks {
		if !p.Addr().IsPrivate() || p.Bits() < 8 {
			t.Errorf("api: trusted network %s is not a private range", p)
		}
	}
	if w := c.Services["worker"].Environment["VERIFLOW_CODEC_TRUSTED_NETWORKS"]; w != "" {
		t.Errorf("worker: VERIFLOW_CODEC_TRUSTED_NETWORKS = %q: only the api serves the codec", w)
	}
}

func TestSearchAttributes(t *testing.T) {
	c := load(t)
	cmd, ok := c.Services["temporal-admin-tools"].Command.([]any)
	if !ok || len(cmd) != 1 {
		t.Fatalf("temporal-admin-tools command = %v, want one shell script", c.Services["temporal-admin-tools"].Command)
	}
	script, _ := cmd[0].(string)
	m := regexp.MustCompile(`for name in ([A-Za-z0-9_ ]+);`).FindStringSubmatch(script)
	if m == nil {
		t.Fatalf("no `for name in …;` loop in the admin-tools script:\n%s", script)
	}
	got, want := strings.Fields(m[1]), contract.SearchAttributeNames()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("registered search attributes %v, want %v", got, want)
	}
	for _, s := range []string{"temporal operator search-attribute create", `--name "$$name"`, "--type Keyword", `--namespace "$$TEMPORAL_NAMESPACE"`} {
		if !strings.Contains(script, s) {
			t.Errorf("admin-tools script lacks %q", s)
		}
	}
	if ns := c.Services["temporal-admin-tools"].Environment["TEMPORAL_NAMESPACE"]; ns != c.Services["worker"].Environment["TEMPORAL_NAMESPACE"] {
		t.Errorf("search attributes go to namespace %q, the worker uses %q", ns, c.Services["worker"].Environment["TEMPORAL_NAMESPACE"])
	}
}

func TestDependsOn(t *testing.T) {
	c := load(t)
	want := map[string]map[string]string{
		"temporal":             {"postgres": "service_healthy"},
		"temporal-admin-tools": {"temporal": "service_healthy"},
		"temporal-ui":          {"temporal": "service_healthy"},
		"migrate":              {"postgres": "service_healthy"},
		"api":                  {"migrate": "service_completed_successfully", "temporal": "service_healthy"},
		"worker":               {"migrate": "service_completed_successfully", "temporal": "service_healthy"},
	}
	for svc, deps := range want {
		for dep, cond := range deps {
			if got := c.Services[svc].DependsOn[dep].Condition; got != cond {
				t.Errorf("%s depends on %s with condition %q, want %s", svc, dep, got, cond)
			}
		}
	}
	for svc, s := range c.Services {
		for dep, d := range s.DependsOn {
			if d.Condition == "service_healthy" && c.Services[dep].Healthcheck == nil {
				t.Errorf("%s waits for %s to be healthy, which has no healthcheck", svc, dep)
			}
		}
	}
}

func TestDockerfile(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	// Join continuation lines, drop comments.
	var lines []string
	for _, l := range strings.Split(strings.ReplaceAll(string(raw), "\\\n", " "), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	var stages [][]string
	for _, l := range lines {
		if strings.HasPrefix(strings.ToUpper(l), "FROM ") {
			stages = append(stages, nil)
		}
		if len(stages) > 0 {
			stages[len(stages)-1] = append(stages[len(stages)-1], l)
		}
	}
	if len(stages) < 2 {
		t.Fatalf("Dockerfile has %d stages, want a builder and a runtime stage", len(stages))
	}
	builder := strings.Join(stages[0], "\n")
	if !strings.HasPrefix(builder, "FROM golang:1.26 ") {
		t.Errorf("builder stage is not golang:1.26: %s", stages[0][0])
	}
	for _, s := range []string{"CGO_ENABLED=0 go build -trimpath", `-ldflags="-s -w"`, "-o /out/veriflow ./cmd/veriflow", "--mount=type=cache,target=/go/pkg/mod", "--mount=type=cache,target=/root/.cache/go-build"} {
		if !strings.Contains(builder, s) {
			t.Errorf("builder stage lacks %q", s)
		}
	}
	final := stages[len(stages)-1]
	if final[0] != "FROM gcr.io/distroless/static-debian12:nonroot" {
		t.Errorf("final stage is %q, want distroless static nonroot", final[0])
	}
	for _, s := range []string{"COPY --from=build /out/veriflow /veriflow", "USER nonroot", `ENTRYPOINT ["/veriflow"]`} {
		if !slices.Contains(final, s) {
			t.Errorf("final stage lacks %q", s)
		}
	}
}
