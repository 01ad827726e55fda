package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bremen/regmo/cmd/internal/harness"
	"github.com/bremen/regmo/domain/notify/mailpittest"
)

// check is one requirement and whether it held.
type check struct {
	name   string
	ok     bool
	detail string
}

func run(ctx context.Context, cfg config) (bool, error) {
	env, err := harness.Start(ctx, harness.Options{Bin: cfg.bin, Dir: cfg.dir, Fast: cfg.fast})
	if env != nil {
		defer env.Close()
	}
	if err != nil {
		return false, err
	}
	durability := "fsync on"
	if cfg.fast {
		durability = "fsync off (-fast)"
	}
	env.Logf("PostgreSQL (%s) at %s", durability, env.AdminURL)
	users, err := createUsers(ctx, env)
	if err != nil {
		return false, err
	}
	if err := env.Exec(ctx, env.DBURL, `UPDATE users SET email = name || '@lasttest.example' WHERE name LIKE 'lt-%'`); err != nil {
		return false, err
	}
	mailpit, stopMailpit, err := mailpittest.Launch(env.Dir)
	if err != nil {
		return false, err
	}
	defer stopMailpit()
	port, err := harness.FreePort()
	if err != nil {
		return false, err
	}
	metricsPort, err := harness.FreePort()
	if err != nil {
		return false, err
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	metricsURL := fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort)
	regmo, err := env.StartProcess("regmo", []string{
		"DATABASE_URL=" + env.DBURL, "REGMO_MIGRATE=false",
		fmt.Sprintf("REGMO_ADDR=127.0.0.1:%d", port),
		fmt.Sprintf("REGMO_METRICS_ADDR=127.0.0.1:%d", metricsPort),
	}, env.BinPath("regmo"), "serve")
	if err != nil {
		return false, err
	}
	if err := harness.WaitHTTP(ctx, regmo, base+"/readyz", nil, 200, 30*time.Second); err != nil {
		return false, err
	}
	if err := seed(ctx, base, users[0], cfg.perRessort); err != nil {
		return false, err
	}
	env.Logf("regmo at %s (metrics %s), %d users, %d registers and %d Onlinedienste imported",
		base, metricsURL, len(users), len(ressorts)*cfg.perRessort, len(ressorts)*onlinedienstePerRessort)

	// The idle level: after a short warm-up, with the tool's connections closed.
	tr := newTraffic(base, users, cfg.workers, cfg.regmoRequestLimit)
	tr.run(ctx, 2*time.Second, 50, 4, cfg.perRessort)
	tr.client.CloseIdleConnections()
	time.Sleep(time.Second)
	idle, err := scrape(ctx, metricsURL)
	if err != nil {
		return false, err
	}
	tr = newTraffic(base, users, cfg.workers, cfg.regmoRequestLimit)

	// The traffic, the pollers and the restart.
	env.Logf("traffic: %s at %d req/s (at most %d in flight); PostgreSQL restarts at %s", cfg.duration, cfg.rate, cfg.workers, cfg.restartAt)
	pollCtx, stopPolls := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var ready, database []sample
	wg.Add(2)
	go func() { defer wg.Done(); ready = pollReady(pollCtx, base, 50*time.Millisecond) }()
	go func() { defer wg.Done(); database = pollDatabase(pollCtx, env.DBURL, 25*time.Millisecond) }()
	schedCtx, stopSchedulers := context.WithCancel(ctx)
	defer stopSchedulers()
	sched := startSchedulers(schedCtx, env, cfg.instances, mailpit.SMTP, cfg.duration)
	start := time.Now()
	var restartStart, restartEnd time.Time
	var restartErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-ctx.Done():
			return
		case <-time.After(cfg.restartAt):
		}
		restartStart = time.Now()
		switch {
		case cfg.freeze > 0:
			env.Logf("freezing PostgreSQL for %s (SIGSTOP)", cfg.freeze)
			restartErr = freeze(env.PGDir(), cfg.freeze)
		case cfg.kill:
			env.Logf("killing PostgreSQL (SIGKILL to the postmaster and every backend), then starting it: crash recovery")
			if restartErr = kill(env.PGDir()); restartErr == nil {
				_, restartErr = env.Devdb(ctx, "start")
			}
		case cfg.down > 0:
			env.Logf("stopping PostgreSQL for %s", cfg.down)
			if _, restartErr = env.Devdb(ctx, "stop"); restartErr == nil {
				time.Sleep(cfg.down)
				_, restartErr = env.Devdb(ctx, "start")
			}
		default:
			env.Logf("restarting PostgreSQL (pg_ctl restart -m fast)")
			_, restartErr = env.Devdb(ctx, "restart")
		}
		restartEnd = time.Now()
		env.Logf("PostgreSQL is back (the command took %s)", restartEnd.Sub(restartStart).Round(time.Millisecond))
	}()
	skipped := tr.run(ctx, cfg.duration, cfg.rate, cfg.workers, cfg.perRessort)
	trafficEnd := time.Now()
	// Let the pollers see the end settle for a moment, then stop them.
	time.Sleep(500 * time.Millisecond)
	stopPolls()
	wg.Wait()
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if restartErr != nil {
		return false, fmt.Errorf("restarting PostgreSQL: %w", restartErr)
	}
	env.Logf("traffic done: %d requests", len(tr.results))

	// The schedulers go on until every e-mail is there (a job whose instance lost the
	// database mid-send waits for its lease), then stop; only then is the count final.
	wantMails := expectedMails(users)
	if _, err := waitMails(ctx, mailpit, wantMails, 30*time.Second); err != nil {
		return false, err
	}
	stopSchedulers()
	sched.wait()
	mails, err := checkMails(mailpit, wantMails)
	if err != nil {
		return false, err
	}

	// Back to idle?
	tr.client.CloseIdleConnections()
	settled, settleTime, activity, err := settle(ctx, cfg, metricsURL, env.DBURL, idle)
	if err != nil {
		return false, err
	}

	// Lost writes.
	wr, err := verifyWrites(ctx, env.DBURL, tr.acks)
	if err != nil {
		return false, err
	}
	panics, errorLines := scanLog(regmo.Log)

	// The report.
	a := analyse(cfg, tr.results, database, restartStart, restartEnd)
	for _, k := range tr.acks {
		switch {
		case k.at.Before(restartStart):
			wr.before++
		case k.at.After(a.dbBack):
			wr.after++
		}
	}
	readyOutage, readyFrom := longestOutage(ready)
	fmt.Println()
	fault := "restarted (pg_ctl restart -m fast)"
	switch {
	case cfg.freeze > 0:
		fault = "frozen with SIGSTOP for " + cfg.freeze.String()
	case cfg.down > 0:
		fault = "stopped for " + cfg.down.String()
	}
	fmt.Printf("Load test: %s of traffic at %d req/s, %d users (admin, ozg-koordination, 10 ressortverantwortliche), "+
		"%d registers; PostgreSQL %s, %s at +%s\n\n", trafficEnd.Sub(start).Round(time.Second), cfg.rate, len(users),
		len(ressorts)*cfg.perRessort, durability, fault, restartStart.Sub(start).Round(100*time.Millisecond))
	a.printStatusTable(os.Stdout, start)
	fmt.Println()
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	line := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	line("database away (probe every 25 ms)", fmt.Sprintf("%s (from +%s to +%s)", a.dbBack.Sub(a.dbDown).Round(time.Millisecond),
		a.dbDown.Sub(start).Round(time.Millisecond), a.dbBack.Sub(start).Round(time.Millisecond)))
	line("longest /readyz not 200 (poll every 50 ms)", fmt.Sprintf("%s (from +%s)", readyOutage.Round(time.Millisecond), nonZero(readyFrom, start)))
	line("database back → first 2xx of regmo", a.recoveryText())
	line("last 5xx after the database was back", a.last5xxText())
	line("503 answers: slowest", a.slowest503.Round(time.Millisecond).String())
	line("latency p50 / p99 / max (all)", fmt.Sprintf("%s / %s / %s", a.p50.Round(time.Microsecond*10), a.p99.Round(time.Microsecond*10), a.max.Round(time.Millisecond)))
	line("ticks skipped (all workers busy)", strconv.Itoa(skipped))
	line("acknowledged writes", fmt.Sprintf("%d on %d entries; %d checked against entries and entry_versions", len(tr.acks), wr.keys, wr.checked))
	line("lost writes", strconv.Itoa(len(wr.lost)))
	line("committed without a 2xx (version beyond the last ack)", strconv.Itoa(wr.unacked))
	line("goroutines idle → after the run", fmt.Sprintf("%.0f → %.0f (settled after %s)", idle["go_goroutines"], settled["go_goroutines"], settleTime.Round(100*time.Millisecond)))
	line("pool open / in use / idle after the run", fmt.Sprintf("%.0f / %.0f / %.0f (idle level before: %.0f open)", settled[sqlOpen], settled[sqlInUse], settled[sqlIdle], idle[sqlOpen]))
	line("pool waits during the run", fmt.Sprintf("%.0f, %.2f s in all", settled[sqlWaits]-idle[sqlWaits], settled[sqlWaitSeconds]-idle[sqlWaitSeconds]))
	line("regmo backends in pg_stat_activity", fmt.Sprintf("%d of the pool (%d not idle), %d of the watch", activity.total, activity.busy, activity.watch))
	line("regmo log", fmt.Sprintf("%d panic(s), %d error line(s)", panics, errorLines))
	line("e-mail schedulers", fmt.Sprintf("%d instances, %d runs of notify run --at the 07:00 slots of %s to %s (%d failed, during the restart)",
		cfg.instances, sched.runs, slotDays[0], slotDays[len(slotDays)-1], sched.failed))
	line("e-mails expected / received", fmt.Sprintf("%d / %d: %d duplicate, %d missing, %d unexpected", len(wantMails), mails.got, mails.duplicates, len(mails.missing), len(mails.unexpected)))
	tw.Flush()

	checks := []check{
		{"the database was seen away and back", !a.noOutage, "the probe never failed: the restart was too quick to observe"},
		{"no 500 and no other 5xx than 503", a.bad5xx == 0, fmt.Sprintf("%d", a.bad5xx)},
		{"every 4xx/5xx is a problem+json body", a.notProblem == 0, fmt.Sprintf("%d without", a.notProblem)},
		{"no 5xx outside the restart window", a.outside5xx == 0, fmt.Sprintf("%d outside (window: from the fault until %s after the database's return)", a.outside5xx, cfg.recoveryLimit)},
		{"no request without an answer, none slower than " + cfg.hangLimit.String(), a.transport == 0 && a.hangs == 0, fmt.Sprintf("%d without answer, %d slow", a.transport, a.hangs)},
		{"503s fail fast (≤ " + cfg.failFastLimit.String() + ")", a.slowest503 <= cfg.failFastLimit, a.slowest503.String()},
		{"first 2xx within " + cfg.recoveryLimit.String() + " of the database's return", a.recovered && a.recovery <= cfg.recoveryLimit, a.recoveryText()},
		{"/readyz 200 again within " + cfg.recoveryLimit.String() + " of the database's return", readyBackWithin(ready, a.dbBack, cfg.recoveryLimit), ""},
		{"0 lost writes", len(wr.lost) == 0, strings.Join(first(wr.lost, 5), "; ")},
		{"writes were acknowledged before and after the restart", wr.before > 0 && wr.after > 0, fmt.Sprintf("%d before, %d after", wr.before, wr.after)},
		{"goroutines back to the idle level (+" + strconv.Itoa(cfg.goroutineSlack) + ")", settled["go_goroutines"] <= idle["go_goroutines"]+float64(cfg.goroutineSlack), ""},
		{"no request in flight, no connection in use", settled[inFlight] == 0 && settled[sqlInUse] == 0, ""},
		{"pg_stat_activity: every regmo backend idle and owned by the pool, plus the watch's one", activity.settled(settled[sqlOpen]),
			fmt.Sprintf("%d backends, pool has %.0f open; %d of the watch", activity.total, settled[sqlOpen], activity.watch)},
		{"regmo still running, no panic", !regmo.Exited() && panics == 0, ""},
		{"every e-mail of the slots once across the schedulers: 0 duplicate, 0 missing", mails.duplicates == 0 && len(mails.missing) == 0 && len(mails.unexpected) == 0,
			fmt.Sprintf("%d duplicate, missing %s, unexpected %s", mails.duplicates, strings.Join(first(mails.missing, 5), ", "), strings.Join(first(mails.unexpected, 5), "; "))},
		{"the schedulers ran on every instance during the traffic", sched.runs > cfg.instances, fmt.Sprintf("%d runs", sched.runs)},
	}
	allOK := printChecks(checks)
	if !allOK {
		fmt.Printf("\nregmo's log: %s (kept in %s)\n", regmo.Log, env.Dir)
		if a.firstBad != "" {
			fmt.Println("first unexpected answer:", a.firstBad)
		}
	}
	return allOK, nil
}

