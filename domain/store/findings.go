package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/bremen/regmo/domain"
	"gorm.io/gorm"
)

// source returns the entries table, or the versions valid at the instant, restricted to the
// Ressorts the caller may read, as a subquery aliased e.
func (inv *Inventory) source(scope domain.ReadScope, requested []string, asOf *time.Time) (string, []any, bool) {
	codes, all := scope.Restrict(requested)
	if !all && len(codes) == 0 {
		return "", nil, false
	}
	from := "entries"
	var conds []string
	var args []any
	if asOf != nil {
		from = "entry_versions"
		conds = append(conds, "valid_from <= ? AND (valid_to IS NULL OR valid_to > ?)")
		args = append(args, *asOf, *asOf)
	}
	if !all {
		conds = append(conds, "ressort = ANY(?::text[])")
		args = append(args, textArray(codes))
	}
	if len(conds) == 0 {
		return "(SELECT * FROM " + from + ") e", nil, true
	}
	return "(SELECT * FROM " + from + " WHERE " + strings.Join(conds, " AND ") + ") e", args, true
}

// OverdueItem is one overdue dimension of one entry.
type OverdueItem struct {
	Ressort     string      `gorm:"column:ressort"`
	Key         string      `gorm:"column:key"`
	Name        string      `gorm:"column:name"`
	Kind        domain.Kind `gorm:"column:kind"`
	Dimension   string      `gorm:"column:dimension"`
	Stage       string      `gorm:"column:stage"`
	TargetDate  string      `gorm:"column:target_date"`
	DaysOverdue int         `gorm:"column:days_overdue"`
}

// Overdue lists every overdue dimension of every readable entry, most overdue first.
func (inv *Inventory) Overdue(ctx context.Context, scope domain.ReadScope, f ReportFilter) ([]OverdueItem, time.Time, error) {
	at := inv.now()
	if f.AsOf != nil {
		at = *f.AsOf
	}
	src, args, ok := inv.source(scope, f.Ressorts, f.AsOf)
	if !ok {
		return nil, at, nil
	}
	today := domain.Today(at)
	var parts []string
	var all []any
	for _, d := range domain.Dimensions {
		part := fmt.Sprintf(`SELECT ressort, key, name, kind, '%[1]s' AS dimension, %[1]s_stage AS stage,
			to_char(%[1]s_target_date, 'YYYY-MM-DD') AS target_date, (?::date - %[1]s_target_date) AS days_overdue
			FROM %[2]s WHERE %[1]s_target_date < ?::date AND %[1]s_stage NOT IN ('live', 'not_applicable')`, d, src)
		parts = append(parts, part)
		all = append(all, today)
		all = append(all, args...)
		all = append(all, today)
		if f.Kind != "" {
			parts[len(parts)-1] += " AND kind = ?"
			all = append(all, string(f.Kind))
		}
	}
	var items []OverdueItem
	err := readTx(ctx, inv.db, scope, func(tx *gorm.DB) error {
		return tx.Raw(strings.Join(parts, " UNION ALL ")+
			" ORDER BY days_overdue DESC, ressort, key, kind, dimension", all...).Scan(&items).Error
	})
	if err != nil {
		return nil, at, fmt.Errorf("store: overdue report: %w", err)
	}
	return items, at, nil
}

// Finding is an entry that breaks a rule of the domain.
type Finding struct {
	Rule    string      `gorm:"column:rule"`
	Ressort string      `gorm:"column:ressort"`
	Key     string      `gorm:"column:key"`
	Name    string      `gorm:"column:name"`
	Kind    domain.Kind `gorm:"column:kind"`
	Detail  string      `gorm:"column:detail"`
}

// RuleCoupling is the coupling rule: a register may use the IDNr in data transfers only once
// it is connected to the Datenschutzcockpit (§ 10 OZG with the IDNrG).
const RuleCoupling = "idnr-transfer-requires-dsc"

