package store

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/migrations/testdb"
)

// TestWriteTxRunsAgainAfterADeadlock: a write whose transaction PostgreSQL ended to break a
// deadlock runs again (a PUT racing an import that locks the same rows in another order
// answered 500 before); one that keeps meeting them is given up as domain.ErrBusy.
func TestWriteTxRunsAgainAfterADeadlock(t *testing.T) {
	db := testdb.New(t)
	ctx := context.Background()
	tests := []struct {
		name      string
		conflicts int // how many attempts meet a deadlock
		wantCalls int
		wantBusy  bool
	}{
		{"no conflict", 0, 1, false},
		{"one deadlock", 1, 2, false},
		{"deadlocks every time", 99, 3, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			err := writeTx(ctx, db, domain.WriteAll(), func(tx *gorm.DB) error {
				calls++
				if calls <= tt.conflicts {
					return &pgconn.PgError{Code: "40P01", Message: "deadlock detected"}
				}
				return nil
			})
			if calls != tt.wantCalls {
				t.Errorf("attempts: got %d, want %d", calls, tt.wantCalls)
			}
			if got := errors.Is(err, domain.ErrBusy); got != tt.wantBusy || (!tt.wantBusy && err != nil) {
				t.Errorf("error: got %v, want busy %v", err, tt.wantBusy)
			}
		})
	}
}
