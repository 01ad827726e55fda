package api_test

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"os"
	"slices"
	"strconv"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/bremen/regmo/api/oapi"
	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/migrations"
)

func TestServiceEndpoints(t *testing.T) {
	ts := newTestServer(t)
	tests := []struct {
		path        string
		want        int
		contentType string
	}{
		{"/healthz", 200, "application/json"},
		{"/readyz", 200, "application/json"},
		{"/openapi.yaml", 200, "application/yaml"},
		// Probes that add a query string still get their answer (issue 12, finding 8).
		{"/healthz?x=1", 200, "application/json"},
		{"/readyz?x=1&y", 200, "application/json"},
		{"/openapi.yaml?v=2", 200, "application/yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			rec := ts.do(request{method: "GET", path: tt.path})
			if rec.Code != tt.want || rec.Header().Get("Content-Type") != tt.contentType {
				t.Errorf("status %d type %q, want %d %q", rec.Code, rec.Header().Get("Content-Type"), tt.want, tt.contentType)
			}
			if rec.Header().Get("X-Request-Id") == "" {
				t.Error("no X-Request-Id in the response")
			}
		})
	}
	rec := ts.do(request{method: "GET", path: "/healthz", headers: map[string]string{"X-Request-Id": "script-42"}})
	if got := rec.Header().Get("X-Request-Id"); got != "script-42" {
		t.Errorf("X-Request-Id %q, want the caller's script-42", got)
	}
	if !bytes.Equal(ts.do(request{method: "GET", path: "/openapi.yaml"}).Body.Bytes(), oapi.Spec) {
		t.Error("/openapi.yaml differs from the embedded contract")
	}
}

func TestRessorts(t *testing.T) {
	ts := newTestServer(t)
	list := decode[[]oapi.Ressort](t, ts.do(request{method: "GET", path: "/v1/ressorts"}))
	var codes []string
	for _, r := range list {
		codes = append(codes, r.Code)
	}
	want := []string{"MAG-BHV", "SASJI", "SBMS", "SF", "SIS", "SJV", "SK", "SKB", "SWHT", "ZGF"}
	if !slices.Equal(codes, want) {
		t.Errorf("seeded Ressorts %v, want %v", codes, want)
	}
	tests := []struct {
		name, path, body string
		want             int
	}{
		{"creates", "/v1/ressorts/SGFV", `{"name":"Senatorin für Gesundheit, Frauen und Verbraucherschutz"}`, 201},
		{"unchanged", "/v1/ressorts/SGFV", `{"name":"Senatorin für Gesundheit, Frauen und Verbraucherschutz"}`, 200},
		{"renames", "/v1/ressorts/SGFV", `{"name":"Senatorin für Gesundheit"}`, 200},
		{"lower-case code", "/v1/ressorts/sgfv", `{"name":"x"}`, 400},
		{"code too long", "/v1/ressorts/ABCDEFGHIJKLMNOPQ", `{"name":"x"}`, 400},
		{"empty name", "/v1/ressorts/SGFV", `{"name":""}`, 422},
		{"unknown field", "/v1/ressorts/SGFV", `{"name":"x","kurz":"y"}`, 422},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if rec := ts.do(request{method: "PUT", path: tt.path, body: tt.body}); rec.Code != tt.want {
				t.Errorf("status %d, want %d; body %s", rec.Code, tt.want, rec.Body)
			}
		})
	}
}

// TestAnlageReference checks the served Anlage against the shipped CSV.
func TestAnlageReference(t *testing.T) {
	ts := newTestServer(t)
	got := decode[[]oapi.AnlageEntry](t, ts.do(request{method: "GET", path: "/v1/reference/idnrg-anlage"}))
	rows, err := csv.NewReader(bytes.NewReader(migrations.AnlageCSV)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	rows = rows[1:]
	if len(got) != 50 || len(rows) != 50 {
		t.Fatalf("got %d entries, CSV has %d, want 50 each", len(got), len(rows))
	}
	for i, row := range rows {
		nr, _ := strconv.Atoi(row[0])
		want := oapi.AnlageEntry{Nr: nr, Name: row[1], LegalBasis: row[2], Level: row[3]}
		if got[i] != want {
			t.Errorf("entry %d = %+v, want %+v", i, got[i], want)
		}
	}
}

// TestContractCopyIsCurrent keeps the embedded contract equal to openapi.yaml at the top.
func TestContractCopyIsCurrent(t *testing.T) {
	top, err := os.ReadFile("../openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(top, oapi.Spec) {
		t.Error("api/oapi/openapi.yaml differs from openapi.yaml: run `make generate`")
	}
}

// TestStageVocabulary keeps the Go constants, the OpenAPI enum and the SQL domain equal.
func TestStageVocabulary(t *testing.T) {
	var goStages []string
	for _, s := range domain.Stages {
		goStages = append(goStages, string(s))
	}
	doc, err := openapi3.NewLoader().LoadFromData(oapi.Spec)
	if err != nil {
		t.Fatal(err)
	}
	var specStages []string
	for _, v := range doc.Components.Schemas["Stage"].Value.Enum {
		specStages = append(specStages, v.(string))
	}
	if !slices.Equal(goStages, specStages) {
		t.Errorf("OpenAPI Stage enum %v, want %v", specStages, goStages)
	}

	ts := newTestServer(t)
	var def string
	err = ts.db.Raw(`SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c
		JOIN pg_type t ON t.oid = c.contypid WHERE t.typname = 'stage'`).Scan(&def).Error
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range goStages {
		if !bytes.Contains([]byte(def), []byte("'"+s+"'")) {
			t.Errorf("SQL domain stage %s lacks %s", def, s)
		}
	}
	var n int
	ts.db.Raw(`SELECT count(*) FROM regexp_matches(?, '''[a-z_]+''', 'g')`, def).Scan(&n)
	if n != len(goStages) {
		t.Errorf("SQL domain stage has %d values, want %d: %s", n, len(goStages), def)
	}
	if rec := ts.do(request{method: "GET", path: "/readyz"}); rec.Code != http.StatusOK {
		t.Errorf("readyz %d", rec.Code)
	}
}
