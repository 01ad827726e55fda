package api_test

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
)

// kin-openapi checks a text/csv answer by parsing it with ','; German CSV (dialect=excel-de,
// announced by its byte order mark) is parsed with ';' instead, so that the check still
// refuses a CSV answer that does not parse.
func init() {
	openapi3filter.RegisterBodyDecoder("text/csv", func(body io.Reader, h http.Header, schema *openapi3.SchemaRef, enc openapi3filter.EncodingFn) (any, error) {
		br := bufio.NewReader(body)
		if head, _ := br.Peek(3); string(head) != "\ufeff" {
			return openapi3filter.CsvBodyDecoder(br, h, schema, enc)
		}
		_, _ = br.Discard(3)
		r := csv.NewReader(br)
		r.Comma = ';'
		recs, err := r.ReadAll()
		if err != nil {
			return nil, err
		}
		var sb strings.Builder
		for _, rec := range recs {
			sb.WriteString(strings.Join(rec, ";") + "\n")
		}
		return sb.String(), nil
	})
}

// TestCSVDialectExcelDE: every CSV download takes dialect=excel-de and then has the byte
// order mark, ';' between fields, CRLF line ends and decimal commas; it parses back with the
// header's width in every row. Without it, CSV stays RFC 4180 for scripts.
func TestCSVDialectExcelDE(t *testing.T) {
	ts := newTestServer(t)
	importResult(t, ts.do(request{method: "POST", path: "/v1/import", body: seedImport}))
	downloads := []struct {
		path  string
		first string // the first column's name
	}{
		{"/v1/export?format=csv&kind=registers", "ressort"},
		{"/v1/export?kind=onlinedienste", "ressort"}, // dialect alone selects CSV
		{"/v1/reports/readiness?format=csv", "Ressort"},
		{"/v1/reports/overdue?format=csv", "Ressort"},
		{"/v1/reports/consistency?format=csv", "Regel"},
		{"/v1/reports/anlage-coverage?format=csv", "Nr."},
		{"/v1/reports/blocked", "Ressort"},
		{"/v1/reports/progress?from=2025-10-07&format=csv", "Ressort"},
	}
	for _, d := range downloads {
		t.Run(d.path, func(t *testing.T) {
			sep := "?"
			if strings.Contains(d.path, "?") {
				sep = "&"
			}
			rec := ts.do(request{method: "GET", path: d.path + sep + "dialect=excel-de"})
			if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/csv") {
				t.Fatalf("status %d, Content-Type %q, want 200 text/csv; %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
			}
			body := rec.Body.String()
			text, ok := strings.CutPrefix(body, "\ufeff")
			if !ok {
				t.Errorf("no UTF-8 byte order mark: %q", body[:min(len(body), 20)])
			}
			r := csv.NewReader(strings.NewReader(text))
			r.Comma = ';'
			recs, err := r.ReadAll() // fails when a row has another width than the header
			if err != nil || len(recs) == 0 {
				t.Fatalf("parse as ;-CSV: %v; %q", err, text)
			}
			// A line break inside a quoted cell stays as the cell has it; every record ends in CRLF.
			if !strings.HasSuffix(text, "\r\n") || strings.Count(text, "\r\n") < len(recs) {
				t.Errorf("%d records but %d CRLF: %q", len(recs), strings.Count(text, "\r\n"), text)
			}
			if recs[0][0] != d.first || len(recs[0]) < 3 {
				t.Errorf("header %q, want it to start with %q and be split at ;", recs[0], d.first)
			}
			if strings.Contains(d.path, "readiness") {
				pct := strings.Index(strings.Join(recs[0], ";"), "bereit %")
				col := strings.Count(strings.Join(recs[0], ";")[:pct], ";")
				if v := recs[1][col]; !strings.Contains(v, ",") || strings.Contains(v, ".") {
					t.Errorf("bereit %% = %q, want a decimal comma", v)
				}
			}
		})
	}
	t.Run("without dialect", func(t *testing.T) {
		body := ts.do(request{method: "GET", path: "/v1/reports/readiness?format=csv"}).Body.String()
		if strings.HasPrefix(body, "\ufeff") || !strings.HasPrefix(body, "Ressort,Name,") {
			t.Errorf("plain CSV starts %q, want RFC 4180 without a byte order mark", body[:min(len(body), 30)])
		}
	})
	for _, path := range []string{"/v1/reports/readiness?format=xlsx&dialect=excel-de", "/v1/export?format=json&dialect=excel-de", "/v1/export?format=csv&kind=registers&dialect=excel"} {
		if rec := ts.do(request{method: "GET", path: path}); rec.Code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", path, rec.Code)
		}
	}
}

// TestCSVImportExcelDE: the German CSV imports as it was exported, and as Excel saves it
// after an edit: ';', a byte order mark, CRLF, dates TT.MM.JJJJ.
func TestCSVImportExcelDE(t *testing.T) {
	ts := newTestServer(t)
	importResult(t, ts.do(request{method: "POST", path: "/v1/import", body: seedImport}))
	for _, kind := range []string{"registers", "onlinedienste"} {
		export := ts.do(request{method: "GET", path: "/v1/export?format=csv&dialect=excel-de&kind=" + kind}).Body.String()
		res := importResult(t, ts.do(csvRequest("kind="+kind, export)))
		if res.Unchanged == 0 || res.Created+res.Updated+res.Deleted != 0 {
			t.Errorf("%s: import of the excel-de export: %s, want every row unchanged", kind, counts(res))
		}
	}
	saved := "\ufeffressort;key;name;legal_basis;idnr_stage;idnr_target_date\r\n" +
		"SF;steuer;Steuerregister;AO;planned;31.12.2028\r\n" +
		"SF;neu;\"Neu; mit Semikolon\";;live;1.7.2027\r\n"
	res := importResult(t, ts.do(csvRequest("kind=registers", saved)))
	if got, want := counts(res), "created 1, updated 1, unchanged 0, deleted 0"; got != want {
		t.Errorf("Excel's CSV: got %s, want %s", got, want)
	}
	var buf bytes.Buffer
	buf.WriteString(ts.do(request{method: "GET", path: "/v1/ressorts/SF/registers/neu"}).Body.String())
	if got := buf.String(); !strings.Contains(got, `"name":"Neu; mit Semikolon"`) || !strings.Contains(got, `"target_date":"2027-07-01"`) {
		t.Errorf("SF/neu = %s, want the name with its semicolon and the date 2027-07-01", got)
	}
}
