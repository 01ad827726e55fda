package domain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
)

// transferStore owns the set-based SQL of imports: a hundred thousand entries are written by
// a handful of statements that carry their rows as arrays, not by a statement per entry.
// db is the pool (dry runs) or a transaction.
type transferStore struct{ db *gorm.DB }

// inTx runs fn in a transaction. Two imports (or an import and a PUT) that create the same
// entry, or lock entries in crossing order, conflict; the loser runs once more and then sees
// the winner's rows.
func (inv *Inventory) inTx(ctx context.Context, fn func(transferStore) error) error {
	for attempt := 0; ; attempt++ {
		err := inv.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			return fn(transferStore{db: tx})
		})
		if attempt < 2 && retryable(err) {
			continue
		}
		return err
	}
}

// retryable reports a unique violation, a deadlock or a serialization failure.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "23505" || pgErr.Code == "40P01" || pgErr.Code == "40001")
}

func (s transferStore) ressortCodes(ctx context.Context) ([]string, error) {
	var codes []string
	if err := s.db.WithContext(ctx).Raw(`SELECT code FROM ressorts`).Scan(&codes).Error; err != nil {
		return nil, fmt.Errorf("store: list ressort codes: %w", err)
	}
	return codes, nil
}

// loadAddressed returns the existing entries an import names, locked when it will write.
func (s transferStore) loadAddressed(ctx context.Context, items []ImportItem, lock bool) (map[itemAddress]entryRow, error) {
	kinds := make(textArray, len(items))
	codes := make(textArray, len(items))
	keys := make(textArray, len(items))
	for i, it := range items {
		kinds[i], codes[i], keys[i] = string(it.Kind), it.Ressort, it.Key
	}
	suffix := ""
	if lock {
		// A fixed order keeps two imports from locking crosswise.
		suffix = ` ORDER BY e.id FOR UPDATE OF e`
	}
	var rows []entryRow
	err := s.db.WithContext(ctx).Raw(`SELECT `+prefixed("e", entryColumns)+`
		FROM unnest(?::text[], ?::text[], ?::text[]) AS a(kind, ressort, key)
		JOIN entries e ON e.kind = a.kind AND e.ressort = a.ressort AND e.key = a.key`+suffix,
		kinds, codes, keys).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store: load the entries of an import: %w", err)
	}
	out := make(map[itemAddress]entryRow, len(rows))
	for _, r := range rows {
		out[itemAddress{Kind(r.Kind), r.Ressort, r.Key}] = r
	}
	return out, nil
}

// loadRessort returns every entry of the kinds in a Ressort, for a full replacement.
func (s transferStore) loadRessort(ctx context.Context, ressort string, kinds []Kind, lock bool) ([]entryRow, error) {
	ks := make(textArray, len(kinds))
	for i, k := range kinds {
		ks[i] = string(k)
	}
	suffix := ""
	if lock {
		suffix = ` FOR UPDATE`
	}
	var rows []entryRow
	err := s.db.WithContext(ctx).Raw(`SELECT `+entryColumns+` FROM entries
		WHERE ressort = ? AND kind = ANY(?::text[]) ORDER BY kind, key`+suffix, ressort, ks).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store: load the entries of %s: %w", ressort, err)
	}
	return rows, nil
}

// reference is one Onlinedienst naming a register.
type reference struct {
	register       Ref
	onlinedienstID int64
	ressort, key   string
}

// referencing lists the Onlinedienste that name any of the registers.
func (s transferStore) referencing(ctx context.Context, registerIDs []int64) ([]reference, error) {
	ids := make(textArray, len(registerIDs))
	for i, id := range registerIDs {
		ids[i] = fmt.Sprint(id)
	}
	var rows []struct {
		RegRessort, RegKey string
		OnlinedienstID     int64
		Ressort, Key       string
	}
	err := s.db.WithContext(ctx).Raw(`SELECT r.ressort AS reg_ressort, r.key AS reg_key,
			o.id AS onlinedienst_id, o.ressort, o.key
		FROM nachweise n JOIN entries r ON r.id = n.register_id JOIN entries o ON o.id = n.onlinedienst_id
		WHERE n.register_id = ANY(?::bigint[]) ORDER BY r.ressort, r.key, o.ressort, o.key`, ids).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store: onlinedienste naming registers: %w", err)
	}
	out := make([]reference, len(rows))
	for i, r := range rows {
		out[i] = reference{register: Ref{r.RegRessort, r.RegKey}, onlinedienstID: r.OnlinedienstID, ressort: r.Ressort, key: r.Key}
	}
	return out, nil
}

