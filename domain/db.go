package domain

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
		sqlDB.Close()
		return nil, nil, fmt.Errorf("db: open: %w", err)
	}
	return db, sqlDB, nil
}
