package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/migrations/testdb"
)

// The history benchmarks run at the scale the audit issue names: 100,000 entries with ten
// versions each (1,000,000 versions) and 1,000,000 events.
const (
	benchEntries  = 100_000
	benchVersions = 10
)

var benchT0 = time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC) // the seed SQL's first instant

// BenchmarkHistory seeds the database once, in SQL (a million rows through the API would
// measure the seeding instead), and runs the history benchmarks on it.
func BenchmarkHistory(b *testing.B) {
	db := historyDB(b)
	b.Run("as_of_list_page_one_ressort", func(b *testing.B) { benchAsOfList(b, db, "SIS") })
	b.Run("as_of_list_page_all_ressorts", func(b *testing.B) { benchAsOfList(b, db, "") })
	b.Run("entry_history", func(b *testing.B) { benchEntryHistory(b, db) })
	b.Run("write_alone", func(b *testing.B) { benchWrite(b, db, false) })
	b.Run("write_with_event", func(b *testing.B) { benchWrite(b, db, true) })
}

func historyDB(b *testing.B) *gorm.DB {
	db := testdb.New(b)
	{
		stmts := []string{
			`INSERT INTO entries (kind, ressort, key, name, created_at, updated_at, version, noots_stage)
			 SELECT 'register', (ARRAY['SF','SK','SIS','SBMS','SASJI','SJV','SKB','SWHT','MAG-BHV','ZGF'])[1 + i % 10],
			        'r' || lpad(i::text, 6, '0'), 'Register ' || i, '2026-01-01 08:00:00+00'::timestamptz, '2026-01-01 08:00:00+00'::timestamptz + interval '9 days', 10,
			        (ARRAY['not_started','planned','in_progress','testing','live'])[1 + i % 5]
			 FROM generate_series(1, 100000) i`,
			`INSERT INTO entry_versions
			 SELECT e.id, e.kind, e.ressort, e.key, e.name, e.description, e.idnrg_anlage_nr, e.legal_basis, e.fachverfahren,
			        e.contact, e.leika_keys, e.url, e.nachweise_from,
			        e.idnr_stage, e.idnr_target_date, e.idnr_note, e.idnr_evidence_url,
			        (ARRAY['not_started','planned','in_progress','testing','live'])[1 + v % 5], e.noots_target_date, e.noots_note, e.noots_evidence_url,
			        e.dsc_stage, e.dsc_target_date, e.dsc_note, e.dsc_evidence_url,
			        v, e.created_at, e.created_at + (v - 1) * interval '1 day', 'seed',
			        '2026-01-01 08:00:00+00'::timestamptz + (v - 1) * interval '1 day',
			        CASE WHEN v < 10 THEN '2026-01-01 08:00:00+00'::timestamptz + v * interval '1 day' END
			 FROM entries e, generate_series(1, 10) v`,
			`INSERT INTO events (at, actor, action, entity_type, ressort, key, changes)
			 SELECT v.valid_from, 'seed', CASE WHEN v.version = 1 THEN 'created' ELSE 'updated' END, v.kind, v.ressort, v.key,
			        jsonb_build_object('readiness.noots.stage', jsonb_build_object('to', v.noots_stage))
			 FROM entry_versions v ORDER BY v.valid_from, v.id`,
			`ANALYZE`,
		}
		for _, s := range stmts {
			if err := db.Exec(s).Error; err != nil {
				b.Fatalf("seed: %v", err)
			}
		}
	}
	return db
}

// benchAsOfList lists 1,000 registers as of an instant in the middle of the history
// (target: under 100 ms).
func benchAsOfList(b *testing.B, db *gorm.DB, ressort string) {
	inv := NewInventory(db)
	at := benchT0.Add(5*24*time.Hour + 12*time.Hour)
	ctx := context.Background()
	for b.Loop() {
		page, err := inv.List(ctx, domain.ReadAll(), domain.Filter{Kind: domain.KindRegister, Ressort: ressort, Limit: 1000, AsOf: &at})
		if err != nil || len(page.Entries) != 1000 || page.Entries[0].Version != 6 {
			b.Fatalf("List = %d entries (version %v), %v", len(page.Entries), page.Entries, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/page")
}

// benchEntryHistory reads the ten events of one entry among 1,000,000 (target: under
// 100 ms).
func benchEntryHistory(b *testing.B, db *gorm.DB) {
	inv := NewInventory(db)
	ctx := context.Background()
	for b.Loop() {
		page, err := inv.History(ctx, domain.ReadAll(), domain.KindRegister, "SIS", "r050002", 100, "")
		if err != nil || len(page.Events) != benchVersions {
			b.Fatalf("History = %d events, %v", len(page.Events), err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/history")
}

// benchWrite changes one entry with its event and version (what the service does), or the
// same locked UPDATE alone; the ratio of the two is the cost of keeping history (target: at
// most 1.5×).
func benchWrite(b *testing.B, db *gorm.DB, record bool) {
	ctx := context.Background()
	write := func(record bool, i int) error {
		key := fmt.Sprintf("r%06d", 1+(i*7919)%benchEntries)
		ressort := []string{"SF", "SK", "SIS", "SBMS", "SASJI", "SJV", "SKB", "SWHT", "MAG-BHV", "ZGF"}[(1+(i*7919)%benchEntries)%10]
		return db.Transaction(func(tx *gorm.DB) error {
			st := entryStore{tx}
			cur, err := st.lock(ctx, domain.KindRegister, ressort, key)
			if err != nil || cur == nil {
				return fmt.Errorf("lock %s/%s: %w", ressort, key, err)
			}
			before := cur.entry().Content
			after := before
			after.Description = fmt.Sprintf("change %d", i)
			now := time.Now()
			var ch *change
			if record {
				ch = &change{actor: "bench", action: domain.ActionUpdated, before: &before, after: &after, now: now}
			}
			_, err = st.update(ctx, domain.KindRegister, ressort, key, cur.ID, after, "bench", now, ch)
			return err
		})
	}
	i := 0
	for b.Loop() {
		if err := write(record, i); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
