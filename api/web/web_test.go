package web_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/bremen/regmo/api"
	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/access"
	"github.com/bremen/regmo/domain/demo"
	"github.com/bremen/regmo/domain/store"
	"github.com/bremen/regmo/migrations/testdb"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testdb.Cleanup()
	os.Exit(code)
}

// clock is the server's clock, moved by the tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is regmo serving the demo inventory on a fresh database, with the users
// admin, koordination (ozg-koordination), sis (ressortverantwortliche SIS) and swht
// (ressortverantwortliche SWHT).
type env struct {
	t     testing.TB
	url   string
	owner *gorm.DB
	clock *clock
	srv   *api.Server
}

func skipWithoutDB(t testing.TB) {
	if os.Getenv(testdb.EnvURL) == "" {
		t.Skipf("%s is not set: run make test", testdb.EnvURL)
	}
}

func newEnv(t testing.TB, cfg api.Config) *env {
	t.Helper()
	return newEnvOn(t, cfg, nil)
}

// newEnvOn is newEnv serving on ln (nil: a new listener), for tests that must know the
// address before the server is built.
func newEnvOn(t testing.TB, cfg api.Config, ln net.Listener) *env {
	t.Helper()
	skipWithoutDB(t)
	dsn := testdb.DSN(t)
	owner := testdb.Open(t, dsn)
	ctx := context.Background()
	if _, _, err := demo.Seed(ctx, store.NewInventory(owner)); err != nil {
		t.Fatalf("seed demo: %v", err)
	}
	acc := access.New(store.NewAccess(owner))
	for _, u := range []domain.User{
		{Name: "admin", Active: true, Bindings: []domain.Binding{{Role: domain.RoleAdmin}}},
		{Name: "koordination", Active: true, Bindings: []domain.Binding{{Role: domain.RoleOZGKoordination}}},
		{Name: "sis", DisplayName: "Sabine Inneres", Active: true, Bindings: []domain.Binding{{Role: domain.RoleRessortverantwortliche, Ressort: "SIS"}}},
		{Name: "swht", Active: true, Bindings: []domain.Binding{{Role: domain.RoleRessortverantwortliche, Ressort: "SWHT"}}},
	} {
		if _, _, err := acc.PutUser(ctx, "test", domain.WriteAll(), u); err != nil {
			t.Fatalf("put user %s: %v", u.Name, err)
		}
	}
	c := &clock{t: time.Now()}
	cfg.DB = testdb.App(t, dsn)
	cfg.Now = c.Now
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	srv, err := api.New(cfg)
	if err != nil {
		t.Fatalf("api.New: %v", err)
	}
	t.Cleanup(srv.Close)
	ts := httptest.NewUnstartedServer(srv)
	if ln != nil {
		ts.Listener.Close()
		ts.Listener = ln
	}
	ts.Start()
	t.Cleanup(ts.Close)
	return &env{t: t, url: ts.URL, owner: owner, clock: c, srv: srv}
}

// link issues a one-time login link for user, as regmo login-link does.
func (e *env) link(user string) string {
	e.t.Helper()
	secret, _, err := access.New(store.NewAccess(e.owner)).WithClock(e.clock.Now).IssueLoginLink(context.Background(), "test", domain.WriteAll(), user, 0)
	if err != nil {
		e.t.Fatalf("login link: %v", err)
	}
	return "/anmelden/link?t=" + url.QueryEscape(secret)
}

// browser is one cookie jar against the server; it follows redirects.
type browser struct {
	e      *env
	client *http.Client
	// last is the body of the last page, where csrf comes from.
	last string
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, client: &http.Client{Jar: jar}}
}

func (e *env) login(user string) *browser {
	e.t.Helper()
	b := e.browser()
	if code, body := b.get(e.link(user)); code != http.StatusOK || !strings.Contains(body, "Angemeldet als <strong>"+user+"</strong>") {
		e.t.Fatalf("login as %s: %d\n%s", user, code, body)
	}
	return b
}

type page struct {
	code int
	body string
	url  string
	hdr  http.Header
}

