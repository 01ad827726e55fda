package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/bremen/regmo/domain"
	"gorm.io/gorm"
)

// Export hands every entry of the kinds that the scope may read (and, when ressorts is not
// empty, that lies in one of them) to yield, kind by kind in the order given, then by
// Ressort and key. All kinds are read from one snapshot, so that an export taken while
// others write still imports back consistently. Rows are streamed, never collected.
func (inv *Inventory) Export(ctx context.Context, scope domain.ReadScope, ressorts []string, kinds []domain.Kind, yield func(domain.Entry) error) error {
	codes, all := scope.Restrict(ressorts)
	if !all && len(codes) == 0 {
		return nil
	}
	return scopedTx(ctx, inv.db, scope, domain.WriteScope{}, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}, func(tx *gorm.DB) error {
		for _, kind := range kinds {
			q := tx.Table("entries").Select(entryColumns).Where("kind = ?", kind)
			if !all {
				q = q.Where("ressort = ANY(?::text[])", textArray(codes))
			}
			rows, err := q.Order("ressort, key").Rows()
			if err != nil {
				return fmt.Errorf("store: export %s: %w", kind, err)
			}
			if err := inv.yieldRows(tx, rows, yield); err != nil {
				return fmt.Errorf("store: export %s: %w", kind, err)
			}
		}
		return nil
	})
}

func (inv *Inventory) yieldRows(tx *gorm.DB, rows *sql.Rows, yield func(domain.Entry) error) error {
	defer rows.Close()
	for rows.Next() {
		var r entryRow
		if err := tx.ScanRows(rows, &r); err != nil {
			return err
		}
		if err := yield(r.entry()); err != nil {
			return err
		}
	}
	return rows.Err()
}
