package api

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"github.com/xuri/excelize/v2"

	"github.com/bremen/regmo/domain"
)

type acceptCSVKey struct{}

// negotiate notes whether the client prefers CSV (Accept: text/csv) for the reports, whose
// handlers see only the request context.
func negotiate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		for _, part := range strings.Split(c.Request().Header.Get(echo.HeaderAccept), ",") {
			if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == "text/csv" {
				ctx := context.WithValue(c.Request().Context(), acceptCSVKey{}, true)
				c.SetRequest(c.Request().WithContext(ctx))
				break
			}
		}
		return next(c)
	}
}

// wantsCSV reports whether a report goes out as CSV: format=csv, or Accept: text/csv
// without an explicit format.
func wantsCSV(ctx context.Context, format *string) bool {
	if format != nil {
		return *format == "csv"
	}
	accept, _ := ctx.Value(acceptCSVKey{}).(bool)
	return accept
}

// formulaStarts are the first characters that make a spreadsheet read a cell as a formula
// (OWASP, CSV injection): =, +, - and @, and TAB, CR and LF, which spreadsheets skip before
// they look for one of the four.
const formulaStarts = "=+-@\t\r\n"

// neutralize defuses a cell that a spreadsheet would run as a formula: one that begins with
// a character of formulaStarts gets an apostrophe in front.
func neutralize(s string) string {
	if s != "" && strings.IndexByte(formulaStarts, s[0]) >= 0 {
		return "'" + s
	}
	return s
}

// csvWriter writes RFC 4180 records with CRLF line ends. Unlike csv.Writer with UseCRLF, it
// keeps a CR inside a field as it is (csv.Writer drops a lone CR and turns LF into CRLF), so
// a cell "\r=..." neither loses its CR nor changes on the way back in.
type csvWriter struct {
	w   *bufio.Writer
	err error
}

func newCSVWriter(w io.Writer) *csvWriter { return &csvWriter{w: bufio.NewWriter(w)} }

func (c *csvWriter) Write(rec []string) error {
	// bufio.Writer's errors are sticky: the record's last write reports the first failure.
	for i, field := range rec {
		if i > 0 {
			_ = c.w.WriteByte(',')
		}
		if !fieldNeedsQuotes(field) {
			_, _ = c.w.WriteString(field)
			continue
		}
		_ = c.w.WriteByte('"')
		_, _ = c.w.WriteString(strings.ReplaceAll(field, `"`, `""`))
		_ = c.w.WriteByte('"')
	}
	_, err := c.w.WriteString("\r\n")
	return err
}

// Flush writes what is buffered; Error reports the first failure.
func (c *csvWriter) Flush() { c.err = c.w.Flush() }

func (c *csvWriter) Error() error { return c.err }

// fieldNeedsQuotes follows encoding/csv: separators, quotes and line ends need quotes, and
// so does a leading space (which some readers trim) and the field \. (end of data in psql).
func fieldNeedsQuotes(field string) bool {
	if field == "" {
		return false
	}
	if field == `\.` || strings.ContainsAny(field, ",\"\r\n") {
		return true
	}
	r, _ := utf8.DecodeRuneInString(field)
	return unicode.IsSpace(r)
}

// attachment names a download after the report and its date.
func attachment(report string, at time.Time, ext string) *string {
	v := fmt.Sprintf(`attachment; filename="%s-%s.%s"`, report, domain.Today(at), ext)
	return &v
}

// table is one section of a report as exports show it: German headers, and cells that are
// strings or numbers (numbers stay numbers in the workbook).
type table struct {
	sheet  string
	header []string
	rows   [][]any
}

// cell renders a value for CSV, neutralising strings.
func cell(v any) string {
	switch x := v.(type) {
	case string:
		return neutralize(x)
	case float64:
		return strconv.FormatFloat(x, 'f', 1, 64)
	default:
		return fmt.Sprint(x)
	}
}

// writeCSV writes one table as RFC 4180 CSV (CRLF line ends, UTF-8).
func writeCSV(t table) ([]byte, error) {
	var buf bytes.Buffer
	w := newCSVWriter(&buf)
	if err := w.Write(t.header); err != nil {
		return nil, err
	}
	for _, row := range t.rows {
		rec := make([]string, len(row))
		for i, v := range row {
			rec[i] = cell(v)
		}
		if err := w.Write(rec); err != nil {
			return nil, err
		}
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

// writeXLSX writes one sheet per table with a bold, frozen header row.
func writeXLSX(tables []table) ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return nil, fmt.Errorf("xlsx: style: %w", err)
	}
	for i, t := range tables {
		if i == 0 {
			if err := f.SetSheetName("Sheet1", t.sheet); err != nil {
				return nil, fmt.Errorf("xlsx: sheet: %w", err)
			}
		} else if _, err := f.NewSheet(t.sheet); err != nil {
			return nil, fmt.Errorf("xlsx: sheet: %w", err)
		}
		header := make([]any, len(t.header))
		for j, h := range t.header {
			header[j] = h
		}
		if err := f.SetSheetRow(t.sheet, "A1", &header); err != nil {
			return nil, fmt.Errorf("xlsx: header: %w", err)
		}
		last, _ := excelize.CoordinatesToCellName(len(t.header), 1)
		if err := f.SetCellStyle(t.sheet, "A1", last, bold); err != nil {
			return nil, fmt.Errorf("xlsx: header style: %w", err)
		}
		for r, row := range t.rows {
			values := make([]any, len(row))
			for j, v := range row {
				if s, ok := v.(string); ok {
					v = neutralize(s)
				}
				values[j] = v
			}
			addr, _ := excelize.CoordinatesToCellName(1, r+2)
			if err := f.SetSheetRow(t.sheet, addr, &values); err != nil {
				return nil, fmt.Errorf("xlsx: row %d: %w", r+2, err)
			}
		}
		if err := f.SetPanes(t.sheet, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
			return nil, fmt.Errorf("xlsx: freeze: %w", err)
		}
	}
	var buf bytes.Buffer
	if _, err := f.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("xlsx: write: %w", err)
	}
	return buf.Bytes(), nil
}

// readinessTables has one row per Ressort × kind × dimension, then the totals.
func readinessTables(r domain.ReadinessReport) []table {
	t := table{sheet: "Bereitschaft", header: []string{"Ressort", "Name", "Art", "Dimension", "Anzahl", "vollständig bereit",
		"nicht begonnen", "geplant", "in Arbeit", "im Test", "live", "nicht anwendbar",
		"bereit", "bereit %", "überfällig"}}
	lines := append([]domain.RessortSummary{}, r.Ressorts...)
	total := r.Total
	total.Ressort = domain.Ressort{Code: "Gesamt", Name: "alle lesbaren Ressorts"}
	lines = append(lines, total)
	for _, rs := range lines {
		for _, k := range []struct {
			label string
			sum   domain.KindSummary
		}{{"Register", rs.Registers}, {"Onlinedienste", rs.Onlinedienste}} {
			for _, d := range domain.Dimensions {
				ds := k.sum.Dimensions[d]
				row := []any{rs.Ressort.Code, rs.Ressort.Name, k.label, string(d), k.sum.Count, k.sum.FullyReady}
				for _, s := range domain.Stages {
					row = append(row, ds.Stages[s])
				}
				t.rows = append(t.rows, append(row, ds.Ready, ds.ReadyPct, ds.Overdue))
			}
		}
	}
	return []table{t}
}
