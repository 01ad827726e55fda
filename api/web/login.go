package web

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/bremen/regmo/domain"
)

// Session keys of a login through the OpenID provider under way.
const (
	keyOIDCState    = "oidc_state"
	keyOIDCNonce    = "oidc_nonce"
	keyOIDCVerifier = "oidc_verifier"
)

type loginData struct{ OIDC bool }

func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) {
	if h.sessions.GetString(r.Context(), keyUser) != "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	h.render(w, r, http.StatusOK, "login", view{Title: "Anmelden", Data: loginData{OIDC: h.cfg.OIDC != nil}})
}

// loginLink redeems a one-time link (regmo login-link USER) and starts a session.
func (h *Handler) loginLink(w http.ResponseWriter, r *http.Request) {
	caller, err := h.cfg.Access.RedeemLoginLink(r.Context(), r.URL.Query().Get("t"))
	if errors.Is(err, domain.ErrUnauthenticated) {
		h.errorPage(w, r, http.StatusUnauthorized, "Anmelde-Link ungültig",
			"Dieser Anmelde-Link ist unbekannt, schon benutzt oder älter als 15 Minuten, oder Ihr Zugang ist deaktiviert. "+
				"Bitten Sie die Administration von regmo um einen neuen Link.")
		return
	}
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if err := h.startSession(r.Context(), caller.User); err != nil {
		h.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// oidcClient is the connection to the OpenID provider, discovered at the first login.
type oidcClient struct {
	provider *oidc.Provider
	verifier *oidc.IDTokenVerifier
	oauth    oauth2.Config
}

func (h *Handler) clientContext(ctx context.Context) context.Context {
	if h.cfg.HTTPClient == nil {
		return ctx
	}
	return context.WithValue(oidc.ClientContext(ctx, h.cfg.HTTPClient), oauth2.HTTPClient, h.cfg.HTTPClient)
}

// provider discovers the provider once; a provider that is away at start-up does not keep
// regmo from starting, the next login tries again.
func (h *Handler) provider(ctx context.Context) (*oidcClient, error) {
	h.oidcMu.Lock()
	defer h.oidcMu.Unlock()
	if h.oidc != nil {
		return h.oidc, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c := h.cfg.OIDC
	p, err := oidc.NewProvider(h.clientContext(ctx), c.Issuer)
	if err != nil {
		return nil, fmt.Errorf("oidc: discover %s: %w", c.Issuer, err)
	}
	h.oidc = &oidcClient{
		provider: p,
		verifier: p.Verifier(&oidc.Config{ClientID: c.ClientID}),
		oauth: oauth2.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, Endpoint: p.Endpoint(),
			RedirectURL: h.cfg.PublicURL + "/auth/callback", Scopes: []string{oidc.ScopeOpenID, "profile", "email"}},
	}
	return h.oidc, nil
}

// oidcStart sends the browser to the provider: Authorization Code flow with PKCE (S256),
// state against forged callbacks and a nonce against replayed ID tokens, all kept in the
// (not yet logged-in) session.
func (h *Handler) oidcStart(w http.ResponseWriter, r *http.Request) {
	if h.cfg.OIDC == nil {
		h.notFound(w, r)
		return
	}
	c, err := h.provider(r.Context())
	if err != nil {
		h.cfg.Log.Error("web: single sign-on", slog.String("error", err.Error()))
		h.errorPage(w, r, http.StatusBadGateway, "Anmeldedienst nicht erreichbar",
			"Der Anmeldedienst der Verwaltung antwortet gerade nicht. Bitte versuchen Sie es später noch einmal.")
		return
	}
	state, nonce, verifier := randomToken(), randomToken(), oauth2.GenerateVerifier()
	ctx := r.Context()
	h.sessions.Put(ctx, keyOIDCState, state)
	h.sessions.Put(ctx, keyOIDCNonce, nonce)
	h.sessions.Put(ctx, keyOIDCVerifier, verifier)
	http.Redirect(w, r, c.oauth.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), http.StatusFound)
}

// oidcCallback completes the login. The claim UserClaim names the regmo user; what they may
// do stays regmo's bindings. An unknown or deactivated user gets no session.
func (h *Handler) oidcCallback(w http.ResponseWriter, r *http.Request) {
	if h.cfg.OIDC == nil {
		h.notFound(w, r)
		return
	}
	ctx := r.Context()
	state := h.sessions.PopString(ctx, keyOIDCState)
	nonce := h.sessions.PopString(ctx, keyOIDCNonce)
	verifier := h.sessions.PopString(ctx, keyOIDCVerifier)
	refuse := func(detail string, err error) {
		if err != nil {
			h.cfg.Log.Warn("web: single sign-on refused", slog.String("error", err.Error()))
		}
		h.errorPage(w, r, http.StatusBadRequest, "Anmeldung abgelehnt", detail)
	}
	q := r.URL.Query()
	if state == "" || subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(state)) != 1 {
		refuse("Die Antwort des Anmeldedienstes gehört zu keiner Anmeldung in diesem Browser. Bitte melden Sie sich neu an.", nil)
		return
	}
	if e := q.Get("error"); e != "" {
		refuse("Der Anmeldedienst hat die Anmeldung nicht bestätigt. Bitte versuchen Sie es noch einmal.", errors.New(e))
		return
	}
	c, err := h.provider(ctx)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	cctx := h.clientContext(ctx)
	tok, err := c.oauth.Exchange(cctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		refuse("Der Anmeldedienst hat die Anmeldung nicht bestätigt. Bitte versuchen Sie es noch einmal.", err)
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	idToken, err := c.verifier.Verify(cctx, raw)
	if err != nil {
		refuse("Die Bestätigung des Anmeldedienstes war ungültig. Bitte versuchen Sie es noch einmal.", err)
		return
	}
	if subtle.ConstantTimeCompare([]byte(idToken.Nonce), []byte(nonce)) != 1 {
		refuse("Die Bestätigung des Anmeldedienstes gehört zu keiner Anmeldung in diesem Browser. Bitte melden Sie sich neu an.",
			errors.New("nonce mismatch"))
		return
	}
	var claims map[string]any
	if err := idToken.Claims(&claims); err != nil {
		refuse("Die Bestätigung des Anmeldedienstes war ungültig.", err)
		return
	}
	name, _ := claims[h.cfg.OIDC.UserClaim].(string)
	if name == "" {
		// Some providers put the profile claims only into the UserInfo answer.
		info, err := c.provider.UserInfo(cctx, oauth2.StaticTokenSource(tok))
		if err != nil || info.Subject != idToken.Subject {
			refuse("Der Anmeldedienst hat Ihren Namen nicht übermittelt. Bitte wenden Sie sich an die Administration von regmo.", err)
			return
		}
		var more map[string]any
		if err := info.Claims(&more); err == nil {
			name, _ = more[h.cfg.OIDC.UserClaim].(string)
		}
	}
	caller, err := h.cfg.Access.CallerByName(ctx, name)
	if errors.Is(err, domain.ErrUnauthenticated) {
		_ = h.sessions.Destroy(ctx)
		who := "Ihr Konto"
		if name != "" {
			who = fmt.Sprintf("Ihr Konto „%s“", name)
		}
		h.errorPage(w, r, http.StatusForbidden, "Kein Zugang zu regmo",
			who+" ist in regmo nicht freigeschaltet oder deaktiviert. Bitten Sie die Administration von regmo, "+
				"einen Zugang unter diesem Namen anzulegen oder wieder zu aktivieren und Ihnen die passende Rolle "+
				"(z. B. Ressortverantwortung für Ihr Ressort) zu geben.")
		return
	}
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if err := h.startSession(ctx, caller.User); err != nil {
		h.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
