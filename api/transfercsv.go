package api

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/bremen/regmo/api/render"
	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/transfer"
)

// csvColumn is one column of the CSV import and export format: how to read a cell into an
// item and how to write it from an entry.
type csvColumn struct {
	name string
	// set stores a cell (already UTF-8, the export's ' prefix removed); it returns a
	// message when the cell cannot be read.
	set func(it *transfer.ImportItem, cell string) string
	get func(e domain.Entry) string
}

// listSep separates the values of a list field in one cell.
const listSep = "|"

func textColumn(name string, field func(*transfer.ImportItem) *string, value func(domain.Entry) string) csvColumn {
	return csvColumn{name: name,
		set: func(it *transfer.ImportItem, cell string) string { *field(it) = cell; return "" },
		get: value}
}

// listColumn reads a list of at most limit values. It counts the separators before it
// splits: a cell of 16 MiB of | would otherwise become 16 million strings.
func listColumn(name string, limit int, field func(*domain.Content) *[]string) csvColumn {
	return csvColumn{name: name,
		set: func(it *transfer.ImportItem, cell string) string {
			if cell == "" {
				return ""
			}
			if n := strings.Count(cell, listSep) + 1; n > limit {
				return fmt.Sprintf("has %d values; at most %d are allowed", n, limit)
			}
			parts := strings.Split(cell, listSep)
			for i := range parts {
				parts[i] = strings.TrimSpace(parts[i])
			}
			*field(&it.Content) = parts
			return ""
		},
		get: func(e domain.Entry) string { return strings.Join(*field(&e.Content), listSep) }}
}

// fieldColumn is the column of a content field: named as the field, a list's values
// separated by listSep, a number written in digits, a date also read as TT.MM.JJJJ.
func fieldColumn(f domain.Field) csvColumn {
	switch f.Type {
	case domain.FieldList:
		return listColumn(f.Name, f.Max, f.List)
	case domain.FieldNumber:
		return csvColumn{name: f.Name,
			set: func(it *transfer.ImportItem, cell string) string {
				if cell == "" {
					return ""
				}
				n, err := strconv.Atoi(cell)
				if err != nil {
					return fmt.Sprintf("must be a whole number between %d and %d", f.Min, f.Max)
				}
				*f.Number(&it.Content) = &n
				return ""
			},
			get: func(e domain.Entry) string {
				if n := *f.Number(&e.Content); n != nil {
					return strconv.Itoa(*n)
				}
				return ""
			}}
	case domain.FieldDate:
		return csvColumn{name: f.Name,
			set: func(it *transfer.ImportItem, cell string) string { *f.Text(&it.Content) = isoDate(cell); return "" },
			get: func(e domain.Entry) string { return *f.Text(&e.Content) }}
	}
	return textColumn(f.Name, func(it *transfer.ImportItem) *string { return f.Text(&it.Content) },
		func(e domain.Entry) string { return *f.Text(&e.Content) })
}

// csvColumns lists the columns of a kind in the order the export writes them: the address,
// then the kind's fields of domain.ContentFields, named like the columns of entries.
// TestEveryColumnIsMapped fails when a column of entries is missing here.
func csvColumns(kind domain.Kind) []csvColumn {
	cols := []csvColumn{
		textColumn("ressort", func(it *transfer.ImportItem) *string { return &it.Ressort }, func(e domain.Entry) string { return e.Ressort }),
		textColumn("key", func(it *transfer.ImportItem) *string { return &it.Key }, func(e domain.Entry) string { return e.Key }),
	}
	for _, f := range domain.FieldsOf(kind) {
		cols = append(cols, fieldColumn(f))
	}
	return cols
}

// isoDate turns a German date TT.MM.JJJJ (what Excel writes when it saves a date in a
// German CSV or shows one as text) into YYYY-MM-DD; anything else stays as it is for the
// rules to judge.
func isoDate(cell string) string {
	d, m, ok := strings.Cut(cell, ".")
	m, y, ok2 := strings.Cut(m, ".")
	if !ok || !ok2 || len(d) < 1 || len(d) > 2 || len(m) < 1 || len(m) > 2 || len(y) != 4 {
		return cell
	}
	for _, part := range []string{d, m, y} {
		if strings.Trim(part, "0123456789") != "" {
			return cell
		}
	}
	pad := func(s string) string { return strings.Repeat("0", 2-len(s)) + s }
	return y + "-" + pad(m) + "-" + pad(d)
}

