package store

import (
	"errors"
	"testing"

	"github.com/bremen/regmo/domain"
)

// FuzzCursor checks the list cursor both ways. Any string given as a cursor either decodes
// to a position of exactly the listing it is checked against, which encodes back to the same
// position, or is ErrCursor (a 400 on "cursor"); and a cursor made for an address
// decodes back to that address if and only if the address is valid. The seed corpus is in
// testdata/fuzz/FuzzCursor (the cursor string, then a Ressort code and a key).
func FuzzCursor(f *testing.F) {
	listing := fingerprint(domain.Filter{Kind: domain.KindRegister, Ressort: "SF"})
	other := fingerprint(domain.Filter{Kind: domain.KindOnlinedienst, Ressort: "SF"})
	f.Add(encodeCursor(cursor{Ressort: "SF", Key: "melderegister", Filter: listing}), "SF", "melderegister")
	f.Add(encodeCursor(cursor{Ressort: "SF", Key: "melderegister", Filter: other}), "SIS", "a")
	f.Fuzz(func(t *testing.T, s, ressort, key string) {
		c, err := decodeCursor(s, listing)
		if err != nil {
			checkCursorError(t, s, err)
		} else {
			if c.Filter != listing || !domain.ValidRessortCode(c.Ressort) || !domain.ValidKey(c.Key) {
				t.Fatalf("decodeCursor(%q) = %+v, want a valid address of listing %s", s, c, listing)
			}
			again, err := decodeCursor(encodeCursor(c), listing)
			if err != nil || again != c {
				t.Fatalf("cursor %+v from %q: re-encoded decodes to %+v, %v; want itself", c, s, again, err)
			}
			if _, err := decodeCursor(s, other); err == nil {
				t.Fatalf("decodeCursor(%q) continues another listing", s)
			}
		}

		want := cursor{Ressort: ressort, Key: key, Filter: listing}
		enc := encodeCursor(want)
		got, err := decodeCursor(enc, listing)
		valid := domain.ValidRessortCode(ressort) && domain.ValidKey(key)
		switch {
		case valid && (err != nil || got != want):
			t.Fatalf("cursor for %q/%q: decodes to %+v, %v; want %+v", ressort, key, got, err, want)
		case !valid && err == nil:
			t.Fatalf("cursor for the invalid address %q/%q decodes to %+v, want an error", ressort, key, got)
		case !valid:
			checkCursorError(t, enc, err)
		}
		if _, err := decodeCursor(enc, other); err == nil {
			t.Fatalf("cursor for %q/%q continues another listing", ressort, key)
		}
	})
}

func checkCursorError(t *testing.T, s string, err error) {
	t.Helper()
	if !errors.Is(err, ErrCursor) {
		t.Fatalf("decodeCursor(%q) = %v (%T), want ErrCursor", s, err, err)
	}
}
