package web

import (
	"net/http"

	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/notify"
)

// accountData is the user's own page: which e-mails they receive.
type accountData struct {
	User  domain.User
	Prefs notify.Prefs
	// Reminder and Digest say whether the user's roles get the e-mail at all.
	Reminder, Digest bool
	SMTP             bool
}

// accountPage shows the caller's own e-mail choices; the store is asked for the caller's
// name only, never for a name from the request (like GET /v1/me/notifications).
func (h *Handler) accountPage(q *request) {
	if _, ok := q.allow("getMyNotifications", ""); !ok {
		return
	}
	h.showAccount(q, http.StatusOK)
}

func (h *Handler) showAccount(q *request, status int) {
	u, err := h.cfg.Access.User(q.ctx, q.caller.User)
	if err != nil {
		h.serverError(q.w, q.r, err)
		return
	}
	p, err := h.cfg.Prefs.Get(q.ctx, q.caller.User)
	if err != nil {
		h.serverError(q.w, q.r, err)
		return
	}
	d := accountData{User: u, Prefs: p, SMTP: h.cfg.SMTPConfigured}
	for _, b := range u.Bindings {
		d.Reminder = d.Reminder || b.Role == domain.RoleRessortverantwortliche
		d.Digest = d.Digest || b.Role == domain.RoleOZGKoordination
	}
	q.page(status, "account", "Mein Konto", d)
}

// saveNotifications stores both switches: an unchecked box is not sent, so its absence
// means off.
func (h *Handler) saveNotifications(q *request) {
	if _, ok := q.allowWrite("putMyNotifications", ""); !ok {
		return
	}
	p := notify.Prefs{Reminder: q.r.PostFormValue("reminder") == "ja", Digest: q.r.PostFormValue("digest") == "ja"}
	if err := h.cfg.Prefs.Put(q.ctx, q.caller.User, p); err != nil {
		h.serverError(q.w, q.r, err)
		return
	}
	h.sessions.Put(q.ctx, keyFlash, "Gespeichert.")
	http.Redirect(q.w, q.r, AccountPath, http.StatusSeeOther)
}

// AccountPath is the user's own page; the e-mails link to it (notify owns the path, since
// domain code never imports the web interface).
const AccountPath = notify.AccountPath
