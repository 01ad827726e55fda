package web

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/store"
)

// The operations whose permissions the entry pages need, by kind.
var (
	getOps     = map[domain.Kind]string{domain.KindRegister: "getRegister", domain.KindOnlinedienst: "getOnlinedienst"}
	historyOps = map[domain.Kind]string{domain.KindRegister: "getRegisterHistory", domain.KindOnlinedienst: "getOnlinedienstHistory"}
	putOps     = map[domain.Kind]string{domain.KindRegister: "putRegister", domain.KindOnlinedienst: "putOnlinedienst"}
)

type entryData struct {
	Entry    domain.Entry
	Today    string
	History  []historyItem
	CanEdit  bool
	Form     entryForm
	Conflict *conflict
	Errors   []string
	New      bool
	Cards    []cardOption
	Fields   []fieldView
}

// entryForm is the edit form's values, as text.
type entryForm struct {
	Kind          domain.Kind
	Ressort, Key  string
	Version       int64
	Name          string
	Description   string
	AnlageNr      string
	LegalBasis    string
	Fachverfahren string
	Contact       string
	LeikaKeys     string
	URL           string
	NachweiseFrom []string
	Dims          []dimForm
}

type dimForm struct {
	Dim                                  domain.Dimension
	Stage, TargetDate, Note, EvidenceURL string
}

type cardOption struct {
	Ref, Label string
	Checked    bool
}

type conflict struct {
	Version int64
	By      string
	At      time.Time
	Rows    []conflictRow
}

type conflictRow struct{ Field, Mine, Theirs string }

type fieldView struct{ Label, Value string }

type historyItem struct {
	At      time.Time
	Actor   string
	Action  string
	Changes []changeView
}

type changeView struct{ Field, From, To string }

// entryPath reads and checks the path of an entry page.
func entryPath(q *request) (kind domain.Kind, code, key string, ok bool) {
	code, key = q.r.PathValue("code"), q.r.PathValue("key")
	kind, ok = parseKind(q.r.PathValue("kind"))
	if !ok || q.r.PathValue("kind") == "" || !domain.ValidRessortCode(code) || !domain.ValidKey(key) {
		q.h.notFound(q.w, q.r)
		return "", "", "", false
	}
	return kind, code, key, true
}

func (h *Handler) entryPage(q *request) {
	kind, code, key, ok := entryPath(q)
	if !ok {
		return
	}
	read, ok := q.allow(getOps[kind], code)
	if !ok {
		return
	}
	e, err := h.cfg.Inventory.Get(q.ctx, read, kind, code, key)
	if errors.Is(err, domain.ErrNotFound) {
		h.errorPage(q.w, q.r, http.StatusNotFound, "Eintrag nicht gefunden", fmt.Sprintf("Im Ressort %s gibt es kein %s „%s“.", code, kindLabel(kind), key))
		return
	}
	if err != nil {
		h.serverError(q.w, q.r, err)
		return
	}
	d := entryData{Entry: e, Form: formOf(e)}
	h.showEntry(q, http.StatusOK, d)
}

// showEntry completes the entry page with its history, the fields and the form's choices.
func (h *Handler) showEntry(q *request, status int, d entryData) {
	e := d.Entry
	d.Today = h.cfg.Inventory.Today()
	d.CanEdit = q.may(putOps[e.Kind], http.MethodPost, e.Ressort)
	if hs, ok := q.scopeFor(historyOps[e.Kind], e.Ressort); ok {
		page, err := h.cfg.Inventory.For(q.caller.User).History(q.ctx, hs, e.Kind, e.Ressort, e.Key, 100, "")
		if err != nil && !errors.Is(err, domain.ErrNotFound) {
			h.serverError(q.w, q.r, err)
			return
		}
		for _, ev := range page.Events {
			d.History = append(d.History, historyOf(ev))
		}
	}
	d.Fields = fieldsOf(e)
	if d.CanEdit && e.Kind == domain.KindOnlinedienst {
		cards, err := h.cfg.Inventory.RegisterCards(q.ctx, domain.ReadRessorts(e.Ressort))
		if err != nil {
			h.serverError(q.w, q.r, err)
			return
		}
		d.Cards = cardOptions(cards, d.Form.NachweiseFrom)
	}
	q.page(status, "entry", kindLabel(e.Kind)+" "+e.Name, d)
}

