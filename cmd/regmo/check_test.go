package main

import (
	"os"
	"strings"
	"testing"

	"github.com/bremen/regmo/migrations/testdb"
)

// TestCheckCounters damages the readiness counters behind the triggers' back: check names
// the figure and fails, --repair rebuilds and says what differed, and check agrees again.
func TestCheckCounters(t *testing.T) {
	if os.Getenv(testdb.EnvURL) == "" {
		t.Skip(testdb.EnvURL + " not set")
	}
	dsn := testdb.DSN(t)
	t.Setenv("DATABASE_URL", dsn)
	db := testdb.Open(t, dsn)
	if out, errOut, code := cli(t, "check", "counters"); code != 0 || !strings.Contains(out, "agree") {
		t.Fatalf("check on a fresh database: exit %d, %q %q", code, out, errOut)
	}
	if err := db.Exec(`INSERT INTO entries (kind, ressort, key, name, created_at, updated_at, dsc_stage)
		VALUES ('register', 'SF', 'melderegister', 'Melderegister', now(), now(), 'testing')`).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Exec(`DELETE FROM readiness_counts`).Error; err != nil {
		t.Fatal(err)
	}
	figure := "SF register idnr=not_started noots=not_started dsc=testing"
	out, _, code := cli(t, "check", "counters")
	if code != 1 || !strings.Contains(out, figure) {
		t.Errorf("check of damaged counters: exit %d, %q; want 1 naming %s", code, out, figure)
	}
	out, _, code = cli(t, "check", "counters", "--repair")
	if code != 0 || !strings.Contains(out, figure) || !strings.Contains(out, "rebuilt") {
		t.Errorf("check --repair: exit %d, %q; want 0 naming %s", code, out, figure)
	}
	if out, _, code := cli(t, "check", "counters"); code != 0 || !strings.Contains(out, "agree") {
		t.Errorf("check after the repair: exit %d, %q", code, out)
	}
	if _, _, code := cli(t, "check", "nothing"); code != 2 {
		t.Errorf("check nothing: exit %d, want 2", code)
	}
}
