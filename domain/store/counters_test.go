package store_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/store"
	"github.com/bremen/regmo/domain/transfer"
	"github.com/bremen/regmo/migrations/testdb"
)

// counterRessorts, counterKeys and counterDates are small on purpose: concurrent writers
// collide on the same entries, Ressorts and counter figures.
var (
	counterRessorts = []string{"SF", "SK", "SIS"}
	counterDates    = []string{"", "2026-01-15", "2026-06-30", "2026-07-01", "2026-12-31"}
)

const (
	counterKeys  = 12
	counterToday = "2026-07-01"
)

// sliceSource is an import source over a list of items.
type sliceSource struct {
	items []transfer.ImportItem
	next  int
}

func (s *sliceSource) Kinds() []domain.Kind {
	return []domain.Kind{domain.KindRegister, domain.KindOnlinedienst}
}

func (s *sliceSource) Next() (transfer.ImportItem, error) {
	if s.next == len(s.items) {
		return transfer.ImportItem{}, io.EOF
	}
	s.next++
	return s.items[s.next-1], nil
}

// counterWorld is what the writers of TestCountersNeverDrift share.
type counterWorld struct {
	owner     *gorm.DB
	inv       *store.Inventory
	transfers *transfer.Service
	counters  *store.Counters
}

// newCounterWorld is a counterWorld on a fresh database, whose services work as regmo_app
// on app.
func newCounterWorld(t *testing.T) (w *counterWorld, app *gorm.DB) {
	dsn := testdb.DSN(t)
	app = testdb.App(t, dsn)
	return &counterWorld{owner: testdb.Open(t, dsn), inv: store.NewInventory(app),
		transfers: transfer.New(store.NewTransfers(app)), counters: store.NewCounters(app)}, app
}

func randomStatus(r *rand.Rand) domain.Status {
	s := domain.Status{Stage: domain.Stages[r.IntN(len(domain.Stages))], TargetDate: counterDates[r.IntN(len(counterDates))]}
	if s.Stage == domain.StageNotApplicable {
		s.Note = "keine personenbezogenen Daten"
	}
	return s
}

func randomContent(r *rand.Rand, key string) domain.Content {
	return domain.Content{Name: "Eintrag " + key, Readiness: domain.Readiness{
		IDNr: randomStatus(r), NOOTS: randomStatus(r), DSC: randomStatus(r)}}
}

func randomKind(r *rand.Rand) domain.Kind {
	if r.IntN(2) == 0 {
		return domain.KindRegister
	}
	return domain.KindOnlinedienst
}

// expected reports whether err is an outcome a writer may meet among concurrent writers: a
// missing entry, a refused or invalid write, and an import that lost the race to create an
// entry three times running (store.Transfers.InTx tries three times; the writers here
// create the same twelve keys all the time), and a write given up as domain.ErrBusy after
// every attempt met a deadlock or a race. Any other database error is not.
func expected(what string, err error) bool {
	if errors.Is(err, domain.ErrBusy) {
		// A write that lost to deadlocks or races on every attempt: answered 503, nothing
		// written.
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return strings.HasPrefix(what, "import") && pgErr.Code == "23505"
	}
	var ie *transfer.ImportError
	return errors.Is(err, domain.ErrNotFound) || errors.As(err, &ie)
}

// step does one random write (or a write that is rolled back, or a compaction).
func (w *counterWorld) step(ctx context.Context, r *rand.Rand) (string, error) {
	ressort := counterRessorts[r.IntN(len(counterRessorts))]
	kind := randomKind(r)
	key := "k" + strconv.Itoa(r.IntN(counterKeys))
	scope := domain.WriteRessorts(ressort)
	switch op := r.IntN(100); {
	case op < 30:
		_, _, err := w.inv.Put(ctx, "drift", scope, kind, ressort, key, randomContent(r, key), domain.Precondition{})
		return "put", err
	case op < 50:
		dim := domain.Dimensions[r.IntN(len(domain.Dimensions))]
		st := randomStatus(r)
		status := map[string]any{"stage": string(st.Stage), "note": st.Note}
		if st.TargetDate != "" {
			status["target_date"] = st.TargetDate
		} else {
			status["target_date"] = nil
		}
		patch := map[string]any{"readiness": map[string]any{string(dim): status}}
		if r.IntN(4) == 0 {
			patch = map[string]any{"name": "Umbenannt " + key} // changes no counter
		}
		_, err := w.inv.Patch(ctx, "drift", scope, kind, ressort, key, patch, domain.Precondition{})
		return "patch", err
	case op < 65:
		return "delete", w.inv.Delete(ctx, "drift", scope, kind, ressort, key, domain.Precondition{})
	case op < 85:
		var items []transfer.ImportItem
		seen := map[string]bool{}
		for range 1 + r.IntN(8) {
			k, key := randomKind(r), "k"+strconv.Itoa(r.IntN(counterKeys))
			if seen[string(k)+key] {
				continue
			}
			seen[string(k)+key] = true
			items = append(items, transfer.ImportItem{Kind: k, Ressort: ressort, Key: key, Index: len(items), Content: randomContent(r, key)})
		}
		opt := transfer.ImportOptions{DryRun: r.IntN(4) == 0}
		if r.IntN(3) == 0 {
			opt.Replace = ressort
		}
		_, err := w.transfers.Import(ctx, "drift", scope, &sliceSource{items: items}, opt)
		return fmt.Sprintf("import (dry run %v, replace %q)", opt.DryRun, opt.Replace), err
	case op < 95:
		// A transaction that writes entries and rolls back leaves the counters as they were.
		// It holds one row lock of entries at a time (its new row's key is its own), so it
		// cannot deadlock with the service's writers.
		err := w.owner.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			for _, stmt := range []string{
				`INSERT INTO entries (kind, ressort, key, name, created_at, updated_at, noots_target_date)
					VALUES ('register', $1, 'rolled-back-' || $2 || '-' || $3, 'x', now(), now(), '2026-01-01')`,
				`UPDATE entries SET dsc_stage = 'testing', dsc_target_date = '2026-02-01' WHERE ressort = $1 AND key = $2 AND kind = 'register'`,
				`DELETE FROM entries WHERE ressort = $1 AND key = $2 AND kind = 'register'`,
			} {
				args := []any{ressort, key}
				if strings.Contains(stmt, "$3") {
					args = append(args, strconv.FormatUint(r.Uint64(), 36))
				}
				if err := tx.Exec(stmt, args...).Error; err != nil {
					return err
				}
			}
			return errRollback
		})
		if errors.Is(err, errRollback) {
			err = nil
		}
		return "rolled back", err
	default:
		_, err := w.counters.Compact(ctx)
		return "compact", err
	}
}

