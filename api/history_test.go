package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bremen/regmo/api/oapi"
	"github.com/bremen/regmo/domain"
)

// clock is a test clock that only moves when told to.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

func TestHistoryAndAsOf(t *testing.T) {
	day := func(d, h int) time.Time { return time.Date(2026, 3, d, h, 0, 0, 0, time.UTC) }
	clk := &clock{t: day(1, 9)}
	ts := newTestServerAt(t, clk.now)
	sis := ts.user("sis", domain.Binding{Role: domain.RoleRessortverantwortliche, Ressort: "SIS"})
	path := "/v1/ressorts/SIS/registers/melderegister"

	// Five states: created 1 March, three patches on 2, 3 and 4 March, deleted on 5 March.
	steps := []struct {
		at     time.Time
		req    request
		stage  oapi.Stage
		actor  string
		action string
	}{
		{day(1, 9), request{method: "PUT", path: path, body: `{"name":"Melderegister","readiness":{"noots":{"stage":"planned"}}}`}, oapi.Planned, "admin", "created"},
		{day(2, 9), request{method: "PATCH", path: path, body: `{"readiness":{"noots":{"stage":"in_progress"}}}`, token: sis}, oapi.InProgress, "sis", "updated"},
		{day(3, 9), request{method: "PATCH", path: path, body: `{"readiness":{"noots":{"stage":"testing"}}}`, token: sis}, oapi.Testing, "sis", "updated"},
		{day(4, 9), request{method: "PATCH", path: path, body: `{"readiness":{"noots":{"stage":"live"}}}`}, oapi.Live, "admin", "updated"},
		{day(5, 9), request{method: "DELETE", path: path, token: sis}, "", "sis", "deleted"},
	}
	for _, st := range steps {
		clk.set(st.at)
		if rec := ts.do(st.req); rec.Code >= 300 {
			t.Fatalf("%s at %s: %d %s", st.req.method, st.at, rec.Code, rec.Body)
		}
	}
	clk.set(day(10, 9))

	// A failed write leaves no event.
	if rec := ts.do(request{method: "PUT", path: path, body: `{"name":""}`}); rec.Code != 422 {
		t.Fatalf("invalid PUT: %d", rec.Code)
	}

	rec := ts.do(request{method: "GET", path: path + "/history"})
	if rec.Code != 200 {
		t.Fatalf("history after deletion: %d %s", rec.Code, rec.Body)
	}
	events := decode[oapi.EventList](t, rec).Items
	if len(events) != len(steps) {
		t.Fatalf("history has %d events, want %d: %s", len(events), len(steps), rec.Body)
	}
	for i, e := range events {
		st := steps[len(steps)-1-i] // newest first
		if string(e.Action) != st.action || e.Actor != st.actor || !e.At.Equal(st.at) {
			t.Errorf("event %d = %s by %s at %s, want %s by %s at %s", i, e.Action, e.Actor, e.At, st.action, st.actor, st.at)
		}
	}
	if c, ok := events[2].Changes["readiness.noots.stage"]; !ok || c.From != "in_progress" || c.To != "testing" {
		t.Errorf("third change = %+v, want readiness.noots.stage from in_progress to testing", events[2].Changes)
	}
	if len(events[2].Changes) != 1 {
		t.Errorf("third change lists %d fields, want only the stage: %v", len(events[2].Changes), events[2].Changes)
	}

	// As of each moment between the steps, the entry is as it was then.
	asOf := []struct {
		at      string
		want    int
		stage   oapi.Stage
		version int64
	}{
		{"2026-02-28T23:00:00Z", 404, "", 0},
		{"2026-03-01T09:00:00Z", 200, oapi.Planned, 1},
		{"2026-03-01", 200, oapi.Planned, 1},
		{"2026-03-02T12:00:00+01:00", 200, oapi.InProgress, 2},
		{"2026-03-03T10:00:00Z", 200, oapi.Testing, 3},
		{"2026-03-04", 200, oapi.Live, 4},
		{"2026-03-05T08:59:59Z", 200, oapi.Live, 4},
		{"2026-03-05T09:00:00Z", 404, "", 0},
		{"2026-03-10", 404, "", 0},
	}
	for _, tt := range asOf {
		t.Run("as_of "+tt.at, func(t *testing.T) {
			rec := ts.do(request{method: "GET", path: path + "?as_of=" + url.QueryEscape(tt.at)})
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d; %s", rec.Code, tt.want, rec.Body)
			}
			if tt.want == 200 {
				r := decode[oapi.Register](t, rec)
				if r.Readiness.Noots.Stage != tt.stage || r.Version != tt.version {
					t.Errorf("stage %s version %d, want %s %d", r.Readiness.Noots.Stage, r.Version, tt.stage, tt.version)
				}
			}
			list := ts.do(request{method: "GET", path: "/v1/registers?as_of=" + url.QueryEscape(tt.at)})
			n := len(decode[oapi.RegisterList](t, list).Items)
			if want := map[bool]int{true: 1, false: 0}[tt.want == 200]; n != want {
				t.Errorf("list as of %s has %d entries, want %d", tt.at, n, want)
			}
		})
	}

	for _, bad := range []struct {
		asOf string
		want int
	}{{"2026-03-11", 422}, {"2030-01-01T00:00:00Z", 422}, {"gestern", 400}} {
		if rec := ts.do(request{method: "GET", path: path + "?as_of=" + bad.asOf}); rec.Code != bad.want {
			t.Errorf("as_of=%s: status %d, want %d", bad.asOf, rec.Code, bad.want)
		}
	}
	if rec := ts.do(request{method: "GET", path: "/v1/ressorts/SIS/registers/nie/history"}); rec.Code != 404 {
		t.Errorf("history of an entry that never existed: %d, want 404", rec.Code)
	}
}

