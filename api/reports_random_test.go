package api_test

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bremen/regmo/api/oapi"
	"github.com/bremen/regmo/domain"
)

// The reports other than readiness, cross-checked against a brute-force computation over a
// randomised inventory with a history: the test writes it through the API with a moving
// clock, keeps its own model of every entry over time, and computes what each report must
// say from that model alone (no domain code). REGMO_REPORTS_SEED=n replays a seed.

// allRessorts are the Ressorts of the Lenku VD that the first migration creates.
var allRessorts = []string{"MAG-BHV", "SASJI", "SBMS", "SF", "SIS", "SJV", "SK", "SKB", "SWHT", "ZGF"}

var reportDims = []string{"idnr", "noots", "dsc"}

// rEntry is the model of one register or Onlinedienst at one time.
type rEntry struct {
	kind      string // path segment: registers or onlinedienste
	ressort   string
	key       string
	name      string
	anlage    int // 0: none
	nachweise []string
	stages    [3]string
	targets   [3]string
}

func (e *rEntry) addr() string { return e.ressort + "/" + e.key }

// typ is the kind as reports name it.
func (e *rEntry) typ() string {
	if e.kind == "registers" {
		return "register"
	}
	return "onlinedienst"
}

func ready(stage string) bool { return stage == "live" || stage == "not_applicable" }

// rChange is one stage change as the progress report lists it.
type rChange struct {
	at                              time.Time
	actor, ressort, key, name, kind string
	dim, from, to                   string
}

// rState is an entry from an instant on, as actor wrote it; nil entry: deleted.
type rState struct {
	at    time.Time
	actor string
	entry *rEntry
}

// same reports whether two states of an entry have the same content (nil: deleted).
func (e *rEntry) same(o *rEntry) bool {
	if e == nil || o == nil {
		return e == o
	}
	return e.kind == o.kind && e.ressort == o.ressort && e.key == o.key && e.name == o.name &&
		e.anlage == o.anlage && slices.Equal(e.nachweise, o.nachweise) && e.stages == o.stages && e.targets == o.targets
}

// rModel is the inventory over time as the test wrote it.
type rModel struct {
	history map[string][]rState // by kind/ressort/key
	order   []string            // history keys in creation order
	changes []rChange
}

func (m *rModel) current(id string) *rEntry {
	h := m.history[id]
	if len(h) == 0 {
		return nil
	}
	return h[len(h)-1].entry
}

// snapshot is every entry as it was at t, by kind/ressort/key.
func (m *rModel) snapshot(t time.Time) map[string]*rEntry {
	out := map[string]*rEntry{}
	for id, h := range m.history {
		var e *rEntry
		for _, s := range h {
			if !s.at.After(t) {
				e = s.entry
			}
		}
		if e != nil {
			out[id] = e
		}
	}
	return out
}

// record keeps a write and the stage changes it makes. A write that changes nothing leaves
// no version and no event in the service, and none in the model.
func (m *rModel) record(at time.Time, actor, id string, before, after *rEntry) {
	if _, ok := m.history[id]; !ok {
		m.order = append(m.order, id)
	}
	if before != nil && before.same(after) {
		return
	}
	m.history[id] = append(m.history[id], rState{at: at, actor: actor, entry: after})
	named := after
	if named == nil {
		named = before
	}
	for i, d := range reportDims {
		var from, to string
		if before != nil {
			from = before.stages[i]
		}
		if after != nil {
			to = after.stages[i]
		}
		if from != to {
			m.changes = append(m.changes, rChange{at: at, actor: actor, ressort: named.ressort, key: named.key,
				name: named.name, kind: named.typ(), dim: d, from: from, to: to})
		}
	}
}

// reportViewer is a caller of the reports and the Ressorts they may read (nil: all).
type reportViewer struct {
	name     string
	token    string
	ressorts []string
}

func (v reportViewer) reads(ressort string) bool {
	return v.ressorts == nil || slices.Contains(v.ressorts, ressort)
}

func (v reportViewer) readable() []string {
	if v.ressorts == nil {
		return allRessorts
	}
	return v.ressorts
}

