// Package strictjson refuses JSON request bodies that encoding/json would decode
// without complaint but not as the sender meant them.
//
// encoding/json keeps the last of two members with the same name, silently replaces
// invalid UTF-8 and lone UTF-16 surrogates with U+FFFD, and passes U+0000 on to a
// database that cannot store it. A byte order mark, data after the value and deep
// nesting it reports only while decoding, as generic syntax errors, and nesting only
// beyond its own limit of 10000 levels. An API that guessed in these cases would store
// something the client never sent, so Check looks at the raw bytes before anything is
// decoded and names the problem and the field it is in.
//
// Check is a single linear pass over the body that builds no tree of values: it keeps
// one frame per open object or array and the decoded member names of the open objects,
// which is all that duplicate detection and error paths need.
package strictjson

import (
	"bytes"
	"fmt"
	"hash/maphash"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Kind says what is wrong with a body.
type Kind int

// The problems Check finds. Syntax, BOM, Trailing, Duplicate and TooDeep mean the body
// is not one clean JSON document; InvalidUTF8 and NUL mean a string in it is not text
// that can be stored, so Error.Field names the member.
const (
	Syntax      Kind = iota // not JSON: unexpected character, unterminated string, bad escape or number, empty body
	BOM                     // the body starts with a UTF-8 byte order mark, which RFC 8259 §8.1 forbids senders to add
	Trailing                // data after the first JSON value
	Duplicate               // a member name appears twice in one object (compared after decoding escapes)
	TooDeep                 // objects and arrays nest deeper than allowed
	InvalidUTF8             // a string is not valid UTF-8, or a \u escape is a lone surrogate
	NUL                     // a string contains U+0000 (written as \u0000; a raw NUL byte is a Syntax error)
)

var kindNames = [...]string{
	Syntax:      "Syntax",
	BOM:         "BOM",
	Trailing:    "Trailing",
	Duplicate:   "Duplicate",
	TooDeep:     "TooDeep",
	InvalidUTF8: "InvalidUTF8",
	NUL:         "NUL",
}

func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Error describes why a body was refused.
type Error struct {
	Kind Kind // what is wrong
	// Field is the path of the offending member, such as "readiness.noots.stage",
	// "leika_keys[2]" or "[3]" for an element of a top-level array; "" is the document
	// root. A problem inside a member name is reported on the path of that name, with
	// anything that is not clean text in it replaced by U+FFFD. Names and paths are
	// shortened (ending in "…") so that a huge body cannot be echoed back in a response.
	Field  string
	Offset int    // byte offset in the body where the problem was found
	Detail string // one English sentence for people, lower case and without a final period
}

func (e *Error) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("strictjson: %s (byte %d)", e.Detail, e.Offset)
	}
	return fmt.Sprintf("strictjson: %s (field %q, byte %d)", e.Detail, e.Field, e.Offset)
}

// hardDepthLimit bounds the frames kept when the caller sets no limit. It is the limit
// of encoding/json, so a body Check accepts is never refused for its depth later.
const hardDepthLimit = 10000

// A body can be 64 MiB; these keep what an Error echoes from it small.
const (
	maxNameInField = 64  // bytes of one member name in Error.Field and Error.Detail
	maxField       = 512 // bytes of Error.Field
)

// Up to this many earlier members a new member name is compared with each, which
// is fastest for the objects of request bodies; beyond it the object's names go into
// a hash table, which keeps the check linear.
const maxLinearNames = 16

// Check reports the first problem in data, or nil when data is exactly one well-formed
// JSON value that may be decoded safely. Nesting deeper than maxDepth objects and
// arrays is refused; maxDepth <= 0 means no limit of the caller's own, though Check
// never accepts more than 10000 levels, the limit of encoding/json. The error is always
// an *Error.
func Check(data []byte, maxDepth int) error {
	if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		return &Error{Kind: BOM, Detail: "the request body starts with a UTF-8 byte order mark"}
	}
	if maxDepth <= 0 || maxDepth > hardDepthLimit {
		maxDepth = hardDepthLimit
	}
	// Room for typical request bodies, so that most need no more allocations.
	s := scanner{
		data:     data,
		maxDepth: maxDepth,
		frames:   make([]frame, 0, 8),
		names:    make([]byte, 0, 256),
		spans:    make([]nameSpan, 0, 32),
	}
	s.skipSpace()
	if s.pos == len(data) {
		return &Error{Kind: Syntax, Detail: "the request body is empty"}
	}
	if err := s.scan(); err != nil {
		return err
	}
	s.skipSpace()
	if s.pos < len(data) {
		return s.fail(Trailing, s.pos, "the request body continues after the JSON value")
	}
	return nil
}

