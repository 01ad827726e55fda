package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

// checkTest is one row of checkTests. want is nil for a body Check must accept; a
// non-empty want.Detail is compared too.
type checkTest struct {
	name     string
	in       string
	maxDepth int
	want     *Error
}

var checkTests = []checkTest{
	// Accepted.
	{name: "register", in: `{"name":"Melderegister","readiness":{"noots":{"stage":"live"}}}`},
	{name: "numbers", in: ` [0, -0, -0.0, 1e10, 1E+10, 1.5E-3, -12.25e+2, 0.5, 123456789012345678901234567890, 1e400] `},
	{name: "short escapes", in: `"\"\\\/\b\f\n\r\t"`},
	{name: "unicode escapes", in: `{"name":"B\u00fcrgeramt Stra\u00DFe \u20ac"}`},
	{name: "surrogate pairs", in: `["\ud83d\ude00", "\uD83D\uDE00", "x\ud800\udc00y", "\udbff\udfff"]`},
	{name: "raw umlauts and emoji", in: `{"name":"Bürgeramt Straße Übersee","note":"😀 ✓"}`},
	{name: "raw byte order mark inside a string", in: "[\"\xef\xbb\xbf\"]"},
	{name: "replacement character sent on purpose", in: `["\ufffd","�"]`},
	{name: "DEL is no control character", in: "[\"\x7f\"]"},
	{name: "escaped backslash before u0000", in: `{"a":"\\u0000","\\u0000":1}`},
	{name: "literals", in: `[true,false,null]`},
	{name: "nested arrays", in: `[[[]],[[1,[2]]],[],[[{}]]]`},
	{name: "empty containers", in: `{"a":{},"b":[],"c":""}`},
	{name: "every kind of whitespace", in: " \t\r\n{ \"a\" : [ 1 , 2 ] ,\n\t\"b\"\r:\"c\" } \n"},
	{name: "top-level string", in: `"x"`},
	{name: "top-level number", in: `-1.5e-7`},
	{name: "top-level null", in: ` null `},
	{name: "same name in sibling objects", in: `[{"a":1},{"a":2}]`},
	{name: "same name at different depths", in: `{"a":{"a":{"a":1}}}`},
	{name: "names differing in case and length", in: `{"a":1,"A":2,"ab":3,"a ":4}`},
	{name: "names of a closed object forgotten", in: `{"x":{"a":1,"b":2},"a":3,"y":{"a":4,"x":5}}`},
	{name: "many members", in: members(40, -1)},
	{name: "many members in sibling objects", in: "[" + members(40, -1) + "," + members(40, -1) + "]"},
	{name: "many members in nested objects", in: nested(members(40, -1), members(300, -1))},
	{name: "many members with the same names at two levels", in: nested(members(20, -1), members(20, -1))},
	{name: "exactly maxDepth", in: `[[{"a":[]}]]`, maxDepth: 4},
	{name: "maxDepth 1", in: `{"a":1}`, maxDepth: 1},

	{name: "empty body", in: ``, want: &Error{Kind: Syntax, Offset: 0, Detail: "the request body is empty"}},
	{name: "whitespace only", in: " \n\t\r", want: &Error{Kind: Syntax, Offset: 0, Detail: "the request body is empty"}},
	{name: "truncated member", in: `{"a":`, want: &Error{Kind: Syntax, Field: "a", Offset: 5}},
	{name: "truncated array", in: `[1,2`, want: &Error{Kind: Syntax, Offset: 4}},
	{name: "unterminated string", in: `{"name":"abc`, want: &Error{Kind: Syntax, Field: "name", Offset: 12}},
	{name: "unterminated member name", in: `{"na`, want: &Error{Kind: Syntax, Field: "na", Offset: 4}},
	{name: "single quotes", in: `{'a':1}`, want: &Error{Kind: Syntax, Offset: 1}},
	{name: "unquoted name", in: `{a:1}`, want: &Error{Kind: Syntax, Offset: 1}},
	{name: "leading zero", in: `[01]`, want: &Error{Kind: Syntax, Field: "[0]", Offset: 2}},
	{name: "leading zero after minus", in: `{"n":-012}`, want: &Error{Kind: Syntax, Field: "n", Offset: 7}},
	{name: "plus sign", in: `[+1]`, want: &Error{Kind: Syntax, Field: "[0]", Offset: 1}},
	{name: "NaN", in: `[NaN]`, want: &Error{Kind: Syntax, Field: "[0]", Offset: 1}},
	{name: "minus Infinity", in: `{"x":-Infinity}`, want: &Error{Kind: Syntax, Field: "x", Offset: 6}},
	{name: "lone minus", in: `[-]`, want: &Error{Kind: Syntax, Field: "[0]", Offset: 2}},
	{name: "fraction without digits", in: `[1.]`, want: &Error{Kind: Syntax, Field: "[0]", Offset: 3}},
	{name: "fraction without integer", in: `[.5]`, want: &Error{Kind: Syntax, Field: "[0]", Offset: 1}},
	{name: "exponent without digits", in: `[1e]`, want: &Error{Kind: Syntax, Field: "[0]", Offset: 3}},
	{name: "signed exponent without digits", in: `[1e+]`, want: &Error{Kind: Syntax, Field: "[0]", Offset: 4}},
	{name: "hex number", in: `[0x1F]`, want: &Error{Kind: Syntax, Field: "[0]", Offset: 2}},
	{name: "top-level hex number", in: `0x1F`, want: &Error{Kind: Syntax, Offset: 1}},
	{name: "two decimal points", in: `1.2.3`, want: &Error{Kind: Syntax, Offset: 3}},
	{name: "trailing comma in an object", in: `{"a":1,}`, want: &Error{Kind: Syntax, Offset: 7}},
	{name: "trailing comma in an array", in: `[1,]`, want: &Error{Kind: Syntax, Field: "[1]", Offset: 3}},
	{name: "missing comma", in: `[1 2]`, want: &Error{Kind: Syntax, Offset: 3}},
	{name: "missing colon", in: `{"a" 1}`, want: &Error{Kind: Syntax, Offset: 5}},
	{name: "raw newline in a string", in: "{\"a\":\"x\ny\"}", want: &Error{Kind: Syntax, Field: "a", Offset: 7}},
	{name: "raw tab in a member name", in: "{\"a\tb\":1}", want: &Error{Kind: Syntax, Field: "a", Offset: 3}},
	{name: "raw NUL byte", in: "[\"\x00\"]", want: &Error{Kind: Syntax, Field: "[0]", Offset: 2}},
	{name: "bad escape", in: `{"a":"\x"}`, want: &Error{Kind: Syntax, Field: "a", Offset: 6}},
	{name: "short unicode escape", in: `{"a":"\u12"}`, want: &Error{Kind: Syntax, Field: "a", Offset: 6}},
	{name: "non-hex unicode escape", in: `["\u12G4"]`, want: &Error{Kind: Syntax, Field: "[0]", Offset: 2}},
	{name: "misspelt literal", in: `[ture]`, want: &Error{Kind: Syntax, Field: "[0]", Offset: 2}},
	{name: "capitalised literal", in: `[True]`, want: &Error{Kind: Syntax, Field: "[0]", Offset: 1}},
	{name: "truncated literal", in: `nul`, want: &Error{Kind: Syntax, Offset: 3}},
	{name: "literal running on", in: `nullable`, want: &Error{Kind: Syntax, Offset: 4}},
	{name: "comment", in: `{"a":1 /* x */}`, want: &Error{Kind: Syntax, Offset: 7}},
	{name: "form feed is no whitespace", in: "\f[]", want: &Error{Kind: Syntax, Offset: 0}},
	{name: "no-break space is no whitespace", in: "[\u00a0]", want: &Error{Kind: Syntax, Field: "[0]", Offset: 1}},
	{name: "byte order mark after whitespace", in: " \xef\xbb\xbf{}", want: &Error{Kind: Syntax, Offset: 1}},
	{name: "invalid UTF-8 outside a string", in: "[\xff]", want: &Error{Kind: Syntax, Field: "[0]", Offset: 1}},
	{name: "closing bracket only", in: `]`, want: &Error{Kind: Syntax, Offset: 0}},
	{name: "mismatched brackets", in: `[1}`, want: &Error{Kind: Syntax, Offset: 2}},

	{name: "byte order mark", in: "\xef\xbb\xbf{}", want: &Error{Kind: BOM, Offset: 0}},
	{name: "byte order mark only", in: "\xef\xbb\xbf", want: &Error{Kind: BOM, Offset: 0}},
	{name: "two byte order marks", in: "\xef\xbb\xbf\xef\xbb\xbf[]", want: &Error{Kind: BOM, Offset: 0}},
	{name: "byte order mark before other problems", in: "\xef\xbb\xbf{\"a\":1,\"a\":2}", want: &Error{Kind: BOM, Offset: 0}},

	{name: "second object", in: `{} {}`, want: &Error{Kind: Trailing, Offset: 3}},
	{name: "garbage after an object", in: `{"a":1}x`, want: &Error{Kind: Trailing, Offset: 7}},
	{name: "extra closing bracket", in: `[]]`, want: &Error{Kind: Trailing, Offset: 2}},
	{name: "two numbers", in: `1 2`, want: &Error{Kind: Trailing, Offset: 2}},
	{name: "two strings", in: `"a""b"`, want: &Error{Kind: Trailing, Offset: 3}},
	{name: "NUL byte after the value", in: "{}\x00", want: &Error{Kind: Trailing, Offset: 2}},
	{name: "two literals", in: `true false`, want: &Error{Kind: Trailing, Offset: 5}},
	{name: "second array after blank lines", in: "[]\n\n[]", want: &Error{Kind: Trailing, Offset: 4}},

	{name: "duplicate member", in: `{"name":"a","name":"b"}`,
		want: &Error{Kind: Duplicate, Field: "name", Offset: 12, Detail: `member "name" appears twice in one object`}},
	{name: "duplicate after decoding an escape", in: `{"a":1,"\u0061":2}`, want: &Error{Kind: Duplicate, Field: "a", Offset: 7}},
	{name: "duplicate of escaped and raw umlaut", in: `{"\u00fc":1,"ü":2}`, want: &Error{Kind: Duplicate, Field: "ü", Offset: 12}},
	{name: "duplicate of raw emoji and surrogate pair", in: `{"😀":1,"\ud83d\ude00":2}`, want: &Error{Kind: Duplicate, Field: "😀", Offset: 10}},
	{name: "duplicate with escaped solidus", in: `{"/":1,"\/":2}`, want: &Error{Kind: Duplicate, Field: "/", Offset: 7}},
	{name: "nested duplicate", in: `{"readiness":{"noots":{"stage":"a","stage":"b"}}}`,
		want: &Error{Kind: Duplicate, Field: "readiness.noots.stage", Offset: 35}},
	{name: "duplicate in an array element", in: `[{"b":1},{"b":1,"b":2}]`, want: &Error{Kind: Duplicate, Field: "[1].b", Offset: 16}},
	{name: "duplicate empty name", in: `{"":1,"":2}`, want: &Error{Kind: Duplicate, Field: "", Offset: 6}},
	{name: "duplicate among many members", in: members(40, 30),
		want: &Error{Kind: Duplicate, Field: "m30", Offset: strings.LastIndex(members(40, 30), `"m30"`)}},
	{name: "duplicate after the hash table grew", in: members(300, 0),
		want: &Error{Kind: Duplicate, Field: "m0", Offset: strings.LastIndex(members(300, 0), `"m0"`)}},
	{name: "duplicate in an outer object after a large inner one", in: nested(members(20, 19), members(100, -1)),
		want: &Error{Kind: Duplicate, Field: "m19", Offset: strings.LastIndex(nested(members(20, 19), members(100, -1)), `"m19"`)}},
	{name: "duplicate in an inner object within a large outer one", in: nested(members(100, -1), members(30, 25)),
		want: &Error{Kind: Duplicate, Field: "m10.m25", Offset: strings.Index(nested(members(100, -1), members(30, 25)), `"m10":`) + len(`"m10":`) + strings.LastIndex(members(30, 25), `"m25"`)}},
	{name: "duplicate found before a later syntax error", in: `{"a":1,"a":`, want: &Error{Kind: Duplicate, Field: "a", Offset: 7}},

	{name: "arrays too deep", in: `[[[]]]`, maxDepth: 2, want: &Error{Kind: TooDeep, Field: "[0][0]", Offset: 2}},
	{name: "objects too deep", in: `{"a":{"b":{"c":{}}}}`, maxDepth: 3, want: &Error{Kind: TooDeep, Field: "a.b.c", Offset: 15}},
	{name: "maxDepth 1 with a nested array", in: `[[]]`, maxDepth: 1, want: &Error{Kind: TooDeep, Field: "[0]", Offset: 1}},
	{name: "mixed nesting too deep", in: `[{"a":[1,[2]]}]`, maxDepth: 3, want: &Error{Kind: TooDeep, Field: "[0].a[1]", Offset: 9}},
	{name: "readiness too deep", in: `{"readiness":{"noots":{"stage":{"x":1}}}}`, maxDepth: 3,
		want: &Error{Kind: TooDeep, Field: "readiness.noots.stage", Offset: 31}},

	{name: "invalid byte in a value", in: "{\"name\":\"a\xffb\"}", want: &Error{Kind: InvalidUTF8, Field: "name", Offset: 10}},
	{name: "truncated sequence in an array element", in: "{\"leika_keys\":[\"1\",\"\xc3\"]}",
		want: &Error{Kind: InvalidUTF8, Field: "leika_keys[1]", Offset: 20}},
	{name: "invalid byte in a member name", in: "{\"na\xffme\":1}", want: &Error{Kind: InvalidUTF8, Field: "na\uFFFDme", Offset: 4}},
	{name: "invalid byte in a nested member name", in: "{\"readiness\":{\"no\xc3ots\":{}}}",
		want: &Error{Kind: InvalidUTF8, Field: "readiness.no\uFFFDots", Offset: 17}},
	{name: "overlong encoding", in: "[\"\xc0\xaf\"]", want: &Error{Kind: InvalidUTF8, Field: "[0]", Offset: 2}},
	{name: "surrogate encoded in UTF-8", in: "[\"\xed\xa0\x80\"]", want: &Error{Kind: InvalidUTF8, Field: "[0]", Offset: 2}},
	{name: "sequence cut short by the quote", in: "{\"a\":\"\xe2\x82\"}", want: &Error{Kind: InvalidUTF8, Field: "a", Offset: 6}},
	{name: "byte above F4", in: "[\"\xf5\x80\x80\x80\"]", want: &Error{Kind: InvalidUTF8, Field: "[0]", Offset: 2}},
	{name: "top-level string", in: "\"\xff\"", want: &Error{Kind: InvalidUTF8, Offset: 1}},
	{name: "lone high surrogate", in: `{"a":"\ud800"}`, want: &Error{Kind: InvalidUTF8, Field: "a", Offset: 6}},
	{name: "lone low surrogate", in: `{"a":"\udc00x"}`, want: &Error{Kind: InvalidUTF8, Field: "a", Offset: 6}},
	{name: "high surrogate before a letter escape", in: `{"a":"\ud800\u0041"}`, want: &Error{Kind: InvalidUTF8, Field: "a", Offset: 6}},
	{name: "two high surrogates before a low one", in: `["\ud800\ud800\udc00"]`, want: &Error{Kind: InvalidUTF8, Field: "[0]", Offset: 2}},
	{name: "surrogates reversed", in: `["\ude00\ud83d"]`, want: &Error{Kind: InvalidUTF8, Field: "[0]", Offset: 2}},
	{name: "high surrogate at the end of a string", in: `["x\ud83d"]`, want: &Error{Kind: InvalidUTF8, Field: "[0]", Offset: 3}},
	{name: "high surrogate before a bad escape", in: `["\ud800\q"]`, want: &Error{Kind: InvalidUTF8, Field: "[0]", Offset: 2}},
	{name: "lone surrogate in a member name", in: `{"a":{"\ud800b":1}}`, want: &Error{Kind: InvalidUTF8, Field: "a.\uFFFDb", Offset: 7}},

	{name: "NUL value", in: `{"a":"\u0000"}`, want: &Error{Kind: NUL, Field: "a", Offset: 6}},
	{name: "NUL in readiness", in: `{"readiness":{"idnr":{"note":"\u0000"}}}`, want: &Error{Kind: NUL, Field: "readiness.idnr.note", Offset: 30}},
	{name: "NUL in a top-level array", in: `["ok","\u0000"]`, want: &Error{Kind: NUL, Field: "[1]", Offset: 7}},
	{name: "NUL between letters", in: `{"name":"a\u0000b"}`, want: &Error{Kind: NUL, Field: "name", Offset: 10}},
	{name: "NUL in a member name", in: `{"a\u0000b":1}`, want: &Error{Kind: NUL, Field: "a\uFFFDb", Offset: 3}},
	{name: "NUL as the whole document", in: `"\u0000"`, want: &Error{Kind: NUL, Offset: 1}},
	{name: "NUL deep in arrays and objects", in: `{"a":{"b":[0,1,2,{"c":"\u0000"}]}}`, want: &Error{Kind: NUL, Field: "a.b[3].c", Offset: 23}},
	{name: "NUL in nested arrays", in: `[[0,[1,"\u0000"]]]`, want: &Error{Kind: NUL, Field: "[0][1][1]", Offset: 8}},
}

