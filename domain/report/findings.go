package report

import (
	"context"
	"time"

	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/store"
)

// OverdueItem is one overdue dimension of one entry.
type OverdueItem struct {
	Ressort     string
	Key         string
	Name        string
	Kind        domain.Kind
	Dimension   string
	Stage       string
	TargetDate  string
	DaysOverdue int
}

// Overdue lists every overdue dimension of every readable entry, most overdue first, and the
// instant it describes.
func (s *Service) Overdue(ctx context.Context, scope domain.ReadScope, f Filter) ([]OverdueItem, time.Time, error) {
	at := s.at(f)
	rows, err := s.store.Overdue(ctx, scope, f.Ressorts, f.Kind, f.AsOf, domain.Today(at))
	if err != nil || rows == nil {
		return nil, at, err
	}
	items := make([]OverdueItem, len(rows))
	for i, r := range rows {
		items[i] = OverdueItem(r)
	}
	return items, at, nil
}

// OverdueByRessort counts the readable entries with at least one overdue dimension per
// Ressort (an entry overdue in two dimensions counts once), and the instant it describes.
func (s *Service) OverdueByRessort(ctx context.Context, scope domain.ReadScope, f Filter) (map[string]int, time.Time, error) {
	at := s.at(f)
	counts, err := s.store.OverdueByRessort(ctx, scope, f.Ressorts, f.Kind, f.AsOf, domain.Today(at))
	return counts, at, err
}

// Finding is an entry that breaks a rule of the domain.
type Finding struct {
	Rule    string
	Ressort string
	Key     string
	Name    string
	Kind    domain.Kind
	Detail  string
}

// RuleCoupling is the coupling rule: a register may use the IDNr in data transfers only once
// it is connected to the Datenschutzcockpit (§ 10 OZG with the IDNrG).
const RuleCoupling = "idnr-transfer-requires-dsc"

// Consistency lists the readable entries that break a rule of the domain, and the instant it
// describes.
func (s *Service) Consistency(ctx context.Context, scope domain.ReadScope, f Filter) ([]Finding, time.Time, error) {
	at := s.at(f)
	rows, err := s.store.Couplings(ctx, scope, f.Ressorts, f.AsOf)
	if err != nil || rows == nil {
		return nil, at, err
	}
	out := make([]Finding, len(rows))
	for i, r := range rows {
		out[i] = Finding{Rule: RuleCoupling, Ressort: r.Ressort, Key: r.Key, Name: r.Name, Kind: r.Kind,
			Detail: "live in noots and idnr, but dsc is " + string(r.DSCStage) + ": the IDNr may not be used in transfers before the DSC connection"}
	}
	return out, at, nil
}

// CoverageEntry is one register of the Anlage with the recorded registers carrying its
// number; none recorded is a gap in the inventory.
type CoverageEntry struct {
	Anlage    store.AnlageEntry
	Registers []domain.Entry
}

// AnlageCoverage maps the 50 Anlage registers to the readable registers that carry their
// numbers, and names the instant it describes.
func (s *Service) AnlageCoverage(ctx context.Context, scope domain.ReadScope, f Filter) ([]CoverageEntry, time.Time, error) {
	at := s.at(f)
	anlage, registers, err := s.store.AnlageRegisters(ctx, scope, f.Ressorts, f.AsOf)
	if err != nil {
		return nil, at, err
	}
	out := make([]CoverageEntry, len(anlage))
	byNr := map[int]*CoverageEntry{}
	for i, a := range anlage {
		out[i] = CoverageEntry{Anlage: a}
		byNr[a.Nr] = &out[i]
	}
	for _, r := range registers {
		if c := byNr[*r.AnlageNr]; c != nil {
			c.Registers = append(c.Registers, r)
		}
	}
	return out, at, nil
}

// Blocker is a register an Onlinedienst needs that is not ready in NOOTS. Only what the
// public Registerlandkarte would show is kept, since it may belong to another Ressort.
type Blocker struct {
	Ressort    string
	Key        string
	Name       string
	NOOTSStage domain.Stage
}

// Blocked is an Onlinedienst that cannot work once-only yet.
type Blocked struct {
	Onlinedienst domain.Entry
	Blockers     []Blocker
}

// Blocked lists the readable Onlinedienste with a register in nachweise_from that is not
// ready in noots, naming those registers, and the instant it describes.
func (s *Service) Blocked(ctx context.Context, scope domain.ReadScope, f Filter) ([]Blocked, time.Time, error) {
	at := s.at(f)
	onlinedienste, cards, err := s.store.NachweisBlockers(ctx, scope, f.Ressorts, f.AsOf)
	if err != nil {
		return nil, at, err
	}
	notReady := make(map[string]Blocker, len(cards))
	for _, c := range cards {
		notReady[c.Ressort+"/"+c.Key] = Blocker(c)
	}
	var out []Blocked
	for _, o := range onlinedienste {
		var bs []Blocker
		for _, ref := range o.NachweiseFrom {
			if b, ok := notReady[ref]; ok {
				bs = append(bs, b)
			}
		}
		if len(bs) > 0 {
			out = append(out, Blocked{Onlinedienst: o, Blockers: bs})
		}
	}
	return out, at, nil
}
