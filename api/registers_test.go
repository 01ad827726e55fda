package api_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/bremen/regmo/api/oapi"
)

const melderegister = `{"name":"Melderegister","idnrg_anlage_nr":1,"contact":"meldewesen@buergeramt.bremen.de",
	"readiness":{"noots":{"stage":"planned","target_date":"2026-06-30"}}}`

// seedRegister creates SIS/melderegister at version 1.
func (ts *testServer) seedRegister() {
	ts.t.Helper()
	if rec := ts.do(request{method: "PUT", path: "/v1/ressorts/SIS/registers/melderegister", body: melderegister}); rec.Code != http.StatusCreated {
		ts.t.Fatalf("seed register: status %d, body %s", rec.Code, rec.Body)
	}
}

func TestPutRegister(t *testing.T) {
	ts := newTestServer(t)
	path := "/v1/ressorts/SIS/registers/melderegister"

	rec := ts.do(request{method: "PUT", path: path, body: melderegister})
	if rec.Code != http.StatusCreated {
		t.Fatalf("create: status %d, want 201; body %s", rec.Code, rec.Body)
	}
	if got := rec.Header().Get("ETag"); got != `"1"` {
		t.Errorf("create: ETag %s, want \"1\"", got)
	}
	reg := decode[oapi.Register](t, rec)
	if reg.Readiness.Idnr.Stage != oapi.NotStarted || reg.Readiness.Noots.Stage != oapi.Planned {
		t.Errorf("create: stages idnr %s noots %s, want not_started planned", reg.Readiness.Idnr.Stage, reg.Readiness.Noots.Stage)
	}
	if reg.Readiness.Noots.Overdue || reg.Readiness.Noots.Ready {
		t.Errorf("create: noots ready %v overdue %v, want false false", reg.Readiness.Noots.Ready, reg.Readiness.Noots.Overdue)
	}

	rec = ts.do(request{method: "PUT", path: path, body: melderegister})
	if rec.Code != http.StatusOK || rec.Header().Get("ETag") != `"1"` {
		t.Errorf("repeat: status %d ETag %s, want 200 \"1\"", rec.Code, rec.Header().Get("ETag"))
	}

	tests := []struct {
		name    string
		path    string
		ifMatch string
		body    string
		want    int
		wantTag string
	}{
		{"replaces with the current version", path, `"1"`, `{"name":"Melderegister Bremen"}`, 200, `"2"`},
		{"stale version", path, `"1"`, `{"name":"Melderegister"}`, 412, ""},
		{"weak tag never matches", path, `W/"2"`, `{"name":"Melderegister"}`, 412, ""},
		{"star matches an existing entry", path, `*`, `{"name":"Melderegister"}`, 200, `"3"`},
		{"star on a missing entry", "/v1/ressorts/SIS/registers/neu", `*`, `{"name":"Neu"}`, 412, ""},
		{"version on a missing entry", "/v1/ressorts/SIS/registers/neu", `"1"`, `{"name":"Neu"}`, 412, ""},
		{"malformed If-Match", path, `3`, `{"name":"Melderegister"}`, 400, ""},
		{"unknown Ressort", "/v1/ressorts/XX/registers/melderegister", "", `{"name":"Melderegister"}`, 404, ""},
		{"invalid Ressort code", "/v1/ressorts/sf/registers/melderegister", "", `{"name":"Melderegister"}`, 400, ""},
		{"invalid key", "/v1/ressorts/SIS/registers/Melde_Register", "", `{"name":"Melderegister"}`, 400, ""},
		{"key too long", "/v1/ressorts/SIS/registers/" + strings.Repeat("a", 65), "", `{"name":"Melderegister"}`, 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := map[string]string{}
			if tt.ifMatch != "" {
				h["If-Match"] = tt.ifMatch
			}
			rec := ts.do(request{method: "PUT", path: tt.path, body: tt.body, headers: h})
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.want, rec.Body)
			}
			if tt.wantTag != "" && rec.Header().Get("ETag") != tt.wantTag {
				t.Errorf("ETag %s, want %s", rec.Header().Get("ETag"), tt.wantTag)
			}
		})
	}
}

