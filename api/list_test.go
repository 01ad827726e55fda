package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/bremen/regmo/api/oapi"
)

// seedList creates registers across Ressorts with known stages and dates. Today is
// 2026-03-15.
func (ts *testServer) seedList() {
	ts.t.Helper()
	entries := []struct{ path, body string }{
		{"/v1/ressorts/SIS/registers/melderegister", `{"name":"Melderegister","readiness":{"noots":{"stage":"live"}}}`},
		{"/v1/ressorts/SIS/registers/passregister", `{"name":"Passregister","readiness":{"noots":{"stage":"planned","target_date":"2026-03-14"}}}`},
		{"/v1/ressorts/SF/registers/steuer-a", `{"name":"Grundsteuer","readiness":{"idnr":{"stage":"in_progress","target_date":"2026-03-15"}}}`},
		{"/v1/ressorts/SWHT/registers/gewerbe", `{"name":"Gewerberegister Übersee","readiness":{"dsc":{"stage":"testing","target_date":"2025-12-31"}}}`},
		{"/v1/ressorts/MAG-BHV/registers/melderegister", `{"name":"Melderegister Bremerhaven","readiness":{"noots":{"stage":"live","target_date":"2020-01-01"}}}`},
		{"/v1/ressorts/SF/onlinedienste/grundsteuer", `{"name":"Grundsteuererklärung"}`},
	}
	for _, e := range entries {
		if rec := ts.do(request{method: "PUT", path: e.path, body: e.body}); rec.Code != http.StatusCreated {
			ts.t.Fatalf("seed %s: %d %s", e.path, rec.Code, rec.Body)
		}
	}
}

func addresses(items []oapi.Register) []string {
	out := make([]string, len(items))
	for i, r := range items {
		out[i] = r.Ressort + "/" + r.Key
	}
	return out
}

