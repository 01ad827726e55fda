package api

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/bremen/regmo/api/oapi"
)

// guardServer is a server without a database: enough for the public GET /healthz.
func guardServer(t *testing.T, ct *contract, chain func(s *Server) []echo.MiddlewareFunc) (*Server, error) {
	t.Helper()
	s := &Server{echo: echo.New(), log: slog.New(slog.NewTextHandler(io.Discard, nil)), contract: ct}
	s.echo.HTTPErrorHandler = s.errorHandler
	s.echo.Use(chain(s)...)
	return s, s.register(oapi.NewStrictHandler(&handler{}, nil))
}

// TestHandlerNeedsEveryCheck: a handler runs only for a request the route named and every
// check passed; a request path that lost a check refuses everything instead of skipping it.
func TestHandlerNeedsEveryCheck(t *testing.T) {
	ct, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		chain   func(s *Server) []echo.MiddlewareFunc
		want    int
		entered int
	}{
		{"every check", func(s *Server) []echo.MiddlewareFunc {
			return []echo.MiddlewareFunc{ct.matchRoute, s.authenticate, ct.validateParams, s.authorize, ct.validateBody}
		}, http.StatusOK, 1},
		{"no route named", func(s *Server) []echo.MiddlewareFunc { return nil }, http.StatusNotFound, 0},
		{"checks without the route", func(s *Server) []echo.MiddlewareFunc {
			return []echo.MiddlewareFunc{s.authenticate, ct.validateParams, s.authorize, ct.validateBody}
		}, http.StatusNotFound, 0},
		{"authentication left out", func(s *Server) []echo.MiddlewareFunc {
			return []echo.MiddlewareFunc{ct.matchRoute, ct.validateParams, s.authorize, ct.validateBody}
		}, http.StatusInternalServerError, 0},
		{"body check left out", func(s *Server) []echo.MiddlewareFunc {
			return []echo.MiddlewareFunc{ct.matchRoute, s.authenticate, ct.validateParams, s.authorize}
		}, http.StatusInternalServerError, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := guardServer(t, ct, tt.chain)
			if err != nil {
				t.Fatalf("register: %v", err)
			}
			entered := 0
			s.handlerHook = func(string) { entered++ }
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
			if rec.Code != tt.want {
				t.Errorf("GET /healthz: got status %d, want %d; body %s", rec.Code, tt.want, rec.Body)
			}
			if entered != tt.entered {
				t.Errorf("got %d handler entries, want %d", entered, tt.entered)
			}
		})
	}
}

// TestRouteTableMatchesRoutes: the server does not start when a generated route has no
// operation in the table.
func TestRouteTableMatchesRoutes(t *testing.T) {
	ct, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	if len(ct.routes) == 0 {
		t.Fatal("got an empty route table")
	}
	delete(ct.routes, routeID{method: http.MethodGet, path: "/v1/ressorts/:code/registers/:key"})
	_, err = guardServer(t, ct, func(*Server) []echo.MiddlewareFunc { return nil })
	if err == nil || !strings.Contains(err.Error(), "GET /v1/ressorts/:code/registers/:key") {
		t.Errorf("register: got error %v, want one naming GET /v1/ressorts/:code/registers/:key", err)
	}
}

// TestFits: Echo's template names a real match only when the path has its shape.
func TestFits(t *testing.T) {
	tests := []struct {
		template, path string
		want           bool
	}{
		{"/v1/ressorts/:code/registers/:key", "/v1/ressorts/SIS/registers/melde", true},
		{"/v1/ressorts/:code/registers/:key", "/v1/ressorts/SIS/registers/melde%2Fx", true},
		{"/v1/ressorts/:code/registers/:key", "/v1/ressorts/SIS/registers/", true},
		{"/v1/ressorts/:code/registers/:key", "/v1/ressorts/SIS/registers", false},
		{"/v1/reports/readiness", "/v1/reports/", false},
		{"/v1/reports/readiness", "/v1/reports/readiness", true},
		{"/v1/reports/readiness", "/v1/reports/readiness/", false},
	}
	for _, tt := range tests {
		if got := fits(tt.template, tt.path); got != tt.want {
			t.Errorf("fits(%q, %q): got %v, want %v", tt.template, tt.path, got, tt.want)
		}
	}
}
