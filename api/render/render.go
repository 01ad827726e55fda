// Package render turns report tables into the files the API and the web interface offer for
// download: CSV (RFC 4180) and XLSX workbooks with German headers. One table per section of
// a report; the same tables serve both, so a download looks the same wherever it comes from.
package render

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

// Table is one section of a report as exports show it: German headers, and cells that are
// strings or numbers (numbers stay numbers in the workbook).
type Table struct {
	Sheet  string
	Header []string
	Rows   [][]any
	// Chart, when set, puts a native Excel chart of the table beside it in the workbook.
	Chart *Chart
}

// FormulaStarts are the first characters that make a spreadsheet read a cell as a formula
// (OWASP, CSV injection): =, +, - and @, and TAB, CR and LF, which spreadsheets skip before
// they look for one of the four.
const FormulaStarts = "=+-@\t\r\n"

// Neutralize defuses a cell that a spreadsheet would run as a formula: one that begins with
// a character of FormulaStarts gets an apostrophe in front.
func Neutralize(s string) string {
	if s != "" && strings.IndexByte(FormulaStarts, s[0]) >= 0 {
		return "'" + s
	}
	return s
}

// CSVWriter writes RFC 4180 records with CRLF line ends. Unlike csv.Writer with UseCRLF, it
// keeps a CR inside a field as it is (csv.Writer drops a lone CR and turns LF into CRLF), so
// a cell "\r=..." neither loses its CR nor changes on the way back in.
type CSVWriter struct {
	w     *bufio.Writer
	comma byte
	err   error
}

// NewCSVWriter writes RFC 4180 records to w, buffered.
func NewCSVWriter(w io.Writer) *CSVWriter { return NewDialectWriter(w, RFC4180) }

// Write writes one record.
func (c *CSVWriter) Write(rec []string) error {
	// bufio.Writer's errors are sticky: the record's last write reports the first failure.
	for i, field := range rec {
		if i > 0 {
			_ = c.w.WriteByte(c.comma)
		}
		if !fieldNeedsQuotes(field, c.comma) {
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
func (c *CSVWriter) Flush() { c.err = c.w.Flush() }

// Error is the first failure of a write or a flush.
func (c *CSVWriter) Error() error { return c.err }

// fieldNeedsQuotes follows encoding/csv: separators, quotes and line ends need quotes, and
// so does a leading space (which some readers trim) and the field \. (end of data in psql).
func fieldNeedsQuotes(field string, comma byte) bool {
	if field == "" {
		return false
	}
	if field == `\.` || strings.ContainsAny(field, "\"\r\n") || strings.IndexByte(field, comma) >= 0 {
		return true
	}
	r, _ := utf8.DecodeRuneInString(field)
	return unicode.IsSpace(r)
}

// cell renders a value for CSV, neutralising strings.
func cell(v any, d Dialect) string {
	switch x := v.(type) {
	case string:
		return Neutralize(x)
	case float64:
		s := strconv.FormatFloat(x, 'f', 1, 64)
		if d.DecimalComma {
			s = strings.Replace(s, ".", ",", 1)
		}
		return s
	default:
		return fmt.Sprint(x)
	}
}

// CSV writes one table as RFC 4180 CSV (CRLF line ends, UTF-8).
func CSV(t Table) ([]byte, error) { return DialectCSV(t, RFC4180) }

// DialectCSV writes one table as CSV in the dialect.
func DialectCSV(t Table, d Dialect) ([]byte, error) {
	var buf bytes.Buffer
	w := NewDialectWriter(&buf, d)
	if err := w.Write(t.Header); err != nil {
		return nil, err
	}
	for _, row := range t.Rows {
		rec := make([]string, len(row))
		for i, v := range row {
			rec[i] = cell(v, d)
		}
		if err := w.Write(rec); err != nil {
			return nil, err
		}
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

// XLSX writes one sheet per table with a bold, frozen header row.
func XLSX(tables []Table) ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return nil, fmt.Errorf("xlsx: style: %w", err)
	}
	for i, t := range tables {
		if i == 0 {
			if err := f.SetSheetName("Sheet1", t.Sheet); err != nil {
				return nil, fmt.Errorf("xlsx: sheet: %w", err)
			}
		} else if _, err := f.NewSheet(t.Sheet); err != nil {
			return nil, fmt.Errorf("xlsx: sheet: %w", err)
		}
		header := make([]any, len(t.Header))
		for j, h := range t.Header {
			header[j] = h
		}
		if err := f.SetSheetRow(t.Sheet, "A1", &header); err != nil {
			return nil, fmt.Errorf("xlsx: header: %w", err)
		}
		last, _ := excelize.CoordinatesToCellName(len(t.Header), 1)
		if err := f.SetCellStyle(t.Sheet, "A1", last, bold); err != nil {
			return nil, fmt.Errorf("xlsx: header style: %w", err)
		}
		for r, row := range t.Rows {
			values := make([]any, len(row))
			for j, v := range row {
				if s, ok := v.(string); ok {
					v = Neutralize(s)
				}
				values[j] = v
			}
			addr, _ := excelize.CoordinatesToCellName(1, r+2)
			if err := f.SetSheetRow(t.Sheet, addr, &values); err != nil {
				return nil, fmt.Errorf("xlsx: row %d: %w", r+2, err)
			}
		}
		if err := f.SetPanes(t.Sheet, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
			return nil, fmt.Errorf("xlsx: freeze: %w", err)
		}
		if t.Chart != nil {
			if err := addChart(f, t); err != nil {
				return nil, err
			}
		}
	}
	var buf bytes.Buffer
	if _, err := f.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("xlsx: write: %w", err)
	}
	return buf.Bytes(), nil
}
