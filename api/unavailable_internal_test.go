package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/bremen/regmo/domain"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestUnavailable: the errors a lost database connection surfaces as answer 503, not 500.
// The two of pgx that a primary dying in the middle of a request gives (make loadtest-ha
// saw them as 500s): an unexpected EOF on the wire and a connection closed under a
// transaction's Begin or Commit.
func TestUnavailable(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"unexpected EOF in an update", fmt.Errorf("store: update entry 99: %w", io.ErrUnexpectedEOF), true},
		{"connection closed at commit", pgconn.ErrConnClosed, true},
		{"connection closed, wrapped", fmt.Errorf("store: authenticate: %w", pgconn.ErrConnClosed), true},
		{"deadline", fmt.Errorf("store: list: %w", context.DeadlineExceeded), true},
		{"shutdown", &pgconn.PgError{Code: "57P01"}, true},
		{"unique violation", &pgconn.PgError{Code: "23505"}, false},
		{"a plain error", errors.New("store: something else"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := unavailable(tt.err); got != tt.want {
				t.Errorf("unavailable(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

// TestBusyImportIsRetryable: an import that kept losing to concurrent writers (a unique
// violation after the last attempt) answers 503 with Retry-After, not 500.
func TestBusyImportIsRetryable(t *testing.T) {
	err := fmt.Errorf("store: import: %w after 3 attempts: %w", domain.ErrBusy, &pgconn.PgError{Code: "23505"})
	if p := problemFor(err); p.status != http.StatusServiceUnavailable {
		t.Errorf("status of %v: got %d, want 503", err, p.status)
	}
}
