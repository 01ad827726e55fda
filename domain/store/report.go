package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/bremen/regmo/domain"
	"gorm.io/gorm"
)

// Reports reads the rows the reports of package report are computed from. Each read is one
// read-only transaction whose first statement hands the caller's scope to row-level
// security; the Ressort filter of its SQL is built here, before anything is counted.
type Reports struct {
	db    *gorm.DB
	reads lagging
}

// NewReports returns the report reads on db.
func NewReports(db *gorm.DB) *Reports { return &Reports{db: db} }

// params numbers the arguments of a statement: add appends one and returns its placeholder,
// so that a value used in several places is passed once.
type params []any

func (p *params) add(v any) string {
	*p = append(*p, v)
	return "$" + strconv.Itoa(len(*p))
}

// StageGroup is one row of the readiness aggregate: the entries of one Ressort and kind that
// stand at the same stage in every dimension. Stages are in the order of domain.Dimensions.
type StageGroup struct {
	Ressort string
	Kind    domain.Kind
	Stages  [3]domain.Stage
	Count   int64
}

// DatedGroup counts the entries of one Ressort and kind that stand at a stage that is not
// ready in one dimension and whose target date in it lies before today.
type DatedGroup struct {
	Ressort   string
	Kind      domain.Kind
	Dimension domain.Dimension
	Stage     domain.Stage
	Count     int64
}

// Readiness reads, in one transaction, the Ressorts the scope may read among those requested
// (none: all), ordered by code, and the stage groups and dated groups of their entries of the
// kind (empty: both), now (asOf nil) or as they were at the instant. today decides which
// target dates have passed. Now, they are read from the counters the triggers of migration
// 00010 keep; as of an instant, from the latest daily snapshot of the counters before it and
// the history since (migration 00011). Either reads a few thousand rows plus at most a day's
// changes, whatever the size of the inventory and its history.
func (r *Reports) Readiness(ctx context.Context, scope domain.ReadScope, requested []string, kind domain.Kind, asOf *time.Time, today string) ([]domain.Ressort, []StageGroup, []DatedGroup, error) {
	codes, all := restrict(scope, requested)
	var ressorts []domain.Ressort
	var groups []StageGroup
	var dated []DatedGroup
	err := r.reads.readTx(ctx, r.db, scope, func(tx *gorm.DB) error {
		q := tx.Table("ressorts").Select("code, name").Order("code")
		if !all {
			q = q.Where("code = ANY(?::text[])", textArray(codes))
		}
		if err := q.Scan(&ressorts).Error; err != nil {
			return fmt.Errorf("store: report ressorts: %w", err)
		}
		if len(ressorts) == 0 {
			return nil
		}
		// Without a restriction the aggregate reads every row and needs no filter on the
		// Ressort: rows of Ressorts not in the list cannot exist (foreign key).
		var only []string
		if !all {
			only = ressortCodes(ressorts)
		}
		var err error
		if asOf == nil {
			groups, dated, err = counted(tx, only, kind, today)
			return err
		}
		groups, dated, err = snapshotted(tx, only, kind, *asOf, today)
		return err
	})
	if err != nil {
		return nil, nil, nil, err
	}
	return ressorts, groups, dated, nil
}

func ressortCodes(rs []domain.Ressort) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Code
	}
	return out
}

// StageChangeRow is one change of a stage of one entry, read from its event.
type StageChangeRow struct {
	Ressort   string           `gorm:"column:ressort"`
	Key       string           `gorm:"column:key"`
	Name      string           `gorm:"column:name"`
	Kind      domain.Kind      `gorm:"column:kind"`
	Dimension domain.Dimension `gorm:"column:dimension"`
	From      string           `gorm:"column:from_stage"`
	To        string           `gorm:"column:to_stage"`
	At        time.Time        `gorm:"column:at"`
	Actor     string           `gorm:"column:actor"`
}

