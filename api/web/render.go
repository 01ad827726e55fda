package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/bremen/regmo/domain"
)

// pageTemplate is the layout with one page's content.
type pageTemplate struct{ t *template.Template }

// view is what the layout shows around every page.
type view struct {
	Title string
	User  string
	Roles string
	CSRF  string
	Nav   []navItem
	Flash string
	// Print renders the page without navigation (the A4 print view).
	Print bool
	Data  any
}

type navItem struct {
	Href, Label string
	Current     bool
}

type errorData struct{ Title, Detail string }

var berlin = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		panic(err)
	}
	return loc
}()

var stageLabels = map[domain.Stage]string{
	domain.StageNotStarted:    "nicht begonnen",
	domain.StagePlanned:       "geplant",
	domain.StageInProgress:    "in Arbeit",
	domain.StageTesting:       "im Test",
	domain.StageLive:          "live",
	domain.StageNotApplicable: "nicht anwendbar",
}

var dimensionLabels = map[domain.Dimension]string{
	domain.DimensionIDNr:  "IDNr",
	domain.DimensionNOOTS: "NOOTS",
	domain.DimensionDSC:   "Datenschutzcockpit",
}

func stageLabel(s any) string {
	st := domain.Stage(fmt.Sprint(s))
	if l, ok := stageLabels[st]; ok {
		return l
	}
	return string(st)
}

func dimensionLabel(d any) string {
	dim := domain.Dimension(fmt.Sprint(d))
	if l, ok := dimensionLabels[dim]; ok {
		return l
	}
	return string(dim)
}

func kindLabel(k domain.Kind) string {
	if k == domain.KindOnlinedienst {
		return "Onlinedienst"
	}
	return "Register"
}

// kindPath is the kind as page paths write it.
func kindPath(k domain.Kind) string { return string(k) }

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(berlin).Format("02.01.2006, 15:04 Uhr")
}

// formatDate writes YYYY-MM-DD as the German 31.12.2028.
func formatDate(s string) string {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return s
	}
	return t.Format("02.01.2006")
}

func formatPct(f float64) string {
	return strings.Replace(strconv.FormatFloat(f, 'f', 1, 64), ".", ",", 1) + " %"
}

var funcs = template.FuncMap{
	"stage":        stageLabel,
	"dimension":    dimensionLabel,
	"kind":         kindLabel,
	"kindPath":     kindPath,
	"time":         formatTime,
	"date":         formatDate,
	"pct":          formatPct,
	"stages":       func() []domain.Stage { return domain.Stages },
	"dims":         func() []domain.Dimension { return domain.Dimensions },
	"query":        url.QueryEscape,
	"add":          func(a, b int) int { return a + b },
	"f1":           func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) },
	"german":       germanMessage,
	"column":       csvColumn,
	"fieldLabel":   fieldLabel,
	"importAction": importActionLabel,
	"stageSelect": func(name, value string) map[string]string {
		return map[string]string{"ID": name, "Name": name, "Value": value}
	},
}

// parsePages parses the layout with each page.
func parsePages() (map[string]*pageTemplate, error) {
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(assets, "templates/layout.html", "templates/partials.html")
	if err != nil {
		return nil, fmt.Errorf("web: templates: %w", err)
	}
	names, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*pageTemplate{}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" || name == "partials" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(assets, n)
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", name, err)
		}
		out[name] = &pageTemplate{t: t}
	}
	return out, nil
}

// render writes a page. It is rendered into a buffer first, so that a template error is a
// clean 500 rather than half a page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, page string, v view) {
	p := h.pages[page]
	if p == nil {
		h.cfg.Log.Error("web: no template", slog.String("page", page))
		http.Error(w, "Interner Fehler", http.StatusInternalServerError)
		return
	}
	if v.Flash == "" {
		v.Flash = h.sessions.PopString(r.Context(), keyFlash)
	}
	var buf bytes.Buffer
	if err := p.t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		h.cfg.Log.Error("web: render", slog.String("page", page), slog.String("error", err.Error()))
		http.Error(w, "Interner Fehler", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// errorPage answers a page that says what went wrong, for anyone (logged in or not).
func (h *Handler) errorPage(w http.ResponseWriter, r *http.Request, status int, title, detail string) {
	h.render(w, r, status, "error", view{Title: title, Data: errorData{Title: title, Detail: detail}})
}

// view builds the frame of a page for the caller: the menu shows only what the policy lets
// them open.
func (q *request) view(title string, data any) view {
	v := view{Title: title, User: q.caller.User, CSRF: q.csrf, Data: data}
	var roles []string
	for _, b := range q.caller.Bindings {
		role := map[string]string{domain.RoleAdmin: "Administration", domain.RoleOZGKoordination: "OZG-Koordination",
			domain.RoleRessortverantwortliche: "Ressortverantwortung"}[b.Role]
		if b.Ressort != "" {
			role += " " + b.Ressort
		}
		roles = append(roles, role)
	}
	v.Roles = strings.Join(roles, ", ")
	path := q.r.URL.Path
	add := func(href, label string, current bool) {
		v.Nav = append(v.Nav, navItem{Href: href, Label: label, Current: current})
	}
	if q.may("getReadinessReport", http.MethodGet, "") {
		add("/", "Übersicht", path == "/")
	}
	for _, code := range q.ownRessorts() {
		add("/ressorts/"+code, "Ressort "+code, strings.HasPrefix(path, "/ressorts/"+code))
	}
	if q.may("getOverdueReport", http.MethodGet, "") {
		add("/berichte", "Berichte", strings.HasPrefix(path, "/berichte"))
	}
	if q.may("importInventory", http.MethodPost, "") {
		add("/import", "Import", strings.HasPrefix(path, "/import"))
	}
	if q.may("listUsers", http.MethodGet, "") {
		add("/verwaltung", "Verwaltung", strings.HasPrefix(path, "/verwaltung"))
	}
	if q.may("getMyNotifications", http.MethodGet, "") {
		add(AccountPath, "Mein Konto", strings.HasPrefix(path, AccountPath))
	}
	return v
}

// ownRessorts are the Ressorts the caller is bound to (global roles reach every Ressort
// from the overview).
func (q *request) ownRessorts() []string {
	var out []string
	for _, b := range q.caller.Bindings {
		if b.Ressort != "" {
			out = append(out, b.Ressort)
		}
	}
	return out
}

func (q *request) page(status int, page, title string, data any) {
	q.h.render(q.w, q.r, status, page, q.view(title, data))
}
