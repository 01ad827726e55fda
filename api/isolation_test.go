package api_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/bremen/regmo/api/oapi"
	"github.com/bremen/regmo/domain"
)

// The randomised isolation test (issue 11): a Ressortverantwortliche bound to two Ressorts
// reads a random inventory of five Ressorts with a history through every read operation,
// with random combinations of all their parameters, and must get exactly what a brute-force
// computation over the test's own model says: the rows and counts of their two Ressorts,
// and of any other Ressort only the public register card (Ressort, key, name, NOOTS stage)
// where the API names a foreign register. REGMO_ISOLATION_SEED=n replays a seed.

// isoOwn are the caller's Ressorts (byte order); isoPool every Ressort with entries.
var (
	isoOwn  = []string{"MAG-BHV", "SIS"}
	isoPool = []string{"MAG-BHV", "SF", "SIS", "SKB", "SWHT"}
	// isoFilterCodes are what ressort filters draw from: the pool, Ressorts without entries
	// and a valid code of no Ressort.
	isoFilterCodes = append(slices.Clone(isoPool), "SK", "ZGF", "XX9")
)

const (
	isoCaller  = "rv-bhv-sis"
	isoRounds  = 80 // each round calls every read operation once, a report in each format
	isoMinimum = 2000
)

// isoWords make names with varied letters, umlauts and ß.
var isoWords = []string{"Melderegister", "Gewerbeverzeichnis", "Führungszeugnis", "Überseestadt", "Kfz-Zulassung",
	"Wohngeld", "BAföG", "Straßenverzeichnis", "Ärztekammer", "Öffentliche Sicherheit", "Hafenamt", "Jugendhilfe",
	"Bürgeramt", "Schülerbeförderung", "Grundsteuer", "Elterngeld", "Waffenbehörde", "Quartiersmeisterei",
	"Vereinsregister", "Zollhafen", "Kita-Platz", "Hundesteuer", "Ökologie", "Yachthafen", "Jagdschein"}

var isoPlan = buildPlan{
	ressorts:    isoPool,
	registerKey: "register-%02d", onlinedienstKey: "dienst-%02d",
	name: func(rng *rand.Rand, kind string, n int) string {
		name := isoWords[rng.IntN(len(isoWords))]
		if rng.IntN(2) == 0 {
			name += " " + isoWords[rng.IntN(len(isoWords))]
		}
		if kind == "onlinedienste" {
			name = "Antrag " + name
		}
		return fmt.Sprintf("%s %d", name, n)
	},
}