// StageChanges lists the stage changes recorded after from up to to in the Ressorts the
// scope may read among those requested (none: all), in the order they happened. The name is
// the entry's at the change.
func (r *Reports) StageChanges(ctx context.Context, scope domain.ReadScope, requested []string, from, to time.Time) ([]StageChangeRow, error) {
	codes, all := restrict(scope, requested)
	if !all && len(codes) == 0 {
		return nil, nil
	}
	p := params{}
	after, upTo := p.add(from), p.add(to)
	where := ""
	if !all {
		where = " AND e.ressort = ANY(" + p.add(textArray(codes)) + "::text[])"
	}
	var out []StageChangeRow
	err := r.reads.readTx(ctx, r.db, scope, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT e.ressort, e.key, COALESCE(v.name, '') AS name, e.entity_type AS kind,
			d.dim AS dimension,
			COALESCE(e.changes -> ('readiness.' || d.dim || '.stage') ->> 'from', '') AS from_stage,
			COALESCE(e.changes -> ('readiness.' || d.dim || '.stage') ->> 'to', '') AS to_stage,
			e.at, e.actor
		FROM events e
		CROSS JOIN (VALUES ('idnr'), ('noots'), ('dsc')) AS d(dim)
		LEFT JOIN LATERAL (SELECT name FROM entry_versions v
			WHERE v.kind = e.entity_type AND v.ressort = e.ressort AND v.key = e.key AND v.valid_from <= e.at
			ORDER BY v.valid_from DESC LIMIT 1) v ON true
		WHERE e.entity_type IN ('register', 'onlinedienst') AND e.at > `+after+` AND e.at <= `+upTo+` AND
			jsonb_exists(e.changes, 'readiness.' || d.dim || '.stage')`+where+`
		ORDER BY e.at, e.id, d.dim`, p...).Scan(&out).Error
	})
	if err != nil {
		return nil, fmt.Errorf("store: progress changes: %w", err)
	}
	return out, nil
}

// source returns the entries table, or the versions valid at the instant, restricted to the
// Ressorts the scope may read among those requested, as a subquery aliased e whose arguments
// are added to p; ok is false when the scope reads none of them.
func source(p *params, scope domain.ReadScope, requested []string, asOf *time.Time) (sql string, ok bool) {
	codes, all := restrict(scope, requested)
	if !all && len(codes) == 0 {
		return "", false
	}
	from := "entries"
	var conds []string
	if asOf != nil {
		from = "entry_versions"
		at := p.add(*asOf)
		conds = append(conds, "(valid_from <= "+at+" AND (valid_to IS NULL OR valid_to > "+at+"))")
	}
	if !all {
		conds = append(conds, "ressort = ANY("+p.add(textArray(codes))+"::text[])")
	}
	if len(conds) == 0 {
		return "(SELECT * FROM " + from + ") e", true
	}
	return "(SELECT * FROM " + from + " WHERE " + strings.Join(conds, " AND ") + ") e", true
}

// OverdueRow is one overdue dimension of one entry.
type OverdueRow struct {
	Ressort     string      `gorm:"column:ressort"`
	Key         string      `gorm:"column:key"`
	Name        string      `gorm:"column:name"`
	Kind        domain.Kind `gorm:"column:kind"`
	Dimension   string      `gorm:"column:dimension"`
	Stage       string      `gorm:"column:stage"`
	TargetDate  string      `gorm:"column:target_date"`
	DaysOverdue int         `gorm:"column:days_overdue"`
}

// Overdue lists every dimension whose target date lies before today and that is not ready,
// of the entries of the kind (empty: both) the scope may read among the Ressorts requested
// (none: all), now or as of the instant; most overdue first.
func (r *Reports) Overdue(ctx context.Context, scope domain.ReadScope, requested []string, kind domain.Kind, asOf *time.Time, today string) ([]OverdueRow, error) {
	var p params
	src, ok := source(&p, scope, requested, asOf)
	if !ok {
		return nil, nil
	}
	day := p.add(today)
	onlyKind := ""
	if kind != "" {
		onlyKind = " AND kind = " + p.add(string(kind))
	}
	var parts []string
	for _, d := range domain.Dimensions {
		part := fmt.Sprintf(`SELECT ressort, key, name, kind, '%[1]s' AS dimension, %[1]s_stage AS stage,
			to_char(%[1]s_target_date, 'YYYY-MM-DD') AS target_date, (%[3]s::date - %[1]s_target_date) AS days_overdue
			FROM %[2]s WHERE %[4]s`, d, src, day, overdueCond(d, day))
		parts = append(parts, part+onlyKind)
	}
	var out []OverdueRow
	err := r.reads.readTx(ctx, r.db, scope, func(tx *gorm.DB) error {
		return tx.Raw(strings.Join(parts, " UNION ALL ")+
			" ORDER BY days_overdue DESC, ressort, key, kind, dimension", p...).Scan(&out).Error
	})
	if err != nil {
		return nil, fmt.Errorf("store: overdue report: %w", err)
	}
	return out, nil
}

// overdueCond is the condition, in parentheses, under which dimension d of an entry is
// overdue on the day the placeholder day names: its target date has passed and it is
// neither live nor not applicable (domain.Status.Overdue).
func overdueCond(d domain.Dimension, day string) string {
	return fmt.Sprintf(`(%[1]s_target_date < %[2]s::date AND %[1]s_stage NOT IN ('live', 'not_applicable'))`, d, day)
}

// OverdueByRessort counts, per Ressort, the entries of the kind (empty: both) that the scope
// may read among the Ressorts requested (none: all), now or as of the instant, with at least
// one dimension overdue on today: Overdue's list, counted by PostgreSQL instead of read row by
// row.
func (r *Reports) OverdueByRessort(ctx context.Context, scope domain.ReadScope, requested []string, kind domain.Kind, asOf *time.Time, today string) (map[string]int, error) {
	var p params
	src, ok := source(&p, scope, requested, asOf)
	if !ok {
		return map[string]int{}, nil
	}
	day := p.add(today)
	var conds []string
	for _, d := range domain.Dimensions {
		conds = append(conds, overdueCond(d, day))
	}
	// Any dimension overdue, as one array of the conditions: no OR that a later condition
	// could escape.
	where := "true = ANY (ARRAY[" + strings.Join(conds, ", ") + "])"
	if kind != "" {
		where += " AND kind = " + p.add(string(kind))
	}
	var rows []struct {
		Ressort string
		N       int
	}
	err := r.reads.readTx(ctx, r.db, scope, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT ressort, count(*) AS n FROM `+src+` WHERE `+where+` GROUP BY ressort`, p...).Scan(&rows).Error
	})
	if err != nil {
		return nil, fmt.Errorf("store: overdue entries per Ressort: %w", err)
	}
	out := make(map[string]int, len(rows))
	for _, row := range rows {
		out[row.Ressort] = row.N
	}
	return out, nil
}

