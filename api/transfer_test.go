package api_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/bremen/regmo/api/oapi"
	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/transfer"
)

// csvRequest posts a CSV import.
func csvRequest(query, body string) request {
	return request{method: "POST", path: "/v1/import?" + query, body: body,
		headers: map[string]string{"Content-Type": "text/csv"}}
}

// fingerprint summarises everything an import may write, to show that a refused import
// wrote nothing.
func (ts *testServer) fingerprint() string {
	ts.t.Helper()
	var out []string
	for _, q := range []string{
		`SELECT coalesce(md5(string_agg(e::text, ',' ORDER BY id)), '') FROM entries e`,
		`SELECT coalesce(md5(string_agg(n::text, ',' ORDER BY onlinedienst_id, register_id)), '') FROM nachweise n`,
		`SELECT count(*)::text FROM entry_versions`,
		`SELECT count(*)::text FROM events`,
	} {
		var s string
		if err := ts.db.Raw(q).Scan(&s).Error; err != nil {
			ts.t.Fatalf("fingerprint: %v", err)
		}
		out = append(out, s)
	}
	return strings.Join(out, "/")
}

func importResult(t *testing.T, rec *httptest.ResponseRecorder) oapi.ImportResult {
	t.Helper()
	if rec.Code != http.StatusOK {
		t.Fatalf("import: status %d, want 200; body %s", rec.Code, rec.Body)
	}
	return decode[oapi.ImportResult](t, rec)
}

func counts(r oapi.ImportResult) string {
	return fmt.Sprintf("created %d, updated %d, unchanged %d, deleted %d", r.Created, r.Updated, r.Unchanged, r.Deleted)
}

func importErrors(t *testing.T, rec *httptest.ResponseRecorder) []oapi.FieldError {
	t.Helper()
	if rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422; body %s", rec.Code, rec.Body)
	}
	p := decode[oapi.Problem](t, rec)
	if p.Errors == nil {
		t.Fatalf("422 without errors: %s", rec.Body)
	}
	return *p.Errors
}

func deref0(p *int) int {
	if p == nil {
		return -1
	}
	return *p
}

const seedImport = `{"registers": [
	{"ressort": "SIS", "key": "melderegister", "name": "Melderegister", "idnrg_anlage_nr": 1,
	 "readiness": {"idnr": {"stage": "live"}, "noots": {"stage": "testing", "target_date": "2026-06-30", "note": "=Prüfung, läuft"}}},
	{"ressort": "SF", "key": "steuer", "name": "Steuerregister", "legal_basis": "AO", "contact": "steuer@finanzen.bremen.de"}
], "onlinedienste": [
	{"ressort": "SF", "key": "wohngeld", "name": "Wohngeld online", "leika_keys": ["99000000000000"],
	 "url": "https://service.bremen.de/wohngeld", "nachweise_from": ["SIS/melderegister", "SF/steuer"],
	 "readiness": {"dsc": {"stage": "not_applicable", "note": "-keine Daten\nzweite Zeile"}}}
]}`