type scanner struct {
	data     []byte
	pos      int
	maxDepth int
	frames   []frame    // the open objects and arrays, outermost first
	names    []byte     // the decoded member names of the open objects, back to back
	spans    []nameSpan // where each of those names lies in names, in document order
	// table holds the hash tables of the open objects with too many members to compare
	// one by one: open addressing, each slot a span index plus one, 0 when free.
	table []int
}

// A frame is an open object or array.
type frame struct {
	array   bool
	inValue bool // scanning a member's value or an element, which belongs in the path
	// at is the current element of an array, or the span of the current member name
	// of an object.
	at int
	// firstName is the span of an object's first name, or where it will go.
	firstName int
	// table and tableSize place an object's hash table in scanner.table; tableSize
	// is 0 while its names are compared one by one.
	table, tableSize int
}

type nameSpan struct {
	start, end int    // in scanner.names
	hash       uint64 // only for names in a hash table
}

// seed makes the hashes of member names unpredictable, so that no body can be made
// of names that collide.
var seed = maphash.MakeSeed()

// problem is a finding before it is placed in the document.
type problem struct {
	kind   Kind
	offset int
	detail string // "" when there is no problem
}

func (s *scanner) fail(kind Kind, offset int, detail string) error {
	return &Error{Kind: kind, Field: s.path(""), Offset: offset, Detail: detail}
}

// failName reports a problem inside the member name whose opening quote is at start.
func (s *scanner) failName(p problem, start int) error {
	return &Error{Kind: p.kind, Field: s.path(sanitizeName(s.data[start+1:])), Offset: p.offset, Detail: p.detail}
}

// path renders the location being scanned for Error.Field, followed by the member
// name name unless that is "".
func (s *scanner) path(name string) string {
	var b strings.Builder
	for i := range s.frames {
		if b.Len() > maxField {
			break
		}
		f := &s.frames[i]
		if !f.inValue {
			break
		}
		if f.array {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(f.at))
			b.WriteByte(']')
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		n := s.spans[f.at]
		b.WriteString(clip(string(s.names[n.start:n.end]), maxNameInField))
	}
	if name != "" {
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(name)
	}
	return clip(b.String(), maxField)
}

// clip shortens s to at most n bytes, cutting at a character boundary and marking
// the cut with an ellipsis.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
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

// scan checks the value at s.pos and everything in it. It keeps its own stack of
// frames instead of recursing, so that each level of nesting costs one small frame
// rather than goroutine stack; that is also faster.
func (s *scanner) scan() error {
	for {
		descended, err := s.value()
		if err != nil {
			return err
		}
		if descended {
			continue // to the first element or member value
		}
		// A value is complete: go on to the next element or member of the innermost
		// container, or close it and go on in the one around it.
		for {
			if len(s.frames) == 0 {
				return nil
			}
			next, err := s.next()
			if err != nil {
				return err
			}
			if next {
				break
			}
		}
	}
}

// value checks a scalar at s.pos, or opens the object or array there and reports
// whether it has moved to the first element or member value in it.
func (s *scanner) value() (descended bool, err error) {
	if s.pos >= len(s.data) {
		return false, s.fail(Syntax, s.pos, "the request body ends where a value should follow")
	}
	switch c := s.data[s.pos]; c {
	case '{':
		if err := s.open(false); err != nil {
			return false, err
		}
		if s.pos < len(s.data) && s.data[s.pos] == '}' {
			s.close()
			return false, nil
		}
		return true, s.member()
	case '[':
		if err := s.open(true); err != nil {
			return false, err
		}
		if s.pos < len(s.data) && s.data[s.pos] == ']' {
			s.close()
			return false, nil
		}
		s.frames[len(s.frames)-1].inValue = true
		return true, nil
	case '"':
		return false, s.str()
	case 't':
		return false, s.literal("true")
	case 'f':
		return false, s.literal("false")
	case 'n':
		return false, s.literal("null")
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return false, s.number()
	default:
		return false, s.fail(Syntax, s.pos, "unexpected "+s.describe(s.pos)+" where a value should start")
	}
}