// CouplingRow is a register that is live in NOOTS and IDNr but not ready in the DSC.
type CouplingRow struct {
	Ressort  string       `gorm:"column:ressort"`
	Key      string       `gorm:"column:key"`
	Name     string       `gorm:"column:name"`
	Kind     domain.Kind  `gorm:"column:kind"`
	DSCStage domain.Stage `gorm:"column:dsc_stage"`
}

// Couplings lists the registers the scope may read among the Ressorts requested (none: all),
// now or as of the instant, that are live in NOOTS and IDNr while not ready in the DSC: the
// registers that break the coupling rule (see report.RuleCoupling). Ordered by Ressort and key.
func (r *Reports) Couplings(ctx context.Context, scope domain.ReadScope, requested []string, asOf *time.Time) ([]CouplingRow, error) {
	var p params
	src, ok := source(&p, scope, requested, asOf)
	if !ok {
		return nil, nil
	}
	var out []CouplingRow
	err := r.reads.readTx(ctx, r.db, scope, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT ressort, key, name, kind, dsc_stage
		FROM `+src+` WHERE kind = 'register' AND noots_stage = 'live' AND idnr_stage = 'live' AND
			dsc_stage NOT IN ('live', 'not_applicable')
		ORDER BY ressort, key`, p...).Scan(&out).Error
	})
	if err != nil {
		return nil, fmt.Errorf("store: consistency report: %w", err)
	}
	return out, nil
}

// AnlageRegisters reads the Anlage zu § 1 IDNrG and the registers carrying one of its
// numbers that the scope may read among the Ressorts requested (none: all), now or as of the
// instant, ordered by number, Ressort and key.
func (r *Reports) AnlageRegisters(ctx context.Context, scope domain.ReadScope, requested []string, asOf *time.Time) ([]AnlageEntry, []domain.Entry, error) {
	anlage, err := Anlage(ctx, r.db)
	if err != nil {
		return nil, nil, err
	}
	var p params
	src, ok := source(&p, scope, requested, asOf)
	if !ok {
		return anlage, nil, nil
	}
	var rows []entryRow
	err = r.reads.readTx(ctx, r.db, scope, func(tx *gorm.DB) error {
		var err error
		rows, err = queryEntries(ctx, tx, `SELECT `+entryColumns+` FROM `+src+`
		WHERE kind = 'register' AND idnrg_anlage_nr IS NOT NULL ORDER BY idnrg_anlage_nr, ressort, key`, p...)
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("store: anlage coverage: %w", err)
	}
	registers := make([]domain.Entry, len(rows))
	for i := range rows {
		registers[i] = rows[i].entry()
	}
	return anlage, registers, nil
}

// NachweisBlockers reads, in one transaction, the Onlinedienste the scope may read among the
// Ressorts requested (none: all), now or as of the instant, that name registers in
// nachweise_from (ordered by Ressort and key), and the public cards of the registers they
// name that are not ready in NOOTS. The registers are looked up in every Ressort, as they were
// at the instant, through their public cards, since they may belong to another Ressort.
func (r *Reports) NachweisBlockers(ctx context.Context, scope domain.ReadScope, requested []string, asOf *time.Time) ([]domain.Entry, []RegisterCard, error) {
	var p params
	src, ok := source(&p, scope, requested, asOf)
	if !ok {
		return nil, nil, nil
	}
	var rows []entryRow
	var cards []RegisterCard
	err := r.reads.readTx(ctx, r.db, scope, func(tx *gorm.DB) error {
		var err error
		rows, err = queryEntries(ctx, tx, `SELECT `+entryColumns+` FROM `+src+`
			WHERE kind = 'onlinedienst' AND nachweise_from <> '{}' ORDER BY ressort, key`, p...)
		if err != nil {
			return err
		}
		var refs textArray
		for _, o := range rows {
			refs = append(refs, o.Content.NachweiseFrom...)
		}
		if len(refs) == 0 {
			return nil
		}
		var q params
		from := "register_cards"
		if asOf != nil {
			at := q.add(*asOf)
			from = "(SELECT * FROM register_card_versions WHERE valid_from <= " + at + " AND (valid_to IS NULL OR valid_to > " + at + ")) c"
		}
		return tx.Raw(`SELECT ressort, key, name, noots_stage FROM `+from+`
			WHERE ressort || '/' || key = ANY(`+q.add(refs)+`::text[]) AND noots_stage NOT IN ('live', 'not_applicable')`,
			q...).Scan(&cards).Error
	})
	if err != nil {
		return nil, nil, fmt.Errorf("store: blocked report: %w", err)
	}
	onlinedienste := make([]domain.Entry, len(rows))
	for i := range rows {
		onlinedienste[i] = rows[i].entry()
	}
	return onlinedienste, cards, nil
}
