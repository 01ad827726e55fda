package api_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// hostileNames begin with a control character that spreadsheets skip before they look for a
// formula (OWASP), or with a formula character behind it.
var hostileNames = []string{
	"\r=HYPERLINK(\"http://x\";\"klick\")",
	"\t=1+1",
	"\n+1",
	"\r\n@SUM(A1)",
	"=plain",
}

// formulaStart reports whether a spreadsheet could read the cell as a formula.
func formulaStart(cell string) bool {
	return cell != "" && strings.IndexByte("=+-@\t\r\n", cell[0]) >= 0
}

// seedHostile creates entries whose names, descriptions and notes are the hostile names,
// overdue and blocked so that they appear in every report.
func (ts *testServer) seedHostile() {
	ts.t.Helper()
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	for i, name := range hostileNames {
		key := string(rune('a' + i))
		// Even registers are overdue in noots (and block their Onlinedienst), odd ones break
		// the coupling rule (consistency report).
		noots := `{"stage":"planned","target_date":"2026-01-31","note":` + q(name) + `}`
		if i%2 == 1 {
			noots = `{"stage":"live","note":` + q(name) + `}`
		}
		reg := `{"name":` + q(name) + `,"description":` + q(name) + `,"idnrg_anlage_nr":` + string(rune('1'+i)) +
			`,"readiness":{"idnr":{"stage":"live"},"noots":` + noots + `}}`
		if rec := ts.do(request{method: "PUT", path: "/v1/ressorts/SF/registers/r" + key, body: reg}); rec.Code != 201 {
			ts.t.Fatalf("PUT register %q: %d %s", name, rec.Code, rec.Body)
		}
		od := `{"name":` + q(name) + `,"nachweise_from":["SF/r` + key + `"],"leika_keys":["9900000000000` + string(rune('0'+i)) +
			`"],"readiness":{"dsc":{"stage":"in_progress","target_date":"2026-02-01","note":` + q(name) + `}}}`
		if rec := ts.do(request{method: "PUT", path: "/v1/ressorts/SF/onlinedienste/o" + key, body: od}); rec.Code != 201 {
			ts.t.Fatalf("PUT Onlinedienst %q: %d %s", name, rec.Code, rec.Body)
		}
	}
}

// The CSV export neutralises every hostile cell and keeps it exact: importing it back
// changes nothing.
func TestExportNeutralisesControlCharacters(t *testing.T) {
	ts := newTestServer(t)
	ts.seedHostile()
	before := ts.fingerprint()
	for _, kind := range []string{"registers", "onlinedienste"} {
		t.Run(kind, func(t *testing.T) {
			rec := ts.do(request{method: "GET", path: "/v1/export?format=csv&kind=" + kind})
			if rec.Code != 200 {
				t.Fatalf("export: %d %s", rec.Code, rec.Body)
			}
			body := rec.Body.String()
			for _, name := range hostileNames {
				if want := "'" + strings.ReplaceAll(name, `"`, `""`); !strings.Contains(body, want) {
					t.Errorf("export has no cell %q (the name %q neutralised, its bytes kept)\n%q", want, name, body)
				}
			}
			checkCSVCells(t, body)
			res := importResult(t, ts.do(csvRequest("kind="+kind, body)))
			if got, want := counts(res), "created 0, updated 0, unchanged 5, deleted 0"; got != want {
				t.Errorf("re-import of the CSV export: got %s, want %s\nexport: %q", got, want, body)
			}
		})
	}
	if after := ts.fingerprint(); after != before {
		t.Errorf("the round trip changed the database: %s → %s", before, after)
	}
}

// Every report neutralises the hostile cells, in CSV and in the workbook.
func TestReportsNeutraliseControlCharacters(t *testing.T) {
	ts := newTestServer(t)
	ts.seedHostile()
	reports := []string{
		"/v1/reports/readiness", "/v1/reports/overdue", "/v1/reports/consistency",
		"/v1/reports/anlage-coverage", "/v1/reports/blocked", "/v1/reports/progress?from=2026-03-01",
	}
	for _, path := range reports {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		t.Run(path+" csv", func(t *testing.T) {
			rec := ts.do(request{method: "GET", path: path + sep + "format=csv"})
			if rec.Code != 200 {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			checkCSVCells(t, rec.Body.String())
		})
		t.Run(path+" xlsx", func(t *testing.T) {
			rec := ts.do(request{method: "GET", path: path + sep + "format=xlsx"})
			if rec.Code != 200 {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			f, err := excelize.OpenReader(bytes.NewReader(rec.Body.Bytes()))
			if err != nil {
				t.Fatalf("not a workbook: %v", err)
			}
			defer f.Close()
			for _, sheet := range f.GetSheetList() {
				rows, err := f.GetRows(sheet)
				if err != nil {
					t.Fatal(err)
				}
				for r, row := range rows {
					for c, cell := range row {
						if formulaStart(cell) {
							t.Errorf("sheet %s row %d column %d: got %q, want it neutralised with '", sheet, r+1, c+1, cell)
						}
					}
				}
			}
		})
	}
}

// checkCSVCells fails for every cell a spreadsheet could run as a formula.
func checkCSVCells(t *testing.T, body string) {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("not CSV: %v\n%q", err, body)
	}
	if len(rows) < 2 {
		t.Fatalf("got %d rows, want the header and data\n%q", len(rows), body)
	}
	for r, row := range rows {
		for c, cell := range row {
			if formulaStart(cell) {
				t.Errorf("row %d column %d: got %q, want it neutralised with '", r+1, c+1, cell)
			}
		}
	}
}
