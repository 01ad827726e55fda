package api

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/bremen/regmo/api/strictjson"
	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/transfer"
)

// transferItem is an entry in the import and export format: its address and its content.
type transferItem struct {
	Ressort string `json:"ressort"`
	Key     string `json:"key"`
	domain.Content
}

// jsonImport reads {"registers": [...], "onlinedienste": [...]} one item at a time: each item
// is checked by strictjson and decoded on its own, so the body is never held whole.
type jsonImport struct {
	dec   *json.Decoder
	state int // 0 before the object, 1 between members, 2 inside an array, 3 done
	kind  domain.Kind
	seen  map[string]bool
	index map[domain.Kind]int
}

var importMembers = map[string]domain.Kind{"registers": domain.KindRegister, "onlinedienste": domain.KindOnlinedienst}

func newJSONImport(r io.Reader) (*jsonImport, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if head, _ := br.Peek(3); bytes.Equal(head, []byte("\xef\xbb\xbf")) {
		return nil, &transfer.BadImportError{Index: -1, Detail: "The body starts with a UTF-8 byte order mark, which RFC 8259 forbids senders to add; send the JSON without it."}
	}
	dec := json.NewDecoder(br)
	// Token would turn a number at the top level into a float64 and fail on 1e700 with an
	// error that is no syntax error; a json.Number keeps every number a client finding.
	dec.UseNumber()
	return &jsonImport{dec: dec, seen: map[string]bool{}, index: map[domain.Kind]int{}}, nil
}

// Kinds: a JSON import may hold both kinds, so a replacement replaces both.
func (j *jsonImport) Kinds() []domain.Kind {
	return []domain.Kind{domain.KindRegister, domain.KindOnlinedienst}
}

func (j *jsonImport) bad(format string, args ...any) error {
	return &transfer.BadImportError{Index: -1, Detail: fmt.Sprintf(format, args...)}
}

// readError tells a body that is too large or cut off from one that is not JSON.
func (j *jsonImport) readError(err error, where string) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return &transfer.ImportTooLargeError{Detail: fmt.Sprintf("The import body exceeds %d bytes; split it.", transfer.MaxImportBytes)}
	}
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		return j.bad("The body is not valid JSON %s (byte %d): %s.", where, syntax.Offset, syntax.Error())
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return j.bad("The body ends %s; it must be one object {\"registers\": [...], \"onlinedienste\": [...]}.", where)
	}
	return fmt.Errorf("api: read import: %w", err)
}

// Next returns the next item, or io.EOF after the closing brace.
func (j *jsonImport) Next() (transfer.ImportItem, error) {
	for {
		switch j.state {
		case 0:
			tok, err := j.dec.Token()
			if err != nil {
				return transfer.ImportItem{}, j.readError(err, "at its start")
			}
			if d, ok := tok.(json.Delim); !ok || d != '{' {
				return transfer.ImportItem{}, j.bad(`The body must be one object {"registers": [...], "onlinedienste": [...]}.`)
			}
			j.state = 1
		case 1:
			if !j.dec.More() {
				if _, err := j.dec.Token(); err != nil {
					return transfer.ImportItem{}, j.readError(err, "after its last member")
				}
				if _, err := j.dec.Token(); !errors.Is(err, io.EOF) {
					if err != nil {
						return transfer.ImportItem{}, j.readError(err, "after the object")
					}
					return transfer.ImportItem{}, j.bad("The body has data after the object; send exactly one JSON object.")
				}
				j.state = 3
				continue
			}
			tok, err := j.dec.Token()
			if err != nil {
				return transfer.ImportItem{}, j.readError(err, "between members")
			}
			name, _ := tok.(string)
			kind, known := importMembers[name]
			if !known {
				// An unknown member is a validation failure (422) like every other unknown
				// field; the document itself is well formed.
				return transfer.ImportItem{}, &transfer.ImportError{Total: 1, Errors: []transfer.ItemError{{Index: -1, Field: clip(name),
					Message: `is not a member of an import: it has only "registers" and "onlinedienste" (names are case-sensitive)`}}}
			}
			if j.seen[name] {
				return transfer.ImportItem{}, &transfer.BadImportError{Index: -1, Field: name,
					Detail: fmt.Sprintf("The member %q is given twice; send each list once.", name)}
			}
			j.seen[name] = true
			tok, err = j.dec.Token()
			if err != nil {
				return transfer.ImportItem{}, j.readError(err, "in "+name)
			}
			if d, ok := tok.(json.Delim); !ok || d != '[' {
				return transfer.ImportItem{}, &transfer.BadImportError{Index: -1, Field: name,
					Detail: fmt.Sprintf("The member %q must be an array of items.", name)}
			}
			j.kind = kind
			j.state = 2
		case 2:
			if !j.dec.More() {
				if _, err := j.dec.Token(); err != nil {
					return transfer.ImportItem{}, j.readError(err, "in an array")
				}
				j.state = 1
				continue
			}
			var raw json.RawMessage
			index := j.index[j.kind]
			if err := j.dec.Decode(&raw); err != nil {
				return transfer.ImportItem{}, j.readError(err, fmt.Sprintf("in item %d", index))
			}
			j.index[j.kind]++
			return decodeItem(j.kind, index, raw)
		default:
			return transfer.ImportItem{}, io.EOF
		}
	}
}

