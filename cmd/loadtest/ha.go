package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bremen/regmo/cmd/internal/harness"
)

// instance is one regmo serve of the failover test.
type instance struct {
	name       string
	addr, base string
	metricsURL string
	proc       *harness.Proc
}

// importReport is what became of the big import sent to the instance that is killed.
type importReport struct {
	rows                int
	start, killedAt     time.Time
	status              int    // 0: no answer (the instance died)
	answerErr           string // the transport error
	killedDuring        string // the import's statement when the instance was killed
	entries, versions   int64  // rows of the import in the database afterwards
	answeredBeforeKill  bool
	statementSeen, done bool
}

func (r importReport) allOrNothing() bool {
	n := int64(r.rows)
	return (r.entries == 0 && r.versions == 0) || (r.entries == n && r.versions == n)
}

// runHA is make loadtest-ha: the mixed traffic through HAProxy to two regmo instances on a
// Patroni cluster of two PostgreSQL nodes (synchronous mode), the primary killed in the middle
// and later one regmo instance killed during a big import.
func runHA(ctx context.Context, cfg config) (bool, error) {
	dir, own := cfg.dir, false
	if dir == "" {
		d, err := os.MkdirTemp("", "regmo-loadtest-ha.")
		if err != nil {
			return false, err
		}
		dir, own = d, true
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, err
	}
	// PostgreSQL runs as its own user and must be able to reach the directory.
	if err := os.Chmod(dir, 0o755); err != nil {
		return false, err
	}
	env := &harness.Env{Options: harness.Options{Bin: cfg.bin, Dir: dir, Log: os.Stderr}}
	var cl *haCluster
	defer func() {
		env.Close()
		if cl != nil {
			cl.close()
		}
		if own {
			_ = os.RemoveAll(dir)
		}
	}()
	if _, err := os.Stat(env.BinPath("regmo")); err != nil {
		return false, fmt.Errorf("%s is missing: build it first (make loadtest-ha does)", env.BinPath("regmo"))
	}
	cl, err := startHA(ctx, env)
	if err != nil {
		return false, err
	}
	env.DBURL = cl.ownerURL
	ms, _ := cl.members(ctx)
	env.Logf("etcd at 127.0.0.1:%d; Patroni cluster %s: %s", cl.etcdPort, haScope, describeMembers(ms))
	if _, err := env.Regmo(ctx, "migrate"); err != nil {
		return false, err
	}
	users, err := createUsers(ctx, env)
	if err != nil {
		return false, err
	}

	// Two regmo instances and HAProxy in front of them.
	var instances []*instance
	for _, name := range []string{"regmo-a", "regmo-b"} {
		ports, err := freePorts(2)
		if err != nil {
			return false, err
		}
		in := &instance{name: name, addr: fmt.Sprintf("127.0.0.1:%d", ports[0]),
			metricsURL: fmt.Sprintf("http://127.0.0.1:%d/metrics", ports[1])}
		in.base = "http://" + in.addr
		in.proc, err = env.StartProcess(name, []string{
			"DATABASE_URL=" + cl.ownerURL, "REGMO_MIGRATE=false", "REGMO_NOTIFY=false", "REGMO_TRUSTED_PROXIES=127.0.0.1",
			"REGMO_ADDR=" + in.addr, fmt.Sprintf("REGMO_METRICS_ADDR=127.0.0.1:%d", ports[1]),
		}, env.BinPath("regmo"), "serve")
		if err != nil {
			return false, err
		}
		if err := harness.WaitHTTP(ctx, in.proc, in.base+"/readyz", nil, 200, 30*time.Second); err != nil {
			return false, err
		}
		instances = append(instances, in)
	}
	survivor, victim := instances[0], instances[1]
	base, haproxy, err := startHAProxy(ctx, env, []string{survivor.addr, victim.addr})
	if err != nil {
		return false, err
	}
	if err := seed(ctx, base, users[0], cfg.perRessort); err != nil {
		return false, err
	}
	env.Logf("HAProxy at %s → %s (%s), %s (%s); %d users, %d registers and %d Onlinedienste imported",
		base, survivor.name, survivor.addr, victim.name, victim.addr, len(users), len(ressorts)*cfg.perRessort, len(ressorts)*onlinedienstePerRessort)

	// The idle level of the instance that survives, after a short warm-up.
	tr := newTraffic(base, users, cfg.workers, cfg.regmoRequestLimit)
	tr.run(ctx, 2*time.Second, 50, 4, cfg.perRessort)
	tr.client.CloseIdleConnections()
	time.Sleep(3 * time.Second)
	idle, err := scrape(ctx, survivor.metricsURL)
	if err != nil {
		return false, err
	}
	tr = newTraffic(base, users, cfg.workers, cfg.regmoRequestLimit)

	importAt := cfg.importAt
	if importAt == 0 {
		importAt = cfg.duration * 6 / 10
	}
	env.Logf("traffic: %s at %d req/s (at most %d in flight) through HAProxy; the primary is killed at +%s, %s during an import of %d registers from +%s",
		cfg.duration, cfg.rate, cfg.workers, cfg.restartAt, victim.name, cfg.importRows, importAt)
	pollCtx, stopPolls := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var ready, database []sample
	wg.Add(2)
	go func() { defer wg.Done(); ready = pollReady(pollCtx, base, 50*time.Millisecond) }()
	go func() { defer wg.Done(); database = pollDatabase(pollCtx, cl.adminURL, 25*time.Millisecond) }()
	start := time.Now()
	var fo failover
	var imp importReport
	var faultErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		if !sleepCtx(ctx, cfg.restartAt) {
			return
		}
		if fo, faultErr = killPrimary(ctx, env, cl); faultErr != nil {
			return
		}
		if !sleepCtx(ctx, time.Until(start.Add(importAt))) {
			return
		}
		imp, faultErr = importAndKill(ctx, env, cl, victim, users[0], cfg.importRows)
	}()
	skipped := tr.run(ctx, cfg.duration, cfg.rate, cfg.workers, cfg.perRessort)
	trafficEnd := time.Now()
	time.Sleep(500 * time.Millisecond)
	stopPolls()
	wg.Wait()
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if faultErr != nil {
		return false, faultErr
	}
	env.Logf("traffic done: %d requests", len(tr.results))

	// The import's rows, the acknowledged writes and the survivor's idle level, all on the
	// primary now.
	if err := countImport(ctx, cl.adminURL, &imp); err != nil {
		return false, err
	}
	tr.client.CloseIdleConnections()
	settled, settleTime, activity, err := settle(ctx, cfg, survivor.metricsURL, cl.adminURL, idle)
	if err != nil {
		return false, err
	}
	wr, err := verifyWrites(ctx, cl.adminURL, tr.acks)
	if err != nil {
		return false, err
	}
	for _, k := range tr.acks {
		switch {
		case k.at.Before(fo.killedAt):
			wr.before++
		case k.at.After(fo.newLeaderAt):
			wr.after++
		}
	}
	panicsA, errorsA := scanLog(survivor.proc.Log)
	panicsB, errorsB := scanLog(victim.proc.Log)
	msAfter, _ := cl.members(ctx)

	a := analyseHA(cfg, tr.results, database, fo, imp)
	readyOutage, readyFrom := longestOutage(ready)
	fmt.Println()
	fmt.Printf("Failover load test: %s of traffic at %d req/s through HAProxy to 2 regmo instances, %d users, %d registers; "+
		"PostgreSQL primary + synchronous standby under Patroni (etcd), fsync on\n", trafficEnd.Sub(start).Round(time.Second),
		cfg.rate, len(users), len(ressorts)*cfg.perRessort)
	fmt.Printf("Faults: primary %s killed (SIGKILL: Patroni, postmaster, backends) at +%s; %s killed (SIGKILL) at +%s during an import of %d registers\n\n",
		fo.oldLeader, fo.killedAt.Sub(start).Round(100*time.Millisecond), victim.name, nonZero(imp.killedAt, start), imp.rows)
	a.printTable(os.Stdout, start)
	fmt.Println()
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	line := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	line("new leader (Patroni /cluster)", fmt.Sprintf("%s after %s (was %s); now: %s", fo.newLeader, fo.newLeaderAt.Sub(fo.killedAt).Round(100*time.Millisecond), fo.oldLeader, describeMembers(msAfter)))
	line("no read-write primary (probe every 25 ms)", fmt.Sprintf("%s (from +%s to +%s)", a.dbBack.Sub(a.dbDown).Round(time.Millisecond), nonZero(a.dbDown, start), nonZero(a.dbBack, start)))
	line("replication at the kill (pg_stat_replication)", fo.replication)
	line("node gone (all its processes) after", fo.deadAt.Sub(fo.killedAt).Round(time.Millisecond).String())
	line("kill → first 2xx of a write (PATCH sent after the node was gone)", a.writeBackText())
	line("kill → first 2xx of any request (sent after the node was gone)", a.anyBackText())
	line("longest HAProxy /readyz not 200 (poll every 50 ms)", fmt.Sprintf("%s (from +%s)", readyOutage.Round(time.Millisecond), nonZero(readyFrom, start)))
	line("regmo's 503 answers: slowest", a.slowest503.Round(time.Millisecond).String())
	line("HAProxy's own answers", a.proxyText())
	line("latency p50 / p99 / max (all)", fmt.Sprintf("%s / %s / %s", a.p50.Round(10*time.Microsecond), a.p99.Round(10*time.Microsecond), a.max.Round(time.Millisecond)))
	line("ticks skipped (all workers busy)", strconv.Itoa(skipped))
	line("acknowledged writes", fmt.Sprintf("%d on %d entries (%d before the kill, %d after the new leader); %d checked on the new primary", len(tr.acks), wr.keys, wr.before, wr.after, wr.checked))
	line("lost writes", strconv.Itoa(len(wr.lost)))
	line("committed without a 2xx (version beyond the last ack)", strconv.Itoa(wr.unacked))
	line("import", imp.text())
	line("import rows in the database", fmt.Sprintf("%d entries, %d entry_versions of %d", imp.entries, imp.versions, imp.rows))
	line(survivor.name+": goroutines idle → after", fmt.Sprintf("%.0f → %.0f (settled after %s)", idle["go_goroutines"], settled["go_goroutines"], settleTime.Round(100*time.Millisecond)))
	line(survivor.name+": pool open / in use / idle after", fmt.Sprintf("%.0f / %.0f / %.0f (before: %.0f open)", settled[sqlOpen], settled[sqlInUse], settled[sqlIdle], idle[sqlOpen]))
	line("regmo backends on the new primary", fmt.Sprintf("%d of the pool (%d not idle), %d of the watch", activity.total, activity.busy, activity.watch))
	line("regmo logs", fmt.Sprintf("%s: %d panic(s), %d error line(s); %s: %d panic(s), %d error line(s)", survivor.name, panicsA, errorsA, victim.name, panicsB, errorsB))
	tw.Flush()

	checks := []check{
		{"the primary was seen away and a new one elected", !a.noOutage && fo.newLeader != "" && fo.newLeader != fo.oldLeader, fmt.Sprintf("old %s, new %q", fo.oldLeader, fo.newLeader)},
		{"the standby was synchronous when the primary died", fo.synchronous, fo.replication},
		{"no 500 and no other 5xx of regmo than 503", a.bad5xx == 0, fmt.Sprintf("%d (%s)", a.bad5xx, a.badCodes())},
		{"regmo's 503s only while there was no primary", a.outside503 == 0, fmt.Sprintf("%d outside (window: the kill until %s after the new primary)", a.outside503, cfg.recoveryLimit)},
		{"HAProxy's own 503s (no instance ready) only while there was no primary", a.proxyOutside == 0, fmt.Sprintf("%d outside", a.proxyOutside)},
		{"no 502/504 of HAProxy (an instance broke off an answer)", a.proxyOther == 0, fmt.Sprintf("%d", a.proxyOther)},
		{"every 4xx/5xx is a problem+json body", a.notProblem == 0, fmt.Sprintf("%d without", a.notProblem)},
		{"no request without an answer, none slower than " + cfg.hangLimit.String(), a.transport == 0 && a.hangs == 0, fmt.Sprintf("%d without answer, %d slow", a.transport, a.hangs)},
		{"503s fail fast (≤ " + cfg.failFastLimit.String() + ")", a.slowest503 <= cfg.failFastLimit, a.slowest503.String()},
		{"service back (first 2xx of a write) within " + cfg.failoverLimit.String() + " of the kill", a.writeBack > 0 && a.writeBack <= cfg.failoverLimit, a.writeBackText()},
		{"0 lost writes", len(wr.lost) == 0, strings.Join(first(wr.lost, 5), "; ")},
		{"writes were acknowledged before the kill and after the new leader", wr.before > 0 && wr.after > 0, fmt.Sprintf("%d before, %d after", wr.before, wr.after)},
		{victim.name + " was killed while the import's transaction was open", imp.statementSeen && !imp.answeredBeforeKill, imp.text()},
		{"the import all or nothing", imp.allOrNothing() && (imp.status != http.StatusOK || imp.entries == int64(imp.rows)),
			fmt.Sprintf("%d entries, %d versions of %d", imp.entries, imp.versions, imp.rows)},
		{survivor.name + ": goroutines back to the idle level (+" + strconv.Itoa(cfg.goroutineSlack) + ")", settled["go_goroutines"] <= idle["go_goroutines"]+float64(cfg.goroutineSlack),
			fmt.Sprintf("%.0f → %.0f", idle["go_goroutines"], settled["go_goroutines"])},
		{survivor.name + ": no request in flight, no connection in use", settled[inFlight] == 0 && settled[sqlInUse] == 0, ""},
		{"pg_stat_activity on the new primary: every regmo backend idle and owned by the pool, plus the watch's one", activity.settled(settled[sqlOpen]),
			fmt.Sprintf("%d backends, pool has %.0f open; %d of the watch", activity.total, settled[sqlOpen], activity.watch)},
		{survivor.name + " and HAProxy still running, no panic", !survivor.proc.Exited() && !haproxy.Exited() && panicsA+panicsB == 0, ""},
	}
	allOK := printChecks(checks)
	if !allOK {
		fmt.Printf("\nlogs (regmo, patroni, haproxy, etcd) kept in %s\n", env.Dir)
		for _, b := range a.firstBad {
			fmt.Println("unexpected answer:", b)
		}
		// Keep the logs: nothing removes a directory the caller named.
		own = false
	}
	return allOK, nil
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