func TestPathParametersAreNamed(t *testing.T) {
	ts := newTestServer(t)
	tests := []struct {
		path, field string
	}{
		{"/v1/ressorts/s/registers/melderegister", "code"},
		{"/v1/ressorts/SIS/registers/-melde", "key"},
		{"/v1/ressorts/SIS/onlinedienste/ewa%20x", "key"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			rec := ts.do(request{method: "GET", path: tt.path})
			if rec.Code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400; body %s", rec.Code, rec.Body)
			}
			if got := problemFields(t, rec); !slices.Contains(got, tt.field) {
				t.Errorf("fields %v, want %s", got, tt.field)
			}
		})
	}
}

func TestGetRegister(t *testing.T) {
	ts := newTestServer(t)
	ts.seedRegister()
	tests := []struct {
		name string
		path string
		want int
	}{
		{"existing", "/v1/ressorts/SIS/registers/melderegister", 200},
		{"missing key", "/v1/ressorts/SIS/registers/passregister", 404},
		{"other Ressort", "/v1/ressorts/SF/registers/melderegister", 404},
		{"onlinedienst path for a register", "/v1/ressorts/SIS/onlinedienste/melderegister", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := ts.do(request{method: "GET", path: tt.path})
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.want, rec.Body)
			}
			if tt.want == 200 && rec.Header().Get("ETag") != `"1"` {
				t.Errorf("ETag %q, want \"1\"", rec.Header().Get("ETag"))
			}
		})
	}
}

