package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/veriflow/veriflow/internal/config"
)

// Exit codes of the command line.
const (
	exitOK    = 0
	exitError = 1 // the command ran and failed
	exitUsage = 2 // the command line was wrong
)

// command describes one veriflow command: its help and how to run it. The
// table of them (commands) drives dispatch and help alike.
type command struct {
	// name is the words after "veriflow": "migrate", "apikey create".
	name string
	// usage is the synopsis after "veriflow ": "apikey revoke KEY_ID".
	usage string
	// summary is the one line in the command list; desc the paragraph of
	// the command's own help; examples are full command lines.
	summary  string
	desc     string
	examples []string
	// flags defines the command's flags on fs and returns the action that
	// reads them. A command without flags is a group ("apikey"): its help
	// lists its subcommands.
	flags func(fs *flag.FlagSet) action
	// config: the action needs the configuration (environment and
	// VERIFLOW_CONFIG_FILE).
	config bool
}

// action runs a command with its positional arguments.
type action func(ctx context.Context, e env, args []string) error

// env is what an action runs with.
type env struct {
	cfg    config.Config
	out    io.Writer
	getenv func(string) string
}

// group reports whether c only groups subcommands.
func (c command) group() bool { return c.flags == nil }

// usageError is a wrong command line found by an action (a missing flag, a
// stray argument): it exits 2 with the command's usage.
type usageError string

func (e usageError) Error() string { return string(e) }

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--help":
		return true
	}
	return false
}

// run dispatches args (os.Args[1:]) through the command table and returns
// the process's exit code: help goes to stdout and exits 0; a wrong
// command line prints a message and usage to stderr and exits 2; a failed
// command prints its error to stderr and exits 1.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	cmds := commands()
	if len(args) == 0 || isHelp(args[0]) {
		writeOverview(stdout, cmds)
		return exitOK
	}
	if args[0] == "help" {
		if len(args) == 1 || isHelp(args[1]) {
			writeOverview(stdout, cmds)
			return exitOK
		}
		c, rest := find(cmds, args[1:])
		if c == nil || len(rest) > 0 {
			fmt.Fprintf(stderr, "veriflow help: unknown command %q\n\n", strings.Join(args[1:], " "))
			writeOverview(stderr, cmds)
			return exitUsage
		}
		writeHelp(stdout, *c, cmds)
		return exitOK
	}
	c, rest := find(cmds, args)
	if c == nil {
		fmt.Fprintf(stderr, "veriflow: unknown command %q\n\n", args[0])
		writeOverview(stderr, cmds)
		return exitUsage
	}
	if c.group() {
		switch {
		case len(rest) > 0 && (isHelp(rest[0]) || rest[0] == "help"):
			writeHelp(stdout, *c, cmds)
			return exitOK
		case len(rest) == 0:
			fmt.Fprintf(stderr, "veriflow %s: missing command\n\n", c.name)
		default:
			fmt.Fprintf(stderr, "veriflow %s: unknown command %q\n\n", c.name, rest[0])
		}
		writeHelp(stderr, *c, cmds)
		return exitUsage
	}
	fs := newFlagSet(c.name)
	act := c.flags(fs)
	pos, err := parseInterspersed(fs, rest)
	if errors.Is(err, flag.ErrHelp) {
		writeHelp(stdout, *c, cmds)
		return exitOK
	}
	if err != nil {
		return usageFailed(stderr, *c, err)
	}
	e := env{out: stdout, getenv: getenv}
	if c.config {
		if e.cfg, err = config.FromEnv(getenv); err != nil {
			fmt.Fprintf(stderr, "veriflow %s: configuration: %v\n", c.name, err)
			return exitError
		}
	}
	if err := act(ctx, e, pos); err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			return usageFailed(stderr, *c, err)
		}
		fmt.Fprintf(stderr, "veriflow %s: %v\n", c.name, err)
		return exitError
	}
	return exitOK
}

// newFlagSet returns a silent flag set: run prints help and errors itself.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// usageFailed reports a wrong command line of c on w.
func usageFailed(w io.Writer, c command, err error) int {
	fmt.Fprintf(w, "veriflow %s: %v\nUsage: veriflow %s\nRun 'veriflow %s --help' for its flags and examples.\n", c.name, err, c.usage, c.name)
	return exitUsage
}

