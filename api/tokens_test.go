package api_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/bremen/regmo/api/oapi"
	"github.com/bremen/regmo/domain"
)

func TestTokenLifetimeIsBounded(t *testing.T) {
	ts := newTestServer(t)
	ts.user("lea", domain.Binding{Role: domain.RoleOZGKoordination})
	tests := []struct {
		ttl  string
		want int
	}{
		{"8784h", http.StatusCreated}, // 366 days
		{"8784h1s", http.StatusUnprocessableEntity},
		{"87600h", http.StatusUnprocessableEntity}, // ten years
		{"1s", http.StatusCreated},
	}
	for _, tt := range tests {
		t.Run(tt.ttl, func(t *testing.T) {
			rec := ts.do(request{method: "POST", path: "/v1/users/lea/tokens", body: `{"ttl":"` + tt.ttl + `"}`})
			if rec.Code != tt.want {
				t.Fatalf("got %d, want %d; body %s", rec.Code, tt.want, rec.Body)
			}
			if got := problemFields(t, rec); tt.want == 422 && !slices.Equal(got, []string{"ttl"}) {
				t.Errorf("got fields %v, want [ttl]", got)
			}
		})
	}
}

// Deactivating a user revokes their tokens for good: activating them again brings none back.
func TestDeactivationRevokesTokens(t *testing.T) {
	ts := newTestServer(t)
	token := ts.user("lea", domain.Binding{Role: domain.RoleOZGKoordination})
	me := func() int { return ts.do(request{method: "GET", path: "/v1/me", token: token}).Code }
	if got := me(); got != 200 {
		t.Fatalf("GET /v1/me before: got %d, want 200", got)
	}
	for _, active := range []bool{false, true} {
		body := fmt.Sprintf(`{"active":%t,"bindings":[{"role":"ozg-koordination"}]}`, active)
		if rec := ts.do(request{method: "PUT", path: "/v1/users/lea", body: body}); rec.Code != 200 {
			t.Fatalf("PUT active=%t: %d %s", active, rec.Code, rec.Body)
		}
		if got := me(); got != http.StatusUnauthorized {
			t.Errorf("GET /v1/me after active=%t: got %d, want 401", active, got)
		}
	}
	tokens := decode[[]oapi.Token](t, ts.do(request{method: "GET", path: "/v1/users/lea/tokens"}))
	if len(tokens) != 1 || tokens[0].RevokedAt == nil {
		t.Errorf("tokens = %+v, want the one token revoked", tokens)
	}
	events := decode[oapi.EventList](t, ts.do(request{method: "GET", path: "/v1/audit?type=token&actor=admin"}))
	if len(events.Items) != 1 || events.Items[0].Action != oapi.EventActionUpdated || events.Items[0].Changes["revoked_at"].To == nil {
		t.Errorf("token events by admin = %+v, want one revocation", events.Items)
	}
}

// An empty Ressort is no Ressort left out: for a global role it would mean every Ressort.
func TestBindingWithEmptyRessortIsRefused(t *testing.T) {
	ts := newTestServer(t)
	for _, role := range []string{"admin", "ozg-koordination", "ressortverantwortliche"} {
		t.Run(role, func(t *testing.T) {
			body := `{"bindings":[{"role":"ozg-koordination"},{"role":"` + role + `","ressort":""}]}`
			rec := ts.do(request{method: "PUT", path: "/v1/users/lea", body: body})
			if rec.Code != http.StatusUnprocessableEntity {
				t.Fatalf("got %d, want 422; body %s", rec.Code, rec.Body)
			}
			if got := problemFields(t, rec); !slices.Equal(got, []string{"bindings[1].ressort"}) {
				t.Errorf("got fields %v, want [bindings[1].ressort]", got)
			}
		})
	}
}
