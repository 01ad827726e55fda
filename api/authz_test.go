package api_test

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/bremen/regmo/api/oapi"
	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/access"
	"github.com/bremen/regmo/domain/notify"
	"github.com/bremen/regmo/domain/store"
)

// principals of the permission matrix, in the order of its columns.
var principals = []string{"none", "expired", "revoked", "own", "other", "ozg", "admin"}

// access levels an operation grants.
const (
	public    = "public"     // no token needed
	anyone    = "anyone"     // every authenticated user
	readOwn   = "read-own"   // under a Ressort path: own Ressort, OZG, admin
	readCross = "read-cross" // across Ressorts: every Ressort-bound or global reader, filtered
	writeOwn  = "write-own"  // own Ressort and admin
	adminOnly = "admin-only" // admin
)

// wantStatus is the expected status class for a principal under an access level: "ok" (2xx)
// or the error code.
func wantStatus(level, principal string) string {
	if level == public {
		return "ok"
	}
	switch principal {
	case "none", "expired", "revoked":
		return "401"
	case "admin":
		return "ok"
	}
	switch level {
	case anyone, readCross:
		return "ok"
	case readOwn:
		if principal == "other" {
			return "403"
		}
		return "ok"
	case writeOwn:
		if principal == "own" {
			return "ok"
		}
		return "403"
	}
	return "403"
}

type matrixRow struct {
	level string
	// req builds the request for one principal; keys differ per principal so that writes
	// do not depend on the order of the cells.
	req func(p string) request
}

