package store

import (
	"context"
	"testing"

	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/migrations/testdb"
)

// TestReadSurvivesADeadPooledConnection: a pooled connection whose server process went away
// since its last use (an abandoned request, a restart) costs the next read nothing: the
// read is retried once on a fresh connection instead of answering 503.
func TestReadSurvivesADeadPooledConnection(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.DSN(t)
	owner := testdb.Open(t, dsn)
	c := domain.Content{Name: "Grundsteuer"}
	if _, _, err := NewInventory(owner).Put(ctx, "test", domain.WriteAll(), domain.KindRegister, "SF", "grundsteuer", c, domain.Precondition{}); err != nil {
		t.Fatal(err)
	}
	app := testdb.App(t, dsn)
	sqlDB, err := app.DB()
	if err != nil {
		t.Fatal(err)
	}
	sqlDB.SetMaxOpenConns(1) // the next read must take the connection that dies
	inv := NewInventory(app)
	get := func() error {
		_, err := inv.Get(ctx, domain.ReadAll(), domain.KindRegister, "SF", "grundsteuer")
		return err
	}
	if err := get(); err != nil {
		t.Fatal(err)
	}
	// The owner ends every other backend of this database: the app's pooled one among them.
	var ended int
	if err := owner.Raw(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&ended).Error; err != nil {
		t.Fatal(err)
	}
	if ended == 0 {
		t.Fatal("no backend ended; the test could not fail")
	}
	if err := get(); err != nil {
		t.Errorf("read after its pooled connection died: got %v, want the entry", err)
	}
}
