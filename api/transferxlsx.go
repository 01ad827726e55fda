package api

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/bremen/regmo/api/workbook"
	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/transfer"
)

// The workbook's sheets, exactly so named (CLARIFICATIONS "Excel"); any other sheet is
// ignored on import.
const (
	sheetRegister      = "Register"
	sheetOnlinedienste = "Onlinedienste"
)

func sheetName(k domain.Kind) string {
	if k == domain.KindOnlinedienst {
		return sheetOnlinedienste
	}
	return sheetRegister
}

// xlsxLimits bound what an imported workbook may unpack to. A workbook of 100,000 rows of
// the longest valid entries stays within them: its worksheet XML is a few times the CSV's
// 64 MiB at most, its shared strings at most the text of a 64 MiB CSV. Worksheets are read
// as a stream (their size costs time, not memory); the shared strings are held in memory.
var xlsxLimits = workbook.Limits{
	Total:      512 << 20,
	Part:       384 << 20,
	Strings:    transfer.MaxImportBytes,
	Other:      8 << 20,
	MaxStrings: transfer.MaxImportItems * 21, // never more distinct strings than cells
	Files:      1000,
}

// xlsxImport reads the sheets Register and Onlinedienste of a workbook, row by row, with
// the CSV's columns (csvColumns): the same cells mean the same fields in both formats.
type xlsxImport struct {
	wb     *workbook.Workbook
	file   *os.File
	sheets []*xlsxSheet
	cur    int
	rows   *workbook.Rows
	index  map[domain.Kind]int
}

// xlsxSheet is one sheet being imported: its header row and what each column is.
type xlsxSheet struct {
	sheet  workbook.Sheet
	kind   domain.Kind
	header int            // the row holding the column names
	cols   []*csvColumn   // by column - 1; nil where the header cell is empty
	named  map[string]int // every header cell's name (lower case), to its column
}

// newXLSXImport spools the body to a temporary file (a ZIP archive is read from its end, and
// a file keeps a 64 MiB body out of the heap), opens it and checks the sheets' headers.
// Close removes the file.
func newXLSXImport(body io.Reader) (*xlsxImport, error) {
	head := make([]byte, 8)
	n, err := io.ReadFull(body, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, xlsxReadError(err)
	}
	// What is not a ZIP archive is refused before the rest of it is read.
	if err := workbook.Sniff(head[:n]); err != nil {
		return nil, xlsxReadError(err)
	}
	f, err := os.CreateTemp("", "regmo-import-*.xlsx")
	if err != nil {
		return nil, fmt.Errorf("api: spool workbook: %w", err)
	}
	x := &xlsxImport{file: f, index: map[domain.Kind]int{}}
	// The name goes at once: the open file stays readable, and nothing is left behind if
	// the process dies.
	_ = os.Remove(f.Name())
	size, err := io.Copy(f, io.MultiReader(strings.NewReader(string(head[:n])), body))
	if err != nil {
		x.Close()
		return nil, xlsxReadError(err)
	}
	if x.wb, err = workbook.Open(f, size, xlsxLimits); err != nil {
		x.Close()
		return nil, xlsxReadError(err)
	}
	if err := x.headers(); err != nil {
		x.Close()
		return nil, err
	}
	return x, nil
}

// xlsxReadError maps what keeps a body from being read as a workbook.
func xlsxReadError(err error) error {
	var tooLarge *http.MaxBytesError
	var werr *workbook.Error
	switch {
	case errors.As(err, &tooLarge):
		return &transfer.ImportTooLargeError{Detail: fmt.Sprintf("The import body exceeds %d bytes; split it.", transfer.MaxImportBytes)}
	case errors.As(err, &werr):
		return &transfer.BadImportError{Index: -1, Detail: werr.Detail}
	}
	return fmt.Errorf("api: read workbook: %w", err)
}

// Close ends reading and removes the spooled file.
func (x *xlsxImport) Close() {
	if x.rows != nil {
		_ = x.rows.Close()
		x.rows = nil
	}
	_ = x.file.Close()
}

