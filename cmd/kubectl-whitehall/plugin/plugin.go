// Package plugin holds the commands of kubectl whitehall. Each command is one file: a
// command value in the table below parses its own flags and calls a function that takes
// a client, so tests (unit and envtest) run the commands without kubeconfig or binary.
// Commands read, but two: approve writes one approval into a ComputeQuota (as the user,
// whom the API server authorizes), and adopt --handover writes one handover tag per
// project to OpenStack (with the user's own clouds.yaml).
package plugin

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"
)

// Exit codes of Main. ExitDrift is kept for plan: 2 says "there is drift", so CI can
// tell it from an error.
const (
	ExitOK    = 0
	ExitError = 1
	ExitDrift = 2
)

// Build identifies the binary, as make plugin stamps it.
type Build struct {
	Version  string
	Revision string
}

// Env is what a command runs with: where it writes, the clock, and how it reaches the
// cluster. Tests replace Connect and Now.
type Env struct {
	Out     io.Writer
	Err     io.Writer
	Build   Build
	Now     func() time.Time
	Connect func(KubeFlags) (Cluster, error)
}

// command is one subcommand: its name, a line for the usage, and its runner, which gets
// the arguments after its name.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env Env, args []string) error
}

// commands is the command table; plan and adopt slot in here.
var commands = []command{
	{name: "plan", summary: "the drift of Tenants and ComputeQuotas: what Manage would change in OpenStack; exit 2 on drift, 3 when not yet observed", run: runPlan},
	{name: "tree", summary: "a department at a glance: Tenant, project, people, network, credential, quota, environments, policy; failing parts first", run: runTree},
	{name: "calendar", summary: "the season transitions of the next days, the quota each namespace gets at each, and whether the peaks fit", run: runCalendar},
	{name: "approve", summary: "approve a ComputeQuota's peak for a season, with the values it asks now (needs the verb approve on computequotas/approval)", run: runApprove},
	{name: "adopt", summary: "write Tenants and ComputeQuotas (Observe) that reproduce the projects no Tenant owns; --handover tags them", run: runAdopt},
	{name: "version", summary: "print the plugin's version and git revision", run: runVersion},
}

// Main runs the command args name and returns the process's exit code.
func Main(ctx context.Context, build Build, args []string, stdout, stderr io.Writer) int {
	env := Env{Out: stdout, Err: stderr, Build: build, Now: time.Now, Connect: Connect}
	return run(ctx, env, args)
}

func run(ctx context.Context, env Env, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(env.Err)
		if len(args) == 0 {
			return ExitError
		}
		return ExitOK
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, env, args[1:])
		var status exitStatus
		switch {
		case err == nil:
			return ExitOK
		case errors.Is(err, flag.ErrHelp):
			return ExitOK
		case errors.As(err, &status): // plan's 2 and 3: the result is printed already
			return int(status)
		default:
			(&printer{w: env.Err}).printf("error: %v\n", err)
			return ExitError
		}
	}
	(&printer{w: env.Err}).printf("error: unknown command %q\n", args[0])
	usage(env.Err)
	return ExitError
}

// usage goes to stderr; when even that fails there is no one left to tell.
func usage(w io.Writer) {
	p := &printer{w: w}
	p.printf("Usage: kubectl whitehall COMMAND [flags]\n\nCommands:\n")
	for _, c := range commands {
		p.printf("  %-10s %s\n", c.name, c.summary)
	}
	p.printf("\nRun kubectl whitehall COMMAND -h for its flags.\n")
}

// parseInterspersed parses flags wherever they stand among the arguments, as kubectl
// does (tree my-tenant -n hmrc), and returns the positional arguments. After "--" every
// argument is positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// newFlagSet makes a command's flag set that reports errors instead of exiting; -h
// prints synopsis, then the flags.
func newFlagSet(synopsis string, env Env) *flag.FlagSet {
	fs := flag.NewFlagSet("kubectl whitehall", flag.ContinueOnError)
	fs.SetOutput(env.Err)
	fs.Usage = func() {
		(&printer{w: env.Err}).printf("Usage: kubectl whitehall %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// outputFlag binds -o/--output: text (the default) or json.
func outputFlag(fs *flag.FlagSet) *string {
	out := new(string)
	fs.StringVar(out, "o", "text", "Output format: text or json.")
	fs.StringVar(out, "output", "text", "Output format: text or json (same as -o).")
	return out
}

// readFlags are the flags every reading command takes: which cluster and namespace,
// and the output format.
type readFlags struct {
	kube   KubeFlags
	output *string
}

// bindRead binds the reading commands' flags to fs.
func bindRead(fs *flag.FlagSet) *readFlags {
	r := &readFlags{}
	r.kube.bind(fs)
	r.output = outputFlag(fs)
	return r
}

// parse parses args (flags and arguments in any order), checks the output format, and
// returns the arguments.
func (r *readFlags) parse(fs *flag.FlagSet, args []string) ([]string, error) {
	positional, err := parseInterspersed(fs, args)
	if err != nil {
		return nil, err
	}
	return positional, checkOutput(*r.output)
}

func checkOutput(format string) error {
	if format != "text" && format != "json" {
		return fmt.Errorf("unknown output format %q: use text or json", format)
	}
	return nil
}