// members returns an object with n members named m0, m1, …, followed by a second
// member named m<dup> if dup >= 0.
func members(n, dup int) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"m%d":%d`, i, i)
	}
	if dup >= 0 {
		fmt.Fprintf(&b, `,"m%d":true`, dup)
	}
	b.WriteByte('}')
	return b.String()
}

// nested returns the object outer with the value of its member m10 replaced by inner.
func nested(outer, inner string) string {
	return strings.Replace(outer, `"m10":10`, `"m10":`+inner, 1)
}

func TestCheck(t *testing.T) {
	for _, tt := range checkTests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check([]byte(tt.in), tt.maxDepth)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Check(%q) = %v, want nil", tt.in, err)
				}
				return
			}
			var got *Error
			if !errors.As(err, &got) {
				t.Fatalf("Check(%q) = %v, want an *Error of kind %v", tt.in, err, tt.want.Kind)
			}
			if got.Kind != tt.want.Kind {
				t.Errorf("Kind = %v, want %v (%v)", got.Kind, tt.want.Kind, got)
			}
			if got.Field != tt.want.Field {
				t.Errorf("Field = %q, want %q", got.Field, tt.want.Field)
			}
			if got.Offset != tt.want.Offset {
				t.Errorf("Offset = %d, want %d (%v)", got.Offset, tt.want.Offset, got)
			}
			if tt.want.Detail != "" && got.Detail != tt.want.Detail {
				t.Errorf("Detail = %q, want %q", got.Detail, tt.want.Detail)
			}
			checkErrorIsPresentable(t, []byte(tt.in), got)
		})
	}
}

// checkErrorIsPresentable checks what every error must satisfy to be shown to the
// client: a sentence and a field that are short clean text, and an offset in the body.
func checkErrorIsPresentable(t *testing.T, data []byte, e *Error) {
	t.Helper()
	if e.Detail == "" || e.Detail[0] < 'a' || e.Detail[0] > 'z' || strings.HasSuffix(e.Detail, ".") {
		t.Errorf("Detail = %q, want a sentence starting in lower case without a final period", e.Detail)
	}
	if !utf8.ValidString(e.Detail) || !utf8.ValidString(e.Field) {
		t.Errorf("Detail = %q, Field = %q, want valid UTF-8", e.Detail, e.Field)
	}
	if len(e.Field) > maxField+len("…") || len(e.Detail) > 200 {
		t.Errorf("len(Field) = %d, len(Detail) = %d, want at most %d and 200", len(e.Field), len(e.Detail), maxField+len("…"))
	}
	if e.Offset < 0 || e.Offset > len(data) {
		t.Errorf("Offset = %d, want within [0, %d]", e.Offset, len(data))
	}
}

func TestCheckHardDepthLimit(t *testing.T) {
	nest := func(n int) []byte {
		return []byte(strings.Repeat("[", n) + strings.Repeat("]", n))
	}
	for _, maxDepth := range []int{0, -1, hardDepthLimit + 1, 1 << 30} {
		t.Run(fmt.Sprint(maxDepth), func(t *testing.T) {
			if err := Check(nest(hardDepthLimit), maxDepth); err != nil {
				t.Errorf("Check(%d levels) = %v, want nil", hardDepthLimit, err)
			}
			data := nest(hardDepthLimit + 1)
			var e *Error
			if err := Check(data, maxDepth); !errors.As(err, &e) || e.Kind != TooDeep {
				t.Fatalf("Check(%d levels) = %v, want a TooDeep error", hardDepthLimit+1, err)
			}
			if e.Offset != hardDepthLimit {
				t.Errorf("Offset = %d, want %d", e.Offset, hardDepthLimit)
			}
			checkErrorIsPresentable(t, data, e)
		})
	}
	// Check's limit is encoding/json's: whatever Check accepts, the decoder accepts.
	if !json.Valid(nest(hardDepthLimit)) || json.Valid(nest(hardDepthLimit+1)) {
		t.Errorf("encoding/json's nesting limit is no longer %d", hardDepthLimit)
	}
}

// TestCheckClipsEchoedNames makes sure a huge body is not echoed back in an error.
func TestCheckClipsEchoedNames(t *testing.T) {
	long := strings.Repeat("ä", 10000)
	tests := []struct {
		name string
		in   string
		kind Kind
	}{
		{"NUL in a long name", `{"` + long + `\u0000":1}`, NUL},
		{"long duplicate name", `{"` + long + `":1,"` + long + `":2}`, Duplicate},
		{"NUL under a long name", `{"` + long + `":{"` + long + `":"\u0000"}}`, NUL},
		{"unterminated long name", `{"` + long, Syntax},
		{"deep path", `{"a":` + strings.Repeat(`[{"readiness":`, 100) + `"\u0000"` + strings.Repeat(`}]`, 100) + `}`, NUL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e *Error
			if err := Check([]byte(tt.in), 0); !errors.As(err, &e) || e.Kind != tt.kind {
				t.Fatalf("Check = %v, want a %v error", err, tt.kind)
			}
			if !strings.HasSuffix(e.Field, "…") {
				t.Errorf("Field = %q, want it clipped with an ellipsis", e.Field)
			}
			checkErrorIsPresentable(t, []byte(tt.in), e)
		})
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{Kind: NUL, Field: "readiness.idnr.note", Offset: 30, Detail: "a string contains the NUL character"},
			`strictjson: a string contains the NUL character (field "readiness.idnr.note", byte 30)`},
		{&Error{Kind: Syntax, Offset: 0, Detail: "the request body is empty"}, "strictjson: the request body is empty (byte 0)"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	for k, want := range map[Kind]string{Syntax: "Syntax", TooDeep: "TooDeep", NUL: "NUL", Kind(42): "Kind(42)", Kind(-1): "Kind(-1)"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", int(k), got, want)
		}
	}
}

