package store_test

import (
	"context"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/store"
	"github.com/bremen/regmo/migrations/testdb"
)

// snapshotCount is how many readiness snapshots exist.
func snapshotCount(t *testing.T, owner *gorm.DB) int64 {
	t.Helper()
	var n int64
	if err := owner.Raw(`SELECT count(*) FROM readiness_snapshots`).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSnapshotsNeverDrift runs the random concurrent writes of TestCountersNeverDrift while
// snapshots of the readiness figures are taken at instants just past, then compares the
// report as of every snapshot's instant, and of instants between and before them, with a
// brute-force count over the versions valid then.
func TestSnapshotsNeverDrift(t *testing.T) {
	w, app := newCounterWorld(t)
	owner := w.owner
	ctx := context.Background()
	start := time.Now()
	const workers, steps = 3, 120

	var running atomic.Int32
	running.Store(workers)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer running.Add(-1)
			r := rand.New(rand.NewPCG(17, uint64(i)))
			for range steps {
				if what, err := w.step(ctx, r); err != nil && !expected(what, err) {
					t.Errorf("%s: %v", what, err)
					return
				}
			}
		}()
	}
	var instants []time.Time
	wg.Add(1)
	go func() {
		defer wg.Done()
		r := rand.New(rand.NewPCG(17, 99))
		for running.Load() > 0 {
			time.Sleep(time.Duration(1+r.IntN(5)) * time.Millisecond)
			// An instant a little in the past: writes whose clock read before it may still
			// be on their way, and must remove the snapshot when they land.
			at := time.Now().Add(-time.Duration(r.IntN(3000)) * time.Microsecond)
			if _, err := w.counters.Snapshot(ctx, at); err != nil {
				t.Errorf("snapshot: %v", err)
				return
			}
			instants = append(instants, at, at.Add(time.Duration(r.IntN(2000))*time.Microsecond))
		}
	}()
	wg.Wait()
	if t.Failed() {
		return
	}
	kept := snapshotCount(t, owner)
	t.Logf("%d instants, %d snapshots kept", len(instants)/2, kept)
	if kept == 0 {
		t.Fatal("no snapshot survived the writes: the test compares nothing read from one")
	}
	reports := store.NewReports(app)
	before := start.Add(-time.Second)
	compareReadiness(t, owner, reports, &before)
	for i, at := range instants {
		if i%3 != 0 && len(instants) > 60 {
			continue // a sample keeps the test short
		}
		compareReadiness(t, owner, reports, &at)
	}
	// The instants at which versions ended and began, exactly: where an off-by-one in the
	// bounds of the history since a snapshot would show.
	var edges []time.Time
	if err := owner.Raw(`(SELECT valid_to FROM entry_versions WHERE valid_to IS NOT NULL ORDER BY random() LIMIT 10)
		UNION ALL (SELECT valid_from FROM entry_versions ORDER BY random() LIMIT 10)`).Scan(&edges).Error; err != nil {
		t.Fatal(err)
	}
	for _, at := range edges {
		compareReadiness(t, owner, reports, &at)
	}
	now := time.Now()
	compareReadiness(t, owner, reports, &now)
}

