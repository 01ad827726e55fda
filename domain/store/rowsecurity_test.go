package store

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/migrations/testdb"
)

// TestRowSecurityAlone checks the second wall on its own: with the service's own Ressort
// filter switched off (serviceFilter, a test-only seam), every list and report run as
// regmo_app still returns only the Ressorts of the caller's scope, because PostgreSQL's
// row-level security filters them.
func TestRowSecurityAlone(t *testing.T) {
	dsn := testdb.DSN(t)
	owner := NewInventory(testdb.Open(t, dsn))
	ctx := context.Background()
	base := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	clock := base
	owner = owner.WithClock(func() time.Time { return clock })
	// Each Ressort gets a register that is overdue, live in noots and idnr (a consistency
	// finding), carries an Anlage number, and an Onlinedienst that needs a foreign register.
	ressorts := []string{"SF", "SK", "SIS", "SWHT"}
	for i, code := range ressorts {
		nr := i + 1
		reg := domain.Content{Name: "Register " + code, AnlageNr: &nr, Readiness: domain.Readiness{
			IDNr:  domain.Status{Stage: domain.StageLive},
			NOOTS: domain.Status{Stage: domain.StageLive},
			DSC:   domain.Status{Stage: domain.StagePlanned, TargetDate: "2026-01-01"},
		}}
		if _, _, err := owner.Put(ctx, "seed", domain.WriteAll(), domain.KindRegister, code, "reg", reg, domain.Precondition{}); err != nil {
			t.Fatal(err)
		}
	}
	for i, code := range ressorts {
		other := ressorts[(i+1)%len(ressorts)]
		od := domain.Content{Name: "Dienst " + code, NachweiseFrom: []string{other + "/reg"},
			Readiness: domain.Readiness{IDNr: domain.Status{Stage: domain.StagePlanned, TargetDate: "2026-02-01"}}}
		if _, _, err := owner.Put(ctx, "seed", domain.WriteAll(), domain.KindOnlinedienst, code, "dienst", od, domain.Precondition{}); err != nil {
			t.Fatal(err)
		}
	}
	clock = base.Add(time.Hour)
	for _, code := range ressorts {
		patch := map[string]any{"readiness": map[string]any{"noots": map[string]any{"stage": "testing"}}}
		if _, err := owner.Patch(ctx, "seed", domain.WriteAll(), domain.KindRegister, code, "reg", patch, domain.Precondition{}); err != nil {
			t.Fatal(err)
		}
	}
	clock = base.Add(2 * time.Hour)
	// A daily snapshot after the patches: the report as of a later instant reads it
	// (readiness_snapshot_counts, _dates) and the history since.
	snapshot := base.Add(90 * time.Minute)
	if _, err := NewCounters(testdb.Open(t, dsn)).Snapshot(ctx, snapshot); err != nil {
		t.Fatal(err)
	}

	serviceFilter = false
	t.Cleanup(func() { serviceFilter = true })
	app := testdb.App(t, dsn)
	inv := NewInventory(app).WithClock(func() time.Time { return clock })
	reports := NewReports(app)
	today := domain.Today(clock)
	scope := domain.ReadRessorts("SF", "SK")
	mine := []string{"SF", "SK"}
	past := base.Add(30 * time.Minute)

	// seen collects the Ressorts of everything a query returned; it must be non-empty (the
	// check could not fail otherwise) and within the scope.
	check := func(t *testing.T, what string, seen []string) {
		t.Helper()
		if len(seen) == 0 {
			t.Fatalf("%s returned nothing; want the caller's own rows", what)
		}
		for _, r := range seen {
			if !slices.Contains(mine, r) {
				t.Errorf("%s returned a row of %s, want only %v", what, r, mine)
			}
		}
	}
	tests := []struct {
		name string
		run  func(t *testing.T) []string
	}{
		{"list registers", func(t *testing.T) []string { return listed(t, inv, scope, domain.Filter{Kind: domain.KindRegister}) }},
		{"list Onlinedienste", func(t *testing.T) []string {
			return listed(t, inv, scope, domain.Filter{Kind: domain.KindOnlinedienst})
		}},
		{"list with q", func(t *testing.T) []string {
			return listed(t, inv, scope, domain.Filter{Kind: domain.KindRegister, Q: "e"})
		}},
		{"list as of", func(t *testing.T) []string {
			return listed(t, inv, scope, domain.Filter{Kind: domain.KindRegister, AsOf: &past})
		}},
		{"list of a foreign Ressort", func(t *testing.T) []string {
			got := listed(t, inv, scope, domain.Filter{Kind: domain.KindRegister, Ressort: "SIS"})
			if len(got) != 0 {
				t.Errorf("list of SIS: got %v, want nothing", got)
			}
			return []string{"SF"} // nothing to see is the point here
		}},
		{"readiness", func(t *testing.T) []string {
			_, groups, dated, err := reports.Readiness(ctx, scope, nil, "", nil, today)
			if err != nil {
				t.Fatal(err)
			}
			var seen []string
			var total int64
			for _, g := range groups {
				seen = append(seen, g.Ressort)
				total += g.Count
			}
			if total != 4 {
				t.Errorf("readiness total %d, want the 4 entries of SF and SK", total)
			}
			var overdue int64
			for _, g := range dated {
				seen = append(seen, g.Ressort)
				overdue += g.Count
			}
			if overdue != 4 {
				t.Errorf("readiness overdue %d, want the 4 overdue dimensions of SF and SK", overdue)
			}
			return seen
		}},
		{"readiness as of", func(t *testing.T) []string {
			_, groups, _, err := reports.Readiness(ctx, scope, nil, "", &past, today)
			if err != nil {
				t.Fatal(err)
			}
			var seen []string
			for _, g := range groups {
				seen = append(seen, g.Ressort)
			}
			return seen
		}},
		{"readiness as of, from a snapshot", func(t *testing.T) []string {
			later := snapshot.Add(time.Minute)
			_, groups, dated, err := reports.Readiness(ctx, scope, nil, "", &later, today)
			if err != nil {
				t.Fatal(err)
			}
			var seen []string
			var total, overdue int64
			for _, g := range groups {
				seen = append(seen, g.Ressort)
				total += g.Count
			}
			for _, g := range dated {
				seen = append(seen, g.Ressort)
				overdue += g.Count
			}
			if total != 4 || overdue != 4 {
				t.Errorf("readiness as of the snapshot: %d entries, %d overdue; want 4 and 4 of SF and SK", total, overdue)
			}
			return seen
		}},
		{"overdue", func(t *testing.T) []string {
			items, err := reports.Overdue(ctx, scope, nil, "", nil, today)
			if err != nil {
				t.Fatal(err)
			}
			var seen []string
			for _, it := range items {
				seen = append(seen, it.Ressort)
			}
			return seen
		}},
		{"overdue per Ressort", func(t *testing.T) []string {
			counts, err := reports.OverdueByRessort(ctx, scope, nil, "", nil, today)
			if err != nil {
				t.Fatal(err)
			}
			items, err := reports.Overdue(ctx, scope, nil, "", nil, today)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]int{}
			entries := map[string]bool{}
			for _, it := range items {
				if k := string(it.Kind) + "/" + it.Ressort + "/" + it.Key; !entries[k] {
					entries[k] = true
					want[it.Ressort]++
				}
			}
			if len(want) == 0 || !maps.Equal(counts, want) {
				t.Errorf("overdue per Ressort: got %v, want %v (the overdue list's entries, not empty)", counts, want)
			}
			return slices.Collect(maps.Keys(counts))
		}},
		{"consistency as of", func(t *testing.T) []string {
			items, err := reports.Couplings(ctx, scope, nil, &past)
			if err != nil {
				t.Fatal(err)
			}
			var seen []string
			for _, it := range items {
				seen = append(seen, it.Ressort)
			}
			return seen
		}},
		{"anlage coverage", func(t *testing.T) []string {
			_, registers, err := reports.AnlageRegisters(ctx, scope, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			var seen []string
			for _, r := range registers {
				seen = append(seen, r.Ressort)
			}
			return seen
		}},
		{"blocked", func(t *testing.T) []string {
			onlinedienste, cards, err := reports.NachweisBlockers(ctx, scope, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			var seen []string
			for _, o := range onlinedienste {
				seen = append(seen, o.Ressort)
			}
			// The blocking registers may be foreign: their public cards are read. Each of
			// the caller's Onlinedienste names one register that is not ready in NOOTS.
			if len(cards) != len(onlinedienste) {
				t.Errorf("blocked: %d cards for %d Onlinedienste, want one each", len(cards), len(onlinedienste))
			}
			for _, c := range cards {
				if c.Name == "" {
					t.Errorf("blocked: card %s/%s without a name, want the public card", c.Ressort, c.Key)
				}
			}
			return seen
		}},
		{"progress", func(t *testing.T) []string {
			changes, err := reports.StageChanges(ctx, scope, nil, base.Add(-time.Minute), clock)
			if err != nil {
				t.Fatal(err)
			}
			var seen []string
			for _, c := range changes {
				seen = append(seen, c.Ressort)
			}
			return seen
		}},
		{"audit", func(t *testing.T) []string {
			page, err := inv.Audit(ctx, scope, EventFilter{Limit: domain.MaxLimit})
			if err != nil {
				t.Fatal(err)
			}
			var seen []string
			for _, e := range page.Events {
				seen = append(seen, e.Ressort)
			}
			return seen
		}},
		{"export", func(t *testing.T) []string {
			var seen []string
			err := NewTransfers(app).Export(ctx, scope, nil, []domain.Kind{domain.KindRegister, domain.KindOnlinedienst}, func(e domain.Entry) error {
				seen = append(seen, e.Ressort)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			return seen
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { check(t, tt.name, tt.run(t)) })
	}

	t.Run("a query for a foreign Ressort", func(t *testing.T) {
		rows, err := queryEntriesIn(ctx, app, scope, 1, entryTable, `SELECT `+entryColumns+` FROM entries WHERE ressort = $1`, "SIS")
		if err != nil || len(rows) != 0 {
			t.Errorf("a query for SIS as SF/SK: %d rows, %v; want none", len(rows), err)
		}
		rows, err = queryEntriesIn(ctx, app, scope, 1, entryTable, `SELECT `+entryColumns+` FROM entries WHERE ressort = $1`, "SF")
		if err != nil || len(rows) != 2 {
			t.Errorf("a query for SF as SF/SK: %d rows, %v; want its 2 entries", len(rows), err)
		}
	})
	// GET one's own path (queryFixedIn), past Inventory.Get's check of the scope.
	t.Run("one entry of a foreign Ressort", func(t *testing.T) {
		get := readOf(domain.KindRegister).get
		rows, err := queryFixedIn(ctx, app, scope, 1, get, string(domain.KindRegister), "SIS", "reg")
		if err != nil || len(rows) != 0 {
			t.Errorf("SIS/reg as SF/SK: %d rows, %v; want none", len(rows), err)
		}
		rows, err = queryFixedIn(ctx, app, scope, 1, get, string(domain.KindRegister), "SF", "reg")
		if err != nil || len(rows) != 1 {
			t.Errorf("SF/reg as SF/SK: %d rows, %v; want 1", len(rows), err)
		}
	})
}

func listed(t *testing.T, inv *Inventory, scope domain.ReadScope, f domain.Filter) []string {
	t.Helper()
	page, err := inv.List(context.Background(), scope, f)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range page.Entries {
		out = append(out, e.Ressort)
	}
	return out
}

// TestAppRoleWithoutScope: as regmo_app with nothing set, nothing is visible and nothing can
// be written; history cannot be changed by the role at all, nor its triggers disabled.
func TestAppRoleWithoutScope(t *testing.T) {
	dsn := testdb.DSN(t)
	owner := NewInventory(testdb.Open(t, dsn))
	ctx := context.Background()
	for _, code := range []string{"SF", "SIS"} {
		if _, _, err := owner.Put(ctx, "seed", domain.WriteAll(), domain.KindRegister, code, "reg", domain.Content{Name: "R"}, domain.Precondition{}); err != nil {
			t.Fatal(err)
		}
		od := domain.Content{Name: "D", NachweiseFrom: []string{code + "/reg"}}
		if _, _, err := owner.Put(ctx, "seed", domain.WriteAll(), domain.KindOnlinedienst, code, "dienst", od, domain.Precondition{}); err != nil {
			t.Fatal(err)
		}
	}
	app := testdb.App(t, dsn)

	t.Run("the role", func(t *testing.T) {
		var r struct {
			User                 string
			Super, Bypass, Login bool
			Owned                int
		}
		err := app.Raw(`SELECT current_user AS user, rolsuper AS super, rolbypassrls AS bypass, rolcanlogin AS login,
			(SELECT count(*) FROM pg_class WHERE relowner = r.oid) AS owned
			FROM pg_roles r WHERE rolname = current_user`).Scan(&r).Error
		if err != nil {
			t.Fatal(err)
		}
		if r.User != AppRole || r.Super || r.Bypass || r.Login || r.Owned != 0 {
			t.Errorf("role %+v, want %s: no superuser, no BYPASSRLS, NOLOGIN, owner of nothing", r, AppRole)
		}
	})
	for _, table := range []string{"entries", "entry_versions", "nachweise", "events"} {
		t.Run("count "+table, func(t *testing.T) {
			var n int64
			if err := app.Raw(`SELECT count(*) FROM ` + table).Scan(&n).Error; err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Errorf("SELECT count(*) FROM %s as regmo_app without scope = %d, want 0", table, n)
			}
		})
	}
	refused := []struct {
		name, stmt string
	}{
		{"insert without scope", `INSERT INTO entries (kind, ressort, key, name, created_at, updated_at) VALUES ('register', 'SF', 'x', 'X', now(), now())`},
		{"update events", `UPDATE events SET actor = 'x'`},
		{"delete events", `DELETE FROM events`},
		{"truncate events", `TRUNCATE events`},
		{"update versions", `UPDATE entry_versions SET name = 'x'`},
		{"delete versions", `DELETE FROM entry_versions`},
		{"truncate versions", `TRUNCATE entry_versions`},
		{"disable the events trigger", `ALTER TABLE events DISABLE TRIGGER events_no_update_delete`},
		{"disable the versions trigger", `ALTER TABLE entry_versions DISABLE TRIGGER entry_versions_no_change`},
		{"disable row security", `ALTER TABLE entries DISABLE ROW LEVEL SECURITY`},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			err := app.Exec(tt.stmt).Error
			if err == nil {
				t.Errorf("%s: succeeded as regmo_app, want refused", tt.stmt)
			}
		})
	}
	t.Run("writes outside the write scope", func(t *testing.T) {
		err := writeTx(ctx, app, domain.WriteRessorts("SF"), func(tx *gorm.DB) error {
			res := tx.Exec(`UPDATE entries SET name = 'changed' WHERE ressort = 'SIS'`)
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected != 0 {
				return fmt.Errorf("updated %d rows of SIS", res.RowsAffected)
			}
			return tx.Exec(`INSERT INTO entries (kind, ressort, key, name, created_at, updated_at) VALUES ('register', 'SIS', 'x', 'X', now(), now())`).Error
		})
		if err == nil {
			t.Errorf("inserting into SIS with write scope SF succeeded, want refused")
		}
	})
	t.Run("the owner's triggers keep history", func(t *testing.T) {
		db := testdb.Open(t, dsn)
		for _, stmt := range []string{`UPDATE entry_versions SET name = 'x'`, `DELETE FROM entry_versions`, `TRUNCATE entry_versions`} {
			if err := db.Exec(stmt).Error; err == nil {
				t.Errorf("%s as the owner succeeded, want refused by the trigger", stmt)
			}
		}
	})
}