// TestCheckAllocations guards the promise that the cost of Check does not grow with
// the number of values: memory for frames and names is reused, not taken per value.
func TestCheckAllocations(t *testing.T) {
	small := []byte(`[{"name":"a","readiness":{"noots":{"stage":"live"}}}]`)
	large := benchDocument()
	allocs := func(data []byte) float64 {
		return testing.AllocsPerRun(10, func() {
			if err := Check(data, 64); err != nil {
				t.Fatal(err)
			}
		})
	}
	if s, l := allocs(small), allocs(large); l > s+10 {
		t.Errorf("Check allocates %v times for %d bytes and %v times for %d bytes, want about the same", s, len(small), l, len(large))
	}
}

// TestCheckAgreesWithJSONValid compares Check with encoding/json on the table and on
// every truncation, deletion and substitution of a byte in its accepted documents.
func TestCheckAgreesWithJSONValid(t *testing.T) {
	var corpus [][]byte
	for _, tt := range checkTests {
		corpus = append(corpus, []byte(tt.in))
		if tt.want != nil || len(tt.in) > 256 {
			continue // mutating the long documents would take long and find nothing new
		}
		in := []byte(tt.in)
		for i := range in {
			corpus = append(corpus, in[:i])
			corpus = append(corpus, append(append([]byte(nil), in[:i]...), in[i+1:]...))
			for _, c := range []byte("\"\\{}[],:0-e.+ xu\x00\x1f\x80\xc3\xff") {
				mutated := bytes.Clone(in)
				mutated[i] = c
				corpus = append(corpus, mutated)
			}
		}
	}
	for _, data := range corpus {
		if msg := disagreement(data); msg != "" {
			t.Error(msg)
		}
	}
}