func TestIsolationAgainstBruteForce(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("REGMO_ISOLATION_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("REGMO_ISOLATION_SEED: %v", err)
		}
	}
	t.Logf("seed %d (replay with REGMO_ISOLATION_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 11))

	start := time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC)
	now := fixedNow()
	clk := &clock{t: start}
	ts := newTestServerAt(t, clk.now)
	caller := ts.user(isoCaller, domain.Binding{Role: domain.RoleRessortverantwortliche, Ressort: "MAG-BHV"},
		domain.Binding{Role: domain.RoleRessortverantwortliche, Ressort: "SIS"})
	sf := ts.user("rv-sf", domain.Binding{Role: domain.RoleRessortverantwortliche, Ressort: "SF"})
	writers := map[string]struct{ name, token string }{
		"MAG-BHV": {isoCaller, caller}, "SIS": {isoCaller, caller}, "SF": {"rv-sf", sf}}

	m := &rModel{history: map[string][]rState{}}
	buildWith(t, ts, clk, rng, m, writers, isoPlan)
	end := clk.now()
	if !end.Before(now) {
		t.Fatalf("the history ran until %s, past the test's now %s", end, now)
	}
	clk.set(now)

	c := &isoTest{t: t, ts: ts, rng: rng, m: m, token: caller, seed: seed, start: start, end: end, now: now, seen: map[string]int{}}
	c.load()
	own, foreign := 0, 0
	for _, id := range m.order {
		if c.reads(m.history[id][0].entry.ressort) {
			own++
		} else {
			foreign++
		}
	}
	t.Logf("%d entries (%d of the caller's Ressorts, %d foreign) written between %s and %s", len(m.order), own, foreign,
		start.Format(time.RFC3339), end.Format(time.RFC3339))
	if own == 0 || foreign == 0 {
		t.Fatalf("the random inventory has %d own and %d foreign entries; it proves nothing", own, foreign)
	}

	// The leak of issue 11 first, whatever the seed: a q matching keys (here every key has an
	// e) once listed entries of every Ressort and kind, past the other filters and as_of.
	for _, kind := range []string{"registers", "onlinedienste"} {
		c.checkList(kind, "", listParams{q: "e"})
		c.checkList(kind, "", listParams{q: "E", overdue: ptr(true), stages: [3]string{"", "live", ""}})
		c.checkList(kind, "SIS", listParams{q: "e", limit: 2})
		at := start.Add(30 * time.Hour)
		c.checkList(kind, "MAG-BHV", listParams{q: "-0", asOf: at.Format(time.RFC3339), at: at})
	}
	rounds := isoRounds
	if testing.Short() {
		rounds = 5
	}
	for range rounds {
		for _, kind := range []string{"registers", "onlinedienste"} {
			c.checkList(kind, "", c.randomList())
			c.checkList(kind, c.randomCode(), c.randomList())
			c.checkGet(kind)
			c.checkHistory(kind)
		}
		c.checkAudit()
		for _, report := range []func(string){c.checkReadiness, c.checkOverdue, c.checkConsistency, c.checkCoverage, c.checkBlocked, c.checkProgress} {
			for _, format := range []string{"json", "csv", "xlsx"} {
				report(format)
			}
		}
		c.checkExport("json")
		c.checkExport("csv")
	}
	t.Logf("%d requests; cases %v", c.requests, c.seen)
	if testing.Short() {
		return
	}
	if c.requests < isoMinimum {
		t.Errorf("the test sent %d requests, want at least %d", c.requests, isoMinimum)
	}
	// A run whose expectations were all empty would prove nothing.
	for _, what := range []string{"foreign listing", "listing with q", "listing as of", "listing over pages",
		"foreign entry", "entry as of", "missing entry", "foreign history", "history over pages", "audit",
		"overdue", "consistency", "anlage-coverage", "foreign blocker", "progress", "export registers", "export onlinedienste"} {
		if c.seen[what] == 0 {
			t.Errorf("no request had a case of %q to compare (seed %d)", what, seed)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// isoTest is the caller, the model and the request count of one run.
type isoTest struct {
	t               *testing.T
	ts              *testServer
	rng             *rand.Rand
	m               *rModel
	token           string
	seed            uint64
	start, end, now time.Time
	requests        int
	failures        int
	ressortNames    map[string]string
	anlageNames     map[int]string
	// seen counts the cases with something to compare, by kind of case.
	seen map[string]int
}

// saw counts a case when it has something to compare.
func (c *isoTest) saw(what string, cond bool) {
	if cond {
		c.seen[what]++
	}
}

// load reads the reference data the reports name: Ressort names and the Anlage.
func (c *isoTest) load() {
	c.ressortNames = map[string]string{}
	for _, r := range decode[[]oapi.Ressort](c.t, c.get("/v1/ressorts", nil)) {
		c.ressortNames[r.Code] = r.Name
	}
	c.anlageNames = map[int]string{}
	for _, a := range decode[[]oapi.AnlageEntry](c.t, c.get("/v1/reference/idnrg-anlage", nil)) {
		c.anlageNames[a.Nr] = a.Name
	}
}

func (c *isoTest) reads(code string) bool { return slices.Contains(isoOwn, code) }

// get sends one request as the caller and counts it.
func (c *isoTest) get(path string, headers map[string]string) *httptest.ResponseRecorder {
	c.t.Helper()
	c.requests++
	return c.ts.do(request{method: "GET", path: path, token: c.token, headers: headers})
}

// failed counts a reported failure and stops the test when there are too many to read.
func (c *isoTest) failed() {
	c.t.Helper()
	c.failures++
	if c.failures >= 30 {
		c.t.Fatalf("stopping after %d failures (seed %d)", c.failures, c.seed)
	}
}

func (c *isoTest) errorf(format string, args ...any) {
	c.t.Helper()
	c.t.Errorf(format, args...)
	c.failed()
}

// compare checks lines exactly, in order.
func (c *isoTest) compare(what string, got, want []string) {
	c.t.Helper()
	if !slices.Equal(got, want) {
		checkLines(c.t, what, got, want)
		c.failed()
	}
}

// status checks the status of an answer; false when it is not the wanted one.
func (c *isoTest) status(path string, rec *httptest.ResponseRecorder, want int) bool {
	c.t.Helper()
	if rec.Code != want {
		c.errorf("GET %s: got status %d, want %d; body %.300s", path, rec.Code, want, rec.Body)
		return false
	}
	return true
}

// viewer is the caller as the report expectations of reports_random_test.go take it, with
// the Ressort filter applied: the own Ressorts among those asked for (none asked: all own).
func (c *isoTest) viewer(filter []string) reportViewer {
	v := reportViewer{name: isoCaller, token: c.token, ressorts: []string{}}
	for _, code := range isoOwn {
		if filter == nil || slices.Contains(filter, code) {
			v.ressorts = append(v.ressorts, code)
		}
	}
	return v
}

// --- random parameters ---

// randomCode is a Ressort for a path: mostly one of the caller's, else a foreign one or a
// valid code of no Ressort.
func (c *isoTest) randomCode() string {
	if c.rng.IntN(3) > 0 {
		return isoOwn[c.rng.IntN(len(isoOwn))]
	}
	return isoFilterCodes[c.rng.IntN(len(isoFilterCodes))]
}

// randomFilter is a ressort filter (nil: none) of own, foreign and unknown codes.
func (c *isoTest) randomFilter() []string {
	if c.rng.IntN(5) < 2 {
		return nil
	}
	var out []string
	for range 1 + c.rng.IntN(3) {
		out = append(out, isoFilterCodes[c.rng.IntN(len(isoFilterCodes))])
	}
	if c.rng.IntN(3) == 0 {
		out = append(out, isoOwn[c.rng.IntN(len(isoOwn))])
	}
	return out
}

// randomInstant is an instant of the history: mostly on the half minute, sometimes exactly
// at a write, sometimes before the first or after the last.
func (c *isoTest) randomInstant() time.Time {
	switch n := c.rng.IntN(10); {
	case n < 3:
		id := c.m.order[c.rng.IntN(len(c.m.order))]
		h := c.m.history[id]
		return h[c.rng.IntN(len(h))].at
	case n < 4:
		return c.start.Add(-time.Duration(1+c.rng.IntN(120)) * time.Minute)
	case n < 5:
		return c.end.Add(time.Duration(c.rng.IntN(int(c.now.Sub(c.end)/time.Minute))) * time.Minute)
	default:
		span := int64(c.end.Sub(c.start) / time.Minute)
		return c.start.Add(time.Duration(c.rng.Int64N(span))*time.Minute + 30*time.Second)
	}
}

// randomAsOf is an as_of parameter ("" none) and the instant it stands for: an RFC 3339
// instant in UTC or Berlin time, or a date meaning the end of that day in Berlin (today:
// now).
func (c *isoTest) randomAsOf() (string, time.Time) {
	switch n := c.rng.IntN(10); {
	case n < 4:
		return "", c.now
	case n < 8:
		at := c.randomInstant()
		if c.rng.IntN(2) == 0 {
			return at.In(time.FixedZone("", 3600)).Format(time.RFC3339), at
		}
		return at.UTC().Format(time.RFC3339), at
	default:
		return c.randomDate()
	}
}

// randomDate is a date from the day before the history to today, and its instant.
func (c *isoTest) randomDate() (string, time.Time) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		c.t.Fatal(err)
	}
	day := time.Date(2026, 2, 28+c.rng.IntN(16), 0, 0, 0, 0, berlin)
	s := day.Format(time.DateOnly)
	if s == domain.Today(c.now) {
		return s, c.now
	}
	return s, day.AddDate(0, 0, 1).Add(-time.Microsecond)
}

// randomQ is a q parameter: a piece of the name or key of any entry of any Ressort (in
// another case, too), a single letter, or something no entry has.
func (c *isoTest) randomQ() string {
	id := c.m.order[c.rng.IntN(len(c.m.order))]
	h := c.m.history[id]
	e := h[0].entry
	for _, s := range h {
		if s.entry != nil {
			e = s.entry
		}
	}
	piece := func(s string) string {
		r := []rune(s)
		n := 1 + c.rng.IntN(min(5, len(r)))
		i := c.rng.IntN(len(r) - n + 1)
		return string(r[i : i+n])
	}
	var q string
	switch n := c.rng.IntN(10); {
	case n < 5:
		q = piece(e.name)
	case n < 7:
		q = piece(e.key)
	case n < 9:
		q = []string{"e", "ä", "Ü", "ö", "ß", "-", "0", "register-", "dienst-", "1", "Straße", "STRASSE"}[c.rng.IntN(12)]
	default:
		q = "zqxj"
	}
	switch c.rng.IntN(4) {
	case 0:
		q = strings.ToUpper(q)
	case 1:
		q = strings.ToLower(q)
	}
	return q
}

func (c *isoTest) randomLimit() int {
	switch n := c.rng.IntN(10); {
	case n < 3:
		return 0
	case n < 8:
		return 1 + c.rng.IntN(7)
	case n < 9:
		return 1 + c.rng.IntN(60)
	default:
		return 1000
	}
}

