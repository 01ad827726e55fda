package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/bremen/regmo/domain/access"
	"github.com/labstack/echo/v4"
)

// Request deadlines. Every query runs under the request's context, so a request that waits
// for a busy pool or a slow database gives up with 503 instead of holding its client until
// the server's write timeout. Imports and exports move up to 100,000 entries and get longer.
const (
	defaultRequestTimeout  = 15 * time.Second
	streamedRequestTimeout = 55 * time.Second // under the server's 60 s write timeout
)

// deadline bounds the request's context by its operation's timeout.
func (s *Server) deadline(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		timeout := s.requestTimeout
		if op := operationID(c); op == "importInventory" || op == "exportInventory" {
			timeout = max(timeout, streamedRequestTimeout)
			// The server's ReadTimeout (30 s) would cut a large upload before its deadline;
			// this request may read its body until then. Not every connection can say so
			// (tests with a recorder), and then the server's timeout stays.
			_ = http.NewResponseController(c.Response()).SetReadDeadline(time.Now().Add(timeout))
		}
		ctx, cancel := context.WithTimeout(c.Request().Context(), timeout)
		defer cancel()
		c.SetRequest(c.Request().WithContext(ctx))
		return next(c)
	}
}

// available refuses a request at once while PostgreSQL does not answer the watch, and
// ends a request under way when the watch finds it so: against a hung server, requests
// would otherwise wait until their deadline. Public operations (health, readiness, the
// contract) pass.
func (s *Server) available(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if m, ok := c.Get(routeKey).(*matchedRoute); ok && public(m.route.Operation) {
			return next(c)
		}
		up := s.watch.Up()
		if up.Err() != nil {
			return access.ErrDatabaseDown
		}
		ctx, cancel := context.WithCancelCause(c.Request().Context())
		defer cancel(nil)
		defer context.AfterFunc(up, func() { cancel(context.Cause(up)) })()
		c.SetRequest(c.Request().WithContext(ctx))
		err := next(c)
		if err != nil && errors.Is(context.Cause(ctx), access.ErrDatabaseDown) {
			return fmt.Errorf("%w: %w", access.ErrDatabaseDown, err)
		}
		return err
	}
}