func TestPatchRegister(t *testing.T) {
	tests := []struct {
		name        string
		ifMatch     string
		contentType string
		body        string
		want        int
		wantField   string
		check       func(t *testing.T, r oapi.Register)
	}{
		{name: "changes one stage", ifMatch: `"1"`, body: `{"readiness":{"noots":{"stage":"testing"}}}`, want: 200,
			check: func(t *testing.T, r oapi.Register) {
				if r.Readiness.Noots.Stage != oapi.Testing || r.Readiness.Noots.TargetDate == nil || *r.Readiness.Noots.TargetDate != "2026-06-30" {
					t.Errorf("noots = %+v, want testing with target date kept", r.Readiness.Noots)
				}
				if r.Contact != "meldewesen@buergeramt.bremen.de" || r.Version != 2 {
					t.Errorf("contact %q version %d, want unchanged contact and version 2", r.Contact, r.Version)
				}
			}},
		{name: "without If-Match", body: `{"description":"Bürgeramt"}`, want: 200},
		{name: "plain JSON content type", contentType: "application/json", body: `{"description":"x"}`, want: 200},
		{name: "null removes a value", body: `{"idnrg_anlage_nr":null,"contact":null}`, want: 200,
			check: func(t *testing.T, r oapi.Register) {
				if r.IdnrgAnlageNr != nil || r.Contact != "" {
					t.Errorf("anlage %v contact %q, want removed", r.IdnrgAnlageNr, r.Contact)
				}
			}},
		{name: "null dimension returns to not_started", body: `{"readiness":{"noots":null}}`, want: 200,
			check: func(t *testing.T, r oapi.Register) {
				if r.Readiness.Noots.Stage != oapi.NotStarted || r.Readiness.Noots.TargetDate != nil {
					t.Errorf("noots = %+v, want reset", r.Readiness.Noots)
				}
			}},
		{name: "no change keeps the version", body: `{"name":"Melderegister"}`, want: 200,
			check: func(t *testing.T, r oapi.Register) {
				if r.Version != 1 {
					t.Errorf("version %d, want 1", r.Version)
				}
			}},
		{name: "stale version", ifMatch: `"7"`, body: `{"readiness":{"noots":{"stage":"testing"}}}`, want: 412},
		{name: "weak tag", ifMatch: `W/"1"`, body: `{"readiness":{"noots":{"stage":"testing"}}}`, want: 412},
		{name: "unknown stage", body: `{"readiness":{"noots":{"stage":"done"}}}`, want: 422, wantField: "readiness.noots.stage"},
		{name: "not applicable without reason", body: `{"readiness":{"dsc":{"stage":"not_applicable"}}}`, want: 422, wantField: "readiness.dsc.note"},
		{name: "not applicable with blank reason", body: `{"readiness":{"dsc":{"stage":"not_applicable","note":"  "}}}`, want: 422, wantField: "readiness.dsc.note"},
		{name: "not applicable with reason", body: `{"readiness":{"dsc":{"stage":"not_applicable","note":"keine personenbezogenen Daten"}}}`, want: 200},
		{name: "name cannot be removed", body: `{"name":null}`, want: 422, wantField: "name"},
		{name: "unknown member", body: `{"nme":"x"}`, want: 422, wantField: "nme"},
		{name: "member names are case-sensitive", body: `{"Name":"x"}`, want: 422, wantField: "Name"},
		{name: "wrong type", body: `{"idnrg_anlage_nr":"1"}`, want: 422, wantField: "idnrg_anlage_nr"},
		{name: "Onlinedienst field on a register", body: `{"url":"https://example.org"}`, want: 422, wantField: "url"},
		{name: "patch must be an object", body: `[]`, want: 422},
		{name: "wrong content type", contentType: "text/plain", body: `{"name":"x"}`, want: 415},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t)
			ts.seedRegister()
			h := map[string]string{}
			if tt.ifMatch != "" {
				h["If-Match"] = tt.ifMatch
			}
			if tt.contentType != "" {
				h["Content-Type"] = tt.contentType
			}
			rec := ts.do(request{method: "PATCH", path: "/v1/ressorts/SIS/registers/melderegister", body: tt.body, headers: h})
			if rec.Code != tt.want {
				t.Fatalf("PATCH status = %d, want %d; body %s", rec.Code, tt.want, rec.Body)
			}
			if tt.wantField != "" {
				if got := problemFields(t, rec); !slices.Contains(got, tt.wantField) {
					t.Errorf("fields %v, want %s", got, tt.wantField)
				}
			}
			if rec.Code == 200 {
				r := decode[oapi.Register](t, rec)
				if got, want := rec.Header().Get("ETag"), fmt.Sprintf(`"%d"`, r.Version); got != want {
					t.Errorf("ETag %s, want %s", got, want)
				}
				if tt.check != nil {
					tt.check(t, r)
				}
			}
			if rec.Code >= 400 {
				after := decode[oapi.Register](t, ts.do(request{method: "GET", path: "/v1/ressorts/SIS/registers/melderegister"}))
				if after.Version != 1 {
					t.Errorf("failed PATCH changed the entry: version %d", after.Version)
				}
			}
		})
	}
}

func TestPatchMissingEntry(t *testing.T) {
	ts := newTestServer(t)
	rec := ts.do(request{method: "PATCH", path: "/v1/ressorts/SIS/registers/nichts", body: `{"name":"x"}`})
	if rec.Code != http.StatusNotFound {
		t.Errorf("status %d, want 404", rec.Code)
	}
	rec = ts.do(request{method: "PATCH", path: "/v1/ressorts/SIS/registers/nichts", body: `{"name":"x"}`, headers: map[string]string{"If-Match": "*"}})
	if rec.Code != http.StatusPreconditionFailed {
		t.Errorf("with If-Match *: status %d, want 412", rec.Code)
	}
}