// Consistency lists the readable entries that break a rule of the domain.
func (inv *Inventory) Consistency(ctx context.Context, scope domain.ReadScope, f ReportFilter) ([]Finding, time.Time, error) {
	at := inv.now()
	if f.AsOf != nil {
		at = *f.AsOf
	}
	src, args, ok := inv.source(scope, f.Ressorts, f.AsOf)
	if !ok {
		return nil, at, nil
	}
	var out []Finding
	err := readTx(ctx, inv.db, scope, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT ? AS rule, ressort, key, name, kind,
			'live in noots and idnr, but dsc is ' || dsc_stage || ': the IDNr may not be used in transfers before the DSC connection' AS detail
		FROM `+src+` WHERE kind = 'register' AND noots_stage = 'live' AND idnr_stage = 'live' AND
			dsc_stage NOT IN ('live', 'not_applicable')
		ORDER BY ressort, key`, append([]any{RuleCoupling}, args...)...).Scan(&out).Error
	})
	if err != nil {
		return nil, at, fmt.Errorf("store: consistency report: %w", err)
	}
	return out, at, nil
}

// CoverageEntry is one register of the Anlage with the recorded registers carrying its
// number; none recorded is a gap in the inventory.
type CoverageEntry struct {
	Anlage    AnlageEntry
	Registers []domain.Entry
}

// AnlageCoverage maps the 50 Anlage registers to the readable registers that carry their
// numbers.
func (inv *Inventory) AnlageCoverage(ctx context.Context, scope domain.ReadScope, f ReportFilter) ([]CoverageEntry, time.Time, error) {
	at := inv.now()
	if f.AsOf != nil {
		at = *f.AsOf
	}
	anlage, err := Anlage(ctx, inv.db)
	if err != nil {
		return nil, at, err
	}
	out := make([]CoverageEntry, len(anlage))
	byNr := map[int]*CoverageEntry{}
	for i, a := range anlage {
		out[i] = CoverageEntry{Anlage: a}
		byNr[a.Nr] = &out[i]
	}
	src, args, ok := inv.source(scope, f.Ressorts, f.AsOf)
	if !ok {
		return out, at, nil
	}
	var rows []entryRow
	err = readTx(ctx, inv.db, scope, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT `+entryColumns+` FROM `+src+`
		WHERE kind = 'register' AND idnrg_anlage_nr IS NOT NULL ORDER BY idnrg_anlage_nr, ressort, key`, args...).Scan(&rows).Error
	})
	if err != nil {
		return nil, at, fmt.Errorf("store: anlage coverage: %w", err)
	}
	for _, r := range rows {
		if c := byNr[*r.IdnrgAnlageNr]; c != nil {
			c.Registers = append(c.Registers, r.entry())
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
// ready in noots, naming those registers.
func (inv *Inventory) Blocked(ctx context.Context, scope domain.ReadScope, f ReportFilter) ([]Blocked, time.Time, error) {
	at := inv.now()
	if f.AsOf != nil {
		at = *f.AsOf
	}
	src, args, ok := inv.source(scope, f.Ressorts, f.AsOf)
	if !ok {
		return nil, at, nil
	}
	var onlinedienste []entryRow
	var blockers []struct {
		Ressort    string
		Key        string
		Name       string
		NootsStage string
	}
	err := readTx(ctx, inv.db, scope, func(tx *gorm.DB) error {
		err := tx.Raw(`SELECT `+entryColumns+` FROM `+src+`
			WHERE kind = 'onlinedienst' AND nachweise_from <> '{}' ORDER BY ressort, key`, args...).Scan(&onlinedienste).Error
		if err != nil {
			return err
		}
		// The named registers are looked up in every Ressort, as they were at the instant,
		// through their public cards.
		var refs textArray
		for _, o := range onlinedienste {
			refs = append(refs, o.NachweiseFrom...)
		}
		if len(refs) == 0 {
			return nil
		}
		cards, cardArgs := "register_cards", []any{}
		if f.AsOf != nil {
			cards = "(SELECT * FROM register_card_versions WHERE valid_from <= ? AND (valid_to IS NULL OR valid_to > ?)) c"
			cardArgs = append(cardArgs, *f.AsOf, *f.AsOf)
		}
		return tx.Raw(`SELECT ressort, key, name, noots_stage FROM `+cards+`
			WHERE ressort || '/' || key = ANY(?::text[]) AND noots_stage NOT IN ('live', 'not_applicable')`,
			append(cardArgs, refs)...).Scan(&blockers).Error
	})
	if err != nil {
		return nil, at, fmt.Errorf("store: blocked report: %w", err)
	}
	notReady := map[string]Blocker{}
	for _, b := range blockers {
		notReady[b.Ressort+"/"+b.Key] = Blocker{Ressort: b.Ressort, Key: b.Key, Name: b.Name, NOOTSStage: domain.Stage(b.NootsStage)}
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
			out = append(out, Blocked{Onlinedienst: o.entry(), Blockers: bs})
		}
	}
	return out, at, nil
}
