package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"

	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/parallel"
	"github.com/bremen/regmo/domain/store"
)

// Limits of one import. Beyond them the request is refused before anything is decided.
const (
	MaxImportItems = 100_000
	MaxImportBytes = 64 << 20
	// MaxImportErrors bounds the errors an answer lists and the import keeps in memory;
	// beyond it errors are only counted, so a body of many small faults cannot make the
	// answer or the server's memory grow with it.
	MaxImportErrors = 1000
)

// ImportItem is one entry of an import, as a script wrote it.
type ImportItem struct {
	Kind    domain.Kind
	Ressort string
	Key     string
	Content domain.Content
	// Index is the item's 0-based position among the items of its kind; Line its first line
	// in a CSV file, or its row number as Excel shows it in a workbook (0 for JSON).
	Index int
	Line  int
	// Sheet names the workbook sheet the item comes from ("" for CSV and JSON).
	Sheet string
	// Problems are what the reader found wrong with the item (a wrong type, an unknown
	// field, a cell that is not UTF-8); the import refuses the item with them.
	Problems []domain.FieldError
}

// address is where the item goes: an import may name each entry at most once.
func (it *ImportItem) address() store.Address {
	return store.Address{Kind: it.Kind, Ressort: it.Ressort, Key: it.Key}
}

// ImportSource yields the items of an import one by one, so that a large file is never held
// as text. Next returns io.EOF after the last item. An error other than a *BadImportError
// comes from the underlying reader.
type ImportSource interface {
	Next() (ImportItem, error)
	// Kinds lists the kinds the source can hold: what a full replacement replaces.
	Kinds() []domain.Kind
}

// ImportOptions say how to apply an import.
type ImportOptions struct {
	// DryRun validates and reports, writing nothing.
	DryRun bool
	// Replace, when set, names the Ressort the import fully replaces: its entries of the
	// source's kinds that the import does not name are deleted.
	Replace string
}

// ImportAction says what an import did (or would do) with one entry.
type ImportAction string

// The actions of an import.
const (
	ImportCreated   ImportAction = "created"
	ImportUpdated   ImportAction = "updated"
	ImportUnchanged ImportAction = "unchanged"
	ImportDeleted   ImportAction = "deleted"
)

// ImportedItem is the outcome for one entry. Deletions have Index -1.
type ImportedItem struct {
	Kind    domain.Kind
	Ressort string
	Key     string
	Action  ImportAction
	Index   int
	Line    int
	Sheet   string
}

// ImportResult summarises an import.
type ImportResult struct {
	DryRun                               bool
	Created, Updated, Unchanged, Deleted int
	Items                                []ImportedItem
}

// Add counts an outcome and lists it.
func (r *ImportResult) Add(it ImportedItem) {
	switch it.Action {
	case ImportCreated:
		r.Created++
	case ImportUpdated:
		r.Updated++
	case ImportUnchanged:
		r.Unchanged++
	case ImportDeleted:
		r.Deleted++
	}
	r.Items = append(r.Items, it)
}

// Import applies many entries at once: upsert by (kind, Ressort, key), atomically, in one
// transaction. scope is what the caller may write. An invalid item refuses the whole import
// with an *ImportError; an item outside scope with a *store.ForbiddenRessortsError.
func (s *Service) Import(ctx context.Context, actor string, scope domain.WriteScope, src ImportSource, opt ImportOptions) (ImportResult, error) {
	if opt.Replace != "" && !scope.Includes(opt.Replace) {
		return ImportResult{}, &store.ForbiddenRessortsError{Ressorts: []string{opt.Replace}}
	}
	items, verr, err := readImport(src, scope, opt)
	if err != nil {
		return ImportResult{}, err
	}
	var result ImportResult
	run := func(tx *store.ImportTx) error {
		var err error
		result, err = s.apply(ctx, tx, actor, items, src.Kinds(), opt, verr)
		return err
	}
	if opt.DryRun {
		// A dry run reads what the import would write, and writes nothing.
		err = s.store.InReadTx(ctx, scope, run)
	} else {
		err = s.store.InTx(ctx, scope, run)
	}
	return result, err
}

