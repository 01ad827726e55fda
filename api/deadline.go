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

// deadline bounds the request's context by its operation's timeout and, but for a public
// operation (health, readiness, the contract), refuses it at once while PostgreSQL does not
// answer the watch and ends it when the watch finds it so while under way: against a hung
// server, requests would otherwise wait until their deadline. It also gives the request the
// record that authentication and authorization fill in (see requestState). The request's
// context is replaced once here, for all three: each replacement copies the http.Request.
func (s *Server) deadline(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		timeout := s.requestTimeout
		op := operationID(c)
		if op == "importInventory" || op == "exportInventory" {
			timeout = max(timeout, streamedRequestTimeout)
			// The server's ReadTimeout (30 s) would cut a large upload before its deadline;
			// this request may read its body until then. Not every connection can say so
			// (tests with a recorder), and then the server's timeout stays.
			_ = http.NewResponseController(c.Response()).SetReadDeadline(time.Now().Add(timeout))
		}
		ctx, cancelTimeout := context.WithTimeout(c.Request().Context(), timeout)
		defer cancelTimeout()
		watched := false
		if m, ok := c.Get(routeKey).(*matchedRoute); !ok || !public(m.route.Operation) {
			up := s.watch.Up()
			if up.Err() != nil {
				return access.ErrDatabaseDown
			}
			var cancel context.CancelCauseFunc
			ctx, cancel = context.WithCancelCause(ctx)
			defer cancel(nil)
			defer context.AfterFunc(up, func() { cancel(context.Cause(up)) })()
			watched = true
		}
		ctx = context.WithValue(ctx, stateKey{}, &requestState{})
		c.SetRequest(c.Request().WithContext(ctx))
		err := next(c)
		if watched && err != nil && errors.Is(context.Cause(ctx), access.ErrDatabaseDown) {
			return fmt.Errorf("%w: %w", access.ErrDatabaseDown, err)
		}
		return err
	}
}
