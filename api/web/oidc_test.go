package web_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"

	"github.com/bremen/regmo/api"
	"github.com/bremen/regmo/api/web"
)

// idp is a real OpenID provider (zitadel/oidc's op package with its example storage and
// login form) whose users are sis (a regmo user), fremd (unknown to regmo) and alt (a
// deactivated regmo user).
type idp struct {
	t      *testing.T
	issuer string
}

func startIDP(t *testing.T, redirect string) *idp {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	issuer := "http://" + ts.Listener.Addr().String()
	users := map[string]map[string]any{}
	for _, name := range []string{"sis", "fremd", "alt"} {
		users["id-"+name] = map[string]any{"ID": "id-" + name, "Username": name, "Password": "geheim", "FirstName": name,
			"LastName": "Test", "Email": name + "@bremen.example", "EmailVerified": true, "PreferredLanguage": "de"}
	}
	data, _ := json.Marshal(users)
	path := filepath.Join(t.TempDir(), "users.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	store, err := storage.StoreFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	st := storage.NewStorageWithClients(store, map[string]*storage.Client{"regmo": storage.WebClient("regmo", "regmo-secret", redirect)})
	ts.Config.Handler = exampleop.SetupServer(issuer, st, slog.New(slog.NewTextHandler(io.Discard, nil)), false)
	ts.Start()
	t.Cleanup(ts.Close)
	return &idp{t: t, issuer: issuer}
}

// oidcEnv is regmo with single sign-on through a provider the test starts.
func oidcEnv(t *testing.T) (*env, *idp) {
	t.Helper()
	skipWithoutDB(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	public := "http://" + ln.Addr().String()
	p := startIDP(t, public+"/auth/callback")
	e := newEnvOn(t, api.Config{Web: web.Options{PublicURL: public,
		OIDC: &web.OIDC{Issuer: p.issuer, ClientID: "regmo", ClientSecret: "regmo-secret"}}}, ln)
	if err := e.owner.Exec(`INSERT INTO users (name, active) VALUES ('alt', false)`).Error; err != nil {
		t.Fatal(err)
	}
	return e, p
}

// ssoClient is a browser for the flow (cookies); authorize makes it stop before regmo's
// callback, so that a test can tamper with it.
func ssoClient(bool) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar}
}

// authorize starts the login at regmo and returns the provider's login form URL; tamper may
// change the authorization request on its way to the provider.
func (p *idp) authorize(c *http.Client, e *env, tamper func(*url.URL)) string {
	p.t.Helper()
	c.CheckRedirect, _ = func(req *http.Request, via []*http.Request) error {
		if tamper != nil && strings.HasPrefix(req.URL.String(), p.issuer) && len(via) == 1 {
			tamper(req.URL)
		}
		if req.URL.Path == "/auth/callback" && strings.HasPrefix(req.URL.String(), e.url) {
			return http.ErrUseLastResponse
		}
		return nil
	}, 0
	res, err := c.Get(e.url + "/auth/login")
	if err != nil {
		p.t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Request.URL.String(), p.issuer+"/login/username") {
		p.t.Fatalf("login start ends at %d %s", res.StatusCode, res.Request.URL)
	}
	return res.Request.URL.String()
}

// login fills the provider's login form; it returns the answer at regmo's callback, not
// yet followed.
func (p *idp) login(c *http.Client, form, user string) *http.Response {
	p.t.Helper()
	u, _ := url.Parse(form)
	res, err := c.PostForm(p.issuer+"/login/username", url.Values{"username": {user}, "password": {"geheim"},
		"id": {u.Query().Get("authRequestID")}})
	if err != nil {
		p.t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound || !strings.Contains(res.Header.Get("Location"), "/auth/callback") {
		p.t.Fatalf("provider login of %s: %d to %s", user, res.StatusCode, res.Header.Get("Location"))
	}
	return res
}

func get(t *testing.T, c *http.Client, u string) (int, string, string) {
	t.Helper()
	c.CheckRedirect = nil
	res, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body), res.Request.URL.Path
}

