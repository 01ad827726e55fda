package api

import (
	"net/http"

	"github.com/bremen/regmo/api/web"
	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/policies"
)

// webAuthorizer gives the web interface the API's decisions: the same Casbin policy and the
// same read and write scopes, for the operation whose permission a page needs.
type webAuthorizer struct{ policy *policy }

var _ web.Authorizer = webAuthorizer{}

// Authorize decides like the authorize middleware does for a request to op on ressort.
func (a webAuthorizer) Authorize(caller domain.Caller, op, method, ressort string) (bool, domain.ReadScope, domain.WriteScope, error) {
	allowed, all, ressorts, err := a.policy.decide(caller, op, ressort)
	if err != nil || !allowed {
		return false, domain.ReadScope{}, domain.WriteScope{}, err
	}
	g, err := a.policy.grant(caller, op, method, all, ressorts)
	if err != nil {
		return false, domain.ReadScope{}, domain.WriteScope{}, err
	}
	return true, g.read, g.write, nil
}

// AuditScope returns, from the one policy, what a user may read of the audit trail (the
// operation listAudit): the scope a webhook of theirs is delivered in. An inactive user reads
// nothing.
func AuditScope() (func(domain.User) (domain.ReadScope, error), error) {
	enforcer, err := policies.NewEnforcer()
	if err != nil {
		return nil, err
	}
	p := &policy{enforcer: enforcer}
	return func(u domain.User) (domain.ReadScope, error) {
		if !u.Active {
			return domain.ReadRessorts(), nil
		}
		caller := domain.Caller{User: u.Name, Bindings: u.Bindings}
		allowed, all, ressorts, err := p.decide(caller, "listAudit", "")
		if err != nil || !allowed {
			return domain.ReadRessorts(), err
		}
		g, err := p.grant(caller, "listAudit", http.MethodGet, all, ressorts)
		return g.read, err
	}, nil
}
