package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// cluster is a throwaway PostgreSQL cluster kept in one directory, DIR:
//
//	DIR/data        the data directory
//	DIR/server.log  the server's output
//	DIR/devdb.port  the settings every start reuses
//
// As root, DIR may be a symlink to a directory under /var/tmp (see prepare).
type cluster struct {
	dir    string // absolute, as requested
	bindir string // found on first use, so that stop and destroy work without a server
	asRoot bool
}

// ownFiles are the only entries destroy removes a directory for, so that a mistyped -dir
// cannot delete someone's files.
var ownFiles = []string{"data", "server.log", "devdb.port"}

func newCluster(dir string) (*cluster, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("dir %s: %w", dir, err)
	}
	return &cluster{dir: abs, asRoot: os.Geteuid() == 0}, nil
}

// root is the directory the files are in: DIR, or the target of its symlink.
func (c *cluster) root() string {
	if p, err := filepath.EvalSymlinks(c.dir); err == nil {
		return p
	}
	return c.dir
}

func (c *cluster) data() string         { return filepath.Join(c.root(), "data") }
func (c *cluster) logFile() string      { return filepath.Join(c.root(), "server.log") }
func (c *cluster) settingsFile() string { return filepath.Join(c.root(), "devdb.port") }

func (c *cluster) initialised() bool {
	_, err := os.Stat(filepath.Join(c.data(), "PG_VERSION"))
	return err == nil
}

// settings are what the server is started with.
type settings struct {
	port int
	fast bool // durability traded for speed
}

// load reads DIR/devdb.port: "PORT fast" or "PORT durable".
func (c *cluster) load() (settings, error) {
	b, err := os.ReadFile(c.settingsFile())
	if err != nil {
		return settings{}, err
	}
	fields := strings.Fields(string(b))
	if len(fields) != 2 {
		return settings{}, fmt.Errorf("%s: want \"PORT fast|durable\", have %q", c.settingsFile(), b)
	}
	port, err := strconv.Atoi(fields[0])
	if err != nil {
		return settings{}, fmt.Errorf("%s: %w", c.settingsFile(), err)
	}
	return settings{port: port, fast: fields[1] == "fast"}, nil
}

func (c *cluster) save(s settings) error {
	speed := "durable"
	if s.fast {
		speed = "fast"
	}
	return os.WriteFile(c.settingsFile(), fmt.Appendf(nil, "%d %s\n", s.port, speed), 0o644)
}

// options are the server's command line, passed through pg_ctl -o and a shell.
func (s settings) options() string {
	// TCP only: the default socket directory, /var/run/postgresql, is not writable by
	// developers, and one inside DIR can exceed the 107-byte limit on socket paths.
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -c unix_socket_directories='' -c max_connections=300", s.port)
	if s.fast {
		opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
	}
	return opts
}

func connURL(port int) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
}

// start initialises the cluster if DIR holds none, starts it unless it is running, and
// prints its URL. A port of 0 and a nil fast keep the cluster's settings.
func (c *cluster) start(port int, fast *bool) error {
	if port < 0 || port > 65535 {
		return fmt.Errorf("start: port %d out of range", port)
	}
	if !c.initialised() {
		if err := c.create(); err != nil {
			return err
		}
	}
	have, err := c.load()
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("start: %w", err)
	}
	want := have
	if port != 0 {
		want.port = port
	}
	if fast != nil {
		want.fast = *fast
	}

	running, err := c.running()
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	if running {
		if have.port == 0 {
			return fmt.Errorf("start: the server is running but %s is missing; stop it and start again", c.settingsFile())
		}
		if want != have {
			return fmt.Errorf("start: already running on port %d (fast: %t); stop it first to change its settings", have.port, have.fast)
		}
		fmt.Println(connURL(have.port))
		return nil
	}

	if want.port == 0 {
		if want.port, err = freePort(); err != nil {
			return fmt.Errorf("start: %w", err)
		}
	} else if err := checkPortFree(want.port); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	if want != have {
		if err := c.save(want); err != nil {
			return fmt.Errorf("start: %w", err)
		}
	}
	fmt.Fprintf(os.Stderr, "devdb: starting PostgreSQL on 127.0.0.1:%d (log: %s)\n", want.port, c.logFile())
	if _, err := c.pg("pg_ctl", "-w", "-t", "60", "-D", c.data(), "-l", c.logFile(),
		"-o", want.options(), "start"); err != nil {
		return fmt.Errorf("start: %w%s", err, c.logTail())
	}
	fmt.Println(connURL(want.port))
	return nil
}

