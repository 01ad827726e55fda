package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/store"
	"github.com/bremen/regmo/migrations/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// fixedNow is the clock of these tests: 15 March 2026, noon in Bremen.
func fixedNow() time.Time { return time.Date(2026, 3, 15, 11, 0, 0, 0, time.UTC) }

func newInventory(t *testing.T) *store.Inventory {
	t.Helper()
	return store.NewInventory(testdb.New(t)).WithClock(fixedNow)
}

func anlageNr(n int) *int { return &n }

func TestPutCreatesReplacesAndIsIdempotent(t *testing.T) {
	ctx := context.Background()
	inv := newInventory(t)
	c := domain.Content{
		Name: "Melderegister", AnlageNr: anlageNr(1), Contact: "meldewesen@buergeramt.bremen.de",
		Readiness: domain.Readiness{NOOTS: domain.Status{Stage: domain.StageTesting, TargetDate: "2026-06-30"}},
	}
	e, created, err := inv.Put(ctx, "alice", domain.WriteAll(), domain.KindRegister, "SIS", "melderegister", c, domain.Precondition{})
	if err != nil {
		t.Fatalf("first Put: %v", err)
	}
	if !created || e.Version != 1 || e.UpdatedBy != "alice" {
		t.Errorf("first Put = created %v, version %d, by %q; want true, 1, alice", created, e.Version, e.UpdatedBy)
	}
	if got := e.Readiness.IDNr.Stage; got != domain.StageNotStarted {
		t.Errorf("left-out dimension stage = %q, want not_started", got)
	}
	if got := e.Readiness.NOOTS.TargetDate; got != "2026-06-30" {
		t.Errorf("target date = %q, want 2026-06-30", got)
	}

	again, created, err := inv.Put(ctx, "bob", domain.WriteAll(), domain.KindRegister, "SIS", "melderegister", c, domain.Precondition{})
	if err != nil {
		t.Fatalf("repeated Put: %v", err)
	}
	if created || again.Version != 1 || again.UpdatedBy != "alice" {
		t.Errorf("repeated Put = created %v, version %d, by %q; want false, 1, alice", created, again.Version, again.UpdatedBy)
	}

	c.Readiness.NOOTS.Stage = domain.StageLive
	changed, _, err := inv.Put(ctx, "bob", domain.WriteAll(), domain.KindRegister, "SIS", "melderegister", c, domain.IfVersion(1))
	if err != nil {
		t.Fatalf("replacing Put: %v", err)
	}
	if changed.Version != 2 || changed.UpdatedBy != "bob" {
		t.Errorf("replacing Put = version %d by %q, want 2 by bob", changed.Version, changed.UpdatedBy)
	}

	_, _, err = inv.Put(ctx, "bob", domain.WriteAll(), domain.KindRegister, "SIS", "melderegister", c, domain.IfVersion(1))
	if !errors.Is(err, domain.ErrPrecondition) {
		t.Errorf("Put with stale version: err = %v, want ErrPrecondition", err)
	}
}

func TestOnlinedienstNachweise(t *testing.T) {
	ctx := context.Background()
	inv := newInventory(t)
	if _, _, err := inv.Put(ctx, "a", domain.WriteAll(), domain.KindRegister, "SIS", "melderegister", domain.Content{Name: "Melderegister"}, domain.Precondition{}); err != nil {
		t.Fatal(err)
	}
	od := domain.Content{Name: "eWA", LeikaKeys: []string{"99050012104000"}, URL: "https://www.service.bremen.de/",
		NachweiseFrom: []string{"SIS/melderegister"}}
	e, _, err := inv.Put(ctx, "a", domain.WriteAll(), domain.KindOnlinedienst, "SF", "ewa", od, domain.Precondition{})
	if err != nil {
		t.Fatalf("Put Onlinedienst: %v", err)
	}
	if len(e.NachweiseFrom) != 1 || e.NachweiseFrom[0] != "SIS/melderegister" || e.LeikaKeys[0] != "99050012104000" {
		t.Errorf("stored lists = %v, %v", e.NachweiseFrom, e.LeikaKeys)
	}

	od.NachweiseFrom = []string{"SIS/melderegister", "SIS/passregister"}
	_, _, err = inv.Put(ctx, "a", domain.WriteAll(), domain.KindOnlinedienst, "SF", "ewa", od, domain.Precondition{})
	var verr *domain.ValidationError
	if !errors.As(err, &verr) || len(verr.Fields) != 1 || verr.Fields[0].Field != "nachweise_from[1]" {
		t.Fatalf("Put naming a missing register: err = %v, want one error on nachweise_from[1]", err)
	}

	err = inv.Delete(ctx, "a", domain.WriteAll(), domain.KindRegister, "SIS", "melderegister", domain.Precondition{})
	var refErr *domain.ReferencedError
	if !errors.As(err, &refErr) || len(refErr.By) != 1 || refErr.By[0].String() != "SF/ewa" {
		t.Fatalf("Delete of a named register: err = %v, want ReferencedError naming SF/ewa", err)
	}
	if err := inv.Delete(ctx, "a", domain.WriteAll(), domain.KindOnlinedienst, "SF", "ewa", domain.Precondition{}); err != nil {
		t.Fatalf("Delete Onlinedienst: %v", err)
	}
	if err := inv.Delete(ctx, "a", domain.WriteAll(), domain.KindRegister, "SIS", "melderegister", domain.Precondition{}); err != nil {
		t.Fatalf("Delete register once unused: %v", err)
	}
}
