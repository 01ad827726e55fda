package main

// `make bench-scale` (benchtable -scale): how regmo grows with the inventory. One cluster is
// filled step by step to each size of -sizes; at each size a fresh regmo answers the readiness
// report now and as of a day back, GET one and a list page under wrk, and then tells its
// memory. The table and a chart go into BENCHMARKS.md's section "Growth".

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/color"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/bremen/regmo/cmd/internal/harness"
)

// growthHeading starts the section -scale writes; a run of the main table keeps it.
const growthHeading = "## Growth"

// historyHours spreads the seeded changes: 2 in 3 entries have a second version, which
// began at one of the historyHours hours after their creation a year before the run, so that
// every day of the year has changes (about 1/365 of them, 11,000 a day at 6,000,000 entries),
// the daily snapshots of the readiness figures (migration 00011) have history to follow, and
// the report as of a day back reads a snapshot plus the changes of the hours since midnight.
// At 6,000,000 entries that is 10,000,000 versions and as many events.
const historyHours = 365*24 - 1

// scalePoint is what one size measured.
type scalePoint struct {
	entries              int
	report, asOf         float64 // seconds, median
	events               int64
	sinceSnapshot        int64         // versions that began or ended between the snapshot and the as-of instant
	snapshots            time.Duration // the daily snapshots' first take by a fresh regmo
	get, list            httpResult
	rss, peakRSS, dbSize int64 // bytes
	seed                 time.Duration
}

// parseSizes reads -sizes: entry counts such as 100000 or 1M, ascending.
func parseSizes(s string) ([]int, error) {
	var sizes []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		mult := 1
		switch {
		case strings.HasSuffix(f, "k"), strings.HasSuffix(f, "K"):
			mult, f = 1_000, f[:len(f)-1]
		case strings.HasSuffix(f, "M"):
			mult, f = 1_000_000, f[:len(f)-1]
		}
		n, err := strconv.Atoi(strings.ReplaceAll(f, "_", ""))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("bad size %q", f)
		}
		sizes = append(sizes, n*mult)
	}
	slices.Sort(sizes)
	return slices.Compact(sizes), nil
}

func runScale(ctx context.Context, cfg config) error {
	start := time.Now()
	if err := ensureWrk(ctx); err != nil {
		return err
	}
	env, err := harness.Start(ctx, harness.Options{Bin: cfg.bin, Dir: cfg.dir, Fast: true})
	if env != nil {
		defer env.Close()
	}
	if err != nil {
		return err
	}
	env.Logf("PostgreSQL (fsync off) at %s", env.AdminURL)
	token, err := env.Token(ctx, "bench", "ozg-koordination", "")
	if err != nil {
		return err
	}
	// Every size shares these instants, so that the report as of a day back reads the same
	// share of older versions at each size.
	created, asOf := start.Add(-365*24*time.Hour), start.Add(-24*time.Hour)
	conns := slices.Max(cfg.conns)
	var points []scalePoint
	have := 0
	for _, n := range cfg.sizes {
		t0 := time.Now()
		if err := seedEntries(ctx, env, have, n, created); err != nil {
			return err
		}
		have = n
		p := scalePoint{entries: n, seed: time.Since(t0)}
		env.Logf("%s entries seeded in %s", thousands(float64(n)), p.seed.Round(time.Second))
		if err := measureSize(ctx, env, cfg, token, asOf, conns, &p); err != nil {
			return err
		}
		points = append(points, p)
	}
	sec := growthSection(cfg, points, start, time.Since(start), conns, harness.Machine(), gitCommit(ctx))
	fmt.Println()
	fmt.Print(sec)
	if cfg.png != "" {
		if err := writeGrowthPNG(cfg.png, points); err != nil {
			return err
		}
		env.Logf("chart written to %s", cfg.png)
	}
	if cfg.out != "" {
		old, err := os.ReadFile(cfg.out)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if err := os.WriteFile(cfg.out, []byte(replaceSection(string(old), growthHeading, sec)), 0o644); err != nil {
			return err
		}
		env.Logf("section %q written to %s", strings.TrimPrefix(growthHeading, "## "), cfg.out)
	}
	return nil
}

