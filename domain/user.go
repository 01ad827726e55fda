package domain

import (
	"errors"
	"fmt"
	"regexp"
	"time"
)

// Roles a user can be bound to.
const (
	RoleRessortverantwortliche = "ressortverantwortliche"
	RoleOZGKoordination        = "ozg-koordination"
	RoleAdmin                  = "admin"
)

// TokenPrefix starts every token, so that secret scanners recognise a leaked one.
const TokenPrefix = "regmo_"

// DefaultTokenTTL is how long a token lives unless its issuer says otherwise.
const DefaultTokenTTL = 90 * 24 * time.Hour

// MaxTokenTTL bounds a token's life: a leaked token must not stay valid for ever, and a
// year and a day covers a script that runs once a year.
const MaxTokenTTL = 366 * 24 * time.Hour

var userNamePattern = regexp.MustCompile(`^[a-z0-9._-]{2,64}$`)

// ErrUnauthenticated means a token is missing, unknown, expired, revoked or its user is
// inactive. Callers learn no more than that.
var ErrUnauthenticated = errors.New("unauthenticated")

// Binding grants a role, for the Ressort-bound role in one Ressort.
type Binding struct {
	Role    string `json:"role"`
	Ressort string `json:"ressort,omitempty"`
}

// Caller is an authenticated user with the bindings valid at this request.
type Caller struct {
	User     string
	Bindings []Binding
}

// User is an account with its bindings.
type User struct {
	Name        string
	DisplayName string
	Email       string
	Active      bool
	Bindings    []Binding
}

// Token is an issued API token, without its secret.
type Token struct {
	ID         int64
	User       string
	Label      string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

// CheckUser names every field of u that breaks a rule.
func CheckUser(u User) error {
	verr := &ValidationError{}
	if !userNamePattern.MatchString(u.Name) {
		verr.Add("name", "must be 2 to 64 of a-z, 0-9, '.', '_' and '-'")
	}
	if len([]rune(u.DisplayName)) > 200 || !CleanText(u.DisplayName) {
		verr.Add("display_name", "must be clean text of at most 200 characters")
	}
	if u.Email != "" && validate.Var(u.Email, "email,max=254") != nil {
		verr.Add("email", "must be an e-mail address")
	}
	for i, b := range u.Bindings {
		checkBinding(b, fmt.Sprintf("bindings[%d]", i), verr)
	}
	return verr.Err()
}

func checkBinding(b Binding, field string, verr *ValidationError) {
	switch b.Role {
	case RoleRessortverantwortliche:
		if !ValidRessortCode(b.Ressort) {
			verr.Add(field+".ressort", "is required for the role ressortverantwortliche and must be a Ressort code")
		}
	case RoleOZGKoordination, RoleAdmin:
		if b.Ressort != "" {
			verr.Add(field+".ressort", "must be left out: the role %s is global", b.Role)
		}
	default:
		verr.Add(field+".role", "must be one of ressortverantwortliche, ozg-koordination, admin")
	}
}

// CheckToken names what breaks the rules of a token to be issued with ttl (0 means
// DefaultTokenTTL) and label, and returns the ttl to use.
func CheckToken(ttl time.Duration, label string) (time.Duration, error) {
	verr := &ValidationError{}
	if ttl == 0 {
		ttl = DefaultTokenTTL
	}
	if ttl < time.Second || ttl > MaxTokenTTL {
		verr.Add("ttl", "must be between 1s and 8784h (366 days)")
	}
	if len([]rune(label)) > 200 || !CleanText(label) {
		verr.Add("label", "must be clean text of at most 200 characters")
	}
	return ttl, verr.Err()
}

// CheckBinding names what breaks the rules of one binding, as the named field.
func CheckBinding(b Binding, field string) error {
	verr := &ValidationError{}
	checkBinding(b, field, verr)
	return verr.Err()
}

// ValidUserName reports whether name can be a user's name.
func ValidUserName(name string) bool { return userNamePattern.MatchString(name) }
