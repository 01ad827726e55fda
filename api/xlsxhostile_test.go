package api_test

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"hash/crc32"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
)

// hostilePart is a part whose ZIP entry may declare another size than its content has.
type hostilePart struct {
	name     string
	content  io.Reader
	declared uint64 // 0: the true size
}

// hostileZip writes the parts deflated; a declared size is written into the directory as
// given, as a ZIP bomb or a forged archive would.
func hostileZip(t *testing.T, parts ...hostilePart) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, p := range parts {
		var comp bytes.Buffer
		fw, _ := flate.NewWriter(&comp, flate.BestSpeed)
		crc := crc32.NewIEEE()
		n, err := io.Copy(io.MultiWriter(fw, crc), p.content)
		if err != nil {
			t.Fatal(err)
		}
		_ = fw.Close()
		size := uint64(n)
		if p.declared > 0 {
			size = p.declared
		}
		w, err := zw.CreateRaw(&zip.FileHeader{Name: p.name, Method: zip.Deflate, CRC32: crc.Sum32(),
			CompressedSize64: uint64(comp.Len()), UncompressedSize64: size})
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write(comp.Bytes())
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// withSheet is the package of one sheet Register whose worksheet is the given part.
func withSheet(sheet hostilePart, more ...hostilePart) []hostilePart {
	var parts []hostilePart
	for _, p := range skeleton([]string{"Register"}, nil, len(more) > 0) {
		parts = append(parts, hostilePart{name: p.name, content: strings.NewReader(p.body)})
	}
	sheet.name = "xl/worksheets/sheet1.xml"
	return append(append(parts, sheet), more...)
}

// repeated is n bytes of s repeated, between head and tail, without holding them.
func repeated(head, s string, n int64, tail string) io.Reader {
	return io.MultiReader(strings.NewReader(head),
		io.LimitReader(&repeater{s: s}, n), strings.NewReader(tail))
}

type repeater struct {
	s   string
	off int
}

func (r *repeater) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = r.s[r.off]
		r.off = (r.off + 1) % len(r.s)
	}
	return len(p), nil
}

const sheetHead = `<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>`
const sheetTail = `</sheetData></worksheet>`

// heapBound is what one hostile workbook may make the server allocate in all (TotalAlloc, an
// upper bound of the heap's growth) while refusing it. The bodies themselves are small; what
// they would unpack to is up to 8 GiB.
const heapBound = 16 << 20