func TestImportCreatesUpdatesAndAudits(t *testing.T) {
	ts := newTestServer(t)
	ressortAdmin := ts.user("sf-admin", domain.Binding{Role: domain.RoleRessortverantwortliche, Ressort: "SF"})
	ts.user("sis-admin", domain.Binding{Role: domain.RoleRessortverantwortliche, Ressort: "SIS"})

	res := importResult(t, ts.do(request{method: "POST", path: "/v1/import", body: seedImport}))
	if got, want := counts(res), "created 3, updated 0, unchanged 0, deleted 0"; got != want {
		t.Errorf("first import: got %s, want %s", got, want)
	}
	// The Onlinedienst names a register created by the same import.
	od := decode[oapi.Onlinedienst](t, ts.do(request{method: "GET", path: "/v1/ressorts/SF/onlinedienste/wohngeld"}))
	if got, want := strings.Join(od.NachweiseFrom, ","), "SIS/melderegister,SF/steuer"; got != want {
		t.Errorf("nachweise_from = %s, want %s", got, want)
	}
	if rec := ts.do(request{method: "DELETE", path: "/v1/ressorts/SF/registers/steuer"}); rec.Code != http.StatusConflict {
		t.Errorf("DELETE of a register an imported Onlinedienst names: %d, want 409", rec.Code)
	}

	// A Ressortverantwortliche changes one entry of their own and re-sends the rest.
	again := `{"registers": [{"ressort": "SF", "key": "steuer", "name": "Steuerregister (neu)", "legal_basis": "AO", "contact": "steuer@finanzen.bremen.de"}]}`
	res = importResult(t, ts.do(request{method: "POST", path: "/v1/import", body: again, token: ressortAdmin}))
	if got, want := counts(res), "created 0, updated 1, unchanged 0, deleted 0"; got != want {
		t.Errorf("second import: got %s, want %s", got, want)
	}
	if got := res.Items[0]; got.Action != oapi.ImportedItemActionUpdated || got.Key != "steuer" || deref0(got.Index) != 0 {
		t.Errorf("item = %+v, want updated steuer at index 0", got)
	}
	history := decode[oapi.EventList](t, ts.do(request{method: "GET", path: "/v1/ressorts/SF/registers/steuer/history"}))
	if len(history.Items) != 2 {
		t.Fatalf("history has %d events, want 2", len(history.Items))
	}
	last := history.Items[0] // newest first
	if last.Actor != "sf-admin" || last.Action != oapi.EventActionUpdated {
		t.Errorf("last event by %s (%s), want sf-admin (updated)", last.Actor, last.Action)
	}
	if _, ok := last.Changes["name"]; !ok || len(last.Changes) != 1 {
		t.Errorf("changes = %v, want only name", last.Changes)
	}
	reg := decode[oapi.Register](t, ts.do(request{method: "GET", path: "/v1/ressorts/SF/registers/steuer"}))
	if reg.Version != 2 || reg.UpdatedBy != "sf-admin" {
		t.Errorf("register version %d by %s, want 2 by sf-admin", reg.Version, reg.UpdatedBy)
	}
	ts.checkVersionsMatchEntries()
}

// checkVersionsMatchEntries asserts that every entry's current version row is a copy of
// the entry's row, and that there is no current version without its entry.
func (ts *testServer) checkVersionsMatchEntries() {
	ts.t.Helper()
	var cols string
	if err := ts.db.Raw(`SELECT string_agg(column_name, ', ' ORDER BY ordinal_position)
		FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'entries'`).Scan(&cols).Error; err != nil {
		ts.t.Fatal(err)
	}
	var n int64
	err := ts.db.Raw(`SELECT count(*) FROM (
		(SELECT ` + cols + ` FROM entries EXCEPT SELECT ` + cols + ` FROM entry_versions WHERE valid_to IS NULL)
		UNION ALL
		(SELECT ` + cols + ` FROM entry_versions WHERE valid_to IS NULL EXCEPT SELECT ` + cols + ` FROM entries)) d`).Scan(&n).Error
	if err != nil {
		ts.t.Fatal(err)
	}
	if n != 0 {
		ts.t.Errorf("%d rows differ between entries and their current versions", n)
	}
}

func TestExportImportRoundTrip(t *testing.T) {
	ts := newTestServer(t)
	importResult(t, ts.do(request{method: "POST", path: "/v1/import", body: seedImport}))
	before := ts.fingerprint()

	t.Run("json", func(t *testing.T) {
		rec := ts.do(request{method: "GET", path: "/v1/export"})
		if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Disposition"), `attachment; filename="regmo-export-2026-03-15.json"`) {
			t.Fatalf("export: %d %v", rec.Code, rec.Header())
		}
		res := importResult(t, ts.do(request{method: "POST", path: "/v1/import", body: rec.Body.String()}))
		if got, want := counts(res), "created 0, updated 0, unchanged 3, deleted 0"; got != want {
			t.Errorf("re-import of the export: got %s, want %s\nexport: %s", got, want, rec.Body)
		}
	})
	for _, kind := range []string{"registers", "onlinedienste"} {
		t.Run("csv "+kind, func(t *testing.T) {
			rec := ts.do(request{method: "GET", path: "/v1/export?format=csv&kind=" + kind})
			if rec.Code != 200 || rec.Header().Get("Content-Type") != "text/csv; charset=utf-8" {
				t.Fatalf("export: %d %v", rec.Code, rec.Header())
			}
			if strings.Contains(rec.Body.String(), "\n=") || strings.Contains(rec.Body.String(), ",=") {
				t.Errorf("a cell starting with = is not neutralised:\n%s", rec.Body)
			}
			res := importResult(t, ts.do(csvRequest("kind="+kind, rec.Body.String())))
			if res.Unchanged == 0 || res.Created+res.Updated+res.Deleted != 0 {
				t.Errorf("re-import of the CSV export: got %s, want all unchanged\nexport:\n%s", counts(res), rec.Body)
			}
		})
	}
	if after := ts.fingerprint(); after != before {
		t.Errorf("round trips changed the database: %s → %s", before, after)
	}
}

