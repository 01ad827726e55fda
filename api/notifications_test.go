package api_test

import (
	"encoding/json"
	"testing"

	"github.com/bremen/regmo/domain"
)

func TestMyNotifications(t *testing.T) {
	ts := newTestServer(t)
	anna := ts.user("anna", domain.Binding{Role: domain.RoleRessortverantwortliche, Ressort: "SF"})
	ozg := ts.user("ozg", domain.Binding{Role: domain.RoleOZGKoordination})
	tests := []struct {
		name   string
		token  string
		method string
		body   string
		want   int
		// wantBody is the settings the answer must carry (empty: not checked).
		wantBody string
	}{
		{"defaults are on", anna, "GET", "", 200, `{"digest":true,"email":"","reminder":true}`},
		{"turns the reminder off", anna, "PUT", `{"reminder":false,"digest":true}`, 200, `{"digest":true,"email":"","reminder":false}`},
		{"reads it back", anna, "GET", "", 200, `{"digest":true,"email":"","reminder":false}`},
		{"another user's stays on", ozg, "GET", "", 200, `{"digest":true,"email":"","reminder":true}`},
		{"both members required", anna, "PUT", `{"reminder":true}`, 422, ""},
		{"unknown member", anna, "PUT", `{"reminder":true,"digest":true,"user":"ozg"}`, 422, ""},
		{"wrong type", anna, "PUT", `{"reminder":"no","digest":true}`, 422, ""},
		{"no token", "-", "GET", "", 401, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := ts.do(request{method: tt.method, path: "/v1/me/notifications", body: tt.body, token: tt.token})
			if got := rec.Code; got != tt.want {
				t.Fatalf("%s status = %d, want %d; body %s", tt.method, got, tt.want, rec.Body)
			}
			if tt.wantBody == "" {
				return
			}
			var got map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			norm, _ := json.Marshal(got)
			if string(norm) != tt.wantBody {
				t.Errorf("body = %s, want %s", norm, tt.wantBody)
			}
		})
	}
}