func TestListRegisters(t *testing.T) {
	ts := newTestServer(t)
	ts.seedList()
	tests := []struct {
		name  string
		query string
		want  []string
	}{
		{"all, by Ressort then key in byte order", "", []string{"MAG-BHV/melderegister", "SF/steuer-a", "SIS/melderegister", "SIS/passregister", "SWHT/gewerbe"}},
		{"one Ressort", "ressort=SIS", []string{"SIS/melderegister", "SIS/passregister"}},
		{"several Ressorts", "ressort=SWHT&ressort=SF", []string{"SF/steuer-a", "SWHT/gewerbe"}},
		{"a stage", "stage.noots=live", []string{"MAG-BHV/melderegister", "SIS/melderegister"}},
		{"two stages", "stage.noots=not_started&stage.idnr=in_progress", []string{"SF/steuer-a"}},
		{"overdue", "overdue=true", []string{"SIS/passregister", "SWHT/gewerbe"}},
		{"not overdue", "overdue=false", []string{"MAG-BHV/melderegister", "SF/steuer-a", "SIS/melderegister"}},
		{"q in the name, any case", "q=MELDE", []string{"MAG-BHV/melderegister", "SIS/melderegister"}},
		{"q with an umlaut in another case", "q=" + url.QueryEscape("übersee"), []string{"SWHT/gewerbe"}},
		{"q in the key", "q=steuer-", []string{"SF/steuer-a"}},
		{"q that matches nothing", "q=" + url.QueryEscape("%"), []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := ts.do(request{method: "GET", path: "/v1/registers?" + tt.query})
			if rec.Code != 200 {
				t.Fatalf("status %d; body %s", rec.Code, rec.Body)
			}
			got := addresses(decode[oapi.RegisterList](t, rec).Items)
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestListOverdueFlag(t *testing.T) {
	ts := newTestServer(t)
	ts.seedList()
	rec := ts.do(request{method: "GET", path: "/v1/ressorts/SIS/registers"})
	items := decode[oapi.RegisterList](t, rec).Items
	if len(items) != 2 {
		t.Fatalf("got %d items, want 2", len(items))
	}
	if items[1].Key != "passregister" || !items[1].Readiness.Noots.Overdue || items[1].Readiness.Noots.Ready {
		t.Errorf("passregister noots = %+v, want overdue and not ready", items[1].Readiness.Noots)
	}
	if !items[0].Readiness.Noots.Ready || items[0].Readiness.Noots.Overdue {
		t.Errorf("melderegister noots = %+v, want ready and not overdue", items[0].Readiness.Noots)
	}
}

func TestListPagination(t *testing.T) {
	ts := newTestServer(t)
	for i := range 7 {
		path := fmt.Sprintf("/v1/ressorts/SK/registers/r%02d", i)
		if rec := ts.do(request{method: "PUT", path: path, body: `{"name":"Register"}`}); rec.Code != 201 {
			t.Fatalf("seed: %d", rec.Code)
		}
	}
	var got []string
	next := ""
	for pages := 0; pages < 10; pages++ {
		path := "/v1/ressorts/SK/registers?limit=3"
		if next != "" {
			path += "&cursor=" + url.QueryEscape(next)
		}
		rec := ts.do(request{method: "GET", path: path})
		if rec.Code != 200 {
			t.Fatalf("page %d: status %d %s", pages, rec.Code, rec.Body)
		}
		page := decode[oapi.RegisterList](t, rec)
		got = append(got, addresses(page.Items)...)
		if page.NextCursor == nil {
			break
		}
		next = *page.NextCursor
	}
	want := []string{"SK/r00", "SK/r01", "SK/r02", "SK/r03", "SK/r04", "SK/r05", "SK/r06"}
	if !slices.Equal(got, want) {
		t.Errorf("pages gave %v, want %v", got, want)
	}

	first := decode[oapi.RegisterList](t, ts.do(request{method: "GET", path: "/v1/ressorts/SK/registers?limit=3"}))
	cursor := url.QueryEscape(*first.NextCursor)
	bad := []struct {
		name, path, field string
	}{
		{"limit 0", "/v1/registers?limit=0", "limit"},
		{"limit 1001", "/v1/registers?limit=1001", "limit"},
		{"limit not a number", "/v1/registers?limit=ten", "limit"},
		{"garbage cursor", "/v1/registers?cursor=garbage", "cursor"},
		{"cursor of another endpoint", "/v1/registers?cursor=" + cursor, "cursor"},
		{"cursor with other filters", "/v1/ressorts/SK/registers?q=r&cursor=" + cursor, "cursor"},
		{"cursor of another kind", "/v1/ressorts/SK/onlinedienste?cursor=" + cursor, "cursor"},
		{"invalid Ressort filter", "/v1/registers?ressort=sf", "ressort"},
		{"unknown stage filter", "/v1/registers?stage.noots=done", "stage.noots"},
		{"unknown parameter", "/v1/registers?stage.nots=live", "stage.nots"},
		{"repeated parameter", "/v1/registers?limit=1&limit=2", "limit"},
		{"overdue not a boolean", "/v1/registers?overdue=ja", "overdue"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			rec := ts.do(request{method: "GET", path: tt.path})
			if rec.Code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400; body %s", rec.Code, rec.Body)
			}
			if got := problemFields(t, rec); !slices.Contains(got, tt.field) {
				t.Errorf("fields %v, want %s", got, tt.field)
			}
		})
	}
	if rec := ts.do(request{method: "GET", path: "/v1/ressorts/XX/registers"}); rec.Code != http.StatusNotFound {
		t.Errorf("list of an unknown Ressort: status %d, want 404", rec.Code)
	}
}

func TestListOnlinedienste(t *testing.T) {
	ts := newTestServer(t)
	ts.seedList()
	rec := ts.do(request{method: "GET", path: "/v1/onlinedienste"})
	list := decode[oapi.OnlinedienstList](t, rec)
	if len(list.Items) != 1 || list.Items[0].Key != "grundsteuer" || list.NextCursor != nil {
		t.Errorf("got %+v, want only SF/grundsteuer", list)
	}
	rec = ts.do(request{method: "GET", path: "/v1/ressorts/SIS/onlinedienste"})
	if list := decode[oapi.OnlinedienstList](t, rec); len(list.Items) != 0 {
		t.Errorf("SIS Onlinedienste = %d, want 0", len(list.Items))
	}
}
