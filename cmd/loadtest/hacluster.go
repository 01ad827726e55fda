package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	osuser "os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bremen/regmo/cmd/internal/harness"
)

// haCluster is the production layout of README's "Production layout" on one machine: etcd
// (one member), two PostgreSQL nodes under Patroni in synchronous mode, and later two regmo
// instances behind HAProxy. Everything listens on 127.0.0.1 and lives in Dir.
type haCluster struct {
	env      *harness.Env
	asRoot   bool
	bindir   string
	etcdPort int
	etcd     *harness.Proc
	nodes    []*pgNode
	// adminURL is the superuser postgres on whichever node is primary; ownerURL the schema
	// owner regmo_owner on the database regmo, as regmo's DATABASE_URL: both multi-host with
	// target_session_attrs=read-write.
	adminURL, ownerURL string
}

// pgNode is one PostgreSQL under its Patroni.
type pgNode struct {
	name            string
	dir             string // dir/data is the data directory (as clusterPIDs takes it)
	pgPort, apiPort int
	patroni         *harness.Proc
	killed          bool
}

func (n *pgNode) api() string { return fmt.Sprintf("http://127.0.0.1:%d", n.apiPort) }

const (
	haScope    = "regmo-ha"
	schemaRole = "regmo_owner"
)

// startHA starts etcd and both Patroni nodes, waits for a leader and its synchronous standby,
// and returns the cluster with the database regmo and its owner made by Patroni's post_bootstrap.
func startHA(ctx context.Context, env *harness.Env) (*haCluster, error) {
	c := &haCluster{env: env, asRoot: os.Geteuid() == 0}
	for _, bin := range []string{"etcd", "patroni"} {
		if _, err := exec.LookPath(bin); err != nil {
			return c, fmt.Errorf("%s is missing: apt-get install etcd-server patroni haproxy (make loadtest-ha does)", bin)
		}
	}
	bindir, err := pgBindir()
	if err != nil {
		return c, err
	}
	c.bindir = bindir
	ports, err := freePorts(6)
	if err != nil {
		return c, err
	}
	c.etcdPort = ports[0]
	if err := c.startEtcd(ctx, ports[1]); err != nil {
		return c, err
	}
	for i := range 2 {
		n := &pgNode{name: fmt.Sprintf("pg%d", i+1), dir: filepath.Join(env.Dir, fmt.Sprintf("pg%d", i+1)),
			pgPort: ports[2+2*i], apiPort: ports[3+2*i]}
		c.nodes = append(c.nodes, n)
	}
	hosts := fmt.Sprintf("127.0.0.1:%d,127.0.0.1:%d", c.nodes[0].pgPort, c.nodes[1].pgPort)
	c.adminURL = "postgres://postgres@" + hosts + "/regmo?sslmode=disable&target_session_attrs=read-write"
	c.ownerURL = "postgres://" + schemaRole + "@" + hosts + "/regmo?sslmode=disable&target_session_attrs=read-write"
	// The first node bootstraps the cluster; the second then clones it with pg_basebackup.
	for i, n := range c.nodes {
		if err := c.startNode(n); err != nil {
			return c, err
		}
		if i == 0 {
			if err := c.waitCluster(ctx, 90*time.Second, func(m []member) bool { return leaderOf(m) != "" }); err != nil {
				return c, err
			}
		}
	}
	err = c.waitCluster(ctx, 120*time.Second, func(m []member) bool {
		for _, x := range m {
			if x.Role == "sync_standby" && (x.State == "streaming" || x.State == "running") {
				return true
			}
		}
		return false
	})
	return c, err
}

// pgBindir is the directory of initdb, pg_ctl and postgres: Debian keeps them off PATH, in
// $(pg_config --bindir) or /usr/lib/postgresql/VERSION/bin (the newest).
func pgBindir() (string, error) {
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dir := strings.TrimSpace(string(out))
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err == nil {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return cmp.Compare(pgMajor(b), pgMajor(a)) })
	for _, dir := range dirs {
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err == nil {
			return dir, nil
		}
	}
	return "", errors.New("PostgreSQL server binaries not found; install the postgresql package")
}

func pgMajor(bindir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(bindir)), 64)
	return v
}

