package api_test

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bremen/regmo/api"
	"github.com/bremen/regmo/migrations/testdb"
)

// scrape reads the metrics in the text format into "name{labels}" → value.
func scrape(t *testing.T, m *api.Metrics) (map[string]float64, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics = %d", rec.Code)
	}
	text := rec.Body.String()
	samples := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		samples[line[:i]] = v
	}
	return samples, text
}

func TestMetrics(t *testing.T) {
	dsn := testdb.DSN(t)
	db := testdb.Open(t, dsn)
	metrics := api.NewMetrics()
	srv := startServer(t, api.Config{DB: testdb.App(t, dsn), Metrics: metrics})
	token := adminToken(t, db, time.Now)
	send := func(method, path, body string) int {
		t.Helper()
		var r io.Reader
		if body != "" {
			r = strings.NewReader(body)
		}
		req := httptest.NewRequest(method, path, r)
		req.Header.Set("Authorization", "Bearer "+token)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		return rec.Code
	}

	if got := send(http.MethodPut, "/v1/ressorts/SF/registers/grundsteuer", `{"name": "Grundsteuerdatenbank"}`); got != http.StatusCreated {
		t.Fatalf("PUT = %d, want 201", got)
	}
	send(http.MethodGet, "/v1/ressorts/SF/registers/grundsteuer", "")
	send(http.MethodGet, "/v1/ressorts/SF/registers/missing-one", "")
	send(http.MethodGet, "/v1/ressorts/SF/registers/missing-two", "")
	send(http.MethodGet, "/v1/no-such/path-x7q", "")
	send("BREW", "/v1/ressorts/SF/registers/grundsteuer", "")
	// The public API does not serve the metrics.
	if got := send(http.MethodGet, "/metrics", ""); got != http.StatusNotFound {
		t.Errorf("GET /metrics on the API = %d, want 404", got)
	}

	samples, text := scrape(t, metrics)
	const entry = `route="/v1/ressorts/{code}/registers/{key}"`
	for _, tt := range []struct {
		sample string
		want   float64
	}{
		{`regmo_http_requests_total{method="PUT",` + entry + `,status="201"}`, 1},
		{`regmo_http_requests_total{method="GET",` + entry + `,status="200"}`, 1},
		// Two different missing keys are one series: the label is the template.
		{`regmo_http_requests_total{method="GET",` + entry + `,status="404"}`, 2},
		{`regmo_http_requests_total{method="GET",route="(unmatched)",status="404"}`, 2},
		{`regmo_http_requests_total{method="OTHER",route="(unmatched)",status="405"}`, 1},
		{`regmo_http_request_duration_seconds_count{method="GET",` + entry + `}`, 3},
		{`regmo_http_requests_in_flight`, 0},
		{`go_sql_max_open_connections{db_name="regmo"}`, -1},
		{`go_sql_open_connections{db_name="regmo"}`, -1},
		{`go_sql_in_use_connections{db_name="regmo"}`, 0},
		{`go_sql_idle_connections{db_name="regmo"}`, -1},
		{`go_sql_wait_count_total{db_name="regmo"}`, -1},
		{`go_sql_wait_duration_seconds_total{db_name="regmo"}`, -1},
		{`go_goroutines`, -1},
		{`regmo_database_answering`, 1},
		{`regmo_caller_cache_hits_total`, -1},
		{`regmo_caller_cache_misses_total`, -1},
	} {
		got, ok := samples[tt.sample]
		switch {
		case !ok:
			t.Errorf("metrics lack %s", tt.sample)
		case tt.want >= 0 && got != tt.want:
			t.Errorf("%s = %v, want %v", tt.sample, got, tt.want)
		}
	}
	// Whether the cache had subscribed yet is up to timing; that every authenticated request
	// asked it is not. The unmatched path and the unknown method end before authentication.
	if got := samples[`regmo_caller_cache_hits_total`] + samples[`regmo_caller_cache_misses_total`]; got != 4 {
		t.Errorf("caller cache hits + misses: got %v, want 4 (one per authenticated request)", got)
	}
	for _, raw := range []string{"grundsteuer", "missing-one", "path-x7q", "BREW"} {
		if strings.Contains(text, raw) {
			t.Errorf("metrics contain the raw request text %q", raw)
		}
	}
}

// TestNoMetricsByDefault: without Config.Metrics the server runs as before.
func TestNoMetricsByDefault(t *testing.T) {
	ts := newTestServer(t)
	if rec := ts.do(request{method: http.MethodGet, path: "/metrics", token: "-"}); rec.Code != http.StatusNotFound {
		t.Errorf("GET /metrics = %d, want 404", rec.Code)
	}
}