// seedEntries fills entries from+1 to n, as the owner (no row-level security), in chunks:
// entry i is in Ressort ressorts[i % 10], an Onlinedienst (key o-i) when i % 4 = 0, else a
// register (key r-i); each has its current version in entry_versions, and 2 in 3 an older
// one (see historyHours), written in time order; events hold their creation and change.
func seedEntries(ctx context.Context, env *harness.Env, from, n int, created time.Time) error {
	conn, err := pgx.Connect(ctx, env.DBURL)
	if err != nil {
		return fmt.Errorf("seed: connect: %w", err)
	}
	defer conn.Close(context.Background())
	const chunk = 500_000
	for lo := from + 1; lo <= n; lo += chunk {
		hi := min(lo+chunk-1, n)
		var minID int64
		if err := conn.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM entries`).Scan(&minID); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
		batch := &pgx.Batch{}
		batch.Queue(seedEntriesSQL, lo, hi, ressorts, created, historyHours)
		batch.Queue(seedVersionsSQL, minID)
		batch.Queue(seedEventsSQL, minID)
		if err := conn.SendBatch(ctx, batch).Close(); err != nil {
			return fmt.Errorf("seed %d to %d: %w", lo, hi, err)
		}
		env.Logf("seeded %s of %s entries", thousands(float64(hi)), thousands(float64(n)))
	}
	if _, err := conn.Exec(ctx, `VACUUM ANALYZE entries, entry_versions, events`); err != nil {
		return fmt.Errorf("seed: vacuum: %w", err)
	}
	return nil
}

// seedEntriesSQL inserts entries $1 to $2 ($3 the Ressorts, $4 created): 2 in 3 are at
// version 2 since one of the $5 hours after their creation.
const seedEntriesSQL = `INSERT INTO entries (kind, ressort, key, name, description, legal_basis, idnrg_anlage_nr,
		idnr_stage, idnr_target_date, idnr_note, noots_stage, noots_target_date, dsc_stage, dsc_target_date, dsc_note,
		version, created_at, updated_at, updated_by)
	SELECT CASE WHEN i % 4 = 0 THEN 'onlinedienst' ELSE 'register' END,
	       ($3::text[])[1 + i % 10],
	       CASE WHEN i % 4 = 0 THEN 'o-' ELSE 'r-' END || i,
	       'Eintrag ' || i,
	       'Ein Eintrag, den der Benchmark erzeugt hat, mit einer Beschreibung von üblicher Länge.',
	       CASE WHEN i % 4 = 0 THEN '' ELSE '§ 1 IDNrG' END,
	       CASE WHEN i % 4 <> 0 AND i % 7 = 0 THEN 1 + i % 50 END,
	       (ARRAY['not_started','planned','in_progress','testing','live'])[1 + i % 5],
	       DATE '2026-01-01' + (i % 1000), 'Notiz ' || i,
	       (ARRAY['not_started','planned','in_progress','testing','live'])[1 + (i / 5) % 5],
	       DATE '2026-01-01' + (i * 7 % 1500),
	       (ARRAY['not_started','planned','in_progress','testing','live','not_applicable'])[1 + (i / 25) % 6],
	       CASE WHEN i % 3 > 0 THEN DATE '2025-06-01' + (i % 2000) END, 'keine personenbezogenen Daten',
	       CASE WHEN i % 3 > 0 THEN 2 ELSE 1 END,
	       $4::timestamptz,
	       CASE WHEN i % 3 > 0 THEN $4::timestamptz + (1 + i % $5::int) * interval '1 hour' ELSE $4::timestamptz END, 'bench'
	FROM generate_series($1::int, $2::int) i`

// previousStage is the IDNr stage of an entry's first version.
const previousStage = `CASE idnr_stage WHEN 'live' THEN 'testing' WHEN 'testing' THEN 'in_progress'
	WHEN 'in_progress' THEN 'planned' ELSE 'not_started' END`

// seedEventsSQL records the history of the entries above id $1 as regmo would have: a
// created event each, and an updated one with the IDNr stage's change for those at version 2.
const seedEventsSQL = `INSERT INTO events (at, actor, action, entity_type, ressort, key, changes)
	SELECT created_at, 'bench', 'created', kind, ressort, key,
	       jsonb_build_object('name', jsonb_build_object('to', name), 'readiness.idnr.stage', jsonb_build_object('to', ` + previousStage + `))
	FROM entries WHERE id > $1
	UNION ALL
	SELECT updated_at, 'bench', 'updated', kind, ressort, key,
	       jsonb_build_object('readiness.idnr.stage', jsonb_build_object('from', ` + previousStage + `, 'to', idnr_stage))
	FROM entries WHERE id > $1 AND version = 2`

// seedVersionsSQL adds the versions of the entries above id $1: each entry's current one,
// valid from its last change, and for those at version 2 the first, its IDNr stage one step
// back, valid from the creation until the change. They are written in the order regmo
// writes history, by the instant of the write (a change closes the old version and appends
// the new one at once, both then), so that the table's pages follow time as in service
// rather than the order of the keys.
const seedVersionsSQL = `INSERT INTO entry_versions (id, kind, ressort, key, name, description, idnrg_anlage_nr, legal_basis,
		idnr_stage, idnr_target_date, idnr_note, noots_stage, noots_target_date, dsc_stage, dsc_target_date, dsc_note,
		version, created_at, updated_at, updated_by, valid_from, valid_to)
	SELECT * FROM (
		SELECT id, kind, ressort, key, name, description, idnrg_anlage_nr, legal_basis,
		       idnr_stage, idnr_target_date, idnr_note, noots_stage, noots_target_date, dsc_stage, dsc_target_date, dsc_note,
		       version, created_at, updated_at, updated_by, updated_at AS valid_from, NULL::timestamptz AS valid_to
		FROM entries WHERE id > $1
		UNION ALL
		SELECT id, kind, ressort, key, name, description, idnrg_anlage_nr, legal_basis, ` + previousStage + `,
		       idnr_target_date, idnr_note, noots_stage, noots_target_date, dsc_stage, dsc_target_date, dsc_note,
		       1, created_at, created_at, updated_by, created_at, updated_at
		FROM entries WHERE id > $1 AND version = 2) AS v
	ORDER BY coalesce(valid_to, valid_from), id, version`

// measureSize starts a fresh regmo on the database as it is and measures one size.
func measureSize(ctx context.Context, env *harness.Env, cfg config, token string, asOf time.Time, conns int, p *scalePoint) error {
	port, err := harness.FreePort()
	if err != nil {
		return err
	}
	metricsPort, err := harness.FreePort()
	if err != nil {
		return err
	}
	regmo, err := env.StartProcess(fmt.Sprintf("regmo-%d", p.entries), []string{
		"DATABASE_URL=" + env.DBURL, "REGMO_MIGRATE=false",
		fmt.Sprintf("REGMO_ADDR=127.0.0.1:%d", port),
		fmt.Sprintf("REGMO_METRICS_ADDR=127.0.0.1:%d", metricsPort),
	}, env.BinPath("regmo"), "serve")
	if err != nil {
		return err
	}
	defer func() { _ = regmo.Stop(10 * time.Second) }()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	auth := http.Header{"Authorization": {"Bearer " + token}}
	t0 := time.Now()
	if err := harness.WaitHTTP(ctx, regmo, base+"/v1/ressorts/"+ressorts[1]+"/registers/r-1", auth, 200, 30*time.Second); err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, env.DBURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if err := waitSnapshots(ctx, conn, regmo); err != nil {
		return err
	}
	p.snapshots = time.Since(t0)
	if p.sinceSnapshot, err = sinceSnapshot(ctx, conn, asOf); err != nil {
		return err
	}
	env.Logf("%s entries: daily snapshots taken within %s of the start", thousands(float64(p.entries)), p.snapshots.Round(100*time.Millisecond))
	if p.report, err = timeReport(ctx, base+"/v1/reports/readiness", token, cfg.reports, p.entries); err != nil {
		return err
	}
	env.Logf("%s entries: readiness report %s", thousands(float64(p.entries)), dur(p.report))
	asOfURL := base + "/v1/reports/readiness?as_of=" + url.QueryEscape(asOf.UTC().Format(time.RFC3339))
	if p.asOf, err = timeReport(ctx, asOfURL, token, cfg.reports, p.entries); err != nil {
		return err
	}
	env.Logf("%s entries: readiness report as of a day back %s", thousands(float64(p.entries)), dur(p.asOf))
	script := filepath.Join(env.Dir, fmt.Sprintf("get-one-%d.lua", p.entries))
	if err := os.WriteFile(script, []byte(scaleGetScript(p.entries)), 0o644); err != nil {
		return err
	}
	t := target{"regmo", base, "Bearer " + token}
	for _, m := range []struct {
		rq  request
		out *httpResult
	}{
		{request{name: "GET one register", script: script}, &p.get},
		{request{name: "GET list page of 100", path: "/v1/registers?limit=100"}, &p.list},
	} {
		if _, err := wrk(ctx, t, m.rq, conns, cfg.warmup); err != nil {
			return err
		}
		if *m.out, err = wrk(ctx, t, m.rq, conns, cfg.duration); err != nil {
			return err
		}
		env.Logf("%s entries: %s, %d conns: %s req/s, p99 %s%s", thousands(float64(p.entries)), m.rq.name, conns,
			thousands(m.out.rps), dur(m.out.p99), suffix(m.out.errors))
	}
	if regmo.Exited() {
		return fmt.Errorf("regmo exited during the load:\n%s", regmo.Tail(20))
	}
	if p.rss, p.peakRSS, err = memory(regmo.Pid()); err != nil {
		return err
	}
	env.Logf("%s entries: regmo RSS %s (peak %s)", thousands(float64(p.entries)), mib(p.rss), mib(p.peakRSS))
	return conn.QueryRow(ctx, `SELECT pg_database_size(current_database()), (SELECT count(*) FROM events)`).Scan(&p.dbSize, &p.events)
}

// sinceSnapshot counts the versions that began or ended after the latest snapshot at or
// before asOf and up to it: the rows the report as of asOf sums besides the snapshot's.
func sinceSnapshot(ctx context.Context, conn *pgx.Conn, asOf time.Time) (int64, error) {
	var n int64
	err := conn.QueryRow(ctx, `WITH s AS (SELECT coalesce(max(taken_at), '-infinity') AS at FROM readiness_snapshots WHERE taken_at <= $1)
		SELECT (SELECT count(*) FROM entry_versions, s WHERE valid_from > s.at AND valid_from <= $1)
			+ (SELECT count(*) FROM entry_versions, s WHERE valid_to > s.at AND valid_to <= $1)`, asOf).Scan(&n)
	return n, err
}

// waitSnapshots waits until the regmo just started has taken every daily snapshot of the
// readiness figures the seeding left due (it takes them at start), so that the report as of a
// day back is measured as it runs in service, not before the first take.
func waitSnapshots(ctx context.Context, conn *pgx.Conn, regmo *harness.Proc) error {
	deadline := time.Now().Add(30 * time.Minute)
	for {
		var due int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM readiness_snapshot_due(now() - interval '10 minutes')`).Scan(&due); err != nil {
			return fmt.Errorf("snapshots due: %w", err)
		}
		if due == 0 {
			return nil
		}
		if regmo.Exited() || time.Now().After(deadline) {
			return fmt.Errorf("%d daily snapshots still due:\n%s", due, regmo.Tail(20))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// timeReport asks for a readiness report once to warm up and then runs times, and returns the
// median; every answer must count all entries.
func timeReport(ctx context.Context, rawURL, token string, runs, entries int) (float64, error) {
	client := &http.Client{Timeout: 5 * time.Minute}
	var times []float64
	for i := 0; i <= runs; i++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
		if err != nil {
			return 0, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		t0 := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		elapsed := time.Since(t0).Seconds()
		if err != nil {
			return 0, err
		}
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("%s: %s: %s", rawURL, resp.Status, body)
		}
		var rep struct {
			Total struct {
				Registers, Onlinedienste struct{ Count int }
			}
		}
		if err := json.Unmarshal(body, &rep); err != nil {
			return 0, fmt.Errorf("%s: %w", rawURL, err)
		}
		if got := rep.Total.Registers.Count + rep.Total.Onlinedienste.Count; got != entries {
			return 0, fmt.Errorf("%s counted %d entries, want %d", rawURL, got, entries)
		}
		if i > 0 {
			times = append(times, elapsed)
		}
	}
	return median(times), nil
}

// memory reads a process's resident set and its peak (VmRSS, VmHWM) in bytes.
func memory(pid int) (rss, peak int64, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, fmt.Errorf("memory of regmo: %w", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		var kb int64
		if _, err := fmt.Sscanf(line, "VmRSS: %d kB", &kb); err == nil {
			rss = kb << 10
		} else if _, err := fmt.Sscanf(line, "VmHWM: %d kB", &kb); err == nil {
			peak = kb << 10
		}
	}
	if rss == 0 {
		return 0, 0, fmt.Errorf("memory of regmo: no VmRSS in /proc/%d/status", pid)
	}
	return rss, peak, nil
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

// size writes a byte count in GiB or MiB.
func size(b int64) string {
	if b >= 1<<30 {
		return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
	}
	return mib(b)
}

// scaleGetScript makes wrk ask for a random register of n seeded entries (i % 4 = 0 are
// Onlinedienste, so those pick i - 1).
func scaleGetScript(n int) string {
	return wrkScript(n, `  local i = math.random(n)
  if i %% 4 == 0 then i = i - 1 end
  return wrk.format("GET", string.format("/v1/ressorts/%%s/registers/r-%%d", ressorts[1 + i %% 10], i))`)
}

// growthSection is the Markdown of section "Growth".
func growthSection(cfg config, points []scalePoint, started time.Time, took time.Duration, conns int, machine, commit string) string {
	var b strings.Builder
	b.WriteString(growthHeading + "\n\n")
	fmt.Fprintf(&b, "Written by `make bench-scale` (cmd/benchtable -scale) on %s (took %s), commit %s, %s; run it again to replace this section. ",
		started.Format("2006-01-02 15:04 MST"), took.Round(time.Second), commit, machine)
	fmt.Fprintf(&b, "One throwaway cluster (devdb -fast) is filled step by step to each size (INSERT … SELECT generate_series as the owner: "+
		"10 Ressorts, 3 in 4 entries registers, 1 in 4 Onlinedienste, created a year before the run, every entry with its current version "+
		"in entry_versions and 2 in 3 with an older one, changed at one of the %d hours since, versions written in the order of their writes as regmo writes them, events for each creation and change). At each size a fresh `regmo serve` answers, as an `ozg-koordination` user: "+
		"`GET /v1/reports/readiness` and the same `?as_of=` 24 hours back (median of %d after one warm-up, over HTTP; it starts from the daily "+
		"snapshot of the readiness figures at the midnight before, which regmo takes at start, in the time the table shows, and adds the versions "+
		"that began or ended since, whose number the table shows too), then GET one random "+
		"register and `GET /v1/registers?limit=100` under wrk (%d conn., %s after %s warm-up); then its memory is read from /proc "+
		"(VmRSS, peak VmHWM). regmo's memory should stay flat in N: the report aggregates in SQL, and pages are keyset-paginated.\n\n",
		historyHours, cfg.reports, conns, cfg.duration, cfg.warmup)
	b.WriteString("| Entries | Events | Readiness report | as of a day back | GET one register | GET list page of 100 | regmo RSS (peak) | Database | Seeding | Snapshots at start |\n")
	b.WriteString("|--:|--:|--:|--:|---|---|---|--:|--:|--:|\n")
	for _, p := range points {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s req/s · p99 %s%s | %s req/s · p99 %s%s | %s (%s) | %s | %s | %s |\n",
			thousands(float64(p.entries)), thousands(float64(p.events)), dur(p.report),
			dur(p.asOf)+" ("+thousands(float64(p.sinceSnapshot))+" since the snapshot)",
			thousands(p.get.rps), dur(p.get.p99), suffix(p.get.errors),
			thousands(p.list.rps), dur(p.list.p99), suffix(p.list.errors),
			mib(p.rss), mib(p.peakRSS), size(p.dbSize), p.seed.Round(time.Second), p.snapshots.Round(100*time.Millisecond))
	}
	if cfg.png != "" {
		link := filepath.Base(cfg.png)
		if cfg.out != "" {
			if rel, err := filepath.Rel(filepath.Dir(cfg.out), cfg.png); err == nil {
				link = filepath.ToSlash(rel)
			}
		}
		fmt.Fprintf(&b, "\n![growth](%s)\n", link)
	}
	return b.String()
}

// replaceSection replaces the section that starts with heading (up to the next "## " heading
// or the end) by sec, or appends sec when doc has none.
func replaceSection(doc, heading, sec string) string {
	before, rest, found := cutSection(doc, heading)
	if !found {
		doc = strings.TrimRight(doc, "\n")
		if doc == "" {
			return sec
		}
		return doc + "\n\n" + sec
	}
	out := before + sec
	if rest != "" {
		out += "\n" + rest
	}
	return out
}

// cutSection splits doc around the section that starts with heading: what comes before it,
// and what follows it (from the next "## " heading on).
func cutSection(doc, heading string) (before, after string, found bool) {
	i := -1
	if strings.HasPrefix(doc, heading+"\n") {
		i = 0
	} else if j := strings.Index(doc, "\n"+heading+"\n"); j >= 0 {
		i = j + 1
	}
	if i < 0 {
		return doc, "", false
	}
	before = doc[:i]
	body := doc[i+len(heading)+1:]
	if j := strings.Index(body, "\n## "); j >= 0 {
		after = body[j+1:]
	}
	return before, after, true
}

// section returns the section of doc that starts with heading, or "".
func section(doc, heading string) string {
	before, after, found := cutSection(doc, heading)
	if !found {
		return ""
	}
	return strings.TrimRight(strings.TrimSuffix(strings.TrimPrefix(doc, before), after), "\n") + "\n"
}

// plainTicks are gonum's default ticks labelled without trailing zeros (5000, not 5000.00).
type plainTicks struct{}

// Ticks implements plot.Ticker.
func (plainTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = strconv.FormatFloat(ticks[i].Value, 'f', -1, 64)
		}
	}
	return ticks
}

