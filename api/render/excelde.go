package render

import (
	"bufio"
	"io"
)

// Dialect is a flavour of CSV. The RFC 4180 one is for scripts; German Excel, opening a file
// by double-click, expects another: it splits fields at ';' (',' is its decimal separator),
// reads the text as Windows-1252 unless a UTF-8 byte order mark says otherwise, and takes
// "12.5" for a date or text.
type Dialect struct {
	Comma        byte
	DecimalComma bool // numbers with a fraction are written 12,5
	BOM          bool // the file starts with the UTF-8 byte order mark
}

// The dialects a download offers.
var (
	RFC4180 = Dialect{Comma: ','}
	ExcelDE = Dialect{Comma: ';', DecimalComma: true, BOM: true}
)

// NewDialectWriter writes records in the dialect to w, buffered; the byte order mark, if the
// dialect has one, goes out with the first record. Line ends are CRLF in every dialect.
func NewDialectWriter(w io.Writer, d Dialect) *CSVWriter {
	c := &CSVWriter{w: bufio.NewWriter(w), comma: d.Comma}
	if d.BOM {
		_, _ = c.w.WriteString("\ufeff")
	}
	return c
}
