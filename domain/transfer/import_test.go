package transfer

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/store"
)

// countingSource yields n minimal registers, the first foreign ones in Ressort SIS.
type countingSource struct {
	n, next, foreign int
}

func (s *countingSource) Kinds() []domain.Kind { return []domain.Kind{domain.KindRegister} }

func (s *countingSource) Next() (ImportItem, error) {
	if s.next == s.n {
		return ImportItem{}, io.EOF
	}
	ressort := "SF"
	if s.next < s.foreign {
		ressort = "SIS"
	}
	it := ImportItem{Kind: domain.KindRegister, Ressort: ressort, Key: fmt.Sprintf("k%d", s.next), Index: s.next,
		Content: domain.Content{Name: "R"}}
	s.next++
	return it, nil
}

func TestReadImportLimits(t *testing.T) {
	tests := []struct {
		name    string
		src     *countingSource
		scope   domain.WriteScope
		wantErr any
	}{
		{"one item more than allowed", &countingSource{n: MaxImportItems + 1}, domain.WriteAll(), &ImportTooLargeError{}},
		{"exactly the limit", &countingSource{n: MaxImportItems}, domain.WriteAll(), nil},
		{"a foreign item", &countingSource{n: 10, foreign: 1}, domain.WriteRessorts("SF"), &store.ForbiddenRessortsError{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items, verr, err := readImport(tt.src, tt.scope, ImportOptions{})
			switch want := tt.wantErr.(type) {
			case nil:
				if err != nil || verr.Total != 0 || len(items) != tt.src.n {
					t.Errorf("got %d items, %v, %d errors; want %d items and no error", len(items), err, verr.Total, tt.src.n)
				}
			case *ImportTooLargeError:
				if !errors.As(err, &want) {
					t.Errorf("got %v, want ImportTooLargeError", err)
				}
			case *store.ForbiddenRessortsError:
				if !errors.As(err, &want) || len(want.Ressorts) != 1 || want.Ressorts[0] != "SIS" {
					t.Errorf("got %v, want ForbiddenRessortsError naming SIS", err)
				}
			}
		})
	}
}