func describeMembers(ms []member) string {
	var parts []string
	for _, m := range ms {
		parts = append(parts, fmt.Sprintf("%s %s (%s, timeline %d)", m.Name, m.Role, m.State, m.Timeline))
	}
	if len(parts) == 0 {
		return "–"
	}
	return strings.Join(parts, ", ")
}

// failover is the primary's death and its successor.
type failover struct {
	oldLeader, newLeader string
	replication          string // the primary's pg_stat_replication just before the kill
	synchronous          bool   // a standby was streaming with sync_state sync
	// killedAt is when the kill began, deadAt when every process of the node was gone (a
	// request sent between the two may still have been served by the old primary).
	killedAt, deadAt, newLeaderAt time.Time
}

// killPrimary kills the node Patroni names leader and waits for the new one.
func killPrimary(ctx context.Context, env *harness.Env, cl *haCluster) (failover, error) {
	var fo failover
	ms, err := cl.members(ctx)
	if err != nil {
		return fo, fmt.Errorf("patroni /cluster: %w", err)
	}
	fo.oldLeader = leaderOf(ms)
	n := cl.node(fo.oldLeader)
	if n == nil {
		return fo, fmt.Errorf("no leader in %s", describeMembers(ms))
	}
	conn, err := pgx.Connect(ctx, cl.adminURL)
	if err != nil {
		return fo, fmt.Errorf("primary: %w", err)
	}
	var names string
	err = conn.QueryRow(ctx, `SELECT current_setting('synchronous_standby_names'),
		coalesce(string_agg(application_name || ' ' || state || ' ' || sync_state, ', '), 'no standby'),
		coalesce(bool_or(state = 'streaming' AND sync_state = 'sync'), false)
		FROM pg_stat_replication`).Scan(&names, &fo.replication, &fo.synchronous)
	conn.Close(context.Background())
	if err != nil {
		return fo, fmt.Errorf("primary: pg_stat_replication: %w", err)
	}
	fo.replication = fmt.Sprintf("synchronous_standby_names %q; %s", names, fo.replication)
	env.Logf("killing the primary %s (SIGKILL to Patroni, the postmaster and every backend); the cluster: %s", n.name, describeMembers(ms))
	fo.killedAt = time.Now()
	if err := cl.killNode(n); err != nil {
		return fo, err
	}
	fo.deadAt = time.Now()
	err = cl.waitCluster(ctx, 60*time.Second, func(m []member) bool {
		l := leaderOf(m)
		if l != "" && l != fo.oldLeader {
			fo.newLeader = l
			return true
		}
		return false
	})
	fo.newLeaderAt = time.Now()
	if err != nil {
		return fo, err
	}
	env.Logf("%s is the new leader, %s after the kill", fo.newLeader, fo.newLeaderAt.Sub(fo.killedAt).Round(100*time.Millisecond))
	return fo, nil
}

