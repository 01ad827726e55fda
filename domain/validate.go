package domain

import (
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/go-playground/validator/v10"
)

// validate checks Content and its parts. It is built once: validator caches what it learns
// about each struct type.
var validate = newValidator()

func newValidator() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	// Report fields by their JSON names, as the client wrote them.
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			return ""
		}
		return name
	})
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	must(v.RegisterValidation("stage", func(fl validator.FieldLevel) bool {
		return Stage(fl.Field().String()).Valid()
	}))
	must(v.RegisterValidation("clean", func(fl validator.FieldLevel) bool {
		return CleanText(fl.Field().String())
	}))
	must(v.RegisterValidation("web_url", func(fl validator.FieldLevel) bool {
		return webURL(fl.Field().String(), "http", "https")
	}))
	must(v.RegisterValidation("https_url", func(fl validator.FieldLevel) bool {
		return webURL(fl.Field().String(), "https")
	}))
	must(v.RegisterValidation("leika", func(fl validator.FieldLevel) bool {
		return leikaPattern.MatchString(fl.Field().String())
	}))
	must(v.RegisterValidation("register_ref", func(fl validator.FieldLevel) bool {
		_, ok := ParseRef(fl.Field().String())
		return ok
	}))
	// A dimension marked not applicable must say why: not_applicable "requires a written
	// reason" (e.g. "register keeps no personal data").
	v.RegisterStructValidation(func(sl validator.StructLevel) {
		s := sl.Current().Interface().(Status)
		if s.Stage == StageNotApplicable && !hasReason(s.Note) {
			sl.ReportError(s.Note, "note", "Note", "reason", "")
		}
	}, Status{})
	return v
}

// CleanText reports whether s is valid UTF-8 without NUL characters, which PostgreSQL
// cannot store and no person means to write.
func CleanText(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// webURL reports whether s is an absolute URL with a host and one of the schemes.
func webURL(s string, schemes ...string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil {
		return false
	}
	for _, sc := range schemes {
		if u.Scheme == sc {
			return true
		}
	}
	return false
}

// messages turns validator tags into sentences for people.
var messages = map[string]string{
	"required":     "is required",
	"datetime":     "must be a calendar date written YYYY-MM-DD",
	"email":        "must be an e-mail address",
	"stage":        "must be one of not_started, planned, in_progress, testing, live, not_applicable",
	"clean":        "must be valid UTF-8 without NUL characters",
	"web_url":      "must be an absolute http or https URL",
	"https_url":    "must be an absolute https URL",
	"leika":        "must be a LeiKa key of 14 digits",
	"register_ref": "must name a register as RESSORT/key",
	"unique":       "must not list the same value twice",
	"reason":       "must give the reason when the stage is not_applicable",
}

// fieldErrors converts validator's errors into FieldErrors named by JSON path.
func fieldErrors(err error) []FieldError {
	var verrs validator.ValidationErrors
	if !errors.As(err, &verrs) {
		return []FieldError{{Field: "", Message: err.Error()}}
	}
	out := make([]FieldError, 0, len(verrs))
	for _, fe := range verrs {
		// The namespace starts with the Go type name of the validated struct.
		_, field, _ := strings.Cut(fe.Namespace(), ".")
		out = append(out, FieldError{Field: field, Message: message(fe)})
	}
	return out
}

func message(fe validator.FieldError) string {
	switch fe.Tag() {
	case "max":
		switch fe.Kind() {
		case reflect.String:
			return fmt.Sprintf("must be at most %s characters long", fe.Param())
		case reflect.Slice:
			return fmt.Sprintf("must list at most %s values", fe.Param())
		}
		return "must be at most " + fe.Param()
	case "min":
		return "must be at least " + fe.Param()
	}
	if m, ok := messages[fe.Tag()]; ok {
		return m
	}
	return "is invalid (" + fe.Tag() + ")"
}

// Problems lists every rule of the domain that content of the kind breaks, after normalising
// it as a write does; nil when it breaks none. A client's input is judged by the contract
// and by these rules, and hears of every broken field at once.
func (c Content) Problems(kind Kind) []FieldError {
	c.Normalize()
	return c.Check(kind).Fields
}

// Check validates content of the given kind and lists every broken rule.
func (c Content) Check(kind Kind) *ValidationError {
	verr := &ValidationError{}
	if err := validate.Struct(c); err != nil {
		verr.Fields = append(verr.Fields, fieldErrors(err)...)
	}
	// What the other kind has (ContentFields says which) stays empty.
	for _, f := range ContentFields {
		if !f.Of(kind) && !f.Empty(&c) {
			verr.Add(f.Path, "is a field of %s, not of %s", kindPlural(f.Kinds[0]), kindPlural(kind))
		}
	}
	return verr
}

// kindPlural is how messages name the entries of a kind.
func kindPlural(k Kind) string {
	if k == KindOnlinedienst {
		return "Onlinedienste"
	}
	return "registers"
}
