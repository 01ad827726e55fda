package api_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bremen/regmo/api"
	"github.com/bremen/regmo/migrations/testdb"
)

// syncBuffer is a log destination that the server and the test may use at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestExportFailingMidwayAborts: an export whose database connection breaks after the answer
// began was logged as 200, and the client got a truncated file that looked complete (issue
// 12, finding 7). Now the connection is aborted, so the client sees a broken transfer, and the
// failure is logged as a 500.
func TestExportFailingMidwayAborts(t *testing.T) {
	dsn := testdb.DSN(t)
	owner := testdb.Open(t, dsn)
	if err := owner.Exec(`INSERT INTO entries (kind, ressort, key, name, description, created_at, updated_at)
		SELECT 'register', 'SF', 'r' || lpad(i::text, 6, '0'), 'Register ' || i, repeat('Beschreibung ', 30), now(), now()
		FROM generate_series(1, 30000) i`).Error; err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	srv := startServer(t, api.Config{DB: testdb.App(t, dsn), Log: slog.New(slog.NewJSONHandler(&logs, nil))})
	token := adminToken(t, owner, time.Now)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)

	req, _ := http.NewRequest(http.MethodGet, hs.URL+"/v1/export?format=csv&kind=registers", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("export: status %d, want 200", resp.StatusCode)
	}
	if _, err := io.CopyN(io.Discard, resp.Body, 64<<10); err != nil {
		t.Fatalf("first 64 KiB: %v", err)
	}
	// The export is now waiting for the client; its database connection breaks.
	var ended int
	if err := owner.Raw(`SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE usename = current_user AND pid <> pg_backend_pid() AND query LIKE '%FROM "entries"%' AND state <> 'idle') t`).Scan(&ended).Error; err != nil {
		t.Fatal(err)
	}
	if ended != 1 {
		t.Fatalf("terminated %d backends, want the export's one", ended)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	if err == nil {
		t.Errorf("the rest of the export read without error: a truncated file that looks complete")
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), `"operation":"exportInventory"`) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	got := logs.String()
	if !strings.Contains(got, "the connection is aborted") || !strings.Contains(got, `"operation":"exportInventory","status":500`) {
		t.Errorf("the failed export was not logged as a failure:\n%s", got)
	}
}