// Kinds: a workbook replaces the kinds whose sheet it has; a workbook with only the sheet
// Register leaves the Onlinedienste alone.
func (x *xlsxImport) Kinds() []domain.Kind {
	kinds := make([]domain.Kind, len(x.sheets))
	for i, s := range x.sheets {
		kinds[i] = s.kind
	}
	return kinds
}

// headers finds the two sheets and reads their header rows; every problem of both is
// reported at once, since without the columns no row can be read.
func (x *xlsxImport) headers() error {
	var names []string
	for _, kind := range []domain.Kind{domain.KindRegister, domain.KindOnlinedienst} {
		for _, s := range x.wb.Sheets() {
			if s.Name == sheetName(kind) {
				x.sheets = append(x.sheets, &xlsxSheet{sheet: s, kind: kind, named: map[string]int{}})
			}
		}
	}
	verr := &transfer.ImportError{}
	if len(x.sheets) == 0 {
		for _, s := range x.wb.Sheets() {
			names = append(names, fmt.Sprintf("%q", s.Name))
		}
		verr.Add(transfer.ItemError{Index: -1, Message: fmt.Sprintf("the workbook has neither a sheet %q nor a sheet %q (the names must match exactly); its sheets are %s",
			sheetRegister, sheetOnlinedienste, strings.Join(names, ", "))})
		return verr.Finish()
	}
	for _, s := range x.sheets {
		if err := x.header(s, verr); err != nil {
			return err
		}
	}
	if verr.Total > 0 {
		return verr.Finish()
	}
	return nil
}

// header reads the first non-empty row of a sheet as the names of its columns.
func (x *xlsxImport) header(s *xlsxSheet, verr *transfer.ImportError) error {
	rows, err := x.wb.Rows(s.sheet)
	if err != nil {
		return xlsxReadError(err)
	}
	defer rows.Close()
	var row workbook.Row
	for rows.Next() {
		if row = rows.Row(); len(row.Cells) > 0 {
			break
		}
	}
	if err := rows.Err(); err != nil {
		return xlsxReadError(err)
	}
	if len(row.Cells) == 0 {
		return nil // an empty sheet imports nothing, as a missing one
	}
	s.header = row.Num
	fail := func(field, cell, format string, args ...any) {
		verr.Add(transfer.ItemError{Index: -1, Line: row.Num, Sheet: s.sheet.Name, Kind: s.kind, Field: field, Cell: cell,
			Message: fmt.Sprintf(format, args...)})
	}
	byName := map[string]csvColumn{}
	for _, col := range csvColumns(s.kind) {
		byName[col.name] = col
	}
	for _, c := range row.Cells {
		ref := cellRef(c.Col, row.Num)
		if c.Col > maxHeaderColumns {
			fail("", ref, "the header row has a name in column %s; at most %d columns are read", workbook.ColumnName(c.Col), maxHeaderColumns)
			break
		}
		if c.Formula {
			fail("", ref, "the header cell %s holds a formula; write the column name itself", ref)
			continue
		}
		name := strings.ToLower(strings.TrimSpace(c.Value))
		col, ok := byName[name]
		switch {
		case !ok:
			fail(clip(c.Value), ref, "is not a column of %s imports", importMemberName(s.kind))
			continue
		case s.named[name] != 0:
			fail(clip(c.Value), ref, "is given twice (also in column %s)", workbook.ColumnName(s.named[name]))
			continue
		}
		s.named[name] = c.Col
		for len(s.cols) < c.Col {
			s.cols = append(s.cols, nil)
		}
		s.cols[c.Col-1] = &col
	}
	for _, required := range []string{"ressort", "key", "name"} {
		if s.named[required] == 0 {
			fail(required, "", "is a required column")
		}
	}
	return nil
}

// Next returns the item of the next non-empty row, sheet Register first, or io.EOF.
func (x *xlsxImport) Next() (transfer.ImportItem, error) {
	for x.cur < len(x.sheets) {
		s := x.sheets[x.cur]
		if x.rows == nil {
			if s.header == 0 {
				x.cur++
				continue
			}
			rows, err := x.wb.Rows(s.sheet)
			if err != nil {
				return transfer.ImportItem{}, xlsxReadError(err)
			}
			x.rows = rows
		}
		if !x.rows.Next() {
			err := x.rows.Err()
			_ = x.rows.Close()
			x.rows = nil
			if err != nil {
				return transfer.ImportItem{}, xlsxReadError(err)
			}
			x.cur++
			continue
		}
		row := x.rows.Row()
		if row.Num <= s.header || len(row.Cells) == 0 {
			continue // the header and what is above it; empty rows
		}
		return x.item(s, row), nil
	}
	return transfer.ImportItem{}, io.EOF
}

