// Command benchtable is `make bench`: it starts a throwaway PostgreSQL (devdb -fast), loads
// 10 Ressorts × N registers, runs regmo and the bare baseline server (cmd/baseline) side by
// side under wrk, runs the Go benchmarks of the authorization decision, the readiness report
// and the import, and prints one table of medians with the ratios to their ceilings. The
// table also goes, with the machine, date and commit, to BENCHMARKS.md.
//
// With -scale (make bench-scale) it measures growth instead: one cluster filled to each of
// -sizes entries, regmo's readiness report (now and as of a day back), GET one, a list page
// and regmo's memory at each size; a table in BENCHMARKS.md's section "Growth" and a chart
// (-png). A run without -scale keeps that section.
//
// Usage (make bench builds the binaries into bin/ first):
//
//	benchtable [-bin bin] [-dir DIR] [-out BENCHMARKS.md] [-runs 3] [-pairs 6] [-duration 5s]
//	benchtable -scale [-sizes 100000,1000000,6000000] [-png BENCHMARKS-scale.png] [-reports 5] [-duration 5s]
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bremen/regmo/cmd/internal/harness"
)

var ressorts = []string{"SF", "SK", "SIS", "SBMS", "SASJI", "SJV", "SKB", "SWHT", "MAG-BHV", "ZGF"}

type config struct {
	bin, dir, out, goCmd string
	runs                 int
	pairs                int // regmo and the JSON-SQL ceiling back to back, per request
	duration, warmup     time.Duration
	perRessort           int
	conns                []int
	http, goBench        bool
	// -scale (make bench-scale)
	scale   bool
	sizes   []int
	png     string
	reports int
}

func main() {
	var cfg config
	var conns string
	flag.StringVar(&cfg.bin, "bin", "bin", "directory with regmo, devdb and baseline")
	flag.StringVar(&cfg.dir, "dir", "", "working directory for the cluster and logs (default: a new temporary one)")
	flag.StringVar(&cfg.out, "out", "BENCHMARKS.md", "Markdown file to write the table to (empty: none)")
	flag.StringVar(&cfg.goCmd, "go", "go", "the go command, for the Go benchmarks")
	flag.IntVar(&cfg.runs, "runs", 3, "runs of every measurement; the table shows medians")
	flag.IntVar(&cfg.pairs, "pairs", 6, "adjacent runs of regmo and the JSON-SQL ceiling per request at the highest connection count; their ratios' median counts")
	flag.DurationVar(&cfg.duration, "duration", 5*time.Second, "length of one wrk run")
	flag.DurationVar(&cfg.warmup, "warmup", 2*time.Second, "wrk warm-up per server and request before the runs")
	flag.IntVar(&cfg.perRessort, "registers", 1000, "registers per Ressort (10 Ressorts)")
	flag.StringVar(&conns, "conns", "1,16,64", "connection counts")
	flag.BoolVar(&cfg.http, "http", true, "run the HTTP load part")
	flag.BoolVar(&cfg.goBench, "gobench", true, "run the Go benchmarks")
	flag.BoolVar(&cfg.scale, "scale", false, "measure growth instead (make bench-scale): section \"Growth\" of -out and a chart")
	sizes := flag.String("sizes", "100000,1000000,6000000", "with -scale: entry counts to measure at (1M, 100k allowed)")
	flag.StringVar(&cfg.png, "png", "", "with -scale: the chart (default: BENCHMARKS-scale.png next to -out)")
	flag.IntVar(&cfg.reports, "reports", 5, "with -scale: readiness reports per size (the median counts)")
	flag.Parse()
	if cfg.scale {
		var err error
		if cfg.sizes, err = parseSizes(*sizes); err != nil {
			fmt.Fprintf(os.Stderr, "benchtable: -sizes: %v\n", err)
			os.Exit(2)
		}
		if cfg.png == "" && cfg.out != "" {
			cfg.png = filepath.Join(filepath.Dir(cfg.out), "BENCHMARKS-scale.png")
		}
	}
	if cfg.runs < 1 || cfg.pairs < 0 {
		fmt.Fprintf(os.Stderr, "benchtable: -runs must be at least 1 and -pairs at least 0\n")
		os.Exit(2)
	}
	for _, c := range strings.Split(conns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "benchtable: bad -conns %q\n", conns)
			os.Exit(2)
		}
		cfg.conns = append(cfg.conns, n)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	do := run
	if cfg.scale {
		do = runScale
	}
	err := do(ctx, cfg)
	interrupted := ctx.Err() != nil
	stop()
	if err != nil {
		if interrupted {
			err = harness.ErrInterrupted
		}
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config) error {
	start := time.Now()
	if cfg.http {
		if err := ensureWrk(ctx); err != nil {
			return err
		}
	}
	env, err := harness.Start(ctx, harness.Options{Bin: cfg.bin, Dir: cfg.dir, Fast: true})
	if env != nil {
		defer env.Close()
	}
	if err != nil {
		return err
	}
	env.Logf("PostgreSQL (fsync off) at %s", env.AdminURL)
	rep := report{cfg: cfg, machine: harness.Machine(), started: start}
	rep.postgres = postgresVersion(ctx, env.DBURL)
	rep.wrk = wrkVersion()
	rep.goVersion = goVersion(ctx, cfg.goCmd)
	rep.commit = gitCommit(ctx)

	var failures []string
	if cfg.http {
		if err := httpPart(ctx, env, cfg, &rep); err != nil {
			if ctx.Err() != nil {
				return err
			}
			failures = append(failures, "HTTP load: "+err.Error())
			env.Logf("HTTP load failed: %v", err)
		}
	}
	if cfg.goBench {
		if err := goPart(ctx, env, cfg, &rep); err != nil {
			if ctx.Err() != nil {
				return err
			}
			failures = append(failures, "Go benchmarks: "+err.Error())
			env.Logf("Go benchmarks failed: %v", err)
		}
		// A failure costs the section, not the table.
		if p, err := importProfile(ctx, env, cfg); err != nil {
			env.Logf("import profile failed: %v", err)
			rep.importProfileErr = err.Error()
		} else {
			rep.importProfile = p
		}
	}
	rep.elapsed = time.Since(start)
	rep.failures = failures
	md := rep.markdown()
	fmt.Println()
	fmt.Print(md)
	if cfg.out != "" {
		// The section make bench-scale wrote stays.
		if old, err := os.ReadFile(cfg.out); err == nil {
			if growth := section(string(old), growthHeading); growth != "" {
				md += "\n" + growth
			}
		}
		if err := os.WriteFile(cfg.out, []byte(md), 0o644); err != nil {
			return err
		}
		env.Logf("written to %s", cfg.out)
	}
	if len(failures) > 0 {
		return fmt.Errorf("%d part(s) failed: %s", len(failures), strings.Join(failures, "; "))
	}
	return nil
}

