package transfer

import (
	"context"

	"github.com/bremen/regmo/domain"
)

// Export hands every entry of the kinds that the scope may read (and, when ressorts is not
// empty, that lies in one of them) to yield, kind by kind in the order given, then by
// Ressort and key. All kinds are read from one snapshot, so that an export taken while
// others write still imports back consistently. Rows are streamed, never collected.
func (s *Service) Export(ctx context.Context, scope domain.ReadScope, ressorts []string, kinds []domain.Kind, yield func(domain.Entry) error) error {
	return s.store.Export(ctx, scope, ressorts, kinds, yield)
}