// item reads one row.
func (x *xlsxImport) item(s *xlsxSheet, row workbook.Row) transfer.ImportItem {
	it := transfer.ImportItem{Kind: s.kind, Index: x.index[s.kind], Line: row.Num, Sheet: s.sheet.Name}
	x.index[s.kind]++
	for _, c := range row.Cells {
		ref := cellRef(c.Col, row.Num)
		if c.Col > len(s.cols) || s.cols[c.Col-1] == nil {
			it.Problems = append(it.Problems, domain.FieldError{
				Message: fmt.Sprintf("cell %s holds a value, but column %s has no name in the header row %d; name the column or empty it", ref, workbook.ColumnName(c.Col), s.header)})
			continue
		}
		col := s.cols[c.Col-1]
		value, msg := x.cellValue(col.name, c, ref)
		if msg == "" {
			msg = col.set(&it, value)
		}
		if msg != "" {
			it.Problems = append(it.Problems, domain.FieldError{Field: col.name, Message: msg})
		}
	}
	return it
}

// cellValue turns a cell into the text the column reads, as the CSV would hold it.
func (x *xlsxImport) cellValue(column string, c workbook.Cell, ref string) (string, string) {
	dateColumn := strings.HasSuffix(column, "_target_date")
	switch {
	case c.Formula:
		// The cached result may be stale or forged; regmo evaluates nothing.
		return "", fmt.Sprintf("cell %s holds a formula (=%s); regmo does not evaluate formulas: enter the value itself", ref, clip(c.Source))
	case c.Kind == workbook.ErrorValue:
		return "", fmt.Sprintf("cell %s holds the error value %s; enter the value itself", ref, clip(c.Value))
	case c.Kind == workbook.Bool:
		return "", fmt.Sprintf("cell %s holds a truth value (WAHR/FALSCH); enter text", ref)
	case c.Kind == workbook.Number && dateColumn:
		serial, err := strconv.ParseFloat(c.Value, 64)
		if err != nil || serial < 1 || serial > 2958465 { // 2958465 is 31.12.9999
			return "", fmt.Sprintf("cell %s holds the number %s, which is no date; enter a date such as 30.06.2027", ref, clip(c.Value))
		}
		return excelDate(serial, x.wb.Date1904), ""
	case c.Kind == workbook.Date && dateColumn && len(c.Value) >= 10:
		return c.Value[:10], ""
	case c.Kind == workbook.Number:
		return numberText(c.Value), ""
	}
	return unneutralize(c.Value), ""
}

// excelDate is the day of an Excel serial date (a time of day is dropped).
func excelDate(serial float64, date1904 bool) string {
	days := int(math.Floor(serial))
	epoch := time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)
	if date1904 {
		epoch = time.Date(1904, 1, 1, 0, 0, 0, 0, time.UTC)
	} else if days < 61 {
		// Excel counts 29.02.1900, a day that never was (Lotus 1-2-3's leap year bug).
		days++
	}
	return epoch.AddDate(0, 0, days).Format(time.DateOnly)
}

// numberText writes a number cell as a person reads it: 5 rather than 5.0 or 5E0, and a
// 14-digit LeiKa key typed into a cell in full.
func numberText(v string) string {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return v
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

func cellRef(col, row int) string { return workbook.ColumnName(col) + strconv.Itoa(row) }

// annotate names the cell of every error of a row that concerns one column.
func (x *xlsxImport) annotate(verr *transfer.ImportError) {
	for i := range verr.Errors {
		e := &verr.Errors[i]
		if e.Sheet == "" || e.Cell != "" || e.Line <= 0 {
			continue
		}
		for _, s := range x.sheets {
			if s.sheet.Name == e.Sheet {
				if col := s.named[strings.ToLower(e.Field)]; col > 0 {
					e.Cell = cellRef(col, e.Line)
				}
			}
		}
	}
}