var errRollback = errors.New("roll back")

// TestCountersNeverDrift runs random concurrent writes of every kind that changes entries
// (PUT, PATCH, DELETE, imports with and without replace mode, dry runs, rolled-back
// transactions) and compactions, then compares every figure of the counters with a count
// over entries, and the current readiness read with a brute-force aggregate. The seed is
// printed; REGMO_DRIFT_SEED repeats a run.
func TestCountersNeverDrift(t *testing.T) {
	seed := uint64(16)
	if s := os.Getenv("REGMO_DRIFT_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		seed = v
	}
	t.Logf("seed %d (REGMO_DRIFT_SEED)", seed)
	w, app := newCounterWorld(t)
	owner := w.owner
	ctx := context.Background()
	const workers, steps = 4, 150
	var wg sync.WaitGroup
	var mu sync.Mutex
	counts := map[string]int{}
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, uint64(i)))
			for range steps {
				what, err := w.step(ctx, r)
				mu.Lock()
				counts[what]++
				if err != nil {
					counts["failed "+what]++
				}
				mu.Unlock()
				if err != nil && !expected(what, err) {
					t.Errorf("%s: %v", what, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("operations: %v", counts)

	diffs, err := store.NewCounters(owner).Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range diffs {
		t.Errorf("counter %s: %d, entries %d", d.Figure, d.Counted, d.Actual)
	}
	compareWithEntries(t, owner, store.NewReports(app))
	// After a compaction every figure is the same.
	if _, err := w.counters.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	compareWithEntries(t, owner, store.NewReports(app))
}

// compareWithEntries compares the current readiness read with a brute-force count over
// entries: count by combination of stages, overdue by dimension and stage.
func compareWithEntries(t *testing.T, owner *gorm.DB, reports *store.Reports) {
	t.Helper()
	compareReadiness(t, owner, reports, nil)
}

// compareReadiness compares the readiness read now (asOf nil) or as of an instant with a
// brute-force count over entries or over the versions valid at the instant.
func compareReadiness(t *testing.T, owner *gorm.DB, reports *store.Reports, asOf *time.Time) {
	t.Helper()
	ctx := context.Background()
	_, groups, dated, err := reports.Readiness(ctx, domain.ReadAll(), nil, "", asOf, counterToday)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, g := range groups {
		got[fmt.Sprintf("%s %s %s/%s/%s", g.Ressort, g.Kind, g.Stages[0], g.Stages[1], g.Stages[2])] += g.Count
	}
	for _, g := range dated {
		got[fmt.Sprintf("%s %s %s=%s", g.Ressort, g.Kind, g.Dimension, g.Stage)] += g.Count
	}
	var rows []struct {
		Figure string
		N      int64
	}
	source, args := "entries", []any{counterToday}
	if asOf != nil {
		source = "(SELECT * FROM entry_versions WHERE valid_from <= $2 AND (valid_to IS NULL OR valid_to > $2)) AS v"
		args = append(args, *asOf)
	}
	err = owner.Raw(`SELECT ressort || ' ' || kind || ' ' || idnr_stage || '/' || noots_stage || '/' || dsc_stage AS figure, count(*) AS n
		FROM `+source+` GROUP BY 1
		UNION ALL
		SELECT ressort || ' ' || kind || ' ' || d.dim || '=' || d.stage, count(*)
		FROM `+source+` CROSS JOIN LATERAL (VALUES ('idnr', idnr_stage, idnr_target_date),
			('noots', noots_stage, noots_target_date), ('dsc', dsc_stage, dsc_target_date)) AS d(dim, stage, day)
		WHERE d.day < $1::date AND d.stage NOT IN ('live', 'not_applicable')
		GROUP BY 1`, args...).Scan(&rows).Error
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{}
	for _, r := range rows {
		want[r.Figure] = r.N
	}
	if len(want) == 0 && asOf == nil {
		t.Fatal("no entries left: the test checks nothing")
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: report %d, entries %d", k, got[k], n)
		}
	}
	for k, n := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: report %d, entries none", k, n)
		}
	}
}

