package api_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bremen/regmo/api"
	"github.com/bremen/regmo/migrations/testdb"
)

// TestWebRequestsAreLogged: the pages of the web interface bypass the API's middleware, and
// were served without a log line or a request id. Now each gets both, and the log never
// holds a query string (a login link's secret travels in it).
func TestWebRequestsAreLogged(t *testing.T) {
	var logs syncBuffer
	srv := startServer(t, api.Config{DB: testdb.App(t, testdb.DSN(t)), Log: slog.New(slog.NewJSONHandler(&logs, nil))})
	tests := []struct {
		path, route string
	}{
		{"/", `"route":"(web) /"`},
		{"/anmelden/link?t=regmo-login_geheim", `"route":"(web) /anmelden/link"`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tt.path, nil))
			if rec.Header().Get("X-Request-Id") == "" {
				t.Errorf("GET %s: no X-Request-Id", tt.path)
			}
			if got := logs.String(); !strings.Contains(got, tt.route) {
				t.Errorf("GET %s: got log %s, want a line with %s", tt.path, got, tt.route)
			}
		})
	}
	if strings.Contains(logs.String(), "geheim") {
		t.Errorf("the log holds a login link's secret:\n%s", logs.String())
	}
}
