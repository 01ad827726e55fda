package api_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/bremen/regmo/api/oapi"
)

// importAllocs sends one import and returns the answer and the bytes the process allocated
// while serving it (runtime.MemStats.TotalAlloc: an upper bound of what it held at once).
func importAllocs(ts *testServer, contentType, query string, body []byte) (*httptest.ResponseRecorder, uint64) {
	ts.t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/v1/import?"+query, strings.NewReader(string(body)))
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+ts.admin)
	rec := httptest.NewRecorder()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	ts.srv.ServeHTTP(rec, req)
	runtime.ReadMemStats(&after)
	return rec, after.TotalAlloc - before.TotalAlloc
}

// The attack bodies of issue 11: each small fault of a body used to cost an error or a
// string, so a dry run of a few MiB made the server allocate hundreds of MiB and answer tens
// of MB. Memory now stays within a small multiple of the body and the answer small.
func TestImportAttackBodiesStayBounded(t *testing.T) {
	ts := newTestServer(t)
	unknownColumns := func(size int) []byte { // "x,x,x,...": one unknown column per two bytes
		return []byte(strings.Repeat("x,", size/2) + "x\r\n")
	}
	listCell := func(size int) []byte {
		return []byte("ressort,key,name,leika_keys\r\nSF,a,A," + strings.Repeat("|", size) + "\r\n")
	}
	jsonList := func(size int) []byte {
		return []byte(`{"onlinedienste":[{"ressort":"SF","key":"a","name":"A","leika_keys":[` +
			strings.Repeat(`"",`, size/3) + `""]}]}`)
	}
	tests := []struct {
		name        string
		contentType string
		query       string
		body        []byte
		// maxAlloc bounds the bytes allocated; maxAnswer the answer's size.
		maxAlloc, maxAnswer int
	}{
		{"2 MiB header of unknown columns", "text/csv", "kind=registers&dry_run=true", unknownColumns(2 << 20), 4 << 20, 4 << 10},
		{"16 MiB header of unknown columns", "text/csv", "kind=registers&dry_run=true", unknownColumns(16 << 20), 4 << 20, 4 << 10},
		{"list cell of 2 MiB of |", "text/csv", "kind=onlinedienste&dry_run=true", listCell(2 << 20), 4*(2<<20) + 4<<20, 4 << 10},
		{"list cell of 16 MiB of |", "text/csv", "kind=onlinedienste&dry_run=true", listCell(16 << 20), 4*(16<<20) + 4<<20, 4 << 10},
		// encoding/json's decoder holds an item whole, growing its buffer as it reads it.
		{"JSON list of 16 MiB of empty strings", "application/json", "dry_run=true", jsonList(16 << 20), 6*(16<<20) + 4<<20, 4 << 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, alloc := importAllocs(ts, tt.contentType, tt.query, tt.body)
			t.Logf("body %d bytes: allocated %d bytes (%.1fx), answer %d bytes", len(tt.body), alloc,
				float64(alloc)/float64(len(tt.body)), rec.Body.Len())
			if rec.Code != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422; body %.300s", rec.Code, rec.Body)
			}
			if alloc > uint64(tt.maxAlloc) {
				t.Errorf("allocated %d bytes for a body of %d, want at most %d", alloc, len(tt.body), tt.maxAlloc)
			}
			if rec.Body.Len() > tt.maxAnswer {
				t.Errorf("answer of %d bytes, want at most %d", rec.Body.Len(), tt.maxAnswer)
			}
		})
	}
}

// An import lists at most 1,000 errors, the first in input order even when they are found
// in different passes (field rules while reading, missing Ressorts against the database),
// and counts all of them in error_count.
func TestImportErrorsAreCappedAndCounted(t *testing.T) {
	ts := newTestServer(t)
	var b strings.Builder
	b.WriteString("ressort,key,name,idnr_stage\r\n")
	const rows = 1200
	for i := range rows {
		stage := "planned"
		if i%2 == 0 {
			stage = "fertig"
		}
		// Ressort XX does not exist: only the database pass finds that.
		fmt.Fprintf(&b, "XX,r%04d,Register %d,%s\r\n", i, i, stage)
	}
	rec := ts.do(csvRequest("kind=registers&dry_run=true", b.String()))
	errs := importErrors(t, rec)
	p := decode[oapi.Problem](t, rec)
	if p.ErrorCount == nil || *p.ErrorCount != rows+rows/2 {
		t.Errorf("error_count = %v, want %d", p.ErrorCount, rows+rows/2)
	}
	if len(errs) != 1000 {
		t.Fatalf("got %d errors listed, want 1000", len(errs))
	}
	// Line 2 (row 0) has both errors, the field rule's first; line 3 only the Ressort's.
	var want []string
	for i := 0; len(want) < 1000; i++ {
		if i%2 == 0 {
			want = append(want, fmt.Sprintf("%d idnr_stage", i+2))
		}
		want = append(want, fmt.Sprintf("%d ressort", i+2))
	}
	for i, e := range errs {
		if got := fmt.Sprintf("%d %s", deref0(e.Line), e.Field); got != want[i] {
			t.Fatalf("error %d: got %s, want %s", i, got, want[i])
		}
	}
}
