package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/bremen/regmo/domain"
)

type adminData struct {
	SMTP   bool
	Users  []domain.User
	Errors []string
	Form   userForm
}

type userForm struct {
	Name, DisplayName, Email, Bindings string
	Active                             bool
}

type adminUserData struct {
	User     domain.User
	Form     userForm
	Tokens   []domain.Token
	Errors   []string
	NewToken string
	Now      time.Time
}

func bindingsText(bs []domain.Binding) string {
	lines := make([]string, len(bs))
	for i, b := range bs {
		lines[i] = strings.TrimSpace(b.Role + " " + b.Ressort)
	}
	return strings.Join(lines, "\n")
}

// parseBindings reads one binding per line: "admin", "ozg-koordination" or
// "ressortverantwortliche SF" (several codes make one binding each); the domain checks them.
// lines holds each binding's line in the text, so that a refusal can name the line.
func parseBindings(s string) (out []domain.Binding, lines []int) {
	for i, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		switch len(f) {
		case 0:
		case 1:
			out = append(out, domain.Binding{Role: f[0]})
			lines = append(lines, i+1)
		default:
			for _, code := range f[1:] {
				out = append(out, domain.Binding{Role: f[0], Ressort: strings.ToUpper(strings.Trim(code, ","))})
				lines = append(lines, i+1)
			}
		}
	}
	return out, lines
}

var userFieldLabels = map[string]string{"name": "Name (Anmeldename)", "display_name": "Anzeigename", "email": "E-Mail",
	"label": "Bezeichnung", "ttl": "Gültigkeit", "user": "Nutzer"}

// userFieldLabel names a field of a user in the words of the form; bindings[2].ressort is
// the line of the Rollen field that binding came from.
func userFieldLabel(lines []int) func(string) string {
	return func(f string) string {
		if l, ok := userFieldLabels[f]; ok {
			return l
		}
		var i int
		var sub string
		if _, err := fmt.Sscanf(f, "bindings[%d].%s", &i, &sub); err == nil && i >= 0 && i < len(lines) {
			return fmt.Sprintf("Rollen, Zeile %d", lines[i])
		}
		if strings.HasPrefix(f, "bindings") {
			return "Rollen"
		}
		return f
	}
}

func (h *Handler) adminPage(q *request) {
	if _, ok := q.allow("listUsers", ""); !ok {
		return
	}
	h.showAdmin(q, http.StatusOK, userForm{Active: true}, nil)
}

func (h *Handler) showAdmin(q *request, status int, f userForm, errs []string) {
	users, err := h.cfg.Access.Users(q.ctx)
	if err != nil {
		h.serverError(q.w, q.r, err)
		return
	}
	q.page(status, "admin", "Verwaltung", adminData{SMTP: h.cfg.SMTPConfigured, Users: users, Form: f, Errors: errs})
}

func userFormFrom(r *http.Request) userForm {
	return userForm{Name: strings.TrimSpace(r.PostFormValue("name")), DisplayName: strings.TrimSpace(r.PostFormValue("display_name")),
		Email: strings.TrimSpace(r.PostFormValue("email")), Bindings: r.PostFormValue("bindings"), Active: r.PostFormValue("active") == "ja"}
}

// adminPutUser creates or changes a user with their bindings.
func (h *Handler) adminPutUser(q *request) {
	write, ok := q.allowWrite("putUser", "")
	if !ok {
		return
	}
	f := userFormFrom(q.r)
	bindings, lines := parseBindings(f.Bindings)
	u := domain.User{Name: f.Name, DisplayName: f.DisplayName, Email: f.Email, Active: f.Active, Bindings: bindings}
	_, created, err := h.cfg.Access.PutUser(q.ctx, q.caller.User, write, u)
	if err != nil {
		msgs, ok := userErrors(err, userFieldLabel(lines))
		if !ok {
			h.serverError(q.w, q.r, err)
			return
		}
		if q.r.PostFormValue("von") == "nutzer" {
			h.showUser(q, http.StatusUnprocessableEntity, f.Name, &f, msgs, "")
			return
		}
		h.showAdmin(q, http.StatusUnprocessableEntity, f, msgs)
		return
	}
	msg := "Gespeichert."
	if created {
		msg = "Angelegt."
	}
	h.sessions.Put(q.ctx, keyFlash, msg)
	http.Redirect(q.w, q.r, "/verwaltung/nutzer/"+url.PathEscape(f.Name), http.StatusSeeOther)
}

