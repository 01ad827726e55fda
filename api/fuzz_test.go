package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/bremen/regmo/api"
	"github.com/bremen/regmo/migrations/testdb"
)

// FuzzEntryBody sends arbitrary bytes as the body of PUT and of PATCH (merge patch) on a
// register and on an Onlinedienst, through the real router and database. No input may
// produce a 5xx (a panic becomes one), every error is a problem that matches openapi.yaml,
// and only a syntactically valid JSON body can be accepted. The seed corpus is in
// testdata/fuzz/FuzzEntryBody; `make test` runs it, .ci/run fuzzes for 10 s.
func FuzzEntryBody(f *testing.F) {
	if os.Getenv(testdb.EnvURL) == "" {
		// The seeds need PostgreSQL; `make test` and .ci/run provide it.
		f.Skipf("%s is not set: run with `make test`", testdb.EnvURL)
	}
	fs := newFuzzServer(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, kind := range []string{"registers", "onlinedienste"} {
			put := "/v1/ressorts/SF/" + kind + "/fuzz-put"
			rec := fs.send(t, http.MethodPut, put, "application/json", body)
			fs.check(t, http.MethodPut, put, body, rec, http.StatusOK, http.StatusCreated)

			// The patched entry starts from the same content in every run, so that a
			// finding does not depend on what earlier inputs left behind.
			patch := "/v1/ressorts/SF/" + kind + "/fuzz-patch"
			if rec := fs.send(t, http.MethodPut, patch, "application/json", []byte(fs.base[kind])); rec.Code >= 300 {
				t.Fatalf("reset %s: status %d; body %s", patch, rec.Code, rec.Body)
			}
			rec = fs.send(t, http.MethodPatch, patch, "application/merge-patch+json", body)
			fs.check(t, http.MethodPatch, patch, body, rec, http.StatusOK)
		}
	})
}

// fuzzServer is newTestServer for a fuzz target: one database for all inputs of a process.
type fuzzServer struct {
	srv   http.Handler
	token string
	// base is the content each patched entry is reset to before a run.
	base map[string]string
}

func newFuzzServer(f *testing.F) *fuzzServer {
	f.Helper()
	dsn := testdb.DSN(f)
	db := testdb.Open(f, dsn)
	srv := startServer(f, api.Config{DB: testdb.App(f, dsn), Now: fixedNow})
	token := adminToken(f, db, fixedNow)
	fs := &fuzzServer{srv: srv, token: token, base: map[string]string{
		"registers": `{"name":"Gewerberegister","idnrg_anlage_nr":20,"contact":"gewerbe@bremen.de",
			"readiness":{"idnr":{"stage":"planned","target_date":"2027-06-30"},"dsc":{"stage":"not_applicable","note":"keine Personendaten"}}}`,
		"onlinedienste": `{"name":"Gewerbe anmelden","leika_keys":["99050012104000"],"url":"https://www.service.bremen.de/",
			"nachweise_from":["SIS/melderegister"],"readiness":{"noots":{"stage":"testing"}}}`,
	}}
	// Onlinedienste may name this register in nachweise_from.
	req := httptest.NewRequest(http.MethodPut, "/v1/ressorts/SIS/registers/melderegister", strings.NewReader(melderegister))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	if rec.Code != http.StatusCreated {
		f.Fatalf("seed SIS/melderegister: status %d; body %s", rec.Code, rec.Body)
	}
	return fs
}

func (fs *fuzzServer) send(t *testing.T, method, path, contentType string, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	return fs.serve(req, body)
}

// serve sends a request, again after a pause while it is answered 503: fuzzing loads the
// machine so that the database watch may find PostgreSQL slow to answer, which says nothing
// about the input. An input that itself leads to 503 still fails, as it keeps doing so.
func (fs *fuzzServer) serve(req *http.Request, body []byte) *httptest.ResponseRecorder {
	req.Header.Set("Authorization", "Bearer "+fs.token)
	for attempt := 0; ; attempt++ {
		if body != nil {
			req.Body = io.NopCloser(bytes.NewReader(body))
		}
		rec := httptest.NewRecorder()
		fs.srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusServiceUnavailable || attempt == 2 {
			return rec
		}
		time.Sleep(3 * time.Second)
	}
}

// check asserts what holds for every body: no 5xx, a problem that matches the contract for
// every 4xx, an accepted body is JSON, and the status is one the operation can give.
func (fs *fuzzServer) check(t *testing.T, method, path string, body []byte, rec *httptest.ResponseRecorder, success ...int) {
	t.Helper()
	if rec.Code >= 500 {
		t.Fatalf("%s %s with body %q: status %d, want below 500; body %s", method, path, body, rec.Code, rec.Body)
	}
	checkResponse(t, request{method: method, path: path, body: string(body)}, rec)
	ok := false
	for _, s := range success {
		ok = ok || rec.Code == s
	}
	switch {
	case ok:
		if !json.Valid(body) {
			t.Fatalf("%s %s accepted a body that is not JSON (%q): status %d", method, path, body, rec.Code)
		}
	case rec.Code == http.StatusBadRequest, rec.Code == http.StatusRequestEntityTooLarge, rec.Code == http.StatusUnprocessableEntity:
	default:
		t.Fatalf("%s %s with body %q: status %d, want one of %v, 400, 413 or 422; body %s", method, path, body, rec.Code, success, rec.Body)
	}
}

// FuzzQuery sends arbitrary query strings to the listings, the audit trail and the reports
// (read-only operations), through the real router and database: no 5xx, every error a
// problem that matches openapi.yaml. Parameters reach SQL, so text PostgreSQL refuses must
// be caught before. The seed corpus is in testdata/fuzz/FuzzQuery.
func FuzzQuery(f *testing.F) {
	if os.Getenv(testdb.EnvURL) == "" {
		f.Skipf("%s is not set: run with `make test`", testdb.EnvURL)
	}
	fs := newFuzzServer(f)
	f.Fuzz(func(t *testing.T, query string) {
		for _, path := range []string{
			"/v1/registers",
			"/v1/ressorts/SF/onlinedienste",
			"/v1/ressorts/SIS/registers/melderegister/history",
			"/v1/audit",
			"/v1/reports/readiness",
			"/v1/reports/progress",
		} {
			req := httptest.NewRequest(http.MethodGet, path, nil)
			req.URL.RawQuery = query
			rec := fs.serve(req, nil)
			if rec.Code >= 500 {
				t.Fatalf("GET %s?%s: status %d, want below 500; body %s", path, query, rec.Code, rec.Body)
			}
			// The query is left out: it need not survive a request line, and the contract
			// check needs only the operation.
			checkResponse(t, request{method: http.MethodGet, path: path}, rec)
			if rec.Code != http.StatusOK && rec.Code != http.StatusBadRequest && rec.Code != http.StatusUnprocessableEntity {
				t.Fatalf("GET %s?%s: status %d, want 200, 400 or 422; body %s", path, query, rec.Code, rec.Body)
			}
		}
	})
}
