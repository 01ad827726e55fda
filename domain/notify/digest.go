package notify

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/report"
)

// Digest is what the weekly digest of the OZG-Koordination says about one week.
type Digest struct {
	From, To time.Time
	Changes  []report.StageChange
	Overdue  []report.OverdueItem
	// Shares is the ready share per Ressort and dimension at both ends of the week,
	// registers and Onlinedienste together.
	Shares []Share
}

// Share is one Ressort's ready count in one dimension at the start and end of the week.
type Share struct {
	Ressort              string
	Dimension            domain.Dimension
	CountFrom, ReadyFrom int64
	CountTo, ReadyTo     int64
}

// BuildDigest reads the week from the domain's own reports: the progress report (stage
// changes, ready counts at both ends) and the overdue report as of the end, of which it keeps
// what became overdue during the week (1 to 7 days overdue).
func BuildDigest(ctx context.Context, reports *report.Service, scope domain.ReadScope, monday string) (Digest, error) {
	from, to := DigestWeek(monday)
	p, err := reports.Progress(ctx, scope, nil, from, to)
	if err != nil {
		return Digest{}, err
	}
	d := Digest{From: from, To: to, Changes: p.Changes}
	items, _, err := reports.Overdue(ctx, scope, report.Filter{AsOf: &to})
	if err != nil {
		return Digest{}, err
	}
	for _, it := range items {
		if it.DaysOverdue >= 1 && it.DaysOverdue <= 7 {
			d.Overdue = append(d.Overdue, it)
		}
	}
	index := map[string]int{}
	for _, l := range p.Lines {
		k := l.Ressort + "/" + string(l.Dimension)
		i, ok := index[k]
		if !ok {
			i = len(d.Shares)
			index[k] = i
			d.Shares = append(d.Shares, Share{Ressort: l.Ressort, Dimension: l.Dimension})
		}
		s := &d.Shares[i]
		s.CountFrom += l.CountFrom
		s.ReadyFrom += l.ReadyFrom
		s.CountTo += l.CountTo
		s.ReadyTo += l.ReadyTo
	}
	return d, nil
}

func percent(ready, count int64) string {
	if count == 0 {
		return "–"
	}
	return strings.Replace(fmt.Sprintf("%.1f %%", float64(ready)*100/float64(count)), ".", ",", 1)
}

// DigestMessage writes the German digest e-mail.
func DigestMessage(base, to, displayName string, d Digest) Message {
	base = strings.TrimRight(base, "/")
	var b strings.Builder
	greeting := "Guten Tag"
	if displayName != "" {
		greeting += " " + displayName
	}
	fromLocal, toLocal := d.From.In(domain.Berlin), d.To.In(domain.Berlin)
	week := fromLocal.Format("02.01.2006, 15:04") + " Uhr bis " + toLocal.Format("02.01.2006, 15:04") + " Uhr"
	fmt.Fprintf(&b, "%s,\n\ndie Woche der Registermodernisierung vom %s.\n", greeting, week)
	fmt.Fprintf(&b, "\nStufenänderungen (%d):\n", len(d.Changes))
	if len(d.Changes) == 0 {
		b.WriteString("- keine\n")
	}
	for _, c := range d.Changes {
		from := stageNames[domain.Stage(c.From)]
		if from == "" {
			from = "neu"
		}
		fmt.Fprintf(&b, "- %s %s/%s „%s“, %s: %s → %s (%s, %s)\n  %s\n", kindNames[c.Kind], c.Ressort, c.Key, c.Name,
			dimensionNames[c.Dimension], from, stageNames[domain.Stage(c.To)], c.At.In(domain.Berlin).Format("02.01.2006 15:04"), c.Actor,
			EntryURL(base, c.Ressort, c.Key, c.Kind))
	}
	fmt.Fprintf(&b, "\nNeu überfällig (%d):\n", len(d.Overdue))
	if len(d.Overdue) == 0 {
		b.WriteString("- keine\n")
	}
	for _, it := range d.Overdue {
		fmt.Fprintf(&b, "- %s %s/%s „%s“, %s (Stufe: %s): Zieldatum %s\n  %s\n", kindNames[it.Kind], it.Ressort, it.Key, it.Name,
			dimensionNames[domain.Dimension(it.Dimension)], stageNames[domain.Stage(it.Stage)], germanDate(it.TargetDate),
			EntryURL(base, it.Ressort, it.Key, it.Kind))
	}
	b.WriteString("\nAnteil bereit je Ressort und Dimension (Vorwoche → jetzt):\n")
	for _, s := range d.Shares {
		if s.CountFrom == 0 && s.CountTo == 0 {
			continue // a Ressort without entries has no share to compare
		}
		fmt.Fprintf(&b, "- %s %s: %s → %s (%d von %d)\n", s.Ressort, dimensionNames[s.Dimension],
			percent(s.ReadyFrom, s.CountFrom), percent(s.ReadyTo, s.CountTo), s.ReadyTo, s.CountTo)
	}
	fmt.Fprintf(&b, "\nZur Übersicht: %s/\n\nDen Wochenbericht können Sie auf Ihrer Seite in regmo abbestellen:\n%s%s\n", base, base, AccountPath)
	return Message{To: to, Subject: "regmo: Wochenbericht bis " + toLocal.Format("02.01.2006"), Body: b.String()}
}
