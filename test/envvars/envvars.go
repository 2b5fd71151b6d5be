// Package envvars finds the environment variables Veriflow reads, for the
// deployment tests (test/compose, test/helm) that check a deployment sets
// only variables Veriflow knows.
package envvars

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Read returns the environment variable names the config package and the
// providers' plug-ins (under the module root) read: their string literals
// named like Veriflow's variables (a literal ending in "_" is a prefix,
// e.g. VERIFLOW_CHANNEL_ + channel) plus the three read under other names.
// It fails when the scan finds implausibly few.
func Read(root string) (names map[string]bool, prefixes []string, err error) {
	names = map[string]bool{"DATABASE_URL": true, "TEMPORAL_ADDRESS": true, "TEMPORAL_NAMESPACE": true}
	var files []string
	for _, pattern := range []string{filepath.Join(root, "internal", "config", "*.go"), filepath.Join(root, "internal", "providers", "*", "*.go")} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			return nil, nil, err
		}
		files = append(files, m...)
	}
	re := regexp.MustCompile(`"((?:VERIFLOW|TWILIO|META|SMTP)_[A-Z0-9_]*)"`)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, err
		}
		for _, m := range re.FindAllStringSubmatch(string(src), -1) {
			if strings.HasSuffix(m[1], "_") {
				prefixes = append(prefixes, m[1])
			} else {
				names[m[1]] = true
			}
		}
	}
	if len(names) < 20 {
		return nil, nil, fmt.Errorf("found only %d variable names in config/ and providers/: the scan is broken", len(names))
	}
	return names, prefixes, nil
}