// unneutralize removes the ' the export puts before a cell that a spreadsheet would run as
// a formula, and nothing else.
func unneutralize(s string) string {
	if len(s) >= 2 && s[0] == '\'' && strings.IndexByte(render.FormulaStarts, s[1]) >= 0 {
		return s[1:]
	}
	return s
}

// csvImport reads a CSV file of one kind row by row.
type csvImport struct {
	r     *csv.Reader
	kind  domain.Kind
	cols  []csvColumn // by position in the file
	index int
	done  bool
	head  *bufio.Reader // the input before the header is read, to look at its length
	rows  *rowLimit
	line  int // the line the next record starts on
}

// Limits of the header line. The longest valid header names each of a kind's 20 columns
// once; the limits leave room for spaces and quotes and keep what a header costs (a string
// and an error per column) small whatever the body's size.
const (
	maxHeaderColumns = 64
	maxHeaderBytes   = 8 << 10
)

func newCSVImport(r io.Reader, kind domain.Kind) *csvImport {
	br := bufio.NewReaderSize(r, 64<<10)
	// Spreadsheet programs write a byte order mark; it is not part of the first column's name.
	if head, _ := br.Peek(3); bytes.Equal(head, []byte("\xef\xbb\xbf")) {
		_, _ = br.Discard(3)
	}
	rows := &rowLimit{r: br, comma: headerSeparator(br)}
	cr := csv.NewReader(rows)
	cr.Comma = rune(rows.comma)
	cr.ReuseRecord = true
	return &csvImport{r: cr, kind: kind, head: br, rows: rows}
}

// maxRowBytes bounds one CSV record. The longest valid row (every text at its maximum
// length in four-byte characters, 200 references, every quote doubled) stays well below it;
// encoding/csv holds a record several times over while it reads it, so without a bound one
// row of 64 MiB would cost hundreds of MiB.
const maxRowBytes = 1 << 20

var errRowTooLong = errors.New("row too long")

// rowLimit feeds encoding/csv. It fails once it has delivered more than maxRowBytes past
// the end of the last record read (plus what csv's own buffer may hold in advance), and it
// keeps a CRLF inside a quoted field: encoding/csv turns every CRLF into LF, inside quotes
// too, so the export's cell "\r\n@..." would come back changed. Inside quotes it therefore
// sends CR CR LF, of which csv removes one CR.
type rowLimit struct {
	r         io.Reader
	comma     byte // the field separator
	delivered int64
	rowStart  int64 // csv.Reader.InputOffset after the last record
	state     quoteState
	lastCR    bool // the byte before was a CR inside quotes
	in, out   []byte
	pending   []byte // of out, not yet delivered
	err       error  // of the last read, delivered after pending
}

// quoteState follows RFC 4180 quoting as encoding/csv reads it: a quote opens a quoted
// field only at the field's start; inside, a doubled quote is a quote and a single one ends
// the field. A stray quote in an unquoted field is csv's error and changes nothing here.
type quoteState uint8

const (
	fieldStart quoteState = iota
	unquoted
	quoted
	quotedQuote // a quote inside quotes: a doubled quote or the field's end
)

func (l *rowLimit) Read(p []byte) (int, error) {
	if len(l.pending) == 0 && l.err == nil {
		if l.delivered-l.rowStart > maxRowBytes+int64(len(p)) {
			return 0, errRowTooLong
		}
		if l.in == nil {
			l.in, l.out = make([]byte, 32<<10), make([]byte, 0, 64<<10)
		}
		n, err := l.r.Read(l.in)
		l.pending, l.err = l.quote(l.in[:n]), err
	}
	n := copy(p, l.pending)
	l.pending = l.pending[n:]
	l.delivered += int64(n)
	if len(l.pending) == 0 && l.err != nil {
		err := l.err
		l.err = nil
		return n, err
	}
	return n, nil
}