// ensureWrk installs wrk from Debian when it is missing.
func ensureWrk(ctx context.Context) error {
	if _, err := exec.LookPath("wrk"); err == nil {
		return nil
	}
	if os.Geteuid() != 0 {
		return errors.New("wrk is missing: install it (apt-get install wrk) and run again")
	}
	fmt.Fprintln(os.Stderr, "benchtable: installing wrk (apt-get)")
	for _, args := range [][]string{{"update", "-q"}, {"install", "-y", "-q", "wrk"}} {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("apt-get %s: %w", strings.Join(args, " "), err)
		}
	}
	return nil
}

// ---- HTTP load ----

// target is one server under load.
type target struct {
	name string // regmo or baseline
	base string
	auth string // Authorization header, regmo only
}

// request is one kind of request under load.
type request struct {
	name   string // table label
	path   string // fixed path, or "" with script
	script string // wrk Lua script choosing the path
}

type httpResult struct {
	rps, p50, p99 float64 // requests/s, seconds
	errors        string  // non-2xx answers and socket errors, when any
}

type httpCell struct {
	request, server string
	conns           int
	runs            []httpResult
}

// httpPair is one run of regmo and one of the JSON-SQL ceiling, back to back on the same
// request: drift of the machine that spans more than a pair moves both sides alike.
type httpPair struct {
	request        string
	conns          int
	regmoFirst     bool
	regmo, jsonSQL httpResult
}

func (p httpPair) ratio() float64 { return p.regmo.rps / p.jsonSQL.rps }

// first names the side of the pair that ran first, for the log and the table.
func (p httpPair) first() string {
	if p.regmoFirst {
		return "regmo"
	}
	return "JSON-SQL"
}

