package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bremen/regmo/migrations/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

func TestLongestOutage(t *testing.T) {
	t0 := time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)
	at := func(ms int, ok bool) sample {
		s := t0.Add(time.Duration(ms) * time.Millisecond)
		return sample{at: s, end: s.Add(time.Millisecond), ok: ok}
	}
	samples := []sample{at(0, true), at(50, false), at(100, false), at(150, true), at(200, false), at(500, true), at(550, true)}
	got, from := longestOutage(samples)
	if got != 300*time.Millisecond || !from.Equal(t0.Add(200*time.Millisecond)) {
		t.Errorf("longestOutage = %s from %s, want 300ms from +200ms", got, from.Sub(t0))
	}
	if got, _ := longestOutage([]sample{at(0, true), at(50, true)}); got != 0 {
		t.Errorf("no outage: %s", got)
	}
}

// TestAnalyse: a 503 inside the window is expected, a 500 anywhere and a 503 after the
// window are not, and recovery counts from the database's return to the first 2xx.
func TestAnalyse(t *testing.T) {
	t0 := time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	cfg := config{recoveryLimit: 5 * time.Second, hangLimit: 10 * time.Second}
	database := []sample{{at: ms(900), end: ms(901), ok: true}, {at: ms(1100), end: ms(1101)}, {at: ms(1500), end: ms(1600), ok: true}}
	results := []result{
		{op: opGet, status: 200, start: ms(0), end: ms(10)},
		{op: opGet, status: 503, problem: true, start: ms(1200), end: ms(1210)},
		{op: opPatch, status: 200, start: ms(1600), end: ms(1650)},
		{op: opGet, status: 500, problem: true, start: ms(1700), end: ms(1710)},
		{op: opGet, status: 503, problem: false, start: ms(9000), end: ms(9001)},
	}
	a := analyse(cfg, results, database, ms(1000), ms(1400))
	if !a.dbDown.Equal(ms(1100)) || !a.dbBack.Equal(ms(1600)) {
		t.Errorf("database away %s to %s, want +1.1s to +1.6s", a.dbDown.Sub(t0), a.dbBack.Sub(t0))
	}
	if !a.recovered || a.recovery != 50*time.Millisecond {
		t.Errorf("recovery = %s (%v), want 50ms", a.recovery, a.recovered)
	}
	if a.bad5xx != 1 || a.outside5xx != 1 || a.notProblem != 1 {
		t.Errorf("bad5xx %d, outside5xx %d, notProblem %d; want 1, 1, 1", a.bad5xx, a.outside5xx, a.notProblem)
	}
	if a.classes[phaseBefore]["2xx"] != 1 || a.classes[phaseWindow]["5xx"] != 2 || a.classes[phaseAfter]["5xx"] != 1 {
		t.Errorf("classes = %v", a.classes)
	}
}

// TestVerifyWrites runs the lost-write check on a real database: acknowledged versions that
// are there pass, a missing version, a wrong value and an entry older than its last
// acknowledgement are each reported.
func TestVerifyWrites(t *testing.T) {
	dsn := testdb.DSN(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	// The versions copy the entries' columns by name, so that a column added to both tables
	// (it lands after valid_to in entry_versions) changes nothing here.
	var cols string
	if err := conn.QueryRow(ctx, `SELECT string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position)
		FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'entries'`).Scan(&cols); err != nil {
		t.Fatal(err)
	}
	version := func(validTo, where string) string {
		return `INSERT INTO entry_versions (` + cols + `, valid_from, valid_to) SELECT ` + cols + `, now(), ` + validTo + ` FROM entries` + where
	}
	// SF/lt-register-0001 was written twice, SK/lt-register-0001 once.
	for _, stmt := range []string{
		`INSERT INTO entries (kind, ressort, key, name, created_at, updated_at, idnr_note, noots_stage, version)
			VALUES ('register', 'SF', 'lt-register-0001', 'A', now(), now(), 'eins', 'not_started', 1),
			       ('register', 'SK', 'lt-register-0001', 'B', now(), now(), 'eins', 'testing', 1)`,
		// History is append-only: SF's first version is kept before the entry changes.
		version("now()", ` WHERE ressort = 'SF'`),
		`UPDATE entries SET version = 2, idnr_note = 'zwei', noots_stage = 'planned' WHERE ressort = 'SF'`,
		version("NULL", ""),
	} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	good := []ack{
		{ressort: "SF", key: "lt-register-0001", version: 1, note: "eins", stage: "not_started"},
		{ressort: "SF", key: "lt-register-0001", version: 2, note: "zwei", stage: "planned"},
		{ressort: "SK", key: "lt-register-0001", version: 1, note: "eins", stage: "testing"},
	}
	wr, err := verifyWrites(ctx, dsn, good)
	if err != nil {
		t.Fatal(err)
	}
	if len(wr.lost) != 0 || wr.checked != 3 || wr.keys != 2 || wr.unacked != 0 {
		t.Errorf("good acks: %+v", wr)
	}
	bad := []ack{
		{ressort: "SF", key: "lt-register-0001", version: 1, note: "eins", stage: "not_started"}, // fine, superseded
		{ressort: "SK", key: "lt-register-0001", version: 1, note: "anders", stage: "testing"},   // wrong value
		{ressort: "SIS", key: "lt-register-0001", version: 1, note: "x", stage: "live"},          // missing
		{ressort: "SK", key: "lt-register-0001", version: 3, note: "drei", stage: "live"},        // newer than the row
	}
	wr, err = verifyWrites(ctx, dsn, bad)
	if err != nil {
		t.Fatal(err)
	}
	if len(wr.lost) != 5 || wr.unacked != 1 {
		t.Errorf("bad acks: %d lost (want 5: wrong value twice, missing version twice, older row), %d unacked (want 1): %q", len(wr.lost), wr.unacked, wr.lost)
	}
}

func TestIsProblem(t *testing.T) {
	resp := &http.Response{StatusCode: 503, Header: http.Header{"Content-Type": {"application/problem+json"}}}
	if !isProblem(resp, []byte(`{"type":"https://regmo.bremen.de/problems/unavailable","status":503}`)) {
		t.Error("a 503 problem body was not recognised")
	}
	if isProblem(resp, []byte(`{"type":"x","status":500}`)) {
		t.Error("a body naming another status was taken for the answer's problem")
	}
	resp.Header.Set("Content-Type", "text/plain")
	if isProblem(resp, []byte(`{"type":"x","status":503}`)) {
		t.Error("text/plain was taken for a problem body")
	}
}