func prefixed(alias, columns string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		cols[i] = alias + "." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

// planRows are entries to insert or update, column by column: each column travels to
// PostgreSQL as one array parameter.
type planRows struct {
	n                                int
	kind, ressort, key, name, descr  []string
	anlage                           []*int32
	legalBasis, fachverfahren, email []string
	leika, url, nachweise            []string // leika and nachweise as array literals
	stage, note, evidence            [3][]string
	date                             [3][]*string
	changes                          []string
}

func (p *planRows) add(it ImportItem, changes string) error {
	c := it.Content
	var anlage *int32
	if c.AnlageNr != nil {
		v := int32(*c.AnlageNr)
		anlage = &v
	}
	leika, err := textArray(c.LeikaKeys).Value()
	if err != nil {
		return err
	}
	nachweise, err := textArray(c.NachweiseFrom).Value()
	if err != nil {
		return err
	}
	p.n++
	p.kind = append(p.kind, string(it.Kind))
	p.ressort = append(p.ressort, it.Ressort)
	p.key = append(p.key, it.Key)
	p.name = append(p.name, c.Name)
	p.descr = append(p.descr, c.Description)
	p.anlage = append(p.anlage, anlage)
	p.legalBasis = append(p.legalBasis, c.LegalBasis)
	p.fachverfahren = append(p.fachverfahren, c.Fachverfahren)
	p.email = append(p.email, c.Contact)
	p.leika = append(p.leika, leika.(string))
	p.url = append(p.url, c.URL)
	p.nachweise = append(p.nachweise, nachweise.(string))
	for i, st := range []Status{c.Readiness.IDNr, c.Readiness.NOOTS, c.Readiness.DSC} {
		p.stage[i] = append(p.stage[i], string(st.Stage))
		var date *string
		if st.TargetDate != "" {
			d := st.TargetDate
			date = &d
		}
		p.date[i] = append(p.date[i], date)
		p.note[i] = append(p.note[i], st.Note)
		p.evidence[i] = append(p.evidence[i], st.EvidenceURL)
	}
	p.changes = append(p.changes, changes)
	return nil
}

// args returns the arrays in the order of planColumns.
func (p *planRows) args() []any {
	args := []any{p.kind, p.ressort, p.key, p.name, p.descr, p.anlage, p.legalBasis, p.fachverfahren,
		p.email, p.leika, p.url, p.nachweise}
	for i := range 3 {
		args = append(args, p.stage[i], p.date[i], p.note[i], p.evidence[i])
	}
	return append(args, p.changes)
}

// planSource turns the array parameters $1..$25 into rows r, numbered by ord.
const planSource = `SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
		$6::int[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[],
		$13::text[], $14::text[], $15::text[], $16::text[],
		$17::text[], $18::text[], $19::text[], $20::text[],
		$21::text[], $22::text[], $23::text[], $24::text[], $25::text[])
	WITH ORDINALITY AS r(kind, ressort, key, name, description, idnrg_anlage_nr, legal_basis,
		fachverfahren, contact, leika_keys, url, nachweise_from,
		idnr_stage, idnr_target_date, idnr_note, idnr_evidence_url,
		noots_stage, noots_target_date, noots_note, noots_evidence_url,
		dsc_stage, dsc_target_date, dsc_note, dsc_evidence_url, changes, ord)`

// planValues are the content columns (contentColumns' order) computed from r.
const planValues = `r.name, r.description, r.idnrg_anlage_nr, r.legal_basis, r.fachverfahren, r.contact,
	r.leika_keys::text[], r.url, r.nachweise_from::text[],
	r.idnr_stage::stage, r.idnr_target_date::date, r.idnr_note, r.idnr_evidence_url,
	r.noots_stage::stage, r.noots_target_date::date, r.noots_note, r.noots_evidence_url,
	r.dsc_stage::stage, r.dsc_target_date::date, r.dsc_note, r.dsc_evidence_url`

// deletion is an entry a full replacement removes.
type deletion struct {
	id      int64
	kind    Kind
	changes string
}

// importPlan is everything an import writes.
type importPlan struct {
	actor            string
	now              time.Time
	created, updated planRows
	deleted          []deletion
}

func (p *importPlan) add(it ImportItem, action ImportAction, before, after *Content) error {
	changes, err := changesJSON(before, after)
	if err != nil {
		return err
	}
	if action == ImportCreated {
		return p.created.add(it, changes)
	}
	return p.updated.add(it, changes)
}

func (p *importPlan) remove(id int64, kind Kind, ressort, key string, before *Content) error {
	changes, err := changesJSON(before, nil)
	if err != nil {
		return err
	}
	p.deleted = append(p.deleted, deletion{id: id, kind: kind, changes: changes})
	return nil
}

func changesJSON(before, after *Content) (string, error) {
	changes, err := contentChanges(before, after)
	if err != nil {
		return "", err
	}
	data, err := json.Marshal(changes)
	if err != nil {
		return "", fmt.Errorf("encode event changes: %w", err)
	}
	return string(data), nil
}

// apply writes a plan: deletions first (Onlinedienste, then the registers no one names any
// more), then new and changed entries with their versions and events, then nachweise.
func (s transferStore) apply(ctx context.Context, p importPlan) error {
	pool := s.db.Statement.ConnPool
	exec := func(what, stmt string, args ...any) error {
		if _, err := pool.ExecContext(ctx, stmt, args...); err != nil {
			return fmt.Errorf("store: import: %s: %w", what, err)
		}
		return nil
	}
	for _, kind := range []Kind{KindOnlinedienst, KindRegister} {
		var ids []int64
		var changes []string
		for _, d := range p.deleted {
			if d.kind == kind {
				ids = append(ids, d.id)
				changes = append(changes, d.changes)
			}
		}
		if len(ids) > 0 {
			err := exec("delete "+string(kind)+"s", `WITH d AS (SELECT * FROM unnest($1::bigint[], $2::text[]) AS d(id, changes)),
				del AS (DELETE FROM entries e USING d WHERE e.id = d.id RETURNING e.id, e.kind, e.ressort, e.key),
				closed AS (UPDATE entry_versions v SET valid_to = $3 FROM del WHERE v.id = del.id AND v.valid_to IS NULL)
				INSERT INTO events (at, actor, action, entity_type, ressort, key, changes)
				SELECT $3, $4, 'deleted', del.kind, del.ressort, del.key, d.changes::jsonb
				FROM del JOIN d ON d.id = del.id ORDER BY del.ressort, del.key`, ids, changes, p.now, p.actor)
			if err != nil {
				return err
			}
		}
		if kind == KindOnlinedienst && p.updated.n > 0 {
			// The registers the updated Onlinedienste stop naming must be free before they go.
			err := exec("clear nachweise", `DELETE FROM nachweise n USING entries e,
					unnest($1::text[], $2::text[], $3::text[]) AS a(kind, ressort, key)
				WHERE a.kind = 'onlinedienst' AND e.kind = a.kind AND e.ressort = a.ressort AND e.key = a.key
					AND n.onlinedienst_id = e.id`, p.updated.kind, p.updated.ressort, p.updated.key)
			if err != nil {
				return err
			}
		}
	}
	now, actor := len(p.created.args())+1, len(p.created.args())+2
	if p.created.n > 0 {
		err := exec("insert", fmt.Sprintf(`WITH r AS (%s),
			w AS (INSERT INTO entries (kind, ressort, key, %s, created_at, updated_at, updated_by)
				SELECT r.kind, r.ressort, r.key, %s, $%d, $%d, $%d FROM r ORDER BY r.ord
				RETURNING *),
			version AS (INSERT INTO entry_versions SELECT w.*, $%d, NULL FROM w)
			INSERT INTO events (at, actor, action, entity_type, ressort, key, changes)
			SELECT $%d, $%d, 'created', w.kind, w.ressort, w.key, r.changes::jsonb
			FROM w JOIN r ON r.kind = w.kind AND r.ressort = w.ressort AND r.key = w.key ORDER BY r.ord`,
			planSource, contentColumns, planValues, now, now, actor, now, now, actor),
			append(p.created.args(), p.now, p.actor)...)
		if err != nil {
			return err
		}
	}
	if p.updated.n > 0 {
		cols := strings.Split(contentColumns, ",")
		vals := strings.Split(planValues, ",")
		set := make([]string, len(cols))
		for i := range cols {
			set[i] = strings.TrimSpace(cols[i]) + " = " + strings.TrimSpace(vals[i])
		}
		err := exec("update", fmt.Sprintf(`WITH r AS (%s),
			w AS (UPDATE entries e SET %s, version = e.version + 1, updated_at = $%d, updated_by = $%d
				FROM r WHERE e.kind = r.kind AND e.ressort = r.ressort AND e.key = r.key
				RETURNING e.*),
			closed AS (UPDATE entry_versions v SET valid_to = $%d FROM w WHERE v.id = w.id AND v.valid_to IS NULL),
			version AS (INSERT INTO entry_versions SELECT w.*, $%d, NULL FROM w)
			INSERT INTO events (at, actor, action, entity_type, ressort, key, changes)
			SELECT $%d, $%d, 'updated', w.kind, w.ressort, w.key, r.changes::jsonb
			FROM w JOIN r ON r.kind = w.kind AND r.ressort = w.ressort AND r.key = w.key ORDER BY r.ord`,
			planSource, strings.Join(set, ", "), now, actor, now, now, now, actor),
			append(p.updated.args(), p.now, p.actor)...)
		if err != nil {
			return err
		}
	}
	var kinds, codes, keys []string
	for _, rows := range []*planRows{&p.created, &p.updated} {
		for i := range rows.n {
			if rows.kind[i] == string(KindOnlinedienst) && rows.nachweise[i] != "{}" {
				kinds, codes, keys = append(kinds, rows.kind[i]), append(codes, rows.ressort[i]), append(keys, rows.key[i])
			}
		}
	}
	if len(codes) > 0 {
		err := exec("set nachweise", `INSERT INTO nachweise (onlinedienst_id, register_id)
			SELECT o.id, reg.id
			FROM unnest($1::text[], $2::text[], $3::text[]) AS a(kind, ressort, key)
			JOIN entries o ON o.kind = a.kind AND o.ressort = a.ressort AND o.key = a.key
			CROSS JOIN LATERAL unnest(o.nachweise_from) AS ref(s)
			JOIN entries reg ON reg.kind = 'register' AND reg.ressort = split_part(ref.s, '/', 1)
				AND reg.key = split_part(ref.s, '/', 2)`, kinds, codes, keys)
		if err != nil {
			return err
		}
	}
	return nil
}
