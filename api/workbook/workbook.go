// Package workbook reads the cells of XLSX worksheets as a stream, for imports. It reads
// what Excel, LibreOffice and excelize write (shared and inline strings, rich text, numbers,
// dates, with or without styles) and refuses, before it decompresses a byte, what a hostile
// file would use to exhaust memory: the ZIP directory's sizes are checked against Limits,
// every XML token is bounded, a DTD (the door to entity expansion) is an error, and no
// allocation grows with a column index a file claims.
//
// It does not use excelize's reader: excelize's row iterator ends silently at a broken XML
// token (a truncated import would look complete) and does not say which cells hold a
// formula, and its shared strings loader ignores decoding errors. Writing stays excelize's.
package workbook

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"path"
	"strconv"
	"strings"
)

// Limits bound what a workbook may unpack to. They mirror excelize's UnzipSizeLimit and
// UnzipXMLSizeLimit, but are checked against the ZIP directory before any part is read;
// archive/zip then refuses a part that yields more than its directory entry declares.
type Limits struct {
	// Total bounds the sum of the parts' uncompressed sizes.
	Total int64
	// Part bounds one worksheet part; Strings the shared strings (held in memory) and
	// Other every other part that is read (workbook, relationships).
	Part, Strings, Other int64
	// MaxStrings bounds the number of shared strings.
	MaxStrings int
	// Files bounds the number of entries in the ZIP directory.
	Files int
}

// Excel's own limits: columns A..XFD and 1,048,576 rows.
const (
	MaxColumns = 16384
	MaxRows    = 1 << 20
)

// maxToken bounds one XML token (a cell's text, a start element with its attributes): Excel
// allows 32,767 characters in a cell, at most 4 bytes each, plus escapes.
const maxToken = 1 << 20

// maxDepth bounds element nesting; a worksheet needs 6 levels, rich text 8.
const maxDepth = 32

// Error says why a body is not a readable workbook. Its text is for the person who sent it.
type Error struct{ Detail string }

func (e *Error) Error() string { return e.Detail }

func fail(format string, args ...any) error { return &Error{Detail: fmt.Sprintf(format, args...)} }

// Workbook is an open XLSX file.
type Workbook struct {
	zr       *zip.Reader
	files    map[string]*zip.File
	limits   Limits
	sheets   []Sheet
	strings  *sharedStrings
	sstPath  string
	Date1904 bool // the workbook counts dates from 1904 (old Mac Excel)
}

// Sheet is one sheet of the workbook as its directory lists it.
type Sheet struct {
	Name   string
	Hidden bool
	part   string // "" for a chartsheet or a missing target
}

// The magic numbers of what people send instead of an XLSX file.
var (
	zipMagic = []byte("PK\x03\x04")
	cfbMagic = []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1") // .xls, and encrypted .xlsx
)

// Sniff tells from the first bytes whether a body can be a workbook, before it is read.
func Sniff(head []byte) error {
	switch {
	case bytes.HasPrefix(head, zipMagic):
		return nil
	case bytes.HasPrefix(head, cfbMagic):
		return fail("The body is an Excel 97-2003 file (.xls) or a password-protected workbook; save it in Excel as \"Excel-Arbeitsmappe (*.xlsx)\" without a password.")
	case len(head) == 0:
		return fail("The body is empty; send an Excel workbook (.xlsx).")
	default:
		return fail("The body is not an Excel workbook (.xlsx): it is not a ZIP archive.")
	}
}

