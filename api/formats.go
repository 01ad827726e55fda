package api

import (
	"context"
	"fmt"
	"mime"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/bremen/regmo/api/render"
	"github.com/bremen/regmo/domain"
)

type acceptCSVKey struct{}

// negotiate notes whether the client prefers CSV (Accept: text/csv) for the reports, whose
// handlers see only the request context.
func negotiate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		for _, part := range strings.Split(c.Request().Header.Get(echo.HeaderAccept), ",") {
			if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == "text/csv" {
				ctx := context.WithValue(c.Request().Context(), acceptCSVKey{}, true)
				c.SetRequest(c.Request().WithContext(ctx))
				break
			}
		}
		return next(c)
	}
}

// wantsCSV reports whether a report goes out as CSV: format=csv, or Accept: text/csv
// without an explicit format.
func wantsCSV(ctx context.Context, format *string) bool {
	if format != nil {
		return *format == "csv"
	}
	accept, _ := ctx.Value(acceptCSVKey{}).(bool)
	return accept
}

// neutralize defuses a cell that a spreadsheet would run as a formula (see render.Neutralize).
func neutralize(s string) string { return render.Neutralize(s) }

// attachment names a download after the report and its date.
func attachment(report string, at time.Time, ext string) *string {
	v := fmt.Sprintf(`attachment; filename="%s-%s.%s"`, report, domain.Today(at), ext)
	return &v
}