func TestExportScope(t *testing.T) {
	ts := newTestServer(t)
	importResult(t, ts.do(request{method: "POST", path: "/v1/import", body: seedImport}))
	sis := ts.user("sis-admin", domain.Binding{Role: domain.RoleRessortverantwortliche, Ressort: "SIS"})
	rec := ts.do(request{method: "GET", path: "/v1/export", token: sis})
	got := decode[oapi.Inventory](t, rec)
	if got.Registers == nil || len(*got.Registers) != 1 || (*got.Registers)[0].Ressort != "SIS" {
		t.Errorf("SIS export registers = %+v, want only SIS/melderegister", got.Registers)
	}
	if got.Onlinedienste == nil || len(*got.Onlinedienste) != 0 {
		t.Errorf("SIS export onlinedienste = %+v, want an empty list", got.Onlinedienste)
	}
	if rec := ts.do(request{method: "GET", path: "/v1/export?format=csv"}); rec.Code != 400 {
		t.Errorf("CSV export without kind: %d, want 400", rec.Code)
	}
}

func TestImportRefusals(t *testing.T) {
	ts := newTestServer(t)
	importResult(t, ts.do(request{method: "POST", path: "/v1/import", body: seedImport}))
	sf := ts.user("sf-admin", domain.Binding{Role: domain.RoleRessortverantwortliche, Ressort: "SF"})
	ozg := ts.user("ozg", domain.Binding{Role: domain.RoleOZGKoordination})
	before := ts.fingerprint()
	tests := []struct {
		name   string
		req    request
		status int
		fields []string
	}{
		{"one foreign item", request{method: "POST", path: "/v1/import", token: sf,
			body: `{"registers": [{"ressort": "SF", "key": "a", "name": "A"}, {"ressort": "SIS", "key": "b", "name": "B"}]}`}, 403, nil},
		{"coordinators read only", request{method: "POST", path: "/v1/import", token: ozg,
			body: `{"registers": [{"ressort": "SF", "key": "a", "name": "A"}]}`}, 403, nil},
		{"replace of a foreign Ressort", request{method: "POST", path: "/v1/import?mode=replace&ressort=SIS", token: sf,
			body: `{"registers": []}`}, 403, nil},
		{"duplicate key", request{method: "POST", path: "/v1/import",
			body: `{"registers": [{"ressort": "SF", "key": "a", "name": "A"}, {"ressort": "SF", "key": "a", "name": "B"}]}`}, 422, []string{"key"}},
		{"every error at once", request{method: "POST", path: "/v1/import",
			body: `{"registers": [{"ressort": "SF", "key": "ok", "name": "A"}, {"ressort": "SF", "key": "B", "name": ""},
				{"ressort": "XX", "key": "c", "name": "C", "readiness": {"noots": {"stage": "done"}}}],
				"onlinedienste": [{"ressort": "SF", "key": "d", "name": "D", "nachweise_from": ["SIS/fehlt"], "idnrg_anlage_nr": 3}]}`},
			422, []string{"key", "name", "ressort", "readiness.noots.stage", "idnrg_anlage_nr", "nachweise_from[0]"}},
		{"wrong type and unknown field", request{method: "POST", path: "/v1/import",
			body: `{"registers": [{"ressort": "SF", "key": "a", "name": 5}, {"ressort": "SF", "key": "b", "name": "B", "Name": "x"}]}`},
			422, []string{"name", "Name"}},
		{"duplicate member", request{method: "POST", path: "/v1/import",
			body: `{"registers": [{"ressort": "SF", "key": "a", "name": "A", "name": "B"}]}`}, 400, nil},
		{"unknown list (422 like every unknown field)", request{method: "POST", path: "/v1/import", body: `{"register": []}`}, 422, []string{"register"}},
		{"not an object", request{method: "POST", path: "/v1/import", body: `[]`}, 400, nil},
		{"trailing data", request{method: "POST", path: "/v1/import", body: `{"registers": []} {}`}, 400, nil},
		{"cut off", request{method: "POST", path: "/v1/import", body: `{"registers": [{"ressort": "SF"`}, 400, nil},
		{"byte order mark", request{method: "POST", path: "/v1/import", body: "\ufeff{}"}, 400, nil},
		{"CSV without kind", csvRequest("", "ressort,key,name\nSF,a,A\n"), 400, []string{"kind"}},
		{"kind with JSON", request{method: "POST", path: "/v1/import?kind=registers", body: `{}`}, 400, []string{"kind"}},
		{"replace without ressort", request{method: "POST", path: "/v1/import?mode=replace", body: `{}`}, 400, []string{"ressort"}},
		{"form body", request{method: "POST", path: "/v1/import", body: "a=b",
			headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}, 415, nil},
		{"replace would leave a dangling reference", request{method: "POST", path: "/v1/import?mode=replace&ressort=SIS",
			body: `{"registers": [], "onlinedienste": []}`}, 422, []string{"key"}},
		{"replace with an item of another Ressort", request{method: "POST", path: "/v1/import?mode=replace&ressort=SIS",
			body: `{"registers": [{"ressort": "SIS", "key": "melderegister", "name": "Melderegister", "idnrg_anlage_nr": 1},
				{"ressort": "SF", "key": "x", "name": "X"}]}`}, 422, []string{"ressort"}},
		{"CSV unknown and repeated columns", csvRequest("kind=registers", "ressort,key,name,url,NAME\nSF,a,A,x,y\n"), 422, []string{"url", "NAME"}},
		{"CSV without a required column", csvRequest("kind=registers", "ressort,key\nSF,a\n"), 422, []string{"name"}},
		{"CSV empty", csvRequest("kind=registers", ""), 422, []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := ts.do(tt.req)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			if tt.fields != nil {
				got := problemFields(t, rec)
				for _, f := range tt.fields {
					if !slices.Contains(got, f) {
						t.Errorf("errors name %v, want also %q", got, f)
					}
				}
			}
			if after := ts.fingerprint(); after != before {
				t.Errorf("a refused import wrote: %s → %s", before, after)
			}
		})
	}
}