// Open reads the workbook's directory, its sheet list and its shared strings.
func Open(r io.ReaderAt, size int64, limits Limits) (*Workbook, error) {
	head := make([]byte, 8)
	n, _ := r.ReadAt(head, 0)
	if err := Sniff(head[:n]); err != nil {
		return nil, err
	}
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fail("The body is not a readable ZIP archive, so not an Excel workbook: %v.", err)
	}
	if len(zr.File) > limits.Files {
		return nil, fail("The workbook holds %d files; an import workbook needs a few dozen, at most %d are read.", len(zr.File), limits.Files)
	}
	wb := &Workbook{zr: zr, files: make(map[string]*zip.File, len(zr.File)), limits: limits}
	var total uint64
	for _, f := range zr.File {
		total += f.UncompressedSize64
		if total > uint64(limits.Total) {
			return nil, fail("The workbook unpacks to more than %d MiB; an import is at most %d MiB. It may be a ZIP bomb.", limits.Total>>20, limits.Total>>20)
		}
		if f.Flags&0x1 != 0 {
			return nil, fail("The workbook's part %s is encrypted; save it without a password.", clip(f.Name))
		}
		wb.files[strings.TrimPrefix(f.Name, "/")] = f
	}
	book, err := wb.officeDocument()
	if err != nil {
		return nil, err
	}
	if err := wb.readWorkbook(book); err != nil {
		return nil, err
	}
	if wb.sstPath != "" {
		if wb.strings, err = wb.readSharedStrings(wb.sstPath); err != nil {
			return nil, err
		}
	}
	return wb, nil
}

// Sheets lists the sheets in workbook order.
func (wb *Workbook) Sheets() []Sheet { return wb.sheets }

// open opens a part for streaming, checking its declared size against limit.
func (wb *Workbook) open(name string, limit int64) (io.ReadCloser, error) {
	f := wb.files[name]
	if f == nil {
		return nil, fail("The workbook lacks its part %s; it is damaged.", clip(name))
	}
	if f.UncompressedSize64 > uint64(limit) {
		return nil, fail("The workbook's part %s unpacks to %d MiB; at most %d MiB are read. It may be a ZIP bomb.", clip(name), f.UncompressedSize64>>20, limit>>20)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fail("The workbook's part %s cannot be unpacked: %v.", clip(name), err)
	}
	return rc, nil
}

// relationship is one entry of a .rels part.
type relationship struct{ id, typ, target string }

// rels reads the relationships of part (of the package when part is "").
func (wb *Workbook) rels(part string) ([]relationship, error) {
	name := path.Join(path.Dir(part), "_rels", path.Base(part)+".rels")
	if part == "" {
		name = "_rels/.rels"
	}
	if wb.files[name] == nil {
		return nil, nil
	}
	var out []relationship
	err := wb.walk(name, wb.limits.Other, func(d *decoder, el xml.StartElement) error {
		if el.Name.Local == "Relationship" {
			out = append(out, relationship{id: attr(el, "Id"), typ: attr(el, "Type"), target: attr(el, "Target")})
		}
		return nil
	})
	return out, err
}

// resolve turns a relationship target into a part name.
func resolve(from, target string) string {
	if strings.HasPrefix(target, "/") {
		return strings.TrimPrefix(path.Clean(target), "/")
	}
	return strings.TrimPrefix(path.Join(path.Dir(from), target), "/")
}

// officeDocument finds the workbook part: Excel writes xl/workbook.xml, others may not.
func (wb *Workbook) officeDocument() (string, error) {
	rels, err := wb.rels("")
	if err != nil {
		return "", err
	}
	for _, r := range rels {
		// The transitional and the strict OOXML namespaces both end so.
		if strings.HasSuffix(r.typ, "/officeDocument") {
			return resolve("", r.target), nil
		}
	}
	if wb.files["xl/workbook.xml"] != nil {
		return "xl/workbook.xml", nil
	}
	return "", fail("The ZIP archive holds no workbook (no xl/workbook.xml); it is not an Excel workbook (.xlsx).")
}

