package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		kind  Kind // ignored when ok
		ok    bool
		field string
	}{
		{name: "object", in: `{"name":"Melderegister","readiness":{"noots":{"stage":"live"}}}`, ok: true},
		{name: "array of numbers", in: ` [0, -0, 1e10, 1.5E-3, -12.25e+2] `, ok: true},
		{name: "escapes and surrogate pair", in: `{"a":"\u00fc\n\t\"\\\/ \ud83d\ude00"}`, ok: true},
		{name: "raw umlauts", in: `{"name":"Bürgeramt Straße"}`, ok: true},
		{name: "literals", in: `[true,false,null]`, ok: true},
		{name: "same name in sibling objects", in: `[{"a":1},{"a":2}]`, ok: true},
		{name: "empty", in: ``, kind: Syntax},
		{name: "blank", in: " \n\t", kind: Syntax},
		{name: "truncated", in: `{"a":`, kind: Syntax},
		{name: "single quotes", in: `{'a':1}`, kind: Syntax},
		{name: "leading zero", in: `[01]`, kind: Syntax},
		{name: "plus sign", in: `[+1]`, kind: Syntax},
		{name: "NaN", in: `[NaN]`, kind: Syntax},
		{name: "fraction without digits", in: `[1.]`, kind: Syntax},
		{name: "trailing comma", in: `{"a":1,}`, kind: Syntax},
		{name: "raw control character", in: "{\"a\":\"x\ny\"}", kind: Syntax},
		{name: "bad escape", in: `{"a":"\x"}`, kind: Syntax},
		{name: "short unicode escape", in: `{"a":"\u12"}`, kind: Syntax},
		{name: "misspelt literal", in: `[ture]`, kind: Syntax},
		{name: "BOM", in: "\xef\xbb\xbf{}", kind: BOM},
		{name: "second value", in: `{} {}`, kind: Trailing},
		{name: "garbage after", in: `{"a":1}x`, kind: Trailing},
		{name: "duplicate member", in: `{"name":"a","name":"b"}`, kind: Duplicate, field: "name"},
		{name: "duplicate after escape decoding", in: `{"a":1,"\u0061":2}`, kind: Duplicate, field: "a"},
		{name: "nested duplicate", in: `{"readiness":{"noots":{"stage":"a","stage":"b"}}}`, kind: Duplicate, field: "readiness.noots.stage"},
		{name: "too deep", in: strings.Repeat("[", 40) + strings.Repeat("]", 40), kind: TooDeep},
		{name: "invalid UTF-8 in a value", in: "{\"name\":\"a\xffb\"}", kind: InvalidUTF8, field: "name"},
		{name: "invalid UTF-8 in an array", in: "{\"leika_keys\":[\"1\",\"\xc3\"]}", kind: InvalidUTF8, field: "leika_keys[1]"},
		{name: "invalid UTF-8 in a name", in: "{\"na\xffme\":1}", kind: InvalidUTF8, field: "na\uFFFDme"},
		{name: "lone high surrogate", in: `{"a":"\ud800"}`, kind: InvalidUTF8, field: "a"},
		{name: "lone low surrogate", in: `{"a":"\udc00x"}`, kind: InvalidUTF8, field: "a"},
		{name: "high surrogate then non-surrogate", in: `{"a":"\ud800\u0041"}`, kind: InvalidUTF8, field: "a"},
		{name: "NUL escape", in: `{"readiness":{"idnr":{"note":"\u0000"}}}`, kind: NUL, field: "readiness.idnr.note"},
		{name: "NUL in a top-level array", in: `["ok","\u0000"]`, kind: NUL, field: "[1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check([]byte(tt.in), 32)
			if tt.ok {
				if err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Check = %v, want *Error of kind %d", err, tt.kind)
			}
			if e.Kind != tt.kind {
				t.Errorf("kind = %d, want %d (%v)", e.Kind, tt.kind, e)
			}
			if tt.field != "" && e.Field != tt.field {
				t.Errorf("field = %q, want %q", e.Field, tt.field)
			}
			if e.Detail == "" {
				t.Error("empty detail")
			}
		})
	}
}

// TestAgreesWithEncodingJSON: on documents without duplicates, bad UTF-8 or NUL, Check
// accepts exactly what json.Valid accepts.
func TestAgreesWithEncodingJSON(t *testing.T) {
	corpus := []string{`{}`, `[]`, `""`, `0`, `-`, `1e`, `[1,2`, `{"a":[{"b":null}]}`, `"\u00e4"`,
		`{"a" 1}`, `[1 2]`, `tru`, `nul`, `"\/"`, `1.0e+10`, `-0.0`, `{"":""}`, `[[[[]]]]`, "\t[ ]\r\n"}
	for _, in := range corpus {
		got := Check([]byte(in), 0) == nil
		if want := json.Valid([]byte(in)); got != want {
			t.Errorf("Check(%q) accepts = %v, json.Valid = %v", in, got, want)
		}
	}
}

func FuzzCheck(f *testing.F) {
	for _, s := range []string{`{"name":"a"}`, `{"a":1,"a":2}`, "\xef\xbb\xbf{}", `["\ud800"]`, `{"a":"\u0000"}`, `[1e400]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if Check(data, 64) != nil {
			return
		}
		if !json.Valid(data) {
			t.Fatalf("Check accepted %q, which is not valid JSON", data)
		}
		var v any
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber() // 1e400 is JSON, just not a float64
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("Check accepted %q, which encoding/json cannot decode: %v", data, err)
		}
		// Nothing may have been replaced silently: U+FFFD in the decoded value must have
		// been in the input already.
		out, _ := json.Marshal(v)
		if bytes.Contains(out, []byte("\ufffd")) && !bytes.Contains(data, []byte("\ufffd")) && !bytes.Contains(data, []byte(`\ufffd`)) && !bytes.Contains(data, []byte(`\uFFFD`)) {
			t.Fatalf("Check accepted %q, whose decoding replaced invalid text", data)
		}
		if !utf8.Valid(out) {
			t.Fatalf("decoded %q is not UTF-8", out)
		}
	})
}

func BenchmarkCheck(b *testing.B) {
	data := benchDocument()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := Check(data, 64); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkJSONValid is the baseline: encoding/json's own validity check of the same bytes.
func BenchmarkJSONValid(b *testing.B) {
	data := benchDocument()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if !json.Valid(data) {
			b.Fatal("invalid")
		}
	}
}

func benchDocument() []byte {
	var b bytes.Buffer
	b.WriteString(`{"registers":[`)
	for i := 0; b.Len() < 1<<20; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"ressort":"SIS","key":"register-` + strings.Repeat("x", i%7) + `","name":"Melderegister Bürgeramt",` +
			`"readiness":{"idnr":{"stage":"live","note":"Erstbefüllung abgeschlossen"},"noots":{"stage":"testing","target_date":"2026-06-30"},"dsc":{"stage":"planned"}}}`)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}
