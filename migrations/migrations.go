// Package migrations holds the versioned SQL schema of regmo, embedded in the binary, and
// applies it with goose. GORM never migrates: the schema is reviewed SQL.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed *.sql
var sqlFiles embed.FS

// AnlageCSV is the Anlage zu § 1 IDNrG as published (nr, name, rechtsgrundlage, ebene); the
// first migration inserts the same rows.
//
//go:embed idnrg_anlage.csv
var AnlageCSV []byte

// provider builds a goose provider over the embedded files.
func provider(db *sql.DB) (*goose.Provider, error) {
	fsys, err := fs.Sub(sqlFiles, ".")
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	// Several instances may start at once against one database; the advisory lock makes
	// exactly one of them migrate while the others wait.
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys, goose.WithSessionLocker(locker))
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return p, nil
}

// Up applies every pending migration and reports how many it applied.
func Up(ctx context.Context, db *sql.DB) (int, error) {
	p, err := provider(db)
	if err != nil {
		return 0, err
	}
	results, err := p.Up(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrations: up: %w", err)
	}
	return len(results), nil
}

// Status is the state of one migration.
type Status struct {
	Version int64
	Source  string
	Applied bool
}

// List reports every known migration and whether it is applied.
func List(ctx context.Context, db *sql.DB) ([]Status, error) {
	p, err := provider(db)
	if err != nil {
		return nil, err
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrations: status: %w", err)
	}
	out := make([]Status, 0, len(st))
	for _, s := range st {
		out = append(out, Status{Version: s.Source.Version, Source: s.Source.Path, Applied: s.State == goose.StateApplied})
	}
	return out, nil
}
