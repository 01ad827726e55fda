// Package store owns regmo's SQL: every statement, the transactions that hand the caller's
// scope to row-level security, COPY and LISTEN. Its services (Inventory, Ressorts)
// apply the rules of package domain inside those transactions.
package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// DBConfig bounds what the service may ask of PostgreSQL.
type DBConfig struct {
	// URL is a libpq connection string or URL; empty means the PG* environment variables.
	URL string
	// MaxConns bounds the pool; requests wait for a connection rather than overload the server.
	MaxConns int
	// StatementTimeout stops any single statement that runs longer.
	StatementTimeout time.Duration
	// Role, when set, is the role every session works as (SET ROLE at connection start):
	// AppRole for the service, so that row-level security applies to all its work while
	// URL's role may own the schema and run the migrations.
	Role string
}

// OpenDB connects to PostgreSQL through pgx and wraps the pool in GORM.
func OpenDB(ctx context.Context, cfg DBConfig) (*gorm.DB, *sql.DB, error) {
	pgcfg, err := pgx.ParseConfig(cfg.URL)
	if err != nil {
		return nil, nil, fmt.Errorf("db: parse connection settings: %w", err)
	}
	if cfg.StatementTimeout > 0 {
		pgcfg.RuntimeParams["statement_timeout"] = fmt.Sprint(cfg.StatementTimeout.Milliseconds())
	}
	if cfg.Role != "" {
		// A session parameter rather than a statement: RESET ROLE returns to it, too.
		pgcfg.RuntimeParams["role"] = cfg.Role
	}
	if pgcfg.RuntimeParams["jit"] == "" {
		// JIT compiles for longer than regmo's statements run: the report as of an instant
		// plans a branch over all of history it then skips, whose cost started JIT, which took
		// 1.7 s of its 2.0 s at 6,000,000 entries. A jit parameter of the connection string wins.
		pgcfg.RuntimeParams["jit"] = "off"
	}
	if pgcfg.RuntimeParams["application_name"] == "" {
		pgcfg.RuntimeParams["application_name"] = "regmo"
	}
	if pgcfg.ConnectTimeout == 0 || pgcfg.ConnectTimeout > 5*time.Second {
		// Fail fast while the database is away instead of holding requests.
		pgcfg.ConnectTimeout = 5 * time.Second
	}
	sqlDB := stdlib.OpenDB(*pgcfg)
	if cfg.MaxConns > 0 {
		sqlDB.SetMaxOpenConns(cfg.MaxConns)
		sqlDB.SetMaxIdleConns(cfg.MaxConns)
	}
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	sqlDB.SetConnMaxLifetime(time.Hour)
	db, err := gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), &gorm.Config{
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true,
	})
	if err != nil {
		_ = sqlDB.Close()
		return nil, nil, fmt.Errorf("db: open: %w", err)
	}
	return db, sqlDB, nil
}

// CheckRowSecurity fails unless db's sessions are subject to row-level security: a role that
// is a superuser or has BYPASSRLS would make the second wall of Ressort isolation silently
// absent, so the service refuses to start on one.
func CheckRowSecurity(ctx context.Context, db *gorm.DB) error {
	var r struct {
		Role   string
		Bypass bool
	}
	err := db.WithContext(ctx).Raw(`SELECT current_user AS role, rolsuper OR rolbypassrls AS bypass
		FROM pg_roles WHERE rolname = current_user`).Scan(&r).Error
	if err != nil {
		return fmt.Errorf("db: check role: %w", err)
	}
	if r.Role == "" || r.Bypass {
		return fmt.Errorf("db: the service's sessions run as %q, which bypasses row-level security; connect with role %s (see README, Security)", r.Role, AppRole)
	}
	return nil
}