func matrix(tokenIDs map[string]int64) map[string]matrixRow {
	reg := func(method, suffix, body string) func(string) request {
		return func(p string) request {
			return request{method: method, path: "/v1/ressorts/SIS/registers/" + suffix + p, body: body}
		}
	}
	od := func(method, suffix, body string) func(string) request {
		return func(p string) request {
			return request{method: method, path: "/v1/ressorts/SIS/onlinedienste/" + suffix + p, body: body}
		}
	}
	fixed := func(method, path, body string) func(string) request {
		return func(string) request { return request{method: method, path: path, body: body} }
	}
	return map[string]matrixRow{
		"getHealth":                {public, fixed("GET", "/healthz", "")},
		"getReady":                 {public, fixed("GET", "/readyz", "")},
		"getOpenAPI":               {public, fixed("GET", "/openapi.yaml", "")},
		"getMe":                    {anyone, fixed("GET", "/v1/me", "")},
		"getMyNotifications":       {anyone, fixed("GET", "/v1/me/notifications", "")},
		"putMyNotifications":       {anyone, fixed("PUT", "/v1/me/notifications", `{"reminder":false,"digest":true}`)},
		"listRessorts":             {anyone, fixed("GET", "/v1/ressorts", "")},
		"listIdnrgAnlage":          {anyone, fixed("GET", "/v1/reference/idnrg-anlage", "")},
		"putRessort":               {adminOnly, fixed("PUT", "/v1/ressorts/SGFV", `{"name":"Senatorin für Gesundheit"}`)},
		"listRegisters":            {readCross, fixed("GET", "/v1/registers", "")},
		"listRessortRegisters":     {readOwn, fixed("GET", "/v1/ressorts/SIS/registers", "")},
		"getRegister":              {readOwn, reg("GET", "m-", "")},
		"putRegister":              {writeOwn, reg("PUT", "new-", `{"name":"Neu"}`)},
		"patchRegister":            {writeOwn, reg("PATCH", "m-", `{"description":"geändert"}`)},
		"deleteRegister":           {writeOwn, reg("DELETE", "d-", "")},
		"listOnlinedienste":        {readCross, fixed("GET", "/v1/onlinedienste", "")},
		"listRessortOnlinedienste": {readOwn, fixed("GET", "/v1/ressorts/SIS/onlinedienste", "")},
		"getOnlinedienst":          {readOwn, od("GET", "m-", "")},
		"putOnlinedienst":          {writeOwn, od("PUT", "new-", `{"name":"Neu"}`)},
		"patchOnlinedienst":        {writeOwn, od("PATCH", "m-", `{"description":"geändert"}`)},
		"deleteOnlinedienst":       {writeOwn, od("DELETE", "d-", "")},
		"getRegisterHistory": {readOwn, func(p string) request {
			return request{method: "GET", path: "/v1/ressorts/SIS/registers/m-" + p + "/history"}
		}},
		"getOnlinedienstHistory": {readOwn, func(p string) request {
			return request{method: "GET", path: "/v1/ressorts/SIS/onlinedienste/m-" + p + "/history"}
		}},
		"listAudit":               {readCross, fixed("GET", "/v1/audit", "")},
		"getReadinessReport":      {readCross, fixed("GET", "/v1/reports/readiness", "")},
		"getOverdueReport":        {readCross, fixed("GET", "/v1/reports/overdue", "")},
		"getConsistencyReport":    {readCross, fixed("GET", "/v1/reports/consistency", "")},
		"getAnlageCoverageReport": {readCross, fixed("GET", "/v1/reports/anlage-coverage", "")},
		"getBlockedReport":        {readCross, fixed("GET", "/v1/reports/blocked", "")},
		"getProgressReport":       {readCross, fixed("GET", "/v1/reports/progress?from=2026-03-01", "")},
		"importInventory": {writeOwn, func(p string) request {
			return request{method: "POST", path: "/v1/import", body: `{"registers":[{"ressort":"SIS","key":"imp-` + p + `","name":"Neu"}]}`}
		}},
		"exportInventory": {readCross, fixed("GET", "/v1/export", "")},
		"listUsers":       {adminOnly, fixed("GET", "/v1/users", "")},
		"putUser": {adminOnly, func(p string) request {
			return request{method: "PUT", path: "/v1/users/u-" + p, body: `{"display_name":"X"}`}
		}},
		"listWebhooks":  {adminOnly, fixed("GET", "/v1/webhooks", "")},
		"createWebhook": {adminOnly, fixed("POST", "/v1/webhooks", `{"url":"https://192.0.2.10/hook","events":["entry.created"]}`)},
		"getWebhook":    {adminOnly, fixed("GET", fmt.Sprintf("/v1/webhooks/%d", tokenIDs["webhook"]), "")},
		"deleteWebhook": {adminOnly, func(p string) request {
			return request{method: "DELETE", path: fmt.Sprintf("/v1/webhooks/%d", tokenIDs["webhook-"+p])}
		}},
		"listWebhookDeliveries": {adminOnly, fixed("GET", fmt.Sprintf("/v1/webhooks/%d/deliveries", tokenIDs["webhook"]), "")},
		"listTokens":            {adminOnly, fixed("GET", "/v1/users/target/tokens", "")},
		"issueToken":            {adminOnly, fixed("POST", "/v1/users/target/tokens", `{"label":"matrix"}`)},
		"revokeToken": {adminOnly, func(p string) request {
			return request{method: "DELETE", path: fmt.Sprintf("/v1/users/target/tokens/%d", tokenIDs[p])}
		}},
	}
}

