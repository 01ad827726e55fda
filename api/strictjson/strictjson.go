// Package strictjson checks a JSON request body for what encoding/json would silently
// accept: a member given twice (encoding/json keeps the last), invalid UTF-8 and lone
// surrogates (replaced by U+FFFD), NUL characters, a byte order mark, data after the value
// and unbounded nesting. The API refuses such bodies instead of guessing what was meant.
package strictjson

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Kind says what is wrong with a body.
type Kind int

// The kinds of problem Check finds.
const (
	Syntax      Kind = iota // not JSON
	BOM                     // starts with a UTF-8 byte order mark (RFC 8259 §8.1)
	Trailing                // data after the first JSON value
	Duplicate               // a member name twice in one object
	TooDeep                 // nesting beyond the limit
	InvalidUTF8             // a string that is not valid UTF-8 (or a lone surrogate escape)
	NUL                     // a string containing U+0000
)

// Error describes why a body was refused.
type Error struct {
	Kind Kind
	// Field is the path of the offending member, e.g. "readiness.noots.stage" or
	// "leika_keys[2]"; "" for the document root.
	Field  string
	Offset int
	Detail string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s (at %s, byte %d)", e.Detail, e.Field, e.Offset)
	}
	return fmt.Sprintf("%s (byte %d)", e.Detail, e.Offset)
}

// hardDepthLimit keeps recursion bounded even when the caller sets no limit.
const hardDepthLimit = 10000

// Check reports the first problem in data, or nil when data is exactly one well-formed JSON
// value that may be decoded safely.
func Check(data []byte, maxDepth int) error {
	if maxDepth <= 0 || maxDepth > hardDepthLimit {
		maxDepth = hardDepthLimit
	}
	s := &scanner{data: data, maxDepth: maxDepth}
	if len(data) >= 3 && data[0] == 0xEF && data[1] == 0xBB && data[2] == 0xBF {
		return s.fail(BOM, 0, "the body starts with a UTF-8 byte order mark")
	}
	s.skipSpace()
	if s.pos == len(data) {
		return s.fail(Syntax, s.pos, "the request body is empty")
	}
	if err := s.value(0); err != nil {
		return err
	}
	s.skipSpace()
	if s.pos != len(data) {
		return s.fail(Trailing, s.pos, "unexpected data after the JSON value")
	}
	return nil
}

type scanner struct {
	data     []byte
	pos      int
	maxDepth int
	path     []string
}