func TestEventsAreAppendOnly(t *testing.T) {
	ts := newTestServer(t)
	ts.seedRegister()
	for _, stmt := range []string{
		`UPDATE events SET actor = 'mallory'`,
		`DELETE FROM events`,
		`TRUNCATE events`,
	} {
		if err := ts.db.Exec(stmt).Error; err == nil {
			t.Errorf("%s succeeded, want it refused", stmt)
		}
	}
	var actors []string
	ts.db.Raw(`SELECT actor FROM events WHERE entity_type = 'register'`).Scan(&actors)
	if !slices.Equal(actors, []string{"admin"}) {
		t.Errorf("register events after the attempts: actors %v, want [admin]", actors)
	}
}

func TestFailedWritesLeaveNoEvent(t *testing.T) {
	ts := newTestServer(t)
	ts.seedRegister()
	count := func() (n int64) { ts.db.Raw(`SELECT count(*) FROM events`).Scan(&n); return n }
	before := count()
	for _, r := range []request{
		{method: "PATCH", path: "/v1/ressorts/SIS/registers/melderegister", body: `{"name":"x"}`, headers: map[string]string{"If-Match": `"9"`}},
		{method: "PATCH", path: "/v1/ressorts/SIS/registers/melderegister", body: `{"readiness":{"dsc":{"stage":"not_applicable"}}}`},
		{method: "PUT", path: "/v1/ressorts/SIS/registers/melderegister", body: `{"name":"Melderegister","idnrg_anlage_nr":1,"contact":"meldewesen@buergeramt.bremen.de","readiness":{"noots":{"stage":"planned","target_date":"2026-06-30"}}}`},
		{method: "DELETE", path: "/v1/ressorts/SIS/registers/melderegister", headers: map[string]string{"If-Match": `"2"`}},
	} {
		if rec := ts.do(r); rec.Code != 412 && rec.Code != 422 && rec.Code != 200 {
			t.Fatalf("%s: %d", r.method, rec.Code)
		}
	}
	if after := count(); after != before {
		t.Errorf("events %d → %d after failed or unchanged writes, want no new event", before, after)
	}
}