// scopeFor is the read scope of op on a Ressort, without answering a refusal.
func (q *request) scopeFor(op, ressort string) (domain.ReadScope, bool) {
	ok, read, _, err := q.h.cfg.Authorizer.Authorize(q.caller, op, http.MethodGet, ressort)
	return read, err == nil && ok
}

func cardOptions(cards []store.RegisterCard, checked []string) []cardOption {
	out := make([]cardOption, 0, len(cards))
	for _, c := range cards {
		ref := c.Ressort + "/" + c.Key
		out = append(out, cardOption{Ref: ref, Label: fmt.Sprintf("%s – %s (NOOTS: %s)", ref, c.Name, stageLabel(c.NOOTSStage)),
			Checked: slices.Contains(checked, ref)})
	}
	// A reference to a register that no longer exists stays visible, so it can be removed.
	for _, ref := range checked {
		if !slices.ContainsFunc(out, func(o cardOption) bool { return o.Ref == ref }) {
			out = append(out, cardOption{Ref: ref, Label: ref + " (nicht mehr vorhanden)", Checked: true})
		}
	}
	return out
}

// saveEntry writes the edit form with the version it was loaded at (If-Match): a change
// made meanwhile is shown next to the user's values, with the newer version in the form.
func (h *Handler) saveEntry(q *request) {
	kind, code, key, ok := entryPath(q)
	if !ok {
		return
	}
	write, ok := q.allowWrite(putOps[kind], code)
	if !ok {
		return
	}
	read, _ := q.scopeFor(getOps[kind], code)
	form := formFrom(q.r, kind, code, key)
	content, errs := form.content()
	version, _ := strconv.ParseInt(q.r.PostFormValue("version"), 10, 64)
	form.Version = version
	if len(errs) == 0 {
		e, _, err := h.cfg.Inventory.Put(q.ctx, q.caller.User, write, kind, code, key, content, domain.IfVersion(version))
		switch {
		case err == nil:
			q.h.sessions.Put(q.ctx, keyFlash, fmt.Sprintf("Gespeichert. Der Eintrag hat jetzt Version %d.", e.Version))
			http.Redirect(q.w, q.r, entryURL(e), http.StatusSeeOther)
			return
		case errors.Is(err, domain.ErrPrecondition):
			current, gerr := h.cfg.Inventory.Get(q.ctx, read, kind, code, key)
			if errors.Is(gerr, domain.ErrNotFound) {
				h.errorPage(q.w, q.r, http.StatusConflict, "Eintrag gelöscht", "Jemand hat diesen Eintrag gelöscht, während Sie ihn bearbeitet haben.")
				return
			}
			if gerr != nil {
				h.serverError(q.w, q.r, gerr)
				return
			}
			form.Version = current.Version
			d := entryData{Entry: current, Form: form, Conflict: conflictOf(form, current)}
			h.showEntry(q, http.StatusConflict, d)
			return
		default:
			msgs, ok := userErrors(err, fieldLabel)
			if !ok {
				h.serverError(q.w, q.r, err)
				return
			}
			errs = msgs
		}
	}
	current, err := h.cfg.Inventory.Get(q.ctx, read, kind, code, key)
	if err != nil {
		h.serverError(q.w, q.r, err)
		return
	}
	h.showEntry(q, http.StatusUnprocessableEntity, entryData{Entry: current, Form: form, Errors: errs})
}

func entryURL(e domain.Entry) string {
	return "/ressorts/" + e.Ressort + "/" + kindPath(e.Kind) + "/" + e.Key
}

