package api_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bremen/regmo/api"
	"github.com/bremen/regmo/migrations/testdb"
)

// TestAbandonedRequestIs499: a request whose client has gone (its context cancelled) is
// logged and counted as 499, not as a 500 with "context canceled", so that alerts on 5xx
// mean a fault of the server (issue 12, finding 8).
func TestAbandonedRequestIs499(t *testing.T) {
	dsn := testdb.DSN(t)
	var logs bytes.Buffer
	metrics := api.NewMetrics()
	srv := startServer(t, api.Config{DB: testdb.App(t, dsn), Metrics: metrics, CallerTTL: -1,
		Log: slog.New(slog.NewJSONHandler(&logs, nil))})
	token := adminToken(t, testdb.Open(t, dsn), time.Now)
	for _, path := range []string{"/v1/registers", "/v1/reports/readiness"} {
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // the client is gone before the service reads the database
		req := httptest.NewRequest(http.MethodGet, path, nil).WithContext(ctx)
		req.Header.Set("Authorization", "Bearer "+token)
		srv.ServeHTTP(httptest.NewRecorder(), req)
	}
	if got := logs.String(); strings.Contains(got, `"status":500`) || strings.Contains(got, "request failed") {
		t.Errorf("an abandoned request was logged as a server error:\n%s", got)
	}
	if got := strings.Count(logs.String(), `"status":499`); got != 2 {
		t.Errorf("log has %d lines with status 499, want 2:\n%s", got, logs.String())
	}
	samples, text := scrape(t, metrics)
	for name, v := range samples {
		if strings.HasPrefix(name, "regmo_http_requests_total") && strings.Contains(name, `status="5`) && v > 0 {
			t.Errorf("%s = %v, want no 5xx", name, v)
		}
	}
	if !strings.Contains(text, `status="499"`) {
		t.Errorf("metrics count no 499:\n%s", text)
	}
}