// --- lists ---

// listParams are the parameters of a listing; zero values are left out.
type listParams struct {
	ressorts []string
	stages   [3]string
	overdue  *bool
	q        string
	limit    int
	asOf     string
	at       time.Time
}

func (c *isoTest) randomList() listParams {
	p := listParams{ressorts: c.randomFilter(), limit: c.randomLimit()}
	for i := range reportDims {
		if c.rng.IntN(5) == 0 {
			p.stages[i] = []string{"not_started", "planned", "in_progress", "testing", "live", "not_applicable"}[c.rng.IntN(6)]
		}
	}
	switch c.rng.IntN(4) {
	case 0:
		p.overdue = ptr(true)
	case 1:
		p.overdue = ptr(false)
	}
	if c.rng.IntN(3) > 0 {
		p.q = c.randomQ()
	}
	p.asOf, p.at = c.randomAsOf()
	return p
}

func (p listParams) values(cross bool) url.Values {
	v := url.Values{}
	if cross {
		for _, code := range p.ressorts {
			v.Add("ressort", code)
		}
	}
	for i, d := range reportDims {
		if p.stages[i] != "" {
			v.Set("stage."+d, p.stages[i])
		}
	}
	if p.overdue != nil {
		v.Set("overdue", strconv.FormatBool(*p.overdue))
	}
	if p.q != "" {
		v.Set("q", p.q)
	}
	if p.limit != 0 {
		v.Set("limit", strconv.Itoa(p.limit))
	}
	if p.asOf != "" {
		v.Set("as_of", p.asOf)
	}
	return v
}

// isoVersion is an entry as the API shows it at an instant: content and version data.
type isoVersion struct {
	e                *rEntry
	version          int
	created, updated time.Time
	updatedBy        string
}

// versionAt is the entry of a history id at an instant; e is nil when it did not exist.
func (c *isoTest) versionAt(id string, at time.Time) isoVersion {
	var v isoVersion
	for _, s := range c.m.history[id] {
		if s.at.After(at) {
			break
		}
		if s.entry == nil { // deleted; a new entry under the key starts at version 1
			v = isoVersion{}
			continue
		}
		if v.e == nil {
			v.created = s.at
		}
		v.e, v.version, v.updated, v.updatedBy = s.entry, v.version+1, s.at, s.actor
	}
	return v
}

// expectedLine is how an entry is compared: everything the API shows of it.
func expectedLine(v isoVersion, today string) string {
	e := v.e
	var dims []string
	for i := range reportDims {
		target := e.targets[i]
		overdue := target != "" && target < today && !ready(e.stages[i])
		dims = append(dims, fmt.Sprintf("%s %s ready=%v overdue=%v note=%s", e.stages[i], target, ready(e.stages[i]), overdue, "Begründung"))
	}
	return fmt.Sprintf("%s %q anlage=%d nachweise=%v [%s] v%d created %s updated %s by %s", e.addr(), e.name, e.anlage,
		e.nachweise, strings.Join(dims, "; "), v.version, v.created.UTC().Format(time.RFC3339Nano),
		v.updated.UTC().Format(time.RFC3339Nano), v.updatedBy)
}

func gotLine(ressort, key, name string, anlage *int, nachweise []string, r oapi.Readiness, version int64, created, updated time.Time, by string) string {
	var dims []string
	for _, d := range []oapi.Dimension{r.Idnr, r.Noots, r.Dsc} {
		dims = append(dims, fmt.Sprintf("%s %s ready=%v overdue=%v note=%s", d.Stage, deref(d.TargetDate), d.Ready, d.Overdue, d.Note+d.EvidenceUrl))
	}
	n := 0
	if anlage != nil {
		n = *anlage
	}
	if len(nachweise) == 0 {
		nachweise = nil
	}
	return fmt.Sprintf("%s/%s %q anlage=%d nachweise=%v [%s] v%d created %s updated %s by %s", ressort, key, name, n,
		nachweise, strings.Join(dims, "; "), version, created.UTC().Format(time.RFC3339Nano),
		updated.UTC().Format(time.RFC3339Nano), by)
}

func registerLine(r oapi.Register) string {
	return gotLine(r.Ressort, r.Key, r.Name, r.IdnrgAnlageNr, nil, r.Readiness, r.Version, r.CreatedAt, r.UpdatedAt, r.UpdatedBy)
}

func onlinedienstLine(o oapi.Onlinedienst) string {
	return gotLine(o.Ressort, o.Key, o.Name, nil, o.NachweiseFrom, o.Readiness, o.Version, o.CreatedAt, o.UpdatedAt, o.UpdatedBy)
}

// expectList is the listing by brute force: the entries of the kind at the instant in the
// Ressorts the caller may read and asked for (code: the one of the path), filtered, in
// byte order of Ressort and key.
func (c *isoTest) expectList(kind, code string, p listParams) []string {
	filter := p.ressorts
	if code != "" {
		filter = []string{code}
	}
	v := c.viewer(filter)
	today := domain.Today(p.at)
	q := strings.ToLower(p.q)
	var out []string
	for _, e := range sortedReadable(v, c.m.snapshot(p.at)) {
		if e.kind != kind {
			continue
		}
		match := true
		overdue := false
		for i := range reportDims {
			if p.stages[i] != "" && e.stages[i] != p.stages[i] {
				match = false
			}
			if e.targets[i] != "" && e.targets[i] < today && !ready(e.stages[i]) {
				overdue = true
			}
		}
		if p.overdue != nil && *p.overdue != overdue {
			match = false
		}
		if q != "" && !strings.Contains(strings.ToLower(e.name), q) && !strings.Contains(e.key, q) {
			match = false
		}
		if match {
			out = append(out, expectedLine(c.versionAt(kind+"/"+e.addr(), p.at), today))
		}
	}
	return out
}