func nonZero(t, start time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.Sub(start).Round(time.Millisecond).String()
}

func first(xs []string, n int) []string {
	if len(xs) > n {
		return append(slices.Clone(xs[:n]), fmt.Sprintf("and %d more", len(xs)-n))
	}
	return xs
}

func readyBackWithin(ready []sample, back time.Time, limit time.Duration) bool {
	for _, s := range ready {
		if !s.at.Before(back) && s.ok {
			return s.end.Sub(back) <= limit
		}
	}
	return false
}

// clusterPIDs are the postmaster of the cluster in pgDir and its children.
func clusterPIDs(pgDir string) ([]int, error) {
	data, err := os.ReadFile(filepath.Join(pgDir, "data", "postmaster.pid"))
	if err != nil {
		return nil, err
	}
	postmaster, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(data), "\n", 2)[0]))
	if err != nil {
		return nil, fmt.Errorf("postmaster.pid: %w", err)
	}
	pids := []int{postmaster}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, st := range stats {
		b, err := os.ReadFile(st)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so read after the last ')'.
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(postmaster) {
			pid, _ := strconv.Atoi(strings.TrimSuffix(filepath.Base(filepath.Dir(st)), "/"))
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// kill ends the cluster as a crash would: SIGKILL to the postmaster and every backend at
// once (no checkpoint, no shutdown), and waits until they are gone, so that the next start
// replays the WAL. Backends left alive would keep the shared memory and refuse the start.
func kill(pgDir string) error {
	pids, err := clusterPIDs(pgDir)
	if err != nil {
		return err
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("SIGKILL %d: %w", pid, err)
		}
	}
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

// freeze stops the cluster's postmaster and its children with SIGSTOP for d, then lets them
// go on: the database keeps its connections but answers nothing, as behind a network partition.
func freeze(pgDir string, d time.Duration) error {
	pids, err := clusterPIDs(pgDir)
	if err != nil {
		return err
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
			return fmt.Errorf("SIGSTOP %d: %w", pid, err)
		}
	}
	time.Sleep(d)
	var firstErr error
	for _, pid := range pids {
		if err := syscall.Kill(pid, syscall.SIGCONT); err != nil && firstErr == nil {
			firstErr = fmt.Errorf("SIGCONT %d: %w", pid, err)
		}
	}
	return firstErr
}

// ---- analysis of the answers ----

type analysis struct {
	dbDown, dbBack, windowEnd time.Time
	noOutage                  bool
	recovery                  time.Duration
	recovered                 bool
	last5xx                   time.Time
	tally
	codes4xx                    map[int]int
	bad5xx, outside5xx          int
	notProblem, transport       int
	slowest503, p50, p99        time.Duration
	firstBad                    string
	restartStart, restartFinish time.Time
}

const (
	phaseBefore = "before the fault"
	phaseWindow = "fault window"
	phaseAfter  = "after the window"
)

func class(status int) string {
	if status == 0 {
		return "no answer"
	}
	return fmt.Sprintf("%dxx", status/100)
}

func analyse(cfg config, results []result, database []sample, restartStart, restartEnd time.Time) *analysis {
	a := &analysis{tally: newTally(), codes4xx: map[int]int{},
		restartStart: restartStart, restartFinish: restartEnd}
	// The database is away from the first failed probe after the restart began to the next
	// good one.
	for i, s := range database {
		if s.at.Before(restartStart) || s.ok {
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
	if a.dbDown.IsZero() || a.dbBack.IsZero() {
		a.noOutage = a.dbDown.IsZero()
		if a.dbDown.IsZero() {
			a.dbDown = restartStart
		}
		if a.dbBack.IsZero() {
			a.dbBack = restartEnd
		}
	}
	a.windowEnd = a.dbBack.Add(cfg.recoveryLimit)
	var durations []time.Duration
	for _, r := range results {
		phase := phaseWindow
		switch {
		case r.end.Before(restartStart):
			phase = phaseBefore
		case r.start.After(a.windowEnd):
			phase = phaseAfter
		}
		c := class(r.status)
		d, bad := a.add(phase, c, r, cfg.hangLimit)
		durations = append(durations, d)
		switch {
		case r.status == 0:
			a.transport++
			bad = "no answer: " + r.err
		case r.status >= 400 && r.status < 500:
			a.codes4xx[r.status]++
		case r.status >= 500:
			if r.status != http.StatusServiceUnavailable {
				a.bad5xx++
				bad = "not 503"
			} else {
				a.slowest503 = max(a.slowest503, d)
			}
			if phase != phaseWindow {
				a.outside5xx++
				bad = "outside the window"
			}
			if !r.end.Before(a.dbBack) && r.end.After(a.last5xx) {
				a.last5xx = r.end
			}
		}
		if r.status >= 400 && !r.problem {
			a.notProblem++
			bad = "no problem body"
		}
		if bad != "" && a.firstBad == "" {
			a.firstBad = fmt.Sprintf("%s %s → %d (%s) after %s", r.op, r.path, r.status, bad, d.Round(time.Millisecond))
		}
		if r.status >= 200 && r.status < 300 && !r.start.Before(a.dbBack) {
			if rec := r.end.Sub(a.dbBack); !a.recovered || rec < a.recovery {
				a.recovery, a.recovered = rec, true
			}
		}
	}
	slices.Sort(durations)
	if n := len(durations); n > 0 {
		a.p50, a.p99 = durations[n/2], durations[n*99/100]
	}
	return a
}

func (a *analysis) recoveryText() string {
	if !a.recovered {
		return "no 2xx after the database was back"
	}
	return a.recovery.Round(time.Millisecond).String()
}

func (a *analysis) last5xxText() string {
	if a.last5xx.IsZero() {
		return "none"
	}
	return fmt.Sprintf("%s after", a.last5xx.Sub(a.dbBack).Round(time.Millisecond))
}

func (a *analysis) printStatusTable(w io.Writer, start time.Time) {
	a.print(w, "requests", 36, []string{"2xx", "3xx", "4xx", "5xx", "no answer"}, []string{phaseBefore, phaseWindow, phaseAfter}, func(p string) string {
		if p == phaseWindow {
			return fmt.Sprintf("fault window (+%s to +%s)", a.restartStart.Sub(start).Round(100*time.Millisecond), a.windowEnd.Sub(start).Round(100*time.Millisecond))
		}
		return p
	})
	if len(a.codes4xx) > 0 {
		var parts []string
		var codes []int
		for c := range a.codes4xx {
			codes = append(codes, c)
		}
		slices.Sort(codes)
		for _, c := range codes {
			parts = append(parts, fmt.Sprintf("%d × %d", a.codes4xx[c], c))
		}
		fmt.Fprintf(w, "4xx: %s (412: a concurrent PATCH won; the tool re-reads and retries)\n", strings.Join(parts, ", "))
	}
}

// ---- metrics and connections ----

const (
	inFlight       = "regmo_http_requests_in_flight"
	sqlOpen        = `go_sql_open_connections{db_name="regmo"}`
	sqlInUse       = `go_sql_in_use_connections{db_name="regmo"}`
	sqlIdle        = `go_sql_idle_connections{db_name="regmo"}`
	sqlWaits       = `go_sql_wait_count_total{db_name="regmo"}`
	sqlWaitSeconds = `go_sql_wait_duration_seconds_total{db_name="regmo"}`
)

// scrape reads GET /metrics into "name{labels}" → value.
func scrape(ctx context.Context, url string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	// No keep-alive: an idle connection of ours would hold a goroutine in regmo.
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape %s: %s", url, resp.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[line[:i]] = v
		}
	}
	return out, sc.Err()
}

// activity is regmo's connections as PostgreSQL sees them: the pool's (total, of them
// busy) and the watch's own one (domain.Watch).
type activity struct{ total, busy, watch int }

// settled reports whether every pool connection is idle and open in the pool (open
// connections by the metrics), and the watch holds exactly its one.
func (a activity) settled(open float64) bool {
	return a.busy == 0 && float64(a.total) == open && a.watch == 1
}

// backends counts regmo's connections as PostgreSQL sees them.
func backends(ctx context.Context, dsn string) (activity, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return activity{}, err
	}
	defer conn.Close(context.Background())
	var a activity
	err = conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE application_name = 'regmo'),
			count(*) FILTER (WHERE application_name = 'regmo' AND state <> 'idle'),
			count(*) FILTER (WHERE application_name = 'regmo-watch')
		FROM pg_stat_activity`).Scan(&a.total, &a.busy, &a.watch)
	return a, err
}

// settle waits until regmo is idle again: no request in flight, no connection in use,
// goroutines at the idle level, and PostgreSQL's view of regmo's connections equal to the pool's.
func settle(ctx context.Context, cfg config, metricsURL, dsn string, idle map[string]float64) (map[string]float64, time.Duration, activity, error) {
	start := time.Now()
	for {
		m, err := scrape(ctx, metricsURL)
		if err != nil {
			return nil, 0, activity{}, err
		}
		act, err := backends(ctx, dsn)
		if err != nil {
			return nil, 0, activity{}, err
		}
		done := m[inFlight] == 0 && m[sqlInUse] == 0 &&
			m["go_goroutines"] <= idle["go_goroutines"]+float64(cfg.goroutineSlack) &&
			act.settled(m[sqlOpen])
		if done || time.Since(start) > cfg.settleTimeout {
			return m, time.Since(start), act, nil
		}
		select {
		case <-ctx.Done():
			return nil, 0, activity{}, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// ---- lost writes ----

type writeReport struct {
	keys, checked, unacked int
	before, after          int
	lost                   []string
}

// verifyWrites reads every entry and every version straight from PostgreSQL and checks that
// each acknowledged PATCH is there with its version and value, and that no entry is older
// than its last acknowledgement.
func verifyWrites(ctx context.Context, dsn string, acks []ack) (writeReport, error) {
	var wr writeReport
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return wr, err
	}
	defer conn.Close(context.Background())
	type row struct {
		version     int64
		note, stage string
	}
	read := func(table string) (map[string]row, error) {
		rows, err := conn.Query(ctx, `SELECT ressort, key, version, idnr_note, noots_stage::text FROM `+table+`
			WHERE kind = 'register' AND key LIKE 'lt-register-%'`)
		if err != nil {
			return nil, err
		}
		out := map[string]row{}
		for rows.Next() {
			var ressort, key string
			var r row
			if err := rows.Scan(&ressort, &key, &r.version, &r.note, &r.stage); err != nil {
				rows.Close()
				return nil, err
			}
			id := ressort + "/" + key
			if table == "entry_versions" {
				id += "@" + strconv.FormatInt(r.version, 10)
			}
			out[id] = r
		}
		return out, rows.Err()
	}
	current, err := read("entries")
	if err != nil {
		return wr, fmt.Errorf("read entries: %w", err)
	}
	versions, err := read("entry_versions")
	if err != nil {
		return wr, fmt.Errorf("read entry_versions: %w", err)
	}
	latest := map[string]ack{}
	for _, a := range acks {
		id := a.ressort + "/" + a.key
		v, ok := versions[id+"@"+strconv.FormatInt(a.version, 10)]
		switch {
		case !ok:
			wr.lost = append(wr.lost, fmt.Sprintf("%s version %d missing from entry_versions", id, a.version))
		case v.note != a.note || v.stage != a.stage:
			wr.lost = append(wr.lost, fmt.Sprintf("%s version %d holds %q/%s, acknowledged %q/%s", id, a.version, v.note, v.stage, a.note, a.stage))
		}
		wr.checked++
		if l, ok := latest[id]; !ok || a.version > l.version {
			latest[id] = a
		}
	}
	wr.keys = len(latest)
	for id, a := range latest {
		c, ok := current[id]
		switch {
		case !ok:
			wr.lost = append(wr.lost, id+" is gone")
		case c.version < a.version:
			wr.lost = append(wr.lost, fmt.Sprintf("%s is at version %d, version %d was acknowledged", id, c.version, a.version))
		case c.version == a.version && (c.note != a.note || c.stage != a.stage):
			wr.lost = append(wr.lost, fmt.Sprintf("%s version %d holds %q/%s, acknowledged %q/%s", id, c.version, c.note, c.stage, a.note, a.stage))
		case c.version > a.version:
			wr.unacked++
		}
	}
	return wr, nil
}

// scanLog counts panics and error lines in regmo's log.
func scanLog(path string) (panics, errorLines int) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, `"msg":"panic"`) || strings.HasPrefix(line, "panic:") {
			panics++
		}
		if strings.Contains(line, `"level":"ERROR"`) {
			errorLines++
		}
	}
	return panics, errorLines
}

// tally counts the answers of a run by phase, operation and class, the slowest and the
// requests slower than the hang limit.
type tally struct {
	classes map[string]map[string]int // phase → class → count
	byOp    map[string]map[string]int // op → class → count
	hangs   int
	max     time.Duration
}

func newTally() tally {
	return tally{classes: map[string]map[string]int{}, byOp: map[string]map[string]int{}}
}

// add counts one answer of class c in phase; it returns the answer's duration and "slow"
// when it took longer than hangLimit.
func (t *tally) add(phase, c string, r result, hangLimit time.Duration) (time.Duration, string) {
	if t.classes[phase] == nil {
		t.classes[phase] = map[string]int{}
	}
	t.classes[phase][c]++
	if t.byOp[r.op] == nil {
		t.byOp[r.op] = map[string]int{}
	}
	t.byOp[r.op][c]++
	d := r.duration()
	t.max = max(t.max, d)
	if d > hangLimit {
		t.hangs++
		return d, "slow"
	}
	return d, ""
}

// print writes the answers by phase (labelled by label) and by operation, one column per
// class of cols.
func (t *tally) print(w io.Writer, header string, labelWidth int, cols, phases []string, label func(phase string) string) {
	fmt.Fprintf(w, "%-*s", labelWidth, header)
	for _, c := range cols {
		fmt.Fprintf(w, "%10s", c)
	}
	fmt.Fprintf(w, "%10s\n", "total")
	total := map[string]int{}
	row := func(name string, m map[string]int) {
		fmt.Fprintf(w, "%-*s", labelWidth, name)
		n := 0
		for _, c := range cols {
			fmt.Fprintf(w, "%10d", m[c])
			n += m[c]
		}
		fmt.Fprintf(w, "%10d\n", n)
	}
	for _, p := range phases {
		row(label(p), t.classes[p])
		for c, n := range t.classes[p] {
			total[c] += n
		}
	}
	row("all", total)
	fmt.Fprintln(w)
	fmt.Fprintf(w, "%-*s\n", labelWidth, "by operation")
	for _, op := range []string{opGet, opPatch, opReRead, opList} {
		row("  "+op, t.byOp[op])
	}
}

// printChecks prints a PASS or FAIL line per check, with its detail when it failed, and
// reports whether all passed.
func printChecks(checks []check) bool {
	fmt.Println()
	allOK := true
	for _, c := range checks {
		mark := "PASS"
		if !c.ok {
			mark, allOK = "FAIL", false
		}
		if c.ok || c.detail == "" {
			fmt.Printf("%s  %s\n", mark, c.name)
		} else {
			fmt.Printf("%s  %s: %s\n", mark, c.name, c.detail)
		}
	}
	return allOK
}
