package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/bremen/regmo/api"
)

// The browser test drives a real headless Chromium (Debian's package chromium) with chromedp
// and runs axe-core (npm, pinned in the Makefile) in every page: any WCAG 2.1 A or AA
// violation fails it. make test installs both; without them the test fails and says how to
// get them (it skips only where every database test skips: without REGMO_TEST_DATABASE_URL).
//
// Screenshots of every page go to REGMO_SCREENSHOTS (default: the test's temporary
// directory); REGMO_UPDATE_SCREENSHOTS=1 also rewrites the two committed ones under
// api/web/screenshots.

// axeSource finds axe.min.js: REGMO_AXE, else where the Makefile puts it.
func axeSource(t *testing.T) string {
	path := os.Getenv("REGMO_AXE")
	if path == "" {
		path = filepath.Join("..", "..", ".regmo", "npm", "node_modules", "axe-core", "axe.min.js")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("axe-core is missing (%v): run make test, which fetches it, or "+
			"npm install --prefix .regmo/npm axe-core@4.10.3 and set REGMO_AXE to its axe.min.js", err)
	}
	return string(b)
}

func chromiumPath(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatalf("Chromium is missing: run make test, which installs it (apt-get install chromium)")
	return ""
}

type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// tab is one browser context (its own cookies) with one tab.
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string
	axe  string
	shot string
}

func (b *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// open navigates and returns the HTTP status of the page.
func (b *tab) open(path string) int64 {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	res, err := chromedp.Run(ctx, chromedp.NavigateResponse(b.base+path))
	if err != nil {
		b.t.Fatalf("open %s: %v", path, err)
	}
	return res.Status
}

// submit clicks a button that sends a form and returns the status of the page it leads to.
func (b *tab) submit(sel string) int64 {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	res, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("click %s: %v", sel, err)
	}
	return res.Status
}

func (b *tab) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func (b *tab) location() string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		b.t.Fatal(err)
	}
	return strings.TrimPrefix(loc, b.base)
}