// decodeItem decodes one item exactly: duplicate or unknown members, wrong types and text
// that is not clean UTF-8 are problems of the item; a broken document is a BadImportError.
func decodeItem(kind domain.Kind, index int, raw []byte) (transfer.ImportItem, error) {
	it := transfer.ImportItem{Kind: kind, Index: index}
	if err := strictjson.Check(raw, maxJSONDepth); err != nil {
		var serr *strictjson.Error
		if errors.As(err, &serr) && (serr.Kind == strictjson.InvalidUTF8 || serr.Kind == strictjson.NUL) {
			it.Problems = append(it.Problems, domain.FieldError{Field: serr.Field, Message: serr.Detail})
			return it, nil
		}
		detail := "the item is not clean JSON"
		field := ""
		if serr != nil {
			detail, field = serr.Detail, serr.Field
		}
		return it, &transfer.BadImportError{Index: index, Field: field,
			Detail: fmt.Sprintf("%s item %d: %s.", importMemberName(kind), index, detail)}
	}
	// Counted before decoding: encoding/json would make a string of every element first,
	// and 16 MiB of "" elements are five million strings.
	for field, n := range listLengths(raw) {
		if limit := listLimits[field]; n > limit {
			it.Problems = append(it.Problems, domain.FieldError{Field: field,
				Message: fmt.Sprintf("has %d values; at most %d are allowed", n, limit)})
		}
	}
	if len(it.Problems) > 0 {
		return it, nil
	}
	// The item is judged by the contract's own schema of an item (RegisterItem,
	// OnlinedienstItem) as a PUT body is by its schema: names exactly, types, required
	// members, enums. Its content is then decoded leniently, so that the domain rules can
	// judge the fields the contract let through.
	problems, err := itemProblems(kind, raw)
	if err != nil {
		return it, err
	}
	it.Problems = problems
	var v transferItem
	derr := json.Unmarshal(raw, &v)
	it.Ressort, it.Key, it.Content = v.Ressort, v.Key, v.Content
	if derr != nil && len(problems) == 0 {
		// The schema and encoding/json disagree: never let such an item through.
		it.Problems = append(it.Problems, decodeProblem(derr))
	}
	return it, nil
}

// itemProblems checks one item against the contract's schema of its kind.
func itemProblems(kind domain.Kind, raw []byte) ([]domain.FieldError, error) {
	doc, err := spec()
	if err != nil {
		return nil, err
	}
	name := "RegisterItem"
	if kind == domain.KindOnlinedienst {
		name = "OnlinedienstItem"
	}
	ref := doc.Components.Schemas[name]
	if ref == nil || ref.Value == nil {
		return nil, fmt.Errorf("api: openapi.yaml has no schema %s", name)
	}
	var value any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&value); err != nil {
		return nil, fmt.Errorf("api: decode a checked import item: %w", err)
	}
	verr := ref.Value.VisitJSON(value, openapi3.MultiErrors())
	if verr == nil {
		return nil, nil
	}
	var out []domain.FieldError
	for _, se := range schemaErrors(verr) {
		f := schemaField(se)
		out = append(out, domain.FieldError{Field: clip(f.Field), Message: f.Message})
	}
	if len(out) == 0 {
		out = append(out, domain.FieldError{Field: "", Message: verr.Error()})
	}
	return out, nil
}

// listLimits are the most values each list field may hold (domain.Field.Max, from the
// rules): a reader counts first and refuses a longer list before it allocates a value per
// item.
var listLimits = func() map[string]int {
	out := map[string]int{}
	for _, f := range domain.ContentFields {
		if f.Type == domain.FieldList {
			out[f.Path] = f.Max
		}
	}
	return out
}()

// listLengths counts the elements of the item's top-level arrays named in listLimits, on
// raw that strictjson.Check accepted. It allocates nothing per element.
func listLengths(raw []byte) map[string]int {
	out := map[string]int{}
	depth := 0
	name, counting := "", ""
	empty := false
	for i := 0; i < len(raw); i++ {
		switch ch := raw[i]; ch {
		case '"':
			end := i + 1
			for ; end < len(raw) && raw[end] != '"'; end++ {
				if raw[end] == '\\' {
					end++
				}
			}
			if depth == 1 {
				name = string(raw[i+1 : end]) // a member name or a string value; only names matter
			}
			if counting != "" && depth == 2 && empty {
				out[counting], empty = 1, false
			}
			i = end
		case '{', '[':
			depth++
			if ch == '[' && depth == 2 {
				if _, ok := listLimits[name]; ok {
					counting, empty = name, true
					out[name] = 0
				}
			} else if counting != "" && depth == 3 && empty {
				out[counting], empty = 1, false
			}
		case '}', ']':
			if depth == 2 {
				counting = ""
			}
			depth--
		case ',':
			if counting != "" && depth == 2 {
				out[counting]++
			}
		default:
			if counting != "" && depth == 2 && empty && ch > ' ' {
				out[counting], empty = 1, false
			}
		}
	}
	return out
}

func importMemberName(kind domain.Kind) string {
	if kind == domain.KindOnlinedienst {
		return "onlinedienste"
	}
	return "registers"
}

// decodeProblem reports an item that the contract's schema let through but encoding/json
// could not decode: the two disagree, which must never let the item pass. The schema names
// every broken field itself, so this is the fallback, in the decoder's own words.
func decodeProblem(err error) domain.FieldError {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		// The content's fields are promoted into the item; the path names them as sent.
		return domain.FieldError{Field: strings.TrimPrefix(typeErr.Field, "Content."), Message: "has a value of the wrong type"}
	}
	return domain.FieldError{Field: "", Message: "cannot be read: " + err.Error()}
}

// clip keeps a name from a client short enough to quote in an answer.
func clip(s string) string {
	if len(s) > 64 {
		return strings.ToValidUTF8(s[:64], "") + "…"
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
