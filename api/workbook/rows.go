package workbook

import (
	"encoding/xml"
	"errors"
	"io"
	"strconv"
	"strings"
)

// CellKind says what a cell holds.
type CellKind uint8

// The kinds of cell values.
const (
	Text       CellKind = iota // a string: shared, inline, or a formula's string result
	Number                     // a number as the file writes it; dates are numbers with a date style
	Bool                       // 0 or 1
	ErrorValue                 // #N/A, #DIV/0! ...
	Date                       // an ISO 8601 date (t="d", written by few programs)
)

// Cell is one non-empty cell.
type Cell struct {
	Col     int // 1 for column A
	Kind    CellKind
	Value   string
	Formula bool   // the cell holds a formula; Value is only its cached result
	Source  string // the formula's text, when it has one
}

// Row is one row with its non-empty cells, in file order.
type Row struct {
	Num   int // as Excel shows it
	Cells []Cell
}

// Rows streams the rows of one worksheet.
type Rows struct {
	wb     *Workbook
	rc     io.ReadCloser
	d      *decoder
	row    Row
	err    error
	inData bool
	done   bool
}

// Rows opens a worksheet for reading row by row.
func (wb *Workbook) Rows(s Sheet) (*Rows, error) {
	if s.part == "" {
		return nil, fail("The sheet %q is not a worksheet (a chart sheet?); it holds no cells.", clip(s.Name))
	}
	rc, err := wb.open(s.part, wb.limits.Part)
	if err != nil {
		return nil, err
	}
	return &Rows{wb: wb, rc: rc, d: newDecoder(rc, s.part)}, nil
}

// Close releases the part.
func (r *Rows) Close() error { return r.rc.Close() }

// Err is the error that ended Next, if any.
func (r *Rows) Err() error { return r.err }

// Row is the row Next found; its Cells are reused by the next call.
func (r *Rows) Row() Row { return r.row }

// Next reads the next row that has at least one cell element (it may still hold only empty
// cells, which are left out).
func (r *Rows) Next() bool {
	if r.done || r.err != nil {
		return false
	}
	last := r.row.Num
	r.row.Cells = r.row.Cells[:0]
	for {
		tok, err := r.d.token()
		if errors.Is(err, io.EOF) {
			r.done = true
			return false
		}
		if err != nil {
			r.err = err
			return false
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch {
			case t.Name.Local == "sheetData":
				r.inData = true
			case r.inData && t.Name.Local == "row":
				r.row.Num = last + 1
				if v := attr(t, "r"); v != "" {
					n, err := strconv.Atoi(v)
					if err != nil || n <= last || n > MaxRows {
						r.err = fail("The sheet names a row %q after row %d; rows must be numbered 1 to %d in ascending order.", clip(v), last, MaxRows)
						return false
					}
					r.row.Num = n
				}
				if r.row.Num > MaxRows {
					r.err = fail("The sheet has more than %d rows, Excel's limit.", MaxRows)
					return false
				}
				if r.err = r.cells(); r.err != nil {
					return false
				}
				return true
			}
		case xml.EndElement:
			if t.Name.Local == "sheetData" {
				r.done = true
				return false
			}
		}
	}
}

// cells reads the cells of the row just started.
func (r *Rows) cells() error {
	depth := r.d.depth
	col := 0
	for {
		tok, err := r.d.token()
		if errors.Is(err, io.EOF) {
			return fail("The sheet ends inside row %d; the workbook is damaged.", r.row.Num)
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local != "c" {
				if err := r.d.skip(); err != nil {
					return err
				}
				continue
			}
			col++
			if ref := attr(t, "r"); ref != "" {
				c, ok := column(ref)
				if !ok {
					return fail("Row %d has a cell %q beyond column XFD (%d columns), Excel's limit.", r.row.Num, clip(ref), MaxColumns)
				}
				col = c
			}
			if col > MaxColumns {
				return fail("Row %d has more than %d columns, Excel's limit.", r.row.Num, MaxColumns)
			}
			cell, err := r.cell(t, col)
			if err != nil {
				return err
			}
			if cell.Value != "" || cell.Formula {
				r.row.Cells = append(r.row.Cells, cell)
			}
		case xml.EndElement:
			if r.d.depth < depth {
				return nil
			}
		}
	}
}

// cell reads one <c> element.
func (r *Rows) cell(start xml.StartElement, col int) (Cell, error) {
	c := Cell{Col: col}
	typ := attr(start, "t")
	var v, inline strings.Builder
	hasInline := false
	depth := r.d.depth
loop:
	for {
		tok, err := r.d.token()
		if errors.Is(err, io.EOF) {
			return c, fail("The sheet ends inside a cell of row %d; the workbook is damaged.", r.row.Num)
		}
		if err != nil {
			return c, err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			if r.d.depth < depth {
				break loop
			}
		case xml.StartElement:
			switch t.Name.Local {
			case "v":
				err = r.d.text(&v)
			case "f":
				c.Formula = true
				var f strings.Builder
				err = r.d.text(&f)
				c.Source = f.String()
			case "is":
				hasInline = true
				err = r.d.richText(&inline, t)
			default:
				err = r.d.skip()
			}
			if err != nil {
				return c, err
			}
		}
	}
	switch typ {
	case "s":
		i, err := strconv.Atoi(strings.TrimSpace(v.String()))
		if v.Len() == 0 {
			return c, nil
		}
		s, ok := "", false
		if err == nil && r.wb.strings != nil {
			s, ok = r.wb.strings.get(i)
		}
		if !ok {
			return c, fail("Row %d has a cell that refers to shared string %s, which the workbook lacks; it is damaged.", r.row.Num, clip(v.String()))
		}
		c.Kind, c.Value = Text, s
	case "inlineStr":
		c.Kind, c.Value = Text, unescape(inline.String())
	case "str":
		c.Kind, c.Value = Text, unescape(v.String())
	case "b":
		c.Kind, c.Value = Bool, v.String()
	case "e":
		c.Kind, c.Value = ErrorValue, v.String()
	case "d":
		c.Kind, c.Value = Date, strings.TrimSpace(v.String())
	default:
		c.Kind, c.Value = Number, strings.TrimSpace(v.String())
		if hasInline { // a writer that forgot t="inlineStr"
			c.Kind, c.Value = Text, unescape(inline.String())
		}
	}
	return c, nil
}

// column reads the column of a cell reference such as "AB12".
func column(ref string) (int, bool) {
	col := 0
	for i := 0; i < len(ref); i++ {
		ch := ref[i]
		switch {
		case ch >= 'A' && ch <= 'Z':
			col = col*26 + int(ch-'A') + 1
		case ch >= 'a' && ch <= 'z':
			col = col*26 + int(ch-'a') + 1
		case ch >= '0' && ch <= '9' && i > 0:
			return col, col <= MaxColumns
		default:
			return 0, false
		}
		if col > MaxColumns {
			return 0, false
		}
	}
	return 0, false
}

// ColumnName is the letters of a column: 1 is A, 27 is AA.
func ColumnName(col int) string {
	var b []byte
	for ; col > 0; col = (col - 1) / 26 {
		b = append([]byte{byte('A' + (col-1)%26)}, b...)
	}
	return string(b)
}
