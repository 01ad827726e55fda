package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/bremen/regmo/domain"
)

// Session keys.
const (
	keyUser    = "user"
	keyCreated = "created" // unix seconds of the login, by the handler's clock
	keySeen    = "seen"    // unix seconds of the last request
	keyCSRF    = "csrf"
	keyFlash   = "flash"
)

// request is one authenticated page request.
type request struct {
	w      http.ResponseWriter
	r      *http.Request
	ctx    context.Context
	caller domain.Caller
	csrf   string
	h      *Handler
}

// randomToken returns 32 random bytes, URL-safe.
func randomToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("web: random: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// startSession logs the user in: a new session token (no fixation), the times expiry is
// measured from and a fresh CSRF token.
func (h *Handler) startSession(ctx context.Context, user string) error {
	if err := h.sessions.RenewToken(ctx); err != nil {
		return err
	}
	now := h.now().Unix()
	h.sessions.Put(ctx, keyUser, user)
	h.sessions.Put(ctx, keyCreated, now)
	h.sessions.Put(ctx, keySeen, now)
	h.sessions.Put(ctx, keyCSRF, randomToken())
	return nil
}

// authed serves a page only to a logged-in user whose session has not expired and who is
// still active: the caller and bindings are read again at every request. A POST must carry
// the session's CSRF token.
func (h *Handler) authed(fn func(q *request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		user := h.sessions.GetString(ctx, keyUser)
		if user == "" {
			h.toLogin(w, r, "")
			return
		}
		now := h.now()
		created := time.Unix(h.sessions.GetInt64(ctx, keyCreated), 0)
		seen := time.Unix(h.sessions.GetInt64(ctx, keySeen), 0)
		if now.Sub(created) >= h.cfg.Lifetime || now.Sub(seen) >= h.cfg.IdleTimeout {
			_ = h.sessions.Destroy(ctx)
			h.toLogin(w, r, "Ihre Sitzung ist abgelaufen. Bitte melden Sie sich neu an.")
			return
		}
		caller, err := h.cfg.Access.CallerByName(ctx, user)
		if errors.Is(err, domain.ErrUnauthenticated) {
			// Deactivated or deleted since the login: the session ends here.
			_ = h.sessions.Destroy(ctx)
			h.toLogin(w, r, "Ihr Zugang ist nicht mehr aktiv. Wenden Sie sich an die Administration von regmo.")
			return
		}
		if err != nil {
			h.serverError(w, r, err)
			return
		}
		if now.Sub(seen) >= time.Minute {
			// Kept to the minute: one session write per minute, not per request.
			h.sessions.Put(ctx, keySeen, now.Unix())
		}
		csrf := h.sessions.GetString(ctx, keyCSRF)
		if csrf == "" {
			csrf = randomToken()
			h.sessions.Put(ctx, keyCSRF, csrf)
		}
		if r.Method == http.MethodPost && !validCSRF(r, csrf) {
			h.errorPage(w, r, http.StatusForbidden, "Formular abgelehnt",
				"Das Formular war veraltet oder kam nicht von regmo. Laden Sie die Seite neu und senden Sie es noch einmal.")
			return
		}
		if r.Method == http.MethodPost {
			// A form may change something: until a replica has it, the user reads the primary.
			defer h.cfg.Replicas.Writing(caller.User)()
		}
		fn(&request{w: w, r: r, ctx: ctx, caller: caller, csrf: csrf, h: h})
	}
}

// validCSRF compares the form's token with the session's (synchronizer token pattern).
func validCSRF(r *http.Request, want string) bool {
	got := r.PostFormValue("csrf")
	if got == "" {
		// A multipart form (the import) is parsed by PostFormValue too; nothing else counts.
		return false
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// toLogin sends a browser to the login page, or answers 401 to anything else.
func (h *Handler) toLogin(w http.ResponseWriter, r *http.Request, msg string) {
	if msg != "" {
		h.sessions.Put(r.Context(), keyFlash, msg)
	}
	if r.Method != http.MethodGet {
		h.errorPage(w, r, http.StatusUnauthorized, "Nicht angemeldet", cmpMsg(msg, "Bitte melden Sie sich an."))
		return
	}
	http.Redirect(w, r, "/anmelden", http.StatusSeeOther)
}

func cmpMsg(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// allow asks the policy whether the caller may run op on ressort. A refusal is answered
// with a 403 page here; the caller of allow just returns.
func (q *request) allow(op, ressort string) (domain.ReadScope, bool) {
	ok, read, _, err := q.h.cfg.Authorizer.Authorize(q.caller, op, http.MethodGet, ressort)
	if err != nil {
		q.h.serverError(q.w, q.r, err)
		return domain.ReadScope{}, false
	}
	if !ok {
		q.forbidden(ressort)
		return domain.ReadScope{}, false
	}
	return read, true
}

// allowWrite is allow for an operation that changes something.
func (q *request) allowWrite(op, ressort string) (domain.WriteScope, bool) {
	ok, _, write, err := q.h.cfg.Authorizer.Authorize(q.caller, op, http.MethodPost, ressort)
	if err != nil {
		q.h.serverError(q.w, q.r, err)
		return domain.WriteScope{}, false
	}
	if !ok {
		q.forbidden(ressort)
		return domain.WriteScope{}, false
	}
	return write, true
}

// may tells, without answering, whether the caller may run op (for links and forms).
func (q *request) may(op, method, ressort string) bool {
	ok, _, _, err := q.h.cfg.Authorizer.Authorize(q.caller, op, method, ressort)
	return err == nil && ok
}

func (q *request) forbidden(ressort string) {
	detail := "Ihre Rollen erlauben diese Seite nicht."
	if ressort != "" {
		detail = "Ihre Rollen erlauben diese Seite für das Ressort " + ressort + " nicht. Wenn Sie den Zugang brauchen, wenden Sie sich an die Administration von regmo."
	}
	q.h.render(q.w, q.r, http.StatusForbidden, "error", q.view("Kein Zugriff", errorData{Title: "Kein Zugriff", Detail: detail}))
}

func (h *Handler) serverError(w http.ResponseWriter, r *http.Request, err error) {
	h.cfg.Log.Error("web: request failed", slog.String("path", r.URL.Path), slog.String("error", err.Error()))
	h.errorPage(w, r, http.StatusInternalServerError, "Fehler", "Die Seite konnte gerade nicht erstellt werden. Bitte versuchen Sie es gleich noch einmal.")
}

// logout ends the session.
func (h *Handler) logout(q *request) {
	if err := q.h.sessions.Destroy(q.ctx); err != nil {
		h.serverError(q.w, q.r, err)
		return
	}
	h.sessions.Put(q.ctx, keyFlash, "Sie sind abgemeldet.")
	http.Redirect(q.w, q.r, "/anmelden", http.StatusSeeOther)
}