func httpPart(ctx context.Context, env *harness.Env, cfg config, rep *report) error {
	n := cfg.perRessort
	env.Logf("loading %d Ressorts × %d registers", len(ressorts), n)
	err := env.Exec(ctx, env.DBURL, fmt.Sprintf(`INSERT INTO entries (kind, ressort, key, name, description,
			legal_basis, created_at, updated_at, updated_by,
			idnr_stage, idnr_target_date, idnr_note, noots_stage, noots_target_date, dsc_stage)
		SELECT 'register', r.code, 'r-' || lpad(i::text, 5, '0'), 'Register ' || i || ' des Ressorts ' || r.code,
		       'Ein Register, das der Benchmark erzeugt hat, mit einer Beschreibung von üblicher Länge.',
		       '§ 1 IDNrG', now(), now(), 'bench',
		       (ARRAY['not_started','planned','in_progress','testing','live']::stage[])[1 + i %% 5],
		       DATE '2026-01-01' + (i %% 1000), 'Notiz ' || i,
		       (ARRAY['not_started','planned','in_progress','testing','live']::stage[])[1 + (i / 5) %% 5],
		       DATE '2027-06-30',
		       (ARRAY['not_started','planned','in_progress','testing','live']::stage[])[1 + (i / 25) %% 5]
		FROM ressorts r, generate_series(1, %d) i
		WHERE r.code = ANY(ARRAY['%s'])`, n, strings.Join(ressorts, "','")),
		`VACUUM ANALYZE entries`)
	if err != nil {
		return err
	}
	token, err := env.Token(ctx, "bench", "ozg-koordination", "")
	if err != nil {
		return err
	}
	regmoPort, err := harness.FreePort()
	if err != nil {
		return err
	}
	metricsPort, err := harness.FreePort()
	if err != nil {
		return err
	}
	basePort, err := harness.FreePort()
	if err != nil {
		return err
	}
	// Its profiles listener (off by default) serves the CPU profile of the run after the
	// measured ones; idle, it costs nothing.
	pprofPort, err := harness.FreePort()
	if err != nil {
		return err
	}
	regmo, err := env.StartProcess("regmo", []string{
		"DATABASE_URL=" + env.DBURL, "REGMO_MIGRATE=false",
		fmt.Sprintf("REGMO_ADDR=127.0.0.1:%d", regmoPort),
		fmt.Sprintf("REGMO_METRICS_ADDR=127.0.0.1:%d", metricsPort),
		fmt.Sprintf("REGMO_PPROF_ADDR=127.0.0.1:%d", pprofPort),
	}, env.BinPath("regmo"), "serve")
	if err != nil {
		return err
	}
	lookupPort, err := harness.FreePort()
	if err != nil {
		return err
	}
	baseline, err := env.StartProcess("baseline", []string{"DATABASE_URL=" + env.DBURL},
		env.BinPath("baseline"), "-addr", fmt.Sprintf("127.0.0.1:%d", basePort))
	if err != nil {
		return err
	}
	// The same ceiling, but also running regmo's token lookup on every request: what regmo
	// would give up without its caller cache.
	lookup, err := env.StartProcess("baseline-token-lookup", []string{"DATABASE_URL=" + env.DBURL},
		env.BinPath("baseline"), "-addr", fmt.Sprintf("127.0.0.1:%d", lookupPort), "-token-lookup")
	if err != nil {
		return err
	}
	// The second ceiling: PostgreSQL builds each answer's JSON in one statement.
	jsonPort, err := harness.FreePort()
	if err != nil {
		return err
	}
	jsonSQL, err := env.StartProcess("baseline-json-sql", []string{"DATABASE_URL=" + env.DBURL},
		env.BinPath("baseline"), "-addr", fmt.Sprintf("127.0.0.1:%d", jsonPort), "-json-sql")
	if err != nil {
		return err
	}
	targets := []target{
		{"regmo", fmt.Sprintf("http://127.0.0.1:%d", regmoPort), "Bearer " + token},
		{"baseline", fmt.Sprintf("http://127.0.0.1:%d", basePort), ""},
	}
	lookupTarget := target{lookupName, fmt.Sprintf("http://127.0.0.1:%d", lookupPort), "Bearer " + token}
	jsonTarget := target{jsonSQLName, fmt.Sprintf("http://127.0.0.1:%d", jsonPort), ""}
	// Measured at the highest connection count only. The JSON-SQL ceiling is not among them:
	// it runs in pairs with regmo after the regular runs.
	extraTargets := []target{lookupTarget}
	probe := "/v1/ressorts/SF/registers/r-00001"
	auth := http.Header{"Authorization": {"Bearer " + token}}
	if err := harness.WaitHTTP(ctx, regmo, targets[0].base+probe, auth, 200, 30*time.Second); err != nil {
		return err
	}
	if err := harness.WaitHTTP(ctx, baseline, targets[1].base+probe, nil, 200, 30*time.Second); err != nil {
		return err
	}
	if err := harness.WaitHTTP(ctx, lookup, lookupTarget.base+probe, auth, 200, 30*time.Second); err != nil {
		return err
	}
	if err := harness.WaitHTTP(ctx, jsonSQL, jsonTarget.base+probe, nil, 200, 30*time.Second); err != nil {
		return err
	}
	maxConns := slices.Max(cfg.conns)
	script := filepath.Join(env.Dir, "get-one.lua")
	if err := os.WriteFile(script, []byte(getScript(n)), 0o644); err != nil {
		return err
	}
	requests := []request{
		{name: "GET one register", script: script},
		{name: "GET list page of 100", path: "/v1/registers?limit=100"},
	}
	rep.httpSetup = fmt.Sprintf("%d registers (10 Ressorts × %d); GET one picks a random register per request; "+
		"the list is `GET /v1/registers?limit=100` (first page, ordered by Ressort and key); regmo is called as an "+
		"`ozg-koordination` user with its default JSON request log and metrics on", len(ressorts)*n, n)
	env.Logf("warm-up")
	for _, rq := range requests {
		for _, t := range append(slices.Clone(targets), lookupTarget, jsonTarget) {
			if _, err := wrk(ctx, t, rq, 16, cfg.warmup); err != nil {
				return err
			}
		}
	}
	cells := map[string]*httpCell{}
	var order []string
	for run := 1; run <= cfg.runs; run++ {
		for _, rq := range requests {
			for _, c := range cfg.conns {
				// Alternate which server goes first, so that neither always follows the other.
				ts := slices.Clone(targets)
				if run%2 == 0 {
					slices.Reverse(ts)
				}
				if c == maxConns {
					ts = append(ts, extraTargets...)
				}
				for _, t := range ts {
					res, err := wrk(ctx, t, rq, c, cfg.duration)
					if err != nil {
						return err
					}
					key := fmt.Sprintf("%s|%d|%s", rq.name, c, t.name)
					cell, ok := cells[key]
					if !ok {
						cell = &httpCell{request: rq.name, server: t.name, conns: c}
						cells[key] = cell
						order = append(order, key)
					}
					cell.runs = append(cell.runs, res)
					env.Logf("run %d/%d  %-22s %2d conns  %-8s %8.0f req/s  p50 %s  p99 %s%s", run, cfg.runs, rq.name, c, t.name,
						res.rps, dur(res.p50), dur(res.p99), suffix(res.errors))
				}
			}
		}
	}
	for _, key := range order {
		rep.http = append(rep.http, *cells[key])
	}
	// The JSON-SQL ceiling's rate drifts between runs by more than the gap measured, so each
	// of its runs has a run of regmo right beside it, the pair's order alternating; the ratio
	// is taken within each pair.
	for i := 1; i <= cfg.pairs; i++ {
		for _, rq := range requests {
			p := httpPair{request: rq.name, conns: maxConns, regmoFirst: i%2 == 1}
			slots := []*httpResult{&p.regmo, &p.jsonSQL}
			ts := []target{targets[0], jsonTarget}
			if !p.regmoFirst {
				slices.Reverse(slots)
				slices.Reverse(ts)
			}
			for k, t := range ts {
				res, err := wrk(ctx, t, rq, maxConns, cfg.duration)
				if err != nil {
					return err
				}
				*slots[k] = res
			}
			rep.pairs = append(rep.pairs, p)
			env.Logf("pair %d/%d  %-22s %2d conns  %-8s first  regmo %8.0f req/s  json-sql %8.0f req/s  ratio %3.0f %%%s%s", i, cfg.pairs, rq.name, maxConns,
				p.first(), p.regmo.rps, p.jsonSQL.rps, 100*p.ratio(), suffix(p.regmo.errors), suffix(p.jsonSQL.errors))
		}
	}
	// One more run of GET one at the highest connection count, not counted: regmo's CPU
	// profile meanwhile says where its time goes. A failure costs the section, not the table.
	prof, err := profileRun(ctx, env, cfg, targets[0], requests[0], maxConns, fmt.Sprintf("http://127.0.0.1:%d", pprofPort))
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		env.Logf("profile failed: %v", err)
		rep.profileErr = err.Error()
	}
	rep.profile = prof
	if regmo.Exited() {
		return fmt.Errorf("regmo exited during the load:\n%s", regmo.Tail(20))
	}
	_ = regmo.Stop(10 * time.Second)
	_ = baseline.Stop(10 * time.Second)
	_ = lookup.Stop(10 * time.Second)
	_ = jsonSQL.Stop(10 * time.Second)
	return nil
}

// lookupName names the baseline that also looks up the token; jsonSQLName the baseline whose
// answers PostgreSQL builds (baseline -json-sql).
const (
	lookupName  = "baseline+token"
	jsonSQLName = "json-sql"
)

func suffix(s string) string {
	if s == "" {
		return ""
	}
	return "  (" + s + ")"
}

// getScript makes wrk ask for a random register of a random Ressort on every request.
func getScript(n int) string {
	return wrkScript(n, `  local path = string.format("/v1/ressorts/%%s/registers/r-%%05d", ressorts[math.random(#ressorts)], math.random(n))
  return wrk.format("GET", path)`)
}

// wrkScript is a wrk script whose threads are seeded apart and whose request function has
// the body given (a Lua fragment, as a format string: %% for %), with ressorts and n defined.
func wrkScript(n int, request string) string {
	return fmt.Sprintf(`local ressorts = {"%s"}
local n = %d
local counter = 0
setup = function(thread)
  counter = counter + 1
  thread:set("seed", counter)
end
init = function(args)
  math.randomseed(os.time() + seed * 7919)
end
request = function()
`+request+`
end
`, strings.Join(ressorts, `","`), n)
}