func TestReportsAgainstBruteForce(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("REGMO_REPORTS_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("REGMO_REPORTS_SEED: %v", err)
		}
	}
	t.Logf("seed %d (replay with REGMO_REPORTS_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 5))

	start := time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC)
	now := time.Date(2026, 3, 15, 11, 0, 0, 0, time.UTC) // as fixedNow: today is 2026-03-15
	clk := &clock{t: start}
	ts := newTestServerAt(t, clk.now)
	coordinator := ts.user("ozg", domain.Binding{Role: domain.RoleOZGKoordination})
	sis := ts.user("rv-sis", domain.Binding{Role: domain.RoleRessortverantwortliche, Ressort: "SIS"})
	sfSWHT := ts.user("rv-sf-swht", domain.Binding{Role: domain.RoleRessortverantwortliche, Ressort: "SF"},
		domain.Binding{Role: domain.RoleRessortverantwortliche, Ressort: "SWHT"})
	writers := map[string]struct{ name, token string }{"SIS": {"rv-sis", sis}, "SF": {"rv-sf-swht", sfSWHT}, "SWHT": {"rv-sf-swht", sfSWHT}}

	m := &rModel{history: map[string][]rState{}}
	build(t, ts, clk, rng, m, writers)
	writesEnded := clk.now()
	if !writesEnded.Before(now) {
		t.Fatalf("the history ran until %s, past the test's now %s", writesEnded, now)
	}
	clk.set(now)
	t.Logf("%d entries written, %d stage changes between %s and %s", len(m.order), len(m.changes),
		start.Format(time.RFC3339), writesEnded.Format(time.RFC3339))

	// A random inventory that gives a report nothing to list would prove nothing.
	for _, c := range []struct {
		report string
		n      int
	}{
		{"overdue", len(expectOverdue(reportViewer{}, m.snapshot(now), berlinDate(t, now)))},
		{"blocked", len(expectBlocked(reportViewer{}, m.snapshot(now)))},
		{"consistency", len(expectConsistency(reportViewer{}, m.snapshot(now)))},
		{"progress", len(m.changes)},
	} {
		if c.n == 0 {
			t.Fatalf("the random inventory gives the %s report nothing to list", c.report)
		}
	}

	viewers := []reportViewer{
		{"admin", "", nil},
		{"ozg-koordination", coordinator, nil},
		{"Ressortverantwortliche SIS", sis, []string{"SIS"}},
		{"Ressortverantwortliche SF+SWHT", sfSWHT, []string{"SF", "SWHT"}},
	}
	// Now, and two instants in the past (on the half minute, so never the instant of a write).
	span := int64(writesEnded.Sub(start) / time.Minute)
	instants := []*time.Time{nil}
	for range 2 {
		at := start.Add(time.Duration(rng.Int64N(span))*time.Minute + 30*time.Second)
		instants = append(instants, &at)
	}
	for _, v := range viewers {
		for _, at := range instants {
			when, query, snap := "now", "", m.snapshot(now)
			if at != nil {
				when, query, snap = at.Format(time.RFC3339), "?as_of="+url.QueryEscape(at.Format(time.RFC3339)), m.snapshot(*at)
			}
			today := now
			if at != nil {
				today = *at
			}
			t.Run(v.name+" as of "+when, func(t *testing.T) {
				checkOverdue(t, ts, v, query, snap, today)
				checkBlocked(t, ts, v, query, snap)
				checkConsistency(t, ts, v, query, snap)
				checkCoverage(t, ts, v, query, snap)
			})
		}
		t.Run(v.name+" progress", func(t *testing.T) {
			// Windows: random ones, one from before the first write to now, and one whose ends
			// are instants of changes (from is exclusive, to inclusive).
			type window struct{ from, to time.Time }
			windows := []window{{start.Add(-time.Hour), now}}
			for range 2 {
				a := start.Add(time.Duration(rng.Int64N(span))*time.Minute + 30*time.Second)
				b := start.Add(time.Duration(rng.Int64N(span))*time.Minute + 30*time.Second)
				if b.Before(a) {
					a, b = b, a
				}
				windows = append(windows, window{a, b.Add(time.Minute)})
			}
			if n := len(m.changes); n > 2 {
				i, j := rng.IntN(n/2), n/2+rng.IntN(n/2)
				if m.changes[i].at.Before(m.changes[j].at) {
					windows = append(windows, window{m.changes[i].at, m.changes[j].at})
				}
			}
			for _, w := range windows {
				checkProgress(t, ts, v, m, w.from, w.to)
			}
		})
	}

	// The CSV variants carry one row per item (per blocker, per covered register or gap) under
	// a header row.
	snap := m.snapshot(now)
	all := reportViewer{"admin", "", nil}
	csvTests := []struct {
		report string
		rows   int
	}{
		{"overdue", len(expectOverdue(all, snap, now))},
		{"blocked", len(expectBlocked(all, snap))},
		{"consistency", len(expectConsistency(all, snap))},
		{"anlage-coverage", len(expectCoverage(all, snap))},
		{"progress?from=" + url.QueryEscape(start.Format(time.RFC3339)), len(expectChanges(all, m, start, now))},
	}
	for _, tt := range csvTests {
		path := "/v1/reports/" + tt.report
		if strings.Contains(path, "?") {
			path += "&format=csv"
		} else {
			path += "?format=csv"
		}
		rec := ts.do(request{method: "GET", path: path})
		if rec.Code != 200 {
			t.Errorf("GET %s: status %d", path, rec.Code)
			continue
		}
		rows, err := csv.NewReader(strings.NewReader(rec.Body.String())).ReadAll()
		if err != nil {
			t.Errorf("GET %s: %v", path, err)
			continue
		}
		if got, want := len(rows), 1+tt.rows; got != want {
			t.Errorf("GET %s: got %d CSV rows, want %d (header and %d)", path, got, want, tt.rows)
		}
	}
}

