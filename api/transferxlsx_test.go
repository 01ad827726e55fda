package api_test

import (
	"archive/zip"
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/bremen/regmo/api/oapi"
	"github.com/bremen/regmo/domain"
)

const mediaXLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// xlsxRequest posts a workbook import.
func xlsxRequest(query string, body []byte) request {
	return request{method: "POST", path: "/v1/import?" + query, body: string(body),
		headers: map[string]string{"Content-Type": mediaXLSX}}
}

// exportWorkbook downloads the export as a workbook, opened with excelize.
func (ts *testServer) exportWorkbook(query string) (*excelize.File, []byte) {
	ts.t.Helper()
	rec := ts.do(request{method: "GET", path: "/v1/export?format=xlsx" + query})
	if rec.Code != http.StatusOK {
		ts.t.Fatalf("export: status %d, want 200; body %s", rec.Code, rec.Body)
	}
	if got := rec.Header().Get("Content-Type"); got != mediaXLSX {
		ts.t.Errorf("export Content-Type = %q, want %q", got, mediaXLSX)
	}
	data := rec.Body.Bytes()
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		ts.t.Fatalf("export is no workbook: %v", err)
	}
	ts.t.Cleanup(func() { _ = f.Close() })
	return f, data
}

// cellOf finds the cell of a column in the row of an entry, as a person would.
func cellOf(t *testing.T, f *excelize.File, sheet, column, key string) string {
	t.Helper()
	rows, err := f.GetRows(sheet)
	if err != nil || len(rows) == 0 {
		t.Fatalf("sheet %s: %v", sheet, err)
	}
	col := slices.Index(rows[0], column)
	keyCol := slices.Index(rows[0], "key")
	for i, row := range rows[1:] {
		if keyCol < len(row) && row[keyCol] == key {
			name, _ := excelize.CoordinatesToCellName(col+1, i+2)
			return name
		}
	}
	t.Fatalf("sheet %s has no row with key %s", sheet, key)
	return ""
}