// TestXLSXHostile: workbooks made to exhaust the server are refused with a 4xx, write
// nothing, and cost the server less than heapBound of allocations each.
func TestXLSXHostile(t *testing.T) {
	ts := newTestServer(t)
	header := `<row r="1"><c r="A1" t="inlineStr"><is><t>ressort</t></is></c><c r="B1" t="inlineStr"><is><t>key</t></is></c><c r="C1" t="inlineStr"><is><t>name</t></is></c></row>`
	lol := `<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">` +
		`<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">` +
		`<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;"><!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">` +
		`<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;"><!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">` +
		`<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>`
	cases := []struct {
		name string
		body func() []byte
		want int
		says string
	}{
		{"not a zip", func() []byte { return []byte("ressort,key,name\nSF,a,A\n") }, http.StatusBadRequest, "not a ZIP archive"},
		{"an old .xls", func() []byte { return append([]byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"), make([]byte, 4096)...) }, http.StatusBadRequest, ".xls"},
		{"a truncated zip", func() []byte { return []byte("PK\x03\x04 and then nothing") }, http.StatusBadRequest, "ZIP"},
		{"zip bomb: a sheet of 8 GiB", func() []byte {
			return hostileZip(t, withSheet(hostilePart{content: repeated(sheetHead, "<row/>", 1<<20, sheetTail), declared: 8 << 30})...)
		}, http.StatusBadRequest, "ZIP bomb"},
		{"zip bomb: shared strings of 1 GiB", func() []byte {
			return hostileZip(t, withSheet(hostilePart{content: strings.NewReader(sheetHead + sheetTail)},
				hostilePart{name: "xl/sharedStrings.xml", content: repeated("<sst>", "<si><t>a</t></si>", 1<<20, "</sst>"), declared: 1 << 30})...)
		}, http.StatusBadRequest, "MiB"},
		{"zip bomb: a directory that understates 32 MiB as 1 KiB", func() []byte {
			return hostileZip(t, withSheet(hostilePart{content: repeated(sheetHead+header, "<row/>", 32<<20, sheetTail), declared: 1024})...)
		}, http.StatusBadRequest, "unpacked"},
		{"entity expansion in a sheet", func() []byte {
			return hostileZip(t, withSheet(hostilePart{content: strings.NewReader(`<?xml version="1.0"?>` + lol +
				`<worksheet><sheetData><row r="1"><c t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>`)})...)
		}, http.StatusBadRequest, "DTD"},
		{"entity expansion in the shared strings", func() []byte {
			return hostileZip(t, withSheet(hostilePart{content: strings.NewReader(sheetHead + sheetTail)},
				hostilePart{name: "xl/sharedStrings.xml", content: strings.NewReader(`<?xml version="1.0"?>` + lol + `<sst><si><t>&lol9;</t></si></sst>`)})...)
		}, http.StatusBadRequest, "DTD"},
		{"an undeclared entity", func() []byte {
			return hostileZip(t, withSheet(hostilePart{content: strings.NewReader(sheetHead + `<row r="1"><c t="inlineStr"><is><t>&lol9;</t></is></c></row>` + sheetTail)})...)
		}, http.StatusBadRequest, "XML"},
		{"a sheet claiming a million columns", func() []byte {
			return hostileZip(t, withSheet(hostilePart{content: strings.NewReader(`<?xml version="1.0"?><worksheet><dimension ref="A1:BDWGN1048576"/><cols><col min="1" max="1000000"/></cols><sheetData>` +
				header + `<row r="2"><c r="BDWGN2" t="inlineStr"><is><t>x</t></is></c></row>` + sheetTail)})...)
		}, http.StatusBadRequest, "XFD"},
		{"a row of a million cells", func() []byte {
			return hostileZip(t, withSheet(hostilePart{content: repeated(sheetHead+header+`<row r="2">`, `<c><v>1</v></c>`, 15<<20, `</row>`+sheetTail)})...)
		}, http.StatusBadRequest, "16384 columns"},
		{"a cell of 64 MiB", func() []byte {
			return hostileZip(t, withSheet(hostilePart{content: repeated(sheetHead+header+`<row r="2"><c t="inlineStr"><is><t>`, "A", 64<<20, `</t></is></c></row>`+sheetTail)})...)
		}, http.StatusBadRequest, "longer than"},
		{"elements nested a million deep", func() []byte {
			return hostileZip(t, withSheet(hostilePart{content: repeated(sheetHead+header+`<row r="2">`, "<x>", 3<<20, "")})...)
		}, http.StatusBadRequest, "nests"},
		{"rows beyond Excel's last", func() []byte {
			return hostileZip(t, withSheet(hostilePart{content: strings.NewReader(sheetHead + header + `<row r="2000000"><c t="inlineStr"><is><t>SF</t></is></c></row>` + sheetTail)})...)
		}, http.StatusBadRequest, "rows"},
	}
	before := ts.fingerprint()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := c.body()
			req := xlsxRequest("", body)
			runtime.GC()
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			rec := ts.do(req)
			runtime.ReadMemStats(&m1)
			if rec.Code != c.want || !strings.Contains(rec.Body.String(), c.says) {
				t.Errorf("got %d %s, want %d saying %q", rec.Code, rec.Body, c.want, c.says)
			}
			allocated := m1.TotalAlloc - m0.TotalAlloc
			if allocated > heapBound {
				t.Errorf("refusing it allocated %d MiB, want at most %d MiB", allocated>>20, heapBound>>20)
			}
			t.Logf("body %d KiB, allocated %.1f MiB, heap after %.1f MiB: %d", len(body)>>10,
				float64(allocated)/(1<<20), float64(m1.HeapAlloc)/(1<<20), rec.Code)
		})
	}
	if ts.fingerprint() != before {
		t.Error("a hostile workbook wrote")
	}
}
