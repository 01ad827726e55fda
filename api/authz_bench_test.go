package api

import (
	"testing"

	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/policies"
)

func newPolicy(tb testing.TB) *policy {
	e, err := policies.NewEnforcer()
	if err != nil {
		tb.Fatal(err)
	}
	return &policy{enforcer: e}
}

var benchCaller = domain.Caller{User: "sis", Bindings: []domain.Binding{
	{Role: domain.RoleRessortverantwortliche, Ressort: "SF"},
	{Role: domain.RoleRessortverantwortliche, Ressort: "SK"},
	{Role: domain.RoleRessortverantwortliche, Ressort: "SIS"},
}}

// BenchmarkDecide measures one authorization decision: a caller with three bindings asking
// to change an entry of a Ressort they are bound to (target: under 5 µs).
func BenchmarkDecide(b *testing.B) {
	p := newPolicy(b)
	for b.Loop() {
		ok, _, _, err := p.decide(benchCaller, "patchRegister", "SIS")
		if err != nil || !ok {
			b.Fatalf("decide = %v, %v", ok, err)
		}
	}
}

// BenchmarkDecideUncached is the baseline: the same decision evaluated by Casbin each time.
func BenchmarkDecideUncached(b *testing.B) {
	e, err := policies.NewEnforcer()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		for _, r := range []string{policies.Authenticated, "SF", "SK", "SIS"} {
			role, bound := domain.RoleRessortverantwortliche, r
			if r == policies.Authenticated {
				role, bound = r, policies.Global
			}
			if _, err := e.Enforce(role, bound, "SIS", "patchRegister"); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// TestCachedDecisionsEqualCasbin checks the cache's reduction of Ressort codes against
// Casbin evaluated on the real codes, for every role, operation and pairing.
func TestCachedDecisionsEqualCasbin(t *testing.T) {
	p := newPolicy(t)
	e := p.enforcer
	ops := []string{"getRegister", "putRegister", "listRegisters", "putRessort", "getMe", "listUsers", "deleteOnlinedienst", "unknownOp"}
	roles := []string{domain.RoleRessortverantwortliche, domain.RoleOZGKoordination, domain.RoleAdmin, policies.Authenticated, "nobody"}
	bounds := []string{policies.Global, "SF", "SIS"}
	ressorts := []string{"", "SF", "SIS", "MAG-BHV"}
	for _, op := range ops {
		for _, role := range roles {
			for _, bound := range bounds {
				for _, ressort := range ressorts {
					for range 2 { // the second round answers from the cache
						got, err := p.allows(role, bound, ressort, op)
						if err != nil {
							t.Fatal(err)
						}
						want, _ := e.Enforce(role, bound, ressort, op)
						if got != want {
							t.Errorf("allows(%s, %s, %s, %s) = %v, Casbin says %v", role, bound, ressort, op, got, want)
						}
					}
				}
			}
		}
	}
}
