package api_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/bremen/regmo/api/oapi"
	"github.com/bremen/regmo/domain"
)

// TestReadinessReportAgainstBruteForce builds a random inventory through the API and checks
// every number of the report against a count over the entries as listed.
func TestReadinessReportAgainstBruteForce(t *testing.T) {
	ts := newTestServer(t)
	rng := rand.New(rand.NewPCG(7, 11))
	ressorts := []string{"SF", "SIS", "SWHT", "ZGF"}
	stages := []string{"not_started", "planned", "in_progress", "testing", "live", "not_applicable"}
	dates := []string{"", "2026-01-31", "2026-03-14", "2026-03-15", "2026-12-31"} // today is 2026-03-15
	for i := range 80 {
		kind := []string{"registers", "onlinedienste"}[rng.IntN(2)]
		dims := map[string]any{}
		for _, d := range []string{"idnr", "noots", "dsc"} {
			st := stages[rng.IntN(len(stages))]
			dim := map[string]any{"stage": st, "note": "Begründung"}
			if date := dates[rng.IntN(len(dates))]; date != "" {
				dim["target_date"] = date
			}
			dims[d] = dim
		}
		body, _ := json.Marshal(map[string]any{"name": fmt.Sprintf("Eintrag %d", i), "readiness": dims})
		path := fmt.Sprintf("/v1/ressorts/%s/%s/e%02d", ressorts[rng.IntN(len(ressorts))], kind, i)
		if rec := ts.do(request{method: "PUT", path: path, body: string(body)}); rec.Code != 201 {
			t.Fatalf("PUT %s: %d %s", path, rec.Code, rec.Body)
		}
	}

	report := decode[oapi.ReadinessReport](t, ts.do(request{method: "GET", path: "/v1/reports/readiness"}))
	if len(report.Ressorts) != 10 {
		t.Errorf("report lists %d Ressorts, want all 10 (also empty ones)", len(report.Ressorts))
	}
	want := map[string]map[string]oapi.KindSummary{}
	total := map[string]oapi.KindSummary{"registers": {}, "onlinedienste": {}}
	count := func(kind string, r oapi.Readiness, ressort string) {
		if want[ressort] == nil {
			want[ressort] = map[string]oapi.KindSummary{}
		}
		for _, k := range []map[string]oapi.KindSummary{want[ressort], total} {
			s := k[kind]
			s.Count++
			if r.Idnr.Ready && r.Noots.Ready && r.Dsc.Ready {
				s.FullyReady++
			}
			for _, p := range []struct {
				dim *oapi.DimensionSummary
				d   oapi.Dimension
			}{{&s.Dimensions.Idnr, r.Idnr}, {&s.Dimensions.Noots, r.Noots}, {&s.Dimensions.Dsc, r.Dsc}} {
				stageCount(p.dim, p.d.Stage)
				if p.d.Ready {
					p.dim.Ready++
				}
				if p.d.Overdue {
					p.dim.Overdue++
				}
			}
			k[kind] = s
		}
	}
	for _, r := range decode[oapi.RegisterList](t, ts.do(request{method: "GET", path: "/v1/registers?limit=1000"})).Items {
		count("registers", r.Readiness, r.Ressort)
	}
	for _, o := range decode[oapi.OnlinedienstList](t, ts.do(request{method: "GET", path: "/v1/onlinedienste?limit=1000"})).Items {
		count("onlinedienste", o.Readiness, o.Ressort)
	}
	for _, rs := range report.Ressorts {
		checkSummary(t, rs.Ressort+"/registers", rs.Registers, want[rs.Ressort]["registers"])
		checkSummary(t, rs.Ressort+"/onlinedienste", rs.Onlinedienste, want[rs.Ressort]["onlinedienste"])
	}
	checkSummary(t, "total/registers", report.Total.Registers, total["registers"])
	checkSummary(t, "total/onlinedienste", report.Total.Onlinedienste, total["onlinedienste"])

	// A Ressortverantwortliche's report equals the coordinator's filtered to that Ressort.
	sis := ts.user("sis", domain.Binding{Role: domain.RoleRessortverantwortliche, Ressort: "SIS"})
	own := decode[oapi.ReadinessReport](t, ts.do(request{method: "GET", path: "/v1/reports/readiness", token: sis}))
	filtered := decode[oapi.ReadinessReport](t, ts.do(request{method: "GET", path: "/v1/reports/readiness?ressort=SIS"}))
	if len(own.Ressorts) != 1 || own.Ressorts[0].Ressort != "SIS" {
		t.Fatalf("SIS's report lists %d Ressorts, want only SIS", len(own.Ressorts))
	}
	if !reflect.DeepEqual(own.Ressorts, filtered.Ressorts) || !reflect.DeepEqual(own.Total, filtered.Total) {
		t.Errorf("SIS's report differs from the coordinator's filtered to SIS")
	}
	if !reflect.DeepEqual(own.Total.Registers, own.Ressorts[0].Registers) {
		t.Errorf("SIS's total %+v is not SIS's own line", own.Total.Registers)
	}
	onlyRegs := decode[oapi.ReadinessReport](t, ts.do(request{method: "GET", path: "/v1/reports/readiness?kind=registers"}))
	if onlyRegs.Total.Onlinedienste.Count != 0 || !reflect.DeepEqual(onlyRegs.Total.Registers, report.Total.Registers) {
		t.Errorf("kind=registers: onlinedienste %d, registers equal %v", onlyRegs.Total.Onlinedienste.Count,
			reflect.DeepEqual(onlyRegs.Total.Registers, report.Total.Registers))
	}
}