// userErrors turns the domain's refusal of an input into German messages for the form,
// each naming its field with label.
func userErrors(err error, label func(field string) string) ([]string, bool) {
	var verr *domain.ValidationError
	if errors.As(err, &verr) {
		var out []string
		for _, f := range verr.Fields {
			out = append(out, label(f.Field)+": "+germanMessage(f.Message))
		}
		return out, true
	}
	var nf *domain.NotFoundError
	if errors.As(err, &nf) {
		return []string{sentence(germanMessage(nf.Detail))}, true
	}
	var ref *domain.ReferencedError
	if errors.As(err, &ref) {
		return []string{ref.Error()}, true
	}
	return nil, false
}

var fieldLabels = map[string]string{
	"name": "Name", "description": "Beschreibung", "idnrg_anlage_nr": "Nr. der Anlage zu § 1 IDNrG",
	"legal_basis": "Rechtsgrundlage", "fachverfahren": "Fachverfahren", "contact": "Kontakt (E-Mail)",
	"leika_keys": "LeiKa-Schlüssel", "url": "Adresse (URL)", "nachweise_from": "Nachweise aus Registern", "key": "Schlüssel", "ressort": "Ressort",
}

// fieldLabel names a field of the domain (readiness.noots.stage) in German.
func fieldLabel(f string) string {
	if l, ok := fieldLabels[f]; ok {
		return l
	}
	if strings.HasPrefix(f, "readiness.") {
		parts := strings.SplitN(strings.TrimPrefix(f, "readiness."), ".", 2)
		sub := map[string]string{"stage": "Stufe", "target_date": "Zieldatum", "note": "Notiz", "evidence_url": "Nachweis-Link"}
		if len(parts) == 2 {
			return dimensionLabel(parts[0]) + ": " + cmpMsg(sub[parts[1]], parts[1])
		}
	}
	// A list's element, counted from 1 as people count: nachweise_from[0] is the first.
	var n int
	if i := strings.Index(f, "["); i > 0 {
		if _, err := fmt.Sscanf(f[i:], "[%d]", &n); err == nil && strings.HasSuffix(f, "]") {
			return fmt.Sprintf("%s, Nr. %d", fieldLabel(f[:i]), n+1)
		}
		return fieldLabel(f[:i]) + f[i:]
	}
	return f
}

func formOf(e domain.Entry) entryForm {
	f := entryForm{Kind: e.Kind, Ressort: e.Ressort, Key: e.Key, Version: e.Version, Name: e.Name, Description: e.Description,
		LegalBasis: e.LegalBasis, Fachverfahren: e.Fachverfahren, Contact: e.Contact, LeikaKeys: strings.Join(e.LeikaKeys, " "),
		URL: e.URL, NachweiseFrom: e.NachweiseFrom}
	if e.AnlageNr != nil {
		f.AnlageNr = strconv.Itoa(*e.AnlageNr)
	}
	for _, dim := range domain.Dimensions {
		s := e.Readiness.Of(dim)
		f.Dims = append(f.Dims, dimForm{Dim: dim, Stage: string(s.Stage), TargetDate: s.TargetDate, Note: s.Note, EvidenceURL: s.EvidenceURL})
	}
	return f
}

func formFrom(r *http.Request, kind domain.Kind, code, key string) entryForm {
	v := func(name string) string { return strings.TrimSpace(r.PostFormValue(name)) }
	f := entryForm{Kind: kind, Ressort: code, Key: key, Name: v("name"), Description: r.PostFormValue("description")}
	if kind == domain.KindRegister {
		f.AnlageNr, f.LegalBasis, f.Fachverfahren, f.Contact = v("idnrg_anlage_nr"), v("legal_basis"), v("fachverfahren"), v("contact")
	} else {
		f.LeikaKeys, f.URL = v("leika_keys"), v("url")
		for _, ref := range r.PostForm["nachweise_from"] {
			if ref = strings.TrimSpace(ref); ref != "" && !slices.Contains(f.NachweiseFrom, ref) {
				f.NachweiseFrom = append(f.NachweiseFrom, ref)
			}
		}
	}
	for _, dim := range domain.Dimensions {
		p := string(dim) + "_"
		f.Dims = append(f.Dims, dimForm{Dim: dim, Stage: v(p + "stage"), TargetDate: v(p + "target_date"),
			Note: r.PostFormValue(p + "note"), EvidenceURL: v(p + "evidence_url")})
	}
	return f
}