// shortCount writes 100000 as 100 k and 6000000 as 6 M.
func shortCount(n int) string {
	switch {
	case n >= 1_000_000 && n%100_000 == 0:
		return strconv.FormatFloat(float64(n)/1e6, 'f', -1, 64) + " M"
	case n >= 1_000 && n%100 == 0:
		return strconv.FormatFloat(float64(n)/1e3, 'f', -1, 64) + " k"
	default:
		return strconv.Itoa(n)
	}
}

// writeGrowthPNG draws the figures against N (log x, linear y from 0) in three panels: the reports' times, the
// requests/s, regmo's memory.
func writeGrowthPNG(path string, points []scalePoint) error {
	xs := func(f func(scalePoint) float64) plotter.XYs {
		out := make(plotter.XYs, len(points))
		for i, p := range points {
			out[i] = plotter.XY{X: float64(p.entries), Y: f(p)}
		}
		return out
	}
	type series struct {
		name string
		xy   plotter.XYs
	}
	// The x axis is logarithmic with a tick at every size measured.
	var ticks []plot.Tick
	for _, p := range points {
		ticks = append(ticks, plot.Tick{Value: float64(p.entries), Label: shortCount(p.entries)})
	}
	panel := func(title, unit string, ss ...series) (*plot.Plot, error) {
		p := plot.New()
		p.Title.Text = title
		p.X.Label.Text = "entries (log scale)"
		p.Y.Label.Text = unit
		p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, plot.ConstantTicks(ticks)
		// Room above the lines for the legend.
		top := 0.0
		for _, s := range ss {
			for _, xy := range s.xy {
				top = max(top, xy.Y)
			}
		}
		p.Y.Min, p.Y.Max = 0, max(top*1.4, 1)
		p.Y.Tick.Marker = plainTicks{}
		p.Legend.Top = true
		colors := []color.Color{color.RGBA{0, 90, 160, 255}, color.RGBA{200, 80, 0, 255}}
		for i, s := range ss {
			line, pts, err := plotter.NewLinePoints(s.xy)
			if err != nil {
				return nil, err
			}
			line.Color, pts.Color = colors[i%len(colors)], colors[i%len(colors)]
			pts.Shape = draw.CircleGlyph{}
			if i == 1 {
				line.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			}
			p.Add(line, pts)
			p.Legend.Add(s.name, line, pts)
		}
		return p, nil
	}
	ms := func(f func(scalePoint) float64) plotter.XYs {
		return xs(func(p scalePoint) float64 { return f(p) * 1e3 })
	}
	times, err := panel("Readiness report (median)", "ms",
		series{"now", ms(func(p scalePoint) float64 { return p.report })},
		series{"as of a day back", ms(func(p scalePoint) float64 { return p.asOf })})
	if err != nil {
		return err
	}
	rps, err := panel("Requests/s under wrk", "req/s",
		series{"GET one register", xs(func(p scalePoint) float64 { return p.get.rps })},
		series{"GET list page of 100", xs(func(p scalePoint) float64 { return p.list.rps })})
	if err != nil {
		return err
	}
	mem, err := panel("regmo's memory after the runs", "MiB",
		series{"RSS", xs(func(p scalePoint) float64 { return float64(p.rss) / (1 << 20) })},
		series{"peak RSS", xs(func(p scalePoint) float64 { return float64(p.peakRSS) / (1 << 20) })})
	if err != nil {
		return err
	}
	img := vgimg.New(vg.Points(560), vg.Points(900))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 3, Cols: 1, PadTop: vg.Points(8), PadBottom: vg.Points(8), PadLeft: vg.Points(8),
		PadRight: vg.Points(12), PadY: vg.Points(18)}
	plots := [][]*plot.Plot{{times}, {rps}, {mem}}
	canvases := plot.Align(plots, tiles, dc)
	for i := range plots {
		plots[i][0].Draw(canvases[i][0])
	}
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}