func stageCount(d *oapi.DimensionSummary, s oapi.Stage) {
	switch s {
	case oapi.NotStarted:
		d.Stages.NotStarted++
	case oapi.Planned:
		d.Stages.Planned++
	case oapi.InProgress:
		d.Stages.InProgress++
	case oapi.Testing:
		d.Stages.Testing++
	case oapi.Live:
		d.Stages.Live++
	case oapi.NotApplicable:
		d.Stages.NotApplicable++
	}
}

func checkSummary(t *testing.T, name string, got, want oapi.KindSummary) {
	t.Helper()
	for _, d := range []*oapi.DimensionSummary{&want.Dimensions.Idnr, &want.Dimensions.Noots, &want.Dimensions.Dsc} {
		if want.Count > 0 {
			d.ReadyPct = math.Round(float64(d.Ready)*1000/float64(want.Count)) / 10
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", name, got, want)
	}
}

func TestReadinessReportCSV(t *testing.T) {
	ts := newTestServer(t)
	ts.seedList()
	if rec := ts.do(request{method: "PUT", path: "/v1/ressorts/EVIL", body: `{"name":"=HYPERLINK(\"http://x\")"}`}); rec.Code != 201 {
		t.Fatalf("create Ressort: %d", rec.Code)
	}
	for _, r := range []request{
		{method: "GET", path: "/v1/reports/readiness?format=csv"},
		{method: "GET", path: "/v1/reports/readiness", headers: map[string]string{"Accept": "text/csv"}},
	} {
		rec := ts.do(r)
		if rec.Code != 200 || rec.Header().Get("Content-Type") != "text/csv" {
			t.Fatalf("%s: status %d type %q", r.path, rec.Code, rec.Header().Get("Content-Type"))
		}
		if got := rec.Header().Get("Content-Disposition"); got != `attachment; filename="readiness-2026-03-15.csv"` {
			t.Errorf("Content-Disposition %q", got)
		}
		rows, err := csv.NewReader(strings.NewReader(rec.Body.String())).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		// header + (11 Ressorts + total) × 2 kinds × 3 dimensions
		if len(rows) != 1+12*2*3 {
			t.Errorf("%d rows, want %d", len(rows), 1+12*2*3)
		}
		if !strings.Contains(rec.Body.String(), `'=HYPERLINK`) || strings.Contains(rec.Body.String(), `,=HYPERLINK`) {
			t.Error("a Ressort name starting with = is not neutralised")
		}
		last := rows[len(rows)-1]
		if last[0] != "Gesamt" || last[2] != "Onlinedienste" || last[3] != "dsc" || last[4] != "1" {
			t.Errorf("last row %v, want the total of Onlinedienste in dsc with count 1", last)
		}
	}
	if rec := ts.do(request{method: "GET", path: "/v1/reports/readiness?format=pdf"}); rec.Code != 400 {
		t.Errorf("format=pdf: %d, want 400", rec.Code)
	}
}

func TestFindingReports(t *testing.T) {
	ts := newTestServer(t)
	for _, e := range []struct{ path, body string }{
		{"/v1/ressorts/SIS/registers/melderegister", `{"name":"Melderegister","idnrg_anlage_nr":1,"readiness":{
			"idnr":{"stage":"live"},"noots":{"stage":"planned","target_date":"2026-03-01"},"dsc":{"stage":"planned","target_date":"2026-03-10"}}}`},
		{"/v1/ressorts/SIS/registers/passregister", `{"name":"Passregister","idnrg_anlage_nr":22,"readiness":{
			"idnr":{"stage":"live"},"noots":{"stage":"live"},"dsc":{"stage":"in_progress"}}}`},
		{"/v1/ressorts/SF/registers/grundsteuer", `{"name":"Grundsteuer","readiness":{"noots":{"stage":"live"}}}`},
		{"/v1/ressorts/SF/onlinedienste/umzug", `{"name":"Umzug melden","nachweise_from":["SIS/melderegister","SF/grundsteuer"]}`},
	} {
		if rec := ts.do(request{method: "PUT", path: e.path, body: e.body}); rec.Code != 201 {
			t.Fatalf("PUT %s: %d %s", e.path, rec.Code, rec.Body)
		}
	}
	sf := ts.user("sf", domain.Binding{Role: domain.RoleRessortverantwortliche, Ressort: "SF"})

	overdue := decode[oapi.OverdueReport](t, ts.do(request{method: "GET", path: "/v1/reports/overdue"}))
	var got []string
	for _, it := range overdue.Items {
		got = append(got, fmt.Sprintf("%s/%s %s %d", it.Ressort, it.Key, it.Dimension, it.DaysOverdue))
	}
	if want := []string{"SIS/melderegister noots 14", "SIS/melderegister dsc 5"}; !reflect.DeepEqual(got, want) {
		t.Errorf("overdue %v, want %v", got, want)
	}
	if n := len(decode[oapi.OverdueReport](t, ts.do(request{method: "GET", path: "/v1/reports/overdue", token: sf})).Items); n != 0 {
		t.Errorf("SF sees %d overdue items of SIS", n)
	}

	findings := decode[oapi.ConsistencyReport](t, ts.do(request{method: "GET", path: "/v1/reports/consistency"})).Findings
	if len(findings) != 1 || findings[0].Key != "passregister" || findings[0].Rule != "idnr-transfer-requires-dsc" {
		t.Errorf("findings %+v, want the coupling rule on SIS/passregister", findings)
	}

	coverage := decode[oapi.AnlageCoverageReport](t, ts.do(request{method: "GET", path: "/v1/reports/anlage-coverage"})).Items
	gaps := 0
	for _, c := range coverage {
		if c.Gap {
			gaps++
		}
	}
	if len(coverage) != 50 || gaps != 48 || len(coverage[0].Registers) != 1 || coverage[0].Registers[0].Key != "melderegister" {
		t.Errorf("coverage: %d items, %d gaps, nr 1 = %+v", len(coverage), gaps, coverage[0].Registers)
	}
	sfCoverage := decode[oapi.AnlageCoverageReport](t, ts.do(request{method: "GET", path: "/v1/reports/anlage-coverage", token: sf})).Items
	if len(sfCoverage[0].Registers) != 0 || !sfCoverage[0].Gap {
		t.Errorf("SF sees SIS's registers in the coverage: %+v", sfCoverage[0])
	}

	for _, token := range []string{"", sf} {
		blocked := decode[oapi.BlockedReport](t, ts.do(request{method: "GET", path: "/v1/reports/blocked", token: token})).Items
		if len(blocked) != 1 || blocked[0].Key != "umzug" || len(blocked[0].BlockedBy) != 1 ||
			blocked[0].BlockedBy[0] != (oapi.Blocker{Ressort: "SIS", Key: "melderegister", Name: "Melderegister", NootsStage: oapi.Planned}) {
			t.Errorf("blocked %+v, want SF/umzug blocked by SIS/melderegister (planned)", blocked)
		}
	}
}

func TestProgressReport(t *testing.T) {
	day := func(d, h int) time.Time { return time.Date(2026, 3, d, h, 0, 0, 0, time.UTC) }
	clk := &clock{t: day(1, 9)}
	ts := newTestServerAt(t, clk.now)
	sis := ts.user("sis", domain.Binding{Role: domain.RoleRessortverantwortliche, Ressort: "SIS"})
	steps := []struct {
		at  time.Time
		req request
	}{
		{day(1, 9), request{method: "PUT", path: "/v1/ressorts/SIS/registers/melderegister", body: `{"name":"Melderegister","readiness":{"noots":{"stage":"planned"}}}`}},
		{day(2, 9), request{method: "PUT", path: "/v1/ressorts/SF/registers/grundsteuer", body: `{"name":"Grundsteuer"}`}},
		{day(3, 9), request{method: "PATCH", path: "/v1/ressorts/SIS/registers/melderegister", body: `{"readiness":{"noots":{"stage":"live"}}}`, token: sis}},
		{day(6, 9), request{method: "PATCH", path: "/v1/ressorts/SIS/registers/melderegister", body: `{"readiness":{"dsc":{"stage":"planned"}}}`, token: sis}},
	}
	for _, st := range steps {
		clk.set(st.at)
		if rec := ts.do(st.req); rec.Code >= 300 {
			t.Fatalf("%s %s: %d", st.req.method, st.req.path, rec.Code)
		}
	}
	clk.set(day(10, 9))
	rec := ts.do(request{method: "GET", path: "/v1/reports/progress?from=2026-03-01&to=2026-03-04&ressort=SIS", token: sis})
	if rec.Code != 200 {
		t.Fatalf("progress: %d %s", rec.Code, rec.Body)
	}
	p := decode[oapi.ProgressReport](t, rec)
	var changes []string
	for _, c := range p.Changes {
		changes = append(changes, fmt.Sprintf("%s/%s %s %s>%s %s", c.Ressort, c.Key, c.Dimension, c.From, c.To, c.Actor))
	}
	if want := []string{"SIS/melderegister noots planned>live sis"}; !reflect.DeepEqual(changes, want) {
		t.Errorf("changes %v, want %v", changes, want)
	}
	var noots oapi.ProgressLine
	for _, l := range p.Ready {
		if l.Ressort == "SIS" && l.Kind == "register" && l.Dimension == "noots" {
			noots = l
		}
	}
	if noots.CountFrom != 1 || noots.ReadyFrom != 0 || noots.CountTo != 1 || noots.ReadyTo != 1 {
		t.Errorf("SIS registers noots = %+v, want 1 entry, ready 0 → 1", noots)
	}
	if len(p.Ready) != 6 {
		t.Errorf("%d ready lines for one Ressort, want 2 kinds × 3 dimensions", len(p.Ready))
	}
	// SF's creation on 2 March is not SIS's business.
	all := decode[oapi.ProgressReport](t, ts.do(request{method: "GET", path: "/v1/reports/progress?from=2026-03-01&to=2026-03-04"}))
	if len(all.Changes) != 4 {
		t.Errorf("coordinator sees %d changes, want 4 (SF's three created stages and SIS's patch)", len(all.Changes))
	}
	if rec := ts.do(request{method: "GET", path: "/v1/reports/progress?from=2026-03-05&to=2026-03-04"}); rec.Code != 422 {
		t.Errorf("from after to: %d, want 422", rec.Code)
	}
	if rec := ts.do(request{method: "GET", path: "/v1/reports/progress"}); rec.Code != 400 {
		t.Errorf("without from: %d, want 400", rec.Code)
	}
}

func TestReportWorkbooks(t *testing.T) {
	ts := newTestServer(t)
	ts.seedList()
	if rec := ts.do(request{method: "PUT", path: "/v1/ressorts/EVIL", body: `{"name":"@SUM(A1)"}`}); rec.Code != 201 {
		t.Fatalf("create Ressort: %d", rec.Code)
	}
	const xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	tests := []struct {
		path, file, sheet string
		sheets            int
	}{
		{"/v1/reports/readiness?format=xlsx", "readiness-2026-03-15.xlsx", "Bereitschaft", 2}, // and Diagramm
		{"/v1/reports/overdue?format=xlsx", "overdue-2026-03-15.xlsx", "Überfällig", 1},
		{"/v1/reports/consistency?format=xlsx", "consistency-2026-03-15.xlsx", "Befunde", 1},
		{"/v1/reports/anlage-coverage?format=xlsx", "anlage-coverage-2026-03-15.xlsx", "Anlage-Abdeckung", 1},
		{"/v1/reports/blocked?format=xlsx", "blocked-2026-03-15.xlsx", "Blockiert", 1},
		{"/v1/reports/progress?from=2026-03-01&format=xlsx", "progress-2026-03-15.xlsx", "Änderungen", 2},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			rec := ts.do(request{method: "GET", path: tt.path})
			if rec.Code != 200 || rec.Header().Get("Content-Type") != xlsxType {
				t.Fatalf("status %d type %q", rec.Code, rec.Header().Get("Content-Type"))
			}
			if got, want := rec.Header().Get("Content-Disposition"), `attachment; filename="`+tt.file+`"`; got != want {
				t.Errorf("Content-Disposition %q, want %q", got, want)
			}
			f, err := excelize.OpenReader(bytes.NewReader(rec.Body.Bytes()))
			if err != nil {
				t.Fatalf("not a workbook: %v", err)
			}
			defer f.Close()
			if sheets := f.GetSheetList(); len(sheets) != tt.sheets || sheets[0] != tt.sheet {
				t.Errorf("sheets %v, want %d starting with %s", sheets, tt.sheets, tt.sheet)
			}
			panes, err := f.GetPanes(tt.sheet)
			if err != nil || !panes.Freeze || panes.YSplit != 1 {
				t.Errorf("header row not frozen: %+v %v", panes, err)
			}
		})
	}
	rec := ts.do(request{method: "GET", path: "/v1/reports/readiness?format=xlsx"})
	f, err := excelize.OpenReader(bytes.NewReader(rec.Body.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := f.GetRows("Bereitschaft")
	if rows[0][0] != "Ressort" || rows[0][13] != "bereit %" {
		t.Errorf("header %v", rows[0])
	}
	typ, _ := f.GetCellType("Bereitschaft", "E2")
	if v, _ := f.GetCellValue("Bereitschaft", "E2"); typ == excelize.CellTypeSharedString || typ == excelize.CellTypeInlineString || v == "" {
		t.Errorf("Anzahl E2 = %q of type %v, want a number", v, typ)
	}
	found := false
	for _, row := range rows {
		if len(row) > 1 && row[1] == "'@SUM(A1)" {
			found = true
		}
	}
	if !found {
		t.Error("a Ressort name starting with @ is not neutralised in the workbook")
	}
	csvRec := ts.do(request{method: "GET", path: "/v1/reports/overdue?format=csv"})
	if csvRec.Header().Get("Content-Type") != "text/csv" || !strings.HasPrefix(csvRec.Body.String(), "Ressort,Schlüssel,Name,Art,Dimension,Stufe,Zieldatum,Tage überfällig\r\n") {
		t.Errorf("overdue CSV: %q", csvRec.Body.String())
	}
}