// content is the form as the domain's content; the domain checks every rule.
func (f entryForm) content() (domain.Content, []string) {
	c := domain.Content{Name: f.Name, Description: strings.TrimSpace(f.Description)}
	var errs []string
	if f.Kind == domain.KindRegister {
		if f.AnlageNr != "" {
			n, err := strconv.Atoi(f.AnlageNr)
			if err != nil {
				errs = append(errs, fieldLabel("idnrg_anlage_nr")+": bitte eine Zahl von 1 bis 50 angeben")
			} else {
				c.AnlageNr = &n
			}
		}
		c.LegalBasis, c.Fachverfahren, c.Contact = f.LegalBasis, f.Fachverfahren, f.Contact
	} else {
		c.LeikaKeys = strings.FieldsFunc(f.LeikaKeys, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == ';' })
		c.URL, c.NachweiseFrom = f.URL, f.NachweiseFrom
	}
	for _, d := range f.Dims {
		s := domain.Status{Stage: domain.Stage(d.Stage), TargetDate: d.TargetDate, Note: strings.TrimSpace(d.Note), EvidenceURL: d.EvidenceURL}
		switch d.Dim {
		case domain.DimensionIDNr:
			c.Readiness.IDNr = s
		case domain.DimensionNOOTS:
			c.Readiness.NOOTS = s
		case domain.DimensionDSC:
			c.Readiness.DSC = s
		}
	}
	return c, errs
}

// flat lists a form's fields with German labels and displayed values, in form order.
func (f entryForm) flat() []fieldView {
	out := []fieldView{{"Name", f.Name}, {"Beschreibung", strings.TrimSpace(f.Description)}}
	if f.Kind == domain.KindRegister {
		out = append(out, fieldView{fieldLabels["idnrg_anlage_nr"], f.AnlageNr}, fieldView{"Rechtsgrundlage", f.LegalBasis},
			fieldView{"Fachverfahren", f.Fachverfahren}, fieldView{"Kontakt (E-Mail)", f.Contact})
	} else {
		keys := strings.FieldsFunc(f.LeikaKeys, func(r rune) bool { return r == ',' || r == ' ' || r == ';' })
		refs := append([]string{}, f.NachweiseFrom...)
		sort.Strings(refs)
		out = append(out, fieldView{"LeiKa-Schlüssel", strings.Join(keys, ", ")}, fieldView{"Adresse (URL)", f.URL},
			fieldView{"Nachweise aus Registern", strings.Join(refs, ", ")})
	}
	for _, d := range f.Dims {
		l := dimensionLabel(d.Dim)
		out = append(out, fieldView{l + ": Stufe", stageLabel(d.Stage)}, fieldView{l + ": Zieldatum", formatDate(d.TargetDate)},
			fieldView{l + ": Notiz", strings.TrimSpace(d.Note)}, fieldView{l + ": Nachweis-Link", d.EvidenceURL})
	}
	return out
}

func fieldsOf(e domain.Entry) []fieldView {
	var out []fieldView
	for _, f := range formOf(e).flat() {
		if f.Value != "" {
			out = append(out, f)
		}
	}
	return out
}

// conflictOf lists the fields where the user's values differ from the newer version.
func conflictOf(mine entryForm, current domain.Entry) *conflict {
	c := &conflict{Version: current.Version, By: current.UpdatedBy, At: current.UpdatedAt}
	theirs := formOf(current).flat()
	for i, m := range mine.flat() {
		if m.Value != theirs[i].Value {
			c.Rows = append(c.Rows, conflictRow{Field: m.Label, Mine: m.Value, Theirs: theirs[i].Value})
		}
	}
	return c
}

var actionLabels = map[string]string{domain.ActionCreated: "angelegt", domain.ActionUpdated: "geändert", domain.ActionDeleted: "gelöscht"}

