package api_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"gorm.io/gorm"

	"github.com/bremen/regmo/api"
	"github.com/bremen/regmo/api/oapi"
	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/access"
	"github.com/bremen/regmo/domain/store"
	"github.com/bremen/regmo/migrations/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// today in these tests is 15 March 2026 (Europe/Berlin).
func fixedNow() time.Time { return time.Date(2026, 3, 15, 11, 0, 0, 0, time.UTC) }

// specRouter finds the operation of a request in openapi.yaml, to check responses.
var specRouter = func() routers.Router {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(oapi.Spec)
	if err != nil {
		panic(err)
	}
	doc.Servers = nil
	r, err := gorillamux.NewRouter(doc)
	if err != nil {
		panic(err)
	}
	return r
}()

type testServer struct {
	t      *testing.T
	srv    http.Handler
	db     *gorm.DB
	access *access.Service
	// admin is the token requests carry unless they name another.
	admin string
}

// startServer builds the server with cfg (logs discarded unless cfg has a logger) and
// closes it when the test ends.
func startServer(tb testing.TB, cfg api.Config) *api.Server {
	tb.Helper()
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	srv, err := api.New(cfg)
	if err != nil {
		tb.Fatalf("api.New: %v", err)
	}
	tb.Cleanup(srv.Close)
	return srv
}

// adminToken creates the user admin with the admin role on db and returns a token of theirs,
// valid for a year from now().
func adminToken(tb testing.TB, db *gorm.DB, now func() time.Time) string {
	tb.Helper()
	ctx := context.Background()
	acc := access.New(store.NewAccess(db)).WithClock(now)
	if _, _, err := acc.PutUser(ctx, "test", domain.WriteAll(), domain.User{Name: "admin", Active: true, Bindings: []domain.Binding{{Role: domain.RoleAdmin}}}); err != nil {
		tb.Fatalf("create admin: %v", err)
	}
	token, _, err := acc.IssueToken(ctx, "test", domain.WriteAll(), "admin", "test", 365*24*time.Hour)
	if err != nil {
		tb.Fatalf("token for admin: %v", err)
	}
	return token
}

// openPool opens the database at dsn through domain.OpenDB, as regmo serve does, with a
// pool of maxConns, closed when the test ends.
func openPool(tb testing.TB, dsn string, maxConns int) (*gorm.DB, *sql.DB) {
	tb.Helper()
	db, sqlDB, err := store.OpenDB(context.Background(), store.DBConfig{URL: dsn, MaxConns: maxConns,
		StatementTimeout: 15 * time.Second, Role: store.AppRole})
	if err != nil {
		tb.Fatalf("open database: %v", err)
	}
	tb.Cleanup(func() { sqlDB.Close() })
	return db, sqlDB
}

// newTestServer runs the real router on a fresh, migrated database.
func newTestServer(t *testing.T) *testServer { return newTestServerAt(t, fixedNow) }

// newTestServerAt runs the server with the given clock.
func newTestServerAt(t *testing.T, now func() time.Time) *testServer {
	t.Helper()
	dsn := testdb.DSN(t)
	db := testdb.Open(t, dsn)
	srv := startServer(t, api.Config{DB: testdb.App(t, dsn), Now: now})
	ts := &testServer{t: t, srv: srv, db: db, access: access.New(store.NewAccess(db)).WithClock(now)}
	ts.admin = ts.user("admin", domain.Binding{Role: domain.RoleAdmin})
	return ts
}

// user creates a user with the bindings and returns a fresh token of theirs.
func (ts *testServer) user(name string, bindings ...domain.Binding) string {
	ts.t.Helper()
	ctx := context.Background()
	if _, _, err := ts.access.PutUser(ctx, "test", domain.WriteAll(), domain.User{Name: name, Active: true, Bindings: bindings}); err != nil {
		ts.t.Fatalf("create user %s: %v", name, err)
	}
	token, _, err := ts.access.IssueToken(ctx, "test", domain.WriteAll(), name, "test", 365*24*time.Hour)
	if err != nil {
		ts.t.Fatalf("token for %s: %v", name, err)
	}
	return token
}

// request is one HTTP exchange of a test.
type request struct {
	method  string
	path    string
	body    string
	headers map[string]string
	// token authenticates the request; empty means the admin's, "-" means none.
	token string
	// remote is the client address; empty means httptest's default.
	remote string
}

// do sends the request through the router and checks the response against openapi.yaml.
func (ts *testServer) do(r request) *httptest.ResponseRecorder {
	ts.t.Helper()
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	req := httptest.NewRequest(r.method, r.path, body)
	if r.body != "" {
		req.Header.Set("Content-Type", "application/json")
		if r.method == http.MethodPatch {
			req.Header.Set("Content-Type", "application/merge-patch+json")
		}
	}
	if r.remote != "" {
		req.RemoteAddr = r.remote
	}
	switch r.token {
	case "":
		req.Header.Set("Authorization", "Bearer "+ts.admin)
	case "-":
	default:
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	for k, v := range r.headers {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	ts.srv.ServeHTTP(rec, req)
	checkResponse(ts.t, r, rec)
	return rec
}

// checkResponse validates a response against the contract: its status must be declared (or
// covered by default), its body must match the schema, and every error is problem+json.
func checkResponse(t *testing.T, r request, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code >= 400 {
		checkProblem(t, r, rec)
	}
	req := httptest.NewRequest(r.method, r.path, nil)
	route, params, err := specRouter.FindRoute(req)
	if err != nil {
		if rec.Code != http.StatusNotFound && rec.Code != http.StatusMethodNotAllowed && rec.Code != http.StatusBadRequest {
			t.Errorf("%s %s: no operation in openapi.yaml, but status %d", r.method, r.path, rec.Code)
		}
		return
	}
	// Every status an operation answers is listed on it (default only describes the shape).
	if listed := route.Operation.Responses.Value(strconv.Itoa(rec.Code)); listed == nil &&
		route.Operation.Responses.Value(fmt.Sprintf("%dXX", rec.Code/100)) == nil {
		t.Errorf("%s %s: status %d is not listed on %s in openapi.yaml", r.method, r.path, rec.Code, route.Operation.OperationID)
	}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		},
		Status:  rec.Code,
		Header:  rec.Header(),
		Body:    io.NopCloser(strings.NewReader(rec.Body.String())),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), input); err != nil {
		t.Errorf("%s %s: response %d does not match openapi.yaml: %v\nbody: %s", r.method, r.path, rec.Code, err, rec.Body)
	}
}

func checkProblem(t *testing.T, r request, rec *httptest.ResponseRecorder) {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("%s %s: error %d has Content-Type %q, want application/problem+json", r.method, r.path, rec.Code, ct)
		return
	}
	var p struct {
		Type   string `json:"type"`
		Title  string `json:"title"`
		Status int    `json:"status"`
		Detail string `json:"detail"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Errorf("%s %s: problem body is not JSON: %v", r.method, r.path, err)
		return
	}
	if p.Type == "" || p.Title == "" || p.Detail == "" || p.Status != rec.Code {
		t.Errorf("%s %s: incomplete problem %+v for status %d", r.method, r.path, p, rec.Code)
	}
}

// decode reads a JSON response body.
func decode[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %T: %v; body %s", v, err, rec.Body)
	}
	return v
}

// problemFields returns the fields named in a problem's errors.
func problemFields(t *testing.T, rec *httptest.ResponseRecorder) []string {
	t.Helper()
	p := decode[oapi.Problem](t, rec)
	if p.Errors == nil {
		return nil
	}
	var out []string
	for _, e := range *p.Errors {
		out = append(out, e.Field)
	}
	return out
}