// checkList reads every page of a listing (code "": across Ressorts) and compares each page
// with its part of the expected listing. A foreign Ressort's listing is 403.
func (c *isoTest) checkList(kind, code string, p listParams) {
	c.t.Helper()
	base := "/v1/" + kind
	if code != "" {
		base = "/v1/ressorts/" + code + "/" + kind
	}
	query := p.values(code == "")
	if p.asOf == "" {
		p.at = c.now
	}
	if code != "" && !c.reads(code) {
		path := base + "?" + query.Encode()
		c.status(path, c.get(path, nil), 403)
		c.saw("foreign listing", true)
		return
	}
	want := c.expectList(kind, code, p)
	limit := p.limit
	if limit == 0 {
		limit = domain.DefaultLimit
	}
	c.saw("listing with q", p.q != "" && len(want) > 0)
	c.saw("listing as of", p.asOf != "" && len(want) > 0)
	c.saw("listing over pages", len(want) > limit)
	what := "GET " + base + "?" + query.Encode()
	for page := 0; ; page++ {
		path := base + "?" + query.Encode()
		rec := c.get(path, nil)
		if !c.status(path, rec, 200) {
			return
		}
		var got []string
		var next *string
		if kind == "registers" {
			l := decode[oapi.RegisterList](c.t, rec)
			for _, r := range l.Items {
				got = append(got, registerLine(r))
			}
			next = l.NextCursor
		} else {
			l := decode[oapi.OnlinedienstList](c.t, rec)
			for _, o := range l.Items {
				got = append(got, onlinedienstLine(o))
			}
			next = l.NextCursor
		}
		from := min(page*limit, len(want))
		part := want[from:min(from+limit, len(want))]
		c.compare(fmt.Sprintf("%s page %d", what, page), got, part)
		last := from+limit >= len(want)
		if (next == nil) != last {
			c.errorf("%s page %d: got next_cursor %v, want one: %v (%d entries in all, %d a page)", what, page, next != nil, !last, len(want), limit)
			return
		}
		if next == nil || !slices.Equal(got, part) {
			return
		}
		query.Set("cursor", *next)
	}
}

// --- single entries ---

// randomAddress is the Ressort and key of an entry of the kind that exists or existed in
// any Ressort, or a random Ressort with the key of any entry of either kind, or one no entry
// has.
func (c *isoTest) randomAddress(kind string) (string, string) {
	if c.rng.IntN(2) == 0 {
		var ids []string
		for _, id := range c.m.order {
			if strings.HasPrefix(id, kind+"/") {
				ids = append(ids, id)
			}
		}
		e := c.m.history[ids[c.rng.IntN(len(ids))]][0].entry
		return e.ressort, e.key
	}
	if c.rng.IntN(10) == 0 {
		return c.randomCode(), "nie-da"
	}
	id := c.m.order[c.rng.IntN(len(c.m.order))]
	return c.randomCode(), c.m.history[id][0].entry.key
}

// checkGet reads one entry, now or as of an instant: 403 in a foreign Ressort whether the
// entry exists or not, else the entry as it was or 404.
func (c *isoTest) checkGet(kind string) {
	c.t.Helper()
	code, key := c.randomAddress(kind)
	asOf, at := c.randomAsOf()
	path := "/v1/ressorts/" + code + "/" + kind + "/" + key
	if asOf != "" {
		path += "?as_of=" + url.QueryEscape(asOf)
	}
	rec := c.get(path, nil)
	v := c.versionAt(kind+"/"+code+"/"+key, at)
	if !c.reads(code) {
		c.status(path, rec, 403)
		c.saw("foreign entry", v.e != nil)
		return
	}
	if v.e == nil {
		c.status(path, rec, 404)
		c.saw("missing entry", true)
		return
	}
	c.saw("entry as of", asOf != "")
	if !c.status(path, rec, 200) {
		return
	}
	var got string
	if kind == "registers" {
		got = registerLine(decode[oapi.Register](c.t, rec))
	} else {
		got = onlinedienstLine(decode[oapi.Onlinedienst](c.t, rec))
	}
	c.compare("GET "+path, []string{got}, []string{expectedLine(v, domain.Today(at))})
	if got, want := rec.Header().Get("ETag"), fmt.Sprintf(`"%d"`, v.version); got != want {
		c.errorf("GET %s: got ETag %s, want %s", path, got, want)
	}
}

// --- history and audit ---

// isoEvent is one event of the model.
type isoEvent struct {
	at     time.Time
	actor  string
	action string
	e      *rEntry // the entry after the write, or before a deletion
	line   string
}

// flat is an entry's content as the events' changes name its fields (see contentFields).
func flat(e *rEntry) map[string]any {
	out := map[string]any{}
	if e == nil {
		return out
	}
	out["name"] = e.name
	if e.anlage != 0 {
		out["idnrg_anlage_nr"] = float64(e.anlage)
	}
	if len(e.nachweise) > 0 {
		l := make([]any, len(e.nachweise))
		for i, n := range e.nachweise {
			l[i] = n
		}
		out["nachweise_from"] = l
	}
	for i, d := range reportDims {
		out["readiness."+d+".stage"] = e.stages[i]
		if e.targets[i] != "" {
			out["readiness."+d+".target_date"] = e.targets[i]
		}
		out["readiness."+d+".note"] = "Begründung"
	}
	return out
}

func jsonValue(v any) string {
	if v == nil {
		return "-"
	}
	data, _ := json.Marshal(v)
	return string(data)
}

func eventLine(at time.Time, action, typ, ressort, key, actor string, changes map[string]oapi.Change) string {
	var cs []string
	for path, ch := range changes {
		cs = append(cs, path+"="+jsonValue(ch.From)+">"+jsonValue(ch.To))
	}
	slices.Sort(cs)
	return fmt.Sprintf("%s %s %s %s/%s by %s: %s", at.UTC().Format(time.RFC3339Nano), action, typ, ressort, key, actor, strings.Join(cs, " "))
}

// events are the events of one entry, oldest first.
func (c *isoTest) events(id string) []isoEvent {
	var out []isoEvent
	var before *rEntry
	for _, s := range c.m.history[id] {
		action, named := "updated", s.entry
		switch {
		case before == nil:
			action = "created"
		case s.entry == nil:
			action, named = "deleted", before
		}
		b, a := flat(before), flat(s.entry)
		changes := map[string]oapi.Change{}
		for k, bv := range b {
			if jsonValue(bv) != jsonValue(a[k]) {
				changes[k] = oapi.Change{From: bv, To: a[k]}
			}
		}
		for k, av := range a {
			if _, ok := b[k]; !ok {
				changes[k] = oapi.Change{To: av}
			}
		}
		out = append(out, isoEvent{at: s.at, actor: s.actor, action: action, e: named,
			line: eventLine(s.at, action, named.typ(), named.ressort, named.key, s.actor, changes)})
		before = s.entry
	}
	return out
}

// pages reads every page of an event listing and compares it with want (newest first).
func (c *isoTest) pages(base string, query url.Values, limit int, want []string) {
	c.t.Helper()
	if limit == 0 {
		limit = domain.DefaultLimit
	}
	what := "GET " + base + "?" + query.Encode()
	for page := 0; ; page++ {
		path := base + "?" + query.Encode()
		rec := c.get(path, nil)
		if !c.status(path, rec, 200) {
			return
		}
		l := decode[oapi.EventList](c.t, rec)
		var got []string
		for _, e := range l.Items {
			got = append(got, eventLine(e.At, string(e.Action), string(e.Entity.Type), deref(e.Entity.Ressort), e.Entity.Key, e.Actor, e.Changes))
		}
		from := min(page*limit, len(want))
		part := want[from:min(from+limit, len(want))]
		c.compare(fmt.Sprintf("%s page %d", what, page), got, part)
		last := from+limit >= len(want)
		if (l.NextCursor == nil) != last {
			c.errorf("%s page %d: got next_cursor %v, want one: %v (%d events in all, %d a page)", what, page, l.NextCursor != nil, !last, len(want), limit)
			return
		}
		if l.NextCursor == nil || !slices.Equal(got, part) {
			return
		}
		query.Set("cursor", *l.NextCursor)
	}
}

