package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/bremen/regmo/api/param"
	"github.com/bremen/regmo/api/render"
	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/report"
)

// reportInfo is one of the six reports, with the operation whose permission it needs; the
// downloads are the same tables as the API's (package render).
type reportInfo struct {
	Name, Title, Op, File, Description string
}

var reports = []reportInfo{
	{"bereitschaft", "Bereitschaft", "getReadinessReport", "readiness", "Anzahl der Einträge je Ressort, Art, Dimension und Stufe, mit dem Anteil bereit."},
	{"fortschritt", "Fortschritt", "getProgressReport", "progress", "Was sich zwischen zwei Tagen bewegt hat – die Tabelle „seit dem letzten Senatsbericht“."},
	{"ueberfaellig", "Überfällig", "getOverdueReport", "overdue", "Jede Dimension, deren Zieldatum vorbei ist, ohne dass sie bereit ist."},
	{"blockiert", "Blockierte Onlinedienste", "getBlockedReport", "blocked", "Onlinedienste, die auf den NOOTS-Anschluss eines Registers warten."},
	{"konsistenz", "Widersprüche", "getConsistencyReport", "consistency", "Einträge, deren Stufen einander widersprechen, z. B. IDNr in Nutzung vor dem Anschluss an das Datenschutzcockpit."},
	{"anlage", "Abdeckung der Anlage", "getAnlageCoverageReport", "anlage-coverage", "Welche der 50 Register der Anlage zu § 1 IDNrG erfasst sind und welche fehlen."},
}

type reportsData struct{ Reports []reportInfo }

type reportData struct {
	Report             reportInfo
	Stand, Von, Bis    string
	Error              string
	Tables             []render.Table
	CSV, XLSX          string
	AsOfLabel          string
	Truncated, Showing int
}

func (h *Handler) reportsPage(q *request) {
	var d reportsData
	for _, r := range reports {
		if q.may(r.Op, http.MethodGet, "") {
			d.Reports = append(d.Reports, r)
		}
	}
	if len(d.Reports) == 0 {
		q.forbidden("")
		return
	}
	q.page(http.StatusOK, "reports", "Berichte", d)
}

// maxShown bounds the rows a report page shows; the downloads have all of them.
const maxShown = 500

func (h *Handler) reportPage(q *request) {
	i := slices.IndexFunc(reports, func(r reportInfo) bool { return r.Name == q.r.PathValue("name") })
	if i < 0 {
		h.notFound(q.w, q.r)
		return
	}
	rep := reports[i]
	read, ok := q.allow(rep.Op, "")
	if !ok {
		return
	}
	p := q.r.URL.Query()
	d := reportData{Report: rep, Stand: p.Get("stand"), Von: p.Get("von"), Bis: p.Get("bis")}
	reps := h.cfg.Reports.For(q.caller.User)
	now := reps.Now()
	at := now
	parse := func(name, label, s string) (*time.Time, bool) {
		if s == "" {
			return nil, true
		}
		t, err := param.Instant(name, s, now)
		if err != nil {
			d.Error = "„" + label + "“ muss ein Datum bis heute sein, z. B. 2026-03-31."
			return nil, false
		}
		return &t, true
	}
	var tables []render.Table
	var err error
	if rep.Name == "fortschritt" {
		from, ok1 := parse("von", "von", d.Von)
		to, ok2 := parse("bis", "bis", d.Bis)
		if to != nil {
			at = *to
		}
		switch {
		case !ok1 || !ok2:
		case from == nil:
			d.Error = "Geben Sie an, seit wann der Fortschritt gezeigt werden soll („von“)."
		case !from.Before(at):
			d.Error = "„von“ muss vor „bis“ liegen."
		default:
			var pr report.Progress
			pr, err = reps.Progress(q.ctx, read, nil, *from, at)
			tables = render.Progress(pr)
		}
	} else {
		asOf, ok := parse("stand", "Stand am", d.Stand)
		if asOf != nil {
			at = *asOf
		}
		if ok {
			f := report.Filter{AsOf: asOf}
			switch rep.Name {
			case "bereitschaft":
				var r report.Readiness
				r, err = reps.Readiness(q.ctx, read, f)
				tables = render.Readiness(r)
			case "ueberfaellig":
				var items []report.OverdueItem
				items, _, err = reps.Overdue(q.ctx, read, f)
				tables = render.Overdue(items)
			case "blockiert":
				var items []report.Blocked
				items, _, err = reps.Blocked(q.ctx, read, f)
				tables = render.Blocked(items)
			case "konsistenz":
				var items []report.Finding
				items, _, err = reps.Consistency(q.ctx, read, f)
				tables = render.Consistency(items)
			case "anlage":
				var items []report.CoverageEntry
				items, _, err = reps.AnlageCoverage(q.ctx, read, f)
				tables = render.AnlageCoverage(items)
			}
		}
	}
	if err != nil {
		if msgs, ok := userErrors(err, fieldLabel); ok {
			d.Error = msgs[0]
			tables = nil
		} else {
			h.serverError(q.w, q.r, err)
			return
		}
	}
	if format := p.Get("format"); format != "" && tables != nil {
		h.download(q, rep, at, format, tables)
		return
	}
	d.AsOfLabel = formatTime(at)
	for _, t := range tables {
		if len(t.Rows) > maxShown {
			d.Truncated += len(t.Rows) - maxShown
			t.Rows = t.Rows[:maxShown]
		}
		d.Tables = append(d.Tables, t)
	}
	link := func(format string) string {
		v := url.Values{"format": {format}}
		if format == "csv" {
			// People click the button to open the file in Excel, which wants German CSV.
			v.Set("dialect", "excel-de")
		}
		for k, s := range map[string]string{"stand": d.Stand, "von": d.Von, "bis": d.Bis} {
			if s != "" {
				v.Set(k, s)
			}
		}
		return "/berichte/" + rep.Name + "?" + v.Encode()
	}
	if tables != nil {
		d.CSV, d.XLSX = link("csv"), link("xlsx")
	}
	status := http.StatusOK
	if d.Error != "" {
		status = http.StatusUnprocessableEntity
	}
	q.page(status, "report", "Bericht: "+rep.Title, d)
}

// download sends a report as the API does: CSV (the first table) or a workbook.
func (h *Handler) download(q *request, rep reportInfo, at time.Time, format string, tables []render.Table) {
	var data []byte
	var err error
	var ctype string
	switch format {
	case "csv":
		d := render.RFC4180
		if q.r.URL.Query().Get("dialect") == "excel-de" {
			d = render.ExcelDE
		}
		data, err = render.DialectCSV(tables[0], d)
		ctype = "text/csv; charset=utf-8"
	case "xlsx":
		data, err = render.XLSX(tables)
		ctype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	default:
		h.notFound(q.w, q.r)
		return
	}
	if err != nil {
		h.serverError(q.w, q.r, err)
		return
	}
	hd := q.w.Header()
	hd.Set("Content-Type", ctype)
	hd.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-%s.%s"`, rep.File, domain.Today(at), format))
	hd.Set("Content-Length", strconv.Itoa(len(data)))
	q.w.WriteHeader(http.StatusOK)
	_, _ = q.w.Write(data)
}