// disagreement describes how Check, without a depth limit of its own, contradicts
// encoding/json on data, or returns "". What Check accepts json.Valid must accept, and
// Check may refuse valid JSON only for the problems encoding/json lets through.
func disagreement(data []byte) string {
	err := Check(data, 0)
	valid := json.Valid(data)
	if err == nil {
		if !valid {
			return fmt.Sprintf("Check(%q) = nil, but json.Valid = false", data)
		}
		return ""
	}
	var e *Error
	if !errors.As(err, &e) {
		return fmt.Sprintf("Check(%q) = %v, want an *Error", data, err)
	}
	switch e.Kind {
	case Duplicate, InvalidUTF8, NUL:
		return ""
	}
	if valid {
		return fmt.Sprintf("Check(%q) = %v (%v), but json.Valid = true", data, err, e.Kind)
	}
	return ""
}

func FuzzCheck(f *testing.F) {
	for _, tt := range checkTests {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if msg := disagreement(data); msg != "" {
			t.Fatal(msg)
		}
		err := Check(data, 64)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Check(%q) = %v, want an *Error", data, err)
			}
			checkErrorIsPresentable(t, data, e)
			if e.Kind == Duplicate && json.Valid(data) {
				if dup, err := hasDuplicate(data); err != nil || !dup {
					t.Fatalf("Check(%q) reports a duplicate, encoding/json's tokens show none (%v)", data, err)
				}
			}
			return
		}
		if !json.Valid(data) {
			t.Fatalf("Check(%q) = nil, but json.Valid = false", data)
		}
		// Numbers as text: 1e400 is JSON, just not a float64, and no concern of Check.
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("Check(%q) = nil, but encoding/json cannot decode it: %v", data, err)
		}
		if dup, err := hasDuplicate(data); err != nil || dup {
			t.Fatalf("Check(%q) = nil, but encoding/json's tokens show a duplicate member (%v)", data, err)
		}
		// With every member kept, decoding replaced nothing if it produced no more
		// U+FFFD than the body spelt out.
		if got, want := decodedReplacements(v), replacementsIn(data); got != want {
			t.Fatalf("Check(%q) = nil, but decoding produced %d U+FFFD where the body has %d", data, got, want)
		}
		if hasNUL(v) {
			t.Fatalf("Check(%q) = nil, but the decoded value contains U+0000", data)
		}
		out, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("json.Marshal(decoded %q) = %v", data, err)
		}
		if got, want := bytes.Count(out, []byte("\uFFFD")), replacementsIn(data); got != want {
			t.Fatalf("Check(%q) = nil, but re-encoding %q has %d U+FFFD where the body has %d", data, out, got, want)
		}
	})
}

