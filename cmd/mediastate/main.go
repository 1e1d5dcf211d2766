// Command mediastate is the operator CLI: it reads media states, their
// history, dead letters, Live notify records and snapshots straight from
// OSS, replays dead letters through the functions' own pipeline, and
// previews the sweep.
//
//	mediastate get <MediaId>
//	mediastate history <MediaId>
//	mediastate list [-prefix P] [-since T] [-until T] [-limit N]
//	mediastate deadletters list [-function F] [-limit N]
//	mediastate deadletters show <key | function/hash>
//	mediastate deadletters replay -function F [-dry-run] [-limit N] [-include-unverified]
//	mediastate live query -domain D [-app A] [-stream S] [-status success|failed] [-start T] [-end T] [-page-size N] [-page N]
//	mediastate sweep -dry-run
//	mediastate snapshot [-lines]
//
// Every command prints JSON by default and a table with -o table; -h
// describes each. With no configuration it talks to the local stack's
// embedded OSS server (go run ./test/cmd/local) at its default address (or
// MEDIASTATE_OSS_ADDR, as the stack reads it) and credentials. OSS_ENDPOINT, OSS_BUCKET, OSS_REGION (signature V4),
// OSS_ACCESS_KEY_ID, OSS_ACCESS_KEY_SECRET, OSS_SESSION_TOKEN and
// STATE_PREFIX point it at a real bucket. Progress of long listings goes to
// stderr.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"mediastate/shared/localdefaults"
	"mediastate/shared/ossx"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// conn says which bucket to read and how.
type conn struct {
	Endpoint, Bucket, Region string
	Key                      ossx.Key
	Prefix                   string
	// Local is true when nothing was configured: the local stack.
	Local bool
}

// connFrom reads the OSS_* variables and STATE_PREFIX; with no
// OSS_ENDPOINT it returns the local stack's embedded server.
func connFrom(getenv func(string) string) (conn, error) {
	c := conn{Endpoint: getenv("OSS_ENDPOINT"), Bucket: getenv("OSS_BUCKET"), Region: getenv("OSS_REGION"),
		Key: ossx.Key{AccessKeyID: getenv("OSS_ACCESS_KEY_ID"), AccessKeySecret: getenv("OSS_ACCESS_KEY_SECRET"),
			SecurityToken: getenv("OSS_SESSION_TOKEN")},
		Prefix: getenv("STATE_PREFIX")}
	if c.Prefix == "" {
		c.Prefix = localdefaults.Prefix
	}
	if c.Endpoint == "" {
		if c.Bucket != "" || c.Key.AccessKeyID != "" {
			return c, errors.New("OSS_BUCKET or OSS_ACCESS_KEY_ID is set without OSS_ENDPOINT: set OSS_ENDPOINT too, or unset them to use the local stack")
		}
		addr := getenv("MEDIASTATE_OSS_ADDR") // the local stack's -oss-addr
		if addr == "" {
			addr = localdefaults.OSSAddr
		}
		c.Endpoint, c.Bucket, c.Local = "http://"+addr, localdefaults.Bucket, true
		c.Key = ossx.Key{AccessKeyID: localdefaults.AccessKeyID, AccessKeySecret: localdefaults.AccessKeySecret}
		return c, nil
	}
	var missing []string
	for name, v := range map[string]string{"OSS_BUCKET": c.Bucket, "OSS_ACCESS_KEY_ID": c.Key.AccessKeyID, "OSS_ACCESS_KEY_SECRET": c.Key.AccessKeySecret} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return c, fmt.Errorf("OSS_ENDPOINT is set but %s is not", strings.Join(missing, ", "))
	}
	if !strings.HasSuffix(c.Prefix, "/") {
		return c, fmt.Errorf("STATE_PREFIX %q must end with /", c.Prefix)
	}
	return c, nil
}

// bucket opens the configured bucket.
func (c conn) bucket() (*ossx.Bucket, error) {
	return ossx.New(ossx.Config{Endpoint: c.Endpoint, Bucket: c.Bucket, Region: c.Region, Credentials: ossx.NewCredentials(c.Key)})
}

// env is what a command runs with.
type env struct {
	ctx    context.Context
	getenv func(string) string
	stdout io.Writer
	stderr io.Writer
	conn   conn
	b      *ossx.Bucket
	format string // json or table
}

// command is one subcommand.
type command struct {
	name, args, summary string
	// nargs is the number of positional arguments the command takes.
	nargs int
	// flags declares the command's flags on fs; run runs it with the
	// positional arguments.
	flags func(fs *flag.FlagSet) func(e *env, args []string) error
}

// commands returns the subcommands, "deadletters" and "live" having their
// own.
func commands() []command {
	return []command{
		getCommand(), historyCommand(), listCommand(),
		{name: "deadletters", args: "list|show|replay ...", summary: "inspect and replay dead letters"},
		{name: "live", args: "query ...", summary: "DescribeLiveRecordNotifyRecords over the Live notify records"},
		sweepCommand(), snapshotCommand(),
	}
}

