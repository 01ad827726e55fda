// Package testdb gives each test a fresh, fully migrated PostgreSQL database on the throwaway
// cluster that `make test` starts (REGMO_TEST_DATABASE_URL). Nothing is mocked: tests run the
// real schema with its constraints and triggers.
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/bremen/regmo/migrations"
)

// EnvURL names the variable holding the cluster's admin URL.
const EnvURL = "REGMO_TEST_DATABASE_URL"

var (
	templateOnce sync.Once
	templateName string
	templateErr  error
)

// adminURL returns the cluster URL, or skips the test: plain `go test` runs what needs no
// database, and Main has said once what to do for the rest.
func adminURL(t testing.TB) string {
	u := os.Getenv(EnvURL)
	if u == "" {
		t.Skipf("%s is not set: run `make test`, which starts a throwaway PostgreSQL", EnvURL)
	}
	return u
}

// Main runs the tests of a package that uses the database (call it from TestMain): without
// one it says so in a single line instead of failing every test, and it drops the template
// database at the end.
func Main(m *testing.M) {
	if os.Getenv(EnvURL) == "" {
		fmt.Fprintf(os.Stderr, "%s is not set: the tests that need PostgreSQL are skipped; `make test` runs them all\n", EnvURL)
	}
	code := m.Run()
	Cleanup()
	os.Exit(code)
}

// withDatabase returns the URL u pointing at another database.
func withDatabase(u, name string) (string, error) {
	parsed, err := url.Parse(u)
	if err != nil {
		return "", fmt.Errorf("testdb: parse %s: %w", EnvURL, err)
	}
	parsed.Path = "/" + name
	return parsed.String(), nil
}

func randomName(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

func exec(ctx context.Context, dsn, stmt string) error {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, stmt)
	return err
}

// template creates, once per test binary, a migrated database that fresh ones are copied from.
func template(t testing.TB) string {
	templateOnce.Do(func() {
		ctx := context.Background()
		admin := adminURL(t)
		name := randomName("regmo_tmpl_")
		if templateErr = exec(ctx, admin, "CREATE DATABASE "+name); templateErr != nil {
			return
		}
		dsn, err := withDatabase(admin, name)
		if err != nil {
			templateErr = err
			return
		}
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			templateErr = err
			return
		}
		defer db.Close()
		if _, templateErr = migrations.Up(ctx, db); templateErr != nil {
			return
		}
		templateName = name
	})
	if templateErr != nil {
		t.Fatalf("testdb: prepare template database: %v", templateErr)
	}
	return templateName
}

// DSN creates a fresh migrated database for the test and returns its URL. The database is
// dropped when the test ends.
func DSN(t testing.TB) string {
	t.Helper()
	tmpl := template(t)
	admin := adminURL(t)
	name := randomName("regmo_test_")
	ctx := context.Background()
	if err := exec(ctx, admin, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, tmpl)); err != nil {
		t.Fatalf("testdb: create database: %v", err)
	}
	t.Cleanup(func() {
		if err := exec(context.Background(), admin, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("testdb: drop %s: %v", name, err)
		}
	})
	dsn, err := withDatabase(admin, name)
	if err != nil {
		t.Fatal(err)
	}
	return dsn
}

// Empty creates a fresh database without any migration, for tests of the migrations.
func Empty(t testing.TB) string {
	t.Helper()
	admin := adminURL(t)
	name := randomName("regmo_empty_")
	if err := exec(context.Background(), admin, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("testdb: create database: %v", err)
	}
	t.Cleanup(func() {
		_ = exec(context.Background(), admin, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	dsn, err := withDatabase(admin, name)
	if err != nil {
		t.Fatal(err)
	}
	return dsn
}

// New returns GORM on a fresh migrated database, closed when the test ends. It opens the
// database itself rather than through domain.OpenDB so that domain's own tests can use it.
// It works as the cluster's superuser, who owns the schema: for seeding and checks; the
// service under test gets App.
func New(t testing.TB) *gorm.DB {
	t.Helper()
	return open(t, DSN(t))
}

// Open is New on an existing database.
func Open(t testing.TB, dsn string) *gorm.DB {
	t.Helper()
	return open(t, dsn)
}

func open(t testing.TB, dsn string) *gorm.DB {
	t.Helper()
	db, err := gorm.Open(postgres.Open(dsn), &gorm.Config{Logger: logger.Discard, SkipDefaultTransaction: true})
	if err != nil {
		t.Fatalf("testdb: open: %v", err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatalf("testdb: open: %v", err)
	}
	// Idle connections are kept as regmo serve keeps them (store.OpenDB): with database/sql's
	// default of two, a page that runs its queries at once would open a connection, a backend
	// and its prepared statements for nearly every query.
	sqlDB.SetMaxOpenConns(30)
	sqlDB.SetMaxIdleConns(30)
	t.Cleanup(func() { _ = sqlDB.Close() })
	return db
}

// App returns GORM on the database at dsn working as the service's role regmo_app, as
// regmo serve does, so that row-level security applies; closed when the test ends.
func App(t testing.TB, dsn string) *gorm.DB {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("testdb: parse dsn: %v", err)
	}
	q := u.Query()
	q.Set("role", AppRole)
	u.RawQuery = q.Encode()
	return open(t, u.String())
}

// AppRole is the service's database role (domain.AppRole; testdb cannot import domain).
const AppRole = "regmo_app"

// Cleanup drops the template database; Main calls it after the tests.
func Cleanup() {
	if templateName == "" {
		return
	}
	admin := os.Getenv(EnvURL)
	if err := exec(context.Background(), admin, "DROP DATABASE IF EXISTS "+templateName+" WITH (FORCE)"); err != nil && !strings.Contains(err.Error(), "does not exist") {
		fmt.Fprintln(os.Stderr, "testdb: drop template:", err)
	}
}