func TestImportCSVReportsEveryBadRow(t *testing.T) {
	ts := newTestServer(t)
	before := ts.fingerprint()
	var b strings.Builder
	b.WriteString("ressort,key,name,idnr_stage,idnr_target_date\r\n")
	bad := map[int]string{ // data row number → what is wrong
		17:  "idnr_stage",
		500: "idnrg",
		999: "count",
	}
	for i := range 1000 {
		switch bad[i] {
		case "idnr_stage":
			fmt.Fprintf(&b, "SF,r%04d,Register %d,fertig,\r\n", i, i)
		case "idnrg":
			fmt.Fprintf(&b, "SF,r%04d,Register %d,planned,31/12/2028\r\n", i, i) // TT.MM.JJJJ is a date since issue 14
		case "count":
			fmt.Fprintf(&b, "SF,r%04d,Register %d\r\n", i, i)
		default:
			fmt.Fprintf(&b, "SF,r%04d,Register %d,planned,2028-12-31\r\n", i, i)
		}
	}
	errs := importErrors(t, ts.do(csvRequest("kind=registers", b.String())))
	want := []struct {
		line  int
		field string
	}{{19, "idnr_stage"}, {502, "idnr_target_date"}, {1001, ""}}
	if len(errs) != len(want) {
		t.Fatalf("got %d errors, want %d: %+v", len(errs), len(want), errs)
	}
	for i, w := range want {
		if deref0(errs[i].Line) != w.line || errs[i].Field != w.field {
			t.Errorf("error %d: got line %d field %q, want line %d field %q", i, deref0(errs[i].Line), errs[i].Field, w.line, w.field)
		}
	}
	if after := ts.fingerprint(); after != before {
		t.Errorf("the refused import wrote: %s → %s", before, after)
	}
}

