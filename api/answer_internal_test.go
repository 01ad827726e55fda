package api

import (
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bremen/regmo/api/oapi"
	"github.com/bremen/regmo/domain"
)

// TestRegisterAnswerMatchesGenerated: the pooled answer writes the generated one's status,
// headers and bytes, also when its buffer comes back from the pool and when it is too large
// to be kept.
func TestRegisterAnswerMatchesGenerated(t *testing.T) {
	n := 7
	at := time.Date(2026, 3, 15, 11, 0, 0, 0, time.UTC)
	full := domain.Entry{Kind: domain.KindRegister, Ressort: "SF", Key: "r-1", Version: 3, CreatedAt: at, UpdatedAt: at, UpdatedBy: "alice",
		Content: domain.Content{Name: "Register <1> & \"Zwei\"", Description: "Beschreibung mit Umlauten: äöü ß", AnlageNr: &n,
			LegalBasis: "§ 1 IDNrG", Readiness: domain.Readiness{IDNr: domain.Status{Stage: domain.StageInProgress, TargetDate: "2026-06-30", Note: "Notiz"}}}}
	large := full
	large.Content.Description = strings.Repeat("x", 2*maxPooledAnswer)
	tests := []struct {
		name string
		e    domain.Entry
		etag *string
	}{
		{"full", full, etag(full.Version)},
		{"again from the pool", full, etag(full.Version)},
		{"without an ETag", domain.Entry{Kind: domain.KindRegister, Ressort: "SF", Key: "leer"}, nil},
		{"too large to keep", large, etag(1)},
		{"after the large one", full, etag(full.Version)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := toRegister(tt.e, "2026-03-15")
			want := httptest.NewRecorder()
			if err := (oapi.GetRegister200JSONResponse{Body: body, Headers: oapi.GetRegister200ResponseHeaders{ETag: tt.etag}}).VisitGetRegisterResponse(want); err != nil {
				t.Fatal(err)
			}
			got := httptest.NewRecorder()
			if err := (registerAnswer{Body: body, Headers: oapi.GetRegister200ResponseHeaders{ETag: tt.etag}}).VisitGetRegisterResponse(got); err != nil {
				t.Fatal(err)
			}
			if got.Code != want.Code {
				t.Errorf("status: got %d, want %d", got.Code, want.Code)
			}
			if !reflect.DeepEqual(got.Header(), want.Header()) {
				t.Errorf("headers: got %v, want %v", got.Header(), want.Header())
			}
			if got.Body.String() != want.Body.String() {
				t.Errorf("body: got %.200q, want %.200q", got.Body.String(), want.Body.String())
			}
		})
	}
}
