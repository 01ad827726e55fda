package render

import (
	"math"
	"time"

	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/report"
)

// KindLabel is how exports name a kind.
func KindLabel(k domain.Kind) string {
	if k == domain.KindOnlinedienst {
		return "Onlinedienst"
	}
	return "Register"
}

// Readiness has one row per Ressort × kind × dimension, then the totals.
func Readiness(r report.Readiness) []Table {
	t := Table{Sheet: "Bereitschaft", Header: []string{"Ressort", "Name", "Art", "Dimension", "Anzahl", "vollständig bereit",
		"nicht begonnen", "geplant", "in Arbeit", "im Test", "live", "nicht anwendbar",
		"bereit", "bereit %", "überfällig"}}
	lines := append([]report.RessortSummary{}, r.Ressorts...)
	total := r.Total
	total.Ressort = domain.Ressort{Code: "Gesamt", Name: "alle lesbaren Ressorts"}
	lines = append(lines, total)
	for _, rs := range lines {
		for _, k := range []struct {
			label string
			sum   report.KindSummary
		}{{"Register", rs.Registers}, {"Onlinedienste", rs.Onlinedienste}} {
			for _, d := range domain.Dimensions {
				ds := k.sum.Dimensions[d]
				row := []any{rs.Ressort.Code, rs.Ressort.Name, k.label, string(d), k.sum.Count, k.sum.FullyReady}
				for _, s := range domain.Stages {
					row = append(row, ds.Stages[s])
				}
				t.Rows = append(t.Rows, append(row, ds.Ready, ds.ReadyPct, ds.Overdue))
			}
		}
	}
	return []Table{t, readyShare(lines)}
}

// readyShare is the chart's table: per Ressort (and the total) and dimension, the share of
// its registers and Onlinedienste together that is ready, in percent with one decimal.
func readyShare(lines []report.RessortSummary) Table {
	t := Table{Sheet: "Diagramm", Header: []string{"Ressort", "IDNr bereit %", "NOOTS bereit %", "DSC bereit %"},
		Chart: &Chart{Title: "Anteil bereit je Ressort und Dimension (Register und Onlinedienste)", Axis: "bereit (%)", Max: 100}}
	for _, rs := range lines {
		row := []any{rs.Ressort.Code}
		for _, d := range domain.Dimensions {
			ready := rs.Registers.Dimensions[d].Ready + rs.Onlinedienste.Dimensions[d].Ready
			count := rs.Registers.Count + rs.Onlinedienste.Count
			pct := 0.0
			if count > 0 {
				pct = math.Round(float64(ready)*1000/float64(count)) / 10
			}
			row = append(row, pct)
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// Overdue has one row per overdue dimension.
func Overdue(items []report.OverdueItem) []Table {
	t := Table{Sheet: "Überfällig", Header: []string{"Ressort", "Schlüssel", "Name", "Art", "Dimension", "Stufe", "Zieldatum", "Tage überfällig"}}
	for _, it := range items {
		t.Rows = append(t.Rows, []any{it.Ressort, it.Key, it.Name, KindLabel(it.Kind), it.Dimension, it.Stage, it.TargetDate, it.DaysOverdue})
	}
	return []Table{t}
}

// Consistency has one row per finding.
func Consistency(findings []report.Finding) []Table {
	t := Table{Sheet: "Befunde", Header: []string{"Regel", "Ressort", "Schlüssel", "Name", "Art", "Befund"}}
	for _, f := range findings {
		t.Rows = append(t.Rows, []any{f.Rule, f.Ressort, f.Key, f.Name, KindLabel(f.Kind), f.Detail})
	}
	return []Table{t}
}

// AnlageCoverage has one row per recorded register of an Anlage entry, and one per gap.
func AnlageCoverage(coverage []report.CoverageEntry) []Table {
	t := Table{Sheet: "Anlage-Abdeckung", Header: []string{"Nr.", "Register der Anlage", "Lücke", "Ressort", "Schlüssel", "Name", "IDNr", "NOOTS", "DSC"}}
	for _, c := range coverage {
		for _, e := range c.Registers {
			t.Rows = append(t.Rows, []any{c.Anlage.Nr, c.Anlage.Name, "nein", e.Ressort, e.Key, e.Name,
				string(e.Readiness.IDNr.Stage), string(e.Readiness.NOOTS.Stage), string(e.Readiness.DSC.Stage)})
		}
		if len(c.Registers) == 0 {
			t.Rows = append(t.Rows, []any{c.Anlage.Nr, c.Anlage.Name, "ja", "", "", "", "", "", ""})
		}
	}
	return []Table{t}
}

// Blocked has one row per Onlinedienst and blocking register.
func Blocked(blocked []report.Blocked) []Table {
	t := Table{Sheet: "Blockiert", Header: []string{"Ressort", "Schlüssel", "Onlinedienst", "blockiert durch Ressort", "Register-Schlüssel", "Register", "NOOTS-Stufe"}}
	for _, b := range blocked {
		for _, r := range b.Blockers {
			t.Rows = append(t.Rows, []any{b.Onlinedienst.Ressort, b.Onlinedienst.Key, b.Onlinedienst.Name, r.Ressort, r.Key, r.Name, string(r.NOOTSStage)})
		}
	}
	return []Table{t}
}

// Progress has the stage changes first (the CSV shows them), then the ready counts.
func Progress(p report.Progress) []Table {
	ready := Table{Sheet: "Stand", Header: []string{"Ressort", "Art", "Dimension", "Anzahl am Beginn", "bereit am Beginn", "Anzahl am Ende", "bereit am Ende"}}
	changes := Table{Sheet: "Änderungen", Header: []string{"Ressort", "Schlüssel", "Name", "Art", "Dimension", "von", "nach", "Zeitpunkt", "geändert von"}}
	for _, l := range p.Lines {
		ready.Rows = append(ready.Rows, []any{l.Ressort, KindLabel(l.Kind), string(l.Dimension), l.CountFrom, l.ReadyFrom, l.CountTo, l.ReadyTo})
	}
	for _, c := range p.Changes {
		changes.Rows = append(changes.Rows, []any{c.Ressort, c.Key, c.Name, KindLabel(c.Kind), string(c.Dimension), c.From, c.To,
			c.At.UTC().Format(time.RFC3339), c.Actor})
	}
	return []Table{changes, ready}
}
