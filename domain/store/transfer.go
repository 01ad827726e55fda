package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/bremen/regmo/domain"
	"gorm.io/gorm"
)

// Limits of one import. Beyond them the request is refused before anything is decided.
const (
	MaxImportItems = 100_000
	MaxImportBytes = 64 << 20
	// MaxImportErrors bounds the errors an answer lists and the import keeps in memory;
	// beyond it errors are only counted, so a body of many small faults cannot make the
	// answer or the server's memory grow with it.
	MaxImportErrors = 1000
	// MaxLeikaKeys and MaxNachweiseFrom are the most values a list field may hold (maxItems
	// in openapi.yaml, max= in Content's validate tags). A reader that splits a list counts
	// first and refuses a longer one before it allocates a value per item.
	MaxLeikaKeys     = 100
	MaxNachweiseFrom = 200
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

// ItemError is one broken rule of one import item.
type ItemError struct {
	Index   int
	Line    int
	Sheet   string // the workbook sheet Line counts in, "" for CSV and JSON
	Cell    string // in a workbook, the cell (F7) when the error concerns one
	Kind    domain.Kind
	Ressort string
	Key     string
	Field   string
	Message string
}

// ImportError refuses an import with every broken rule at once; nothing was written.
type ImportError struct {
	// Errors lists at most MaxImportErrors problems, in input order; Total counts all.
	Errors []ItemError
	Total  int
	// kept holds the MaxImportErrors first errors in input order seen so far, as a heap
	// with the last of them on top: errors arrive in several passes over the items, so the
	// first in input order are known only at the end, yet no more than these need be kept.
	kept []keptError
}

type keptError struct {
	ItemError
	seq int // arrival, so that equal positions keep their order as a stable sort would
}

func (e *ImportError) Error() string {
	return fmt.Sprintf("import refused: %d error(s)", e.Total)
}

// Add records an error; call Finish before returning the error.
func (e *ImportError) Add(ie ItemError) {
	k := keptError{ItemError: ie, seq: e.Total}
	e.Total++
	if len(e.kept) < MaxImportErrors {
		e.kept = append(e.kept, k)
		e.up(len(e.kept) - 1)
		return
	}
	if keptLess(k, e.kept[0]) {
		e.kept[0] = k
		e.down(0)
	}
}

func keptLess(a, b keptError) bool {
	if c := cmpOrder(a.ItemError, b.ItemError); c != 0 {
		return c < 0
	}
	return a.seq < b.seq
}

// up and down keep kept a max-heap: the latest error in input order at index 0.
func (e *ImportError) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if !keptLess(e.kept[parent], e.kept[i]) {
			return
		}
		e.kept[parent], e.kept[i] = e.kept[i], e.kept[parent]
		i = parent
	}
}

func (e *ImportError) down(i int) {
	for {
		largest := i
		for _, c := range []int{2*i + 1, 2*i + 2} {
			if c < len(e.kept) && keptLess(e.kept[largest], e.kept[c]) {
				largest = c
			}
		}
		if largest == i {
			return
		}
		e.kept[i], e.kept[largest] = e.kept[largest], e.kept[i]
		i = largest
	}
}

// finish puts the kept errors in input order (CSV lines; JSON registers before
// Onlinedienste, each by index): the first MaxImportErrors of all.
func (e *ImportError) finish() *ImportError {
	slices.SortFunc(e.kept, func(a, b keptError) int {
		if keptLess(a, b) {
			return -1
		}
		return 1
	})
	e.Errors = make([]ItemError, len(e.kept))
	for i, k := range e.kept {
		e.Errors[i] = k.ItemError
	}
	e.kept = nil
	return e
}

// Finish is finish for readers outside the domain.
func (e *ImportError) Finish() *ImportError { return e.finish() }

func cmpOrder(a, b ItemError) int {
	// A workbook numbers the rows of each sheet anew; its errors come sheet by sheet in the
	// order the sheets are read (registers first), after those that name no sheet.
	if c := cmp.Compare(sheetRank(a), sheetRank(b)); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Line, b.Line); c != 0 {
		return c
	}
	if a.Kind != b.Kind {
		if a.Kind == domain.KindRegister {
			return -1
		}
		return 1
	}
	return cmp.Compare(uint(a.Index), uint(b.Index)) // -1 (no item) last
}

