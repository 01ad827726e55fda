package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/store"
	"github.com/bremen/regmo/migrations/testdb"
)

// replicaReads reads the same things through every path that may go to a replica, for one
// reader; each count is of registers.
type replicaReads struct {
	inv     *store.Inventory
	reports *store.Reports
	trans   *store.Transfers
}

func newReplicaReads(primary *store.Inventory, reports *store.Reports, trans *store.Transfers, rs *store.Replicas) replicaReads {
	return replicaReads{inv: primary.WithReplicas(rs), reports: reports.WithReplicas(rs), trans: trans.WithReplicas(rs)}
}

// counts returns what the readiness report, an export, a listing as of now and the audit
// trail count for reader ("" : unbound, the primary).
func (r replicaReads) counts(t *testing.T, reader string) [4]int {
	t.Helper()
	ctx := context.Background()
	inv, reports, trans := r.inv, r.reports, r.trans
	if reader != "" {
		inv, reports, trans = inv.For(reader), reports.For(reader), trans.For(reader)
	}
	var out [4]int
	_, groups, _, err := reports.Readiness(ctx, domain.ReadAll(), nil, domain.KindRegister, nil, domain.Today(time.Now()))
	if err != nil {
		t.Fatalf("readiness for %q: %v", reader, err)
	}
	for _, g := range groups {
		out[0] += int(g.Count)
	}
	err = trans.Export(ctx, domain.ReadAll(), nil, []domain.Kind{domain.KindRegister}, func(domain.Entry) error {
		out[1]++
		return nil
	})
	if err != nil {
		t.Fatalf("export for %q: %v", reader, err)
	}
	now := time.Now()
	page, err := inv.List(ctx, domain.ReadAll(), domain.Filter{Kind: domain.KindRegister, AsOf: &now, Limit: domain.MaxLimit})
	if err != nil {
		t.Fatalf("list as of now for %q: %v", reader, err)
	}
	out[2] = len(page.Entries)
	events, err := inv.Audit(ctx, domain.ReadAll(), store.EventFilter{Type: "register", Limit: domain.MaxLimit})
	if err != nil {
		t.Fatalf("audit for %q: %v", reader, err)
	}
	out[3] = len(events.Events)
	return out
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 20 s for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func usable(rs *store.Replicas) bool { return rs.Status()[0].Usable }

func caughtUp(rs *store.Replicas) bool {
	st := rs.Status()[0]
	return st.Usable && st.Lag < 100*time.Millisecond
}

func putRegister(t *testing.T, inv *store.Inventory, actor, key string) {
	t.Helper()
	_, _, err := inv.Put(context.Background(), actor, domain.WriteAll(), domain.KindRegister, "SIS", key,
		domain.Content{Name: "Register " + key, Contact: "register@sis.bremen.de"}, domain.Precondition{})
	if err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

// TestReplicaReads runs the reads that may lag against a real streaming replica of the test
// cluster, working as the service's role, so that row-level security binds them there too.
func TestReplicaReads(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.DSN(t)
	primary := testdb.App(t, dsn)
	inv := store.NewInventory(primary)
	reports, trans := store.NewReports(primary), store.NewTransfers(primary)
	putRegister(t, inv, "setup", "eins")

	rep := testdb.NewReplica(t)
	open := func(maxLag time.Duration) *store.Replicas {
		rs, err := store.OpenReplicas(ctx, primary, store.ReplicaConfig{URLs: []string{rep.URL(dsn)}, MaxLag: maxLag,
			Interval: 100 * time.Millisecond, DB: store.DBConfig{MaxConns: 4, Role: store.AppRole}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(rs.Close)
		return rs
	}
	rs := open(time.Minute)
	reads := newReplicaReads(inv, reports, trans, rs)
	// A commit replayed since the replica started: its time tells the lag once it is behind.
	putRegister(t, inv, "setup", "zwei")
	rep.CatchUp(dsn)
	waitFor(t, "the replica to catch up", func() bool { return caughtUp(rs) })

	t.Run("a caught-up replica answers", func(t *testing.T) {
		want := reads.counts(t, "")
		if got := reads.counts(t, "bob"); got != want {
			t.Errorf("bob reads %v from the replica, want %v", got, want)
		}
		// A listing as of now runs on the replica: its statement is the last of a session there.
		now := time.Now()
		if _, err := reads.inv.For("bob").List(ctx, domain.ReadAll(), domain.Filter{Kind: domain.KindRegister, AsOf: &now}); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := rep.QueryRow(dsn, `SELECT count(*) FROM pg_stat_activity
			WHERE application_name = 'regmo' AND query LIKE '%entry_versions%'`, &n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Error("no session on the replica ran the listing as of now")
		}
	})

	// Replay stops: the replica keeps what it had, which shows who reads from it.
	rep.Exec(dsn, `SELECT pg_wal_replay_pause()`)
	waitFor(t, "replay to pause", func() bool {
		var state string
		return rep.QueryRow(dsn, `SELECT pg_get_wal_replay_pause_state()`, &state) == nil && state == "paused"
	})
	waitFor(t, "the paused replica to be used", func() bool { return usable(rs) })
	before := reads.counts(t, "")
	done := rs.Writing("alice")
	putRegister(t, inv, "alice", "drei")
	done()
	after := reads.counts(t, "")
	if after == before {
		t.Fatalf("the primary reads %v before and after a write", after)
	}

	t.Run("a user sees their own write at once", func(t *testing.T) {
		if got := reads.counts(t, "alice"); got != after {
			t.Errorf("alice reads %v right after her write, want %v", got, after)
		}
		// Once the primary's WAL position after the write is known, the paused replica has
		// not reached it.
		time.Sleep(300 * time.Millisecond)
		if got := reads.counts(t, "alice"); got != after {
			t.Errorf("alice reads %v after her write, want %v", got, after)
		}
	})

	t.Run("others read the replica within the lag allowed", func(t *testing.T) {
		if !usable(rs) {
			t.Fatalf("replica not used: %+v", rs.Status())
		}
		if got := reads.counts(t, "bob"); got != before {
			t.Errorf("bob reads %v on the replica that paused before alice's write, want %v", got, before)
		}
	})

	t.Run("a replica behind the limit is not used", func(t *testing.T) {
		strict := open(time.Second)
		waitFor(t, "the paused replica to lag a second", func() bool {
			st := strict.Status()[0]
			return !st.Usable && st.Lag > time.Second
		})
		strictReads := newReplicaReads(inv, reports, trans, strict)
		if got := strictReads.counts(t, "bob"); got != after {
			t.Errorf("bob reads %v past the lag allowed, want the primary's %v", got, after)
		}
	})

	rep.Exec(dsn, `SELECT pg_wal_replay_resume()`)
	rep.CatchUp(dsn)
	waitFor(t, "the replica to catch up again", func() bool { return caughtUp(rs) })
	if got := reads.counts(t, "bob"); got != after {
		t.Errorf("bob reads %v from the replica caught up, want %v", got, after)
	}

	t.Run("a replica that goes away is not used", func(t *testing.T) {
		rep.Stop()
		// At once, before a probe has noticed: the read that fails on it runs on the primary.
		if got := reads.counts(t, "bob"); got != after {
			t.Errorf("bob reads %v just after the replica stopped, want %v", got, after)
		}
		waitFor(t, "the replica to count as away", func() bool { return !usable(rs) })
		if got := reads.counts(t, "bob"); got != after {
			t.Errorf("bob reads %v with the replica away, want %v", got, after)
		}
	})
}

func TestReplicaConfigNone(t *testing.T) {
	rs, err := store.OpenReplicas(context.Background(), nil, store.ReplicaConfig{})
	if err != nil || rs != nil {
		t.Fatalf("OpenReplicas without URLs = %v, %v; want nil, nil", rs, err)
	}
	rs.Writing("alice")()
	rs.Close()
	if st := rs.Status(); st != nil {
		t.Errorf("Status = %v, want none", st)
	}
}