// TestSnapshotsFollowHistory: a write of history dated before a snapshot removes it, so the
// report as of the snapshot's instant counts the write; a write after it keeps it; the daily
// job takes the midnights that are missing and no more; the future is refused.
func TestSnapshotsFollowHistory(t *testing.T) {
	dsn := testdb.DSN(t)
	owner := testdb.Open(t, dsn)
	app := testdb.App(t, dsn)
	ctx := context.Background()
	counters := store.NewCounters(app)
	reports := store.NewReports(app)
	base := time.Date(2026, 3, 1, 10, 0, 0, 0, domain.Berlin)
	clock := base
	inv := store.NewInventory(app).WithClock(func() time.Time { return clock })
	all := domain.WriteAll()
	for _, key := range []string{"a", "b", "c"} {
		c := domain.Content{Name: "Register " + key, Readiness: domain.Readiness{
			DSC: domain.Status{Stage: domain.StagePlanned, TargetDate: "2026-01-31"}}}
		if _, _, err := inv.Put(ctx, "test", all, domain.KindRegister, "SF", key, c, domain.Precondition{}); err != nil {
			t.Fatal(err)
		}
	}
	midnight := time.Date(2026, 3, 2, 0, 0, 0, 0, domain.Berlin)
	if n, err := counters.TakeDailySnapshots(ctx, time.Date(2026, 3, 4, 12, 0, 0, 0, domain.Berlin)); err != nil || n != 3 {
		t.Fatalf("daily snapshots: took %d (%v), want 3 (2, 3 and 4 March)", n, err)
	}
	if n, err := counters.TakeDailySnapshots(ctx, time.Date(2026, 3, 4, 12, 0, 0, 0, domain.Berlin)); err != nil || n != 0 {
		t.Fatalf("daily snapshots again: took %d (%v), want 0", n, err)
	}
	if _, err := counters.Snapshot(ctx, time.Now().Add(time.Hour)); err == nil {
		t.Error("a snapshot of the future: got no error, want one")
	}

	steps := []struct {
		name  string
		clock time.Time
		write func() error
		kept  int64 // snapshots left after the write
	}{
		{"a patch after the snapshots", time.Date(2026, 3, 5, 9, 0, 0, 0, domain.Berlin), func() error {
			_, err := inv.Patch(ctx, "test", all, domain.KindRegister, "SF", "a",
				map[string]any{"readiness": map[string]any{"dsc": map[string]any{"stage": "live"}}}, domain.Precondition{})
			return err
		}, 3},
		{"a patch dated between the second and the third", time.Date(2026, 3, 3, 9, 0, 0, 0, domain.Berlin), func() error {
			_, err := inv.Patch(ctx, "test", all, domain.KindRegister, "SF", "b",
				map[string]any{"readiness": map[string]any{"idnr": map[string]any{"stage": "testing"}}}, domain.Precondition{})
			return err
		}, 2},
		{"a deletion dated before every snapshot", base.Add(time.Hour), func() error {
			return inv.Delete(ctx, "test", all, domain.KindRegister, "SF", "c", domain.Precondition{})
		}, 0},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			clock = s.clock
			if err := s.write(); err != nil {
				t.Fatal(err)
			}
			if got := snapshotCount(t, owner); got != s.kept {
				t.Errorf("snapshots after the write: got %d, want %d", got, s.kept)
			}
			for _, at := range []time.Time{midnight, midnight.Add(36 * time.Hour), s.clock, s.clock.Add(time.Minute)} {
				compareReadiness(t, owner, reports, &at)
			}
			if _, err := counters.TakeDailySnapshots(ctx, time.Date(2026, 3, 4, 12, 0, 0, 0, domain.Berlin)); err != nil {
				t.Fatal(err)
			}
			if got := snapshotCount(t, owner); got != 3 {
				t.Errorf("snapshots after the job: got %d, want 3", got)
			}
			for _, at := range []time.Time{midnight, midnight.Add(36 * time.Hour), s.clock, s.clock.Add(time.Minute)} {
				compareReadiness(t, owner, reports, &at)
			}
		})
	}
}

// TestSnapshotOutlastsStatementTimeout: a snapshot waits for the writers of history under
// way and then sums the history before it, which may take longer than a request may (serve's
// first take at 1,000,000 entries was cancelled at 15 s); it lifts the pool's statement
// timeout for its own transaction. Here a writer holds its version uncommitted for longer than
// the timeout: the snapshot waits for it and counts its version.
func TestSnapshotOutlastsStatementTimeout(t *testing.T) {
	dsn := testdb.DSN(t)
	owner := testdb.Open(t, dsn)
	ctx := context.Background()
	db, sqlDB, err := store.OpenDB(ctx, store.DBConfig{URL: dsn, MaxConns: 2, StatementTimeout: 300 * time.Millisecond, Role: store.AppRole})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sqlDB.Close() })

	inserted := make(chan struct{})
	writer := make(chan error, 1)
	go func() {
		writer <- owner.Transaction(func(tx *gorm.DB) error {
			if err := tx.Exec(`INSERT INTO entry_versions (id, kind, ressort, key, name, version, created_at, updated_at, updated_by, valid_from)
				VALUES (1, 'register', 'SF', 'r-1', 'Register', 1, now() - interval '2 days', now() - interval '2 days', 'test', now() - interval '2 days')`).Error; err != nil {
				close(inserted)
				return err
			}
			close(inserted)
			time.Sleep(1500 * time.Millisecond)
			return nil
		})
	}()
	<-inserted
	if taken, err := store.NewCounters(db).Snapshot(ctx, time.Now().Add(-24*time.Hour)); err != nil || !taken {
		t.Fatalf("Snapshot with a 300 ms statement timeout behind a writer of 1.5 s = %v, %v; want taken", taken, err)
	}
	if err := <-writer; err != nil {
		t.Fatal(err)
	}
	var n int64
	if err := owner.Raw(`SELECT coalesce(sum(n), 0) FROM readiness_snapshot_counts`).Scan(&n).Error; err != nil || n != 1 {
		t.Errorf("snapshot counts %d versions (%v), want the writer's 1", n, err)
	}
}

// TestSessionsRunWithoutJIT: the service's sessions have JIT off unless the connection
// string turns it on (the as-of report spent 1.7 s of 2.0 s compiling at 6,000,000 entries).
func TestSessionsRunWithoutJIT(t *testing.T) {
	dsn := testdb.DSN(t)
	for _, tt := range []struct {
		name, options, want string
	}{
		{"default", "", "off"},
		{"turned on by the connection string", "jit=on", "on"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			u := dsn
			if tt.options != "" {
				sep := "?"
				if strings.Contains(u, "?") {
					sep = "&"
				}
				u += sep + tt.options
			}
			db, sqlDB, err := store.OpenDB(context.Background(), store.DBConfig{URL: u, MaxConns: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer sqlDB.Close()
			var got string
			if err := db.Raw(`SHOW jit`).Scan(&got).Error; err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("jit = %s, want %s", got, tt.want)
			}
		})
	}
}
