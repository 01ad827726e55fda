// Package harness is what `make bench` (cmd/benchtable) and `make loadtest` (cmd/loadtest)
// share: a throwaway PostgreSQL cluster of cmd/devdb with a migrated regmo database, child
// processes that end with the tool, and small HTTP and SQL helpers. Everything it starts is
// stopped and removed by Close, also after a failure or Ctrl-C (the tools cancel their context
// on SIGINT and SIGTERM and always run Close).
package harness

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Options say where the binaries are and how to run the cluster.
type Options struct {
	// Bin holds regmo, devdb and baseline (make builds them there).
	Bin string
	// Dir is the working directory: the cluster (Dir/pg) and the logs. Empty means a new
	// temporary directory, removed by Close.
	Dir string
	// Fast turns off fsync and synchronous_commit (devdb -fast): fine for measuring code,
	// wrong for testing what survives a restart.
	Fast bool
	// Log receives progress lines.
	Log io.Writer
}

// Env is a running cluster with the database "regmo" migrated, and the processes started in it.
type Env struct {
	Options
	// AdminURL names the cluster's postgres database; DBURL the regmo database.
	AdminURL, DBURL string

	ownDir  bool
	mu      sync.Mutex
	procs   []*Proc
	started bool // the cluster was started, so Close destroys it
}

// Start starts the cluster and migrates the regmo database.
func Start(ctx context.Context, opts Options) (*Env, error) {
	if opts.Log == nil {
		opts.Log = os.Stderr
	}
	e := &Env{Options: opts}
	if e.Dir == "" {
		dir, err := os.MkdirTemp("", "regmo-harness.")
		if err != nil {
			return nil, err
		}
		e.Dir, e.ownDir = dir, true
	}
	// PostgreSQL runs as its own user and must be able to reach the directory.
	if err := os.Chmod(e.Dir, 0o755); err != nil {
		return e, err
	}
	for _, name := range []string{"regmo", "devdb"} {
		if _, err := os.Stat(e.BinPath(name)); err != nil {
			return e, fmt.Errorf("harness: %s is missing: build it first (make bench does)", e.BinPath(name))
		}
	}
	args := []string{"start", "-dir", e.PGDir()}
	if opts.Fast {
		args = append(args, "-fast")
	}
	e.started = true
	out, err := e.run(ctx, nil, e.BinPath("devdb"), args...)
	if err != nil {
		return e, fmt.Errorf("harness: devdb start: %w", err)
	}
	e.AdminURL = strings.TrimSpace(out)
	if err := e.Exec(ctx, e.AdminURL, "CREATE DATABASE regmo"); err != nil {
		return e, err
	}
	u, err := url.Parse(e.AdminURL)
	if err != nil {
		return e, err
	}
	u.Path = "/regmo"
	e.DBURL = u.String()
	if _, err := e.Regmo(ctx, "migrate"); err != nil {
		return e, err
	}
	return e, nil
}

// BinPath is the path of a binary in Bin.
func (e *Env) BinPath(name string) string { return filepath.Join(e.Bin, name) }

// PGDir is the cluster's directory, as devdb takes it.
func (e *Env) PGDir() string { return filepath.Join(e.Dir, "pg") }

// Logf writes one progress line.
func (e *Env) Logf(format string, args ...any) {
	fmt.Fprintf(e.Log, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// run runs a command to its end and returns its stdout; stderr goes into the error.
func (e *Env) run(ctx context.Context, env []string, path string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %s: %w: %s", filepath.Base(path), strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// Regmo runs a regmo command on the database (migrate, user, token, seed).
func (e *Env) Regmo(ctx context.Context, args ...string) (string, error) {
	return e.run(ctx, []string{"DATABASE_URL=" + e.DBURL}, e.BinPath("regmo"), args...)
}

// Devdb runs a devdb command on the cluster (restart, stop, start).
func (e *Env) Devdb(ctx context.Context, command string) (string, error) {
	return e.run(ctx, nil, e.BinPath("devdb"), command, "-dir", e.PGDir())
}

// Token creates a user with the given role (and Ressort) and returns a token of theirs.
func (e *Env) Token(ctx context.Context, name, role, ressort string) (string, error) {
	args := []string{"user", "add", name, "--role", role}
	if ressort != "" {
		args = append(args, "--ressort", ressort)
	}
	if _, err := e.Regmo(ctx, args...); err != nil {
		return "", err
	}
	out, err := e.Regmo(ctx, "token", "issue", name, "--ttl", "6h", "--label", "harness")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(out), nil
}

// Exec runs SQL statements on the database dsn names.
func (e *Env) Exec(ctx context.Context, dsn string, stmts ...string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("harness: connect: %w", err)
	}
	defer conn.Close(context.Background())
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("harness: %.60s: %w", s, err)
		}
	}
	return nil
}