func newestFirst(events []isoEvent) []string {
	slices.SortStableFunc(events, func(a, b isoEvent) int { return b.at.Compare(a.at) })
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.line
	}
	return out
}

// checkHistory reads the history of one entry: 403 in a foreign Ressort, 404 for an entry
// that never existed, else every event of it, newest first, also after its deletion.
func (c *isoTest) checkHistory(kind string) {
	c.t.Helper()
	code, key := c.randomAddress(kind)
	base := "/v1/ressorts/" + code + "/" + kind + "/" + key + "/history"
	query := url.Values{}
	limit := c.randomLimit()
	if c.rng.IntN(2) == 0 {
		limit = 1 + c.rng.IntN(2) // histories are short
	}
	if limit != 0 {
		query.Set("limit", strconv.Itoa(limit))
	}
	id := kind + "/" + code + "/" + key
	switch {
	case !c.reads(code):
		path := base + "?" + query.Encode()
		c.status(path, c.get(path, nil), 403)
		c.saw("foreign history", len(c.m.history[id]) > 0)
	case len(c.m.history[id]) == 0:
		path := base + "?" + query.Encode()
		c.status(path, c.get(path, nil), 404)
	default:
		want := newestFirst(c.events(id))
		c.saw("history over pages", limit != 0 && len(want) > limit)
		c.pages(base, query, limit, want)
	}
}

// checkAudit reads the audit trail with random filters: only the events of the caller's
// Ressorts' entries.
func (c *isoTest) checkAudit() {
	c.t.Helper()
	query := url.Values{}
	var since, until *time.Time
	if c.rng.IntN(3) == 0 {
		at := c.randomInstant()
		since = &at
		query.Set("since", at.UTC().Format(time.RFC3339))
	}
	if c.rng.IntN(3) == 0 {
		at := c.randomInstant()
		until = &at
		query.Set("until", at.In(time.FixedZone("", 3600)).Format(time.RFC3339))
	}
	actor := ""
	if c.rng.IntN(4) == 0 {
		actor = []string{isoCaller, "rv-sf", "admin", "test", "niemand"}[c.rng.IntN(5)]
		query.Set("actor", actor)
	}
	filter := c.randomFilter()
	for _, code := range filter {
		query.Add("ressort", code)
	}
	typ := ""
	if c.rng.IntN(3) == 0 {
		typ = []string{"register", "onlinedienst", "register", "onlinedienst", "ressort", "user", "binding", "token"}[c.rng.IntN(8)]
		query.Set("type", typ)
	}
	action := ""
	if c.rng.IntN(3) == 0 {
		action = []string{"created", "updated", "deleted"}[c.rng.IntN(3)]
		query.Set("action", action)
	}
	limit := c.randomLimit()
	if limit != 0 {
		query.Set("limit", strconv.Itoa(limit))
	}
	v := c.viewer(filter)
	var want []isoEvent
	for _, id := range c.m.order {
		for _, e := range c.events(id) {
			if v.reads(e.e.ressort) && (since == nil || !e.at.Before(*since)) && (until == nil || e.at.Before(*until)) &&
				(actor == "" || e.actor == actor) && (typ == "" || e.e.typ() == typ) && (action == "" || e.action == action) {
				want = append(want, e)
			}
		}
	}
	c.saw("audit", len(want) > 0)
	c.pages("/v1/audit", query, limit, newestFirst(want))
}

// --- reports ---