// create runs initdb. DIR must be empty or absent: taking over a directory that holds
// other files would be a surprise, and destroy would refuse to remove it.
func (c *cluster) create() error {
	if err := c.lookBindir(); err != nil {
		return err
	}
	if entries, err := os.ReadDir(c.root()); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s holds files but no cluster; remove it or choose another -dir", c.dir)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := c.prepare(); err != nil {
		return fmt.Errorf("prepare %s: %w", c.dir, err)
	}
	if c.initialised() {
		// prepare relinked a /var/tmp cluster whose symlink had been removed: keep it.
		return nil
	}
	fmt.Fprintf(os.Stderr, "devdb: initialising a new cluster in %s\n", c.dir)
	_, err := c.pg("initdb", "-U", "postgres", "--auth=trust", "--encoding=UTF8",
		"--locale=C.UTF-8", "-D", c.data())
	return err
}

// running asks pg_ctl, which also recognises a postmaster.pid left behind by a crash.
func (c *cluster) running() (bool, error) {
	_, err := c.pg("pg_ctl", "status", "-D", c.data())
	var exit *exec.ExitError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &exit) && exit.ExitCode() == 3:
		return false, nil
	default:
		return false, err
	}
}

func (c *cluster) stop() error {
	if !c.initialised() {
		return nil
	}
	running, err := c.running()
	if err != nil || !running {
		return err
	}
	if _, err := c.pg("pg_ctl", "-w", "-t", "60", "-D", c.data(), "-m", "fast", "stop"); err != nil {
		return fmt.Errorf("stop: %w", err)
	}
	return nil
}

// restart restarts (or starts) the server with its settings and prints its URL.
func (c *cluster) restart() error {
	if !c.initialised() {
		return fmt.Errorf("restart: no cluster in %s", c.dir)
	}
	s, err := c.load()
	if err != nil {
		return fmt.Errorf("restart: %w", err)
	}
	if _, err := c.pg("pg_ctl", "-w", "-t", "60", "-D", c.data(), "-l", c.logFile(), "-m", "fast",
		"-o", s.options(), "restart"); err != nil {
		return fmt.Errorf("restart: %w%s", err, c.logTail())
	}
	fmt.Println(connURL(s.port))
	return nil
}

// destroy stops the server and removes DIR, and the /var/tmp directory it links to.
func (c *cluster) destroy() error {
	if err := c.stop(); err != nil {
		return err
	}
	root := c.root()
	entries, err := os.ReadDir(root)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("destroy: %w", err)
	}
	for _, e := range entries {
		if !slices.Contains(ownFiles, e.Name()) {
			return fmt.Errorf("destroy: %s holds %s, which devdb did not make; remove it yourself", c.dir, e.Name())
		}
	}
	if err := os.RemoveAll(root); err != nil {
		return fmt.Errorf("destroy: %w", err)
	}
	if err := os.Remove(c.dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("destroy: %w", err)
	}
	return nil
}

func (c *cluster) printURL() error {
	if !c.initialised() {
		return fmt.Errorf("url: no cluster in %s", c.dir)
	}
	s, err := c.load()
	if err != nil {
		return fmt.Errorf("url: %w", err)
	}
	fmt.Println(connURL(s.port))
	return nil
}

// logTail returns the end of the server log, which usually says why it did not start.
func (c *cluster) logTail() string {
	b, err := os.ReadFile(c.logFile())
	if err != nil || len(b) == 0 {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	lines = lines[max(0, len(lines)-30):]
	return fmt.Sprintf("\nlast lines of %s:\n%s", c.logFile(), strings.Join(lines, "\n"))
}

// freePort asks the kernel for a port that is free now; a race with another program is
// possible but harmless for a development database.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// checkPortFree turns the server's "could not bind" in the log into a direct message: a
// kept port may have been taken since the cluster was made.
func checkPortFree(port int) error {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("port %d on 127.0.0.1 is in use; choose another with -port", port)
	}
	return ln.Close()
}
