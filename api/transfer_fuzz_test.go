package api

import (
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/transfer"
)

// FuzzImportCSV feeds arbitrary files to the CSV import reader: it must never panic, must
// end, and every item it yields must say which line it came from.
func FuzzImportCSV(f *testing.F) {
	for _, seed := range []string{
		"ressort,key,name\nSF,a,A\n",
		"\ufeffRessort,KEY,Name,idnr_stage\r\nSF,a,\"x, y\",planned\r\n",
		"ressort,key,name,leika_keys\nSF,a,\"Zeile\nzwei\",1|2\n",
		"ressort,key,name\nSF,a,\"bare \" quote\n",
		"ressort,key,name,name\n",
		"ressort,key,name\nSF,a\n",
		"ressort,key,name,idnrg_anlage_nr\nSF,a,A,99999999999999999999\n",
		"ressort,key,name\nSF,a,'=SUM(A1)\n",
		"",
		"\xff\xfe",
	} {
		f.Add(seed, true)
	}
	f.Fuzz(func(t *testing.T, data string, registers bool) {
		kind := domain.KindOnlinedienst
		if registers {
			kind = domain.KindRegister
		}
		src := newCSVImport(strings.NewReader(data), kind)
		for n := 0; ; n++ {
			if n > len(data)+1 {
				t.Fatalf("more items (%d) than bytes (%d)", n, len(data))
			}
			it, err := src.Next()
			if errors.Is(err, io.EOF) {
				return
			}
			var verr *transfer.ImportError
			if errors.As(err, &verr) {
				if verr.Total == 0 || len(verr.Errors) == 0 {
					t.Fatalf("an import error without errors")
				}
				return
			}
			if err != nil {
				t.Fatalf("a CSV reader error that is neither a finding nor EOF: %v", err)
			}
			if it.Line < 2 || it.Index != n {
				t.Fatalf("item %d: line %d, index %d", n, it.Line, it.Index)
			}
			if len(it.Problems) == 0 && (!utf8.ValidString(it.Content.Name) || !utf8.ValidString(it.Key)) {
				t.Fatalf("item %d without problems holds invalid UTF-8", n)
			}
		}
	})
}

// FuzzImportJSON feeds arbitrary bodies to the JSON import reader: no panic, an end, and
// every failure is a finding for the client (a bad import, too large) rather than an
// internal error.
func FuzzImportJSON(f *testing.F) {
	for _, seed := range []string{
		`{"registers": [{"ressort": "SF", "key": "a", "name": "A"}], "onlinedienste": []}`,
		`{"registers": [{"ressort": "SF", "key": "a", "name": "A", "name": "B"}]}`,
		`{"registers": [{"Ressort": "SF", "key": "a", "name": 5, "readiness": {"IDNR": {"stage": 1}}}]}`,
		`{"onlinedienste": [{"ressort": "SF", "key": "a", "name": "A", "nachweise_from": ["SIS/x"]}]} x`,
		`{"registers": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`,
		`{"registers": [{"name": "\ud800"}]}`,
		"\ufeff{}",
		`{"registers": null}`,
		`[]`,
		``,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data string) {
		src, err := newJSONImport(strings.NewReader(data))
		for n := 0; err == nil; n++ {
			if n > len(data)+1 {
				t.Fatalf("more items (%d) than bytes (%d)", n, len(data))
			}
			_, err = src.Next()
		}
		// The reader ends cleanly, refuses an unreadable document (400), or refuses a
		// document that names a member an import does not have (422, naming it).
		var bad *transfer.BadImportError
		var invalid *transfer.ImportError
		if !errors.Is(err, io.EOF) && !errors.As(err, &bad) && !errors.As(err, &invalid) {
			t.Fatalf("got %T %v, want io.EOF, a BadImportError or an ImportError", err, err)
		}
	})
}