// check runs axe-core in the page and fails on any WCAG 2.1 A/AA violation, then saves a
// screenshot named name.
func (b *tab) check(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](b.axe+";true")); err != nil {
		b.t.Fatalf("%s: inject axe: %v", name, err)
	}
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](`axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})
		.then(r => JSON.stringify(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
			nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ': ' + n.failureSummary)}))))`, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("%s: axe.run: %v", name, err)
	}
	var vs []axeViolation
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		b.t.Fatalf("%s: axe result: %v", name, err)
	}
	for _, v := range vs {
		b.t.Errorf("%s (%s): axe %s (%s): %s\n  %s", name, b.location(), v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "\n  "))
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("%s: screenshot: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(b.shot, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// pdfPageObject is a page object of a PDF; /Type /Pages is the tree above the pages.
var pdfPageObject = regexp.MustCompile(`/Type\s*/Page\b`)

// pdfPages prints the page as the browser's print dialogue would on A4 landscape (the page's
// @page rule decides the size and margins), saves the PDF beside the screenshots and counts
// its pages. Chromium writes every page object uncompressed, so counting them is enough.
func (b *tab) pdfPages(name string) int {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	pdf, err := chromedp.Run(ctx, chromedp.PrintToPDF(chromedp.PDFPaper(chromedp.PaperA4), chromedp.PDFLandscape(),
		chromedp.PDFPreferCSSPageSize(), chromedp.PDFPrintBackground()))
	if err != nil {
		b.t.Fatalf("%s: print to PDF: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(b.shot, name+".pdf"), pdf, 0o644); err != nil {
		b.t.Fatal(err)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		b.t.Fatalf("%s: the browser printed no PDF", name)
	}
	return len(pdfPageObject.FindAll(pdf, -1))
}

func TestBrowser(t *testing.T) {
	skipWithoutDB(t)
	chromium, axe := chromiumPath(t), axeSource(t)
	shots := os.Getenv("REGMO_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, api.Config{})
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox,
		chromedp.WindowSize(1280, 900))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	root, cancelRoot := chromedp.NewContext(alloc)
	defer cancelRoot()
	if err := chromedp.Do(root); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	newTab := func() *tab {
		ctx, cancel := chromedp.NewContext(root, chromedp.WithNewBrowserContext())
		t.Cleanup(cancel)
		// The first run opens the tab, which lives as long as the context of that run: no timeout.
		if err := chromedp.Do(ctx); err != nil {
			t.Fatalf("open a tab: %v", err)
		}
		return &tab{t: t, ctx: ctx, base: e.url, axe: axe, shot: shots}
	}

	// The coordination logs in with a one-time link and sees the demo inventory.
	k := newTab()
	if st := k.open(e.link("koordination")); st != http.StatusOK {
		t.Fatalf("login link: %d", st)
	}
	if loc := k.location(); loc != "/" {
		t.Fatalf("login link: at %s", loc)
	}
	overview := k.text("main")
	for _, want := range []string{"Übersicht", "SIS", "SWHT", "SASJI", "Stufen je Ressort und Dimension",
		"Anteil bereit in den letzten 12 Monaten", "Die 50 Register der Anlage", "Melderegister"} {
		if !strings.Contains(overview, want) {
			t.Errorf("the overview lacks %q", want)
		}
	}
	k.check("uebersicht")
	k.open("/?seit=2025-01-01")
	if !strings.Contains(k.text("main"), "Veränderung seit") {
		t.Errorf("the overview with seit lacks the progress")
	}
	k.check("uebersicht-veraenderung")
	k.open("/druck")
	k.check("druck")
	// The print view is the Senate annex: the demo inventory fits one sheet of A4 landscape.
	if n := k.pdfPages("druck"); n != 1 {
		t.Errorf("the print view prints on %d pages of A4 landscape, want 1", n)
	}
	for _, r := range []string{"berichte", "berichte/bereitschaft", "berichte/fortschritt?von=2025-01-01", "berichte/ueberfaellig",
		"berichte/blockiert", "berichte/konsistenz", "berichte/anlage"} {
		if st := k.open("/" + r); st != http.StatusOK {
			t.Errorf("GET /%s = %d", r, st)
		}
		k.check(strings.NewReplacer("/", "-", "?", "-", "=", "-").Replace(r))
	}
	k.open("/ressorts/SIS/register/melderegister")
	k.check("eintrag-lesen")

	// A Ressortverantwortliche/r changes a stage in the form and sees it saved and in the history.
	a := newTab()
	a.open(e.link("sis"))
	a.check("uebersicht-ressort")
	a.open("/ressorts/SIS")
	a.check("ressort")
	a.open("/ressorts/SIS/register/melderegister")
	a.do("choose a stage", chromedp.SetValue(chromedp.CSS("#noots_stage"), "live"))
	a.check("eintrag-bearbeiten")
	if st := a.submit("#bearbeiten button[type=submit]"); st != http.StatusOK {
		t.Fatalf("save = %d", st)
	}
	if msg := a.text(".hinweis"); !strings.Contains(msg, "Gespeichert") {
		t.Errorf("after saving: %q", msg)
	}
	if got := a.text(".zeitleiste"); !strings.Contains(got, "NOOTS: Stufe: im Test → live") || !strings.Contains(got, "von sis") {
		t.Errorf("the history lacks the change:\n%s", got)
	}

	// A conflict: the admin saves from a second browser context in between.
	b := newTab()
	b.open(e.link("admin"))
	b.open("/ressorts/SIS/register/melderegister")
	a.open("/ressorts/SIS/register/melderegister")
	b.do("admin changes DSC", chromedp.SetValue(chromedp.CSS("#dsc_stage"), "testing"))
	if st := b.submit("#bearbeiten button[type=submit]"); st != http.StatusOK {
		t.Fatalf("admin save = %d", st)
	}
	a.do("sis changes NOOTS", chromedp.SetValue(chromedp.CSS("#noots_stage"), "testing"))
	if st := a.submit("#bearbeiten button[type=submit]"); st != http.StatusConflict {
		t.Errorf("stale save = %d, want 409", st)
	}
	notice := a.text(".konflikt")
	for _, want := range []string{"inzwischen geändert", "admin", "Datenschutzcockpit: Stufe", "im Test", "in Arbeit"} {
		if !strings.Contains(notice, want) {
			t.Errorf("the conflict notice lacks %q:\n%s", want, notice)
		}
	}
	a.check("eintrag-konflikt")
	if st := a.submit("#bearbeiten button[type=submit]"); st != http.StatusOK {
		t.Errorf("saving my values on the newer version = %d", st)
	}
	if msg := a.text(".hinweis"); !strings.Contains(msg, "Version 4") {
		t.Errorf("after applying my values: %q", msg)
	}

	// Another Ressort's page is refused.
	if st := a.open("/ressorts/SWHT"); st != http.StatusForbidden {
		t.Errorf("GET /ressorts/SWHT as SIS = %d, want 403", st)
	}
	if h := a.text("h1"); h != "Kein Zugriff" {
		t.Errorf("403 page says %q", h)
	}
	a.check("kein-zugriff")

	// Forms for new entries, the import and the administration.
	a.open("/ressorts/SIS/neu?art=onlinedienst")
	a.check("neuer-onlinedienst")
	a.open("/import")
	a.check("import")
	b.open("/verwaltung")
	b.check("verwaltung")
	b.open("/verwaltung/nutzer/sis")
	b.check("verwaltung-nutzer")
	a.open("/konto")
	a.check("konto")

	// Logging out ends the session.
	a.open("/")
	if st := a.submit(".wer button[type=submit]"); st != http.StatusOK || a.location() != "/anmelden" {
		t.Errorf("logout: %d at %s", st, a.location())
	}
	if !strings.Contains(a.text("main"), "Sie sind abgemeldet") {
		t.Errorf("no notice after logout")
	}
	a.check("anmelden")
	a.open("/ressorts/SIS")
	if loc := a.location(); loc != "/anmelden" {
		t.Errorf("after logout /ressorts/SIS is at %s, want /anmelden", loc)
	}

	if os.Getenv("REGMO_UPDATE_SCREENSHOTS") == "1" {
		for _, n := range []string{"uebersicht", "eintrag-bearbeiten"} {
			data, err := os.ReadFile(filepath.Join(shots, n+".png"))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join("screenshots", n+".png"), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Logf("screenshots in %s", shots)
}