// hasDuplicate reports whether an object in the valid JSON data has a member name twice,
// judged by encoding/json's own tokenizer rather than by this package.
func hasDuplicate(data []byte) (bool, error) {
	type object struct {
		seen      map[string]bool
		expectKey bool
	}
	var stack []*object // nil for an array
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1] != nil {
			stack[n-1].expectKey = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &object{seen: map[string]bool{}, expectKey: true})
			continue
		case json.Delim('['):
			stack = append(stack, nil)
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			valueDone()
			continue
		}
		if n := len(stack); n > 0 && stack[n-1] != nil && stack[n-1].expectKey {
			key := tok.(string)
			if stack[n-1].seen[key] {
				return true, nil
			}
			stack[n-1].seen[key] = true
			stack[n-1].expectKey = false
			continue
		}
		valueDone()
	}
}

// replacementsIn counts the U+FFFD that the well-formed JSON data spells out, raw or
// as an escape.
func replacementsIn(data []byte) int {
	n := 0
	inString := false
	for i := 0; i < len(data); i++ {
		switch {
		case !inString:
			inString = data[i] == '"'
		case data[i] == '"':
			inString = false
		case data[i] == '\\':
			if data[i+1] == 'u' && strings.EqualFold(string(data[i+2:i+6]), "fffd") {
				n++
			}
			i++ // the escaped character; the hex digits of \u are plain bytes
		case bytes.HasPrefix(data[i:], []byte("\uFFFD")):
			n++
			i += 2
		}
	}
	return n
}

