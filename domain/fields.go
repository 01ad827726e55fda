package domain

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// FieldType is how a content field holds its value in Content.
type FieldType uint8

// The types of content fields.
const (
	// FieldText is a string, "" when not given.
	FieldText FieldType = iota
	// FieldNumber is an *int, nil when not given.
	FieldNumber
	// FieldList is a []string, nil when empty.
	FieldList
	// FieldDate is a date as YYYY-MM-DD in a string, "" when not given.
	FieldDate
	// FieldStage is a Stage in a string; empty means StageNotStarted.
	FieldStage
)

// Field is one field of an entry's content. ContentFields declares every field once: the
// store derives the columns of entries, the history's documents and the comparison of two
// contents from it, the CSV and workbook formats their columns, and the rules which kind may
// fill a field. Adding a field means a line here, the field in Content, the migration's
// column and openapi.yaml.
type Field struct {
	// Name is the field's column in entries, CSV files and workbooks (idnr_stage).
	Name string
	// Path is where JSON documents and the changes of events hold it (readiness.idnr.stage).
	Path string
	// Type says which accessor is set.
	Type FieldType
	// Kinds are the kinds that have the field; the other kind must leave it empty.
	Kinds []Kind
	// Shown fields appear in documents even when empty (the name, the stages).
	Shown bool
	// Min and Max bound a number, Max the values of a list (0: unbounded). They are read
	// from Content's validate tags, where the rule is written, for readers that must bound
	// what they read before the rules run (a CSV cell of a million values).
	Min, Max int
	// Text reaches a FieldText, FieldDate or FieldStage; Number a FieldNumber; List a
	// FieldList.
	Text   func(*Content) *string
	Number func(*Content) **int
	List   func(*Content) *[]string
}

// Of reports whether kind has the field.
func (f Field) Of(kind Kind) bool { return slices.Contains(f.Kinds, kind) }

// Empty reports whether c leaves the field empty.
func (f Field) Empty(c *Content) bool {
	switch f.Type {
	case FieldNumber:
		return *f.Number(c) == nil
	case FieldList:
		return len(*f.List(c)) == 0
	}
	return *f.Text(c) == ""
}

var (
	bothKinds        = []Kind{KindRegister, KindOnlinedienst}
	registerOnly     = []Kind{KindRegister}
	onlinedienstOnly = []Kind{KindOnlinedienst}
)

// ContentFields are the fields of Content in the order of the columns of entries and of the
// CSV and workbook formats.
var ContentFields = withLimits(slices.Concat(
	[]Field{
		{Name: "name", Path: "name", Kinds: bothKinds, Shown: true, Text: func(c *Content) *string { return &c.Name }},
		{Name: "description", Path: "description", Kinds: bothKinds, Text: func(c *Content) *string { return &c.Description }},
		{Name: "idnrg_anlage_nr", Path: "idnrg_anlage_nr", Type: FieldNumber, Kinds: registerOnly, Number: func(c *Content) **int { return &c.AnlageNr }},
		{Name: "legal_basis", Path: "legal_basis", Kinds: registerOnly, Text: func(c *Content) *string { return &c.LegalBasis }},
		{Name: "fachverfahren", Path: "fachverfahren", Kinds: registerOnly, Text: func(c *Content) *string { return &c.Fachverfahren }},
		{Name: "contact", Path: "contact", Kinds: registerOnly, Text: func(c *Content) *string { return &c.Contact }},
		{Name: "leika_keys", Path: "leika_keys", Type: FieldList, Kinds: onlinedienstOnly, List: func(c *Content) *[]string { return &c.LeikaKeys }},
		{Name: "url", Path: "url", Kinds: onlinedienstOnly, Text: func(c *Content) *string { return &c.URL }},
		{Name: "nachweise_from", Path: "nachweise_from", Type: FieldList, Kinds: onlinedienstOnly, List: func(c *Content) *[]string { return &c.NachweiseFrom }},
	},
	statusFields(DimensionIDNr, func(c *Content) *Status { return &c.Readiness.IDNr }),
	statusFields(DimensionNOOTS, func(c *Content) *Status { return &c.Readiness.NOOTS }),
	statusFields(DimensionDSC, func(c *Content) *Status { return &c.Readiness.DSC }),
))

// withLimits sets Min and Max of the fields from the min= and max= of their validate tags
// in Content (before dive: the list's own bounds, not its elements').
func withLimits(fields []Field) []Field {
	tags := map[string]string{}
	var walk func(prefix string, typ reflect.Type)
	walk = func(prefix string, typ reflect.Type) {
		for i := range typ.NumField() {
			sf := typ.Field(i)
			name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
			if sf.Type.Kind() == reflect.Struct {
				walk(prefix+name+".", sf.Type)
				continue
			}
			tags[prefix+name] = sf.Tag.Get("validate")
		}
	}
	walk("", reflect.TypeFor[Content]())
	for i := range fields {
		own, _, _ := strings.Cut(tags[fields[i].Path], ",dive")
		for _, rule := range strings.Split(own, ",") {
			key, value, _ := strings.Cut(rule, "=")
			n, err := strconv.Atoi(value)
			switch {
			case err != nil:
			case key == "min":
				fields[i].Min = n
			case key == "max" && fields[i].Type != FieldText:
				fields[i].Max = n
			}
		}
	}
	return fields
}

// statusFields are the four fields of a dimension, named after it (idnr_stage) and held
// under readiness (readiness.idnr.stage).
func statusFields(d Dimension, status func(*Content) *Status) []Field {
	field := func(name string, t FieldType, shown bool, text func(*Status) *string) Field {
		return Field{Name: string(d) + "_" + name, Path: "readiness." + string(d) + "." + name, Type: t,
			Kinds: bothKinds, Shown: shown, Text: func(c *Content) *string { return text(status(c)) }}
	}
	return []Field{
		field("stage", FieldStage, true, func(s *Status) *string { return (*string)(&s.Stage) }),
		field("target_date", FieldDate, false, func(s *Status) *string { return &s.TargetDate }),
		field("note", FieldText, false, func(s *Status) *string { return &s.Note }),
		field("evidence_url", FieldText, false, func(s *Status) *string { return &s.EvidenceURL }),
	}
}

// FieldsOf are the fields of a kind, in ContentFields' order.
func FieldsOf(kind Kind) []Field {
	var out []Field
	for _, f := range ContentFields {
		if f.Of(kind) {
			out = append(out, f)
		}
	}
	return out
}