func (b *browser) do(req *http.Request) page {
	b.e.t.Helper()
	res, err := b.client.Do(req)
	if err != nil {
		b.e.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	b.last = string(body)
	if len(body) > 150<<10 && strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		b.e.t.Errorf("%s %s: page has %d bytes, more than 150 KB", req.Method, req.URL, len(body))
	}
	return page{code: res.StatusCode, body: string(body), url: res.Request.URL.Path, hdr: res.Header}
}

func (b *browser) get(path string) (int, string) {
	p := b.page(path)
	return p.code, p.body
}

func (b *browser) page(path string) page {
	req, _ := http.NewRequest(http.MethodGet, b.e.url+path, nil)
	return b.do(req)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// forgedToken differs from the good token in its first character only. A random token may
// begin with any character: replacing it with a fixed one let a test send the good token 1 in
// 64 times.
func forgedToken(good string) string {
	first := "x"
	if good[0] == 'x' {
		first = "y"
	}
	return first + good[1:]
}

// csrf is the token of the last page's forms.
func (b *browser) csrf() string {
	m := csrfField.FindStringSubmatch(b.last)
	if m == nil {
		b.e.t.Fatalf("no csrf field on the last page:\n%s", b.last)
	}
	return m[1]
}

func (b *browser) post(path string, form url.Values) page {
	req, _ := http.NewRequest(http.MethodPost, b.e.url+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// entryForm is the edit form of the demo's Melderegister with one stage changed.
func entryForm(csrf, version, nootsStage string) url.Values {
	return url.Values{"csrf": {csrf}, "version": {version}, "name": {"Melderegister"}, "idnrg_anlage_nr": {"1"},
		"legal_basis": {"Bundesmeldegesetz"}, "fachverfahren": {"VOIS|MESO"},
		"description": {"Melderegister der Stadtgemeinde Bremen, geführt vom Bürgeramt."},
		"idnr_stage":  {"live"}, "idnr_note": {"Erstbefüllung über das BZSt abgeschlossen."},
		"noots_stage": {nootsStage}, "noots_target_date": {"2026-06-30"}, "noots_note": {"Readiness-Check in der Referenzumgebung."},
		"dsc_stage": {"in_progress"}, "dsc_target_date": {"2026-12-31"}}
}

const melderegister = "/ressorts/SIS/register/melderegister"

func nootsStage(t *testing.T, e *env) domain.Stage {
	t.Helper()
	got, err := store.NewInventory(e.owner).Get(context.Background(), domain.ReadAll(), domain.KindRegister, "SIS", "melderegister")
	if err != nil {
		t.Fatal(err)
	}
	return got.Readiness.NOOTS.Stage
}

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t, api.Config{})
	b := e.browser()
	p := b.page("/anmelden")
	if p.code != http.StatusOK {
		t.Fatalf("GET /anmelden = %d", p.code)
	}
	csp := p.hdr.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "frame-ancestors 'none'", "style-src 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP allows inline code: %q", csp)
	}
	if got := p.hdr.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options = %q", got)
	}
	if strings.Contains(p.body, "<script") || strings.Contains(p.body, "style=") {
		t.Errorf("the login page has inline script or style")
	}
	// Not logged in: every page leads to the login.
	if p := b.page("/"); p.url != "/anmelden" {
		t.Errorf("GET / without a session ends at %s, want /anmelden", p.url)
	}
	// The API keeps failing closed beside the web interface.
	res, err := http.Get(e.url + "/v1/nothing")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/problem+json") {
		t.Errorf("GET /v1/nothing = %d %s, want a 404 problem", res.StatusCode, res.Header.Get("Content-Type"))
	}
}

func TestSessionCookie(t *testing.T) {
	e := newEnv(t, api.Config{})
	b := e.browser()
	req, _ := http.NewRequest(http.MethodGet, e.url+e.link("sis"), nil)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Jar: b.client.Jar}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	c := res.Header.Get("Set-Cookie")
	for _, want := range []string{"regmo_sitzung=", "HttpOnly", "SameSite=Lax", "Path=/"} {
		if !strings.Contains(c, want) {
			t.Errorf("Set-Cookie %q lacks %q", c, want)
		}
	}
	if strings.Contains(c, "Secure") {
		t.Errorf("cookie is Secure on plain http: %q", c)
	}
}