func (h *Handler) adminUserPage(q *request) {
	if _, ok := q.allow("listTokens", ""); !ok {
		return
	}
	h.showUser(q, http.StatusOK, q.r.PathValue("name"), nil, nil, "")
}

func (h *Handler) showUser(q *request, status int, name string, f *userForm, errs []string, newToken string) {
	u, err := h.cfg.Access.User(q.ctx, name)
	if errors.Is(err, domain.ErrNotFound) {
		h.errorPage(q.w, q.r, http.StatusNotFound, "Nutzer unbekannt", "Einen Nutzer „"+name+"“ gibt es nicht.")
		return
	}
	if err != nil {
		h.serverError(q.w, q.r, err)
		return
	}
	tokens, err := h.cfg.Access.Tokens(q.ctx, name)
	if err != nil {
		h.serverError(q.w, q.r, err)
		return
	}
	d := adminUserData{User: u, Tokens: tokens, Errors: errs, NewToken: newToken, Now: h.cfg.Inventory.Now()}
	if f != nil {
		d.Form = *f
	} else {
		d.Form = userForm{Name: u.Name, DisplayName: u.DisplayName, Email: u.Email, Active: u.Active, Bindings: bindingsText(u.Bindings)}
	}
	q.page(status, "adminuser", "Nutzer "+u.Name, d)
}

// adminIssueToken issues an API token and shows it once, on this answer only.
func (h *Handler) adminIssueToken(q *request) {
	write, ok := q.allowWrite("issueToken", "")
	if !ok {
		return
	}
	name := q.r.PathValue("name")
	days, err := strconv.Atoi(strings.TrimSpace(q.r.PostFormValue("tage")))
	if err != nil || days < 1 || days > 366 {
		h.showUser(q, http.StatusUnprocessableEntity, name, nil, []string{"Gültigkeit: 1 bis 366 Tage"}, "")
		return
	}
	token, _, err := h.cfg.Access.IssueToken(q.ctx, q.caller.User, write, name, strings.TrimSpace(q.r.PostFormValue("label")), time.Duration(days)*24*time.Hour)
	if err != nil {
		msgs, ok := userErrors(err, userFieldLabel(nil))
		if !ok {
			h.serverError(q.w, q.r, err)
			return
		}
		h.showUser(q, http.StatusUnprocessableEntity, name, nil, msgs, "")
		return
	}
	h.showUser(q, http.StatusOK, name, nil, nil, token)
}

func (h *Handler) adminRevokeToken(q *request) {
	write, ok := q.allowWrite("revokeToken", "")
	if !ok {
		return
	}
	name := q.r.PathValue("name")
	id, err := strconv.ParseInt(q.r.PathValue("id"), 10, 64)
	if err != nil {
		h.notFound(q.w, q.r)
		return
	}
	if err := h.cfg.Access.RevokeToken(q.ctx, q.caller.User, write, name, id); err != nil {
		msgs, ok := userErrors(err, userFieldLabel(nil))
		if !ok {
			h.serverError(q.w, q.r, err)
			return
		}
		h.showUser(q, http.StatusUnprocessableEntity, name, nil, msgs, "")
		return
	}
	h.sessions.Put(q.ctx, keyFlash, fmt.Sprintf("Token %d widerrufen.", id))
	http.Redirect(q.w, q.r, "/verwaltung/nutzer/"+url.PathEscape(name), http.StatusSeeOther)
}
