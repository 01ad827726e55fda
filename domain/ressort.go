package domain

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Ressort is a department of the Senate (or the Magistrat Bremerhaven) that owns entries.
type Ressort struct {
	Code string `gorm:"column:code"`
	Name string `gorm:"column:name"`
}

// Ressorts manages the list of Ressorts.
type Ressorts struct {
	db  *gorm.DB
	now func() time.Time
}

// NewRessorts returns the Ressort service on db.
func NewRessorts(db *gorm.DB) *Ressorts { return &Ressorts{db: db, now: time.Now} }

// List returns every Ressort ordered by code.
func (s *Ressorts) List(ctx context.Context) ([]Ressort, error) {
	var out []Ressort
	if err := s.db.WithContext(ctx).Raw(`SELECT code, name FROM ressorts ORDER BY code`).Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("store: list ressorts: %w", err)
	}
	return out, nil
}

// Put creates a Ressort or renames it; created tells which. A real change is recorded in
// the audit trail.
func (s *Ressorts) Put(ctx context.Context, actor string, scope WriteScope, code, name string) (r Ressort, created bool, err error) {
	verr := &ValidationError{}
	if !ValidRessortCode(code) {
		verr.add("code", "must be 2 to 16 of A-Z, 0-9 and '-'")
	}
	if name == "" {
		verr.add("name", "is required")
	} else if len([]rune(name)) > 200 {
		verr.add("name", "must be at most 200 characters long")
	} else if !cleanText(name) {
		verr.add("name", "%s", messages["clean"])
	}
	if err := verr.orNil(); err != nil {
		return Ressort{}, false, err
	}
	err = writeTx(ctx, s.db, scope, func(tx *gorm.DB) error {
		var current []Ressort
		if err := tx.Raw(`SELECT code, name FROM ressorts WHERE code = ? FOR UPDATE`, code).Scan(&current).Error; err != nil {
			return fmt.Errorf("store: load ressort %s: %w", code, err)
		}
		now := s.now()
		e := Event{At: now, Actor: actor, EntityType: "ressort", Ressort: code, Key: code}
		switch {
		case len(current) == 0:
			created = true
			e.Action, e.Changes = ActionCreated, map[string]Change{"name": {To: name}}
			err = tx.Exec(`INSERT INTO ressorts (code, name, created_at, updated_at) VALUES (?, ?, ?, ?)`, code, name, now, now).Error
		case current[0].Name != name:
			e.Action, e.Changes = ActionUpdated, map[string]Change{"name": {From: current[0].Name, To: name}}
			err = tx.Exec(`UPDATE ressorts SET name = ?, updated_at = ? WHERE code = ?`, name, now, code).Error
		default:
			return nil
		}
		if err != nil {
			return fmt.Errorf("store: put ressort %s: %w", code, err)
		}
		return recordEvent(ctx, tx, e)
	})
	if err != nil {
		return Ressort{}, false, err
	}
	return Ressort{Code: code, Name: name}, created, nil
}

// ressortExists reports whether a Ressort exists.
func ressortExists(ctx context.Context, db *gorm.DB, code string) (bool, error) {
	var n int64
	if err := db.WithContext(ctx).Raw(`SELECT count(*) FROM ressorts WHERE code = ?`, code).Scan(&n).Error; err != nil {
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
