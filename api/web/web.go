// Package web is regmo's German web interface: server-rendered pages for the
// OZG-Koordination and the Ressorts, on the same domain services, the same Casbin policy and
// the same two walls of Ressort scope as the API. Sessions live in PostgreSQL; people get in
// through single sign-on (OIDC) or a one-time login link. Pages work without JavaScript.
package web

import (
	"cmp"
	"database/sql"
	"embed"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/alexedwards/scs/postgresstore"
	"github.com/alexedwards/scs/v2"

	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/access"
	"github.com/bremen/regmo/domain/notify"
	"github.com/bremen/regmo/domain/report"
	"github.com/bremen/regmo/domain/store"
	"github.com/bremen/regmo/domain/transfer"
)

//go:embed templates/*.html static/*
var assets embed.FS

// Authorizer is the decision the web interface needs from the API's policy: may the caller
// run the operation (an operationId of openapi.yaml) with the method on the Ressort ("" for
// none), and with which scope. Reads get a read scope (GET), changes a write scope (POST).
type Authorizer interface {
	Authorize(caller domain.Caller, op, method, ressort string) (allowed bool, read domain.ReadScope, write domain.WriteScope, err error)
}

// OIDC configures single sign-on through an OpenID provider.
type OIDC struct {
	Issuer, ClientID, ClientSecret string
	// UserClaim names the ID token claim that holds the regmo user name; empty means
	// preferred_username.
	UserClaim string
}

// Options are what an operator sets (regmo serve reads them from the environment).
type Options struct {
	// PublicURL is where browsers reach the service, without a trailing slash; the OIDC
	// redirect URL is PublicURL + "/auth/callback". Empty means http://127.0.0.1:8080.
	PublicURL string
	// SecureCookies marks the session cookie Secure; it is set as well when PublicURL is
	// https (the service behind a TLS proxy).
	SecureCookies bool
	// OIDC, when set, offers single sign-on.
	OIDC *OIDC
	// SMTPConfigured says whether e-mail goes out (REGMO_SMTP_URL is set); the admin page
	// says so when it does not.
	SMTPConfigured bool
	// IdleTimeout and Lifetime end a session 8 h after its last request and 24 h after the
	// login unless they say otherwise.
	IdleTimeout, Lifetime time.Duration
}

// Config is what the web interface is built from; the API's server fills it.
type Config struct {
	Options
	Authorizer Authorizer
	Inventory  *store.Inventory
	Transfer   *transfer.Service
	Reports    *report.Service
	Access     *access.Service
	Ressorts   *store.Ressorts
	// Replicas learn of every form a user sends, so that the reports and history they read
	// from a replica afterwards show their change (see store.Replicas); nil without replicas.
	Replicas *store.Replicas
	// Prefs holds the users' e-mail choices (the user's own page).
	Prefs *notify.PrefsStore
	// DB holds the sessions (the service's pool, as regmo_app).
	DB  *sql.DB
	Log *slog.Logger
	// Now is the clock of session expiry (tests); nil means time.Now.
	Now func() time.Time
	// CSVImport reads an import file in the API's CSV format.
	CSVImport func(r io.Reader, kind domain.Kind) transfer.ImportSource
	// HTTPClient talks to the OpenID provider; nil means http.DefaultClient.
	HTTPClient *http.Client
}

// Handler serves the web interface.
type Handler struct {
	cfg      Config
	sessions *scs.SessionManager
	store    *postgresstore.PostgresStore
	pages    map[string]*pageTemplate
	mux      *http.ServeMux
	static   http.Handler
	now      func() time.Time

	oidcMu sync.Mutex
	oidc   *oidcClient
}

// The defaults of issue 13.
const (
	defaultIdle     = 8 * time.Hour
	defaultLifetime = 24 * time.Hour
	cookieName      = "regmo_sitzung"
)

// New builds the web interface.
func New(cfg Config) (*Handler, error) {
	if cfg.Authorizer == nil || cfg.Inventory == nil || cfg.Access == nil || cfg.DB == nil || cfg.Prefs == nil {
		return nil, errors.New("web: Authorizer, Inventory, Access, Prefs and DB are required")
	}
	if cfg.Transfer == nil {
		return nil, errors.New("web: Transfer is required")
	}
	if cfg.Reports == nil {
		return nil, errors.New("web: Reports is required")
	}
	cfg.PublicURL = strings.TrimRight(cmp.Or(cfg.PublicURL, "http://127.0.0.1:8080"), "/")
	cfg.IdleTimeout = cmp.Or(cfg.IdleTimeout, defaultIdle)
	cfg.Lifetime = cmp.Or(cfg.Lifetime, defaultLifetime)
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.OIDC != nil {
		cfg.OIDC.UserClaim = cmp.Or(cfg.OIDC.UserClaim, "preferred_username")
	}
	h := &Handler{cfg: cfg, now: cfg.Now}
	if h.now == nil {
		h.now = time.Now
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	h.pages = pages
	h.store = postgresstore.NewWithCleanupInterval(cfg.DB, 10*time.Minute)
	sm := scs.New()
	sm.Store = h.store
	sm.Lifetime = cfg.Lifetime
	sm.IdleTimeout = cfg.IdleTimeout
	sm.Cookie.Name = cookieName
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Secure = cfg.SecureCookies || strings.HasPrefix(cfg.PublicURL, "https://")
	sm.Cookie.Path = "/"
	sm.Cookie.Persist = false
	sm.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		cfg.Log.Error("web: session store", slog.String("error", err.Error()))
		http.Error(w, "Die Sitzung konnte nicht gelesen werden. Bitte versuchen Sie es gleich noch einmal.", http.StatusServiceUnavailable)
	}
	h.sessions = sm
	static, err := fs.Sub(assets, "static")
	if err != nil {
		return nil, err
	}
	h.static = http.StripPrefix("/static/", http.FileServerFS(static))
	h.mux = h.routes()
	return h, nil
}