func TestImportCSVEdgeCases(t *testing.T) {
	ts := newTestServer(t)
	csv := "\ufeffRessort,KEY,Name,Description,idnr_note,leika_keys\r\n" + // BOM, any case
		"SF,a,\"Grundsteuer, Hebesätze\",\"Zeile eins\r\nZeile zwei\",'=1+1,\r\n" +
		"SF,b,Öffentliche Straßen,\"mit \"\"Zitat\"\"\",'@home,\r\n"
	errs := importErrors(t, ts.do(csvRequest("kind=registers", csv)))
	if len(errs) != 1 || errs[0].Field != "leika_keys" || deref0(errs[0].Line) != 1 {
		t.Fatalf("errors = %+v, want leika_keys on line 1 (not a register column)", errs)
	}
	csv = strings.ReplaceAll(csv, ",leika_keys", "")
	csv = strings.ReplaceAll(csv, ",'=1+1,", ",'=1+1")
	csv = strings.ReplaceAll(csv, ",'@home,", ",'@home")
	res := importResult(t, ts.do(csvRequest("kind=registers", csv)))
	if got, want := counts(res), "created 2, updated 0, unchanged 0, deleted 0"; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	if got := deref0(res.Items[1].Line); got != 4 {
		t.Errorf("second row starts on line %d, want 4 (the first spans two lines)", got)
	}
	a := decode[oapi.Register](t, ts.do(request{method: "GET", path: "/v1/ressorts/SF/registers/a"}))
	// A CRLF inside quotes is kept as sent (encoding/csv alone would read it as LF), so that
	// a text with CRLF comes back from its export unchanged.
	if a.Name != "Grundsteuer, Hebesätze" || a.Description != "Zeile eins\r\nZeile zwei" || a.Readiness.Idnr.Note != "=1+1" {
		t.Errorf("register a = %q / %q / %q", a.Name, a.Description, a.Readiness.Idnr.Note)
	}
	b := decode[oapi.Register](t, ts.do(request{method: "GET", path: "/v1/ressorts/SF/registers/b"}))
	if b.Name != "Öffentliche Straßen" || b.Description != `mit "Zitat"` || b.Readiness.Idnr.Note != "@home" {
		t.Errorf("register b = %q / %q / %q", b.Name, b.Description, b.Readiness.Idnr.Note)
	}
	t.Run("header only", func(t *testing.T) {
		res := importResult(t, ts.do(csvRequest("kind=registers", "ressort,key,name\n")))
		if got, want := counts(res), "created 0, updated 0, unchanged 0, deleted 0"; got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	})
	t.Run("not UTF-8", func(t *testing.T) {
		errs := importErrors(t, ts.do(csvRequest("kind=registers", "ressort,key,name\nSF,c,Stra\xdfe\n")))
		if len(errs) != 1 || errs[0].Field != "name" || deref0(errs[0].Line) != 2 {
			t.Errorf("errors = %+v, want name on line 2", errs)
		}
	})
	t.Run("bare quote", func(t *testing.T) {
		errs := importErrors(t, ts.do(csvRequest("kind=registers", "ressort,key,name\nSF,c,Das \"Register\n")))
		if len(errs) != 1 || deref0(errs[0].Line) != 2 {
			t.Errorf("errors = %+v, want one on line 2", errs)
		}
	})
}