// buildPlan says which Ressorts build fills, how it keys new entries (formats of the n-th
// register and Onlinedienst, different between the kinds) and how it names them.
type buildPlan struct {
	ressorts                     []string
	registerKey, onlinedienstKey string
	name                         func(rng *rand.Rand, kind string, n int) string
}

// reportsPlan is the inventory of TestReportsAgainstBruteForce.
var reportsPlan = buildPlan{
	ressorts:    []string{"SF", "SIS", "SWHT", "MAG-BHV", "ZGF", "SK"}, // the other four stay empty
	registerKey: "r-%02d", onlinedienstKey: "o-%02d",
	name: func(_ *rand.Rand, kind string, n int) string {
		if kind == "registers" {
			return fmt.Sprintf("Register %d", n)
		}
		return fmt.Sprintf("Onlinedienst %d", n)
	},
}

// build writes a random inventory and then changes it at random over days, through the API
// and with the clock moving forward before every write.
func build(t *testing.T, ts *testServer, clk *clock, rng *rand.Rand, m *rModel, writers map[string]struct{ name, token string }) {
	t.Helper()
	buildWith(t, ts, clk, rng, m, writers, reportsPlan)
}

// buildWith is build with the Ressorts and names of plan.
func buildWith(t *testing.T, ts *testServer, clk *clock, rng *rand.Rand, m *rModel, writers map[string]struct{ name, token string }, plan buildPlan) {
	t.Helper()
	pool := plan.ressorts
	stages := []string{"not_started", "planned", "in_progress", "testing", "live", "not_applicable"}
	// Around today (2026-03-15) and the past instants the reports are asked about.
	dates := []string{"", "", "2025-12-31", "2026-03-01", "2026-03-04", "2026-03-07", "2026-03-14", "2026-03-15", "2026-03-16", "2026-06-30", "2028-12-31"}
	stage := func() string {
		if rng.IntN(3) == 0 { // live often, so that the coupling rule and "ready" have cases
			return "live"
		}
		return stages[rng.IntN(len(stages))]
	}
	setDim := func(e *rEntry, i int) {
		e.stages[i] = stage()
		e.targets[i] = dates[rng.IntN(len(dates))]
	}
	registers := func() []*rEntry {
		var out []*rEntry
		for _, id := range m.order {
			if e := m.current(id); e != nil && e.kind == "registers" {
				out = append(out, e)
			}
		}
		return out
	}
	pickNachweise := func() []string {
		regs := registers()
		rng.Shuffle(len(regs), func(i, j int) { regs[i], regs[j] = regs[j], regs[i] })
		var out []string
		for _, r := range regs[:min(len(regs), rng.IntN(4))] {
			out = append(out, r.addr())
		}
		return out
	}
	newEntry := func(kind, ressort, key string, n int) *rEntry {
		e := &rEntry{kind: kind, ressort: ressort, key: key, name: plan.name(rng, kind, n)}
		if kind == "registers" {
			if rng.IntN(2) == 0 {
				e.anlage = 1 + rng.IntN(12) // often shared, most of the 50 stay gaps
			}
		} else {
			e.nachweise = pickNachweise()
		}
		for i := range reportDims {
			setDim(e, i)
		}
		return e
	}
	tick := func() { clk.set(clk.now().Add(time.Duration(10+rng.IntN(80)) * time.Minute)) }
	actor := func(ressort string) (string, string) {
		if w, ok := writers[ressort]; ok && rng.IntN(2) == 0 {
			return w.name, w.token
		}
		return "admin", ""
	}
	put := func(e *rEntry) {
		t.Helper()
		id := e.kind + "/" + e.addr()
		before := m.current(id)
		dims := map[string]any{}
		for i, d := range reportDims {
			dim := map[string]any{"stage": e.stages[i], "note": "Begründung"}
			if e.targets[i] != "" {
				dim["target_date"] = e.targets[i]
			}
			dims[d] = dim
		}
		body := map[string]any{"name": e.name, "readiness": dims}
		if e.anlage != 0 {
			body["idnrg_anlage_nr"] = e.anlage
		}
		if e.kind == "onlinedienste" {
			body["nachweise_from"] = append([]string{}, e.nachweise...)
		}
		data, _ := json.Marshal(body)
		tick()
		name, token := actor(e.ressort)
		path := "/v1/ressorts/" + e.ressort + "/" + e.kind + "/" + e.key
		want := 200
		if before == nil {
			want = 201
		}
		if rec := ts.do(request{method: "PUT", path: path, body: string(data), token: token}); rec.Code != want {
			t.Fatalf("PUT %s as %s: got %d, want %d; %s", path, name, rec.Code, want, rec.Body)
		}
		m.record(clk.now(), name, id, before, e)
	}
	del := func(e *rEntry) {
		t.Helper()
		tick()
		name, token := actor(e.ressort)
		path := "/v1/ressorts/" + e.ressort + "/" + e.kind + "/" + e.key
		if rec := ts.do(request{method: "DELETE", path: path, token: token}); rec.Code != 204 {
			t.Fatalf("DELETE %s as %s: got %d, want 204; %s", path, name, rec.Code, rec.Body)
		}
		m.record(clk.now(), name, e.kind+"/"+e.addr(), e, nil)
	}
	referenced := func(addr string) bool {
		for _, id := range m.order {
			if e := m.current(id); e != nil && slices.Contains(e.nachweise, addr) {
				return true
			}
		}
		return false
	}

	// Keys differ between the kinds, so that every report's order is total.
	nRegs, nOnline := 0, 0
	for range 36 {
		nRegs++
		ressort := pool[rng.IntN(len(pool))]
		if nRegs%6 == 0 {
			// Chance alone would rarely break the coupling rule; these registers do, one in
			// each Ressort of the pool in turn, so that every caller has a finding to see.
			ressort = pool[(nRegs/6)%len(pool)]
		}
		e := newEntry("registers", ressort, fmt.Sprintf(plan.registerKey, nRegs), nRegs)
		if nRegs%6 == 0 {
			e.stages = [3]string{"live", "live", "planned"}
		}
		put(e)
	}
	for range 24 {
		nOnline++
		ressort := pool[rng.IntN(len(pool))]
		if nOnline%4 == 0 {
			// Blocked by another Ressort's register, one in each Ressort of the pool in turn:
			// chance alone may leave a caller without a foreign blocker to see.
			ressort = pool[(nOnline/4)%len(pool)]
		}
		e := newEntry("onlinedienste", ressort, fmt.Sprintf(plan.onlinedienstKey, nOnline), nOnline)
		if nOnline%4 == 0 {
			for _, r := range registers() {
				if r.ressort != ressort && r.stages[1] != "live" && r.stages[1] != "not_applicable" && !slices.Contains(e.nachweise, r.addr()) {
					e.nachweise = append(e.nachweise, r.addr())
					break
				}
			}
		}
		put(e)
	}
	for range 120 {
		var live, deleted []string
		for _, id := range m.order {
			if m.current(id) != nil {
				live = append(live, id)
			} else {
				deleted = append(deleted, id)
			}
		}
		switch op := rng.IntN(10); {
		case op < 7: // change one or two dimensions, sometimes the name or the links
			old := m.current(live[rng.IntN(len(live))])
			e := *old
			e.nachweise = slices.Clone(old.nachweise)
			for range 1 + rng.IntN(2) {
				setDim(&e, rng.IntN(3))
			}
			if rng.IntN(5) == 0 {
				e.name = old.name + " (neu)"
			}
			if e.kind == "registers" && rng.IntN(5) == 0 {
				e.anlage = rng.IntN(13)
			}
			if e.kind == "onlinedienste" && rng.IntN(3) == 0 {
				e.nachweise = pickNachweise()
			}
			put(&e)
		case op < 8: // delete what no Onlinedienst still needs
			e := m.current(live[rng.IntN(len(live))])
			if e.kind == "registers" && referenced(e.addr()) {
				continue
			}
			del(e)
		case op < 9 && len(deleted) > 0: // create a deleted entry again
			id := deleted[rng.IntN(len(deleted))]
			h := m.history[id]
			old := h[len(h)-2].entry
			e := newEntry(old.kind, old.ressort, old.key, 0)
			e.name = old.name + " (wieder)"
			put(e)
		default:
			if rng.IntN(2) == 0 {
				nRegs++
				put(newEntry("registers", pool[rng.IntN(len(pool))], fmt.Sprintf(plan.registerKey, nRegs), nRegs))
			} else {
				nOnline++
				put(newEntry("onlinedienste", pool[rng.IntN(len(pool))], fmt.Sprintf(plan.onlinedienstKey, nOnline), nOnline))
			}
		}
	}
}