// Close stops the removal of expired sessions.
func (h *Handler) Close() { h.store.StopCleanup() }

func (h *Handler) routes() *http.ServeMux {
	m := http.NewServeMux()
	m.Handle("GET /static/", h.static)
	m.HandleFunc("GET /anmelden", h.loginPage)
	m.HandleFunc("GET /anmelden/link", h.loginLink)
	m.HandleFunc("GET /auth/login", h.oidcStart)
	m.HandleFunc("GET /auth/callback", h.oidcCallback)
	m.HandleFunc("POST /abmelden", h.authed(h.logout))

	m.HandleFunc("GET /{$}", h.authed(h.overview))
	m.HandleFunc("GET /druck", h.authed(h.printView))
	m.HandleFunc("GET /ressorts/{code}", h.authed(h.ressortPage))
	m.HandleFunc("GET /ressorts/{code}/neu", h.authed(h.newEntryForm))
	m.HandleFunc("POST /ressorts/{code}/neu", h.authed(h.createEntry))
	m.HandleFunc("GET /ressorts/{code}/{kind}/{key}", h.authed(h.entryPage))
	m.HandleFunc("POST /ressorts/{code}/{kind}/{key}", h.authed(h.saveEntry))
	m.HandleFunc("GET /berichte", h.authed(h.reportsPage))
	m.HandleFunc("GET /berichte/{name}", h.authed(h.reportPage))
	m.HandleFunc("GET /import", h.authed(h.importForm))
	m.HandleFunc("POST /import", h.authed(h.importDryRun))
	m.HandleFunc("POST /import/bestaetigen", h.authed(h.importConfirm))
	m.HandleFunc("GET "+AccountPath, h.authed(h.accountPage))
	m.HandleFunc("POST "+AccountPath+"/benachrichtigungen", h.authed(h.saveNotifications))
	m.HandleFunc("GET /verwaltung", h.authed(h.adminPage))
	m.HandleFunc("POST /verwaltung/nutzer", h.authed(h.adminPutUser))
	m.HandleFunc("GET /verwaltung/nutzer/{name}", h.authed(h.adminUserPage))
	m.HandleFunc("POST /verwaltung/nutzer/{name}/tokens", h.authed(h.adminIssueToken))
	m.HandleFunc("POST /verwaltung/nutzer/{name}/tokens/{id}/widerrufen", h.authed(h.adminRevokeToken))
	m.HandleFunc("/", h.notFound) // an owned path without a page (e.g. /ressorts/)
	return m
}

// Owns reports whether a path belongs to the web interface; the API's server sends every
// other path to the API. The list is the routes' above: /v1, /healthz, /readyz,
// /openapi.yaml and anything unknown stay with the API.
func Owns(p string) bool {
	switch p {
	case "/", "/anmelden", "/abmelden", "/druck", "/berichte", "/import", "/verwaltung", AccountPath:
		return true
	}
	for _, prefix := range []string{"/static/", "/anmelden/", "/auth/", "/ressorts/", "/berichte/", "/import/", "/verwaltung/", AccountPath + "/"} {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}

// contentSecurityPolicy allows nothing but the service's own style sheet and images: no
// script at all, no inline style, no framing, forms only to the service itself.
const contentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'"

// ServeHTTP serves a page with the security headers every answer of the web interface has.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", contentSecurityPolicy)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
	if !strings.HasPrefix(r.URL.Path, "/static/") {
		hd.Set("Cache-Control", "no-store")
	}
	if r.Method == http.MethodPost {
		// Forms are small; the import's file has its own limit.
		r.Body = http.MaxBytesReader(w, r.Body, maxUpload+1<<20)
	}
	h.sessions.LoadAndSave(h.mux).ServeHTTP(w, r)
}

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	h.errorPage(w, r, http.StatusNotFound, "Seite nicht gefunden", "Diese Adresse gibt es nicht. Über das Menü kommen Sie zur Übersicht.")
}
