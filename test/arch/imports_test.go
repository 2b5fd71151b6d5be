// Package arch checks the import rules of docs/architecture.md: each rule is
// one row of the table below, and the test fails naming the file and the
// import that breaks it.
package arch

import (
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/veriflow/veriflow"

// pkg is one package of the module as its non-test files import it.
type pkg struct {
	dir     string              // slash path relative to the module root
	imports map[string][]string // import path → files importing it
}

// rule is one import rule. Subject selects packages by directory prefix;
// every import (direct, or reached through other packages of the module
// when Transitive) must pass Allowed.
type rule struct {
	name       string
	subject    func(dir string) bool
	transitive bool
	// allowed reports whether dir may import imp (a full import path).
	allowed func(dir, imp string) bool
}

func under(prefixes ...string) func(string) bool {
	return func(dir string) bool {
		for _, p := range prefixes {
			if dir == p || strings.HasPrefix(dir, p+"/") {
				return true
			}
		}
		return false
	}
}

func local(imp string) (string, bool) {
	if imp == module {
		return ".", true
	}
	return strings.CutPrefix(imp, module+"/")
}

func isStd(imp string) bool {
	first, _, _ := strings.Cut(imp, "/")
	return !strings.Contains(first, ".")
}

// rules are the layers' import rules (docs/architecture.md, "Import rules").
var rules = []rule{
	{
		name:    "workflows import only the contract, pure helpers, the Temporal workflow SDK and the standard library",
		subject: under("workflows"),
		allowed: func(_, imp string) bool {
			if l, ok := local(imp); ok {
				return slices.Contains([]string{"internal/contract", "internal/otp"}, l)
			}
			return isStd(imp) || imp == "go.temporal.io/sdk/workflow" || imp == "go.temporal.io/sdk/temporal"
		},
	},
	{
		name:    "api imports no provider (vendor) package and no vendor SDK",
		subject: under("api"),
		allowed: func(_, imp string) bool {
			l, ok := local(imp)
			if ok {
				return !strings.HasPrefix(l, "internal/providers/")
			}
			return !strings.HasPrefix(imp, "github.com/twilio/") && !strings.HasPrefix(imp, "github.com/wneessen/go-mail")
		},
	},
	{
		name:       "providers never reach the store or the database driver",
		subject:    under("internal/providers"),
		transitive: true,
		allowed: func(_, imp string) bool {
			l, ok := local(imp)
			if ok {
				return l != "internal/store"
			}
			return !strings.HasPrefix(imp, "github.com/jackc/pgx")
		},
	},
	{
		name:       "config has no database driver",
		subject:    under("internal/config"),
		transitive: true,
		allowed: func(_, imp string) bool {
			l, ok := local(imp)
			if ok {
				return l != "internal/store"
			}
			return !strings.HasPrefix(imp, "github.com/jackc/pgx")
		},
	},
	{
		name:    "client is for outsiders: it imports nothing of the module",
		subject: under("client"),
		allowed: func(_, imp string) bool { _, ok := local(imp); return !ok },
	},
	{
		name: "nothing climbs back up: internal packages import no binary, api, worker, activities or workflows " +
			"(except internal/app, which wires processes, and the harnesses internal/devstack and internal/bench)",
		subject: func(dir string) bool {
			return under("internal")(dir) && !under("internal/app", "internal/devstack", "internal/bench")(dir)
		},
		allowed: func(_, imp string) bool {
			l, ok := local(imp)
			return !ok || !under("cmd", "api", "worker", "activities", "workflows", "test")(l)
		},
	},
	{
		name:    "activities and worker import no HTTP layer and no binary",
		subject: under("activities", "worker"),
		allowed: func(_, imp string) bool {
			l, ok := local(imp)
			return !ok || !under("cmd", "api", "test", "internal/app")(l)
		},
	},
	{
		name: "only binaries and tests import the wiring (internal/app)",
		subject: func(dir string) bool {
			return !under("cmd", "test", "internal/app", "internal/devstack", "internal/bench")(dir)
		},
		allowed: func(_, imp string) bool { l, ok := local(imp); return !ok || l != "internal/app" },
	},
}

// load parses the imports of every non-test Go file of the module.
func load(t *testing.T, root string) map[string]*pkg {
	t.Helper()
	pkgs := map[string]*pkg{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules" || name == "bin") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.ImportsOnly)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		rel, err := filepath.Rel(root, filepath.Dir(p))
		if err != nil {
			return err
		}
		dir := filepath.ToSlash(rel)
		k := pkgs[dir]
		if k == nil {
			k = &pkg{dir: dir, imports: map[string][]string{}}
			pkgs[dir] = k
		}
		for _, s := range f.Imports {
			imp, err := strconv.Unquote(s.Path.Value)
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			k.imports[imp] = append(k.imports[imp], path.Join(dir, name))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pkgs
}

// via is how an import was reached: the file that imports it and, for a
// transitive import, the chain of module packages in between.
type via struct {
	file  string
	chain []string
}

// reach returns every import of dir: direct ones, plus with transitive
// those of the module packages it reaches.
func reach(pkgs map[string]*pkg, dir string, transitive bool) map[string]via {
	out := map[string]via{}
	type item struct {
		dir   string
		chain []string
	}
	queue := []item{{dir: dir}}
	seen := map[string]bool{dir: true}
	for len(queue) > 0 {
		it := queue[0]
		queue = queue[1:]
		k := pkgs[it.dir]
		if k == nil {
			continue
		}
		imps := make([]string, 0, len(k.imports))
		for imp := range k.imports {
			imps = append(imps, imp)
		}
		sort.Strings(imps)
		for _, imp := range imps {
			if _, ok := out[imp]; !ok {
				out[imp] = via{file: k.imports[imp][0], chain: it.chain}
			}
			if l, ok := local(imp); ok && transitive && !seen[l] {
				seen[l] = true
				queue = append(queue, item{dir: l, chain: append(slices.Clone(it.chain), l)})
			}
		}
	}
	return out
}

func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found")
		}
		dir = parent
	}
}

