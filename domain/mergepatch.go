package domain

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// MergePatch applies an RFC 7396 JSON Merge Patch to a decoded JSON document: members of an
// object patch replace or (when null) remove the target's members, recursively; any other
// patch replaces the target. Neither argument is modified.
func MergePatch(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	t, _ := target.(map[string]any)
	out := make(map[string]any, len(t)+len(p))
	for k, v := range t {
		out[k] = v
	}
	for k, v := range p {
		if v == nil {
			delete(out, k)
			continue
		}
		out[k] = MergePatch(out[k], v)
	}
	return out
}

// Patched returns c with the merge patch applied. The patch is the document as the
// request's contract check decoded it, handed on rather than read again. The result is not
// yet validated.
func (c Content) Patched(patch map[string]any) (Content, error) {
	if patch == nil {
		return Content{}, &ValidationError{Fields: []FieldError{{Message: "a merge patch of an entry must be a JSON object"}}}
	}
	current, err := json.Marshal(c)
	if err != nil {
		return Content{}, fmt.Errorf("domain: encode entry for patch: %w", err)
	}
	var doc any
	if err := DecodeJSON(current, &doc); err != nil {
		return Content{}, fmt.Errorf("domain: decode entry for patch: %w", err)
	}
	merged, err := json.Marshal(MergePatch(doc, patch))
	if err != nil {
		return Content{}, fmt.Errorf("domain: encode patched entry: %w", err)
	}
	var out Content
	dec := json.NewDecoder(bytes.NewReader(merged))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		return Content{}, &ValidationError{Fields: []FieldError{decodeFieldError(err)}}
	}
	return out, nil
}

// DecodeJSON decodes exactly one JSON value, keeping numbers exact.
func DecodeJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("unexpected data after the JSON value")
	}
	return nil
}

// decodeFieldError names the field a JSON decoding error concerns.
func decodeFieldError(err error) FieldError {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return FieldError{Field: typeErr.Field, Message: "must be of type " + jsonType(typeErr.Type.Kind().String()) + ", not " + typeErr.Value}
	}
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return FieldError{Field: strings.Trim(name, `"`), Message: "is not a field of this entry"}
	}
	return FieldError{Message: strings.TrimPrefix(msg, "json: ")}
}

func jsonType(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "int", "int64", "int32", "float64":
		return "number"
	case "slice":
		return "array"
	case "struct", "map":
		return "object"
	case "bool":
		return "boolean"
	}
	return goKind
}