func (wb *Workbook) readWorkbook(book string) error {
	rels, err := wb.rels(book)
	if err != nil {
		return err
	}
	targets := map[string]relationship{}
	for _, r := range rels {
		targets[r.id] = r
		if strings.HasSuffix(r.typ, "/sharedStrings") {
			wb.sstPath = resolve(book, r.target)
		}
	}
	return wb.walk(book, wb.limits.Other, func(d *decoder, el xml.StartElement) error {
		switch el.Name.Local {
		case "workbookPr":
			v := attr(el, "date1904")
			wb.Date1904 = v == "1" || v == "true"
		case "sheet":
			s := Sheet{Name: attr(el, "name"), Hidden: attr(el, "state") != "" && attr(el, "state") != "visible"}
			// r:id is namespaced (transitional or strict); any namespaced id is it.
			for _, a := range el.Attr {
				if a.Name.Local == "id" && a.Name.Space != "" {
					if r, ok := targets[a.Value]; ok && strings.HasSuffix(r.typ, "/worksheet") {
						s.part = resolve(book, r.target)
					}
				}
			}
			wb.sheets = append(wb.sheets, s)
		}
		return nil
	})
}

// walk calls fn for every start element of a small part.
func (wb *Workbook) walk(name string, limit int64, fn func(*decoder, xml.StartElement) error) error {
	rc, err := wb.open(name, limit)
	if err != nil {
		return err
	}
	defer rc.Close()
	d := newDecoder(rc, name)
	for {
		tok, err := d.token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if el, ok := tok.(xml.StartElement); ok {
			if err := fn(d, el); err != nil {
				return err
			}
		}
	}
}