func TestImportDryRunAndReplace(t *testing.T) {
	ts := newTestServer(t)
	importResult(t, ts.do(request{method: "POST", path: "/v1/import", body: seedImport}))
	extra := `{"registers": [{"ressort": "SF", "key": "kfz", "name": "Kfz-Register"}]}`
	importResult(t, ts.do(request{method: "POST", path: "/v1/import", body: extra}))
	before := ts.fingerprint()

	// SF keeps steuer (unchanged), drops kfz, renames wohngeld and drops its SIS reference.
	sync := `{"registers": [{"ressort": "SF", "key": "steuer", "name": "Steuerregister", "legal_basis": "AO", "contact": "steuer@finanzen.bremen.de"}],
		"onlinedienste": [{"ressort": "SF", "key": "wohngeld", "name": "Wohngeld", "leika_keys": ["99000000000000"],
			"url": "https://service.bremen.de/wohngeld", "nachweise_from": ["SF/steuer"],
			"readiness": {"dsc": {"stage": "not_applicable", "note": "-keine Daten\nzweite Zeile"}}}]}`
	dry := importResult(t, ts.do(request{method: "POST", path: "/v1/import?mode=replace&ressort=SF&dry_run=true", body: sync}))
	if got, want := counts(dry), "created 0, updated 1, unchanged 1, deleted 1"; got != want || !dry.DryRun {
		t.Errorf("dry run: got %s (dry_run %v), want %s", got, dry.DryRun, want)
	}
	if after := ts.fingerprint(); after != before {
		t.Fatalf("the dry run wrote: %s → %s", before, after)
	}
	res := importResult(t, ts.do(request{method: "POST", path: "/v1/import?mode=replace&ressort=SF", body: sync}))
	if counts(res) != counts(dry) || res.DryRun {
		t.Errorf("replace: got %s, want what the dry run said: %s", counts(res), counts(dry))
	}
	last := res.Items[len(res.Items)-1]
	if last.Action != oapi.ImportedItemActionDeleted || last.Key != "kfz" || last.Index != nil {
		t.Errorf("last item = %+v, want the deletion of kfz without index", last)
	}
	if rec := ts.do(request{method: "GET", path: "/v1/ressorts/SF/registers/kfz"}); rec.Code != 404 {
		t.Errorf("GET of the replaced-away register: %d, want 404", rec.Code)
	}
	if rec := ts.do(request{method: "GET", path: "/v1/ressorts/SIS/registers/melderegister"}); rec.Code != 200 {
		t.Errorf("a replacement of SF touched SIS: %d", rec.Code)
	}
	// Now nothing names SIS/melderegister, so SIS may replace it away.
	res = importResult(t, ts.do(request{method: "POST", path: "/v1/import?mode=replace&ressort=SIS", body: `{}`}))
	if got, want := counts(res), "created 0, updated 0, unchanged 0, deleted 1"; got != want {
		t.Errorf("empty replacement of SIS: got %s, want %s", got, want)
	}
	ts.checkVersionsMatchEntries()
	audit := decode[oapi.EventList](t, ts.do(request{method: "GET", path: "/v1/audit?action=deleted"}))
	if len(audit.Items) != 2 {
		t.Errorf("audit lists %d deletions, want 2", len(audit.Items))
	}
}

func TestImportTooLarge(t *testing.T) {
	ts := newTestServer(t)
	// 64 MiB of blanks inside the object: the limit is on bytes, whatever they hold.
	body := io.MultiReader(strings.NewReader(`{"registers": [`),
		io.LimitReader(blanks{}, transfer.MaxImportBytes), strings.NewReader(`]}`))
	req := httptest.NewRequest("POST", "/v1/import", body)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+ts.admin)
	rec := httptest.NewRecorder()
	ts.srv.ServeHTTP(rec, req)
	checkResponse(t, request{method: "POST", path: "/v1/import"}, rec)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d, want 413; body %s", rec.Code, rec.Body)
	}
}

type blanks struct{}

func (blanks) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}

// TestConcurrentImports runs imports that create the same entries at the same time, and a
// PATCH in between: every request succeeds or fails cleanly, and the end state holds one
// entry per key with a history that explains every version.
func TestConcurrentImports(t *testing.T) {
	ts := newTestServer(t)
	var b strings.Builder
	b.WriteString("ressort,key,name\n")
	for i := range 200 {
		fmt.Fprintf(&b, "SF,k%03d,Register %d\n", i, i)
	}
	body := b.String()
	const n = 4
	codes := make(chan int, n+1)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			codes <- ts.do(csvRequest("kind=registers", body)).Code
		})
	}
	wg.Go(func() {
		// The entry may not exist yet (404) or may be changed (200); never a 5xx.
		codes <- ts.do(request{method: "PATCH", path: "/v1/ressorts/SF/registers/k007", body: `{"description": "zwischendurch"}`}).Code
	})
	wg.Wait()
	close(codes)
	for code := range codes {
		if code != 200 && code != 404 {
			t.Errorf("a concurrent request answered %d, want 200 (or 404 for the PATCH)", code)
		}
	}
	var entries, created int64
	ts.db.Raw(`SELECT count(*) FROM entries WHERE ressort = 'SF'`).Scan(&entries)
	ts.db.Raw(`SELECT count(*) FROM events WHERE ressort = 'SF' AND action = 'created'`).Scan(&created)
	if entries != 200 || created != 200 {
		t.Errorf("got %d entries and %d created events, want 200 and 200", entries, created)
	}
	ts.checkVersionsMatchEntries()
}