var (
	wrkRPS     = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkPct     = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s)\s*$`)
	wrkNon2xx  = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	wrkSockets = regexp.MustCompile(`Socket errors: (.*)`)
)

// wrk runs one load and reads its requests/s and latency percentiles.
func wrk(ctx context.Context, t target, rq request, conns int, d time.Duration) (httpResult, error) {
	threads := min(conns, 2)
	args := []string{"-t", strconv.Itoa(threads), "-c", strconv.Itoa(conns), "-d", d.String(), "--latency", "--timeout", "10s"}
	if t.auth != "" {
		args = append(args, "-H", "Authorization: "+t.auth)
	}
	path := rq.path
	if rq.script != "" {
		args = append(args, "-s", rq.script)
		path = "/"
	}
	args = append(args, t.base+path)
	cmd := harness.Command(ctx, "wrk", args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return httpResult{}, fmt.Errorf("wrk %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return parseWrk(string(out))
}

// parseWrk reads wrk --latency's output.
func parseWrk(text string) (httpResult, error) {
	var res httpResult
	m := wrkRPS.FindStringSubmatch(text)
	if m == nil {
		return httpResult{}, fmt.Errorf("wrk printed no Requests/sec:\n%s", text)
	}
	res.rps, _ = strconv.ParseFloat(m[1], 64)
	for _, pm := range wrkPct.FindAllStringSubmatch(text, -1) {
		v, _ := strconv.ParseFloat(pm[2], 64)
		switch pm[3] {
		case "us":
			v /= 1e6
		case "ms":
			v /= 1e3
		}
		if pm[1] == "50" {
			res.p50 = v
		} else {
			res.p99 = v
		}
	}
	var errs []string
	if m := wrkNon2xx.FindStringSubmatch(text); m != nil {
		errs = append(errs, m[1]+" non-2xx")
	}
	if m := wrkSockets.FindStringSubmatch(text); m != nil {
		errs = append(errs, "socket errors: "+m[1])
	}
	res.errors = strings.Join(errs, ", ")
	return res, nil
}

// ---- the profile ----

// profileTop is how many functions each of the profile's two lists shows.
const profileTop = 12

// cpuProfile is what go tool pprof makes of regmo's CPU profile during one run.
type cpuProfile struct {
	heading, about   string // the section's heading and what was profiled (Markdown)
	request          string
	conns            int
	rps              float64
	seconds          float64
	byFlat, byCum    []string // pprof -top lines: flat flat% sum% cum cum% function
	total, file, bin string
}

// profileRun runs wrk once more on rq against regmo and fetches regmo's CPU profile of the
// run's middle (the run minus its first and last half second) from its profiles listener.
func profileRun(ctx context.Context, env *harness.Env, cfg config, t target, rq request, conns int, pprofBase string) (*cpuProfile, error) {
	seconds := int((cfg.duration - time.Second) / time.Second)
	if seconds < 1 {
		seconds = 1
	}
	file := filepath.Join(env.Dir, "regmo-get-one.pprof")
	type fetched struct{ err error }
	done := make(chan fetched, 1)
	go func() {
		select {
		case <-time.After(500 * time.Millisecond):
		case <-ctx.Done():
			done <- fetched{ctx.Err()}
			return
		}
		done <- fetched{fetchProfile(ctx, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", pprofBase, seconds), file)}
	}()
	res, err := wrk(ctx, t, rq, conns, cfg.duration)
	f := <-done
	if err != nil {
		return nil, err
	}
	if f.err != nil {
		return nil, f.err
	}
	p := &cpuProfile{heading: profileHeading, request: rq.name, conns: conns, rps: res.rps, seconds: float64(seconds), file: file, bin: env.BinPath("regmo")}
	if err := p.top(ctx, cfg); err != nil {
		return nil, err
	}
	p.about = fmt.Sprintf("regmo's CPU profile (`/debug/pprof/profile` of its `REGMO_PPROF_ADDR` listener) during one more wrk run of %s at %d conn. "+
		"after the measured ones (%s req/s then; not in the table above): %.0f s from the run's middle, %s.",
		p.request, p.conns, thousands(p.rps), p.seconds, p.total)
	env.Logf("profile of regmo, %s at %d conns (%.0f req/s): %s", rq.name, conns, res.rps, p.total)
	return p, nil
}

// top fills the profile's two lists from go tool pprof -top of its file.
func (p *cpuProfile) top(ctx context.Context, cfg config) error {
	for _, sort := range []string{"-flat", "-cum"} {
		cmd := harness.Command(ctx, cfg.goCmd, "tool", "pprof", "-top", sort, fmt.Sprintf("-nodecount=%d", profileTop), p.bin, p.file)
		out, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("go tool pprof: %w", err)
		}
		total, lines := parsePprofTop(string(out))
		if sort == "-flat" {
			p.byFlat = lines
		} else {
			p.byCum = lines
		}
		p.total = total
	}
	return nil
}

// importProfileHeading starts the import profile's section.
const importProfileHeading = "## Profile: where the import's Go time goes"

// importProfile runs BenchmarkImport/import once more (100,000 registers as CSV through the
// API), which profiles the import's request in its process: the server's Go side of the
// import; PostgreSQL's part of the time is not in it.
func importProfile(ctx context.Context, env *harness.Env, cfg config) (*cpuProfile, error) {
	p := &cpuProfile{heading: importProfileHeading, file: filepath.Join(env.Dir, "import.pprof"), bin: filepath.Join(env.Dir, "api.test")}
	cmd := harness.Command(ctx, cfg.goCmd, "test", "-run", "^$", "-bench", "^BenchmarkImport$/^import$", "-benchtime", "1x", "-count", "1",
		"-o", p.bin, "./api")
	// The benchmark profiles its import alone, not its setup (a fresh database, the inputs).
	cmd.Env = append(os.Environ(), "REGMO_TEST_DATABASE_URL="+env.AdminURL, "REGMO_BENCH_IMPORT_CPUPROFILE="+p.file)
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go test -cpuprofile: %w: %s", err, strings.TrimSpace(string(out)))
	}
	if err := p.top(ctx, cfg); err != nil {
		return nil, err
	}
	p.about = "The Go CPU profile of one more `BenchmarkImport/import` (api: 100,000 registers as CSV through the router, " +
		"the request alone, not in the table above): reading, validating, planning and encoding the COPY in regmo's process, " + p.total +
		". PostgreSQL's share of the import (most of its time: the rows of entries, entry_versions and events and their indexes) is not in it."
	env.Logf("profile of the import: %s", p.total)
	return p, nil
}

func fetchProfile(ctx context.Context, url, file string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("fetch profile: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("fetch profile: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("fetch profile: %w", err)
	}
	return f.Close()
}

// pprofTotal is the line of go tool pprof -top that tells the samples' total.
var pprofTotal = regexp.MustCompile(`Total samples = (\S+) \(([0-9.]+%)\)`)

// parsePprofTop reads go tool pprof -top's output: the samples' total ("10.65 s of CPU in
// 10 s, 106 %") and the function lines, without the header lines.
func parsePprofTop(out string) (total string, lines []string) {
	inTable := false
	for _, l := range strings.Split(out, "\n") {
		if m := pprofTotal.FindStringSubmatch(l); m != nil {
			total = m[1] + " CPU (" + m[2] + " of one core)"
		}
		if strings.HasPrefix(strings.TrimSpace(l), "flat ") {
			inTable = true
			continue
		}
		if inTable && strings.TrimSpace(l) != "" {
			lines = append(lines, strings.TrimRight(l, " "))
		}
	}
	return total, lines
}

// markdown is the profile's section of BENCHMARKS.md.
func (p *cpuProfile) markdown() string {
	var b strings.Builder
	b.WriteString(p.heading + "\n\n")
	fmt.Fprintf(&b, "%s Flat is the time in the function itself, cum with what it calls; `go tool pprof -top`, the top %d each.\n\n",
		p.about, profileTop)
	b.WriteString("By flat time:\n\n```\n      flat  flat%   sum%        cum   cum%\n")
	for _, l := range p.byFlat {
		b.WriteString(l + "\n")
	}
	b.WriteString("```\n\nBy cumulative time:\n\n```\n      flat  flat%   sum%        cum   cum%\n")
	for _, l := range p.byCum {
		b.WriteString(l + "\n")
	}
	b.WriteString("```\n")
	return b.String()
}