// errUsage: the usage was printed; exit 2.
var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	err := dispatch(ctx, args, getenv, stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage):
		return 2
	case errors.Is(err, flag.ErrHelp):
		return 0
	}
	fmt.Fprintln(stderr, "mediastate:", err)
	return 1
}

func dispatch(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	usage := func() {
		fmt.Fprintf(stderr, "usage: mediastate <command> [flags] [args]\n\ncommands:\n")
		for _, c := range commands() {
			fmt.Fprintf(stderr, "  %-12s %-28s %s\n", c.name, c.args, c.summary)
		}
		fmt.Fprintf(stderr, "\nEvery command takes -o json (default) or -o table, and -h.\n"+
			"With no OSS_ENDPOINT it uses the local stack (%s, bucket %s).\n"+
			"OSS_ENDPOINT, OSS_BUCKET, OSS_REGION, OSS_ACCESS_KEY_ID, OSS_ACCESS_KEY_SECRET, OSS_SESSION_TOKEN, STATE_PREFIX select a real bucket.\n",
			localdefaults.OSSAddr, localdefaults.Bucket)
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		usage()
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	name, rest := args[0], args[1:]
	var cmd command
	switch name {
	case "deadletters":
		sub, subRest, err := subcommand(stderr, "deadletters", rest, deadletterCommands())
		if err != nil {
			return err
		}
		cmd, rest = sub, subRest
		cmd.name = "deadletters " + cmd.name
	case "live":
		sub, subRest, err := subcommand(stderr, "live", rest, []command{liveQueryCommand()})
		if err != nil {
			return err
		}
		cmd, rest = sub, subRest
		cmd.name = "live " + cmd.name
	default:
		found := false
		for _, c := range commands() {
			if c.name == name && c.flags != nil {
				cmd, found = c, true
			}
		}
		if !found {
			fmt.Fprintf(stderr, "mediastate: unknown command %q\n\n", name)
			usage()
			return errUsage
		}
	}
	return runCommand(ctx, cmd, rest, getenv, stdout, stderr)
}

// subcommand picks one of a command group's subcommands.
func subcommand(stderr io.Writer, group string, args []string, subs []command) (command, []string, error) {
	usage := func() {
		fmt.Fprintf(stderr, "usage: mediastate %s <subcommand> ...\n\n", group)
		for _, c := range subs {
			fmt.Fprintf(stderr, "  %-8s %-40s %s\n", c.name, c.args, c.summary)
		}
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		usage()
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return command{}, nil, flag.ErrHelp
		}
		return command{}, nil, errUsage
	}
	for _, c := range subs {
		if c.name == args[0] {
			return c, args[1:], nil
		}
	}
	fmt.Fprintf(stderr, "mediastate %s: unknown subcommand %q\n\n", group, args[0])
	usage()
	return command{}, nil, errUsage
}

// runCommand parses the command's flags (anywhere among its arguments),
// connects and runs it.
func runCommand(ctx context.Context, cmd command, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mediastate "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	e := &env{ctx: ctx, getenv: getenv, stdout: stdout, stderr: stderr}
	fs.StringVar(&e.format, "o", "json", "output: json or table")
	runFn := cmd.flags(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: mediastate %s %s\n\n%s\n\nflags:\n", cmd.name, cmd.args, cmd.summary)
		fs.PrintDefaults()
	}
	flags, positional := splitArgs(fs, args)
	if err := fs.Parse(flags); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	positional = append(positional, fs.Args()...)
	if len(positional) != cmd.nargs {
		fs.Usage()
		return errUsage
	}
	if e.format != "json" && e.format != "table" {
		return fmt.Errorf("-o %q: want json or table", e.format)
	}
	var err error
	if e.conn, err = connFrom(getenv); err != nil {
		return err
	}
	if e.b, err = e.conn.bucket(); err != nil {
		return err
	}
	err = runFn(e, positional)
	if errors.Is(err, errUsage) {
		fs.Usage()
	}
	if err != nil && e.conn.Local && strings.Contains(err.Error(), "connection refused") {
		err = fmt.Errorf("%w\n(no OSS_ENDPOINT is set, so this talks to the local stack at %s: start it with `go run ./test/cmd/local`)", err, e.conn.Endpoint)
	}
	return err
}

// splitArgs separates flags from positional arguments so that flags may
// follow them (`get <id> -o table`). A flag's value is the next argument
// unless the flag is boolean or written -name=value.
func splitArgs(fs *flag.FlagSet, args []string) (flags, positional []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return flags, append(positional, args[i+1:]...)
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			positional = append(positional, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		f := fs.Lookup(name)
		if f == nil {
			continue
		}
		if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && bf.IsBoolFlag() {
			continue
		}
		if i+1 < len(args) {
			i++
			flags = append(flags, args[i])
		}
	}
	return flags, positional
}