func TestAuditScope(t *testing.T) {
	ts := newTestServer(t)
	ts.seedList() // SIS, SF, SWHT, MAG-BHV entries, created by admin
	sf := ts.user("sf", domain.Binding{Role: domain.RoleRessortverantwortliche, Ressort: "SF"})
	ozg := ts.user("ozg", domain.Binding{Role: domain.RoleOZGKoordination})
	if rec := ts.do(request{method: "PUT", path: "/v1/ressorts/SGFV", body: `{"name":"Gesundheit"}`}); rec.Code != 201 {
		t.Fatalf("create Ressort: %d", rec.Code)
	}
	ressorts := func(token, query string) []string {
		rec := ts.do(request{method: "GET", path: "/v1/audit" + query, token: token})
		if rec.Code != 200 {
			t.Fatalf("audit%s: %d %s", query, rec.Code, rec.Body)
		}
		var out []string
		for _, e := range decode[oapi.EventList](t, rec).Items {
			out = append(out, fmt.Sprintf("%s:%s", e.Entity.Type, deref(e.Entity.Ressort)))
		}
		return out
	}
	if got := ressorts(sf, ""); !slices.Equal(got, []string{"onlinedienst:SF", "register:SF"}) {
		t.Errorf("SF sees %v, want only SF's two entries", got)
	}
	if got := ressorts(sf, "?ressort=SIS"); len(got) != 0 {
		t.Errorf("SF asking for SIS sees %v, want nothing", got)
	}
	// The coordinator reads the trail of every Ressort, but not the access data (users,
	// bindings, tokens): that is the admins' alone.
	var inventory, all int
	ts.db.Raw(`SELECT count(*) FROM events WHERE entity_type IN ('register', 'onlinedienst', 'ressort')`).Scan(&inventory)
	ts.db.Raw(`SELECT count(*) FROM events`).Scan(&all)
	if got := ressorts(ozg, "?limit=1000"); len(got) != inventory {
		t.Errorf("coordinator sees %d events, want the %d of the inventory: %v", len(got), inventory, got)
	}
	if got := ressorts(ts.admin, "?limit=1000"); len(got) != all {
		t.Errorf("admin sees %d events, want all %d", len(got), all)
	}
	for _, typ := range []string{"user", "binding", "token"} {
		for name, token := range map[string]string{"coordinator": ozg, "sf": sf} {
			if got := ressorts(token, "?type="+typ); len(got) != 0 {
				t.Errorf("%s asking for type=%s sees %v, want nothing", name, typ, got)
			}
		}
		if got := ressorts(ts.admin, "?type="+typ); len(got) == 0 {
			t.Errorf("admin asking for type=%s sees nothing, want their events", typ)
		}
	}
	if got := ressorts(ozg, "?type=ressort"); !slices.Equal(got, []string{"ressort:SGFV"}) {
		t.Errorf("type=ressort: %v", got)
	}
	if got := ressorts(ozg, "?ressort=SIS&action=created"); len(got) != 2 {
		t.Errorf("SIS created: %v, want 2", got)
	}
	ts.db.Raw(`SELECT count(*) FROM events`).Scan(&all) // the admin sees the access events too
	page := decode[oapi.EventList](t, ts.do(request{method: "GET", path: "/v1/audit?limit=4"}))
	if len(page.Items) != 4 || page.NextCursor == nil {
		t.Fatalf("first page: %d items, cursor %v", len(page.Items), page.NextCursor)
	}
	rest := decode[oapi.EventList](t, ts.do(request{method: "GET", path: "/v1/audit?limit=1000&cursor=" + url.QueryEscape(*page.NextCursor)}))
	if len(rest.Items) != all-4 || rest.NextCursor != nil || rest.Items[0].Id >= page.Items[3].Id {
		t.Errorf("second page: %d items, want the %d older ones", len(rest.Items), all-4)
	}
	if rec := ts.do(request{method: "GET", path: "/v1/audit?limit=4&actor=x&cursor=" + url.QueryEscape(*page.NextCursor)}); rec.Code != http.StatusBadRequest {
		t.Errorf("cursor with other filters: %d, want 400", rec.Code)
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func TestAccessChangesAreAudited(t *testing.T) {
	ts := newTestServer(t)
	steps := []request{
		{method: "PUT", path: "/v1/users/lea", body: `{"display_name":"Lea","bindings":[{"role":"ressortverantwortliche","ressort":"SIS"}]}`},
		{method: "PUT", path: "/v1/users/lea", body: `{"display_name":"Lea","bindings":[{"role":"ressortverantwortliche","ressort":"SF"}]}`},
		{method: "POST", path: "/v1/users/lea/tokens", body: `{"label":"script"}`},
		{method: "DELETE", path: "/v1/users/lea/tokens/2"},
	}
	for _, r := range steps {
		if rec := ts.do(r); rec.Code >= 300 {
			t.Fatalf("%s %s: %d %s", r.method, r.path, rec.Code, rec.Body)
		}
	}
	rec := ts.do(request{method: "GET", path: "/v1/audit?actor=admin"})
	var got []string
	for _, e := range decode[oapi.EventList](t, rec).Items {
		got = append(got, fmt.Sprintf("%s %s %s %s", e.Action, e.Entity.Type, e.Entity.Key, deref(e.Entity.Ressort)))
	}
	want := []string{
		"updated token 2 ", "created token 2 ",
		"created binding lea SF", "deleted binding lea SIS",
		"created binding lea SIS", "created user lea ",
	}
	if !slices.Equal(got, want) {
		t.Errorf("events\n got %q\nwant %q", got, want)
	}
}

// The events of users, bindings and tokens show e-mail addresses, roles and token labels,
// which only admins may read (GET /v1/users): the audit trail shows them to admins only,
// with a type filter or without.
func TestAuditAccessEventsAreForAdmins(t *testing.T) {
	ts := newTestServer(t)
	ts.seedList()
	ozg := ts.user("ozg", domain.Binding{Role: domain.RoleOZGKoordination})
	sf := ts.user("sf", domain.Binding{Role: domain.RoleRessortverantwortliche, Ressort: "SF"})
	if rec := ts.do(request{method: "PUT", path: "/v1/users/lea", body: `{"email":"lea@finanzen.bremen.de","bindings":[{"role":"ressortverantwortliche","ressort":"SF"}]}`}); rec.Code != 201 {
		t.Fatalf("PUT user: %d %s", rec.Code, rec.Body)
	}
	if rec := ts.do(request{method: "POST", path: "/v1/users/lea/tokens", body: `{"label":"Skript Haushalt"}`}); rec.Code != 201 {
		t.Fatalf("POST token: %d %s", rec.Code, rec.Body)
	}
	accessEvents := func(token, query string) int {
		rec := ts.do(request{method: "GET", path: "/v1/audit?limit=1000" + query, token: token})
		if rec.Code != 200 {
			t.Fatalf("audit%s: %d %s", query, rec.Code, rec.Body)
		}
		n := 0
		for _, e := range decode[oapi.EventList](t, rec).Items {
			switch e.Entity.Type {
			case oapi.EventEntityTypeUser, oapi.EventEntityTypeBinding, oapi.EventEntityTypeToken:
				n++
			}
		}
		return n
	}
	tests := []struct {
		name, token string
		admin       bool
	}{
		{"admin", ts.admin, true},
		{"ozg-koordination", ozg, false},
		{"ressortverantwortliche SF", sf, false},
	}
	for _, tt := range tests {
		for _, query := range []string{"", "&type=user", "&type=binding", "&type=token"} {
			t.Run(tt.name+" "+query, func(t *testing.T) {
				got := accessEvents(tt.token, query)
				if tt.admin && got == 0 {
					t.Errorf("got no access events, want the admin to see them")
				}
				if !tt.admin && got != 0 {
					t.Errorf("got %d access events, want 0", got)
				}
			})
		}
	}
}