// next follows a complete element or member value in the innermost container: it
// moves to the next one and reports true, or closes the container and reports false.
func (s *scanner) next() (bool, error) {
	f := &s.frames[len(s.frames)-1]
	f.inValue = false
	s.skipSpace()
	if s.pos >= len(s.data) {
		if f.array {
			return false, s.fail(Syntax, s.pos, "the request body ends inside an array")
		}
		return false, s.fail(Syntax, s.pos, "the request body ends inside an object")
	}
	switch c := s.data[s.pos]; {
	case c == ',':
		s.pos++
		s.skipSpace()
		if f.array {
			f.at++
			f.inValue = true
			return true, nil
		}
		return true, s.member()
	case c == ']' && f.array, c == '}' && !f.array:
		s.close()
		return false, nil
	case f.array:
		return false, s.fail(Syntax, s.pos, "unexpected "+s.describe(s.pos)+" where a comma or ']' should follow an element")
	default:
		return false, s.fail(Syntax, s.pos, "unexpected "+s.describe(s.pos)+" where a comma or '}' should follow a member")
	}
}

// describe names the byte at i for a person: a character if it starts a printable
// one, else its value.
func (s *scanner) describe(i int) string {
	r, size := utf8.DecodeRune(s.data[i:])
	if (size > 1 || r != utf8.RuneError) && unicode.IsPrint(r) {
		return "character " + strconv.QuoteRune(r)
	}
	return fmt.Sprintf("byte 0x%02X", s.data[i])
}

// open pushes a frame for the object or array at s.pos, refusing it if it nests too deep.
func (s *scanner) open(array bool) error {
	if len(s.frames) >= s.maxDepth {
		return s.fail(TooDeep, s.pos, fmt.Sprintf("objects and arrays are nested more than %d levels deep", s.maxDepth))
	}
	s.frames = append(s.frames, frame{array: array, firstName: len(s.spans)})
	s.pos++
	s.skipSpace()
	return nil
}

// close pops the innermost frame and forgets its member names.
func (s *scanner) close() {
	f := &s.frames[len(s.frames)-1]
	if !f.array && f.firstName < len(s.spans) {
		s.names = s.names[:s.spans[f.firstName].start]
		s.spans = s.spans[:f.firstName]
		if f.tableSize > 0 {
			s.table = s.table[:f.table]
		}
	}
	s.frames = s.frames[:len(s.frames)-1]
	s.pos++
}

// member scans a member name and its colon at s.pos, and moves to its value.
func (s *scanner) member() error {
	if s.pos >= len(s.data) {
		return s.fail(Syntax, s.pos, "the request body ends inside an object")
	}
	if s.data[s.pos] != '"' {
		return s.fail(Syntax, s.pos, "unexpected "+s.describe(s.pos)+" where a member name in double quotes should start")
	}
	start := s.pos
	if err := s.name(); err != nil {
		return err
	}
	if err := s.checkDuplicate(start); err != nil {
		return err
	}
	s.skipSpace()
	if s.pos >= len(s.data) {
		return s.fail(Syntax, s.pos, "the request body ends inside an object")
	}
	if s.data[s.pos] != ':' {
		return s.fail(Syntax, s.pos, "unexpected "+s.describe(s.pos)+" where a colon should follow the member name")
	}
	s.pos++
	s.skipSpace()
	f := &s.frames[len(s.frames)-1]
	f.at = len(s.spans) - 1
	f.inValue = true
	return nil
}

// checkDuplicate refuses the member name just scanned if the innermost object has it
// already. start is the offset of the name's opening quote.
func (s *scanner) checkDuplicate(start int) error {
	f := &s.frames[len(s.frames)-1]
	last := len(s.spans) - 1
	n := s.spans[last]
	name := s.names[n.start:n.end]
	dup := false
	if f.tableSize == 0 && last-f.firstName <= maxLinearNames {
		for _, e := range s.spans[f.firstName:last] {
			if bytes.Equal(s.names[e.start:e.end], name) {
				dup = true
				break
			}
		}
	} else {
		if 2*(last-f.firstName+1) > f.tableSize {
			s.growTable(f)
		}
		s.spans[last].hash = maphash.Bytes(seed, name)
		dup = !s.insert(f, last)
	}
	if !dup {
		return nil
	}
	shown := clip(string(name), maxNameInField)
	return &Error{
		Kind:   Duplicate,
		Field:  s.path(shown),
		Offset: start,
		Detail: fmt.Sprintf("member %q appears twice in one object", shown),
	}
}

