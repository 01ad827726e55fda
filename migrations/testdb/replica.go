package testdb

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/url"
	"os"
	osexec "os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Replica is a streaming replica (hot standby) of the test cluster, made with
// pg_basebackup -R into a directory of its own and listening on a free port of 127.0.0.1.
type Replica struct {
	t      testing.TB
	dir    string // holds data and server.log, owned by the server's user
	bindir string
	port   int
	asRoot bool
}

// dropSlot drops the replication slot once its replica has let go of it (a stopped
// replica's walsender may take a moment to end), so that the primary keeps no WAL for it.
func dropSlot(admin, slot string) {
	for range 50 {
		var dropped bool
		err := queryRow(admin, `SELECT count(pg_drop_replication_slot(slot_name)) > 0 FROM pg_replication_slots
			WHERE slot_name = '`+slot+`' AND NOT active`, &dropped)
		if err == nil && dropped {
			return
		}
		var exists bool
		if err := queryRow(admin, `SELECT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = '`+slot+`')`, &exists); err == nil && !exists {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// NewReplica makes a replica of the cluster REGMO_TEST_DATABASE_URL names and starts it;
// it is stopped and removed when the test ends. It copies the whole cluster, which takes a
// few seconds.
func NewReplica(t testing.TB) *Replica {
	t.Helper()
	admin := adminURL(t)
	bindir, err := serverBindir()
	if err != nil {
		t.Skipf("testdb: replica: %v", err)
	}
	r := &Replica{t: t, bindir: bindir, asRoot: os.Geteuid() == 0}
	// Not t.TempDir: as root, the server's user must own the directory and reach it.
	if r.dir, err = os.MkdirTemp("", "regmo-replica-"); err != nil {
		t.Fatalf("testdb: replica: %v", err)
	}
	// The replica streams through a replication slot of its own, so that the primary keeps
	// the WAL it has not received: without one, a loaded primary recycled WAL the replica
	// still needed, and it never caught up.
	slot := randomName("regmo_replica_")
	t.Cleanup(func() {
		r.Stop()
		_ = os.RemoveAll(r.dir)
		dropSlot(admin, slot)
	})
	if err := r.chownToServer(r.dir); err != nil {
		t.Fatalf("testdb: replica: %v", err)
	}
	// A standby needs at least the primary's max_connections.
	var maxConns string
	if err := queryRow(admin, `SHOW max_connections`, &maxConns); err != nil {
		t.Fatalf("testdb: replica: %v", err)
	}
	if out, err := r.server("pg_basebackup", "-d", admin, "-D", r.data(), "-R", "-X", "stream", "-C", "-S", slot, "-c", "fast", "--no-sync"); err != nil {
		t.Fatalf("testdb: pg_basebackup: %v\n%s", err, out)
	}
	if r.port, err = freePort(); err != nil {
		t.Fatalf("testdb: replica: %v", err)
	}
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -c unix_socket_directories='' -c max_connections=%s "+
		"-c fsync=off -c hot_standby_feedback=on", r.port, maxConns)
	if out, err := r.server("pg_ctl", "-w", "-t", "60", "-D", r.data(), "-l", filepath.Join(r.dir, "server.log"), "-o", opts, "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(r.dir, "server.log"))
		t.Fatalf("testdb: start replica: %v\n%s\n%s", err, out, log)
	}
	return r
}

func (r *Replica) data() string { return filepath.Join(r.dir, "data") }

// URL returns dsn (a database of the test cluster) pointing at the replica.
func (r *Replica) URL(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		r.t.Fatalf("testdb: parse dsn: %v", err)
	}
	u.Host = net.JoinHostPort("127.0.0.1", strconv.Itoa(r.port))
	return u.String()
}

// Exec runs stmt on the replica's database named like dsn's, as the cluster's superuser
// (pg_wal_replay_pause and pg_wal_replay_resume need one).
func (r *Replica) Exec(dsn, stmt string) {
	r.t.Helper()
	if err := exec(context.Background(), r.URL(dsn), stmt); err != nil {
		r.t.Fatalf("testdb: replica: %s: %v", stmt, err)
	}
}

// QueryRow runs query on the replica's database named like dsn's and scans its row.
func (r *Replica) QueryRow(dsn, query string, dest ...any) error {
	return queryRow(r.URL(dsn), query, dest...)
}

// CatchUp commits a transaction on the cluster and waits until the replica has replayed it:
// then the replica has everything committed before, and the time of a replayed commit.
func (r *Replica) CatchUp(dsn string) {
	r.t.Helper()
	// The replica has replayed this transaction when its commit log says committed: a WAL
	// position would not do, since the primary's current one may lie in a page that another
	// session's open transaction keeps from being flushed (and so from being sent) for as long
	// as it runs, which the tests running beside this one do.
	var xid string
	if err := queryRow(dsn, `SELECT pg_current_xact_id()::text`, &xid); err != nil {
		r.t.Fatalf("testdb: a transaction on the primary: %v", err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		var done bool
		err := r.QueryRow(dsn, `SELECT pg_xact_status('`+xid+`'::xid8) = 'committed' AND pg_last_xact_replay_timestamp() IS NOT NULL`, &done)
		if err == nil && done {
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(r.dir, "server.log"))
			r.t.Fatalf("testdb: the replica did not replay transaction %s in 60 s (%v); its log:\n%s", xid, err, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop stops the replica at once (as a crash would), if it runs.
func (r *Replica) Stop() {
	if _, err := os.Stat(filepath.Join(r.data(), "postmaster.pid")); err != nil {
		return
	}
	if out, err := r.server("pg_ctl", "-w", "-t", "60", "-D", r.data(), "-m", "immediate", "stop"); err != nil {
		r.t.Logf("testdb: stop replica: %v\n%s", err, out)
	}
}

// server runs a server binary as the server's user: postgres when we are root.
func (r *Replica) server(name string, args ...string) ([]byte, error) {
	path := filepath.Join(r.bindir, name)
	var cmd *osexec.Cmd
	if r.asRoot {
		runuser, err := osexec.LookPath("runuser")
		if err != nil {
			runuser = "/usr/sbin/runuser"
		}
		cmd = osexec.Command(runuser, append([]string{"-u", "postgres", "--", path}, args...)...) //nolint:gosec // G204: pg_config's bindir and the test's own arguments
	} else {
		cmd = osexec.Command(path, args...) //nolint:gosec // G204: pg_config's bindir and the test's own arguments
	}
	cmd.Dir = "/"
	return cmd.CombinedOutput()
}

func (r *Replica) chownToServer(dir string) error {
	if !r.asRoot {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return os.Chown(dir, uid, gid)
}

// serverBindir finds pg_basebackup and pg_ctl as cmd/devdb finds the server.
func serverBindir() (string, error) {
	if out, err := osexec.Command("pg_config", "--bindir").Output(); err == nil {
		if dir := strings.TrimSpace(string(out)); hasBinary(dir, "pg_basebackup") {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	for i := len(dirs) - 1; i >= 0; i-- {
		if hasBinary(dirs[i], "pg_basebackup") {
			return dirs[i], nil
		}
	}
	if path, err := osexec.LookPath("pg_basebackup"); err == nil {
		return filepath.Dir(path), nil
	}
	return "", fmt.Errorf("pg_basebackup not found")
}

func hasBinary(dir, name string) bool {
	fi, err := os.Stat(filepath.Join(dir, name))
	return err == nil && fi.Mode()&0o111 != 0
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func queryRow(dsn, query string, dest ...any) error {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return db.QueryRowContext(ctx, query).Scan(dest...)
}
