package main

import (
	"bytes"
	"flag"
	"strings"
	"testing"
)

// noEnv is an empty environment: help and usage errors need no
// configuration.
func noEnv(string) string { return "" }

// TestHelp: every command's help, asked for every way, prints its usage,
// description, flags and examples to stdout and exits 0.
func TestHelp(t *testing.T) {
	for _, c := range commands() {
		var flags []string
		if !c.group() {
			fs := newFlagSet(c.name)
			c.flags(fs)
			fs.VisitAll(func(f *flag.Flag) { flags = append(flags, "--"+f.Name) })
		}
		words := strings.Fields(c.name)
		for _, args := range [][]string{
			append(append([]string{}, words...), "--help"),
			append(append([]string{}, words...), "-h"),
			append([]string{"help"}, words...),
		} {
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				var out, errOut bytes.Buffer
				if code := run(t.Context(), args, &out, &errOut, noEnv); code != 0 {
					t.Fatalf("exit %d, stderr %q", code, errOut.String())
				}
				if errOut.Len() != 0 {
					t.Errorf("stderr %q", errOut.String())
				}
				help := out.String()
				for _, want := range append([]string{"Usage: veriflow " + c.name, "Flags:", "--help", "Examples:"}, flags...) {
					if !strings.Contains(help, want) {
						t.Errorf("help lacks %q:\n%s", want, help)
					}
				}
				if _, ex, _ := strings.Cut(help, "Examples:"); !strings.Contains(ex, "veriflow "+c.name) {
					t.Errorf("no example of veriflow %s:\n%s", c.name, help)
				}
				if len(strings.TrimSpace(c.desc)) < 40 || !strings.Contains(help, strings.Fields(c.desc)[0]) {
					t.Errorf("no description paragraph:\n%s", help)
				}
				if c.group() {
					for _, s := range subcommands(commands(), c) {
						if !strings.Contains(help, s.usage) {
							t.Errorf("group help lacks %q", s.usage)
						}
					}
				}
			})
		}
	}
}

// TestOverview: --help, -h, help and no arguments list every command.
func TestOverview(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}, {}, {"help", "--help"}} {
		var out, errOut bytes.Buffer
		if code := run(t.Context(), args, &out, &errOut, noEnv); code != 0 || errOut.Len() != 0 {
			t.Fatalf("%q: exit %d, stderr %q", args, code, errOut.String())
		}
		for _, c := range commands() {
			if !c.group() && !strings.Contains(out.String(), c.usage) {
				t.Errorf("%q: overview lacks %q", args, c.usage)
			}
		}
		if !strings.Contains(out.String(), "Usage: veriflow <command>") || !strings.Contains(out.String(), "Examples:") {
			t.Errorf("%q: overview:\n%s", args, out.String())
		}
	}
}

// TestUsageErrors: an unknown command or a wrong command line prints a
// message and usage to stderr and exits 2, without touching a database.
func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bogus"}, `unknown command "bogus"`},
		{[]string{"help", "bogus"}, `unknown command "bogus"`},
		{[]string{"apikey"}, "missing command"},
		{[]string{"apikey", "rotate"}, `unknown command "rotate"`},
		{[]string{"apikey", "create"}, "needs --tenant"},
		{[]string{"apikey", "create", "--tenant", "acme", "--mode", "prod"}, "needs --tenant and --mode test|live"},
		{[]string{"apikey", "create", "--tenat", "acme"}, "flag provided but not defined: -tenat"},
		{[]string{"apikey", "revoke"}, "KEY_ID"},
		{[]string{"tenant", "set-callback", "--tenant", "acme"}, "--url"},
		{[]string{"evidence", "verify", "ev.json"}, "--keys"},
		{[]string{"codec", "keygen", "extra"}, `unexpected argument "extra"`},
		{[]string{"migrate", "now"}, `unexpected argument "now"`},
	} {
		var out, errOut bytes.Buffer
		code := run(t.Context(), tc.args, &out, &errOut, noEnv)
		if code != 2 {
			t.Errorf("%q: exit %d, want 2 (stderr %q)", tc.args, code, errOut.String())
		}
		if out.Len() != 0 {
			t.Errorf("%q: stdout %q", tc.args, out.String())
		}
		if !strings.Contains(errOut.String(), tc.want) || !strings.Contains(errOut.String(), "Usage: veriflow") {
			t.Errorf("%q: stderr lacks %q and usage:\n%s", tc.args, tc.want, errOut.String())
		}
	}
}

// TestKeygen: the keygen commands run without configuration.
func TestKeygen(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(t.Context(), []string{"codec", "keygen"}, &out, &errOut, noEnv); code != 0 || !strings.HasPrefix(out.String(), "VERIFLOW_PAYLOAD_KEYS=") {
		t.Fatalf("codec keygen: exit %d %q %q", code, out.String(), errOut.String())
	}
}