func workbookBytes(t *testing.T, f *excelize.File) []byte {
	t.Helper()
	buf, err := f.WriteToBuffer()
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestXLSXRoundTrip is a Referent:in's cycle: download the workbook, import it unchanged,
// change one stage and one target date in it as in Excel, see exactly those in the dry run,
// import them with their name in the audit trail.
func TestXLSXRoundTrip(t *testing.T) {
	ts := newTestServer(t)
	importResult(t, ts.do(request{method: "POST", path: "/v1/import", body: seedImport}))
	referentin := ts.user("referentin", domain.Binding{Role: domain.RoleRessortverantwortliche, Ressort: "SF"},
		domain.Binding{Role: domain.RoleRessortverantwortliche, Ressort: "SIS"})

	f, data := ts.exportWorkbook("")
	if got, want := f.GetSheetList(), []string{"Register", "Onlinedienste"}; !slices.Equal(got, want) {
		t.Errorf("sheets = %v, want %v", got, want)
	}
	res := importResult(t, ts.do(xlsxRequest("", data)))
	if got, want := counts(res), "created 0, updated 0, unchanged 3, deleted 0"; got != want {
		t.Errorf("import of the export: got %s, want %s", got, want)
	}
	if it := res.Items[0]; it.Sheet == nil || *it.Sheet != "Register" || deref0(it.Line) != 2 {
		t.Errorf("first item %+v, want sheet Register, line 2", it)
	}

	// As in Excel: pick a stage from the list, type a date into a date cell.
	stage := cellOf(t, f, "Register", "noots_stage", "melderegister")
	if err := f.SetCellValue("Register", stage, "live"); err != nil {
		t.Fatal(err)
	}
	target := cellOf(t, f, "Register", "idnr_target_date", "steuer")
	if err := f.SetCellValue("Register", target, time.Date(2028, 12, 31, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	edited := workbookBytes(t, f)
	before := ts.fingerprint()
	dry := importResult(t, ts.do(xlsxRequest("dry_run=true", edited).as(referentin)))
	if got, want := counts(dry), "created 0, updated 2, unchanged 1, deleted 0"; got != want || !dry.DryRun {
		t.Errorf("dry run: got %s (dry_run %v), want %s", got, dry.DryRun, want)
	}
	var updated []string
	for _, it := range dry.Items {
		if it.Action == oapi.ImportedItemActionUpdated {
			updated = append(updated, fmt.Sprintf("%s/%s row %d", it.Ressort, it.Key, deref0(it.Line)))
		}
	}
	if got, want := strings.Join(updated, ", "), "SF/steuer row 2, SIS/melderegister row 3"; got != want {
		t.Errorf("dry run updates %s, want %s", got, want)
	}
	if ts.fingerprint() != before {
		t.Error("the dry run wrote")
	}

	if got := counts(importResult(t, ts.do(xlsxRequest("", edited).as(referentin)))); got != "created 0, updated 2, unchanged 1, deleted 0" {
		t.Errorf("import: got %s", got)
	}
	for _, c := range []struct{ path, change, from, to string }{
		{"/v1/ressorts/SIS/registers/melderegister/history", "readiness.noots.stage", "testing", "live"},
		{"/v1/ressorts/SF/registers/steuer/history", "readiness.idnr.target_date", "", "2028-12-31"},
	} {
		h := decode[oapi.EventList](t, ts.do(request{method: "GET", path: c.path}))
		last := h.Items[0]
		if last.Actor != "referentin" || len(last.Changes) != 1 {
			t.Errorf("%s: last event by %s with changes %v, want referentin with only %s", c.path, last.Actor, last.Changes, c.change)
			continue
		}
		ch, ok := last.Changes[c.change]
		if got := fmt.Sprint(ch.From, "→", ch.To); !ok || !strings.Contains(got, c.to) {
			t.Errorf("%s: change %s = %v, want %s → %s", c.path, c.change, got, c.from, c.to)
		}
	}
	// And the workbook of now imports as it is.
	_, again := ts.exportWorkbook("&kind=registers")
	if got := counts(importResult(t, ts.do(xlsxRequest("", again)))); got != "created 0, updated 0, unchanged 2, deleted 0" {
		t.Errorf("import of the registers' workbook: got %s", got)
	}
}

// as sends the request with another token.
func (r request) as(token string) request { r.token = token; return r }

// part is one file of a hand-made workbook.
type part struct{ name, body string }

// handMade builds an XLSX file without excelize, as another program would write it.
func handMade(t *testing.T, parts ...part) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, p := range parts {
		w, err := zw.Create(p.name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(p.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const (
	xmlHead   = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n"
	nsMain    = `xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"`
	nsRel     = `xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"`
	relPrefix = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
)

// skeleton is the package around the sheets: the sheets are named in order, sheetN.xml, the
// hidden ones with state="hidden"; sst adds a shared string table.
func skeleton(sheets []string, hidden map[string]bool, sst bool) []part {
	var wbSheets, rels, types strings.Builder
	for i, name := range sheets {
		state := ""
		if hidden[name] {
			state = ` state="hidden"`
		}
		fmt.Fprintf(&wbSheets, `<sheet name="%s" sheetId="%d"%s r:id="rId%d"/>`, name, i+1, state, i+1)
		fmt.Fprintf(&rels, `<Relationship Id="rId%d" Type="%sworksheet" Target="worksheets/sheet%d.xml"/>`, i+1, relPrefix, i+1)
		fmt.Fprintf(&types, `<Override PartName="/xl/worksheets/sheet%d.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>`, i+1)
	}
	if sst {
		fmt.Fprintf(&rels, `<Relationship Id="rId99" Type="%ssharedStrings" Target="sharedStrings.xml"/>`, relPrefix)
	}
	return []part{
		{"[Content_Types].xml", xmlHead + `<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
			`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>` +
			`<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>` + types.String() + `</Types>`},
		{"_rels/.rels", xmlHead + `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
			`<Relationship Id="rId1" Type="` + relPrefix + `officeDocument" Target="xl/workbook.xml"/></Relationships>`},
		{"xl/workbook.xml", xmlHead + `<workbook ` + nsMain + ` ` + nsRel + `><sheets>` + wbSheets.String() + `</sheets></workbook>`},
		{"xl/_rels/workbook.xml.rels", xmlHead + `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` + rels.String() + `</Relationships>`},
	}
}

func worksheet(rows string) string {
	return xmlHead + `<worksheet ` + nsMain + ` ` + nsRel + `><dimension ref="A1:Z99"/><sheetData>` + rows + `</sheetData></worksheet>`
}

// inlineRow writes a row of inline strings, as streaming writers do.
func inlineRow(num int, cells ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<row r="%d">`, num)
	for i, c := range cells {
		if c == "" {
			continue
		}
		ref, _ := excelize.CoordinatesToCellName(i+1, num)
		fmt.Fprintf(&b, `<c r="%s" t="inlineStr"><is><t xml:space="preserve">%s</t></is></c>`, ref, c)
	}
	return b.String() + `</row>`
}

// TestXLSXWrittenElsewhere imports workbooks no excelize wrote: inline strings without
// styles, and shared strings with rich text, numbers and serial dates as LibreOffice and
// Excel write them; hidden and other sheets are ignored, empty rows and columns too.
func TestXLSXWrittenElsewhere(t *testing.T) {
	ts := newTestServer(t)
	registers := worksheet(
		inlineRow(1, "ressort", "key", "name", "idnrg_anlage_nr", "noots_stage", "noots_target_date", "", "") +
			// a number stored as text, a German date as text
			inlineRow(2, "SF", "grundsteuer", "Grundsteuer &amp; mehr", "7", "planned", "30.06.2027") +
			`<row r="3"/>` + // an empty row in between
			// a number as a number, an ISO date as text, an empty cell with only a style
			`<row r="4"><c r="A4" t="inlineStr"><is><t>SF</t></is></c><c r="B4" t="inlineStr"><is><t>kasse</t></is></c>` +
			`<c r="C4" t="inlineStr"><is><r><t>Kassen</t></r><r><rPr><b/></rPr><t>verfahren</t></r></is></c><c r="D4"><v>12</v></c>` +
			`<c r="F4" t="inlineStr"><is><t>2027-01-31</t></is></c><c r="H4" s="3"/></row>` +
			`<row r="20"><c r="H20" s="1"/></row>`) // trailing rows with nothing in them
	// The Onlinedienste as LibreOffice writes them: shared strings, numbers with t="n", a
	// serial date, dimension and column widths.
	onlinedienste := xmlHead + `<worksheet ` + nsMain + ` ` + nsRel + `><sheetPr filterMode="false"/><dimension ref="A1:E2"/>` +
		`<cols><col min="1" max="5" width="12"/></cols><sheetData>` +
		`<row r="1" spans="1:5"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c><c r="D1" t="s"><v>3</v></c><c r="E1" t="s"><v>4</v></c></row>` +
		`<row r="2" spans="1:5"><c r="A2" t="s"><v>5</v></c><c r="B2" t="s"><v>6</v></c><c r="C2" t="s"><v>7</v></c><c r="D2" t="n"><v>99050012104000</v></c><c r="E2" t="n"><v>46387</v></c></row>` +
		`</sheetData></worksheet>`
	sst := xmlHead + `<sst ` + nsMain + ` count="8" uniqueCount="8">` +
		`<si><t>ressort</t></si><si><t>key</t></si><si><t>name</t></si><si><t>leika_keys</t></si><si><t>dsc_target_date</t></si>` +
		`<si><t>SF</t></si><si><t>gewerbe</t></si><si><r><t xml:space="preserve">Gewerbe </t></r><r><t>anmelden</t></r><rPh sb="0" eb="1"><t>ignored</t></rPh></si></sst>`
	notes := worksheet(inlineRow(1, "Notizen, nicht importieren") + `<row r="2"><c r="A2"><f>1/0</f><v>#DIV/0!</v></c></row>`)
	parts := append(skeleton([]string{"Notizen", "Register", "Onlinedienste", "Versteckt"}, map[string]bool{"Versteckt": true}, true),
		part{"xl/worksheets/sheet1.xml", notes}, part{"xl/worksheets/sheet2.xml", registers},
		part{"xl/worksheets/sheet3.xml", onlinedienste}, part{"xl/worksheets/sheet4.xml", notes},
		part{"xl/sharedStrings.xml", sst})

	res := importResult(t, ts.do(xlsxRequest("", handMade(t, parts...))))
	if got, want := counts(res), "created 3, updated 0, unchanged 0, deleted 0"; got != want {
		t.Fatalf("import: got %s, want %s", got, want)
	}
	reg := decode[oapi.Register](t, ts.do(request{method: "GET", path: "/v1/ressorts/SF/registers/grundsteuer"}))
	if reg.Name != "Grundsteuer & mehr" || reg.IdnrgAnlageNr == nil || *reg.IdnrgAnlageNr != 7 ||
		reg.Readiness.Noots.Stage != oapi.Planned || deref(reg.Readiness.Noots.TargetDate) != "2027-06-30" {
		t.Errorf("grundsteuer = %+v", reg)
	}
	kasse := decode[oapi.Register](t, ts.do(request{method: "GET", path: "/v1/ressorts/SF/registers/kasse"}))
	if kasse.Name != "Kassenverfahren" || kasse.IdnrgAnlageNr == nil || *kasse.IdnrgAnlageNr != 12 || deref(kasse.Readiness.Noots.TargetDate) != "2027-01-31" {
		t.Errorf("kasse = %+v", kasse)
	}
	od := decode[oapi.Onlinedienst](t, ts.do(request{method: "GET", path: "/v1/ressorts/SF/onlinedienste/gewerbe"}))
	if od.Name != "Gewerbe anmelden" || !slices.Equal(od.LeikaKeys, []string{"99050012104000"}) || deref(od.Readiness.Dsc.TargetDate) != "2026-12-31" {
		t.Errorf("gewerbe = name %q, leika %v, dsc target %q", od.Name, od.LeikaKeys, deref(od.Readiness.Dsc.TargetDate))
	}
}

// TestXLSXErrors: every error names the sheet, the row as Excel shows it, the column and the
// cell; a formula is never evaluated.
func TestXLSXErrors(t *testing.T) {
	ts := newTestServer(t)
	f := excelize.NewFile()
	defer f.Close()
	_ = f.SetSheetName("Sheet1", "Register")
	_, _ = f.NewSheet("Onlinedienste")
	_ = f.SetSheetRow("Register", "A1", &[]any{"ressort", "key", "name", "idnr_stage", "idnr_target_date"})
	_ = f.SetSheetRow("Register", "A2", &[]any{"SF", "gut", "Gut", "live"})
	_ = f.SetSheetRow("Register", "A3", &[]any{"SF", "schlecht", "Schlecht", "fertig", "31.02.2027"})
	_ = f.SetSheetRow("Register", "A4", &[]any{"SF", "formel", "Formel"})
	_ = f.SetCellFormula("Register", "D4", `"li"&"ve"`)
	_ = f.SetCellValue("Register", "G5", "Streuwert")
	_ = f.SetSheetRow("Register", "A5", &[]any{"SF", "streu", "Streu"})
	_ = f.SetSheetRow("Onlinedienste", "A1", &[]any{"ressort", "key", "name", "url"})
	_ = f.SetSheetRow("Onlinedienste", "A2", &[]any{"SF", "od", "Onlinedienst", "http://unsicher.example"})
	body := workbookBytes(t, f)

	before := ts.fingerprint()
	errs := importErrors(t, ts.do(xlsxRequest("", body)))
	var got []string
	for _, e := range errs {
		got = append(got, fmt.Sprintf("%s %d %s %s", deref((*string)(e.Sheet)), deref0(e.Line), e.Field, deref(e.Cell)))
	}
	want := []string{
		"Register 3 idnr_stage D3", "Register 3 idnr_target_date E3",
		"Register 4 idnr_stage D4",
		"Register 5  ",
		"Onlinedienste 2 url D2",
	}
	if !slices.Equal(got, want) {
		t.Errorf("errors (sheet line field cell):\n got %q\nwant %q\n%+v", got, want, errs)
	}
	for _, e := range errs {
		if deref0(e.Line) == 4 && !strings.Contains(e.Message, "formula") {
			t.Errorf("the formula's error says %q, want it to name the formula", e.Message)
		}
	}
	if ts.fingerprint() != before {
		t.Error("a refused workbook wrote")
	}

	for _, c := range []struct {
		name string
		req  request
		want int
		says string
	}{
		{"kind with a workbook", xlsxRequest("kind=registers", body), http.StatusBadRequest, "kind"},
		{"neither sheet", xlsxRequest("", func() []byte {
			g := excelize.NewFile()
			defer g.Close()
			return workbookBytes(t, g)
		}()), http.StatusUnprocessableEntity, "Sheet1"},
		{"unknown column", xlsxRequest("", func() []byte {
			g := excelize.NewFile()
			defer g.Close()
			_ = g.SetSheetName("Sheet1", "Register")
			_ = g.SetSheetRow("Register", "A1", &[]any{"ressort", "key", "name", "Bemerkung"})
			return workbookBytes(t, g)
		}()), http.StatusUnprocessableEntity, "Bemerkung"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := ts.do(c.req)
			if rec.Code != c.want || !strings.Contains(rec.Body.String(), c.says) {
				t.Errorf("got %d %s, want %d naming %q", rec.Code, rec.Body, c.want, c.says)
			}
		})
	}
}

// TestXLSXReplaceKeepsMissingSheet: mode=replace replaces the kinds whose sheet the workbook
// has, so a workbook of registers only leaves the Onlinedienste alone.
func TestXLSXReplaceKeepsMissingSheet(t *testing.T) {
	ts := newTestServer(t)
	importResult(t, ts.do(request{method: "POST", path: "/v1/import", body: seedImport}))
	f := excelize.NewFile()
	defer f.Close()
	_ = f.SetSheetName("Sheet1", "Register")
	_ = f.SetSheetRow("Register", "A1", &[]any{"ressort", "key", "name", "legal_basis", "contact"})
	_ = f.SetSheetRow("Register", "A2", &[]any{"SF", "steuer", "Steuerregister", "AO", "steuer@finanzen.bremen.de"})
	_ = f.SetSheetRow("Register", "A3", &[]any{"SF", "neu", "Neues Register"})
	res := importResult(t, ts.do(xlsxRequest("mode=replace&ressort=SF", workbookBytes(t, f))))
	if got, want := counts(res), "created 1, updated 0, unchanged 1, deleted 0"; got != want {
		t.Errorf("replace: got %s, want %s (the Onlinedienst of SF stays)", got, want)
	}
}

// TestReadinessWorkbookChart: the readiness workbook carries a native chart of the ready
// share per Ressort and dimension, drawn from the sheet Diagramm.
func TestReadinessWorkbookChart(t *testing.T) {
	ts := newTestServer(t)
	importResult(t, ts.do(request{method: "POST", path: "/v1/import", body: seedImport}))
	rec := ts.do(request{method: "GET", path: "/v1/reports/readiness?format=xlsx"})
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	zr, err := zip.NewReader(bytes.NewReader(rec.Body.Bytes()), int64(rec.Body.Len()))
	if err != nil {
		t.Fatal(err)
	}
	var chart string
	for _, f := range zr.File {
		if strings.HasPrefix(f.Name, "xl/charts/chart") {
			rc, _ := f.Open()
			var b bytes.Buffer
			_, _ = b.ReadFrom(rc)
			_ = rc.Close()
			chart = b.String()
		}
	}
	if !strings.Contains(chart, "<barChart>") || !strings.Contains(chart, "Diagramm&#39;!$B$2:$B$") || !strings.Contains(chart, "Anteil bereit") {
		t.Errorf("no column chart over Diagramm in the workbook: %.300s", chart)
	}
	f, err := excelize.OpenReader(bytes.NewReader(rec.Body.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, _ := f.GetRows("Diagramm")
	// SIS: melderegister is live in idnr; SF: nothing ready in idnr.
	want := map[string]string{"SF": "0", "SIS": "100", "Gesamt": "33.3"}
	for _, row := range rows[1:] {
		if w, ok := want[row[0]]; ok && row[1] != w {
			t.Errorf("IDNr bereit %% of %s = %s, want %s", row[0], row[1], w)
		}
	}
}