func attr(el xml.StartElement, local string) string {
	for _, a := range el.Attr {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

// sharedStrings holds the shared string table compactly: one buffer and the end of each
// string in it, so that a table of many short strings costs 4 bytes per string beyond its
// text.
type sharedStrings struct {
	text []byte
	ends []uint32
}

func (s *sharedStrings) get(i int) (string, bool) {
	if i < 0 || i >= len(s.ends) {
		return "", false
	}
	start := uint32(0)
	if i > 0 {
		start = s.ends[i-1]
	}
	return string(s.text[start:s.ends[i]]), true
}

func (wb *Workbook) readSharedStrings(name string) (*sharedStrings, error) {
	sst := &sharedStrings{}
	if wb.files[name] == nil {
		return sst, nil // a relationship to nothing: every cell says what it holds
	}
	var text strings.Builder
	err := wb.walk(name, wb.limits.Strings, func(d *decoder, el xml.StartElement) error {
		if el.Name.Local != "si" {
			return nil
		}
		if len(sst.ends) == wb.limits.MaxStrings {
			return fail("The workbook's shared string table holds more than %d strings; no import needs that many.", wb.limits.MaxStrings)
		}
		text.Reset()
		if err := d.richText(&text, el); err != nil {
			return err
		}
		sst.text = append(sst.text, unescape(text.String())...)
		if len(sst.text) > math.MaxUint32 {
			return fail("The workbook's shared strings are too large.")
		}
		sst.ends = append(sst.ends, uint32(len(sst.text)))
		return nil
	})
	return sst, err
}

// decoder is encoding/xml's with bounds: each token at most maxToken bytes, nesting at most
// maxDepth, and no DTD. encoding/xml never expands an entity a DTD declares (it reports an
// unknown entity), but a DTD has no place in OOXML, so it is refused outright.
type decoder struct {
	d     *xml.Decoder
	in    *budget
	part  string
	depth int
}

// budget fails a read that goes more than maxToken bytes past the end of the last token.
type budget struct {
	r         io.Reader
	delivered int64
	mark      int64
}

var errTokenTooLong = errors.New("token too long")

func (b *budget) Read(p []byte) (int, error) {
	if b.delivered-b.mark > maxToken {
		return 0, errTokenTooLong
	}
	n, err := b.r.Read(p)
	b.delivered += int64(n)
	return n, err
}

func newDecoder(r io.Reader, part string) *decoder {
	in := &budget{r: r}
	d := xml.NewDecoder(bufio.NewReaderSize(in, 32<<10))
	// The parts declare UTF-8; another charset is refused by encoding/xml without a reader.
	return &decoder{d: d, in: in, part: part}
}

func (d *decoder) token() (xml.Token, error) {
	tok, err := d.d.RawToken()
	// bufio reads ahead at most its buffer; what it holds is counted from the token's end.
	d.in.mark = d.d.InputOffset()
	if err != nil {
		if errors.Is(err, io.EOF) {
			if d.depth != 0 {
				return nil, fail("The workbook's part %s ends inside an element; it is damaged.", clip(d.part))
			}
			return nil, io.EOF
		}
		if errors.Is(err, errTokenTooLong) {
			return nil, fail("The workbook's part %s holds an XML token longer than %d KiB; no cell is that long.", clip(d.part), maxToken>>10)
		}
		if errors.Is(err, zip.ErrFormat) || errors.Is(err, zip.ErrChecksum) || errors.Is(err, zip.ErrAlgorithm) {
			return nil, fail("The workbook's part %s cannot be unpacked (%v); it is damaged or a ZIP bomb.", clip(d.part), err)
		}
		return nil, fail("The workbook's part %s is not well-formed XML: %v.", clip(d.part), err)
	}
	switch t := tok.(type) {
	case xml.StartElement:
		d.depth++
		if d.depth > maxDepth {
			return nil, fail("The workbook's part %s nests elements more than %d deep; it is not a workbook Excel writes.", clip(d.part), maxDepth)
		}
	case xml.EndElement:
		d.depth--
	case xml.Directive:
		return nil, fail("The workbook's part %s declares a DTD (<!%s>), which no workbook needs; it is refused against entity expansion.", clip(d.part), clip(strings.Fields(string(t) + " ")[0]))
	}
	return tok, nil
}

// text reads the character data up to the end of the element just started.
func (d *decoder) text(b *strings.Builder) error {
	depth := d.depth
	for {
		tok, err := d.token()
		if errors.Is(err, io.EOF) {
			return fail("The workbook's part %s ends inside an element; it is damaged.", clip(d.part))
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.CharData:
			if b.Len()+len(t) > maxToken {
				return fail("The workbook's part %s holds a text longer than %d KiB; no cell is that long.", clip(d.part), maxToken>>10)
			}
			b.Write(t)
		case xml.EndElement:
			if d.depth < depth {
				return nil
			}
		}
	}
}

// richText reads a string item (<si> or <is>): its <t>, or the <t> of its runs, but not the
// phonetic runs (<rPh>) Japanese Excel adds.
func (d *decoder) richText(b *strings.Builder, _ xml.StartElement) error {
	depth := d.depth
	for {
		tok, err := d.token()
		if errors.Is(err, io.EOF) {
			return fail("The workbook's part %s ends inside an element; it is damaged.", clip(d.part))
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "t":
				if err := d.text(b); err != nil {
					return err
				}
			case "rPh":
				if err := d.skip(); err != nil {
					return err
				}
			}
		case xml.EndElement:
			if d.depth < depth {
				return nil
			}
		}
	}
}

// skip skips the rest of the element just started.
func (d *decoder) skip() error {
	depth := d.depth
	for d.depth >= depth {
		if _, err := d.token(); err != nil {
			if errors.Is(err, io.EOF) {
				return fail("The workbook's part %s ends inside an element; it is damaged.", clip(d.part))
			}
			return err
		}
	}
	return nil
}

// unescape decodes OOXML's _xHHHH_ escapes (ST_Xstring), with which Excel writes control
// characters; _x005F_ is the escape of the underscore that would otherwise begin one.
func unescape(s string) string {
	if !strings.Contains(s, "_x") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if i+7 <= len(s) && s[i] == '_' && s[i+1] == 'x' && s[i+6] == '_' {
			if v, err := strconv.ParseUint(s[i+2:i+6], 16, 16); err == nil {
				b.WriteRune(rune(v))
				i += 7
				continue
			}
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}
