package compose

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// mounts returns a service's bind mounts of repository paths ("./x:/y[:ro]")
// as container path → repository path.
func mounts(s service) map[string]string {
	m := map[string]string{}
	for _, v := range s.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && strings.HasPrefix(parts[0], "./") {
			m[parts[1]] = parts[0]
		}
	}
	return m
}

func readYAML(t *testing.T, repoPath string, v any) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, repoPath))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s: %v", repoPath, err)
	}
}

// TestBindMountsExist: every repository file or folder a service mounts
// is there.
func TestBindMountsExist(t *testing.T) {
	c := load(t)
	for name, s := range c.Services {
		for target, src := range mounts(s) {
			if _, err := os.Stat(filepath.Join(root, src)); err != nil {
				t.Errorf("%s mounts %s at %s: %v", name, src, target, err)
			}
		}
	}
}

// TestPrometheusScrapesAPIAndWorker: prometheus.yml is the file mounted as
// the config, its rule file is alerts.yml as mounted, and its scrape
// targets are the api's and the worker's metrics addresses in compose.
func TestPrometheusScrapesAPIAndWorker(t *testing.T) {
	c := load(t)
	prom := c.Services["prometheus"]
	cmd, _ := prom.Command.([]any)
	configPath := ""
	for _, a := range cmd {
		if s, _ := a.(string); strings.HasPrefix(s, "--config.file=") {
			configPath = strings.TrimPrefix(s, "--config.file=")
		}
	}
	m := mounts(prom)
	if configPath == "" || m[configPath] != "./deploy/prometheus/prometheus.yml" {
		t.Fatalf("prometheus: --config.file %q is not the mounted deploy/prometheus/prometheus.yml (mounts %v)", configPath, m)
	}
	var cfg struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			MetricsPath   string `yaml:"metrics_path"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	readYAML(t, "deploy/prometheus/prometheus.yml", &cfg)
	if len(cfg.RuleFiles) != 1 || m[cfg.RuleFiles[0]] != "./deploy/prometheus/alerts.yml" {
		t.Errorf("prometheus: rule_files %v, want the mounted deploy/prometheus/alerts.yml (mounts %v)", cfg.RuleFiles, m)
	}

	// Where each Veriflow process serves /metrics inside the network.
	want := map[string]string{
		"api":    c.Services["api"].Environment["VERIFLOW_HTTP_ADDR"],
		"worker": c.Services["worker"].Environment["VERIFLOW_METRICS_ADDR"],
	}
	scraped := map[string]bool{}
	for _, sc := range cfg.ScrapeConfigs {
		if p := sc.MetricsPath; p != "" && p != "/metrics" {
			t.Errorf("job %s: metrics_path %q, Veriflow serves /metrics", sc.JobName, p)
		}
		for _, st := range sc.StaticConfigs {
			for _, target := range st.Targets {
				host, port, err := net.SplitHostPort(target)
				if err != nil {
					t.Errorf("job %s: target %q: %v", sc.JobName, target, err)
					continue
				}
				addr, ok := want[host]
				if !ok {
					t.Errorf("job %s: target %s is not a Veriflow service (want one of api, worker)", sc.JobName, target)
					continue
				}
				if _, listen, err := net.SplitHostPort(addr); err != nil || listen != port {
					t.Errorf("job %s: target %s, but %s serves /metrics on %q", sc.JobName, target, host, addr)
				}
				scraped[host] = true
			}
		}
	}
	for svc := range want {
		if !scraped[svc] {
			t.Errorf("prometheus does not scrape %s", svc)
		}
	}
	if a := want["worker"]; !strings.HasPrefix(a, "0.0.0.0:") {
		t.Errorf("worker: VERIFLOW_METRICS_ADDR = %q, want 0.0.0.0:PORT (reachable from prometheus)", a)
	}
	for svc := range want {
		if prom.DependsOn[svc].Condition == "" {
			t.Errorf("prometheus does not depend on %s", svc)
		}
	}
	if p, _ := hostPort(prom, "9090"); p != "9090" {
		t.Errorf("prometheus is published on %q, want 9090", p)
	}
}

// TestGrafanaProvisioning: the data source points at the prometheus
// service, the dashboard provider reads the folder where the dashboards are
// mounted, and each dashboard is valid JSON using the provisioned type.
func TestGrafanaProvisioning(t *testing.T) {
	c := load(t)
	g := c.Services["grafana"]
	m := mounts(g)
	if m["/etc/grafana/provisioning/datasources"] != "./deploy/grafana/provisioning/datasources" ||
		m["/etc/grafana/provisioning/dashboards"] != "./deploy/grafana/provisioning/dashboards" {
		t.Errorf("grafana: provisioning folders not mounted: %v", m)
	}
	var ds struct {
		Datasources []struct {
			Name, UID, Type, URL string
			IsDefault            bool `yaml:"isDefault"`
		} `yaml:"datasources"`
	}
	readYAML(t, "deploy/grafana/provisioning/datasources/prometheus.yml", &ds)
	if len(ds.Datasources) != 1 || ds.Datasources[0].Type != "prometheus" || ds.Datasources[0].URL != "http://prometheus:9090" || !ds.Datasources[0].IsDefault {
		t.Errorf("grafana data sources %+v, want one default prometheus at http://prometheus:9090", ds.Datasources)
	}
	if _, ok := hostPort(c.Services["prometheus"], "9090"); !ok {
		t.Error("the data source's port 9090 is not prometheus's")
	}
	var prov struct {
		Providers []struct {
			Type    string
			Options struct {
				Path string
			}
		} `yaml:"providers"`
	}
	readYAML(t, "deploy/grafana/provisioning/dashboards/veriflow.yml", &prov)
	if len(prov.Providers) != 1 || prov.Providers[0].Type != "file" {
		t.Fatalf("dashboard providers %+v, want one file provider", prov.Providers)
	}
	dir := prov.Providers[0].Options.Path
	if m[dir] != "./deploy/grafana/dashboards" {
		t.Errorf("dashboard provider path %s is not where deploy/grafana/dashboards is mounted (%v)", dir, m)
	}
	files, err := filepath.Glob(filepath.Join(root, "deploy", "grafana", "dashboards", "*.json"))
	if err != nil || len(files) < 2 {
		t.Fatalf("dashboards: %v %v, want at least operations and product", files, err)
	}
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d struct {
			UID    string `json:"uid"`
			Panels []struct {
				Type       string `json:"type"`
				Datasource struct {
					Type string `json:"type"`
				} `json:"datasource"`
			} `json:"panels"`
		}
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		for i, p := range d.Panels {
			if p.Type != "row" && p.Datasource.Type != "prometheus" {
				t.Errorf("%s: panel %d uses data source type %q", filepath.Base(f), i, p.Datasource.Type)
			}
		}
	}
	home := g.Environment["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
	if filepath.Dir(home) != dir || !slices.Contains(names, filepath.Base(home)) {
		t.Errorf("grafana home dashboard %q is not one of the provisioned %v in %s", home, names, dir)
	}
}