func TestLoginLinkOnceAndShortLived(t *testing.T) {
	e := newEnv(t, api.Config{})
	link := e.link("sis")
	if code, _ := e.browser().get(link); code != http.StatusOK {
		t.Fatalf("first use = %d", code)
	}
	if code, body := e.browser().get(link); code != http.StatusUnauthorized || !strings.Contains(body, "Anmelde-Link ungültig") {
		t.Errorf("second use = %d, want 401 with an explanation", code)
	}
	old := e.link("sis")
	e.clock.Advance(16 * time.Minute)
	if code, _ := e.browser().get(old); code != http.StatusUnauthorized {
		t.Errorf("use after 16 minutes = %d, want 401", code)
	}
}

func TestCSRFRefused(t *testing.T) {
	e := newEnv(t, api.Config{})
	b := e.login("sis")
	b.get(melderegister)
	good := b.csrf()
	for _, tt := range []struct {
		name, csrf string
	}{{"no token", ""}, {"another token", forgedToken(good)}} {
		t.Run(tt.name, func(t *testing.T) {
			p := b.post(melderegister, entryForm(tt.csrf, "1", "live"))
			if p.code != http.StatusForbidden || !strings.Contains(p.body, "Formular abgelehnt") {
				t.Errorf("POST = %d, want 403 Formular abgelehnt", p.code)
			}
			if got := nootsStage(t, e); got != domain.StageTesting {
				t.Errorf("stage = %s after a refused form, want testing", got)
			}
		})
	}
	// A token from another session does not count either.
	other := e.login("sis")
	other.get(melderegister)
	if p := b.post(melderegister, entryForm(other.csrf(), "1", "live")); p.code != http.StatusForbidden {
		t.Errorf("POST with another session's token = %d, want 403", p.code)
	}
	// Logging out needs the token too.
	if p := b.post("/abmelden", url.Values{}); p.code != http.StatusForbidden {
		t.Errorf("POST /abmelden without token = %d, want 403", p.code)
	}
	p := b.post(melderegister, entryForm(good, "1", "live"))
	if p.code != http.StatusOK || p.url != melderegister || !strings.Contains(p.body, "Gespeichert") {
		t.Fatalf("POST with the token = %d at %s\n%s", p.code, p.url, p.body)
	}
	if got := nootsStage(t, e); got != domain.StageLive {
		t.Errorf("stage = %s, want live", got)
	}
}

func TestSessionExpiry(t *testing.T) {
	e := newEnv(t, api.Config{})
	t.Run("idle 8 h", func(t *testing.T) {
		b := e.login("sis")
		e.clock.Advance(7*time.Hour + 59*time.Minute)
		if p := b.page("/"); p.url != "/" || p.code != http.StatusOK {
			t.Fatalf("after 7:59 idle: %d at %s, want the overview", p.code, p.url)
		}
		e.clock.Advance(8 * time.Hour)
		p := b.page("/")
		if p.url != "/anmelden" || !strings.Contains(p.body, "Sitzung ist abgelaufen") {
			t.Errorf("after 8 h idle: %d at %s, want the login with a notice", p.code, p.url)
		}
		if p := b.page("/"); p.url != "/anmelden" {
			t.Errorf("the expired session came back: %s", p.url)
		}
	})
	t.Run("absolute 24 h", func(t *testing.T) {
		b := e.login("sis")
		for i := 0; i < 3; i++ {
			e.clock.Advance(7 * time.Hour)
			if p := b.page("/"); p.url != "/" {
				t.Fatalf("after %d h with requests every 7 h: at %s, want the overview", 7*(i+1), p.url)
			}
		}
		e.clock.Advance(3 * time.Hour) // 24 h since the login, 3 h since the last request
		if p := b.page("/"); p.url != "/anmelden" {
			t.Errorf("24 h after the login: at %s, want /anmelden", p.url)
		}
	})
}