// violations checks every rule against pkgs.
func violations(pkgs map[string]*pkg) []string {
	dirs := make([]string, 0, len(pkgs))
	for d := range pkgs {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	var out []string
	for _, r := range rules {
		for _, d := range dirs {
			if !r.subject(d) {
				continue
			}
			all := reach(pkgs, d, r.transitive)
			imps := make([]string, 0, len(all))
			for imp := range all {
				imps = append(imps, imp)
			}
			sort.Strings(imps)
			for _, imp := range imps {
				if r.allowed(d, imp) {
					continue
				}
				v := all[imp]
				how := ""
				if len(v.chain) > 0 {
					how = " through " + strings.Join(v.chain, " → ")
				}
				out = append(out, fmt.Sprintf("%s reaches %q%s (%s): breaks %q", d, imp, how, v.file, r.name))
			}
		}
	}
	return out
}

// TestImportRules fails on any import that breaks a rule of
// docs/architecture.md.
func TestImportRules(t *testing.T) {
	pkgs := load(t, repoRoot(t))
	if len(pkgs) < 20 {
		t.Fatalf("only %d packages found: is the test run from inside the module?", len(pkgs))
	}
	for _, v := range violations(pkgs) {
		t.Error(v)
	}
}

// TestImportRulesCatchABreak proves each rule can fail: a fake package that
// breaks it is reported.
func TestImportRulesCatchABreak(t *testing.T) {
	breaks := map[string][2]string{
		rules[0].name: {"workflows", module + "/internal/store"},
		rules[1].name: {"api", module + "/internal/providers/twilio"},
		rules[2].name: {"internal/providers/fake", module + "/internal/fakestore"},
		rules[3].name: {"internal/config", module + "/internal/fakestore"},
		rules[4].name: {"client", module + "/internal/contract"},
		rules[5].name: {"internal/mask", module + "/api"},
		rules[6].name: {"activities", module + "/api"},
		rules[7].name: {"api", module + "/internal/app"},
	}
	if len(breaks) != len(rules) {
		t.Fatalf("%d rules but %d deliberate breaks: add one for the new rule", len(rules), len(breaks))
	}
	for name, b := range breaks {
		pkgs := map[string]*pkg{
			b[0]: {dir: b[0], imports: map[string][]string{b[1]: {b[0] + "/broken.go"}}},
			// internal/fakestore reaches the store and the driver, for the
			// transitive rules.
			"internal/fakestore": {dir: "internal/fakestore", imports: map[string][]string{
				module + "/internal/store": {"internal/fakestore/x.go"}, "github.com/jackc/pgx/v5": {"internal/fakestore/x.go"}}},
		}
		found := false
		for _, v := range violations(pkgs) {
			if strings.HasPrefix(v, b[0]+" reaches ") && strings.Contains(v, name) {
				found = true
			}
		}
		if !found {
			t.Errorf("rule %q did not catch %s importing %s", name, b[0], b[1])
		}
	}
}
