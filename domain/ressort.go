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

// Put creates a Ressort or renames it; created tells which.
func (s *Ressorts) Put(ctx context.Context, code, name string) (r Ressort, created bool, err error) {
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
	var res struct {
		Code     string
		Name     string
		Inserted bool
	}
	// xmax = 0 tells an inserted row from an updated one in the same statement.
	err = s.db.WithContext(ctx).Raw(`INSERT INTO ressorts (code, name, created_at, updated_at)
		VALUES (?, ?, ?, ?)
		ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, updated_at = EXCLUDED.updated_at
			WHERE ressorts.name IS DISTINCT FROM EXCLUDED.name
		RETURNING code, name, (xmax = 0) AS inserted`, code, name, s.now(), s.now()).Scan(&res).Error
	if err != nil {
		return Ressort{}, false, fmt.Errorf("store: put ressort %s: %w", code, err)
	}
	if res.Code == "" { // unchanged: the conditional update returned no row
		return Ressort{Code: code, Name: name}, false, nil
	}
	return Ressort{Code: res.Code, Name: res.Name}, res.Inserted, nil
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