// sortedReadable lists the readable entries of a snapshot by Ressort and key (byte order).
func sortedReadable(v reportViewer, snap map[string]*rEntry) []*rEntry {
	var out []*rEntry
	for _, e := range snap {
		if v.reads(e.ressort) {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b *rEntry) int {
		if c := strings.Compare(a.ressort, b.ressort); c != 0 {
			return c
		}
		return strings.Compare(a.key, b.key)
	})
	return out
}

// berlinDate is the calendar date of t in Europe/Berlin, which decides what is overdue.
func berlinDate(t *testing.T, at time.Time) time.Time {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	y, mo, d := at.In(loc).Date()
	return time.Date(y, mo, d, 0, 0, 0, 0, time.UTC)
}

func expectOverdue(v reportViewer, snap map[string]*rEntry, today time.Time) []string {
	type item struct {
		e    *rEntry
		dim  int
		days int
	}
	var items []item
	for _, e := range sortedReadable(v, snap) {
		for i := range reportDims {
			if e.targets[i] == "" || ready(e.stages[i]) {
				continue
			}
			target, _ := time.Parse(time.DateOnly, e.targets[i])
			if days := int(today.Sub(target).Hours() / 24); days > 0 {
				items = append(items, item{e, i, days})
			}
		}
	}
	slices.SortStableFunc(items, func(a, b item) int {
		if a.days != b.days {
			return b.days - a.days
		}
		if a.e != b.e {
			return 0 // already by Ressort and key
		}
		return strings.Compare(reportDims[a.dim], reportDims[b.dim])
	})
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = fmt.Sprintf("%s %s %q %s %s %s %d", it.e.addr(), it.e.typ(), it.e.name, reportDims[it.dim],
			it.e.stages[it.dim], it.e.targets[it.dim], it.days)
	}
	return out
}

