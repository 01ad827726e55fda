package api_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/bremen/regmo/domain"
)

// heldImport is an import whose body the test writes: the request runs until it is closed.
type heldImport struct {
	body *io.PipeWriter
	rec  *httptest.ResponseRecorder
	done chan struct{}
}

// holdImport starts a CSV import by the token's user and returns once the server reads its
// body, that is, once the request holds its place.
func (ts *testServer) holdImport(token string) *heldImport {
	ts.t.Helper()
	r, w := io.Pipe()
	req := httptest.NewRequest(http.MethodPost, "/v1/import?kind=registers&dry_run=true", r)
	req.Header.Set("Content-Type", "text/csv")
	req.Header.Set("Authorization", "Bearer "+token)
	h := &heldImport{body: w, rec: httptest.NewRecorder(), done: make(chan struct{})}
	go func() {
		defer close(h.done)
		ts.srv.ServeHTTP(h.rec, req)
		r.Close() // a refused request does not read: let the writer go
	}()
	// A pipe write returns when the reader took it: the handler is reading the body.
	if _, err := io.WriteString(w, "ressort,key,name\r\n"); err != nil {
		ts.t.Fatalf("write body: %v", err)
	}
	return h
}

func (h *heldImport) finish(rows string) *httptest.ResponseRecorder {
	io.WriteString(h.body, rows)
	h.body.Close()
	<-h.done
	return h.rec
}

func TestHeavyRequestsPerUser(t *testing.T) {
	ts := newTestServer(t)
	sf := ts.user("sf", domain.Binding{Role: domain.RoleRessortverantwortliche, Ressort: "SF"})
	var held []*heldImport
	for range 4 {
		held = append(held, ts.holdImport(ts.admin))
	}

	heavy := []request{
		{method: "POST", path: "/v1/import?kind=registers", body: "ressort,key,name\r\n", headers: map[string]string{"Content-Type": "text/csv"}},
		{method: "GET", path: "/v1/export"},
		{method: "GET", path: "/v1/reports/readiness"},
		{method: "GET", path: "/v1/reports/overdue?as_of=2026-03-01"},
		{method: "GET", path: "/v1/registers?as_of=2026-03-01"},
	}
	for _, r := range heavy {
		t.Run("fifth: "+r.method+" "+r.path, func(t *testing.T) {
			rec := ts.do(r)
			if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" {
				t.Errorf("got %d (Retry-After %q), want 429 with Retry-After; body %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
			}
		})
	}
	light := []request{
		{method: "GET", path: "/v1/registers"},
		{method: "GET", path: "/v1/me"},
	}
	for _, r := range light {
		t.Run("light: "+r.path, func(t *testing.T) {
			if rec := ts.do(r); rec.Code != http.StatusOK {
				t.Errorf("got %d, want 200: a request that is not heavy is not counted; body %s", rec.Code, rec.Body)
			}
		})
	}
	t.Run("another user", func(t *testing.T) {
		rec := ts.do(request{method: "POST", path: "/v1/import?kind=registers", token: sf,
			body: "ressort,key,name\r\nSF,a,A\r\n", headers: map[string]string{"Content-Type": "text/csv"}})
		if rec.Code != http.StatusOK {
			t.Errorf("got %d, want 200; body %s", rec.Code, rec.Body)
		}
	})

	var wg sync.WaitGroup
	codes := make([]int, len(held))
	for i, h := range held {
		wg.Go(func() { codes[i] = h.finish("SF,a,A\r\n").Code })
	}
	wg.Wait()
	for i, code := range codes {
		if code != http.StatusOK {
			t.Errorf("held import %d: got %d, want 200; body %s", i, code, held[i].rec.Body)
		}
	}
	t.Run("after the four finished", func(t *testing.T) {
		if rec := ts.do(heavy[2]); rec.Code != http.StatusOK {
			t.Errorf("got %d, want 200; body %s", rec.Code, rec.Body)
		}
	})
}