// growTable gives the innermost object f a hash table twice the size, at least
// four times maxLinearNames, and enters its names but the one just scanned.
func (s *scanner) growTable(f *frame) {
	last := len(s.spans) - 1
	size := max(2*f.tableSize, 4*maxLinearNames)
	if f.tableSize == 0 {
		f.table = len(s.table)
		for i := f.firstName; i < last; i++ {
			n := s.spans[i]
			s.spans[i].hash = maphash.Bytes(seed, s.names[n.start:n.end])
		}
	}
	s.table = slices.Grow(s.table[:f.table], size)[:f.table+size]
	clear(s.table[f.table:])
	f.tableSize = size
	for i := f.firstName; i < last; i++ {
		s.insert(f, i)
	}
}

// insert enters span i in the hash table of object f, unless the table has the same
// name already, and reports whether it did.
func (s *scanner) insert(f *frame, i int) bool {
	n := s.spans[i]
	name := s.names[n.start:n.end]
	table := s.table[f.table : f.table+f.tableSize]
	mask := uint64(len(table) - 1)
	for p := n.hash & mask; ; p = (p + 1) & mask {
		j := table[p] - 1
		if j < 0 {
			table[p] = i + 1
			return true
		}
		if e := s.spans[j]; e.hash == n.hash && bytes.Equal(s.names[e.start:e.end], name) {
			return false
		}
	}
}

// plain marks the bytes that stand for themselves inside a string, so that the common
// case costs one table lookup per byte.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str scans a string value whose opening quote is at s.pos.
func (s *scanner) str() error {
	data := s.data
	i := s.pos + 1
	for {
		for i < len(data) && plain[data[i]] {
			i++
		}
		if i >= len(data) {
			return s.fail(Syntax, i, "the request body ends inside a string")
		}
		switch c := data[i]; {
		case c == '"':
			s.pos = i + 1
			return nil
		case c == '\\':
			_, n, p := escape(data, i)
			if p.detail != "" {
				return s.fail(p.kind, p.offset, p.detail)
			}
			i += n
		case c < 0x20:
			return s.fail(Syntax, i, controlDetail(c))
		default:
			r, n := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && n == 1 {
				return s.fail(InvalidUTF8, i, "a string contains bytes that are not valid UTF-8")
			}
			i += n
		}
	}
}

// name scans a member name whose opening quote is at s.pos and appends its decoded
// text to s.names, since "a" and "\u0061" are the same name.
func (s *scanner) name() error {
	data := s.data
	start := s.pos
	first := len(s.names)
	i := start + 1
	for {
		j := i
		for j < len(data) && plain[data[j]] {
			j++
		}
		s.names = append(s.names, data[i:j]...)
		i = j
		if i >= len(data) {
			return s.failName(problem{Syntax, i, "the request body ends inside a member name"}, start)
		}
		switch c := data[i]; {
		case c == '"':
			s.spans = append(s.spans, nameSpan{start: first, end: len(s.names)})
			s.pos = i + 1
			return nil
		case c == '\\':
			r, n, p := escape(data, i)
			if p.detail != "" {
				return s.failName(p, start)
			}
			s.names = utf8.AppendRune(s.names, r)
			i += n
		case c < 0x20:
			return s.failName(problem{Syntax, i, controlDetail(c)}, start)
		default:
			r, n := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && n == 1 {
				return s.failName(problem{InvalidUTF8, i, "a member name contains bytes that are not valid UTF-8"}, start)
			}
			s.names = append(s.names, data[i:i+n]...)
			i += n
		}
	}
}

func controlDetail(c byte) string {
	return fmt.Sprintf("a string contains the control character U+%04X, which must be escaped", c)
}

// escape decodes the escape sequence whose backslash is at data[i] and returns the
// character and the length of the sequence. For a NUL or a lone surrogate it also
// returns the length (and U+FFFD), so that sanitizeName can step over it; for a
// malformed sequence the length is 0.
func escape(data []byte, i int) (r rune, n int, p problem) {
	if i+1 >= len(data) {
		return 0, 0, problem{Syntax, len(data), "the request body ends inside a string"}
	}
	switch c := data[i+1]; c {
	case '"', '\\', '/':
		return rune(c), 2, problem{}
	case 'b':
		return '\b', 2, problem{}
	case 'f':
		return '\f', 2, problem{}
	case 'n':
		return '\n', 2, problem{}
	case 'r':
		return '\r', 2, problem{}
	case 't':
		return '\t', 2, problem{}
	case 'u':
	default:
		// The sequence goes in the middle of the sentence: it may end in a period.
		var what string
		if c > 0x20 && c < utf8.RuneSelf {
			what = "the sequence \\" + string(rune(c))
		} else {
			what = fmt.Sprintf("a backslash followed by byte 0x%02X", c)
		}
		return 0, 0, problem{Syntax, i, what + " is not a valid escape in a string"}
	}
	r, ok := hex4(data, i+2)
	if !ok {
		return 0, 0, problem{Syntax, i, `a string contains a \u escape without four hexadecimal digits`}
	}
	switch {
	case r == 0:
		return utf8.RuneError, 6, problem{NUL, i, `a string contains the NUL character \u0000`}
	case r >= 0xDC00 && r <= 0xDFFF:
		return utf8.RuneError, 6, problem{InvalidUTF8, i, "a string contains the low surrogate " + escapeText(r) + " without a high surrogate before it"}
	case r >= 0xD800 && r <= 0xDBFF:
		// Only a \u escape of a low surrogate completes the pair; anything else
		// leaves this one alone, whatever problems follow it.
		if i+7 < len(data) && data[i+6] == '\\' && data[i+7] == 'u' {
			if lo, ok := hex4(data, i+8); ok && lo >= 0xDC00 && lo <= 0xDFFF {
				return 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00), 12, problem{}
			}
		}
		return utf8.RuneError, 6, problem{InvalidUTF8, i, "a string contains the high surrogate " + escapeText(r) + " without a low surrogate after it"}
	}
	return r, 6, problem{}
}