// profileHeading starts the profile's section.
const profileHeading = "## Profile: where regmo's time goes in GET one"

// ---- Go benchmarks ----

// benchLine is one result line of go test -bench.
var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+(\d+)\s+(.+)$`)

// goBenchmarks are the benchmarks the table shows, by package; others are not run.
const goBenchmarks = `^(BenchmarkDecide|BenchmarkDecideUncached|BenchmarkReadinessReport|BenchmarkImport|BenchmarkScopedRead|BenchmarkOverview)$`

func goPart(ctx context.Context, env *harness.Env, cfg config, rep *report) error {
	env.Logf("Go benchmarks (-count %d); BenchmarkReadinessReport seeds 1,000,000 entries per count", cfg.runs)
	args := []string{"test", "-p", "1", "-run", "^$", "-bench", goBenchmarks, "-count", strconv.Itoa(cfg.runs), "./api", "./api/web", "./domain/report", "./domain/store"}
	cmd := harness.Command(ctx, cfg.goCmd, args...)
	cmd.Env = append(os.Environ(), "REGMO_TEST_DATABASE_URL="+env.AdminURL)
	logPath := filepath.Join(env.Dir, "gobench.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		return err
	}
	waitErr := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		pw.Close()
		waitErr <- err
	}()
	rep.goResults = map[string][]map[string]float64{}
	var logs []string
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(logFile, line)
		if m := benchLine.FindStringSubmatch(line); m != nil {
			metrics := map[string]float64{}
			fields := strings.Fields(m[3])
			for i := 0; i+1 < len(fields); i += 2 {
				if v, err := strconv.ParseFloat(fields[i], 64); err == nil {
					metrics[fields[i+1]] = v
				}
			}
			rep.goResults[m[1]] = append(rep.goResults[m[1]], metrics)
			env.Logf("%s", strings.Join(strings.Fields(line), " "))
			continue
		}
		// Everything else a benchmark prints (its own ratio line, b.Log output, failures) is
		// kept for the table's notes; go test's own header and summary lines are not.
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || trimmed == "PASS" || strings.HasPrefix(trimmed, "ok ") ||
			slices.ContainsFunc([]string{"goos:", "goarch:", "pkg:", "cpu:"}, func(p string) bool { return strings.HasPrefix(trimmed, p) }) {
			continue
		}
		env.Logf("%s", trimmed)
		logs = append(logs, trimmed)
	}
	rep.goLogs = logs
	if err := <-waitErr; err != nil {
		return fmt.Errorf("go %s: %w (output in %s)", strings.Join(args, " "), err, logPath)
	}
	return nil
}

// ---- the table ----

type report struct {
	cfg                               config
	machine, postgres, wrk, goVersion string
	commit                            string
	started                           time.Time
	elapsed                           time.Duration
	httpSetup                         string
	http                              []httpCell
	pairs                             []httpPair
	goResults                         map[string][]map[string]float64
	goLogs                            []string
	failures                          []string
	profile                           *cpuProfile
	profileErr                        string
	importProfile                     *cpuProfile
	importProfileErr                  string
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// metric is the median of one metric of a Go benchmark over its counts; ok is false when the
// benchmark did not run.
func (r *report) metric(name, unit string) (float64, bool) {
	var xs []float64
	for _, m := range r.goResults[name] {
		if v, ok := m[unit]; ok {
			xs = append(xs, v)
		}
	}
	if len(xs) == 0 {
		return 0, false
	}
	return median(xs), true
}

func (r *report) cell(request string, conns int, server string) *httpCell {
	for i := range r.http {
		c := &r.http[i]
		if c.request == request && c.conns == conns && c.server == server {
			return c
		}
	}
	return nil
}

// pairsOf are the pairs of one request at one connection count, in the order they ran.
func (r *report) pairsOf(request string, conns int) []httpPair {
	var ps []httpPair
	for _, p := range r.pairs {
		if p.request == request && p.conns == conns {
			ps = append(ps, p)
		}
	}
	return ps
}

// pairRatio is the median of the pairs' own ratios (regmo's rate over the ceiling's of the
// same pair) and their range; n counts the pairs with a ceiling rate above zero, the others
// have no ratio.
func pairRatio(pairs []httpPair) (med, lo, hi float64, n int) {
	var rs []float64
	for _, p := range pairs {
		if p.jsonSQL.rps > 0 {
			rs = append(rs, p.ratio())
		}
	}
	if len(rs) == 0 {
		return 0, 0, 0, 0
	}
	return median(rs), slices.Min(rs), slices.Max(rs), len(rs)
}

func (c *httpCell) medians() (rps, p50, p99 float64, errs string) {
	var a, b, d []float64
	for _, r := range c.runs {
		a, b, d = append(a, r.rps), append(b, r.p50), append(d, r.p99)
		if r.errors != "" {
			errs = r.errors
		}
	}
	return median(a), median(b), median(d), errs
}

func dur(seconds float64) string {
	switch {
	case seconds == 0:
		return "–"
	case seconds < 1e-6:
		return fmt.Sprintf("%.0f ns", seconds*1e9)
	case seconds < 10e-6:
		return fmt.Sprintf("%.2f µs", seconds*1e6)
	case seconds < 1e-3:
		return fmt.Sprintf("%.0f µs", seconds*1e6)
	case seconds < 10e-3:
		return fmt.Sprintf("%.2f ms", seconds*1e3)
	case seconds < 1:
		return fmt.Sprintf("%.1f ms", seconds*1e3)
	default:
		return fmt.Sprintf("%.2f s", seconds)
	}
}

// thousands writes n with thin separators: 12,345.
func thousands(n float64) string {
	s := strconv.FormatInt(int64(n+0.5), 10)
	var b strings.Builder
	for i, ch := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(ch)
	}
	return b.String()
}

func verdict(ok bool) string {
	if ok {
		return "✓"
	}
	return "✗"
}

const notAvailable = "not available"

func (r *report) rows() [][]string {
	var rows [][]string
	// HTTP
	var requests []string
	for _, c := range r.http {
		if !slices.Contains(requests, c.request) {
			requests = append(requests, c.request)
		}
	}
	for _, rq := range requests {
		for _, n := range r.cfg.conns {
			reg, base := r.cell(rq, n, "regmo"), r.cell(rq, n, "baseline")
			if reg == nil || base == nil {
				continue
			}
			rr, r50, r99, rerr := reg.medians()
			br, b50, b99, berr := base.medians()
			ratio := rr / br
			target, met := "", ""
			if n == 64 {
				target, met = "≥ 50 %", verdict(ratio >= 0.5)
			}
			regmo := fmt.Sprintf("%s req/s · p50 %s · p99 %s%s", thousands(rr), dur(r50), dur(r99), suffix(rerr))
			ceiling := fmt.Sprintf("%s req/s · p50 %s · p99 %s%s", thousands(br), dur(b50), dur(b99), suffix(berr))
			rows = append(rows, []string{fmt.Sprintf("%s, %d conn.", rq, n), regmo, ceiling, fmt.Sprintf("%.0f %%", ratio*100), target, met})
			if lk := r.cell(rq, n, lookupName); lk != nil {
				lr, l50, l99, lerr := lk.medians()
				rows = append(rows, []string{fmt.Sprintf("↳ for comparison: the ceiling reading the token from PostgreSQL on every request, %d conn.", n), regmo,
					fmt.Sprintf("%s req/s · p50 %s · p99 %s%s (%.0f %% of the plain ceiling)", thousands(lr), dur(l50), dur(l99), suffix(lerr), 100*lr/br),
					fmt.Sprintf("%.0f %%", 100*rr/lr), "", ""})
			}
			if ps := r.pairsOf(rq, n); len(ps) > 0 {
				// Both sides from the pairs, so that the row's figures and its ratio are of the
				// same runs.
				reg := httpCell{request: rq, server: "regmo", conns: n}
				js := httpCell{request: rq, server: jsonSQLName, conns: n}
				for _, p := range ps {
					reg.runs, js.runs = append(reg.runs, p.regmo), append(js.runs, p.jsonSQL)
				}
				pr, p50, p99, perr := reg.medians()
				jr, j50, j99, jerr := js.medians()
				med, lo, hi, count := pairRatio(ps)
				ratio, met := notAvailable, ""
				if count > 0 {
					ratio = fmt.Sprintf("%.0f %% (median of %d pairs, %.0f–%.0f %%)", 100*med, count, 100*lo, 100*hi)
					met = verdict(med >= 0.8)
				}
				rows = append(rows, []string{fmt.Sprintf("↳ against the JSON-SQL ceiling (one statement builds the answer's JSON), %d conn.", n),
					fmt.Sprintf("%s req/s · p50 %s · p99 %s%s", thousands(pr), dur(p50), dur(p99), suffix(perr)),
					fmt.Sprintf("%s req/s · p50 %s · p99 %s%s (%.0f %% of the plain ceiling)", thousands(jr), dur(j50), dur(j99), suffix(jerr), 100*jr/br),
					ratio, "≥ 80 %", met})
			}
		}
	}
	if r.cfg.http && len(r.http) == 0 {
		rows = append(rows, []string{"HTTP load (GET one, list of 100)", "failed", "", "", "≥ 50 % at 64", "✗"})
	}
	if !r.cfg.goBench {
		return rows
	}
	// Readiness report
	rep, okR := r.metric("BenchmarkReadinessReport/report", "ns/op")
	agg, okA := r.metric("BenchmarkReadinessReport/sql_aggregate", "ns/op")
	switch {
	case okR && okA:
		ratio := rep / agg
		rows = append(rows, []string{"Readiness report, 1,000,000 entries", dur(rep / 1e9), "bare SQL aggregate " + dur(agg/1e9),
			fmt.Sprintf("%.2f×", ratio), "≤ 50 ms (counters)", verdict(rep <= 50e6)})
	case okR:
		rows = append(rows, []string{"Readiness report, 1,000,000 entries", dur(rep / 1e9), notAvailable, "", "≤ 50 ms (counters)", ""})
	default:
		rows = append(rows, []string{"Readiness report, 1,000,000 entries", notAvailable, "", "", "≤ 50 ms (counters)", ""})
	}
	// Import
	const importRows = 100_000
	rate := func(name string) (float64, float64, bool) {
		ns, ok := r.metric(name, "ns/op")
		if !ok {
			return 0, 0, false
		}
		if v, ok := r.metric(name, "rows/s"); ok {
			return v, ns / 1e9, true
		}
		return importRows / (ns / 1e9), ns / 1e9, true
	}
	// The ceiling is COPY of exactly the rows the import stores (its entries, their versions
	// and their events); COPY into entries alone, without the history and the audit trail
	// that every write keeps, is shown beside it.
	imp, impSec, okI := rate("BenchmarkImport/import")
	st, stSec, okS := rate("BenchmarkImport/copy-stored")
	cp, cpSec, okC := rate("BenchmarkImport/copy")
	switch {
	case okI && okS:
		ratio := imp / st
		rows = append(rows, []string{"Import of 100,000 registers (CSV)", fmt.Sprintf("%s rows/s (%s)", thousands(imp), dur(impSec)),
			fmt.Sprintf("COPY of the rows it stores (entries, versions, events) %s rows/s (%s)", thousands(st), dur(stSec)),
			fmt.Sprintf("%.0f %%", ratio*100), "< 10 s, ≥ 50 %", verdict(impSec < 10 && ratio >= 0.5)})
	case okI:
		rows = append(rows, []string{"Import of 100,000 registers (CSV)", fmt.Sprintf("%s rows/s (%s)", thousands(imp), dur(impSec)), notAvailable, "", "< 10 s, ≥ 50 %", ""})
	default:
		rows = append(rows, []string{"Import of 100,000 registers (CSV)", notAvailable, "", "", "< 10 s, ≥ 50 %", ""})
	}
	if okI && okC {
		rows = append(rows, []string{"↳ for comparison: COPY of the registers into entries alone (no versions, no events)",
			fmt.Sprintf("%s rows/s (%s)", thousands(imp), dur(impSec)), fmt.Sprintf("plain COPY %s rows/s (%s)", thousands(cp), dur(cpSec)),
			fmt.Sprintf("%.0f %%", imp/cp*100), "", ""})
	}
	// The same rows as an XLSX workbook (issue 14): no target of its own, shown next to CSV.
	if x, xSec, ok := rate("BenchmarkImport/xlsx"); ok {
		base, ratio := "", ""
		if okI {
			base, ratio = fmt.Sprintf("CSV import %s rows/s (%s)", thousands(imp), dur(impSec)), fmt.Sprintf("%.0f %%", x/imp*100)
		}
		rows = append(rows, []string{"Import of 100,000 registers (XLSX workbook)", fmt.Sprintf("%s rows/s (%s)", thousands(x), dur(xSec)), base, ratio, "", ""})
	} else {
		rows = append(rows, []string{"Import of 100,000 registers (XLSX workbook)", notAvailable, "", "", "", ""})
	}
	if re, reSec, ok := rate("BenchmarkImport/reimport"); ok {
		rows = append(rows, []string{"Re-import, 100,000 unchanged", fmt.Sprintf("%s rows/s (%s)", thousands(re), dur(reSec)), "", "", "< 5 s", verdict(reSec < 5)})
	} else {
		rows = append(rows, []string{"Re-import, 100,000 unchanged", notAvailable, "", "", "< 5 s", ""})
	}
	// Row-level security: the scope and the query in one pipeline, against the query alone
	// (the service before the second wall) and against a transaction of four round trips.
	for _, q := range []struct{ name, label string }{{"get", "GET one register"}, {"list", "list page of 100"}} {
		un, okU := r.metric("BenchmarkScopedRead/"+q.name+"/unscoped", "ns/op")
		pl, okP := r.metric("BenchmarkScopedRead/"+q.name+"/pipeline", "ns/op")
		if !okU || !okP {
			rows = append(rows, []string{"Row-level security, " + q.label + " (query in-process)", notAvailable, "", "", "", ""})
			continue
		}
		rows = append(rows, []string{"Row-level security, " + q.label + " (query in-process): scope + query in one pipeline",
			dur(pl / 1e9), "the query alone, no row-level security " + dur(un/1e9), fmt.Sprintf("%.2f×", pl/un), "", ""})
		if tx, ok := r.metric("BenchmarkScopedRead/"+q.name+"/transaction", "ns/op"); ok {
			rows = append(rows, []string{"↳ for comparison: BEGIN, scope, query, COMMIT", dur(tx / 1e9), "", fmt.Sprintf("%.2f×", tx/un), "", ""})
		}
	}
	// The web interface's overview (issue 13)
	if d, ok := r.metric("BenchmarkOverview", "ns/op"); ok {
		rows = append(rows, []string{"Web overview, 10,000 entries", dur(d / 1e9), "", "", "< 200 ms", verdict(d < 200e6)})
	} else {
		rows = append(rows, []string{"Web overview, 10,000 entries", notAvailable, "", "", "< 200 ms", ""})
	}
	// Authorization
	if d, ok := r.metric("BenchmarkDecide", "ns/op"); ok {
		ceiling, ratio := "", ""
		if u, ok := r.metric("BenchmarkDecideUncached", "ns/op"); ok {
			ceiling, ratio = "Casbin evaluated each time "+dur(u/1e9), fmt.Sprintf("%.1f %%", 100*d/u)
		}
		rows = append(rows, []string{"Authorization decision", dur(d / 1e9), ceiling, ratio, "< 5 µs", verdict(d < 5000)})
	} else {
		rows = append(rows, []string{"Authorization decision", notAvailable, "", "", "< 5 µs", ""})
	}
	return rows
}

func (r *report) markdown() string {
	var b strings.Builder
	b.WriteString("# Benchmarks\n\n")
	b.WriteString("Written by `make bench` (cmd/benchtable); run it again to replace this file. Absolute figures depend on\n")
	b.WriteString("the machine and on what else it is doing; the ratios compare figures of one run and are what matter.\n\n")
	fmt.Fprintf(&b, "- Date: %s (took %s)\n", r.started.Format("2006-01-02 15:04 MST"), r.elapsed.Round(time.Second))
	fmt.Fprintf(&b, "- Commit: %s\n", r.commit)
	fmt.Fprintf(&b, "- Machine: %s\n", r.machine)
	fmt.Fprintf(&b, "- Software: %s, %s, %s, throwaway cluster with fsync and synchronous_commit off (devdb -fast)\n", r.goVersion, r.postgres, r.wrk)
	fmt.Fprintf(&b, "- Method: every figure is the median of %d runs. HTTP: wrk for %s per cell, regmo and the baseline alternating, "+
		"load generator, server and PostgreSQL on the same machine; %s. The ceiling is `cmd/baseline`: net/http and a pgx pool of the "+
		"same size (20) running the same SQL and writing the same JSON, without authentication, authorization, validation, logging or metrics. "+
		"At the highest connection count the baseline also runs with regmo's token lookup (the SQL of `domain.Access.Authenticate`) on every request: "+
		"the cost regmo avoids by answering a token it saw less than a second ago from memory (its caller cache, emptied on every instance through "+
		"PostgreSQL LISTEN/NOTIFY whenever rights change). "+
		"The second ceiling, at the highest connection count too, is `cmd/baseline -json-sql`: each request is one SQL statement whose single "+
		"value is the answer's JSON document, built by PostgreSQL with `json_build_object` and `json_agg` in regmo's Register and RegisterList "+
		"shape (today's date in Europe/Berlin a parameter, for `overdue`), and the server writes those bytes as they come: no decoding, "+
		"no encoding, no authentication; regmo should reach 80 %% of it. %s\n",
		r.cfg.runs, r.cfg.duration, r.httpSetup, r.pairsMethod())
	b.WriteString("- Go benchmarks (`go test -bench`, `-count` as above): `BenchmarkReadinessReport` (domain/report, run as regmo_app under row-level security), `BenchmarkScopedRead` (domain/store), `BenchmarkImport` (api: the import's ceiling is COPY of exactly the rows an import of the same file stored, its entries, their versions and their events, read back and COPYed in binary into a fresh database in one transaction as its owner, with every trigger an import fires; COPY of the registers into entries alone is shown beside it), `BenchmarkDecide` (api).\n\n")
	rows := r.rows()
	header := []string{"Measurement", "regmo", "Ceiling", "Ratio", "Target", "Met"}
	b.WriteString("| " + strings.Join(header, " | ") + " |\n")
	b.WriteString("|---|---|---|--:|---|:-:|\n")
	for _, row := range rows {
		b.WriteString("| " + strings.Join(row, " | ") + " |\n")
	}
	if len(r.http) > 0 {
		b.WriteString("\nHTTP requests/s of every run:\n\n")
		b.WriteString("| Request | conn. | regmo | baseline | baseline + token lookup |\n|---|--:|---|---|---|\n")
		var seen []string
		for _, c := range r.http {
			key := fmt.Sprintf("%s|%d", c.request, c.conns)
			if slices.Contains(seen, key) {
				continue
			}
			seen = append(seen, key)
			reg, base := r.cell(c.request, c.conns, "regmo"), r.cell(c.request, c.conns, "baseline")
			fmt.Fprintf(&b, "| %s | %d | %s | %s | %s |\n", c.request, c.conns, runList(reg), runList(base),
				runList(r.cell(c.request, c.conns, lookupName)))
		}
	}
	if len(r.pairs) > 0 {
		b.WriteString("\nThe pairs of regmo and the JSON-SQL ceiling, requests/s in the order they ran:\n\n")
		b.WriteString("| Request | conn. | Pair | First | regmo | JSON-SQL ceiling | Ratio |\n|---|--:|--:|---|--:|--:|--:|\n")
		seen := map[string]int{}
		for _, p := range r.pairs {
			key := fmt.Sprintf("%s|%d", p.request, p.conns)
			seen[key]++
			ratio := "–"
			if p.jsonSQL.rps > 0 {
				ratio = fmt.Sprintf("%.0f %%", 100*p.ratio())
			}
			fmt.Fprintf(&b, "| %s | %d | %d | %s | %s | %s | %s |\n", p.request, p.conns, seen[key], p.first(),
				thousands(p.regmo.rps), thousands(p.jsonSQL.rps), ratio)
		}
	}
	if len(r.goLogs) > 0 {
		b.WriteString("\nWhat the Go benchmarks logged:\n\n```\n")
		for _, l := range r.goLogs {
			b.WriteString(l + "\n")
		}
		b.WriteString("```\n")
	}
	switch {
	case r.profile != nil:
		b.WriteString("\n" + r.profile.markdown())
	case r.profileErr != "":
		b.WriteString("\n" + profileHeading + "\n\nNo profile: " + strings.ReplaceAll(r.profileErr, "\n", " ") + "\n")
	}
	switch {
	case r.importProfile != nil:
		b.WriteString("\n" + r.importProfile.markdown())
	case r.importProfileErr != "":
		b.WriteString("\n" + importProfileHeading + "\n\nNo profile: " + strings.ReplaceAll(r.importProfileErr, "\n", " ") + "\n")
	}
	if len(r.failures) > 0 {
		b.WriteString("\nFailed parts:\n\n")
		for _, f := range r.failures {
			b.WriteString("- " + strings.ReplaceAll(f, "\n", " ") + "\n")
		}
	}
	return b.String()
}

