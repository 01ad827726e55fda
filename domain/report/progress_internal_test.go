package report

import (
	"testing"

	"github.com/bremen/regmo/domain"
)

// TestProgressLinesPairByRessort: the progress report reads the readiness twice; a Ressort
// created between the two reads is in the second only. Pairing the summaries by position
// shifted every figure after it (or indexed past the end); they are paired by code.
func TestProgressLinesPairByRessort(t *testing.T) {
	summary := func(code string, registers int64) RessortSummary {
		rs := RessortSummary{Ressort: domain.Ressort{Code: code}, Registers: newKindSummary(), Onlinedienste: newKindSummary()}
		rs.Registers.Count = registers
		return rs
	}
	before := Readiness{Ressorts: []RessortSummary{summary("SF", 3), summary("SK", 5)}}
	after := Readiness{Ressorts: []RessortSummary{summary("NEU", 1), summary("SF", 4), summary("SK", 5)}}
	want := map[string][2]int64{"NEU": {0, 1}, "SF": {3, 4}, "SK": {5, 5}}
	lines := progressLines(before, after)
	if got := len(lines); got != 3*2*len(domain.Dimensions) {
		t.Fatalf("got %d lines, want %d", got, 3*2*len(domain.Dimensions))
	}
	for _, l := range lines {
		if l.Kind != domain.KindRegister {
			continue
		}
		if got := [2]int64{l.CountFrom, l.CountTo}; got != want[l.Ressort] {
			t.Errorf("%s %s: got counts %v, want %v", l.Ressort, l.Dimension, got, want[l.Ressort])
		}
	}
}
