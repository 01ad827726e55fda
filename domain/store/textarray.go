package store

import (
	"database/sql/driver"
	"fmt"
	"strings"
)

// textArray maps a PostgreSQL text[] through database/sql, which has no array type. It is
// passed as a single value so that GORM does not expand it into an IN list.
type textArray []string

// Value writes the array literal, quoting every element.
func (a textArray) Value() (driver.Value, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, s := range a {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		for _, r := range s {
			if r == '"' || r == '\\' {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		}
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String(), nil
}

// Scan reads a one-dimensional array literal such as {a,"b c"}.
func (a *textArray) Scan(src any) error {
	var s string
	switch v := src.(type) {
	case string:
		s = v
	case []byte:
		s = string(v)
	case nil:
		*a = nil
		return nil
	default:
		return fmt.Errorf("textArray: cannot scan %T", src)
	}
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		return fmt.Errorf("textArray: not an array literal: %q", s)
	}
	body := s[1 : len(s)-1]
	out := textArray{}
	for i := 0; i < len(body); {
		var elem strings.Builder
		if body[i] == '"' {
			i++
			for i < len(body) && body[i] != '"' {
				if body[i] == '\\' && i+1 < len(body) {
					i++
				}
				elem.WriteByte(body[i])
				i++
			}
			i++ // closing quote
		} else {
			j := strings.IndexByte(body[i:], ',')
			if j < 0 {
				j = len(body) - i
			}
			elem.WriteString(body[i : i+j])
			i += j
		}
		out = append(out, elem.String())
		if i < len(body) && body[i] == ',' {
			i++
		}
	}
	*a = out
	return nil
}
