package api_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/bremen/regmo/api/oapi"
)

// TestEveryBrokenFieldAtOnce: the contract and the domain rules judge a body together, and
// the two write paths (PUT and import) apply the same rules (issue 12, findings 7 and 8).
func TestEveryBrokenFieldAtOnce(t *testing.T) {
	ts := newTestServer(t)
	const imports = "/v1/import"
	tests := []struct {
		name       string
		req        request
		want       int
		wantFields []string // each must be named; nil: none may be
	}{
		{"PUT: contact not an e-mail address besides a contract failure",
			request{method: "PUT", path: "/v1/ressorts/SF/registers/neu",
				body: `{"name":"Neu","contact":"kein-mail","readiness":{"noots":{"stage":"done"}}}`},
			422, []string{"contact", "readiness.noots.stage"}},
		{"PUT: contact alone",
			request{method: "PUT", path: "/v1/ressorts/SF/registers/neu", body: `{"name":"Neu","contact":"kein-mail"}`},
			422, []string{"contact"}},
		{"import: a dimension without stage",
			request{method: "POST", path: imports, body: `{"registers":[{"ressort":"SF","key":"a","name":"A","readiness":{"noots":{"note":"x"}}}]}`},
			422, []string{"readiness.noots.stage"}},
		{"import: a null stage",
			request{method: "POST", path: imports, body: `{"registers":[{"ressort":"SF","key":"a","name":"A","readiness":{"noots":{"stage":null}}}]}`},
			422, []string{"readiness.noots.stage"}},
		{"import: a stage and a contact broken at once",
			request{method: "POST", path: imports, body: `{"registers":[{"ressort":"SF","key":"a","name":"A","contact":"kein-mail","readiness":{"dsc":{"stage":"fertig"}}}]}`},
			422, []string{"contact", "readiness.dsc.stage"}},
		{"import: a member name in the wrong case",
			request{method: "POST", path: imports, body: `{"registers":[{"ressort":"SF","key":"a","Name":"A"}]}`},
			422, []string{"Name"}},
		{"import: an unknown top-level member",
			request{method: "POST", path: imports, body: `{"registers":[],"things":[]}`},
			422, []string{"things"}},
		{"import: a byte order mark names no item",
			request{method: "POST", path: imports, body: "\ufeff{}"},
			400, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := ts.do(tt.req)
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.want, rec.Body)
			}
			p := decode[oapi.Problem](t, rec)
			var fields []string
			if p.Errors != nil {
				for _, e := range *p.Errors {
					fields = append(fields, e.Field)
					if tt.wantFields == nil && e.Index != nil {
						t.Errorf("error %q names item %d, want no item", e.Message, *e.Index)
					}
				}
			}
			for _, f := range tt.wantFields {
				if !slices.Contains(fields, f) {
					t.Errorf("got fields %q, want %q among them; body %s", fields, f, rec.Body)
				}
			}
		})
	}
}

// TestMethodNotAllowedNamesTheMethods: a method a path does not define answers 405 with the
// methods it does in Allow (RFC 9110 §15.5.6), as openapi.yaml's description says.
func TestMethodNotAllowedNamesTheMethods(t *testing.T) {
	ts := newTestServer(t)
	tests := []struct {
		method, path string
		allow        []string
	}{
		{"DELETE", "/v1/ressorts", []string{"GET"}},
		{"POST", "/v1/ressorts/SF/registers/x", []string{"DELETE", "GET", "PATCH", "PUT"}},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			rec := ts.do(request{method: tt.method, path: tt.path})
			if rec.Code != 405 {
				t.Fatalf("status %d, want 405; body %s", rec.Code, rec.Body)
			}
			allow := rec.Header().Get("Allow")
			for _, m := range tt.allow {
				if !strings.Contains(allow, m) {
					t.Errorf("Allow %q, want %s in it", allow, m)
				}
			}
		})
	}
}