func historyOf(ev domain.Event) historyItem {
	it := historyItem{At: ev.At, Actor: ev.Actor, Action: cmpMsg(actionLabels[ev.Action], ev.Action)}
	keys := make([]string, 0, len(ev.Changes))
	for k := range ev.Changes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ch := ev.Changes[k]
		it.Changes = append(it.Changes, changeView{Field: fieldLabel(k), From: changeValue(k, ch.From), To: changeValue(k, ch.To)})
	}
	return it
}

func changeValue(field string, v any) string {
	switch x := v.(type) {
	case nil:
		return "–"
	case string:
		if strings.HasSuffix(field, ".stage") {
			return stageLabel(x)
		}
		if strings.HasSuffix(field, "target_date") {
			return formatDate(x)
		}
		return x
	case []any:
		parts := make([]string, len(x))
		for i, p := range x {
			parts[i] = fmt.Sprint(p)
		}
		return strings.Join(parts, ", ")
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

// newEntryForm offers the form for a new register or Onlinedienst of a Ressort.
func (h *Handler) newEntryForm(q *request) {
	code := q.r.PathValue("code")
	kind, ok := parseKind(q.r.URL.Query().Get("art"))
	if !ok || !domain.ValidRessortCode(code) {
		h.notFound(q.w, q.r)
		return
	}
	if _, ok := q.allowWrite(putOps[kind], code); !ok {
		return
	}
	f := formOf(domain.Entry{Kind: kind, Ressort: code})
	h.showNew(q, http.StatusOK, f, nil)
}

func (h *Handler) showNew(q *request, status int, f entryForm, errs []string) {
	d := entryData{Form: f, Errors: errs, New: true, Entry: domain.Entry{Kind: f.Kind, Ressort: f.Ressort}}
	if f.Kind == domain.KindOnlinedienst {
		cards, err := h.cfg.Inventory.RegisterCards(q.ctx, domain.ReadRessorts(f.Ressort))
		if err != nil {
			h.serverError(q.w, q.r, err)
			return
		}
		d.Cards = cardOptions(cards, f.NachweiseFrom)
	}
	title := "Neues Register"
	if f.Kind == domain.KindOnlinedienst {
		title = "Neuer Onlinedienst"
	}
	q.page(status, "new", title+" – Ressort "+f.Ressort, d)
}

// createEntry creates an entry; it never overwrites one created meanwhile (If-None-Match).
func (h *Handler) createEntry(q *request) {
	code := q.r.PathValue("code")
	kind, ok := parseKind(q.r.PostFormValue("art"))
	if !ok || !domain.ValidRessortCode(code) {
		h.notFound(q.w, q.r)
		return
	}
	write, ok := q.allowWrite(putOps[kind], code)
	if !ok {
		return
	}
	key := strings.TrimSpace(q.r.PostFormValue("key"))
	f := formFrom(q.r, kind, code, key)
	content, errs := f.content()
	if !domain.ValidKey(key) {
		errs = append(errs, "Schlüssel: 1 bis 64 Zeichen aus a–z, 0–9 und „-“, beginnend mit einem Buchstaben oder einer Ziffer")
	}
	if len(errs) == 0 {
		e, _, err := h.cfg.Inventory.Put(q.ctx, q.caller.User, write, kind, code, key, content, domain.IfAbsent())
		switch {
		case err == nil:
			q.h.sessions.Put(q.ctx, keyFlash, "Angelegt.")
			http.Redirect(q.w, q.r, entryURL(e), http.StatusSeeOther)
			return
		case errors.Is(err, domain.ErrPrecondition):
			errs = []string{fmt.Sprintf("Schlüssel: Im Ressort %s gibt es schon einen Eintrag „%s“. Wählen Sie einen anderen Schlüssel.", code, key)}
		default:
			msgs, ok := userErrors(err, fieldLabel)
			if !ok {
				h.serverError(q.w, q.r, err)
				return
			}
			errs = msgs
		}
	}
	h.showNew(q, http.StatusUnprocessableEntity, f, errs)
}