func TestConcurrentPatchesWithSameIfMatch(t *testing.T) {
	ts := newTestServer(t)
	ts.seedRegister()
	const n = 20
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := fmt.Sprintf(`{"description":"writer %d"}`, i)
			rec := ts.do(request{method: "PATCH", path: "/v1/ressorts/SIS/registers/melderegister", body: body, headers: map[string]string{"If-Match": `"1"`}})
			codes[i] = rec.Code
		}()
	}
	wg.Wait()
	ok := 0
	winner := -1
	for i, c := range codes {
		switch c {
		case 200:
			ok++
			winner = i
		case 412:
		default:
			t.Errorf("writer %d: status %d, want 200 or 412", i, c)
		}
	}
	if ok != 1 {
		t.Fatalf("%d PATCHes succeeded, want exactly 1 (codes %v)", ok, codes)
	}
	got := decode[oapi.Register](t, ts.do(request{method: "GET", path: "/v1/ressorts/SIS/registers/melderegister"}))
	if got.Version != 2 || got.Description != fmt.Sprintf("writer %d", winner) {
		t.Errorf("after: version %d description %q, want 2 and the winner's (writer %d)", got.Version, got.Description, winner)
	}
}

func TestConcurrentPatchesLoseNoUpdate(t *testing.T) {
	ts := newTestServer(t)
	ts.seedRegister()
	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := fmt.Sprintf(`{"description":"writer %d"}`, i)
			if rec := ts.do(request{method: "PATCH", path: "/v1/ressorts/SIS/registers/melderegister", body: body}); rec.Code != 200 {
				t.Errorf("writer %d: status %d", i, rec.Code)
			}
		}()
	}
	wg.Wait()
	got := decode[oapi.Register](t, ts.do(request{method: "GET", path: "/v1/ressorts/SIS/registers/melderegister"}))
	if got.Version != n+1 {
		t.Errorf("version %d after %d changing PATCHes, want %d", got.Version, n, n+1)
	}
}

func TestDeleteRegister(t *testing.T) {
	tests := []struct {
		name    string
		path    string
		ifMatch string
		want    int
	}{
		{"deletes", "/v1/ressorts/SIS/registers/melderegister", "", 204},
		{"with the current version", "/v1/ressorts/SIS/registers/melderegister", `"1"`, 204},
		{"stale version", "/v1/ressorts/SIS/registers/melderegister", `"2"`, 412},
		{"missing", "/v1/ressorts/SIS/registers/passregister", "", 404},
		{"missing with star", "/v1/ressorts/SIS/registers/passregister", "*", 412},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t)
			ts.seedRegister()
			h := map[string]string{}
			if tt.ifMatch != "" {
				h["If-Match"] = tt.ifMatch
			}
			if rec := ts.do(request{method: "DELETE", path: tt.path, headers: h}); rec.Code != tt.want {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.want, rec.Body)
			}
			wantAfter := 200
			if tt.want == 204 {
				wantAfter = 404
			}
			if rec := ts.do(request{method: "GET", path: "/v1/ressorts/SIS/registers/melderegister"}); rec.Code != wantAfter {
				t.Errorf("GET after: status %d, want %d", rec.Code, wantAfter)
			}
		})
	}
}

func TestDeleteReferencedRegister(t *testing.T) {
	ts := newTestServer(t)
	ts.seedRegister()
	for _, p := range []string{"/v1/ressorts/SF/onlinedienste/ewa", "/v1/ressorts/SIS/onlinedienste/ikfz"} {
		if rec := ts.do(request{method: "PUT", path: p, body: `{"name":"Dienst","nachweise_from":["SIS/melderegister"]}`}); rec.Code != 201 {
			t.Fatalf("PUT %s: %d %s", p, rec.Code, rec.Body)
		}
	}
	rec := ts.do(request{method: "DELETE", path: "/v1/ressorts/SIS/registers/melderegister"})
	if rec.Code != http.StatusConflict {
		t.Fatalf("status %d, want 409; body %s", rec.Code, rec.Body)
	}
	p := decode[oapi.Problem](t, rec)
	if p.ReferencedBy == nil || !slices.Equal(*p.ReferencedBy, []string{"SF/ewa", "SIS/ikfz"}) {
		t.Errorf("referenced_by %v, want [SF/ewa SIS/ikfz]", p.ReferencedBy)
	}
	if !strings.Contains(p.Detail, "SF/ewa") {
		t.Errorf("detail %q does not name the Onlinedienste", p.Detail)
	}
}
