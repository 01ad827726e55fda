package api

import (
	"github.com/bremen/regmo/api/web"
	"github.com/bremen/regmo/domain"
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
