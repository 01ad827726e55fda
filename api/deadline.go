package api

import (
	"context"
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
		ctx, cancel := context.WithTimeout(c.Request().Context(), timeout)
		defer cancel()
		var up context.Context
		if m, ok := c.Get(routeKey).(*matchedRoute); !ok || !public(m.route.Operation) {
			up = s.watch.Up()
			if up.Err() != nil {
				return access.ErrDatabaseDown
			}
			// The watch ends the request with the same cancel as its deadline: one context
			// per request instead of two, on the path every request takes. What ended it is
			// told apart below, by the watch's own context.
			defer context.AfterFunc(up, cancel)()
		}
		ctx = context.WithValue(ctx, stateKey{}, &requestState{})
		c.SetRequest(c.Request().WithContext(ctx))
		err := next(c)
		if up != nil && err != nil && ctx.Err() != nil && up.Err() != nil {
			return fmt.Errorf("%w: %w", access.ErrDatabaseDown, err)
		}
		return err
	}
}