func (s *scanner) field() string {
	var b strings.Builder
	for _, p := range s.path {
		if strings.HasPrefix(p, "[") {
			b.WriteString(p)
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}

func (s *scanner) fail(kind Kind, offset int, detail string) error {
	return &Error{Kind: kind, Field: s.field(), Offset: offset, Detail: detail}
}

func (s *scanner) skipSpace() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

func (s *scanner) value(depth int) error {
	if s.pos >= len(s.data) {
		return s.fail(Syntax, s.pos, "unexpected end of JSON input")
	}
	switch c := s.data[s.pos]; {
	case c == '{':
		return s.object(depth + 1)
	case c == '[':
		return s.array(depth + 1)
	case c == '"':
		_, err := s.str(false)
		return err
	case c == '-' || (c >= '0' && c <= '9'):
		return s.number()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	default:
		return s.fail(Syntax, s.pos, fmt.Sprintf("invalid character %s looking for a value", quoteByte(c)))
	}
}

func quoteByte(c byte) string {
	if c < 0x20 || c >= 0x7f {
		return fmt.Sprintf("0x%02x", c)
	}
	return strconv.QuoteRune(rune(c))
}

func (s *scanner) literal(word string) error {
	if len(s.data)-s.pos < len(word) || string(s.data[s.pos:s.pos+len(word)]) != word {
		return s.fail(Syntax, s.pos, "invalid literal; expected "+word)
	}
	s.pos += len(word)
	return nil
}

func (s *scanner) object(depth int) error {
	if depth > s.maxDepth {
		return s.fail(TooDeep, s.pos, fmt.Sprintf("the JSON nests deeper than %d levels", s.maxDepth))
	}
	s.pos++ // {
	s.skipSpace()
	if s.pos < len(s.data) && s.data[s.pos] == '}' {
		s.pos++
		return nil
	}
	var seen map[string]struct{}
	for {
		s.skipSpace()
		if s.pos >= len(s.data) || s.data[s.pos] != '"' {
			return s.fail(Syntax, s.pos, "expected a member name in double quotes")
		}
		start := s.pos
		name, err := s.str(true)
		if err != nil {
			return err
		}
		if seen == nil {
			seen = make(map[string]struct{}, 8)
		}
		if _, dup := seen[name]; dup {
			s.path = append(s.path, name)
			err := s.fail(Duplicate, start, fmt.Sprintf("member %q appears twice in one object", name))
			s.path = s.path[:len(s.path)-1]
			return err
		}
		seen[name] = struct{}{}
		s.skipSpace()
		if s.pos >= len(s.data) || s.data[s.pos] != ':' {
			return s.fail(Syntax, s.pos, "expected ':' after a member name")
		}
		s.pos++
		s.skipSpace()
		s.path = append(s.path, name)
		if err := s.value(depth); err != nil {
			return err
		}
		s.path = s.path[:len(s.path)-1]
		s.skipSpace()
		if s.pos >= len(s.data) {
			return s.fail(Syntax, s.pos, "unexpected end of JSON input in an object")
		}
		switch s.data[s.pos] {
		case ',':
			s.pos++
		case '}':
			s.pos++
			return nil
		default:
			return s.fail(Syntax, s.pos, "expected ',' or '}' in an object")
		}
	}
}

func (s *scanner) array(depth int) error {
	if depth > s.maxDepth {
		return s.fail(TooDeep, s.pos, fmt.Sprintf("the JSON nests deeper than %d levels", s.maxDepth))
	}
	s.pos++ // [
	s.skipSpace()
	if s.pos < len(s.data) && s.data[s.pos] == ']' {
		s.pos++
		return nil
	}
	for i := 0; ; i++ {
		s.skipSpace()
		s.path = append(s.path, "["+strconv.Itoa(i)+"]")
		if err := s.value(depth); err != nil {
			return err
		}
		s.path = s.path[:len(s.path)-1]
		s.skipSpace()
		if s.pos >= len(s.data) {
			return s.fail(Syntax, s.pos, "unexpected end of JSON input in an array")
		}
		switch s.data[s.pos] {
		case ',':
			s.pos++
		case ']':
			s.pos++
			return nil
		default:
			return s.fail(Syntax, s.pos, "expected ',' or ']' in an array")
		}
	}
}

// str scans a string starting at the opening quote. It returns the decoded text only when
// decode is set (member names, for duplicate detection).
func (s *scanner) str(decode bool) (string, error) {
	start := s.pos
	s.pos++ // opening quote
	var b strings.Builder
	// A member name's problems are reported on the name itself.
	nameErr := func(kind Kind, off int, detail string) error {
		if decode {
			s.path = append(s.path, strings.ToValidUTF8(string(s.data[start+1:min(off+1, len(s.data))]), "\uFFFD"))
			defer func() { s.path = s.path[:len(s.path)-1] }()
		}
		return s.fail(kind, off, detail)
	}
	for {
		if s.pos >= len(s.data) {
			return "", s.fail(Syntax, start, "unterminated string")
		}
		c := s.data[s.pos]
		switch {
		case c == '"':
			s.pos++
			return b.String(), nil
		case c < 0x20:
			return "", s.fail(Syntax, s.pos, "control character inside a string (escape it)")
		case c == '\\':
			r, err := s.escape(nameErr)
			if err != nil {
				return "", err
			}
			if decode {
				b.WriteRune(r)
			}
		case c < utf8.RuneSelf:
			if decode {
				b.WriteByte(c)
			}
			s.pos++
		default:
			r, size := utf8.DecodeRune(s.data[s.pos:])
			if r == utf8.RuneError && size <= 1 {
				return "", nameErr(InvalidUTF8, s.pos, "a string contains bytes that are not valid UTF-8")
			}
			if decode {
				b.WriteRune(r)
			}
			s.pos += size
		}
	}
}

// escape scans one escape sequence at s.pos (the backslash).
func (s *scanner) escape(fail func(Kind, int, string) error) (rune, error) {
	at := s.pos
	if s.pos+1 >= len(s.data) {
		return 0, s.fail(Syntax, at, "unterminated escape sequence")
	}
	c := s.data[s.pos+1]
	s.pos += 2
	switch c {
	case '"', '\\', '/':
		return rune(c), nil
	case 'b':
		return '\b', nil
	case 'f':
		return '\f', nil
	case 'n':
		return '\n', nil
	case 'r':
		return '\r', nil
	case 't':
		return '\t', nil
	case 'u':
		r, ok := s.hex4()
		if !ok {
			return 0, s.fail(Syntax, at, `invalid \u escape`)
		}
		switch {
		case r == 0:
			return 0, fail(NUL, at, "a string contains the NUL character U+0000")
		case utf16.IsSurrogate(r):
			if r >= 0xDC00 || s.pos+1 >= len(s.data) || s.data[s.pos] != '\\' || s.data[s.pos+1] != 'u' {
				return 0, fail(InvalidUTF8, at, "a string contains a lone UTF-16 surrogate")
			}
			s.pos += 2
			low, ok := s.hex4()
			if !ok {
				return 0, s.fail(Syntax, at, `invalid \u escape`)
			}
			combined := utf16.DecodeRune(r, low)
			if combined == utf8.RuneError {
				return 0, fail(InvalidUTF8, at, "a string contains a lone UTF-16 surrogate")
			}
			return combined, nil
		}
		return r, nil
	}
	return 0, s.fail(Syntax, at, "invalid escape sequence")
}

func (s *scanner) hex4() (rune, bool) {
	if s.pos+4 > len(s.data) {
		return 0, false
	}
	var r rune
	for _, c := range s.data[s.pos : s.pos+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	s.pos += 4
	return r, true
}

// number scans the RFC 8259 number grammar.
func (s *scanner) number() error {
	start := s.pos
	bad := func() error { return s.fail(Syntax, start, "invalid number") }
	if s.data[s.pos] == '-' {
		s.pos++
	}
	if s.pos >= len(s.data) {
		return bad()
	}
	switch c := s.data[s.pos]; {
	case c == '0':
		s.pos++
	case c >= '1' && c <= '9':
		s.digits()
	default:
		return bad()
	}
	if s.pos < len(s.data) && s.data[s.pos] == '.' {
		s.pos++
		if s.digits() == 0 {
			return bad()
		}
	}
	if s.pos < len(s.data) && (s.data[s.pos] == 'e' || s.data[s.pos] == 'E') {
		s.pos++
		if s.pos < len(s.data) && (s.data[s.pos] == '+' || s.data[s.pos] == '-') {
			s.pos++
		}
		if s.digits() == 0 {
			return bad()
		}
	}
	return nil
}

func (s *scanner) digits() int {
	n := 0
	for s.pos < len(s.data) && s.data[s.pos] >= '0' && s.data[s.pos] <= '9' {
		s.pos++
		n++
	}
	return n
}