// Proc is a child process running in its own process group, so that stopping it also stops
// whatever it started.
type Proc struct {
	Name string
	Log  string // its stdout and stderr
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// StartProcess starts a long-running child; its output goes to Dir/name.log.
func (e *Env) StartProcess(name string, env []string, path string, args ...string) (*Proc, error) {
	logPath := filepath.Join(e.Dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	// Its own group, so Stop reaches its children; killed with the tool should the tool die
	// without Close.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("harness: start %s: %w", name, err)
	}
	p := &Proc{Name: name, Log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	e.mu.Lock()
	e.procs = append(e.procs, p)
	e.mu.Unlock()
	return p, nil
}

// Pid is the process's id (that of its group too), e.g. to read /proc/PID/status.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop sends SIGTERM to the process group and SIGKILL after grace.
func (p *Proc) Stop(grace time.Duration) error {
	if p.Exited() {
		return nil
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
		return fmt.Errorf("harness: %s did not stop within %s and was killed", p.Name, grace)
	}
}

// Kill ends the process group at once with SIGKILL, as a crash would, and waits for the
// process: no shutdown, no cleanup of its own.
func (p *Proc) Kill() error {
	if p.Exited() {
		return nil
	}
	if err := syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("harness: SIGKILL %s: %w", p.Name, err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("harness: %s outlived SIGKILL", p.Name)
	}
}

// Tail is the end of the process's log, for error messages.
func (p *Proc) Tail(lines int) string {
	data, _ := os.ReadFile(p.Log)
	all := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// Command prepares a short-lived child (a load generator, go test) in its own process
// group: cancelling ctx kills the whole group, so that no grandchild outlives the tool.
func Command(ctx context.Context, path string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// Close stops every process and destroys the cluster, and the directory if Start made it.
func (e *Env) Close() {
	e.mu.Lock()
	procs := e.procs
	e.procs = nil
	e.mu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		if err := procs[i].Stop(10 * time.Second); err != nil {
			e.Logf("%v", err)
		}
	}
	if e.started {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if _, err := e.run(ctx, nil, e.BinPath("devdb"), "destroy", "-dir", e.PGDir()); err != nil {
			e.Logf("cleanup: %v", err)
		}
		e.started = false
	}
	if e.ownDir {
		_ = os.RemoveAll(e.Dir)
	}
}

// FreePort returns a TCP port on 127.0.0.1 that nobody listens on now.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// WaitHTTP polls url until it answers want, the process exits, or timeout passes.
func WaitHTTP(ctx context.Context, p *Proc, rawURL string, header http.Header, want int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: 2 * time.Second}
	var last string
	for time.Now().Before(deadline) {
		if p != nil && p.Exited() {
			return fmt.Errorf("harness: %s exited: %w\n%s", p.Name, p.err, p.Tail(20))
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
		if err != nil {
			return err
		}
		for k, vs := range header {
			req.Header[k] = vs
		}
		resp, err := client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == want {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("harness: %s did not answer %d within %s (last: %s)", rawURL, want, timeout, last)
}

// Machine describes the computer: CPU model, cores and memory.
func Machine() string {
	cpu, cores := "unknown CPU", 0
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			k, v, ok := strings.Cut(sc.Text(), ":")
			if !ok {
				continue
			}
			switch strings.TrimSpace(k) {
			case "model name":
				cpu = strings.TrimSpace(v)
			case "processor":
				cores++
			}
		}
		f.Close()
	}
	mem := ""
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		for _, line := range strings.Split(string(data), "\n") {
			if _, err := fmt.Sscanf(line, "MemTotal: %d kB", &kb); err == nil {
				mem = fmt.Sprintf(", %.0f GiB RAM", float64(kb)/(1<<20))
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d cores%s", cpu, cores, mem)
}

// ErrInterrupted is returned by the tools when SIGINT or SIGTERM stopped them.
var ErrInterrupted = errors.New("interrupted")
