package main

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// errNoServer tells the developer what to install.
var errNoServer = errors.New("PostgreSQL server binaries not found; install the postgresql package (apt-get install postgresql)")

// findBindir returns the directory holding initdb, pg_ctl and postgres. Debian keeps them in
// /usr/lib/postgresql/VERSION/bin, off PATH, so pg_config and that directory come first.
func findBindir() (string, error) {
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		if dir := strings.TrimSpace(string(out)); hasInitdb(dir) {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return cmp.Compare(pgVersion(b), pgVersion(a)) })
	for _, dir := range dirs {
		if hasInitdb(dir) {
			return dir, nil
		}
	}
	if path, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(path), nil
	}
	return "", errNoServer
}

func hasInitdb(dir string) bool {
	fi, err := os.Stat(filepath.Join(dir, "initdb"))
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// pgVersion orders /usr/lib/postgresql/VERSION/bin directories; a float also orders 9.6 < 10.
func pgVersion(bindir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(bindir)), 64)
	return v
}

// asServerUser returns a command running as the user the server runs as: postgres when we
// are root, since initdb and postgres refuse to run as root, and ourselves otherwise.
func (c *cluster) asServerUser(name string, args ...string) *exec.Cmd {
	var cmd *exec.Cmd
	if c.asRoot {
		cmd = exec.Command(runuser(), append([]string{"-u", "postgres", "--", name}, args...)...)
	} else {
		cmd = exec.Command(name, args...)
	}
	// The postgres user may be unable to enter our working directory, and initdb fails then.
	cmd.Dir = "/"
	return cmd
}

// runuser finds runuser, which lives in an sbin directory that a root shell may not have
// on PATH.
func runuser() string {
	if path, err := exec.LookPath("runuser"); err == nil {
		return path
	}
	return "/usr/sbin/runuser"
}

// lookBindir finds the server binaries once, and before anything is created for a cluster
// that could not run.
func (c *cluster) lookBindir() error {
	if c.bindir != "" {
		return nil
	}
	dir, err := findBindir()
	c.bindir = dir
	return err
}

// pg runs a server binary (initdb, pg_ctl) and returns its combined output. The error
// carries the output, which is all there is to explain a failure.
func (c *cluster) pg(name string, args ...string) ([]byte, error) {
	if err := c.lookBindir(); err != nil {
		return nil, err
	}
	out, err := c.asServerUser(filepath.Join(c.bindir, name), args...).CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%s: %w\n%s", name, err, strings.TrimSpace(string(out)))
	}
	return out, nil
}

// reachable reports whether the server user can enter dir, which needs search permission
// on every ancestor; a clone under /root (mode 700) is where it cannot.
func (c *cluster) reachable(dir string) (bool, error) {
	if !c.asRoot {
		return true, nil
	}
	err := c.asServerUser("test", "-x", dir).Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 1 {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("runuser -u postgres -- test -x %s: %w", dir, err)
	}
	return true, nil
}

// mkdirOwned creates dir if needed and gives it to the server user, who must write there.
func (c *cluster) mkdirOwned(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if !c.asRoot {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return fmt.Errorf("user postgres: %w", err)
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return fmt.Errorf("user postgres: uid %q: %w", u.Uid, err)
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return fmt.Errorf("user postgres: gid %q: %w", u.Gid, err)
	}
	return os.Chown(dir, uid, gid)
}

// fallback is where the cluster lives when the postgres user cannot reach DIR; named after
// DIR so that each requested directory gets its own and finds it again.
func (c *cluster) fallback() string {
	sum := sha256.Sum256([]byte(c.dir))
	return "/var/tmp/regmo-pg-" + hex.EncodeToString(sum[:6])
}

// prepare makes DIR a directory the server user owns and can reach. As root, when the
// postgres user cannot reach DIR, the directory is made under /var/tmp instead and DIR
// becomes a symlink to it.
func (c *cluster) prepare() error {
	if link, err := os.Readlink(c.dir); err == nil && link == c.fallback() {
		// Made by an earlier start; /var/tmp may have been cleaned since.
		return c.mkdirOwned(link)
	}
	dir := c.root()
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	ok, err := c.reachable(filepath.Dir(dir))
	if err != nil {
		return err
	}
	if ok {
		return c.mkdirOwned(dir)
	}
	// The caller checked that DIR is empty or absent, so only an empty directory goes.
	if err := os.Remove(c.dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	target := c.fallback()
	fmt.Fprintf(os.Stderr, "devdb: the postgres user cannot reach %s; keeping the cluster in %s\n", c.dir, target)
	if err := c.mkdirOwned(target); err != nil {
		return err
	}
	return os.Symlink(target, c.dir)
}
