package domain

import (
	"context"
	"testing"
	"time"

	"github.com/bremen/regmo/migrations/testdb"
)

// BenchmarkReadinessAsOf runs the readiness report as of a past instant over a history of
// 10,000,000 events: 1,000,000 entries across the ten Ressorts with ten versions each
// (10,000,000 versions), one event per version (target: under 3 s). Seeding takes minutes;
// it runs only with -bench.
func BenchmarkReadinessAsOf(b *testing.B) {
	db := testdb.New(b)
	start := time.Now()
	for _, s := range []string{
		`SET work_mem = '256MB'`,
		`INSERT INTO entries (kind, ressort, key, name, created_at, updated_at, version,
			idnr_stage, noots_stage, dsc_stage, idnr_target_date, dsc_note)
		 SELECT (ARRAY['register','onlinedienst'])[1 + (i / 10) % 2],
		        (ARRAY['SF','SK','SIS','SBMS','SASJI','SJV','SKB','SWHT','MAG-BHV','ZGF'])[1 + i % 10],
		        'e' || i, 'Eintrag ' || i, '2026-01-01 08:00:00+00', '2026-01-10 08:00:00+00', 10,
		        (ARRAY['not_started','planned','in_progress','testing','live'])[1 + i % 5],
		        (ARRAY['not_started','planned','in_progress','testing','live'])[1 + (i / 5) % 5],
		        (ARRAY['not_started','planned','in_progress','testing','live','not_applicable'])[1 + (i / 25) % 6],
		        DATE '2026-01-01' + (i % 1000), 'keine personenbezogenen Daten'
		 FROM generate_series(1, 1000000) i`,
		`INSERT INTO entry_versions
		 SELECT e.id, e.kind, e.ressort, e.key, e.name, e.description, e.idnrg_anlage_nr, e.legal_basis, e.fachverfahren,
		        e.contact, e.leika_keys, e.url, e.nachweise_from,
		        (ARRAY['not_started','planned','in_progress','testing','live'])[1 + (e.id + v) % 5], e.idnr_target_date, e.idnr_note, e.idnr_evidence_url,
		        e.noots_stage, e.noots_target_date, e.noots_note, e.noots_evidence_url,
		        e.dsc_stage, e.dsc_target_date, e.dsc_note, e.dsc_evidence_url,
		        v, e.created_at, e.created_at + (v - 1) * interval '1 day', 'seed',
		        '2026-01-01 08:00:00+00'::timestamptz + (v - 1) * interval '1 day',
		        CASE WHEN v < 10 THEN '2026-01-01 08:00:00+00'::timestamptz + v * interval '1 day' END
		 FROM entries e, generate_series(1, 10) v`,
		`INSERT INTO events (at, actor, action, entity_type, ressort, key, changes)
		 SELECT v.valid_from, 'seed', CASE WHEN v.version = 1 THEN 'created' ELSE 'updated' END, v.kind, v.ressort, v.key,
		        jsonb_build_object('readiness.idnr.stage', jsonb_build_object('to', v.idnr_stage))
		 FROM entry_versions v`,
		`VACUUM ANALYZE`,
	} {
		if err := db.Exec(s).Error; err != nil {
			b.Fatalf("seed: %v", err)
		}
	}
	var events, versions int64
	db.Raw(`SELECT count(*) FROM events`).Scan(&events)
	db.Raw(`SELECT count(*) FROM entry_versions`).Scan(&versions)
	b.Logf("seeded %d events and %d versions of 1,000,000 entries in %s", events, versions, time.Since(start).Round(time.Second))
	inv := NewInventory(db)
	ctx := context.Background()
	at := time.Date(2026, 1, 5, 20, 0, 0, 0, time.UTC) // version 5 of every entry
	b.ResetTimer()
	for b.Loop() {
		r, err := inv.Readiness(ctx, ScopeAll(), ReportFilter{AsOf: &at})
		if err != nil || r.Total.Registers.Count+r.Total.Onlinedienste.Count != 1_000_000 {
			b.Fatalf("report as of %s: %d entries, %v", at, r.Total.Registers.Count+r.Total.Onlinedienste.Count, err)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()*1000/float64(b.N), "ms/report")
}
