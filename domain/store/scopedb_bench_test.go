package store

import (
	"context"
	"fmt"
	"testing"

	"gorm.io/gorm"

	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/migrations/testdb"
)

// BenchmarkScopedRead prices the second wall on the two reads the service does most, one
// entry and a list page of 100, over 10,000 registers in ten Ressorts:
//   - unscoped: the query alone, as the owner (no row-level security): the service before it;
//   - pipeline: as regmo_app, the scope and the query sent as one pipeline (what the service
//     does);
//   - transaction: as regmo_app, BEGIN, the scope, the query and COMMIT as four round trips.
func BenchmarkScopedRead(b *testing.B) {
	dsn := testdb.DSN(b)
	owner := testdb.Open(b, dsn)
	err := owner.Exec(`INSERT INTO entries (kind, ressort, key, name, created_at, updated_at)
		SELECT 'register', (ARRAY['SF','SK','SIS','SBMS','SASJI','SJV','SKB','SWHT','MAG-BHV','ZGF'])[1 + i % 10],
		       'r' || lpad(i::text, 5, '0'), 'Register ' || i, now(), now()
		FROM generate_series(1, 10000) i`).Error
	if err != nil {
		b.Fatal(err)
	}
	if err := owner.Exec(`VACUUM ANALYZE entries`).Error; err != nil {
		b.Fatal(err)
	}
	app := testdb.App(b, dsn)
	ctx := context.Background()
	scope := domain.ReadAll()
	queries := []struct {
		name, sql string
		args      func(i int) []any
		want      int
	}{
		{"get", `SELECT ` + entryColumns + ` FROM entries WHERE kind = $1 AND ressort = $2 AND key = $3`,
			func(i int) []any {
				n := 1 + i%10000
				return []any{"register", []string{"SF", "SK", "SIS", "SBMS", "SASJI", "SJV", "SKB", "SWHT", "MAG-BHV", "ZGF"}[n%10], fmt.Sprintf("r%05d", n)}
			}, 1},
		{"list", `SELECT ` + entryColumns + ` FROM entries WHERE kind = $1 ORDER BY ressort, key LIMIT 100`,
			func(int) []any { return []any{"register"} }, 100},
	}
	for _, q := range queries {
		variants := []struct {
			name string
			run  func(args []any) ([]entryRow, error)
		}{
			{"unscoped", func(args []any) ([]entryRow, error) { return queryEntries(ctx, owner, q.sql, args...) }},
			{"pipeline", func(args []any) ([]entryRow, error) {
				return queryEntriesIn(ctx, app, scope, q.want, entryTable, q.sql, args...)
			}},
			{"transaction", func(args []any) ([]entryRow, error) {
				var rows []entryRow
				err := readTx(ctx, app, scope, func(tx *gorm.DB) error {
					var err error
					rows, err = queryEntries(ctx, tx, q.sql, args...)
					return err
				})
				return rows, err
			}},
		}
		for _, v := range variants {
			b.Run(q.name+"/"+v.name, func(b *testing.B) {
				i := 0
				for b.Loop() {
					rows, err := v.run(q.args(i))
					if err != nil || len(rows) != q.want {
						b.Fatalf("%d rows, %v; want %d", len(rows), err, q.want)
					}
					i++
				}
			})
		}
	}
}