// readImport reads every item and checks what needs no database: syntax, field rules,
// duplicates and scope. Foreign Ressorts refuse the import before any other error counts.
// Reading is sequential; the field rules, the costliest part, run on all cores.
func readImport(src ImportSource, scope domain.WriteScope, opt ImportOptions) ([]ImportItem, *ImportError, error) {
	const chunkSize = 4096
	var chunks [][]ImportItem
	n := 0
	var foreign []string
	for {
		it, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, err
		}
		if n == MaxImportItems {
			return nil, nil, &ImportTooLargeError{Detail: fmt.Sprintf("The import holds more than %d items; split it.", MaxImportItems)}
		}
		if domain.ValidRessortCode(it.Ressort) && !scope.Includes(it.Ressort) && !slices.Contains(foreign, it.Ressort) {
			foreign = append(foreign, it.Ressort)
		}
		if len(chunks) == 0 || len(chunks[len(chunks)-1]) == chunkSize {
			chunks = append(chunks, make([]ImportItem, 0, chunkSize))
		}
		chunks[len(chunks)-1] = append(chunks[len(chunks)-1], it)
		n++
	}
	if len(foreign) > 0 {
		sort.Strings(foreign)
		return nil, nil, &store.ForbiddenRessortsError{Ressorts: foreign}
	}
	items := make([]ImportItem, 0, n)
	for _, c := range chunks {
		items = append(items, c...)
	}

	verr := &ImportError{}
	seen := make(map[store.Address]int, len(items))
	// The rules run a chunk at a time, so that the errors of only one chunk are held before
	// verr keeps the first of them and counts the rest.
	perItem := make([][]ItemError, chunkSize)
	for i := range items {
		if i%chunkSize == 0 {
			chunk := items[i:min(i+chunkSize, len(items))]
			parallel.For(len(chunk), func(j int) { perItem[j] = checkItem(&chunk[j], opt) })
		}
		it := &items[i]
		for _, ie := range perItem[i%chunkSize] {
			verr.Add(ie)
		}
		perItem[i%chunkSize] = nil
		addr := it.address()
		if first, dup := seen[addr]; dup {
			verr.addItem(it, "key", "names the same %s as item %d", domain.KindName(it.Kind), items[first].Index)
		} else {
			seen[addr] = i
		}
		it.Problems = nil
	}
	return items, verr, nil
}

// checkItem applies the rules that need nothing but the item, normalising its content.
func checkItem(it *ImportItem, opt ImportOptions) []ItemError {
	var errs []ItemError
	reported := map[string]bool{}
	add := func(field, format string, args ...any) {
		if reported[field] {
			return // the reader or the contract has said what is wrong with it
		}
		reported[field] = true
		errs = append(errs, ItemError{Index: it.Index, Line: it.Line, Sheet: it.Sheet, Kind: it.Kind, Ressort: it.Ressort, Key: it.Key,
			Field: field, Message: fmt.Sprintf(format, args...)})
	}
	for _, fe := range it.Problems {
		if fe.Field == "" {
			// An item the reader could not make out at all is reported with its own
			// problems only.
			errs = append(errs, ItemError{Index: it.Index, Line: it.Line, Sheet: it.Sheet, Kind: it.Kind, Ressort: it.Ressort, Key: it.Key,
				Message: fe.Message})
			return errs
		}
		add(fe.Field, "%s", fe.Message)
	}
	// The rules judge every field the reader took, so that each broken field is reported
	// at once.
	switch {
	case !domain.ValidRessortCode(it.Ressort):
		add("ressort", "must be a Ressort code of 2 to 16 characters A-Z, 0-9 and -")
	case opt.Replace != "" && it.Ressort != opt.Replace:
		add("ressort", "must be %s: the import replaces the inventory of %s", opt.Replace, opt.Replace)
	}
	if !domain.ValidKey(it.Key) {
		add("key", "must be 1 to 64 characters a-z, 0-9 and -, starting with a letter or digit")
	}
	it.Content.Normalize()
	for _, fe := range it.Content.Check(it.Kind).Fields {
		add(fe.Field, "%s", fe.Message)
	}
	return errs
}