func sheetRank(e ItemError) int {
	switch {
	case e.Sheet == "":
		return 0
	case e.Kind == domain.KindRegister:
		return 1
	default:
		return 2
	}
}

func (e *ImportError) addItem(it *ImportItem, field, format string, args ...any) {
	e.Add(ItemError{Index: it.Index, Line: it.Line, Sheet: it.Sheet, Kind: it.Kind, Ressort: it.Ressort, Key: it.Key,
		Field: field, Message: fmt.Sprintf(format, args...)})
}

// BadImportError means the body cannot be read as an import at all (not JSON, broken
// structure); Line or Index say where, when known.
type BadImportError struct {
	Index  int
	Field  string
	Detail string
}

func (e *BadImportError) Error() string { return e.Detail }

// ImportTooLargeError refuses an import beyond MaxImportItems or MaxImportBytes.
type ImportTooLargeError struct{ Detail string }

func (e *ImportTooLargeError) Error() string { return e.Detail }

// ForbiddenRessortsError refuses a write (an import, or a change of one entry) that names
// Ressorts the caller may not write.
type ForbiddenRessortsError struct{ Ressorts []string }

func (e *ForbiddenRessortsError) Error() string {
	return "the request names Ressorts you may not write: " + strings.Join(e.Ressorts, ", ")
}

// itemAddress identifies an entry: an import may name each at most once.
type itemAddress struct {
	kind         domain.Kind
	ressort, key string
}

// Import applies many entries at once: upsert by (kind, Ressort, key), atomically. scope is
// what the caller may write. An invalid item refuses the whole import with an *ImportError;
// an item outside scope with a *ForbiddenRessortsError.
func (inv *Inventory) Import(ctx context.Context, actor string, scope domain.WriteScope, src ImportSource, opt ImportOptions) (ImportResult, error) {
	if opt.Replace != "" && !scope.Includes(opt.Replace) {
		return ImportResult{}, &ForbiddenRessortsError{Ressorts: []string{opt.Replace}}
	}
	items, verr, err := readImport(src, scope, opt)
	if err != nil {
		return ImportResult{}, err
	}
	var result ImportResult
	write := func(st transferStore) error {
		var err error
		result, err = inv.applyImport(ctx, st, actor, items, src.Kinds(), opt, verr)
		return err
	}
	if opt.DryRun {
		// A dry run reads what the import would write, and writes nothing.
		err = scopedTx(ctx, inv.db, scope.Reads(), scope, &sql.TxOptions{ReadOnly: true}, func(tx *gorm.DB) error {
			return write(transferStore{db: tx})
		})
	} else {
		err = inv.inTx(ctx, scope, write)
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
		return nil, nil, &ForbiddenRessortsError{Ressorts: foreign}
	}
	items := make([]ImportItem, 0, n)
	for _, c := range chunks {
		items = append(items, c...)
	}

	verr := &ImportError{}
	seen := make(map[itemAddress]int, len(items))
	// The rules run a chunk at a time, so that the errors of only one chunk are held before
	// verr keeps the first of them and counts the rest.
	perItem := make([][]ItemError, chunkSize)
	for i := range items {
		if i%chunkSize == 0 {
			chunk := items[i:min(i+chunkSize, len(items))]
			parallel(len(chunk), func(j int) { perItem[j] = checkItem(&chunk[j], opt) })
		}
		it := &items[i]
		for _, ie := range perItem[i%chunkSize] {
			verr.Add(ie)
		}
		perItem[i%chunkSize] = nil
		addr := itemAddress{it.Kind, it.Ressort, it.Key}
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

// parallel calls fn for 0..n-1 on all cores, in contiguous chunks.
func parallel(n int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), 8)
	chunk := max((n+workers-1)/workers, 1)
	var wg sync.WaitGroup
	for start := 0; start < n; start += chunk {
		end := min(start+chunk, n)
		wg.Go(func() {
			for i := start; i < end; i++ {
				fn(i)
			}
		})
	}
	wg.Wait()
}

