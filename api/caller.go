package api

import (
	"context"

	"github.com/bremen/regmo/domain"
)

// actor names who makes a change, for updated_by.
func actor(ctx context.Context) string { return "anonymous" }

// scope is what the caller may read.
func scope(ctx context.Context) domain.Scope { return domain.ScopeAll() }
