// Command devdb starts and stops a project-local, throwaway PostgreSQL cluster: the
// persistent one `make run` keeps under .regmo/pg and the temporary ones `make test` and
// `make bench` create and destroy. It finds Debian's versioned server binaries, which are
// not on PATH, and runs them as the postgres user when started as root, since initdb
// refuses to run as root.
//
// Usage:
//
//	devdb start   -dir DIR [-port N] [-fast]   initialise if needed, start, print the URL
//	devdb stop    -dir DIR                     stop if running
//	devdb restart -dir DIR                     restart with the same settings, print the URL
//	devdb destroy -dir DIR                     stop and remove everything
//	devdb url     -dir DIR                     print the URL of an initialised cluster
//
// The URL, postgres://postgres@127.0.0.1:PORT/postgres?sslmode=disable, is the only output
// on stdout, so that `url=$(devdb start -dir DIR)` works; progress and errors go to stderr.
// A new cluster gets a free port unless -port says otherwise; the port and -fast are kept in
// DIR/devdb.port, so later starts reuse them.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
)

const usage = `usage:
	devdb start   -dir DIR [-port N] [-fast]
	devdb stop    -dir DIR
	devdb restart -dir DIR
	devdb destroy -dir DIR
	devdb url     -dir DIR
`

func main() {
	os.Exit(run(os.Args[1:]))
}

// run executes one command and returns the exit code: 2 for a usage error, 1 for a failure.
func run(args []string) int {
	commands := []string{"start", "stop", "restart", "destroy", "url"}
	if len(args) == 0 || !slices.Contains(commands, args[0]) {
		fmt.Fprint(os.Stderr, usage)
		return 2
	}
	name := args[0]
	flags := flag.NewFlagSet("devdb "+name, flag.ContinueOnError)
	dir := flags.String("dir", "", "directory holding the cluster (required)")
	var port *int
	var fast *bool
	if name == "start" {
		port = flags.Int("port", 0, "TCP port on 127.0.0.1; 0 keeps the cluster's port or picks a free one")
		fast = flags.Bool("fast", false, "turn off fsync, synchronous_commit and full_page_writes (tests, benchmarks)")
	}
	if err := flags.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *dir == "" || flags.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "usage: devdb %s -dir DIR\n", name)
		flags.PrintDefaults()
		return 2
	}

	c, err := newCluster(*dir)
	if err == nil {
		switch name {
		case "start":
			err = c.start(*port, explicit(flags, "fast", fast))
		case "stop":
			err = c.stop()
		case "restart":
			err = c.restart()
		case "destroy":
			err = c.destroy()
		case "url":
			err = c.printURL()
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "devdb: %v\n", err)
		return 1
	}
	return 0
}

// explicit returns value when the flag was given on the command line and nil otherwise, so
// that an existing cluster keeps its setting unless asked to change it.
func explicit(flags *flag.FlagSet, name string, value *bool) *bool {
	var given *bool
	flags.Visit(func(f *flag.Flag) {
		if f.Name == name {
			given = value
		}
	})
	return given
}