func checkOverdue(t *testing.T, ts *testServer, v reportViewer, query string, snap map[string]*rEntry, at time.Time) {
	t.Helper()
	r := decode[oapi.OverdueReport](t, ts.do(request{method: "GET", path: "/v1/reports/overdue" + query, token: v.token}))
	got := make([]string, len(r.Items))
	for i, it := range r.Items {
		got[i] = fmt.Sprintf("%s/%s %s %q %s %s %s %d", it.Ressort, it.Key, it.Kind, it.Name, it.Dimension, it.Stage, it.TargetDate, it.DaysOverdue)
	}
	checkLines(t, "overdue", got, expectOverdue(v, snap, berlinDate(t, at)))
}

func expectBlocked(v reportViewer, snap map[string]*rEntry) []string {
	var out []string
	for _, o := range sortedReadable(v, snap) {
		if o.kind != "onlinedienste" {
			continue
		}
		for _, ref := range o.nachweise {
			// Registers of every Ressort block, also those the viewer may not read otherwise.
			r := snap["registers/"+ref]
			if r != nil && !ready(r.stages[1]) {
				out = append(out, fmt.Sprintf("%s %q <- %s %q %s", o.addr(), o.name, r.addr(), r.name, r.stages[1]))
			}
		}
	}
	return out
}

