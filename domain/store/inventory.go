package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/bremen/regmo/domain"
	"gorm.io/gorm"
)

// Inventory keeps the registers and Onlinedienste of all Ressorts.
type Inventory struct {
	db  *gorm.DB
	now func() time.Time
	// reads is where the reads as of an instant and the history go (see For).
	reads lagging
}

// NewInventory returns the inventory service on db.
func NewInventory(db *gorm.DB) *Inventory { return &Inventory{db: db, now: time.Now} }

// WithClock returns a copy of the service that takes the time from now; tests use it to
// decide what "today" is.
func (inv *Inventory) WithClock(now func() time.Time) *Inventory {
	c := *inv
	c.now = now
	return &c
}

// ForbiddenRessortsError refuses a write (an import, or a change of one entry) that names
// Ressorts the caller may not write.
type ForbiddenRessortsError struct{ Ressorts []string }

func (e *ForbiddenRessortsError) Error() string {
	return "the request names Ressorts you may not write: " + strings.Join(e.Ressorts, ", ")
}

// Get returns one entry the scope may read.
func (inv *Inventory) Get(ctx context.Context, scope domain.ReadScope, kind domain.Kind, ressort, key string) (domain.Entry, error) {
	if !scope.Includes(ressort) {
		return domain.Entry{}, domain.EntryNotFound(kind, ressort, key)
	}
	read := readOf(kind)
	rows, err := queryFixedIn(ctx, inv.db, scope, 1, read.get, string(kind), ressort, key)
	if err != nil {
		return domain.Entry{}, fmt.Errorf("store: load %s %s/%s: %w", kind, ressort, key, err)
	}
	if len(rows) == 0 {
		return domain.Entry{}, domain.EntryNotFound(kind, ressort, key)
	}
	return rows[0].entry(), nil
}

// Today is the current date in Europe/Berlin, by the service's clock.
func (inv *Inventory) Today() string { return domain.Today(inv.now()) }

// Put creates an entry (created is true) or replaces its content. A Put that changes nothing
// keeps the version.
func (inv *Inventory) Put(ctx context.Context, actor string, scope domain.WriteScope, kind domain.Kind, ressort, key string, c domain.Content, pre domain.Precondition) (e domain.Entry, created bool, err error) {
	if !scope.Includes(ressort) {
		return domain.Entry{}, false, &ForbiddenRessortsError{Ressorts: []string{ressort}}
	}
	c.Normalize()
	if verr := c.Check(kind); verr.Err() != nil {
		return domain.Entry{}, false, verr
	}
	// Two first PUTs of one key race to insert; the loser retries and finds the entry.
	for attempt := 0; ; attempt++ {
		err = writeTx(ctx, inv.db, scope, func(tx *gorm.DB) error {
			var txErr error
			e, created, txErr = inv.put(ctx, tx, actor, kind, ressort, key, c, pre)
			return txErr
		})
		if attempt == 0 && isUniqueViolation(err) {
			continue
		}
		return e, created, err
	}
}

func (inv *Inventory) put(ctx context.Context, tx *gorm.DB, actor string, kind domain.Kind, ressort, key string, c domain.Content, pre domain.Precondition) (domain.Entry, bool, error) {
	st := entryStore{tx}
	cur, err := st.lock(ctx, kind, ressort, key)
	if err != nil {
		return domain.Entry{}, false, err
	}
	if cur == nil {
		ok, err := ressortExists(ctx, tx, ressort)
		if err != nil {
			return domain.Entry{}, false, err
		}
		if !ok {
			return domain.Entry{}, false, domain.RessortNotFound(ressort)
		}
	}
	var current *domain.Entry
	if cur != nil {
		e := cur.entry()
		current = &e
	}
	if !pre.Holds(current) {
		return domain.Entry{}, false, domain.ErrPrecondition
	}
	if current != nil && contentEqual(current.Content, c) {
		return *current, false, nil
	}
	registerIDs, err := inv.resolve(ctx, st, c)
	if err != nil {
		return domain.Entry{}, false, err
	}
	now := inv.now()
	var row entryRow
	if cur == nil {
		row, err = st.insert(ctx, kind, ressort, key, c, actor, now,
			&change{actor: actor, action: domain.ActionCreated, after: &c, now: now})
	} else {
		row, err = st.update(ctx, kind, ressort, key, cur.ID, c, actor, now,
			&change{actor: actor, action: domain.ActionUpdated, before: &current.Content, after: &c, now: now})
	}
	if err != nil {
		return domain.Entry{}, false, err
	}
	if kind == domain.KindOnlinedienst {
		if err := st.setNachweise(ctx, row.ID, registerIDs); err != nil {
			return domain.Entry{}, false, err
		}
	}
	return row.entry(), cur == nil, nil
}

