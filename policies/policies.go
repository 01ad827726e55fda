// Package policies holds regmo's authorization rules: the Casbin model and the role →
// operation policy, embedded in the binary. Role bindings of users are data in PostgreSQL.
package policies

import (
	_ "embed"
	"fmt"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	stringadapter "github.com/casbin/casbin/v2/persist/string-adapter"
)

//go:embed model.conf
var modelText string

//go:embed policy.csv
var policyText string

// Global is the bound Ressort of a role that is not bound to one.
const Global = "*"

// Authenticated is the role every caller with a valid token holds besides their bindings.
// It grants operations that show nothing of any Ressort's entries.
const Authenticated = "authenticated"

// NewEnforcer builds the enforcer from the embedded model and policy.
func NewEnforcer() (*casbin.Enforcer, error) {
	m, err := model.NewModelFromString(modelText)
	if err != nil {
		return nil, fmt.Errorf("policies: model: %w", err)
	}
	e, err := casbin.NewEnforcer(m, stringadapter.NewAdapter(policyText))
	if err != nil {
		return nil, fmt.Errorf("policies: enforcer: %w", err)
	}
	return e, nil
}
