package web

import (
	"cmp"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/bremen/regmo/domain"
)

// pageSize is how many entries a page of the Ressort table shows.
const pageSize = 50

// maxListed bounds what the Ressort page reads for sorting in memory; a Ressort keeps tens
// to hundreds of entries.
const maxListed = 20_000

type ressortData struct {
	Code, Name       string
	Kind             domain.Kind
	Dim, Stage, Q    string
	Sort             string
	Entries          []domain.Entry
	Total            int
	Page, Pages      int
	Prev, Next       string
	Today            string
	CanCreate        bool
	SortOptions      []option
	KindOptions      []option
	DimensionOptions []option
	StageOptions     []option
}

type option struct{ Value, Label string }

// ressortOps names the operation whose permission the Ressort table of a kind needs.
var ressortOps = map[domain.Kind]string{domain.KindRegister: "listRessortRegisters", domain.KindOnlinedienst: "listRessortOnlinedienste"}

func parseKind(s string) (domain.Kind, bool) {
	switch s {
	case "", string(domain.KindRegister):
		return domain.KindRegister, true
	case string(domain.KindOnlinedienst):
		return domain.KindOnlinedienst, true
	}
	return "", false
}

func (h *Handler) ressortPage(q *request) {
	code := q.r.PathValue("code")
	if !domain.ValidRessortCode(code) {
		h.notFound(q.w, q.r)
		return
	}
	p := q.r.URL.Query()
	kind, ok := parseKind(p.Get("art"))
	if !ok {
		h.notFound(q.w, q.r)
		return
	}
	read, ok := q.allow(ressortOps[kind], code)
	if !ok {
		return
	}
	d := ressortData{Code: code, Kind: kind, Dim: p.Get("dimension"), Stage: p.Get("stufe"), Q: strings.TrimSpace(p.Get("q")),
		Sort: cmp.Or(p.Get("sortierung"), "key"), Today: h.cfg.Inventory.Today()}
	d.KindOptions = []option{{"register", "Register"}, {"onlinedienst", "Onlinedienste"}}
	d.DimensionOptions = []option{{"", "alle Dimensionen"}}
	for _, dim := range domain.Dimensions {
		d.DimensionOptions = append(d.DimensionOptions, option{string(dim), dimensionLabel(dim)})
	}
	d.StageOptions = []option{{"", "jede Stufe"}}
	for _, st := range domain.Stages {
		d.StageOptions = append(d.StageOptions, option{string(st), stageLabel(st)})
	}
	d.SortOptions = []option{{"key", "Schlüssel"}, {"name", "Name"}, {"idnr", "Stufe IDNr"}, {"noots", "Stufe NOOTS"},
		{"dsc", "Stufe Datenschutzcockpit"}, {"updated", "zuletzt geändert"}}
	if rs, err := h.cfg.Ressorts.List(q.ctx); err == nil {
		for _, r := range rs {
			if r.Code == code {
				d.Name = r.Name
			}
		}
	}
	f := domain.Filter{Kind: kind, Ressort: code, Q: d.Q, Limit: domain.MaxLimit, Stages: map[domain.Dimension]domain.Stage{}}
	if st := domain.Stage(d.Stage); st != "" && st.Valid() {
		if dim := domain.Dimension(d.Dim); slices.Contains(domain.Dimensions, dim) {
			f.Stages[dim] = st
		}
	}
	var entries []domain.Entry
	for {
		page, err := h.cfg.Inventory.List(q.ctx, read, f)
		if errors.Is(err, domain.ErrNotFound) {
			h.errorPage(q.w, q.r, http.StatusNotFound, "Ressort unbekannt", "Ein Ressort "+code+" gibt es in regmo nicht.")
			return
		}
		if err != nil {
			h.serverError(q.w, q.r, err)
			return
		}
		entries = append(entries, page.Entries...)
		if page.Next == "" || len(entries) >= maxListed {
			break
		}
		f.Cursor = page.Next
	}
	if st := domain.Stage(d.Stage); st != "" && st.Valid() && d.Dim == "" {
		// A stage in any dimension.
		entries = slices.DeleteFunc(entries, func(e domain.Entry) bool {
			return e.Readiness.IDNr.Stage != st && e.Readiness.NOOTS.Stage != st && e.Readiness.DSC.Stage != st
		})
	}
	sortEntries(entries, d.Sort)
	d.Total = len(entries)
	d.Pages = max(1, (d.Total+pageSize-1)/pageSize)
	d.Page, _ = strconv.Atoi(p.Get("seite"))
	d.Page = min(max(d.Page, 1), d.Pages)
	from, to := (d.Page-1)*pageSize, min(d.Page*pageSize, d.Total)
	d.Entries = entries[from:to]
	link := func(page int) string {
		v := url.Values{"art": {string(kind)}, "dimension": {d.Dim}, "stufe": {d.Stage}, "q": {d.Q}, "sortierung": {d.Sort}, "seite": {strconv.Itoa(page)}}
		return "/ressorts/" + code + "?" + v.Encode()
	}
	if d.Page > 1 {
		d.Prev = link(d.Page - 1)
	}
	if d.Page < d.Pages {
		d.Next = link(d.Page + 1)
	}
	d.CanCreate = q.may(putOps[kind], http.MethodPost, code)
	q.page(http.StatusOK, "ressort", "Ressort "+code, d)
}

// stageRank orders stages along the scale, not_applicable last.
func stageRank(s domain.Stage) int { return slices.Index(domain.Stages, s) }

func sortEntries(es []domain.Entry, by string) {
	slices.SortStableFunc(es, func(a, b domain.Entry) int {
		switch by {
		case "name":
			return cmp.Or(strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)), strings.Compare(a.Key, b.Key))
		case "idnr", "noots", "dsc":
			dim := domain.Dimension(by)
			return cmp.Or(cmp.Compare(stageRank(a.Readiness.Of(dim).Stage), stageRank(b.Readiness.Of(dim).Stage)), strings.Compare(a.Key, b.Key))
		case "updated":
			return cmp.Or(b.UpdatedAt.Compare(a.UpdatedAt), strings.Compare(a.Key, b.Key))
		}
		return strings.Compare(a.Key, b.Key)
	})
}