// pairsMethod is the method's sentence on how the JSON-SQL ceiling is measured.
func (r *report) pairsMethod() string {
	if r.cfg.pairs < 1 {
		return "This run left it out (-pairs 0)."
	}
	return fmt.Sprintf("Because that ceiling's rate drifts between runs by more than the gap measured, it runs after the others in %d adjacent "+
		"pairs with regmo per request (%s each, alternating which of the two goes first), and its row shows the median of the pairs' own ratios "+
		"(regmo's rate over the ceiling's of the same pair) with their range; the row's rates are the pairs' medians.", r.cfg.pairs, r.cfg.duration)
}

func runList(c *httpCell) string {
	if c == nil {
		return ""
	}
	var parts []string
	for _, r := range c.runs {
		parts = append(parts, thousands(r.rps))
	}
	return strings.Join(parts, " · ")
}

// ---- the setting ----

func postgresVersion(ctx context.Context, dsn string) string {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return "PostgreSQL"
	}
	defer conn.Close(context.Background())
	var v string
	if err := conn.QueryRow(ctx, "SHOW server_version").Scan(&v); err != nil {
		return "PostgreSQL"
	}
	return "PostgreSQL " + strings.Fields(v)[0]
}

func wrkVersion() string {
	out, _ := exec.Command("wrk", "-v").CombinedOutput()
	if f := strings.Fields(string(out)); len(f) >= 2 && f[0] == "wrk" {
		return "wrk " + f[1]
	}
	return "wrk"
}

func goVersion(ctx context.Context, goCmd string) string {
	out, err := exec.CommandContext(ctx, goCmd, "env", "GOVERSION").Output()
	if err != nil {
		return runtime.Version()
	}
	return strings.TrimSpace(string(out))
}

func gitCommit(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown (not a git checkout)"
	}
	commit := strings.TrimSpace(string(out))
	if st, err := exec.CommandContext(ctx, "git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
		commit += " (with uncommitted changes in the working tree)"
	}
	return commit
}