func TestScope(t *testing.T) {
	e := newEnv(t, api.Config{})
	b := e.login("swht")
	for _, path := range []string{"/ressorts/SIS", "/ressorts/SIS?art=onlinedienst", melderegister,
		"/ressorts/SIS/onlinedienst/ewa", "/ressorts/SIS/neu?art=register"} {
		code, body := b.get(path)
		if code != http.StatusForbidden {
			t.Errorf("GET %s = %d, want 403", path, code)
		}
		for _, foreign := range []string{"Melderegister", "eWA", "Passregister"} {
			if strings.Contains(body, foreign) {
				t.Errorf("GET %s shows %q of SIS", path, foreign)
			}
		}
	}
	b.get("/ressorts/SWHT")
	if p := b.post(melderegister, entryForm(b.csrf(), "1", "live")); p.code != http.StatusForbidden {
		t.Errorf("POST to a SIS entry = %d, want 403", p.code)
	}
	if got := nootsStage(t, e); got != domain.StageTesting {
		t.Errorf("stage = %s, want testing", got)
	}
	code, body := b.get("/")
	if code != http.StatusOK {
		t.Fatalf("overview = %d", code)
	}
	if strings.Contains(body, `href="/ressorts/SIS"`) || strings.Contains(body, "Senator für Inneres") {
		t.Errorf("the overview of SWHT shows SIS")
	}
	if !strings.Contains(body, "Gewerberegister") && !strings.Contains(body, "SWHT") {
		t.Errorf("the overview of SWHT lacks SWHT")
	}
	if code, _ := b.get("/verwaltung"); code != http.StatusForbidden {
		t.Errorf("GET /verwaltung as Ressortverantwortliche/r = %d, want 403", code)
	}
	if code, _ := b.get("/ressorts/SWHT"); code != http.StatusOK {
		t.Errorf("GET /ressorts/SWHT = %d, want 200", code)
	}
	// The coordination reads everything and changes nothing.
	k := e.login("koordination")
	if code, body := k.get(melderegister); code != http.StatusOK || strings.Contains(body, `id="bearbeiten"`) {
		t.Errorf("coordination on an entry: %d, edit form shown: %v", code, strings.Contains(body, `id="bearbeiten"`))
	}
	if p := k.post(melderegister, entryForm(k.csrf(), "1", "live")); p.code != http.StatusForbidden {
		t.Errorf("coordination POST = %d, want 403", p.code)
	}
}