// decodedReplacements counts U+FFFD in the member names and strings of v.
func decodedReplacements(v any) int {
	switch v := v.(type) {
	case string:
		return strings.Count(v, "\uFFFD")
	case []any:
		n := 0
		for _, e := range v {
			n += decodedReplacements(e)
		}
		return n
	case map[string]any:
		n := 0
		for k, e := range v {
			n += strings.Count(k, "\uFFFD") + decodedReplacements(e)
		}
		return n
	}
	return 0
}

func hasNUL(v any) bool {
	switch v := v.(type) {
	case string:
		return strings.ContainsRune(v, 0)
	case []any:
		for _, e := range v {
			if hasNUL(e) {
				return true
			}
		}
	case map[string]any:
		for k, e := range v {
			if strings.ContainsRune(k, 0) || hasNUL(e) {
				return true
			}
		}
	}
	return false
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

// BenchmarkJSONValid is the baseline for BenchmarkCheck: encoding/json's own check of
// the same bytes, which finds fewer problems.
func BenchmarkJSONValid(b *testing.B) {
	data := benchDocument()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if !json.Valid(data) {
			b.Fatal("json.Valid = false")
		}
	}
}

// benchDocument returns about 1 MiB of a bulk import: an array of registers with
// their readiness per dimension, escapes, umlauts, numbers and literals.
func benchDocument() []byte {
	stages := []string{"live", "testing", "in_progress", "planned", "not_applicable"}
	var b bytes.Buffer
	b.WriteByte('[')
	for i := 0; b.Len() < 1<<20; i++ {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, `{"ressort":"SIS","key":"melderegister-%d","name":"Melderegister Bürgeramt Nr. %d",`+
			`"idnrg_anlage_nr":%d,"active":%t,"leika_keys":["99050012104000","9905001210%04d"],`+
			`"url":"https:\/\/www.service.bremen.de\/dienstleistungen\/%d","description":null,`+
			`"readiness":{"idnr":{"stage":"%s","note":"Erstbef\u00fcllung abgeschlossen \u2013 R\u00fcckl\u00e4ufer \"offen\""},`+
			`"noots":{"stage":"%s","target_date":"2026-06-30"},`+
			`"dsc":{"stage":"%s","evidence_url":"https://intranet.bremen.de/dsc/%d","note":"Straße über Übergabe"}}}`,
			i, i, i%45+1, i%3 != 0, i%10000, i, stages[i%5], stages[(i+1)%5], stages[(i+2)%5], i)
	}
	b.WriteByte(']')
	return b.Bytes()
}