func escapeText(r rune) string {
	return fmt.Sprintf(`\u%04x`, r)
}

// hex4 decodes the four hexadecimal digits at data[i:].
func hex4(data []byte, i int) (rune, bool) {
	if i+4 > len(data) {
		return 0, false
	}
	var r rune
	for _, c := range data[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// sanitizeName decodes the member name that starts at data[0], just after its opening
// quote, as far as it can be read, replacing whatever is not clean text with U+FFFD,
// so that the name of a refused member can be shown to people.
func sanitizeName(data []byte) string {
	var b []byte
	for i := 0; i < len(data) && len(b) <= maxNameInField; {
		c := data[i]
		switch {
		case c == '"' || c < 0x20:
			return clip(string(b), maxNameInField)
		case c == '\\':
			r, n, _ := escape(data, i)
			if n == 0 {
				return clip(string(b), maxNameInField)
			}
			b = utf8.AppendRune(b, r)
			i += n
		default:
			r, n := utf8.DecodeRune(data[i:])
			b = utf8.AppendRune(b, r) // U+FFFD for each invalid byte
			i += n
		}
	}
	return clip(string(b), maxNameInField)
}

func (s *scanner) literal(word string) error {
	for k := 1; k < len(word); k++ {
		i := s.pos + k
		if i >= len(s.data) {
			return s.fail(Syntax, i, "the request body ends inside the literal "+word)
		}
		if s.data[i] != word[k] {
			return s.fail(Syntax, i, "unexpected "+s.describe(i)+" in the literal "+word)
		}
	}
	s.pos += len(word)
	return s.delimited("the literal " + word)
}

// number scans the RFC 8259 number grammar.
func (s *scanner) number() error {
	data := s.data
	i := s.pos
	if data[i] == '-' {
		i++
	}
	switch {
	case i >= len(data):
		return s.fail(Syntax, i, "the request body ends inside a number")
	case data[i] == '0':
		i++
		if i < len(data) && isDigit(data[i]) {
			return s.fail(Syntax, i, "a number must not have leading zeros")
		}
	case isDigit(data[i]):
		i = digits(data, i+1)
	default:
		return s.fail(Syntax, i, "unexpected "+s.describe(i)+" where a digit should follow the minus sign")
	}
	if i < len(data) && data[i] == '.' {
		i++
		if i == len(data) || !isDigit(data[i]) {
			return s.fail(Syntax, i, "a number needs a digit after its decimal point")
		}
		i = digits(data, i+1)
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if i == len(data) || !isDigit(data[i]) {
			return s.fail(Syntax, i, "a number needs a digit in its exponent")
		}
		i = digits(data, i+1)
	}
	s.pos = i
	return s.delimited("a number")
}

// delimited refuses a number or literal that runs on into letters, digits, signs or
// dots, as in 0x1F, 1.2.3 or nullable, so that these count as malformed values rather
// than as a second value after the first.
func (s *scanner) delimited(what string) error {
	if s.pos >= len(s.data) {
		return nil
	}
	switch c := s.data[s.pos]; {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', isDigit(c), c == '.', c == '+', c == '-', c == '_':
		return s.fail(Syntax, s.pos, "unexpected "+s.describe(s.pos)+" after "+what)
	}
	return nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func digits(data []byte, i int) int {
	for i < len(data) && isDigit(data[i]) {
		i++
	}
	return i
}