func TestDeactivatedUserLosesSession(t *testing.T) {
	e := newEnv(t, api.Config{})
	b := e.login("sis")
	other := e.login("swht")
	if err := e.owner.Exec(`UPDATE users SET active = false WHERE name = 'sis'`).Error; err != nil {
		t.Fatal(err)
	}
	// Another instance's change reaches this one through LISTEN/NOTIFY, within a second.
	deadline := time.Now().Add(2 * time.Second)
	var p page
	for {
		p = b.page("/")
		if p.url == "/anmelden" || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if p.url != "/anmelden" || !strings.Contains(p.body, "nicht mehr aktiv") {
		t.Fatalf("deactivated user: at %s, want the login page saying so", p.url)
	}
	if err := e.owner.Exec(`UPDATE users SET active = true WHERE name = 'sis'`).Error; err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if p := b.page("/"); p.url != "/anmelden" {
		t.Errorf("the session came back after reactivation")
	}
	if p := other.page("/"); p.url != "/" {
		t.Errorf("another user's session ended too")
	}
	// Removing a binding applies at the next request as well.
	if err := e.owner.Exec(`DELETE FROM bindings WHERE user_name = 'swht'`).Error; err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(2 * time.Second)
	for {
		p = other.page("/ressorts/SWHT")
		if p.code == http.StatusForbidden || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if p.code != http.StatusForbidden {
		t.Errorf("after removing the binding: GET /ressorts/SWHT = %d, want 403", p.code)
	}
}

func TestLogout(t *testing.T) {
	e := newEnv(t, api.Config{})
	b := e.login("sis")
	b.get("/")
	p := b.post("/abmelden", url.Values{"csrf": {b.csrf()}})
	if p.url != "/anmelden" || !strings.Contains(p.body, "Sie sind abgemeldet") {
		t.Fatalf("logout: at %s", p.url)
	}
	if p := b.page("/"); p.url != "/anmelden" {
		t.Errorf("after logout GET / is at %s", p.url)
	}
}

func TestConflictNotice(t *testing.T) {
	e := newEnv(t, api.Config{})
	a, b := e.login("sis"), e.login("admin")
	a.get(melderegister)
	aCSRF := a.csrf()
	b.get(melderegister)
	if p := b.post(melderegister, entryForm(b.csrf(), "1", "in_progress")); p.code != http.StatusOK {
		t.Fatalf("first save = %d", p.code)
	}
	p := a.post(melderegister, entryForm(aCSRF, "1", "live"))
	if p.code != http.StatusConflict || !strings.Contains(p.body, "inzwischen geändert") {
		t.Fatalf("stale save = %d, want 409 with the notice\n%s", p.code, p.body)
	}
	for _, want := range []string{"NOOTS: Stufe", "<td>live</td>", "<td>in Arbeit</td>", `name="version" value="2"`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the conflict page lacks %q", want)
		}
	}
	if p := a.post(melderegister, entryForm(a.csrf(), "2", "live")); p.code != http.StatusOK || !strings.Contains(p.body, "Version 3") {
		t.Errorf("saving on the newer version = %d", p.code)
	}
	if got := nootsStage(t, e); got != domain.StageLive {
		t.Errorf("stage = %s, want live", got)
	}
}

func TestPages(t *testing.T) {
	e := newEnv(t, api.Config{})
	b := e.login("admin")
	for _, path := range []string{"/", "/?stand=2026-01-31", "/druck", "/ressorts/SIS", "/ressorts/SIS?art=onlinedienst&q=e&sortierung=name",
		"/ressorts/SIS?dimension=noots&stufe=testing", melderegister, "/ressorts/SIS/onlinedienst/ewa", "/ressorts/SIS/neu?art=onlinedienst",
		"/berichte", "/berichte/bereitschaft", "/berichte/ueberfaellig", "/berichte/blockiert", "/berichte/konsistenz",
		"/berichte/anlage", "/berichte/fortschritt?von=2025-01-01", "/import", "/verwaltung", "/verwaltung/nutzer/sis", "/konto"} {
		if code, body := b.get(path); code != http.StatusOK {
			t.Errorf("GET %s = %d\n%s", path, code, body)
		}
	}
	for format, ctype := range map[string]string{"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"} {
		p := b.page("/berichte/bereitschaft?format=" + format)
		if p.code != http.StatusOK || !strings.HasPrefix(p.hdr.Get("Content-Type"), ctype) ||
			!strings.Contains(p.hdr.Get("Content-Disposition"), "readiness-") {
			t.Errorf("download %s: %d %s %s", format, p.code, p.hdr.Get("Content-Type"), p.hdr.Get("Content-Disposition"))
		}
	}
	// The CSV button gives the German Excel's CSV: byte order mark and ';'.
	if _, body := b.get("/berichte/bereitschaft"); !strings.Contains(body, "dialect=excel-de") {
		t.Error("the report page's CSV button does not ask for dialect=excel-de")
	}
	if p := b.page("/berichte/bereitschaft?format=csv&dialect=excel-de"); p.code != http.StatusOK || !strings.HasPrefix(p.body, "\ufeffRessort;Name;") {
		t.Errorf("German CSV download: %d, starts %q", p.code, p.body[:min(len(p.body), 20)])
	}
	if code, _ := b.get("/ressorts/SIS/register/gibt-es-nicht"); code != http.StatusNotFound {
		t.Errorf("missing entry = %d, want 404", code)
	}
	if code, _ := b.get("/ressorts/"); code != http.StatusNotFound {
		t.Errorf("unknown page = %d, want 404", code)
	}
	// A path the web interface does not own is the API's: a problem, not a page.
	if p := b.page("/nirgendwo"); p.code != http.StatusNotFound || !strings.HasPrefix(p.hdr.Get("Content-Type"), "application/problem+json") {
		t.Errorf("GET /nirgendwo = %d %s, want the API's 404 problem", p.code, p.hdr.Get("Content-Type"))
	}
}
