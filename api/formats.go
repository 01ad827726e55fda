package api

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"mime"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

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

// neutralize defuses a cell that a spreadsheet would run as a formula (CSV injection): a
// leading =, +, - or @ gets an apostrophe in front.
func neutralize(s string) string {
	if s != "" && strings.ContainsRune("=+-@", rune(s[0])) {
		return "'" + s
	}
	return s
}

// attachment names a download after the report and its date.
func attachment(report string, at time.Time, ext string) *string {
	v := fmt.Sprintf(`attachment; filename="%s-%s.%s"`, report, domain.Today(at), ext)
	return &v
}

// readinessCSV writes the readiness report with one row per Ressort × kind × dimension.
func readinessCSV(r domain.ReadinessReport) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.UseCRLF = true // RFC 4180
	header := []string{"Ressort", "Name", "Art", "Dimension", "Anzahl", "vollständig bereit",
		"nicht begonnen", "geplant", "in Arbeit", "im Test", "live", "nicht anwendbar",
		"bereit", "bereit %", "überfällig"}
	if err := w.Write(header); err != nil {
		return nil, err
	}
	kinds := []struct {
		name string
		get  func(domain.RessortSummary) domain.KindSummary
	}{
		{"Register", func(s domain.RessortSummary) domain.KindSummary { return s.Registers }},
		{"Onlinedienste", func(s domain.RessortSummary) domain.KindSummary { return s.Onlinedienste }},
	}
	lines := append([]domain.RessortSummary{}, r.Ressorts...)
	total := r.Total
	total.Ressort = domain.Ressort{Code: "Gesamt", Name: "alle lesbaren Ressorts"}
	lines = append(lines, total)
	for _, rs := range lines {
		for _, k := range kinds {
			ks := k.get(rs)
			for _, d := range domain.Dimensions {
				ds := ks.Dimensions[d]
				row := []string{neutralize(rs.Ressort.Code), neutralize(rs.Ressort.Name), k.name, string(d),
					strconv.FormatInt(ks.Count, 10), strconv.FormatInt(ks.FullyReady, 10)}
				for _, s := range domain.Stages {
					row = append(row, strconv.FormatInt(ds.Stages[s], 10))
				}
				row = append(row, strconv.FormatInt(ds.Ready, 10), strconv.FormatFloat(ds.ReadyPct, 'f', 1, 64),
					strconv.FormatInt(ds.Overdue, 10))
				if err := w.Write(row); err != nil {
					return nil, err
				}
			}
		}
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}
