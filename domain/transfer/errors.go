package transfer

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/bremen/regmo/domain"
)

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

// Finish puts the kept errors in input order (CSV lines; JSON registers before
// Onlinedienste, each by index): the first MaxImportErrors of all. The readers of import
// files call it too, for the errors they find before the import sees an item.
func (e *ImportError) Finish() *ImportError {
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