// report sends a report request in a format (CSV also by Accept: text/csv) and returns the
// answer, or nil when its status or type is wrong.
func (c *isoTest) report(name string, query url.Values, format string) (string, *httptest.ResponseRecorder) {
	c.t.Helper()
	var headers map[string]string
	switch {
	case format == "csv" && c.rng.IntN(3) == 0:
		headers = map[string]string{"Accept": "text/csv"}
	case format != "json" || c.rng.IntN(2) == 0:
		query.Set("format", format)
	}
	path := "/v1/reports/" + name + "?" + query.Encode()
	rec := c.get(path, headers)
	if !c.status(path, rec, 200) {
		return path, nil
	}
	want := map[string]string{"json": "application/json", "csv": "text/csv",
		"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}[format]
	if got := rec.Header().Get("Content-Type"); !strings.HasPrefix(got, want) {
		c.errorf("GET %s: got Content-Type %q, want %s", path, got, want)
		return path, nil
	}
	return path, rec
}

// rows reads the table of a CSV answer or a sheet of a workbook, without the header, which
// must be the given one. Trailing empty cells are dropped (the workbook leaves them out).
func (c *isoTest) rows(path string, rec *httptest.ResponseRecorder, format, sheet string, header []string) [][]string {
	c.t.Helper()
	var all [][]string
	if format == "csv" {
		var err error
		if all, err = csv.NewReader(strings.NewReader(rec.Body.String())).ReadAll(); err != nil {
			c.errorf("GET %s: CSV: %v", path, err)
			return nil
		}
	} else {
		f, err := excelize.OpenReader(bytes.NewReader(rec.Body.Bytes()))
		if err != nil {
			c.errorf("GET %s: not a workbook: %v", path, err)
			return nil
		}
		defer f.Close()
		if all, err = f.GetRows(sheet); err != nil {
			c.errorf("GET %s: sheet %s: %v", path, sheet, err)
			return nil
		}
	}
	if len(all) == 0 || !slices.Equal(all[0], header) {
		c.errorf("GET %s: got header %q, want %q", path, all[:min(1, len(all))], header)
		return nil
	}
	out := all[1:]
	for i, row := range out {
		if len(row) > len(header) {
			c.errorf("GET %s: row %d has %d cells, the header %d", path, i+1, len(row), len(header))
			return nil
		}
		for len(row) > 0 && row[len(row)-1] == "" {
			row = row[:len(row)-1]
		}
		out[i] = row
	}
	return out
}

// cells pads a row to n cells.
func cells(row []string, n int) []string {
	for len(row) < n {
		row = append(row, "")
	}
	return row
}

func typOf(label string) string {
	return map[string]string{"Register": "register", "Onlinedienst": "onlinedienst"}[label]
}

// checkAsOf checks the instant a report says it describes.
func (c *isoTest) checkAsOf(path string, got, want time.Time) {
	c.t.Helper()
	if !got.Equal(want) {
		c.errorf("GET %s: got as_of %s, want %s", path, got.Format(time.RFC3339Nano), want.Format(time.RFC3339Nano))
	}
}

// reportQuery draws as_of and a Ressort filter.
func (c *isoTest) reportQuery() (url.Values, time.Time, reportViewer) {
	query := url.Values{}
	asOf, at := c.randomAsOf()
	if asOf != "" {
		query.Set("as_of", asOf)
	}
	filter := c.randomFilter()
	for _, code := range filter {
		query.Add("ressort", code)
	}
	return query, at, c.viewer(filter)
}

var readinessHeader = []string{"Ressort", "Name", "Art", "Dimension", "Anzahl", "vollständig bereit",
	"nicht begonnen", "geplant", "in Arbeit", "im Test", "live", "nicht anwendbar", "bereit", "bereit %", "überfällig"}

func readinessLine(code, name, kind, dim string, n []int64, pct float64) string {
	return fmt.Sprintf("%s (%s) %s %s: count %d fully %d stages %v ready %d (%.1f %%) overdue %d", code, name, kind, dim,
		n[0], n[1], n[2:8], n[8], pct, n[9])
}

func (c *isoTest) checkReadiness(format string) {
	c.t.Helper()
	query, at, v := c.reportQuery()
	kind := ""
	if c.rng.IntN(3) == 0 {
		kind = []string{"registers", "onlinedienste"}[c.rng.IntN(2)]
		query.Set("kind", kind)
	}
	// Per Ressort (then the total), kind and dimension: count, fully ready, the six stages,
	// ready, overdue.
	today := domain.Today(at)
	snap := c.m.snapshot(at)
	codes := append(slices.Clone(v.ressorts), "Gesamt")
	counts := map[string]map[string][3][10]int64{}
	for _, code := range codes {
		counts[code] = map[string][3][10]int64{"registers": {}, "onlinedienste": {}}
	}
	for _, e := range snap {
		if !v.reads(e.ressort) || (kind != "" && e.kind != kind) {
			continue
		}
		for _, code := range []string{e.ressort, "Gesamt"} {
			n := counts[code][e.kind]
			fully := ready(e.stages[0]) && ready(e.stages[1]) && ready(e.stages[2])
			for i := range reportDims {
				n[i][0]++
				if fully {
					n[i][1]++
				}
				n[i][2+slices.Index(stageNames, e.stages[i])]++
				if ready(e.stages[i]) {
					n[i][8]++
				} else if e.targets[i] != "" && e.targets[i] < today {
					n[i][9]++
				}
			}
			counts[code][e.kind] = n
		}
	}
	var want []string
	for _, code := range codes {
		name := c.ressortNames[code]
		if code == "Gesamt" {
			name = "alle lesbaren Ressorts"
		}
		for _, k := range []struct{ kind, label string }{{"registers", "Register"}, {"onlinedienste", "Onlinedienste"}} {
			for i, d := range reportDims {
				n := counts[code][k.kind][i]
				pct := 0.0
				if n[0] > 0 {
					pct = math.Round(float64(n[8])*1000/float64(n[0])) / 10
				}
				want = append(want, readinessLine(code, name, k.label, d, n[:], pct))
			}
		}
	}

	path, rec := c.report("readiness", query, format)
	if rec == nil {
		return
	}
	var got []string
	if format == "json" {
		r := decode[oapi.ReadinessReport](c.t, rec)
		c.checkAsOf(path, r.AsOf, at)
		lines := func(code, name string, regs, online oapi.KindSummary) {
			for _, k := range []struct {
				label string
				s     oapi.KindSummary
			}{{"Register", regs}, {"Onlinedienste", online}} {
				for i, ds := range []oapi.DimensionSummary{k.s.Dimensions.Idnr, k.s.Dimensions.Noots, k.s.Dimensions.Dsc} {
					st := ds.Stages
					n := []int64{k.s.Count, k.s.FullyReady, st.NotStarted, st.Planned, st.InProgress, st.Testing, st.Live, st.NotApplicable, ds.Ready, ds.Overdue}
					got = append(got, readinessLine(code, name, k.label, reportDims[i], n, ds.ReadyPct))
				}
			}
		}
		for _, rs := range r.Ressorts {
			lines(rs.Ressort, rs.Name, rs.Registers, rs.Onlinedienste)
		}
		lines("Gesamt", "alle lesbaren Ressorts", r.Total.Registers, r.Total.Onlinedienste)
	} else {
		for _, row := range c.rows(path, rec, format, "Bereitschaft", readinessHeader) {
			row = cells(row, len(readinessHeader))
			var n []int64
			for _, i := range []int{4, 5, 6, 7, 8, 9, 10, 11, 12, 14} {
				x, _ := strconv.ParseInt(row[i], 10, 64)
				n = append(n, x)
			}
			pct, _ := strconv.ParseFloat(row[13], 64)
			got = append(got, readinessLine(row[0], row[1], row[2], row[3], n, pct))
		}
	}
	c.compare("GET "+path, got, want)
}

var stageNames = []string{"not_started", "planned", "in_progress", "testing", "live", "not_applicable"}

func (c *isoTest) checkOverdue(format string) {
	c.t.Helper()
	query, at, v := c.reportQuery()
	want := expectOverdue(v, c.m.snapshot(at), berlinDate(c.t, at))
	c.saw("overdue", len(want) > 0)
	path, rec := c.report("overdue", query, format)
	if rec == nil {
		return
	}
	var got []string
	if format == "json" {
		r := decode[oapi.OverdueReport](c.t, rec)
		c.checkAsOf(path, r.AsOf, at)
		for _, it := range r.Items {
			got = append(got, fmt.Sprintf("%s/%s %s %q %s %s %s %d", it.Ressort, it.Key, it.Kind, it.Name, it.Dimension, it.Stage, it.TargetDate, it.DaysOverdue))
		}
	} else {
		header := []string{"Ressort", "Schlüssel", "Name", "Art", "Dimension", "Stufe", "Zieldatum", "Tage überfällig"}
		for _, row := range c.rows(path, rec, format, "Überfällig", header) {
			row = cells(row, len(header))
			got = append(got, fmt.Sprintf("%s/%s %s %q %s %s %s %s", row[0], row[1], typOf(row[3]), row[2], row[4], row[5], row[6], row[7]))
		}
	}
	c.compare("GET "+path, got, want)
}

func (c *isoTest) checkConsistency(format string) {
	c.t.Helper()
	query, at, v := c.reportQuery()
	want := expectConsistency(v, c.m.snapshot(at))
	c.saw("consistency", len(want) > 0)
	path, rec := c.report("consistency", query, format)
	if rec == nil {
		return
	}
	line := func(rule, ressort, key, kind, name, detail string) string {
		dsc := "?"
		if _, after, ok := strings.Cut(detail, "dsc is "); ok {
			dsc, _, _ = strings.Cut(after, ":")
		}
		if want := "live in noots and idnr, but dsc is " + dsc + ": the IDNr may not be used in transfers before the DSC connection"; detail != want {
			dsc = "detail " + strconv.Quote(detail)
		}
		return fmt.Sprintf("%s %s/%s %s %q dsc is %s", rule, ressort, key, kind, name, dsc)
	}
	var got []string
	if format == "json" {
		r := decode[oapi.ConsistencyReport](c.t, rec)
		c.checkAsOf(path, r.AsOf, at)
		for _, f := range r.Findings {
			got = append(got, line(f.Rule, f.Ressort, f.Key, string(f.Kind), f.Name, f.Detail))
		}
	} else {
		header := []string{"Regel", "Ressort", "Schlüssel", "Name", "Art", "Befund"}
		for _, row := range c.rows(path, rec, format, "Befunde", header) {
			row = cells(row, len(header))
			got = append(got, line(row[0], row[1], row[2], typOf(row[4]), row[3], row[5]))
		}
	}
	c.compare("GET "+path, got, want)
}

func (c *isoTest) checkCoverage(format string) {
	c.t.Helper()
	query, at, v := c.reportQuery()
	want := expectCoverage(v, c.m.snapshot(at))
	c.saw("anlage-coverage", slices.ContainsFunc(want, func(l string) bool { return !strings.HasSuffix(l, " gap") }))
	path, rec := c.report("anlage-coverage", query, format)
	if rec == nil {
		return
	}
	var got []string
	if format == "json" {
		r := decode[oapi.AnlageCoverageReport](c.t, rec)
		c.checkAsOf(path, r.AsOf, at)
		for i, it := range r.Items {
			if it.Nr != i+1 || it.Name != c.anlageNames[it.Nr] || it.Gap != (len(it.Registers) == 0) {
				c.errorf("GET %s: item %d is nr %d %q gap %v with %d registers, want nr %d %q", path, i, it.Nr, it.Name, it.Gap,
					len(it.Registers), i+1, c.anlageNames[i+1])
			}
			for _, e := range it.Registers {
				got = append(got, fmt.Sprintf("%d %s/%s %q %s/%s/%s", it.Nr, e.Ressort, e.Key, e.Name, e.Idnr, e.Noots, e.Dsc))
			}
			if len(it.Registers) == 0 {
				got = append(got, fmt.Sprintf("%d gap", it.Nr))
			}
		}
	} else {
		header := []string{"Nr.", "Register der Anlage", "Lücke", "Ressort", "Schlüssel", "Name", "IDNr", "NOOTS", "DSC"}
		for _, row := range c.rows(path, rec, format, "Anlage-Abdeckung", header) {
			row = cells(row, len(header))
			nr, _ := strconv.Atoi(row[0])
			if row[1] != c.anlageNames[nr] {
				c.errorf("GET %s: nr %s is named %q, want %q", path, row[0], row[1], c.anlageNames[nr])
			}
			switch row[2] {
			case "ja":
				got = append(got, fmt.Sprintf("%s gap%s", row[0], strings.Join(row[3:], "")))
			default:
				got = append(got, fmt.Sprintf("%s %s/%s %q %s/%s/%s", row[0], row[3], row[4], row[5], row[6], row[7], row[8]))
			}
		}
	}
	c.compare("GET "+path, got, want)
}

// checkBlocked: a blocking register of another Ressort is named with its public card only.
func (c *isoTest) checkBlocked(format string) {
	c.t.Helper()
	query, at, v := c.reportQuery()
	want := expectBlocked(v, c.m.snapshot(at))
	c.saw("foreign blocker", slices.ContainsFunc(want, func(l string) bool {
		_, blocker, _ := strings.Cut(l, " <- ")
		code, _, _ := strings.Cut(blocker, "/")
		return !c.reads(code)
	}))
	path, rec := c.report("blocked", query, format)
	if rec == nil {
		return
	}
	var got []string
	if format == "json" {
		r := decode[oapi.BlockedReport](c.t, rec)
		c.checkAsOf(path, r.AsOf, at)
		for _, it := range r.Items {
			if len(it.BlockedBy) == 0 {
				c.errorf("GET %s: %s/%s listed without a blocking register", path, it.Ressort, it.Key)
			}
			for _, b := range it.BlockedBy {
				got = append(got, fmt.Sprintf("%s/%s %q <- %s/%s %q %s", it.Ressort, it.Key, it.Name, b.Ressort, b.Key, b.Name, b.NootsStage))
			}
		}
		var raw struct {
			Items []struct {
				BlockedBy []map[string]json.RawMessage `json:"blocked_by"`
			} `json:"items"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &raw); err != nil {
			c.t.Fatal(err)
		}
		for _, it := range raw.Items {
			for _, b := range it.BlockedBy {
				keys := slices.Sorted(maps.Keys(b))
				if got, want := strings.Join(keys, ","), "key,name,noots_stage,ressort"; got != want {
					c.errorf("GET %s: a blocking register shows %s, want %s", path, got, want)
				}
			}
		}
	} else {
		header := []string{"Ressort", "Schlüssel", "Onlinedienst", "blockiert durch Ressort", "Register-Schlüssel", "Register", "NOOTS-Stufe"}
		for _, row := range c.rows(path, rec, format, "Blockiert", header) {
			row = cells(row, len(header))
			got = append(got, fmt.Sprintf("%s/%s %q <- %s/%s %q %s", row[0], row[1], row[2], row[3], row[4], row[5], row[6]))
		}
	}
	c.compare("GET "+path, got, want)
}

// checkProgress: the changes and ready counts of the caller's Ressorts in a random period.
func (c *isoTest) checkProgress(format string) {
	c.t.Helper()
	query := url.Values{}
	var from, to time.Time
	for {
		var fromParam, toParam string
		fromParam, from = c.randomAsOf()
		toParam, to = c.randomAsOf()
		if fromParam == "" || !from.Before(to) {
			continue
		}
		query.Set("from", fromParam)
		if toParam != "" {
			query.Set("to", toParam)
		}
		break
	}
	filter := c.randomFilter()
	for _, code := range filter {
		query.Add("ressort", code)
	}
	v := c.viewer(filter)
	wantChanges, wantReady := expectChanges(v, c.m, from, to), expectReady(v, c.m, from, to)
	c.saw("progress", len(wantChanges) > 0)
	path, rec := c.report("progress", query, format)
	if rec == nil {
		return
	}
	changeLine := func(at, ressort, key, kind, name, dim, from, to, actor string) string {
		return fmt.Sprintf("%s %s/%s %s %q %s %s>%s %s", at, ressort, key, kind, name, dim, from, to, actor)
	}
	readyLine := func(ressort, kind, dim string, readyFrom, countFrom, readyTo, countTo any) string {
		return fmt.Sprintf("%s %s %s: %v/%v → %v/%v", ressort, kind, dim, readyFrom, countFrom, readyTo, countTo)
	}
	var gotChanges, gotReady []string
	switch format {
	case "json":
		r := decode[oapi.ProgressReport](c.t, rec)
		if !r.From.Equal(from) || !r.To.Equal(to) {
			c.errorf("GET %s: got the period %s..%s, want %s..%s", path, r.From, r.To, from, to)
		}
		for _, ch := range r.Changes {
			gotChanges = append(gotChanges, changeLine(ch.At.UTC().Format(time.RFC3339), ch.Ressort, ch.Key, string(ch.Kind), ch.Name,
				string(ch.Dimension), ch.From, ch.To, ch.Actor))
		}
		for _, l := range r.Ready {
			gotReady = append(gotReady, readyLine(l.Ressort, string(l.Kind), string(l.Dimension), l.ReadyFrom, l.CountFrom, l.ReadyTo, l.CountTo))
		}
	default:
		header := []string{"Ressort", "Schlüssel", "Name", "Art", "Dimension", "von", "nach", "Zeitpunkt", "geändert von"}
		for _, row := range c.rows(path, rec, format, "Änderungen", header) {
			row = cells(row, len(header))
			gotChanges = append(gotChanges, changeLine(row[7], row[0], row[1], typOf(row[3]), row[2], row[4], row[5], row[6], row[8]))
		}
		if format == "xlsx" {
			header := []string{"Ressort", "Art", "Dimension", "Anzahl am Beginn", "bereit am Beginn", "Anzahl am Ende", "bereit am Ende"}
			for _, row := range c.rows(path, rec, format, "Stand", header) {
				row = cells(row, len(header))
				gotReady = append(gotReady, readyLine(row[0], typOf(row[1]), row[2], row[4], row[3], row[6], row[5]))
			}
		} else {
			gotReady = wantReady // CSV holds the first table only
		}
	}
	c.compare("GET "+path+" changes", gotChanges, wantChanges)
	c.compare("GET "+path+" ready", gotReady, wantReady)
}

// --- export ---

func exportLine(ressort, key, name string, anlage int, nachweise []string, stages, targets, notes [3]string) string {
	if len(nachweise) == 0 {
		nachweise = nil
	}
	return fmt.Sprintf("%s/%s %q anlage=%d nachweise=%v stages=%v targets=%v notes=%v", ressort, key, name, anlage, nachweise, stages, targets, notes)
}

func inputLine(ressort, key, name string, anlage *int, nachweise *[]string, r *oapi.ReadinessInput) string {
	var stages, targets, notes [3]string
	if r != nil {
		for i, d := range []*oapi.DimensionInput{r.Idnr, r.Noots, r.Dsc} {
			if d != nil {
				stages[i], targets[i], notes[i] = string(d.Stage), deref(d.TargetDate), deref(d.Note)+deref(d.EvidenceUrl)
			}
		}
	}
	n := 0
	if anlage != nil {
		n = *anlage
	}
	var refs []string
	if nachweise != nil {
		refs = *nachweise
	}
	return exportLine(ressort, key, name, n, refs, stages, targets, notes)
}

// checkExport: everything of the caller's Ressorts now, in the import format.
func (c *isoTest) checkExport(format string) {
	c.t.Helper()
	query := url.Values{}
	filter := c.randomFilter()
	for _, code := range filter {
		query.Add("ressort", code)
	}
	kinds := []string{"registers", "onlinedienste"}
	if format == "csv" || c.rng.IntN(2) == 0 {
		kinds = []string{kinds[c.rng.IntN(2)]}
		query.Set("kind", kinds[0])
	}
	// The contract's default for format is json, so Accept: text/csv does not select CSV here.
	if format == "csv" || c.rng.IntN(2) == 0 {
		query.Set("format", format)
	}
	v := c.viewer(filter)
	want := map[string][]string{}
	for _, e := range sortedReadable(v, c.m.snapshot(c.now)) {
		notes := [3]string{"Begründung", "Begründung", "Begründung"}
		want[e.kind] = append(want[e.kind], exportLine(e.ressort, e.key, e.name, e.anlage, e.nachweise, e.stages, e.targets, notes))
	}
	for _, kind := range kinds {
		c.saw("export "+kind, len(want[kind]) > 0)
	}
	path := "/v1/export?" + query.Encode()
	rec := c.get(path, nil)
	if !c.status(path, rec, 200) {
		return
	}
	if format == "json" {
		inv := decode[oapi.Inventory](c.t, rec)
		lists := map[string]*[]string{}
		if inv.Registers != nil {
			l := []string{}
			for _, r := range *inv.Registers {
				l = append(l, inputLine(r.Ressort, r.Key, r.Name, r.IdnrgAnlageNr, nil, r.Readiness))
			}
			lists["registers"] = &l
		}
		if inv.Onlinedienste != nil {
			l := []string{}
			for _, o := range *inv.Onlinedienste {
				l = append(l, inputLine(o.Ressort, o.Key, o.Name, nil, o.NachweiseFrom, o.Readiness))
			}
			lists["onlinedienste"] = &l
		}
		if len(lists) != len(kinds) {
			c.errorf("GET %s: got %d lists, want %v", path, len(lists), kinds)
		}
		for _, kind := range kinds {
			if lists[kind] == nil {
				c.errorf("GET %s: no list of %s", path, kind)
				continue
			}
			c.compare("GET "+path+" "+kind, *lists[kind], want[kind])
		}
		return
	}
	rows, err := csv.NewReader(strings.NewReader(rec.Body.String())).ReadAll()
	if err != nil || len(rows) == 0 {
		c.errorf("GET %s: CSV %v with %d rows: %.500q", path, err, len(rows), rec.Body.String())
		return
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	cell := func(row []string, name string) string {
		if i, ok := col[name]; ok && i < len(row) {
			return row[i]
		}
		return ""
	}
	var got []string
	for _, row := range rows[1:] {
		var stages, targets, notes [3]string
		for i, d := range reportDims {
			stages[i], targets[i], notes[i] = cell(row, d+"_stage"), cell(row, d+"_target_date"), cell(row, d+"_note")+cell(row, d+"_evidence_url")
		}
		anlage, _ := strconv.Atoi(cell(row, "idnrg_anlage_nr"))
		var refs []string
		if s := cell(row, "nachweise_from"); s != "" {
			refs = strings.Split(s, "|")
		}
		got = append(got, exportLine(cell(row, "ressort"), cell(row, "key"), cell(row, "name"), anlage, refs, stages, targets, notes))
	}
	c.compare("GET "+path, got, want[kinds[0]])
}
