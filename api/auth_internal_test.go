package api

import (
	"testing"

	"github.com/bremen/regmo/domain"
)

// Only a global role without a Ressort is global; a Ressort-bound role (or an unknown one)
// without a Ressort grants nothing.
func TestDecideFailsClosedWithoutRessort(t *testing.T) {
	p := newPolicy(t)
	tests := []struct {
		name    string
		binding domain.Binding
		op      string
		want    bool
		wantAll bool
	}{
		{"ressortverantwortliche without Ressort", domain.Binding{Role: domain.RoleRessortverantwortliche}, "listRegisters", false, false},
		{"ressortverantwortliche without Ressort, in a path", domain.Binding{Role: domain.RoleRessortverantwortliche}, "putRegister", false, false},
		{"unknown role without Ressort", domain.Binding{Role: "superuser"}, "listRegisters", false, false},
		{"ozg-koordination", domain.Binding{Role: domain.RoleOZGKoordination}, "listRegisters", true, true},
		{"ressortverantwortliche of SF", domain.Binding{Role: domain.RoleRessortverantwortliche, Ressort: "SF"}, "listRegisters", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ressort := ""
			if tt.op == "putRegister" {
				ressort = "SF"
			}
			ok, sc, err := p.decide(domain.Caller{User: "x", Bindings: []domain.Binding{tt.binding}}, tt.op, ressort)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tt.want || sc.All() != tt.wantAll {
				t.Errorf("got allowed %v, all Ressorts %v; want %v, %v", ok, sc.All(), tt.want, tt.wantAll)
			}
		})
	}
}
