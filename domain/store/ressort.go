package store

import (
	"context"
	"fmt"
	"time"

	"github.com/bremen/regmo/domain"
	"gorm.io/gorm"
)

// Ressorts manages the list of Ressorts.
type Ressorts struct {
	db  *gorm.DB
	now func() time.Time
}

// NewRessorts returns the Ressort service on db.
func NewRessorts(db *gorm.DB) *Ressorts { return &Ressorts{db: db, now: time.Now} }

// List returns every Ressort ordered by code.
func (s *Ressorts) List(ctx context.Context) ([]domain.Ressort, error) {
	var out []domain.Ressort
	if err := s.db.WithContext(ctx).Raw(`SELECT code, name FROM ressorts ORDER BY code`).Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("store: list ressorts: %w", err)
	}
	return out, nil
}

// Put creates a Ressort or renames it; created tells which. A real change is recorded in
// the audit trail.
func (s *Ressorts) Put(ctx context.Context, actor string, scope domain.WriteScope, code, name string) (r domain.Ressort, created bool, err error) {
	if err := domain.CheckRessort(code, name); err != nil {
		return domain.Ressort{}, false, err
	}
	err = writeTx(ctx, s.db, scope, func(tx *gorm.DB) error {
		var current []domain.Ressort
		if err := tx.Raw(`SELECT code, name FROM ressorts WHERE code = $1 FOR UPDATE`, code).Scan(&current).Error; err != nil {
			return fmt.Errorf("store: load ressort %s: %w", code, err)
		}
		now := s.now()
		e := domain.Event{At: now, Actor: actor, EntityType: "ressort", Ressort: code, Key: code}
		switch {
		case len(current) == 0:
			created = true
			e.Action, e.Changes = domain.ActionCreated, map[string]domain.Change{"name": {To: name}}
			err = tx.Exec(`INSERT INTO ressorts (code, name, created_at, updated_at) VALUES ($1, $2, $3, $4)`, code, name, now, now).Error
		case current[0].Name != name:
			e.Action, e.Changes = domain.ActionUpdated, map[string]domain.Change{"name": {From: current[0].Name, To: name}}
			err = tx.Exec(`UPDATE ressorts SET name = $1, updated_at = $2 WHERE code = $3`, name, now, code).Error
		default:
			return nil
		}
		if err != nil {
			return fmt.Errorf("store: put ressort %s: %w", code, err)
		}
		return recordEvent(ctx, tx, e)
	})
	if err != nil {
		return domain.Ressort{}, false, err
	}
	return domain.Ressort{Code: code, Name: name}, created, nil
}

// ressortExists reports whether a Ressort exists.
func ressortExists(ctx context.Context, db *gorm.DB, code string) (bool, error) {
	var n int64
	if err := db.WithContext(ctx).Raw(`SELECT count(*) FROM ressorts WHERE code = $1`, code).Scan(&n).Error; err != nil {
		return false, fmt.Errorf("store: find ressort %s: %w", code, err)
	}
	return n > 0, nil
}

// AnlageEntry is one register of the Anlage zu § 1 IDNrG.
type AnlageEntry struct {
	Nr         int    `gorm:"column:nr"`
	Name       string `gorm:"column:name"`
	LegalBasis string `gorm:"column:legal_basis"`
	Level      string `gorm:"column:level"`
}

// Anlage reads the Anlage zu § 1 IDNrG shipped with the schema, in the order of its numbers.
func Anlage(ctx context.Context, db *gorm.DB) ([]AnlageEntry, error) {
	var out []AnlageEntry
	if err := db.WithContext(ctx).Raw(`SELECT nr, name, legal_basis, level FROM idnrg_anlage ORDER BY nr`).Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("store: load idnrg anlage: %w", err)
	}
	return out, nil
}
