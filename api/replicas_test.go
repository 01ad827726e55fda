package api_test

import (
	"context"
	"testing"
	"time"

	"github.com/bremen/regmo/api"
	"github.com/bremen/regmo/api/oapi"
	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/access"
	"github.com/bremen/regmo/domain/store"
	"github.com/bremen/regmo/migrations/testdb"
)

// TestReplicaReadsOwnWrites serves the reports from a real streaming replica whose replay is
// paused: whoever changed something sees the change in their next report, everyone else
// reads the replica until it lags too far.
func TestReplicaReadsOwnWrites(t *testing.T) {
	dsn := testdb.DSN(t)
	db := testdb.Open(t, dsn)
	app := testdb.App(t, dsn)
	rep := testdb.NewReplica(t)
	rs, err := store.OpenReplicas(context.Background(), app, store.ReplicaConfig{URLs: []string{rep.URL(dsn)},
		MaxLag: time.Minute, Interval: 100 * time.Millisecond, DB: store.DBConfig{MaxConns: 4, Role: store.AppRole}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rs.Close)
	srv := startServer(t, api.Config{DB: app, Replicas: rs, Now: fixedNow})
	ts := &testServer{t: t, srv: srv, db: db, access: access.New(store.NewAccess(db)).WithClock(fixedNow)}
	ts.admin = ts.user("admin", domain.Binding{Role: domain.RoleAdmin})
	other := ts.user("koordination", domain.Binding{Role: domain.RoleAdmin})
	rep.CatchUp(dsn)
	rep.Exec(dsn, `SELECT pg_wal_replay_pause()`)
	for state := ""; state != "paused"; time.Sleep(20 * time.Millisecond) {
		if err := rep.QueryRow(dsn, `SELECT pg_get_wal_replay_pause_state()`, &state); err != nil {
			t.Fatal(err)
		}
	}
	// Paused after a replayed commit, the replica lags by that commit's age: little.
	deadline := time.Now().Add(20 * time.Second)
	for !rs.Status()[0].Usable {
		if time.Now().After(deadline) {
			t.Fatalf("replica not used: %+v", rs.Status())
		}
		time.Sleep(20 * time.Millisecond)
	}

	registers := func(token string) int64 {
		t.Helper()
		r := decode[oapi.ReadinessReport](t, ts.do(request{method: "GET", path: "/v1/reports/readiness", token: token}))
		return r.Total.Registers.Count
	}
	before := registers(other)
	if rec := ts.do(request{method: "PUT", path: "/v1/ressorts/SIS/registers/melderegister",
		body: `{"name":"Melderegister","contact":"meldewesen@buergeramt.bremen.de"}`}); rec.Code != 201 {
		t.Fatalf("PUT: %d %s", rec.Code, rec.Body)
	}
	if got := registers(""); got != before+1 {
		t.Errorf("the writer's report right after the write counts %d registers, want %d", got, before+1)
	}
	if got := registers(other); got != before {
		t.Errorf("another user's report counts %d registers, want the paused replica's %d", got, before)
	}
	time.Sleep(300 * time.Millisecond)
	if got := registers(""); got != before+1 {
		t.Errorf("the writer's report later counts %d registers, want %d", got, before+1)
	}
}