// apply decides every item's action against the database and, unless dry, writes.
// verr holds the errors found while reading; the database adds its own before refusing.
func (s *Service) apply(ctx context.Context, tx *store.ImportTx, actor string, items []ImportItem, kinds []domain.Kind, opt ImportOptions, verr *ImportError) (ImportResult, error) {
	lock := !opt.DryRun
	codes, err := tx.RessortCodes(ctx)
	if err != nil {
		return ImportResult{}, err
	}
	for i := range items {
		it := &items[i]
		if domain.ValidRessortCode(it.Ressort) && !slices.Contains(codes, it.Ressort) {
			verr.addItem(it, "ressort", "Ressort %s does not exist", it.Ressort)
		}
	}
	if opt.Replace != "" && !slices.Contains(codes, opt.Replace) {
		return ImportResult{}, domain.RessortNotFound(opt.Replace)
	}
	addrs := make([]store.Address, len(items))
	for i := range items {
		addrs[i] = items[i].address()
	}
	existing, err := tx.LoadAddressed(ctx, addrs, lock)
	if err != nil {
		return ImportResult{}, err
	}
	var doomed []store.StoredEntry
	if opt.Replace != "" {
		named := make(map[store.Address]bool, len(addrs))
		for _, a := range addrs {
			named[a] = true
		}
		all, err := tx.LoadRessort(ctx, opt.Replace, kinds, lock)
		if err != nil {
			return ImportResult{}, err
		}
		for _, e := range all {
			if !named[store.Address{Kind: e.Kind, Ressort: e.Ressort, Key: e.Key}] {
				doomed = append(doomed, e)
			}
		}
	}
	if err := checkReferences(ctx, tx, items, doomed, verr); err != nil {
		return ImportResult{}, err
	}
	if verr.Total > 0 {
		return ImportResult{}, verr.Finish()
	}

	result := ImportResult{DryRun: opt.DryRun}
	plan := store.ImportPlan{Actor: actor, Now: s.now()}
	for i := range items {
		it := &items[i]
		cur, ok := existing[addrs[i]]
		action := ImportCreated
		if ok {
			action = ImportUpdated
			if store.SameContent(cur.Content, it.Content) {
				action = ImportUnchanged
			}
		}
		result.Add(ImportedItem{Kind: it.Kind, Ressort: it.Ressort, Key: it.Key, Action: action, Index: it.Index, Line: it.Line, Sheet: it.Sheet})
		switch action {
		case ImportUpdated:
			plan.Writes = append(plan.Writes, store.ImportWrite{Address: addrs[i], Content: it.Content, Current: &cur})
		case ImportCreated:
			plan.Writes = append(plan.Writes, store.ImportWrite{Address: addrs[i], Content: it.Content})
		}
	}
	for _, e := range doomed {
		result.Add(ImportedItem{Kind: e.Kind, Ressort: e.Ressort, Key: e.Key, Action: ImportDeleted, Index: -1})
	}
	if opt.DryRun {
		return result, nil
	}
	plan.Deletes = doomed
	if err := tx.Apply(ctx, &plan); err != nil {
		return ImportResult{}, err
	}
	return result, nil
}

// checkReferences makes sure that after the import every nachweise_from names a register
// that exists: in the database, not deleted by the import, or created by it.
func checkReferences(ctx context.Context, tx *store.ImportTx, items []ImportItem, doomed []store.StoredEntry, verr *ImportError) error {
	gone := map[domain.Ref]bool{}
	goneIDs := []int64{}
	goneByID := map[int64]domain.Ref{}
	deletedOnlinedienste := map[domain.Ref]bool{}
	for _, e := range doomed {
		if e.Kind == domain.KindRegister {
			gone[domain.Ref{Ressort: e.Ressort, Key: e.Key}] = true
			goneIDs = append(goneIDs, e.ID)
			goneByID[e.ID] = domain.Ref{Ressort: e.Ressort, Key: e.Key}
		} else {
			deletedOnlinedienste[domain.Ref{Ressort: e.Ressort, Key: e.Key}] = true
		}
	}
	provided := map[domain.Ref]bool{}
	var refs []domain.Ref
	for _, it := range items {
		if it.Kind == domain.KindRegister {
			provided[domain.Ref{Ressort: it.Ressort, Key: it.Key}] = true
		}
	}
	for _, it := range items {
		for _, r := range it.Content.Refs() {
			if !provided[r] {
				refs = append(refs, r)
			}
		}
	}
	known, err := tx.RegisterIDs(ctx, refs)
	if err != nil {
		return err
	}
	imported := map[store.Address]bool{}
	for i := range items {
		it := &items[i]
		if it.Kind != domain.KindOnlinedienst {
			continue
		}
		imported[it.address()] = true
		for j, s := range it.Content.NachweiseFrom {
			r, ok := domain.ParseRef(s)
			if !ok {
				continue // reported by the field rules
			}
			_, exists := known[r]
			switch {
			case provided[r]:
			case gone[r]:
				verr.addItem(it, fmt.Sprintf("nachweise_from[%d]", j), "register %s is deleted by this import", r)
			case !exists:
				verr.addItem(it, fmt.Sprintf("nachweise_from[%d]", j), "register %s does not exist", r)
			}
		}
	}
	if len(goneIDs) == 0 {
		return nil
	}
	users, err := tx.References(ctx, goneIDs)
	if err != nil {
		return err
	}
	for _, id := range goneIDs {
		refs := users[id]
		if refs == nil {
			continue
		}
		register := goneByID[id]
		// Only the Onlinedienste the caller may read are named; the others are counted.
		still := &domain.ReferencedError{Register: register, Elsewhere: refs.Elsewhere}
		for _, by := range refs.By {
			if !deletedOnlinedienste[by] && !imported[store.Address{Kind: domain.KindOnlinedienst, Ressort: by.Ressort, Key: by.Key}] {
				still.By = append(still.By, by) // not deleted too, nor given a new nachweise_from
			}
		}
		if len(still.By) == 0 && len(still.Elsewhere) == 0 {
			continue
		}
		verr.Add(ItemError{Index: -1, Kind: domain.KindRegister, Ressort: register.Ressort, Key: register.Key, Field: "key",
			Message: fmt.Sprintf("register %s would be deleted, but %s names it in nachweise_from", register, still.Describe())})
	}
	return nil
}
