package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bremen/regmo/api"
	"github.com/bremen/regmo/domain/access"
	"github.com/bremen/regmo/domain/store"
	"github.com/bremen/regmo/migrations/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// cli runs regmo with the arguments and returns stdout, stderr and the exit code.
func cli(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, &stdout, &stderr)
	code := 0
	var exit exitError
	switch {
	case errors.As(err, &exit):
		code = int(exit)
	case err != nil:
		stderr.WriteString(err.Error())
		code = 1
	}
	return stdout.String(), stderr.String(), code
}

// TestSeedingScriptCycle is the README's seeding script: a token, Anlage registers, a dry
// run, the import, a re-import that changes nothing, an export, and a file with errors.
func TestSeedingScriptCycle(t *testing.T) {
	if os.Getenv(testdb.EnvURL) == "" {
		t.Skip(testdb.EnvURL + " not set")
	}
	dsn := testdb.DSN(t)
	t.Setenv("DATABASE_URL", dsn)
	ctx := context.Background()
	db, sqlDB, err := store.OpenDB(ctx, store.DBConfig{URL: dsn, MaxConns: 5, Role: store.AppRole})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sqlDB.Close() })
	srv, err := api.New(api.Config{DB: db, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)

	steps := []struct {
		name     string
		args     []string
		code     int
		stdout   string // a substring the output must contain
		stderr   string
		setToken bool
	}{
		{name: "user", args: []string{"user", "add", "sf-skript", "--role", "ressortverantwortliche", "--ressort", "SF"}},
		{name: "token", args: []string{"token", "issue", "sf-skript", "--ttl", "1h", "--label", "Seeding"}, setToken: true},
		{name: "anlage", args: []string{"seed", "anlage", "--ressort", "SF", "--numbers", "1,21"}, stdout: "2 created"},
		{name: "anlage again", args: []string{"seed", "anlage", "--ressort", "SF", "--numbers", "21"}, stdout: "0 created, 1 already there"},
		{name: "anlage bad number", args: []string{"seed", "anlage", "--ressort", "SF", "--numbers", "1,51"}, code: 2, stderr: "51"},
		{name: "dry run", args: []string{"import", "inventory.csv", "--kind", "registers", "--dry-run", "--server", ts.URL},
			stdout: "nothing written; would have: 2 created, 0 updated, 0 unchanged"},
		{name: "import", args: []string{"import", "inventory.csv", "--kind", "registers", "--server", ts.URL},
			stdout: "imported: 2 created, 0 updated, 0 unchanged"},
		{name: "re-import", args: []string{"import", "inventory.csv", "--kind", "registers", "--server", ts.URL},
			stdout: "imported: 0 created, 0 updated, 2 unchanged"},
		{name: "bad rows", args: []string{"import", "bad.csv", "--kind", "registers", "--server", ts.URL},
			code: 1, stderr: "line 3 SF/b idnr_stage: must be one of"},
		{name: "foreign Ressort", args: []string{"import", "foreign.json", "--server", ts.URL}, code: 1, stderr: "SIS"},
		{name: "csv without kind", args: []string{"import", "inventory.csv", "--server", ts.URL}, code: 2, stderr: "--kind"},
		{name: "export", args: []string{"export", "--format", "csv", "--kind", "registers", "--server", ts.URL},
			stdout: "SF,anlage-1,"},
	}
	dir := t.TempDir()
	t.Chdir(dir)
	files := map[string]string{
		"inventory.csv": "ressort,key,name,idnr_stage\nSF,a,Register A,planned\nSF,b,Register B,live\n",
		"bad.csv":       "ressort,key,name,idnr_stage\nSF,a,Register A,planned\nSF,b,Register B,fertig\n",
		"foreign.json":  `{"registers": [{"ressort": "SIS", "key": "x", "name": "X"}]}`,
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, st := range steps {
		stdout, stderr, code := cli(t, st.args...)
		if code != st.code || !strings.Contains(stdout, st.stdout) || !strings.Contains(stderr, st.stderr) {
			t.Fatalf("%s: got exit %d, stdout %q, stderr %q; want exit %d, stdout with %q, stderr with %q",
				st.name, code, stdout, stderr, st.code, st.stdout, st.stderr)
		}
		if st.setToken {
			t.Setenv("REGMO_TOKEN", strings.TrimSpace(stdout))
		}
	}
	t.Run("export imports back unchanged", func(t *testing.T) {
		out, _, code := cli(t, "export", "--server", ts.URL)
		if code != 0 {
			t.Fatalf("export: exit %d", code)
		}
		if err := os.WriteFile("export.json", []byte(out), 0o600); err != nil {
			t.Fatal(err)
		}
		stdout, stderr, code := cli(t, "import", "export.json", "--server", ts.URL)
		if code != 0 || !strings.Contains(stdout, "0 created, 0 updated, 4 unchanged") {
			t.Errorf("re-import of the export: exit %d, %q %q", code, stdout, stderr)
		}
	})
	t.Run("workbook export imports back unchanged", func(t *testing.T) {
		out, _, code := cli(t, "export", "--format", "xlsx", "--server", ts.URL)
		if code != 0 {
			t.Fatalf("export: exit %d", code)
		}
		if err := os.WriteFile("export.xlsx", []byte(out), 0o600); err != nil {
			t.Fatal(err)
		}
		stdout, stderr, code := cli(t, "import", "export.xlsx", "--dry-run", "--server", ts.URL)
		if code != 0 || !strings.Contains(stdout, "0 created, 0 updated, 4 unchanged") {
			t.Errorf("dry run of the workbook: exit %d, %q %q", code, stdout, stderr)
		}
		if _, stderr, code := cli(t, "import", "export.xlsx", "--kind", "registers", "--server", ts.URL); code != 2 || !strings.Contains(stderr, "--kind") {
			t.Errorf("workbook with --kind: exit %d, %q; want 2 naming --kind", code, stderr)
		}
	})
	t.Run("no token", func(t *testing.T) {
		t.Setenv("REGMO_TOKEN", "")
		if _, stderr, code := cli(t, "export", "--server", ts.URL); code != 1 || !strings.Contains(stderr, "REGMO_TOKEN") {
			t.Errorf("export without a token: exit %d, %q", code, stderr)
		}
	})
}

// The command line refuses what the API refuses: a token beyond 366 days, a binding with an
// empty Ressort; and deactivating a user revokes their tokens for good.
func TestAccessCommands(t *testing.T) {
	if os.Getenv(testdb.EnvURL) == "" {
		t.Skip(testdb.EnvURL + " not set")
	}
	dsn := testdb.DSN(t)
	t.Setenv("DATABASE_URL", dsn)
	if _, stderr, code := cli(t, "user", "add", "lea", "--role", "ozg-koordination"); code != 0 {
		t.Fatalf("user add: exit %d: %s", code, stderr)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"ttl of 367 days", []string{"token", "issue", "lea", "--ttl", "8808h"}, 1, "ttl"},
		{"ttl of 366 days", []string{"token", "issue", "lea", "--ttl", "8784h"}, 0, ""},
		{"empty Ressort", []string{"user", "grant", "lea", "--role", "ressortverantwortliche", "--ressort", ""}, 1, "--ressort"},
		{"deactivate", []string{"user", "deactivate", "lea"}, 0, ""},
		{"activate again", []string{"user", "add", "lea", "--role", "ozg-koordination"}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := cli(t, tt.args...)
			if code != tt.wantCode || !strings.Contains(stderr, tt.wantErr) {
				t.Errorf("got exit %d, stderr %q; want exit %d mentioning %q", code, stderr, tt.wantCode, tt.wantErr)
			}
		})
	}
	ctx := context.Background()
	db, sqlDB, err := store.OpenDB(ctx, store.DBConfig{URL: dsn, MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer sqlDB.Close()
	tokens, err := access.New(store.NewAccess(db)).Tokens(ctx, "lea")
	if err != nil {
		t.Fatal(err)
	}
	if len(tokens) != 1 || tokens[0].RevokedAt == nil {
		t.Errorf("tokens of lea = %+v, want the one token revoked after deactivation", tokens)
	}
}
