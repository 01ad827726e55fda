package api

import (
	"context"
	"time"

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
		}
		ctx, cancel := context.WithTimeout(c.Request().Context(), timeout)
		defer cancel()
		c.SetRequest(c.Request().WithContext(ctx))
		return next(c)
	}
}