// TestPermissionMatrix runs every operation of openapi.yaml as every kind of principal.
func TestPermissionMatrix(t *testing.T) {
	ts := newTestServer(t)
	ctx := context.Background()
	tokens := map[string]string{
		"none":  "-",
		"own":   ts.user("sis", domain.Binding{Role: domain.RoleRessortverantwortliche, Ressort: "SIS"}),
		"other": ts.user("sf", domain.Binding{Role: domain.RoleRessortverantwortliche, Ressort: "SF"}),
		"ozg":   ts.user("ozg", domain.Binding{Role: domain.RoleOZGKoordination}),
		"admin": ts.admin,
	}
	past := access.New(store.NewAccess(ts.db)).WithClock(func() time.Time { return fixedNow().Add(-time.Hour) })
	expired, _, err := past.IssueToken(ctx, "test", domain.WriteAll(), "admin", "expired", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	tokens["expired"] = expired
	revoked, rt, err := ts.access.IssueToken(ctx, "test", domain.WriteAll(), "admin", "revoked", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.access.RevokeToken(ctx, "test", domain.WriteAll(), "", rt.ID); err != nil {
		t.Fatal(err)
	}
	tokens["revoked"] = revoked

	// Per-principal entries for reads and writes, and tokens to revoke.
	ts.user("target")
	tokenIDs := map[string]int64{}
	for _, p := range principals {
		for _, path := range []string{"/v1/ressorts/SIS/registers/m-" + p, "/v1/ressorts/SIS/onlinedienste/m-" + p,
			"/v1/ressorts/SIS/registers/d-" + p, "/v1/ressorts/SIS/onlinedienste/d-" + p} {
			if rec := ts.do(request{method: "PUT", path: path, body: `{"name":"Eintrag"}`}); rec.Code != 201 {
				t.Fatalf("setup %s: %d", path, rec.Code)
			}
		}
		_, tok, err := ts.access.IssueToken(ctx, "test", domain.WriteAll(), "target", p, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		tokenIDs[p] = tok.ID
	}

	// Webhooks to read and, one per principal, to delete (ids kept beside the tokens').
	hooks := notify.NewWebhookStore(store.NewNotify(ts.db), nil)
	for _, name := range append([]string{"webhook"}, principals...) {
		if name != "webhook" {
			name = "webhook-" + name
		}
		w, _, err := hooks.Create(ctx, "admin", "https://192.0.2.10/"+name, []string{notify.EventEntryCreated}, nil)
		if err != nil {
			t.Fatal(err)
		}
		tokenIDs[name] = w.ID
	}

	rows := matrix(tokenIDs)
	doc, err := openapi3.NewLoader().LoadFromData(oapi.Spec)
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			ops = append(ops, op.OperationID)
		}
	}
	sort.Strings(ops)
	for i, op := range ops {
		row, ok := rows[op]
		if !ok {
			t.Errorf("operation %s is in openapi.yaml but has no row in the permission matrix", op)
			continue
		}
		for _, p := range principals {
			t.Run(op+"/"+p, func(t *testing.T) {
				r := row.req(p)
				r.token = tokens[p]
				// One client address per operation keeps the failed-authentication
				// throttle (20 a minute) out of the matrix.
				r.remote = fmt.Sprintf("198.51.100.%d:40000", i+1)
				rec := ts.do(r)
				got := fmt.Sprint(rec.Code)
				if rec.Code >= 200 && rec.Code < 300 {
					got = "ok"
				}
				if want := wantStatus(row.level, p); got != want {
					t.Errorf("%s %s as %s: status %d, want %s; body %s", r.method, r.path, p, rec.Code, want, rec.Body)
				}
				if rec.Code == http.StatusUnauthorized && rec.Header().Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
			})
		}
	}
	if len(rows) != len(ops) {
		t.Errorf("matrix has %d rows for %d operations: remove rows of operations that are gone", len(rows), len(ops))
	}
}

// TestScopeFiltersBeforeCounting: a Ressortverantwortliche sees only their Ressort's
// entries in cross-Ressort lists, even when asking for another Ressort by name.
func TestScopeFiltersBeforeCounting(t *testing.T) {
	ts := newTestServer(t)
	ts.seedList()
	sis := ts.user("sis", domain.Binding{Role: domain.RoleRessortverantwortliche, Ressort: "SIS"})
	tests := []struct {
		path string
		want []string
	}{
		{"/v1/registers", []string{"SIS/melderegister", "SIS/passregister"}},
		{"/v1/registers?ressort=SF", []string{}},
		{"/v1/registers?ressort=SF&ressort=SIS", []string{"SIS/melderegister", "SIS/passregister"}},
		{"/v1/registers?overdue=true", []string{"SIS/passregister"}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			rec := ts.do(request{method: "GET", path: tt.path, token: sis})
			got := addresses(decode[oapi.RegisterList](t, rec).Items)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	if rec := ts.do(request{method: "GET", path: "/v1/onlinedienste", token: sis}); len(decode[oapi.OnlinedienstList](t, rec).Items) != 0 {
		t.Error("SIS sees SF's Onlinedienst")
	}
}
