// Command devdb starts and stops a project-local, throwaway PostgreSQL cluster for
// `make run`, `make test` and `make bench`. It finds Debian's versioned server binaries,
// which are not on PATH, and runs them as the postgres user when started as root, since
// initdb refuses to run as root.
//
// Usage:
//
//	devdb start   -dir DIR [-port N] [-fast]   initialise if needed, start, print the URL
//	devdb stop    -dir DIR                     stop if running
//	devdb restart -dir DIR                     restart with the same settings
//	devdb destroy -dir DIR                     stop and remove everything
//	devdb url     -dir DIR                     print the URL of an initialised cluster
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: devdb start|stop|restart|destroy|url -dir DIR [-port N] [-fast]")
		os.Exit(2)
	}
	cmd := os.Args[1]
	fs := flag.NewFlagSet("devdb "+cmd, flag.ExitOnError)
	dir := fs.String("dir", "", "directory of the cluster")
	port := fs.Int("port", 0, "TCP port on 127.0.0.1 (0: pick a free one)")
	fast := fs.Bool("fast", false, "trade durability for speed (tests, benchmarks)")
	_ = fs.Parse(os.Args[2:])
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "devdb: -dir is required")
		os.Exit(2)
	}
	c, err := newCluster(*dir)
	if err == nil {
		switch cmd {
		case "start":
			err = c.start(*port, *fast)
		case "stop":
			err = c.stop()
		case "restart":
			err = c.restart()
		case "destroy":
			err = c.destroy()
		case "url":
			err = c.printURL()
		default:
			err = fmt.Errorf("unknown command %q", cmd)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "devdb:", err)
		os.Exit(1)
	}
}
