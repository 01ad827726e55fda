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

	"github.com/bremen/regmo/domain"
)

// csvColumn is one column of the CSV import and export format: how to read a cell into an
// item and how to write it from an entry.
type csvColumn struct {
	name string
	// set stores a cell (already UTF-8, the export's ' prefix removed); it returns a
	// message when the cell cannot be read.
	set func(it *domain.ImportItem, cell string) string
	get func(e domain.Entry) string
}

// listSep separates the values of a list field in one cell.
const listSep = "|"

func textColumn(name string, field func(*domain.ImportItem) *string, value func(domain.Entry) string) csvColumn {
	return csvColumn{name: name,
		set: func(it *domain.ImportItem, cell string) string { *field(it) = cell; return "" },
		get: value}
}

func listColumn(name string, field func(*domain.Content) *[]string) csvColumn {
	return csvColumn{name: name,
		set: func(it *domain.ImportItem, cell string) string {
			if cell == "" {
				return ""
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

func statusColumns(dim string, status func(*domain.Readiness) *domain.Status) []csvColumn {
	st := func(it *domain.ImportItem) *domain.Status { return status(&it.Content.Readiness) }
	of := func(e domain.Entry) domain.Status { return *status(&e.Content.Readiness) }
	return []csvColumn{
		{name: dim + "_stage",
			set: func(it *domain.ImportItem, cell string) string { st(it).Stage = domain.Stage(cell); return "" },
			get: func(e domain.Entry) string { return string(of(e).Stage) }},
		textColumn(dim+"_target_date", func(it *domain.ImportItem) *string { return &st(it).TargetDate },
			func(e domain.Entry) string { return of(e).TargetDate }),
		textColumn(dim+"_note", func(it *domain.ImportItem) *string { return &st(it).Note },
			func(e domain.Entry) string { return of(e).Note }),
		textColumn(dim+"_evidence_url", func(it *domain.ImportItem) *string { return &st(it).EvidenceURL },
			func(e domain.Entry) string { return of(e).EvidenceURL }),
	}
}

// csvColumns lists the columns of a kind in the order the export writes them.
func csvColumns(kind domain.Kind) []csvColumn {
	cols := []csvColumn{
		textColumn("ressort", func(it *domain.ImportItem) *string { return &it.Ressort }, func(e domain.Entry) string { return e.Ressort }),
		textColumn("key", func(it *domain.ImportItem) *string { return &it.Key }, func(e domain.Entry) string { return e.Key }),
		textColumn("name", func(it *domain.ImportItem) *string { return &it.Content.Name }, func(e domain.Entry) string { return e.Name }),
		textColumn("description", func(it *domain.ImportItem) *string { return &it.Content.Description }, func(e domain.Entry) string { return e.Description }),
	}
	if kind == domain.KindRegister {
		cols = append(cols,
			csvColumn{name: "idnrg_anlage_nr",
				set: func(it *domain.ImportItem, cell string) string {
					if cell == "" {
						return ""
					}
					n, err := strconv.Atoi(cell)
					if err != nil {
						return "must be a whole number between 1 and 50"
					}
					it.Content.AnlageNr = &n
					return ""
				},
				get: func(e domain.Entry) string {
					if e.AnlageNr == nil {
						return ""
					}
					return strconv.Itoa(*e.AnlageNr)
				}},
			textColumn("legal_basis", func(it *domain.ImportItem) *string { return &it.Content.LegalBasis }, func(e domain.Entry) string { return e.LegalBasis }),
			textColumn("fachverfahren", func(it *domain.ImportItem) *string { return &it.Content.Fachverfahren }, func(e domain.Entry) string { return e.Fachverfahren }),
			textColumn("contact", func(it *domain.ImportItem) *string { return &it.Content.Contact }, func(e domain.Entry) string { return e.Contact }),
		)
	} else {
		cols = append(cols,
			listColumn("leika_keys", func(c *domain.Content) *[]string { return &c.LeikaKeys }),
			textColumn("url", func(it *domain.ImportItem) *string { return &it.Content.URL }, func(e domain.Entry) string { return e.URL }),
			listColumn("nachweise_from", func(c *domain.Content) *[]string { return &c.NachweiseFrom }),
		)
	}
	cols = append(cols, statusColumns("idnr", func(r *domain.Readiness) *domain.Status { return &r.IDNr })...)
	cols = append(cols, statusColumns("noots", func(r *domain.Readiness) *domain.Status { return &r.NOOTS })...)
	return append(cols, statusColumns("dsc", func(r *domain.Readiness) *domain.Status { return &r.DSC })...)
}

// unneutralize removes the ' the export puts before a cell that a spreadsheet would run as
// a formula, and nothing else.
func unneutralize(s string) string {
	if len(s) >= 2 && s[0] == '\'' && strings.ContainsRune("=+-@", rune(s[1])) {
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
}

func newCSVImport(r io.Reader, kind domain.Kind) *csvImport {
	br := bufio.NewReaderSize(r, 64<<10)
	// Spreadsheet programs write a byte order mark; it is not part of the first column's name.
	if head, _ := br.Peek(3); bytes.Equal(head, []byte("\xef\xbb\xbf")) {
		_, _ = br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.ReuseRecord = true
	return &csvImport{r: cr, kind: kind}
}

// Kinds: a CSV file holds one kind, so a replacement replaces only that kind.
func (c *csvImport) Kinds() []domain.Kind { return []domain.Kind{c.kind} }

func (c *csvImport) readError(err error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return &domain.ImportTooLargeError{Detail: fmt.Sprintf("The import body exceeds %d bytes; split it.", domain.MaxImportBytes)}
	}
	return fmt.Errorf("api: read CSV import: %w", err)
}

// header reads the first row. Its problems refuse the import at once: without the columns
// no row can be read.
func (c *csvImport) header() error {
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
	verr := &domain.ImportError{}
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
		return verr
	}
	return nil
}

func headerError(field, message string) error {
	verr := &domain.ImportError{}
	addHeaderError(verr, field, message)
	return verr
}

func addHeaderError(verr *domain.ImportError, field, message string) {
	verr.Errors = append(verr.Errors, domain.ItemError{Index: -1, Line: 1, Field: field, Message: message})
	verr.Total++
}

// Next returns the item of the next row, or io.EOF.
func (c *csvImport) Next() (domain.ImportItem, error) {
	if c.done {
		return domain.ImportItem{}, io.EOF
	}
	if c.cols == nil {
		if err := c.header(); err != nil {
			c.done = true
			return domain.ImportItem{}, err
		}
	}
	rec, err := c.r.Read()
	if errors.Is(err, io.EOF) {
		c.done = true
		return domain.ImportItem{}, io.EOF
	}
	it := domain.ImportItem{Kind: c.kind, Index: c.index}
	c.index++
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
		return domain.ImportItem{}, c.readError(err)
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

// writeCSVExport writes entries of one kind in the import format.
type csvExport struct {
	w    *csv.Writer
	cols []csvColumn
	row  []string
}

func newCSVExport(w io.Writer, kind domain.Kind) (*csvExport, error) {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
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