// quote copies in to l.out, adding the CR before an LF that follows a CR inside quotes.
func (l *rowLimit) quote(in []byte) []byte {
	out := l.out[:0]
	for _, ch := range in {
		switch l.state {
		case fieldStart:
			switch ch {
			case '"':
				l.state = quoted
			case l.comma, '\n', '\r':
			default:
				l.state = unquoted
			}
		case unquoted:
			if ch == l.comma || ch == '\n' || ch == '\r' {
				l.state = fieldStart
			}
		case quoted:
			if ch == '"' {
				l.state = quotedQuote
			} else if ch == '\n' && l.lastCR {
				out = append(out, '\r')
			}
		case quotedQuote:
			switch ch {
			case '"':
				l.state = quoted
			case l.comma, '\n', '\r':
				l.state = fieldStart
			default:
				l.state = unquoted // csv's error: text after the closing quote
			}
		}
		l.lastCR = ch == '\r' && l.state == quoted
		out = append(out, ch)
	}
	return out
}

// Kinds: a CSV file holds one kind, so a replacement replaces only that kind.
func (c *csvImport) Kinds() []domain.Kind { return []domain.Kind{c.kind} }

func (c *csvImport) readError(err error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return &transfer.ImportTooLargeError{Detail: fmt.Sprintf("The import body exceeds %d bytes; split it.", transfer.MaxImportBytes)}
	}
	return fmt.Errorf("api: read CSV import: %w", err)
}

// header reads the first row. Its problems refuse the import at once: without the columns
// no row can be read.
func (c *csvImport) header() error {
	// The header must end within maxHeaderBytes; csv.Reader would read a longer line whole,
	// and split it into one string per column, before the columns could be counted.
	if head, err := c.head.Peek(maxHeaderBytes); err == nil && !endsLine(head) {
		return headerError("", fmt.Sprintf("the header line is longer than %d bytes; it names the columns, at most %d", maxHeaderBytes, maxHeaderColumns))
	}
	rec, err := c.r.Read()
	if errors.Is(err, io.EOF) {
		return headerError("", "the file is empty; the first line must name the columns")
	}
	var perr *csv.ParseError
	if errors.As(err, &perr) {
		return headerError("", "the header line cannot be read: "+perr.Err.Error())
	}
	if err != nil {
		return c.readError(err)
	}
	byName := map[string]csvColumn{}
	for _, col := range csvColumns(c.kind) {
		byName[col.name] = col
	}
	if len(rec) > maxHeaderColumns {
		return headerError("", fmt.Sprintf("the header has %d columns; at most %d are allowed", len(rec), maxHeaderColumns))
	}
	verr := &transfer.ImportError{}
	seen := map[string]bool{}
	for _, name := range rec {
		n := strings.ToLower(strings.TrimSpace(name))
		col, ok := byName[n]
		switch {
		case !utf8.ValidString(name):
			addHeaderError(verr, "", "a column name is not valid UTF-8 text; save the file as UTF-8")
		case !ok:
			addHeaderError(verr, clip(name), fmt.Sprintf("is not a column of %s imports", importMemberName(c.kind)))
		case seen[n]:
			addHeaderError(verr, clip(name), "is given twice")
		}
		seen[n] = true
		c.cols = append(c.cols, col)
	}
	for _, required := range []string{"ressort", "key", "name"} {
		if !seen[required] {
			addHeaderError(verr, required, "is a required column")
		}
	}
	if verr.Total > 0 {
		return verr.Finish()
	}
	return nil
}

// endsLine reports whether b holds the end of the first CSV record: a line end outside
// quotes (a doubled quote inside quotes toggles twice and so changes nothing).
func endsLine(b []byte) bool {
	quoted := false
	for _, ch := range b {
		switch {
		case ch == '"':
			quoted = !quoted
		case (ch == '\n' || ch == '\r') && !quoted:
			return true
		}
	}
	return false
}

