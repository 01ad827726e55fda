package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// cluster is a PostgreSQL data directory with the settings it was started with.
type cluster struct {
	dir    string // as requested, maybe a symlink
	bindir string
	asRoot bool
}

func newCluster(dir string) (*cluster, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	bindir, err := findBindir()
	if err != nil {
		return nil, err
	}
	return &cluster{dir: abs, bindir: bindir, asRoot: os.Geteuid() == 0}, nil
}

// findBindir locates initdb: pg_config's bindir, else Debian's newest versioned directory,
// else PATH.
func findBindir() (string, error) {
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dir := strings.TrimSpace(string(out))
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err == nil {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("PostgreSQL server binaries not found; install the postgresql package (apt-get install postgresql)")
}

func version(bindir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(bindir)))
	return v
}

// real is the directory the server sees: the symlink's target when prepare made one, since
// the postgres user may not traverse the requested path.
func (c *cluster) real() string {
	if p, err := filepath.EvalSymlinks(c.dir); err == nil {
		return p
	}
	return c.dir
}

func (c *cluster) data() string     { return filepath.Join(c.real(), "data") }
func (c *cluster) portFile() string { return filepath.Join(c.real(), "devdb.port") }
func (c *cluster) logFile() string  { return filepath.Join(c.real(), "server.log") }

// run executes a server binary, as the postgres user when we are root.
func (c *cluster) run(name string, args ...string) ([]byte, error) {
	bin := filepath.Join(c.bindir, name)
	var cmd *exec.Cmd
	if c.asRoot {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", bin}, args...)...)
	} else {
		cmd = exec.Command(bin, args...)
	}
	cmd.Dir = "/"
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.Bytes(), err
}

func (c *cluster) initialised() bool {
	_, err := os.Stat(filepath.Join(c.data(), "PG_VERSION"))
	return err == nil
}

// prepare creates the directory so that the server user owns it. As root, a directory the
// postgres user cannot reach (a clone under /root) is placed under /var/tmp behind a symlink.
func (c *cluster) prepare() error {
	if !c.asRoot {
		return os.MkdirAll(c.dir, 0o700)
	}
	if err := os.MkdirAll(filepath.Dir(c.dir), 0o755); err != nil {
		return err
	}
	if _, err := os.Lstat(c.dir); err == nil {
		return chownPostgres(c.dir)
	}
	if exec.Command("runuser", "-u", "postgres", "--", "test", "-w", filepath.Dir(c.dir)).Run() == nil ||
		exec.Command("runuser", "-u", "postgres", "--", "test", "-x", filepath.Dir(c.dir)).Run() == nil {
		if err := os.MkdirAll(c.dir, 0o700); err != nil {
			return err
		}
		return chownPostgres(c.dir)
	}
	sum := sha256.Sum256([]byte(c.dir))
	target := "/var/tmp/regmo-pg-" + hex.EncodeToString(sum[:6])
	if err := os.MkdirAll(target, 0o700); err != nil {
		return err
	}
	if err := chownPostgres(target); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "devdb: postgres cannot reach %s; keeping the cluster in %s\n", c.dir, target)
	return os.Symlink(target, c.dir)
}

func chownPostgres(path string) error {
	u, err := user.Lookup("postgres")
	if err != nil {
		return fmt.Errorf("user postgres: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return os.Chown(path, uid, gid)
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// settings reads the port and speed the cluster was created with.
func (c *cluster) settings() (port int, fast bool, err error) {
	data, err := os.ReadFile(c.portFile())
	if err != nil {
		return 0, false, fmt.Errorf("no cluster in %s", c.dir)
	}
	fields := strings.Fields(string(data))
	if len(fields) == 0 {
		return 0, false, fmt.Errorf("%s is empty", c.portFile())
	}
	port, err = strconv.Atoi(fields[0])
	return port, len(fields) > 1 && fields[1] == "fast", err
}

func (c *cluster) url(port int) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
}

func (c *cluster) running() bool {
	_, err := c.run("pg_ctl", "status", "-D", c.data())
	return err == nil
}

func (c *cluster) options(port int, fast bool) string {
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -c unix_socket_directories='' -c max_connections=300", port)
	if fast {
		opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
	}
	return opts
}

func (c *cluster) start(port int, fast bool) error {
	if !c.initialised() {
		if err := c.prepare(); err != nil {
			return fmt.Errorf("prepare %s: %w", c.dir, err)
		}
		if out, err := c.run("initdb", "-U", "postgres", "--auth=trust", "--encoding=UTF8",
			"--locale=C.UTF-8", "-D", c.data()); err != nil {
			return fmt.Errorf("initdb: %w\n%s", err, out)
		}
		if port == 0 {
			p, err := freePort()
			if err != nil {
				return err
			}
			port = p
		}
		speed := "durable"
		if fast {
			speed = "fast"
		}
		if err := os.WriteFile(c.portFile(), []byte(fmt.Sprintf("%d %s\n", port, speed)), 0o644); err != nil {
			return err
		}
	}
	port, fast, err := c.settings()
	if err != nil {
		return err
	}
	if !c.running() {
		if c.asRoot {
			// The log file sits beside the data directory, which postgres owns.
			_ = chownPostgres(c.real())
		}
		if out, err := c.run("pg_ctl", "-w", "-t", "60", "-D", c.data(), "-l", c.logFile(),
			"-o", c.options(port, fast), "start"); err != nil {
			return fmt.Errorf("pg_ctl start: %w\n%s\n%s", err, out, c.logTail())
		}
	}
	fmt.Println(c.url(port))
	return nil
}

func (c *cluster) logTail() string {
	data, _ := os.ReadFile(c.logFile())
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return strings.Join(lines, "\n")
}

func (c *cluster) stop() error {
	if !c.initialised() || !c.running() {
		return nil
	}
	if out, err := c.run("pg_ctl", "-w", "-D", c.data(), "-m", "fast", "stop"); err != nil {
		return fmt.Errorf("pg_ctl stop: %w\n%s", err, out)
	}
	return nil
}

func (c *cluster) restart() error {
	port, fast, err := c.settings()
	if err != nil {
		return err
	}
	if out, err := c.run("pg_ctl", "-w", "-t", "60", "-D", c.data(), "-l", c.logFile(), "-m", "fast",
		"-o", c.options(port, fast), "restart"); err != nil {
		return fmt.Errorf("pg_ctl restart: %w\n%s", err, out)
	}
	return nil
}

func (c *cluster) destroy() error {
	if err := c.stop(); err != nil {
		return err
	}
	if target, err := os.Readlink(c.dir); err == nil {
		if err := os.RemoveAll(target); err != nil {
			return err
		}
	}
	return os.RemoveAll(c.dir)
}

func (c *cluster) printURL() error {
	port, _, err := c.settings()
	if err != nil {
		return err
	}
	fmt.Println(c.url(port))
	return nil
}