// find returns the command args name (two words before one) and the
// arguments after its name, or nil.
func find(cmds []command, args []string) (*command, []string) {
	if len(args) >= 2 {
		for i := range cmds {
			if cmds[i].name == args[0]+" "+args[1] {
				return &cmds[i], args[2:]
			}
		}
	}
	for i := range cmds {
		if cmds[i].name == args[0] {
			return &cmds[i], args[1:]
		}
	}
	return nil, nil
}

// parseInterspersed parses flags that may come before, between or after
// positional arguments ("evidence verify FILE --keys K") and returns the
// positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos, args = append(pos, args[0]), args[1:]
	}
}

// subcommands returns the commands under group g.
func subcommands(cmds []command, g command) []command {
	var out []command
	for _, c := range cmds {
		if strings.HasPrefix(c.name, g.name+" ") {
			out = append(out, c)
		}
	}
	return out
}

// writeOverview writes the top-level help: every runnable command.
func writeOverview(w io.Writer, cmds []command) {
	fmt.Fprint(w, "Usage: veriflow <command> [flags] [arguments]\n\n")
	writeParagraph(w, "Veriflow verifies phone numbers and email addresses with durable Temporal "+
		"workflows: it sends a one-time code over WhatsApp, SMS or email, fails over between "+
		"channels and providers, and approves the code the user types back. This one binary runs "+
		"the HTTP API, the Temporal worker and the administration commands below. Configuration "+
		"comes from environment variables, optionally layered over the JSON file named by "+
		"VERIFLOW_CONFIG_FILE; README.md lists every setting.")
	fmt.Fprint(w, "\nCommands:\n")
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	for _, c := range cmds {
		if !c.group() {
			fmt.Fprintf(tw, "  %s\t%s\n", c.usage, c.summary)
		}
	}
	_ = tw.Flush() // w is a terminal or a buffer
	fmt.Fprint(w, "\nFlags:\n  -h, --help   show this help; a command's: veriflow help <command>, or veriflow <command> --help\n")
	fmt.Fprint(w, "\nExamples:\n  veriflow dev\n  veriflow apikey create --tenant acme --mode live\n  veriflow help tenant set-callback\n")
}

// writeHelp writes c's help: usage, description, subcommands or flags,
// examples.
func writeHelp(w io.Writer, c command, cmds []command) {
	fmt.Fprintf(w, "Usage: veriflow %s\n\n", c.usage)
	writeParagraph(w, c.desc)
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	if c.group() {
		fmt.Fprint(w, "\nCommands:\n")
		for _, s := range subcommands(cmds, c) {
			fmt.Fprintf(tw, "  %s\t%s\n", s.usage, s.summary)
		}
		_ = tw.Flush() // w is a terminal or a buffer
	}
	fmt.Fprint(w, "\nFlags:\n")
	if !c.group() {
		fs := newFlagSet(c.name)
		c.flags(fs)
		fs.VisitAll(func(f *flag.Flag) {
			arg, usage := flag.UnquoteUsage(f)
			if !strings.Contains(f.Usage, "`") { // as in the usage lines: --ui-port PORT
				arg = strings.ToUpper(f.Name[strings.LastIndexByte(f.Name, '-')+1:])
			}
			if def := f.DefValue; def != "" && def != "0" && def != "false" {
				usage += " (default " + def + ")"
			}
			fmt.Fprintf(tw, "  --%s %s\t%s\n", f.Name, arg, usage)
		})
	}
	fmt.Fprintf(tw, "  -h, --help\tshow this help\n")
	_ = tw.Flush() // w is a terminal or a buffer
	if len(c.examples) > 0 {
		fmt.Fprint(w, "\nExamples:\n")
		for _, e := range c.examples {
			fmt.Fprintf(w, "  %s\n", e)
		}
	}
	if c.group() {
		fmt.Fprintf(w, "\nRun 'veriflow %s <command> --help' for a command's flags.\n", c.name)
	}
}

// writeParagraph writes text wrapped at 78 columns.
func writeParagraph(w io.Writer, text string) {
	line := 0
	for i, word := range strings.Fields(text) {
		if i > 0 && line+1+len(word) > 78 {
			fmt.Fprintln(w)
			line = 0
		} else if i > 0 {
			fmt.Fprint(w, " ")
			line++
		}
		fmt.Fprint(w, word)
		line += len(word)
	}
	fmt.Fprintln(w)
}