func headerError(field, message string) error {
	verr := &transfer.ImportError{}
	addHeaderError(verr, field, message)
	return verr.Finish()
}

func addHeaderError(verr *transfer.ImportError, field, message string) {
	verr.Add(transfer.ItemError{Index: -1, Line: 1, Field: field, Message: message})
}

// Next returns the item of the next row, or io.EOF.
func (c *csvImport) Next() (transfer.ImportItem, error) {
	if c.done {
		return transfer.ImportItem{}, io.EOF
	}
	if c.cols == nil {
		if err := c.header(); err != nil {
			c.done = true
			return transfer.ImportItem{}, err
		}
		c.recordRead(nil, nil)
	}
	rec, err := c.r.Read()
	if errors.Is(err, io.EOF) {
		c.done = true
		return transfer.ImportItem{}, io.EOF
	}
	it := transfer.ImportItem{Kind: c.kind, Index: c.index}
	c.index++
	if errors.Is(err, errRowTooLong) {
		c.done = true
		verr := &transfer.ImportError{}
		verr.Add(transfer.ItemError{Index: it.Index, Line: c.line, Kind: c.kind,
			Message: fmt.Sprintf("the row is longer than %d bytes; no valid row is that long", maxRowBytes)})
		return it, verr.Finish()
	}
	c.recordRead(rec, err)
	var perr *csv.ParseError
	if errors.As(err, &perr) {
		it.Line = perr.StartLine
	} else if err == nil {
		// FieldPos may be asked only about a record that was read completely.
		it.Line, _ = c.r.FieldPos(0)
	}
	switch {
	case errors.As(err, &perr) && errors.Is(perr.Err, csv.ErrFieldCount):
		it.Problems = append(it.Problems, domain.FieldError{
			Message: fmt.Sprintf("the row has %d fields, the header %d", len(rec), len(c.cols))})
		return it, nil
	case errors.As(err, &perr):
		it.Problems = append(it.Problems, domain.FieldError{Message: "the row cannot be read: " + perr.Err.Error()})
		return it, nil
	case err != nil:
		c.done = true
		return transfer.ImportItem{}, c.readError(err)
	}
	for i, cell := range rec {
		col := c.cols[i]
		if !utf8.ValidString(cell) {
			it.Problems = append(it.Problems, domain.FieldError{Field: col.name, Message: "is not valid UTF-8 text; save the file as UTF-8"})
			continue
		}
		if msg := col.set(&it, unneutralize(cell)); msg != "" {
			it.Problems = append(it.Problems, domain.FieldError{Field: col.name, Message: msg})
		}
	}
	return it, nil
}

// recordRead moves the row limit past a record just read and notes where the next starts.
func (c *csvImport) recordRead(rec []string, err error) {
	c.rows.rowStart = c.r.InputOffset()
	var perr *csv.ParseError
	switch {
	case errors.As(err, &perr):
		c.line = perr.Line + 1
	case err == nil && len(rec) > 0:
		line, _ := c.r.FieldPos(len(rec) - 1)
		c.line = line + strings.Count(rec[len(rec)-1], "\n") + 1
	case err == nil:
		c.line = 2 // after the header
	}
}

// writeCSVExport writes entries of one kind in the import format.
type csvExport struct {
	w    *render.CSVWriter
	cols []csvColumn
	row  []string
}

func newCSVExport(w io.Writer, kind domain.Kind, d render.Dialect) (*csvExport, error) {
	cw := render.NewDialectWriter(w, d)
	cols := csvColumns(kind)
	header := make([]string, len(cols))
	for i, col := range cols {
		header[i] = col.name
	}
	if err := cw.Write(header); err != nil {
		return nil, err
	}
	return &csvExport{w: cw, cols: cols, row: make([]string, len(cols))}, nil
}

func (x *csvExport) write(e domain.Entry) error {
	for i, col := range x.cols {
		x.row[i] = neutralize(col.get(e))
	}
	return x.w.Write(x.row)
}

func (x *csvExport) flush() error {
	x.w.Flush()
	return x.w.Error()
}