// importCSV is a CSV of n new registers of the SF, keyed ha-import-NNNNN.
func importCSV(n int) []byte {
	var b bytes.Buffer
	b.WriteString("ressort,key,name,description,idnr_stage,noots_stage\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "SF,ha-import-%05d,Failover-Import %d,Ein Register des Failover-Lasttests,planned,not_started\n", i, i)
	}
	return b.Bytes()
}

// importAndKill sends a big CSV import straight to the victim instance and SIGKILLs that
// instance as soon as PostgreSQL shows the import's COPY: in the middle of its transaction.
func importAndKill(ctx context.Context, env *harness.Env, cl *haCluster, victim *instance, admin user, rows int) (importReport, error) {
	r := importReport{rows: rows}
	watch, err := pgx.Connect(ctx, cl.adminURL)
	if err != nil {
		return r, fmt.Errorf("import watch: %w", err)
	}
	defer watch.Close(context.Background())
	body := importCSV(rows)
	answered := make(chan struct{})
	go func() {
		defer close(answered)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, victim.base+"/v1/import?kind=registers", bytes.NewReader(body))
		if err != nil {
			r.answerErr = err.Error()
			return
		}
		req.Header.Set("Authorization", "Bearer "+admin.token)
		req.Header.Set("Content-Type", "text/csv")
		resp, err := (&http.Client{Timeout: 2 * time.Minute}).Do(req)
		if err != nil {
			r.answerErr = err.Error()
			return
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		r.status = resp.StatusCode
		if resp.StatusCode != http.StatusOK {
			r.answerErr = fmt.Sprintf("%.300s", data)
		}
	}()
	env.Logf("importing %d registers (%d KiB of CSV) through %s directly", rows, len(body)>>10, victim.name)
	r.start = time.Now()
	deadline := r.start.Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-answered:
			r.answeredBeforeKill, r.done = true, true
		default:
		}
		if r.done {
			break
		}
		var q string
		err := watch.QueryRow(ctx, `SELECT coalesce(max(left(query, 80)), '') FROM pg_stat_activity
			WHERE application_name = 'regmo' AND state = 'active' AND xact_start IS NOT NULL AND
				(query ILIKE 'COPY %' OR query ILIKE '%import_rows%')`).Scan(&q)
		if err != nil {
			return r, fmt.Errorf("import watch: %w", err)
		}
		if q != "" {
			r.statementSeen, r.killedDuring = true, q
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	r.killedAt = time.Now()
	env.Logf("killing %s (SIGKILL) %s after the import began, during: %s", victim.name, r.killedAt.Sub(r.start).Round(time.Millisecond), orDash(r.killedDuring))
	if err := victim.proc.Kill(); err != nil {
		return r, err
	}
	select {
	case <-answered:
	case <-time.After(30 * time.Second):
		return r, fmt.Errorf("the import's request did not end after %s was killed", victim.name)
	}
	return r, nil
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

func (r importReport) text() string {
	switch {
	case r.answeredBeforeKill:
		return fmt.Sprintf("answered %d before the kill (%s): the kill came too late", r.status, orDash(r.answerErr))
	case !r.statementSeen:
		return "the import's COPY was never seen; killed after the timeout"
	case r.status != 0:
		return fmt.Sprintf("killed %s after the start, during %q; it answered %d", r.killedAt.Sub(r.start).Round(time.Millisecond), r.killedDuring, r.status)
	}
	return fmt.Sprintf("killed %s after the start, during %q; the client saw: %s", r.killedAt.Sub(r.start).Round(time.Millisecond), r.killedDuring, orDash(r.answerErr))
}

// countImport counts the import's rows on the primary.
func countImport(ctx context.Context, dsn string, r *importReport) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM entries WHERE ressort = 'SF' AND key LIKE 'ha-import-%'),
		(SELECT count(*) FROM entry_versions WHERE ressort = 'SF' AND key LIKE 'ha-import-%')`).Scan(&r.entries, &r.versions)
}

// ---- analysis ----

type haAnalysis struct {
	dbDown, dbBack, windowEnd time.Time
	noOutage                  bool
	writeBack, anyBack        time.Duration
	tally
	codes                    map[int]int // regmo's 5xx by status
	proxy                    map[string]int
	bad5xx, outside503       int
	proxyOutside, proxyOther int
	notProblem, transport    int
	slowest503, p50, p99     time.Duration
	firstBad                 []string
	killAt, regmoKillAt      time.Time
}

const (
	phaseFailover  = "failover window"
	phaseRegmoKill = "regmo killed (+5 s)"
	phaseOther     = "otherwise"
)

func analyseHA(cfg config, results []result, database []sample, fo failover, imp importReport) *haAnalysis {
	a := &haAnalysis{tally: newTally(), codes: map[int]int{},
		proxy: map[string]int{}, killAt: fo.killedAt, regmoKillAt: imp.killedAt}
	for i, s := range database {
		if s.at.Before(fo.killedAt) || s.ok {
			continue
		}
		a.dbDown = s.at
		for _, t := range database[i+1:] {
			if t.ok {
				a.dbBack = t.end
				break
			}
		}
		break
	}
	if a.dbDown.IsZero() {
		a.noOutage, a.dbDown = true, fo.killedAt
	}
	if a.dbBack.IsZero() {
		a.dbBack = fo.newLeaderAt
	}
	a.windowEnd = a.dbBack.Add(cfg.recoveryLimit)
	regmoKillEnd := imp.killedAt.Add(5 * time.Second)
	var durations []time.Duration
	for _, r := range results {
		phase := phaseOther
		switch {
		case !r.end.Before(fo.killedAt) && !r.start.After(a.windowEnd):
			phase = phaseFailover
		case !imp.killedAt.IsZero() && !r.end.Before(imp.killedAt) && !r.start.After(regmoKillEnd):
			phase = phaseRegmoKill
		}
		c := class(r.status)
		if r.proxy {
			c = "HAProxy"
		}
		d, bad := a.add(phase, c, r, cfg.hangLimit)
		durations = append(durations, d)
		switch {
		case r.status == 0:
			a.transport++
			bad = "no answer: " + r.err
		case r.proxy:
			a.proxy[fmt.Sprintf("%d in the %s", r.status, phase)]++
			switch {
			case r.status != http.StatusServiceUnavailable:
				a.proxyOther++
				bad = "HAProxy's " + strconv.Itoa(r.status)
			case phase != phaseFailover:
				a.proxyOutside++
				bad = "HAProxy's 503 outside the failover window"
			}
		case r.status >= 500:
			a.codes[r.status]++
			if r.status != http.StatusServiceUnavailable {
				a.bad5xx++
				bad = "not 503"
			} else {
				a.slowest503 = max(a.slowest503, d)
				if phase != phaseFailover {
					a.outside503++
					bad = "503 outside the failover window"
				}
			}
		}
		if r.status >= 400 && !r.problem {
			a.notProblem++
			bad = "no problem body"
		}
		if bad != "" && len(a.firstBad) < 5 {
			a.firstBad = append(a.firstBad, fmt.Sprintf("%s %s → %d (%s) after %s, sent %s after the primary's kill",
				r.op, r.path, r.status, bad, d.Round(time.Millisecond), r.start.Sub(fo.killedAt).Round(time.Millisecond)))
		}
		if r.status >= 200 && r.status < 300 && !r.start.Before(fo.deadAt) {
			rec := r.end.Sub(fo.killedAt)
			if a.anyBack == 0 || rec < a.anyBack {
				a.anyBack = rec
			}
			if r.op == opPatch && (a.writeBack == 0 || rec < a.writeBack) {
				a.writeBack = rec
			}
		}
	}
	slices.Sort(durations)
	if n := len(durations); n > 0 {
		a.p50, a.p99 = durations[n/2], durations[n*99/100]
	}
	return a
}

func (a *haAnalysis) writeBackText() string {
	if a.writeBack == 0 {
		return "no 2xx of a PATCH after the kill"
	}
	return a.writeBack.Round(time.Millisecond).String()
}

func (a *haAnalysis) anyBackText() string {
	if a.anyBack == 0 {
		return "no 2xx after the kill"
	}
	return a.anyBack.Round(time.Millisecond).String()
}

func (a *haAnalysis) badCodes() string {
	var parts []string
	for c, n := range a.codes {
		if c != http.StatusServiceUnavailable {
			parts = append(parts, fmt.Sprintf("%d × %d", n, c))
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}

func (a *haAnalysis) proxyText() string {
	if len(a.proxy) == 0 {
		return "none"
	}
	var parts []string
	for k, n := range a.proxy {
		parts = append(parts, fmt.Sprintf("%d × %s", n, k))
	}
	slices.Sort(parts)
	return strings.Join(parts, "; ") + " (503: no regmo process answered /healthz, so HAProxy had no instance to send to)"
}

func (a *haAnalysis) printTable(w io.Writer, start time.Time) {
	phases := []string{phaseFailover, phaseRegmoKill, phaseOther}
	a.print(w, "requests (HAProxy: its own answers)", 38, []string{"2xx", "3xx", "4xx", "5xx", "HAProxy", "no answer"}, phases, func(p string) string {
		switch {
		case p == phaseFailover:
			return fmt.Sprintf("failover (+%s to +%s)", a.killAt.Sub(start).Round(100*time.Millisecond), a.windowEnd.Sub(start).Round(100*time.Millisecond))
		case p == phaseRegmoKill && !a.regmoKillAt.IsZero():
			return fmt.Sprintf("regmo killed (+%s to +%s)", a.regmoKillAt.Sub(start).Round(100*time.Millisecond), a.regmoKillAt.Add(5*time.Second).Sub(start).Round(100*time.Millisecond))
		}
		return p
	})
}
