package domain

import (
	"regexp"
	"strings"
	"time"
)

// Kind tells registers (data providers) from Onlinedienste (data consumers).
type Kind string

// The two kinds of entry in an inventory.
const (
	KindRegister     Kind = "register"
	KindOnlinedienst Kind = "onlinedienst"
)

var (
	ressortCodePattern = regexp.MustCompile(`^[A-Z0-9-]{2,16}$`)
	keyPattern         = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)
	leikaPattern       = regexp.MustCompile(`^[0-9]{14}$`)
)

// ValidRessortCode reports whether code can name a Ressort: 2–16 of A-Z, 0-9 and '-'.
func ValidRessortCode(code string) bool { return ressortCodePattern.MatchString(code) }

// ValidKey reports whether key can address an entry within its Ressort.
func ValidKey(key string) bool { return keyPattern.MatchString(key) }

// Ref addresses a register from an Onlinedienst's nachweise_from, written "RESSORT/key".
type Ref struct {
	Ressort string
	Key     string
}

// ParseRef parses "RESSORT/key"; ok is false when either part is malformed.
func ParseRef(s string) (ref Ref, ok bool) {
	code, key, found := strings.Cut(s, "/")
	if !found || !ValidRessortCode(code) || !ValidKey(key) {
		return Ref{}, false
	}
	return Ref{Ressort: code, Key: key}, true
}

func (r Ref) String() string { return r.Ressort + "/" + r.Key }

// Content is what a Ressort writes about an entry. Register-only and Onlinedienst-only fields
// stay empty for the other kind. The JSON names are those of the API and the import format;
// merge patches are applied to this shape.
type Content struct {
	Name        string `json:"name" validate:"required,max=200,clean"`
	Description string `json:"description,omitempty" validate:"max=4000,clean"`

	// Register only.
	AnlageNr      *int   `json:"idnrg_anlage_nr,omitempty" validate:"omitempty,min=1,max=50"`
	LegalBasis    string `json:"legal_basis,omitempty" validate:"max=500,clean"`
	Fachverfahren string `json:"fachverfahren,omitempty" validate:"max=200,clean"`
	Contact       string `json:"contact,omitempty" validate:"omitempty,max=254,clean,email"`

	// Onlinedienst only.
	LeikaKeys     []string `json:"leika_keys,omitempty" validate:"max=100,unique,dive,leika"`
	URL           string   `json:"url,omitempty" validate:"omitempty,max=2000,clean,https_url"`
	NachweiseFrom []string `json:"nachweise_from,omitempty" validate:"max=200,unique,dive,register_ref"`

	Readiness Readiness `json:"readiness"`
}

// Normalize brings equal content to one representation, so that comparing two Contents
// tells whether a write changes anything.
func (c *Content) Normalize() {
	c.Readiness.Normalize()
	if len(c.LeikaKeys) == 0 {
		c.LeikaKeys = nil
	}
	if len(c.NachweiseFrom) == 0 {
		c.NachweiseFrom = nil
	}
}

// Refs parses NachweiseFrom; call it only on validated content.
func (c Content) Refs() []Ref {
	refs := make([]Ref, 0, len(c.NachweiseFrom))
	for _, s := range c.NachweiseFrom {
		if r, ok := ParseRef(s); ok {
			refs = append(refs, r)
		}
	}
	return refs
}

// Entry is a register or an Onlinedienst with its address and bookkeeping.
type Entry struct {
	Kind    Kind
	Ressort string
	Key     string
	Content
	// Version starts at 1 and grows by one with each write that changes something.
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
	// UpdatedBy names the user who made the last change.
	UpdatedBy string
}