// TestCountersRepair damages the counters behind the triggers' back; Check names the figures,
// Repair rebuilds them and says what differed, and Check is content afterwards.
func TestCountersRepair(t *testing.T) {
	dsn := testdb.DSN(t)
	owner := testdb.Open(t, dsn)
	ctx := context.Background()
	// Written a minute back, so that a snapshot a second back holds it.
	inv := store.NewInventory(owner).WithClock(func() time.Time { return time.Now().Add(-time.Minute) })
	c := domain.Content{Name: "Melderegister", Readiness: domain.Readiness{
		DSC: domain.Status{Stage: domain.StagePlanned, TargetDate: "2026-01-15"}}}
	if _, _, err := inv.Put(ctx, "test", domain.WriteAll(), domain.KindRegister, "SIS", "melderegister", c, domain.Precondition{}); err != nil {
		t.Fatal(err)
	}
	counters := store.NewCounters(owner)
	at := time.Now().Add(-time.Second)
	if _, err := counters.Snapshot(ctx, at); err != nil {
		t.Fatal(err)
	}
	if diffs, err := counters.Check(ctx); err != nil || len(diffs) != 0 {
		t.Fatalf("Check after a PUT and a snapshot = %v, %v; want no difference", diffs, err)
	}
	for _, stmt := range []string{
		`INSERT INTO readiness_counts (ressort, kind, idnr_stage, noots_stage, dsc_stage, n) VALUES ('SF', 'register', 'live', 'live', 'live', 3)`,
		`DELETE FROM readiness_dates`,
		`UPDATE readiness_snapshot_counts SET n = n + 2`,
	} {
		if err := owner.Exec(stmt).Error; err != nil {
			t.Fatal(err)
		}
	}
	want := []store.CounterDiff{
		{Figure: "SF register idnr=live noots=live dsc=live", Counted: 3, Actual: 0},
		{Figure: "SIS register dsc=planned 2026-01-15", Counted: 0, Actual: 1},
		{Figure: "snapshot " + at.In(domain.Berlin).Format("2006-01-02 15:04") + " SIS register idnr=not_started noots=not_started dsc=planned", Counted: 3, Actual: 1},
	}
	for _, run := range []struct {
		name string
		fn   func(context.Context) ([]store.CounterDiff, error)
	}{{"Check", counters.Check}, {"Repair", counters.Repair}} {
		got, err := run.fn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s = %v, want %v", run.name, got, want)
		}
	}
	if diffs, err := counters.Check(ctx); err != nil || len(diffs) != 0 {
		t.Errorf("Check after Repair = %v, %v; want no difference", diffs, err)
	}
}

// TestCountersRowSecurity: regmo_app reads the counters of its Ressorts only and writes none
// directly; its writes of entries change them through the triggers.
func TestCountersRowSecurity(t *testing.T) {
	dsn := testdb.DSN(t)
	app := testdb.App(t, dsn)
	ctx := context.Background()
	inv := store.NewInventory(app)
	for _, code := range []string{"SF", "SK"} {
		c := domain.Content{Name: "Register " + code, Readiness: domain.Readiness{
			NOOTS: domain.Status{Stage: domain.StageTesting, TargetDate: "2026-01-15"}}}
		if _, _, err := inv.Put(ctx, "test", domain.WriteRessorts(code), domain.KindRegister, code, "reg", c, domain.Precondition{}); err != nil {
			t.Fatal(err)
		}
	}
	err := app.Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec(`SELECT set_config('regmo.read_ressorts', 'SF', true), set_config('regmo.write_ressorts', 'SF', true)`).Error; err != nil {
			return err
		}
		var seen []string
		if err := tx.Raw(`SELECT ressort FROM readiness_counts UNION ALL SELECT ressort FROM readiness_dates`).Scan(&seen).Error; err != nil {
			return err
		}
		if len(seen) != 2 || seen[0] != "SF" || seen[1] != "SF" {
			t.Errorf("regmo_app reading SF sees counters of %v, want SF twice", seen)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`INSERT INTO readiness_counts (ressort, kind, idnr_stage, noots_stage, dsc_stage, n) VALUES ('SF', 'register', 'live', 'live', 'live', 1)`,
		`DELETE FROM readiness_dates`,
		`SELECT readiness_counters_apply()`,
	} {
		err := app.Transaction(func(tx *gorm.DB) error {
			if err := tx.Exec(`SELECT set_config('regmo.write_ressorts', '*', true)`).Error; err != nil {
				return err
			}
			return tx.Exec(stmt).Error
		})
		if err == nil {
			t.Errorf("regmo_app ran %q; want it refused", stmt)
		}
	}
}
