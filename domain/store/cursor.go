package store

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/bremen/regmo/domain"
)

// ErrCursor refuses a cursor that is not one of this listing: garbage, or one made for
// another endpoint or other filters.
var ErrCursor = errors.New("not a cursor of this listing")

// ErrLimit refuses a page size outside 1 to MaxLimit.
var ErrLimit = fmt.Errorf("a page holds 1 to %d entries", domain.MaxLimit)

// cursor is the position after the last entry of a page. It carries a fingerprint of the
// endpoint and filters that made it, so that it cannot silently continue another listing.
type cursor struct {
	Ressort string `json:"r"`
	Key     string `json:"k"`
	Filter  string `json:"f"`
}

func encodeCursor(c cursor) string {
	data, _ := json.Marshal(c) // three strings cannot fail to encode
	return base64.RawURLEncoding.EncodeToString(data)
}

// decodeCursor reads a cursor made for the given fingerprint.
func decodeCursor(s, fingerprint string) (cursor, error) {
	bad := ErrCursor
	data, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(data) > 512 {
		return cursor{}, bad
	}
	var c cursor
	if err := domain.DecodeJSON(data, &c); err != nil {
		return cursor{}, bad
	}
	if c.Filter != fingerprint || !domain.ValidRessortCode(c.Ressort) || !domain.ValidKey(c.Key) {
		return cursor{}, bad
	}
	return c, nil
}

// fingerprint identifies a listing by its endpoint and filters (not its page size).
func fingerprint(f domain.Filter) string {
	var b strings.Builder
	b.WriteString(string(f.Kind))
	b.WriteString("|")
	if f.Ressort != "" {
		b.WriteString("one:" + f.Ressort)
	} else {
		b.WriteString("all:" + strings.Join(f.Ressorts, ","))
	}
	for _, d := range domain.Dimensions {
		b.WriteString("|" + string(f.Stages[d]))
	}
	if f.Overdue != nil {
		b.WriteString("|overdue=" + strconv.FormatBool(*f.Overdue))
	}
	b.WriteString("|q=" + f.Q)
	if f.AsOf != nil {
		b.WriteString("|as_of=" + f.AsOf.UTC().Format(time.RFC3339Nano))
	}
	return shortHash(b.String())
}

// shortHash fingerprints a listing's description.
func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base64.RawURLEncoding.EncodeToString(sum[:9])
}