// applyImport decides every item's action against the database and, unless dry, writes.
// verr holds the errors found while reading; the database adds its own before refusing.
func (inv *Inventory) applyImport(ctx context.Context, st transferStore, actor string, items []ImportItem, kinds []domain.Kind, opt ImportOptions, verr *ImportError) (ImportResult, error) {
	lock := !opt.DryRun
	codes, err := st.ressortCodes(ctx)
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
	existing, err := st.loadAddressed(ctx, items, lock)
	if err != nil {
		return ImportResult{}, err
	}
	var doomed []entryRow
	if opt.Replace != "" {
		named := make(map[itemAddress]bool, len(items))
		for _, it := range items {
			named[itemAddress{it.Kind, it.Ressort, it.Key}] = true
		}
		all, err := st.loadRessort(ctx, opt.Replace, kinds, lock)
		if err != nil {
			return ImportResult{}, err
		}
		for _, r := range all {
			if !named[itemAddress{domain.Kind(r.Kind), r.Ressort, r.Key}] {
				doomed = append(doomed, r)
			}
		}
	}
	if err := inv.checkReferences(ctx, st, items, doomed, verr); err != nil {
		return ImportResult{}, err
	}
	if verr.Total > 0 {
		return ImportResult{}, verr.finish()
	}

	result := ImportResult{DryRun: opt.DryRun}
	plan := importPlan{actor: actor, now: inv.now()}
	for _, it := range items {
		cur, ok := existing[itemAddress{it.Kind, it.Ressort, it.Key}]
		action := ImportCreated
		if ok {
			action = ImportUpdated
			if contentEqual(cur.entry().Content, it.Content) {
				action = ImportUnchanged
			}
		}
		result.Add(ImportedItem{Kind: it.Kind, Ressort: it.Ressort, Key: it.Key, Action: action, Index: it.Index, Line: it.Line, Sheet: it.Sheet})
		if action == ImportUpdated {
			plan.rows = append(plan.rows, planRow{item: it, action: action, current: &cur})
		} else if action == ImportCreated {
			plan.rows = append(plan.rows, planRow{item: it, action: action})
		}
	}
	for _, r := range doomed {
		result.Add(ImportedItem{Kind: domain.Kind(r.Kind), Ressort: r.Ressort, Key: r.Key, Action: ImportDeleted, Index: -1})
		if !opt.DryRun {
			c := r.entry().Content
			if err := plan.remove(r.ID, domain.Kind(r.Kind), r.Ressort, r.Key, &c); err != nil {
				return ImportResult{}, err
			}
		}
	}
	if opt.DryRun {
		return result, nil
	}
	if err := plan.prepare(); err != nil {
		return ImportResult{}, err
	}
	if err := st.apply(ctx, &plan); err != nil {
		return ImportResult{}, err
	}
	return result, nil
}

// checkReferences makes sure that after the import every nachweise_from names a register
// that exists: in the database, not deleted by the import, or created by it.
func (inv *Inventory) checkReferences(ctx context.Context, st transferStore, items []ImportItem, doomed []entryRow, verr *ImportError) error {
	gone := map[domain.Ref]bool{}
	goneIDs := []int64{}
	goneByID := map[int64]domain.Ref{}
	deletedOnlinedienste := map[domain.Ref]bool{}
	for _, r := range doomed {
		if domain.Kind(r.Kind) == domain.KindRegister {
			gone[domain.Ref{Ressort: r.Ressort, Key: r.Key}] = true
			goneIDs = append(goneIDs, r.ID)
			goneByID[r.ID] = domain.Ref{Ressort: r.Ressort, Key: r.Key}
		} else {
			deletedOnlinedienste[domain.Ref{Ressort: r.Ressort, Key: r.Key}] = true
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
	known, err := entryStore{st.db}.registerIDs(ctx, refs)
	if err != nil {
		return err
	}
	imported := map[itemAddress]bool{}
	for i := range items {
		it := &items[i]
		if it.Kind != domain.KindOnlinedienst {
			continue
		}
		imported[itemAddress{it.Kind, it.Ressort, it.Key}] = true
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
	users, err := entryStore{st.db}.references(ctx, goneIDs)
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
			if !deletedOnlinedienste[by] && !imported[itemAddress{domain.KindOnlinedienst, by.Ressort, by.Key}] {
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