func checkBlocked(t *testing.T, ts *testServer, v reportViewer, query string, snap map[string]*rEntry) {
	t.Helper()
	rec := ts.do(request{method: "GET", path: "/v1/reports/blocked" + query, token: v.token})
	r := decode[oapi.BlockedReport](t, rec)
	var got []string
	for _, it := range r.Items {
		if len(it.BlockedBy) == 0 {
			t.Errorf("blocked: %s/%s listed without a blocking register", it.Ressort, it.Key)
		}
		for _, b := range it.BlockedBy {
			got = append(got, fmt.Sprintf("%s/%s %q <- %s/%s %q %s", it.Ressort, it.Key, it.Name, b.Ressort, b.Key, b.Name, b.NootsStage))
		}
	}
	checkLines(t, "blocked", got, expectBlocked(v, snap))
	// Of a blocking register, everyone learns only what the Registerlandkarte shows.
	var raw struct {
		Items []struct {
			BlockedBy []map[string]json.RawMessage `json:"blocked_by"`
		} `json:"items"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	for _, it := range raw.Items {
		for _, b := range it.BlockedBy {
			var keys []string
			for k := range b {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			if got, want := strings.Join(keys, ","), "key,name,noots_stage,ressort"; got != want {
				t.Errorf("blocked: a blocking register shows %s, want %s", got, want)
			}
		}
	}
}

func expectConsistency(v reportViewer, snap map[string]*rEntry) []string {
	var out []string
	for _, e := range sortedReadable(v, snap) {
		if e.kind == "registers" && e.stages[0] == "live" && e.stages[1] == "live" && !ready(e.stages[2]) {
			out = append(out, fmt.Sprintf("idnr-transfer-requires-dsc %s register %q dsc is %s", e.addr(), e.name, e.stages[2]))
		}
	}
	return out
}

func checkConsistency(t *testing.T, ts *testServer, v reportViewer, query string, snap map[string]*rEntry) {
	t.Helper()
	r := decode[oapi.ConsistencyReport](t, ts.do(request{method: "GET", path: "/v1/reports/consistency" + query, token: v.token}))
	got := make([]string, len(r.Findings))
	for i, f := range r.Findings {
		dsc := "?"
		if _, after, ok := strings.Cut(f.Detail, "dsc is "); ok {
			dsc, _, _ = strings.Cut(after, ":")
		}
		got[i] = fmt.Sprintf("%s %s/%s %s %q dsc is %s", f.Rule, f.Ressort, f.Key, f.Kind, f.Name, dsc)
	}
	checkLines(t, "consistency", got, expectConsistency(v, snap))
}

// expectCoverage gives one line per Anlage number and recorded register, or one for a gap.
func expectCoverage(v reportViewer, snap map[string]*rEntry) []string {
	var out []string
	regs := sortedReadable(v, snap)
	for nr := 1; nr <= 50; nr++ {
		n := 0
		for _, e := range regs {
			if e.kind == "registers" && e.anlage == nr {
				out = append(out, fmt.Sprintf("%d %s %q %s/%s/%s", nr, e.addr(), e.name, e.stages[0], e.stages[1], e.stages[2]))
				n++
			}
		}
		if n == 0 {
			out = append(out, fmt.Sprintf("%d gap", nr))
		}
	}
	return out
}

func checkCoverage(t *testing.T, ts *testServer, v reportViewer, query string, snap map[string]*rEntry) {
	t.Helper()
	r := decode[oapi.AnlageCoverageReport](t, ts.do(request{method: "GET", path: "/v1/reports/anlage-coverage" + query, token: v.token}))
	if len(r.Items) != 50 {
		t.Errorf("anlage-coverage: got %d items, want 50", len(r.Items))
	}
	var got []string
	for i, it := range r.Items {
		if it.Nr != i+1 || it.Name == "" {
			t.Errorf("anlage-coverage: item %d is nr %d named %q, want nr %d with its name", i, it.Nr, it.Name, i+1)
		}
		if it.Gap != (len(it.Registers) == 0) {
			t.Errorf("anlage-coverage: nr %d has gap %v with %d registers", it.Nr, it.Gap, len(it.Registers))
		}
		for _, e := range it.Registers {
			got = append(got, fmt.Sprintf("%d %s/%s %q %s/%s/%s", it.Nr, e.Ressort, e.Key, e.Name, e.Idnr, e.Noots, e.Dsc))
		}
		if len(it.Registers) == 0 {
			got = append(got, fmt.Sprintf("%d gap", it.Nr))
		}
	}
	checkLines(t, "anlage-coverage", got, expectCoverage(v, snap))
}

// expectChanges lists the stage changes of readable entries in (from, to], in time order and
// by dimension name within one write.
func expectChanges(v reportViewer, m *rModel, from, to time.Time) []string {
	var cs []rChange
	for _, c := range m.changes {
		if c.at.After(from) && !c.at.After(to) && v.reads(c.ressort) {
			cs = append(cs, c)
		}
	}
	slices.SortStableFunc(cs, func(a, b rChange) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return strings.Compare(a.dim, b.dim)
	})
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = fmt.Sprintf("%s %s/%s %s %q %s %s>%s %s", c.at.UTC().Format(time.RFC3339), c.ressort, c.key, c.kind, c.name, c.dim, c.from, c.to, c.actor)
	}
	return out
}

func checkProgress(t *testing.T, ts *testServer, v reportViewer, m *rModel, from, to time.Time) {
	t.Helper()
	path := "/v1/reports/progress?from=" + url.QueryEscape(from.Format(time.RFC3339)) + "&to=" + url.QueryEscape(to.Format(time.RFC3339))
	rec := ts.do(request{method: "GET", path: path, token: v.token})
	if rec.Code != 200 {
		t.Fatalf("GET %s: status %d; %s", path, rec.Code, rec.Body)
	}
	r := decode[oapi.ProgressReport](t, rec)
	what := fmt.Sprintf("progress %s..%s", from.Format(time.RFC3339), to.Format(time.RFC3339))

	var got []string
	for _, c := range r.Changes {
		got = append(got, fmt.Sprintf("%s %s/%s %s %q %s %s>%s %s", c.At.UTC().Format(time.RFC3339), c.Ressort, c.Key, c.Kind, c.Name, c.Dimension, c.From, c.To, c.Actor))
	}
	checkLines(t, what+" changes", got, expectChanges(v, m, from, to))

	got = nil
	for _, l := range r.Ready {
		got = append(got, fmt.Sprintf("%s %s %s: %d/%d → %d/%d", l.Ressort, l.Kind, l.Dimension, l.ReadyFrom, l.CountFrom, l.ReadyTo, l.CountTo))
	}
	checkLines(t, what+" ready", got, expectReady(v, m, from, to))
}

// expectReady gives the progress report's ready count per readable Ressort, kind and
// dimension at from and at to.
func expectReady(v reportViewer, m *rModel, from, to time.Time) []string {
	before, after := m.snapshot(from), m.snapshot(to)
	var want []string
	for _, code := range v.readable() {
		for _, kind := range []string{"registers", "onlinedienste"} {
			for i, d := range reportDims {
				var n [2]struct{ count, ready int }
				for j, snap := range []map[string]*rEntry{before, after} {
					for _, e := range snap {
						if e.ressort == code && e.kind == kind {
							n[j].count++
							if ready(e.stages[i]) {
								n[j].ready++
							}
						}
					}
				}
				typ := (&rEntry{kind: kind}).typ()
				want = append(want, fmt.Sprintf("%s %s %s: %d/%d → %d/%d", code, typ, d, n[0].ready, n[0].count, n[1].ready, n[1].count))
			}
		}
	}
	return want
}

// checkLines compares a report, one line per item, and names the first difference.
func checkLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	for i := range max(len(got), len(want)) {
		g, w := "(nothing)", "(nothing)"
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			t.Errorf("%s: %d lines, want %d; first difference at line %d:\n got %s\nwant %s", what, len(got), len(want), i, g, w)
			return
		}
	}
}
