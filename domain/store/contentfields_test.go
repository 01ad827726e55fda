package store

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/bremen/regmo/domain"
)

// TestContentFieldsEqualsJSONRoundTrip keeps the hand-built document of history events equal
// to what encoding/json makes of the content, for contents with and without every field.
func TestContentFieldsEqualsJSONRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	pick := func(vs ...string) string { return vs[rng.IntN(len(vs))] }
	for i := range 500 {
		var c domain.Content
		c.Name = pick("Melderegister", "", "Straße \"x\"")
		c.Description = pick("", "Beschreibung")
		if rng.IntN(2) == 0 {
			n := 1 + rng.IntN(50)
			c.AnlageNr = &n
		}
		c.LegalBasis, c.Fachverfahren, c.Contact = pick("", "§ 1"), pick("", "OK.EWO"), pick("", "a@b.de")
		if rng.IntN(2) == 0 {
			c.LeikaKeys = []string{"99000000000000", "99000000000001"}[:1+rng.IntN(2)]
		}
		c.URL = pick("", "https://service.bremen.de/")
		if rng.IntN(2) == 0 {
			c.NachweiseFrom = []string{"SIS/melderegister"}
		}
		for _, s := range []*domain.Status{&c.Readiness.IDNr, &c.Readiness.NOOTS, &c.Readiness.DSC} {
			*s = domain.Status{Stage: domain.Stage(pick("not_started", "live")), TargetDate: pick("", "2028-12-31"),
				Note: pick("", "Notiz"), EvidenceURL: pick("", "https://x.de/")}
		}
		data, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		if got, want := contentFields(&c), domain.Fields(doc); !reflect.DeepEqual(got, want) {
			t.Fatalf("content %d: got %v, want %v", i, got, want)
		}
	}
	if got := contentFields(nil); len(got) != 0 {
		t.Errorf("contentFields(nil) = %v, want empty", got)
	}
}

// TestEncodeChangesEqualsJSONMarshal checks the hand-written encoder of event changes
// against encoding/json on the values both produce.
func TestEncodeChangesEqualsJSONMarshal(t *testing.T) {
	n := 7
	before := &domain.Content{Name: "Alt \"<&>\"", Description: "Zeile\neins\ttab\x01", AnlageNr: &n,
		LeikaKeys: []string{"99000000000000"}, Readiness: domain.Readiness{IDNr: domain.Status{Stage: domain.StageLive, Note: `Back\slash`}}}
	after := &domain.Content{Name: "Neu – ä", NachweiseFrom: []string{"SIS/melderegister", "SF/x"},
		Readiness: domain.Readiness{IDNr: domain.Status{Stage: domain.StagePlanned, TargetDate: "2028-12-31"}}}
	for _, tc := range []struct{ before, after *domain.Content }{{nil, after}, {before, after}, {before, nil}, {after, after}} {
		changes, err := contentChanges(tc.before, tc.after)
		if err != nil {
			t.Fatal(err)
		}
		got, err := encodeChanges(changes)
		if err != nil {
			t.Fatal(err)
		}
		want, err := json.Marshal(changes)
		if err != nil {
			t.Fatal(err)
		}
		var g, w any
		if err := json.Unmarshal([]byte(got), &g); err != nil {
			t.Fatalf("encodeChanges wrote invalid JSON %s: %v", got, err)
		}
		if err := json.Unmarshal(want, &w); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("got %s, want %s", got, want)
		}
	}
}