func TestOIDCLogin(t *testing.T) {
	e, p := oidcEnv(t)
	if code, body, _ := get(t, ssoClient(false), e.url+"/anmelden"); code != http.StatusOK || !strings.Contains(body, `href="/auth/login"`) {
		t.Fatalf("the login page offers no single sign-on: %d", code)
	}

	t.Run("known user gets in with exactly their bindings", func(t *testing.T) {
		c := ssoClient(false)
		res := p.login(c, p.authorize(c, e, nil), "sis")
		code, body, path := get(t, c, res.Header.Get("Location"))
		if code != http.StatusOK || path != "/" || !strings.Contains(body, "Angemeldet als <strong>sis</strong> (Ressortverantwortung SIS)") {
			t.Fatalf("after the callback: %d at %s\n%s", code, path, body)
		}
		if code, _, _ := get(t, c, e.url+"/ressorts/SIS"); code != http.StatusOK {
			t.Errorf("own Ressort = %d", code)
		}
		for _, path := range []string{"/ressorts/SWHT", "/verwaltung"} {
			if code, _, _ := get(t, c, e.url+path); code != http.StatusForbidden {
				t.Errorf("GET %s = %d, want 403", path, code)
			}
		}
	})

	for _, user := range []string{"fremd", "alt"} {
		t.Run(user+" does not get in", func(t *testing.T) {
			c := ssoClient(false)
			res := p.login(c, p.authorize(c, e, nil), user)
			code, body, _ := get(t, c, res.Header.Get("Location"))
			if code != http.StatusForbidden || !strings.Contains(body, "Kein Zugang zu regmo") ||
				!strings.Contains(body, "„"+user+"“") || !strings.Contains(body, "Administration") {
				t.Errorf("callback for %s = %d\n%s", user, code, body)
			}
			if _, _, path := get(t, c, e.url+"/"); path != "/anmelden" {
				t.Errorf("%s has a session: GET / is at %s", user, path)
			}
		})
	}

	t.Run("forged state", func(t *testing.T) {
		c := ssoClient(false)
		res := p.login(c, p.authorize(c, e, nil), "sis")
		cb, _ := url.Parse(res.Header.Get("Location"))
		q := cb.Query()
		q.Set("state", "gefaelscht")
		cb.RawQuery = q.Encode()
		code, body, _ := get(t, c, cb.String())
		if code != http.StatusBadRequest || !strings.Contains(body, "Anmeldung abgelehnt") {
			t.Errorf("forged state = %d", code)
		}
		if _, _, path := get(t, c, e.url+"/"); path != "/anmelden" {
			t.Errorf("a forged state gave a session")
		}
	})

	t.Run("callback of another browser", func(t *testing.T) {
		c := ssoClient(false)
		res := p.login(c, p.authorize(c, e, nil), "sis")
		other := ssoClient(false)
		if code, _, _ := get(t, other, res.Header.Get("Location")); code != http.StatusBadRequest {
			t.Errorf("callback in a browser that did not start the login = %d, want 400", code)
		}
	})

	t.Run("forged nonce", func(t *testing.T) {
		c := ssoClient(false)
		form := p.authorize(c, e, func(u *url.URL) {
			q := u.Query()
			q.Set("nonce", "gefaelscht")
			u.RawQuery = q.Encode()
		})
		res := p.login(c, form, "sis")
		code, body, _ := get(t, c, res.Header.Get("Location"))
		if code != http.StatusBadRequest || !strings.Contains(body, "Die Bestätigung des Anmeldedienstes gehört zu keiner Anmeldung") {
			t.Errorf("forged nonce = %d\n%s", code, body)
		}
		if _, _, path := get(t, c, e.url+"/"); path != "/anmelden" {
			t.Errorf("a forged nonce gave a session")
		}
	})
}
