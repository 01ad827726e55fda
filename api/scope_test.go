package api_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/bremen/regmo/api"
	"github.com/bremen/regmo/api/oapi"
	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/migrations/testdb"
)

// TestSearchStaysInScope is the regression test of issue 11, finding 1: q was joined to the
// other conditions by a bare OR, so it listed every Ressort's entries of both kinds, and
// dropped the stage and overdue filters.
func TestSearchStaysInScope(t *testing.T) {
	ts := newTestServer(t)
	ts.seedList()
	// Foreign entries that the search would match, of both kinds.
	for _, p := range []string{"/v1/ressorts/SIS/onlinedienste/melde-online", "/v1/ressorts/SWHT/onlinedienste/e-gewerbe"} {
		if rec := ts.do(request{method: "PUT", path: p, body: `{"name":"Meldeservice Gewerbe"}`}); rec.Code != 201 {
			t.Fatalf("PUT %s: %d %s", p, rec.Code, rec.Body)
		}
	}
	sf := ts.user("sf", domain.Binding{Role: domain.RoleRessortverantwortliche, Ressort: "SF"})
	tests := []struct {
		name, token, path string
		want              []string
	}{
		{"cross list, one letter", sf, "/v1/registers?q=e", []string{"SF/steuer-a"}},
		{"own Ressort's list", sf, "/v1/ressorts/SF/registers?q=e", []string{"SF/steuer-a"}},
		{"as of now", sf, "/v1/registers?q=e&as_of=" + url.QueryEscape("2026-03-15T11:00:00Z"), []string{"SF/steuer-a"}},
		{"Onlinedienste", sf, "/v1/onlinedienste?q=e", []string{"SF/grundsteuer"}},
		{"with a stage filter", "", "/v1/registers?q=melde&stage.noots=live&ressort=SIS", []string{"SIS/melderegister"}},
		{"with overdue", "", "/v1/registers?q=e&overdue=true", []string{"SIS/passregister", "SWHT/gewerbe"}},
		{"with a kind", "", "/v1/onlinedienste?q=melde", []string{"SIS/melde-online", "SWHT/e-gewerbe"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := ts.do(request{method: "GET", path: tt.path, token: tt.token})
			if rec.Code != 200 {
				t.Fatalf("GET %s: status %d, want 200; body %s", tt.path, rec.Code, rec.Body)
			}
			var got []string
			for _, r := range decode[oapi.RegisterList](t, rec).Items {
				got = append(got, r.Ressort+"/"+r.Key)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("GET %s: got %v, want %v", tt.path, got, tt.want)
			}
		})
	}
}

// TestRefusalsNameOnlyReadableOnlinedienste is the regression test of issue 11, finding 6: a
// 409 on deleting a register, and a refused replace import, named the Onlinedienste of other
// Ressorts. They are counted per Ressort now.
func TestRefusalsNameOnlyReadableOnlinedienste(t *testing.T) {
	ts := newTestServer(t)
	ts.seedRegister() // SIS/melderegister
	for _, p := range []string{"/v1/ressorts/SF/onlinedienste/ewa", "/v1/ressorts/SF/onlinedienste/ewa-2", "/v1/ressorts/SIS/onlinedienste/ikfz"} {
		if rec := ts.do(request{method: "PUT", path: p, body: `{"name":"Dienst","nachweise_from":["SIS/melderegister"]}`}); rec.Code != 201 {
			t.Fatalf("PUT %s: %d %s", p, rec.Code, rec.Body)
		}
	}
	sis := ts.user("sis", domain.Binding{Role: domain.RoleRessortverantwortliche, Ressort: "SIS"})
	tests := []struct {
		name     string
		req      request
		want     int
		named    []string // in referenced_by; nil: not checked
		mentions string
	}{
		{"delete", request{method: "DELETE", path: "/v1/ressorts/SIS/registers/melderegister", token: sis},
			409, []string{"SIS/ikfz"}, "2 Onlinedienste of Ressort SF"},
		{"replace import", request{method: "POST", path: "/v1/import?mode=replace&ressort=SIS", token: sis,
			body: `{"registers": [], "onlinedienste": []}`}, 422, nil, "2 Onlinedienste of Ressort SF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := ts.do(tt.req)
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.want, rec.Body)
			}
			body := rec.Body.String()
			if strings.Contains(body, "ewa") {
				t.Errorf("the refusal names a foreign Onlinedienst: %s", body)
			}
			if !strings.Contains(body, tt.mentions) {
				t.Errorf("the refusal does not say %q: %s", tt.mentions, body)
			}
			if tt.named != nil {
				p := decode[oapi.Problem](t, rec)
				if p.ReferencedBy == nil || !slices.Equal(*p.ReferencedBy, tt.named) {
					t.Errorf("referenced_by %v, want %v", p.ReferencedBy, tt.named)
				}
			}
		})
	}
	// The admin may read everything, so every Onlinedienst is named.
	rec := ts.do(request{method: "DELETE", path: "/v1/ressorts/SIS/registers/melderegister"})
	if p := decode[oapi.Problem](t, rec); p.ReferencedBy == nil || !slices.Equal(*p.ReferencedBy, []string{"SF/ewa", "SF/ewa-2", "SIS/ikfz"}) {
		t.Errorf("admin: referenced_by %v, want all three", p.ReferencedBy)
	}
}

// TestServerRefusesRoleThatBypassesRowSecurity: the second wall must not silently be absent.
// A session as the cluster's superuser (whom row-level security never binds) is refused at
// start; the service's role is accepted.
func TestServerRefusesRoleThatBypassesRowSecurity(t *testing.T) {
	dsn := testdb.DSN(t)
	tests := []struct {
		name   string
		cfg    api.Config
		wantOK bool
	}{
		{"superuser", api.Config{DB: testdb.Open(t, dsn)}, false},
		{"regmo_app", api.Config{DB: testdb.App(t, dsn)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, err := api.New(tt.cfg)
			if srv != nil {
				defer srv.Close()
			}
			if got := err == nil; got != tt.wantOK {
				t.Errorf("api.New: error %v, want ok=%v", err, tt.wantOK)
			}
		})
	}
}