// resolve checks what only the database can tell about valid content: that every register
// in nachweise_from exists. It returns their ids in order.
func (inv *Inventory) resolve(ctx context.Context, st entryStore, c domain.Content) ([]int64, error) {
	refs := c.Refs()
	ids, err := st.registerIDs(ctx, refs)
	if err != nil {
		return nil, err
	}
	verr := &domain.ValidationError{}
	out := make([]int64, 0, len(refs))
	for i, r := range refs {
		id, ok := ids[r]
		if !ok {
			verr.Add(fmt.Sprintf("nachweise_from[%d]", i), "register %s does not exist", r)
			continue
		}
		out = append(out, id)
	}
	if err := verr.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// lockExisting loads an entry for a change that needs it to exist: a missing entry is 404,
// or 412 when the caller stated a precondition (RFC 9110 §13.1.1).
func (s entryStore) lockExisting(ctx context.Context, kind domain.Kind, ressort, key string, pre domain.Precondition) (*entryRow, domain.Entry, error) {
	cur, err := s.lock(ctx, kind, ressort, key)
	if err != nil {
		return nil, domain.Entry{}, err
	}
	if cur == nil {
		if pre.Given() {
			return nil, domain.Entry{}, domain.ErrPrecondition
		}
		return nil, domain.Entry{}, domain.EntryNotFound(kind, ressort, key)
	}
	current := cur.entry()
	if !pre.Holds(&current) {
		return nil, domain.Entry{}, domain.ErrPrecondition
	}
	return cur, current, nil
}

// Patch applies a JSON Merge Patch (RFC 7396) to an entry's content.
func (inv *Inventory) Patch(ctx context.Context, actor string, scope domain.WriteScope, kind domain.Kind, ressort, key string, patch map[string]any, pre domain.Precondition) (domain.Entry, error) {
	if !scope.Includes(ressort) {
		return domain.Entry{}, &ForbiddenRessortsError{Ressorts: []string{ressort}}
	}
	var out domain.Entry
	err := writeTx(ctx, inv.db, scope, func(tx *gorm.DB) error {
		st := entryStore{tx}
		cur, current, err := st.lockExisting(ctx, kind, ressort, key, pre)
		if err != nil {
			return err
		}
		c, err := current.Content.Patched(patch)
		if err != nil {
			return err
		}
		c.Normalize()
		if verr := c.Check(kind); verr.Err() != nil {
			return verr
		}
		if contentEqual(c, current.Content) {
			out = current
			return nil
		}
		registerIDs, err := inv.resolve(ctx, st, c)
		if err != nil {
			return err
		}
		now := inv.now()
		row, err := st.update(ctx, kind, ressort, key, cur.ID, c, actor, now,
			&change{actor: actor, action: domain.ActionUpdated, before: &current.Content, after: &c, now: now})
		if err != nil {
			return err
		}
		if kind == domain.KindOnlinedienst {
			if err := st.setNachweise(ctx, row.ID, registerIDs); err != nil {
				return err
			}
		}
		out = row.entry()
		return nil
	})
	return out, err
}

// Delete removes an entry. A register that Onlinedienste still name is kept and the error
// names them.
func (inv *Inventory) Delete(ctx context.Context, actor string, scope domain.WriteScope, kind domain.Kind, ressort, key string, pre domain.Precondition) error {
	if !scope.Includes(ressort) {
		return &ForbiddenRessortsError{Ressorts: []string{ressort}}
	}
	return writeTx(ctx, inv.db, scope, func(tx *gorm.DB) error {
		st := entryStore{tx}
		cur, current, err := st.lockExisting(ctx, kind, ressort, key, pre)
		if err != nil {
			return err
		}
		if kind == domain.KindRegister {
			refs, err := st.referencedBy(ctx, cur.ID)
			if err != nil {
				return err
			}
			if refs != nil {
				refs.Register = domain.Ref{Ressort: ressort, Key: key}
				return refs
			}
		}
		// An Onlinedienst that started naming the register meanwhile makes the DELETE fail on
		// the foreign key; the transaction is aborted then, so nothing more can be asked.
		if err := st.delete(ctx, cur.ID); isForeignKeyViolation(err) {
			return &domain.ReferencedError{Register: domain.Ref{Ressort: ressort, Key: key}}
		} else if err != nil {
			return err
		}
		return st.recordDeletion(ctx, actor, kind, ressort, key, cur.ID, &current.Content, inv.now())
	})
}

// List returns one page of entries the scope may read, ordered by Ressort and key.
func (inv *Inventory) List(ctx context.Context, scope domain.ReadScope, f domain.Filter) (domain.Page, error) {
	if f.Limit == 0 {
		f.Limit = domain.DefaultLimit
	}
	if f.Limit < 1 || f.Limit > domain.MaxLimit {
		return domain.Page{}, ErrLimit
	}
	var after *cursor
	if f.Cursor != "" {
		c, err := decodeCursor(f.Cursor, fingerprint(f))
		if err != nil {
			return domain.Page{}, err
		}
		after = &c
	}
	requested := f.Ressorts
	if f.Ressort != "" {
		requested = []string{f.Ressort}
		ok, err := ressortExists(ctx, inv.db, f.Ressort)
		if err != nil {
			return domain.Page{}, err
		}
		if !ok {
			return domain.Page{}, domain.RessortNotFound(f.Ressort)
		}
	}
	codes, all := restrict(scope, requested)
	if !all && len(codes) == 0 {
		return domain.Page{}, nil
	}
	today := inv.Today()
	if f.AsOf != nil {
		today = domain.Today(*f.AsOf)
	}
	var rows []entryRow
	var err error
	if f.AsOf == nil {
		rows, err = entryStore{inv.db}.list(ctx, scope, f, codes, all, after, today)
	} else {
		err = inv.reads.run(ctx, inv.db, nil, func(db *gorm.DB) (err error) {
			rows, err = entryStore{db}.list(ctx, scope, f, codes, all, after, today)
			return err
		})
	}
	if err != nil {
		return domain.Page{}, err
	}
	var page domain.Page
	if len(rows) > f.Limit {
		rows = rows[:f.Limit]
		last := rows[len(rows)-1]
		page.Next = encodeCursor(cursor{Ressort: last.Ressort, Key: last.Key, Filter: fingerprint(f)})
	}
	page.Entries = make([]domain.Entry, len(rows))
	for i := range rows {
		rows[i].loadInto(&page.Entries[i])
	}
	return page, nil
}