func freePorts(n int) ([]int, error) {
	seen := map[int]bool{}
	var out []int
	for len(out) < n {
		p, err := harness.FreePort()
		if err != nil {
			return nil, err
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out, nil
}

func (c *haCluster) startEtcd(ctx context.Context, peerPort int) error {
	client := fmt.Sprintf("http://127.0.0.1:%d", c.etcdPort)
	peer := fmt.Sprintf("http://127.0.0.1:%d", peerPort)
	p, err := c.env.StartProcess("etcd", nil, "etcd",
		"--name", "etcd1", "--data-dir", filepath.Join(c.env.Dir, "etcd"),
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", "etcd1="+peer, "--initial-cluster-state", "new",
		"--initial-cluster-token", "regmo-loadtest-ha")
	if err != nil {
		return err
	}
	c.etcd = p
	return harness.WaitHTTP(ctx, p, client+"/health", nil, 200, 30*time.Second)
}

// patroniConfig is node n's patroni.yml: a short ttl, loop_wait and retry_timeout, so that
// the leader key of a dead primary expires within 10 s and the synchronous standby takes over.
func (c *haCluster) patroniConfig(n *pgNode) string {
	return fmt.Sprintf(`scope: %[1]s
name: %[2]s
log:
  level: INFO
restapi:
  listen: 127.0.0.1:%[3]d
  connect_address: 127.0.0.1:%[3]d
etcd3:
  hosts: 127.0.0.1:%[4]d
bootstrap:
  dcs:
    ttl: 10
    loop_wait: 1
    retry_timeout: 3
    maximum_lag_on_failover: 1048576
    synchronous_mode: true
    postgresql:
      use_pg_rewind: false
      use_slots: true
      parameters:
        max_connections: 300
        wal_level: replica
        hot_standby: "on"
        max_wal_senders: 10
        max_replication_slots: 10
        wal_keep_size: 256MB
        synchronous_commit: "on"
  initdb:
    - encoding: UTF8
    - locale: C.UTF-8
    - auth: trust
  post_bootstrap: %[5]s
postgresql:
  listen: 127.0.0.1:%[6]d
  connect_address: 127.0.0.1:%[6]d
  data_dir: %[7]s
  bin_dir: %[8]s
  pgpass: %[9]s
  authentication:
    superuser:
      username: postgres
      password: loadtest
    replication:
      username: replicator
      password: loadtest
  # The standby's clone must not wait for a spread checkpoint (minutes).
  basebackup:
    - checkpoint: fast
  pg_hba:
    - local all all trust
    - host all all 127.0.0.1/32 trust
    - host replication replicator 127.0.0.1/32 trust
  parameters:
    unix_socket_directories: %[10]s
    statement_timeout: 0
tags:
  nofailover: false
  noloadbalance: false
  clonefrom: false
  nosync: false
`, haScope, n.name, n.apiPort, c.etcdPort, filepath.Join(c.env.Dir, "post_bootstrap.sh"), n.pgPort,
		filepath.Join(n.dir, "data"), c.bindir, filepath.Join(n.dir, "pgpass"), n.dir)
}

// postBootstrap runs once, on the node that initialises the cluster: the schema owner and its
// database. The owner may create roles, since migration 00005 creates regmo_app.
func (c *haCluster) postBootstrap() string {
	psql := filepath.Join(c.bindir, "psql")
	return fmt.Sprintf(`#!/bin/sh
set -e
%[1]s -v ON_ERROR_STOP=1 "$1" -c "CREATE ROLE %[2]s LOGIN CREATEROLE"
%[1]s -v ON_ERROR_STOP=1 "$1" -c "CREATE DATABASE regmo OWNER %[2]s"
`, psql, schemaRole)
}

func (c *haCluster) startNode(n *pgNode) error {
	if err := c.mkdirOwned(n.dir); err != nil {
		return err
	}
	script := filepath.Join(c.env.Dir, "post_bootstrap.sh")
	if err := os.WriteFile(script, []byte(c.postBootstrap()), 0o755); err != nil {
		return err
	}
	cfg := filepath.Join(c.env.Dir, n.name+".yml")
	if err := os.WriteFile(cfg, []byte(c.patroniConfig(n)), 0o644); err != nil {
		return err
	}
	// env -C /: the postgres user may not enter our working directory, and initdb fails then.
	path, args := "env", []string{"-C", "/", "patroni", cfg}
	if c.asRoot {
		// initdb and postgres refuse to run as root: Patroni runs as postgres (as cmd/devdb
		// runs the server).
		path = "/usr/sbin/runuser"
		if p, err := exec.LookPath("runuser"); err == nil {
			path = p
		}
		args = append([]string{"-u", "postgres", "--", "env"}, args...)
	}
	p, err := c.env.StartProcess("patroni-"+n.name, nil, path, args...)
	if err != nil {
		return err
	}
	n.patroni = p
	// The pid of Patroni itself (runuser's child as root), for make loadtest-ha's trap
	// should this tool die without its cleanup.
	pid := p.Pid()
	deadline := time.Now().Add(5 * time.Second)
	for c.asRoot {
		if kids := childPIDs(pid); len(kids) > 0 {
			pid = kids[0]
			break
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	return os.WriteFile(n.pidFile(), []byte(strconv.Itoa(pid)+"\n"), 0o644)
}

// pidFile holds the pid of the node's Patroni while it runs.
func (n *pgNode) pidFile() string { return n.dir + "-patroni.pid" }

// childPIDs are the processes whose parent is pid.
func childPIDs(pid int) []int {
	var out []int
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, st := range stats {
		b, err := os.ReadFile(st)
		if err != nil {
			continue
		}
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			child, _ := strconv.Atoi(filepath.Base(filepath.Dir(st)))
			out = append(out, child)
		}
	}
	return out
}

// mkdirOwned creates dir for the server user, who must write there.
func (c *haCluster) mkdirOwned(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if !c.asRoot {
		return nil
	}
	u, err := osuser.Lookup("postgres")
	if err != nil {
		return fmt.Errorf("user postgres: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return os.Chown(dir, uid, gid)
}

// member is one row of Patroni's GET /cluster.
type member struct {
	Name     string `json:"name"`
	Role     string `json:"role"`
	State    string `json:"state"`
	Timeline int    `json:"timeline"`
	Lag      any    `json:"lag"`
}

func leaderOf(ms []member) string {
	for _, m := range ms {
		if m.Role == "leader" && m.State == "running" {
			return m.Name
		}
	}
	return ""
}

// members asks the first live node's Patroni REST API for the cluster as the DCS holds it.
func (c *haCluster) members(ctx context.Context) ([]member, error) {
	client := &http.Client{Timeout: time.Second}
	var lastErr error
	for _, n := range c.nodes {
		if n.killed || n.patroni == nil {
			continue
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, n.api()+"/cluster", nil)
		if err != nil {
			return nil, err
		}
		resp, err := client.Do(req)
		if err != nil {
			lastErr = err
			continue
		}
		var body struct {
			Members []member `json:"members"`
		}
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err != nil {
			lastErr = err
			continue
		}
		return body.Members, nil
	}
	if lastErr == nil {
		lastErr = errors.New("no Patroni node is running")
	}
	return nil, lastErr
}

// waitCluster polls GET /cluster until ok holds.
func (c *haCluster) waitCluster(ctx context.Context, timeout time.Duration, ok func([]member) bool) error {
	deadline := time.Now().Add(timeout)
	var last []member
	for time.Now().Before(deadline) {
		for _, n := range c.nodes {
			if n.patroni != nil && !n.killed && n.patroni.Exited() {
				return fmt.Errorf("patroni %s exited:\n%s", n.name, n.patroni.Tail(30))
			}
		}
		if m, err := c.members(ctx); err == nil {
			last = m
			if ok(m) {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("the Patroni cluster did not reach the wanted state within %s (last: %+v)", timeout, last)
}

func (c *haCluster) node(name string) *pgNode {
	for _, n := range c.nodes {
		if n.name == name {
			return n
		}
	}
	return nil
}

// killNode ends node n as a dying machine would: SIGKILL to its Patroni and, at once, to its
// postmaster and every backend. Nothing shuts down, nothing releases the leader key: the
// standby takes over when the key's ttl runs out.
func (c *haCluster) killNode(n *pgNode) error {
	pids, err := clusterPIDs(n.dir)
	if err != nil {
		return fmt.Errorf("node %s: %w", n.name, err)
	}
	n.killed = true
	done := make(chan error, 1)
	go func() { done <- n.patroni.Kill() }()
	for _, pid := range pids {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("SIGKILL %d: %w", pid, err)
		}
	}
	if err := <-done; err != nil {
		return err
	}
	return waitGone(pids)
}

func waitGone(pids []int) error {
	deadline := time.Now().Add(10 * time.Second)
	for _, pid := range pids {
		for syscall.Kill(pid, 0) == nil {
			if time.Now().After(deadline) {
				return fmt.Errorf("PostgreSQL process %d outlived SIGKILL", pid)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return nil
}

// close ends whatever PostgreSQL outlived its Patroni (Patroni starts the postmaster in a
// session of its own, so stopping Patroni's process group does not reach it). Env.Close has
// stopped the processes before.
func (c *haCluster) close() {
	for _, n := range c.nodes {
		_ = os.Remove(n.pidFile())
		pids, err := clusterPIDs(n.dir)
		if err != nil {
			continue
		}
		// postmaster.pid may outlive a killed server; only signal a postgres of ours.
		if comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pids[0])); err != nil || !strings.HasPrefix(string(comm), "postgres") {
			continue
		}
		_ = syscall.Kill(pids[0], syscall.SIGQUIT)
		if waitGone(pids[:1]) != nil {
			for _, pid := range pids {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
}
