package web_test

import (
	"bytes"
	"context"
	"errors"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/bremen/regmo/api"
	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/access"
	"github.com/bremen/regmo/domain/store"
)

// upload posts the import form with a CSV file, as a browser sends it (multipart).
func (b *browser) upload(csrf, kind, name, data string) page {
	b.e.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if csrf != "" {
		_ = mw.WriteField("csrf", csrf)
	}
	_ = mw.WriteField("art", kind)
	fw, err := mw.CreateFormFile("datei", name)
	if err != nil {
		b.e.t.Fatal(err)
	}
	_, _ = fw.Write([]byte(data))
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, b.e.url+"/import", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return b.do(req)
}

var sumField = regexp.MustCompile(`name="sum" value="([0-9a-f]{64})"`)

// sum is the checksum the last dry run's confirmation form carries.
func (b *browser) sum() string {
	m := sumField.FindStringSubmatch(b.last)
	if m == nil {
		b.e.t.Fatalf("no confirmation form on the last page:\n%s", b.last)
	}
	return m[1]
}

// entry reads an entry as the owner; ok is false when it does not exist.
func (e *env) entry(kind domain.Kind, ressort, key string) (domain.Entry, bool) {
	e.t.Helper()
	got, err := store.NewInventory(e.owner).Get(context.Background(), domain.ReadAll(), kind, ressort, key)
	if errors.Is(err, domain.ErrNotFound) {
		return domain.Entry{}, false
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return got, true
}

// wantAll fails for every text the page lacks.
func wantAll(t *testing.T, what string, p page, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if !strings.Contains(p.body, s) {
			t.Errorf("%s: the page lacks %q", what, s)
		}
	}
}

// englishWords are words of the domain's English messages that must not reach a page.
var englishWords = regexp.MustCompile(`\b(must|is required|does not exist|is invalid|characters long)\b`)

func wantGerman(t *testing.T, what string, p page) {
	t.Helper()
	if m := englishWords.FindString(p.body); m != "" {
		t.Errorf("%s: the page speaks English (%q)", what, m)
	}
}

const importHeader = "ressort,key,name,noots_stage\n"

func TestImportDryRunAndConfirm(t *testing.T) {
	e := newEnv(t, api.Config{})
	b := e.login("sis")
	b.get("/import")
	csrf := b.csrf()

	// The dry run shows what the import would do and writes nothing.
	fileA := importHeader + "SIS,fischereischein,Fischereischeinregister,planned\nSIS,melderegister,Melderegister,testing\n"
	p := b.upload(csrf, "registers", "a.csv", fileA)
	if p.code != http.StatusOK {
		t.Fatalf("dry run = %d, want 200\n%s", p.code, p.body)
	}
	wantAll(t, "dry run", p, "Probelauf für a.csv: keine Fehler", "1 angelegt", "1 geändert", "Jetzt importieren",
		"<td>SIS/fischereischein</td><td>neu</td>", "<td>SIS/melderegister</td><td>geändert</td>")
	wantGerman(t, "dry run", p)
	if _, ok := e.entry(domain.KindRegister, "SIS", "fischereischein"); ok {
		t.Fatalf("the dry run created SIS/fischereischein")
	}
	sumA := b.sum()

	// A second dry run replaces the first: the confirmation of the page that showed the first
	// file imports nothing, and that of the second imports exactly the second file.
	fileB := importHeader + "SIS,waffenregister,Waffenregister (Bremen),in_progress\n"
	if p := b.upload(csrf, "registers", "b.csv", fileB); p.code != http.StatusOK {
		t.Fatalf("second dry run = %d\n%s", p.code, p.body)
	}
	sumB := b.sum()
	if p := b.post("/import/bestaetigen", url.Values{"csrf": {csrf}, "sum": {sumA}}); p.code != http.StatusConflict ||
		!strings.Contains(p.body, "Es wartet keine geprüfte Datei") {
		t.Errorf("confirming the replaced dry run = %d, want 409 with a notice", p.code)
	}
	if _, ok := e.entry(domain.KindRegister, "SIS", "fischereischein"); ok {
		t.Errorf("confirming the replaced dry run imported its file")
	}
	p = b.post("/import/bestaetigen", url.Values{"csrf": {csrf}, "sum": {sumB}})
	if p.code != http.StatusOK {
		t.Fatalf("confirm = %d, want 200\n%s", p.code, p.body)
	}
	wantAll(t, "confirm", p, "Importiert: b.csv", "1 angelegt")
	if strings.Contains(p.body, "Jetzt importieren") {
		t.Errorf("the page after the import offers to import again")
	}
	if got, ok := e.entry(domain.KindRegister, "SIS", "waffenregister"); !ok || got.Readiness.NOOTS.Stage != domain.StageInProgress {
		t.Errorf("after confirming: SIS/waffenregister = %+v (exists %v), want it in_progress", got.Readiness.NOOTS, ok)
	}
	if _, ok := e.entry(domain.KindRegister, "SIS", "fischereischein"); ok {
		t.Errorf("the confirmation imported the first file too")
	}
	// The file is used up: a second confirmation imports nothing.
	if p := b.post("/import/bestaetigen", url.Values{"csrf": {csrf}, "sum": {sumB}}); p.code != http.StatusConflict {
		t.Errorf("confirming twice = %d, want 409", p.code)
	}
}

func TestImportRefusals(t *testing.T) {
	e := newEnv(t, api.Config{})
	sis := e.login("sis")
	sis.get("/import")
	csrf := sis.csrf()
	tests := []struct {
		name     string
		csrf     string
		kind     string
		file     string
		want     int
		wantText []string
	}{
		{"every error with its line", csrf, "registers",
			importHeader + "SIS,gut,Gutes Register,planned\nSIS,Falsch Geschrieben,,planned\nSIS,stufe,Register,fertig\n",
			http.StatusUnprocessableEntity, []string{"es wurde nichts importiert", "<td class=\"n\">3</td>", "<td class=\"n\">4</td>",
				"Schlüssel", "Name", "NOOTS: Stufe"}},
		{"another Ressort", csrf, "registers", importHeader + "SWHT,handwerksrolle,Handwerksrolle,planned\n",
			http.StatusForbidden, []string{"nicht zuständig sind: SWHT", "Es wurde nichts importiert"}},
		{"no kind", csrf, "", importHeader, http.StatusUnprocessableEntity, []string{"Wählen Sie, ob die Datei Register oder Onlinedienste enthält"}},
		{"no csrf token", "", "registers", importHeader + "SIS,ohne-token,Ohne Token,planned\n",
			http.StatusForbidden, []string{"Formular abgelehnt"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := sis.upload(tt.csrf, tt.kind, "datei.csv", tt.file)
			if p.code != tt.want {
				t.Errorf("POST /import = %d, want %d\n%s", p.code, tt.want, p.body)
			}
			wantAll(t, tt.name, p, tt.wantText...)
			wantGerman(t, tt.name, p)
			if strings.Contains(p.body, "Jetzt importieren") {
				t.Errorf("a refused file is offered for import")
			}
		})
	}
	for _, key := range []string{"gut", "handwerksrolle", "ohne-token"} {
		for _, code := range []string{"SIS", "SWHT"} {
			if _, ok := e.entry(domain.KindRegister, code, key); ok {
				t.Errorf("a refused import created %s/%s", code, key)
			}
		}
	}
	t.Run("confirmation without csrf token", func(t *testing.T) {
		sis.upload(csrf, "registers", "ok.csv", importHeader+"SIS,spaeter,Später,planned\n")
		p := sis.post("/import/bestaetigen", url.Values{"sum": {sis.sum()}})
		if p.code != http.StatusForbidden {
			t.Errorf("confirm without token = %d, want 403", p.code)
		}
		if _, ok := e.entry(domain.KindRegister, "SIS", "spaeter"); ok {
			t.Errorf("a confirmation without token imported")
		}
	})
	t.Run("the coordination imports nothing", func(t *testing.T) {
		k := e.login("koordination")
		if code, _ := k.get("/import"); code != http.StatusForbidden {
			t.Errorf("GET /import as coordination = %d, want 403", code)
		}
		k.get("/")
		if p := k.upload(k.csrf(), "registers", "k.csv", importHeader+"SIS,koord,Koordination,planned\n"); p.code != http.StatusForbidden {
			t.Errorf("POST /import as coordination = %d, want 403", p.code)
		}
	})
}

// newRegister is the form for a new register of SIS.
func newRegister(csrf, key, name string) url.Values {
	return url.Values{"csrf": {csrf}, "art": {"register"}, "key": {key}, "name": {name},
		"idnr_stage": {"not_started"}, "noots_stage": {"planned"}, "dsc_stage": {"not_started"}}
}

func newOnlinedienst(csrf, key, name string, nachweise ...string) url.Values {
	f := url.Values{"csrf": {csrf}, "art": {"onlinedienst"}, "key": {key}, "name": {name},
		"idnr_stage": {"not_started"}, "noots_stage": {"planned"}, "dsc_stage": {"not_started"}}
	f["nachweise_from"] = nachweise
	return f
}

func with(f url.Values, field, value string) url.Values {
	g := url.Values{}
	for k, v := range f {
		g[k] = v
	}
	g.Set(field, value)
	return g
}

func TestNewEntry(t *testing.T) {
	e := newEnv(t, api.Config{})
	sis := e.login("sis")

	t.Run("the form offers the register cards of every Ressort", func(t *testing.T) {
		p := sis.page("/ressorts/SIS/neu?art=onlinedienst")
		if p.code != http.StatusOK {
			t.Fatalf("GET = %d", p.code)
		}
		wantAll(t, "new Onlinedienst", p, `value="SIS/melderegister"`, `value="SWHT/gewerberegister"`, "Nachweise aus Registern")
	})
	csrf := sis.csrf()

	tests := []struct {
		name     string
		path     string
		form     url.Values
		want     int
		wantText []string
	}{
		{"register", "/ressorts/SIS/neu", newRegister(csrf, "fundregister", "Fundregister"), http.StatusOK,
			[]string{"Angelegt.", "Register: Fundregister"}},
		{"Onlinedienst with nachweise from two Ressorts", "/ressorts/SIS/neu",
			newOnlinedienst(csrf, "umzug", "Umzug melden", "SIS/melderegister", "SWHT/gewerberegister"), http.StatusOK,
			[]string{"Angelegt.", "Onlinedienst: Umzug melden", "SIS/melderegister, SWHT/gewerberegister"}},
		{"no name", "/ressorts/SIS/neu", newRegister(csrf, "ohne-name", ""), http.StatusUnprocessableEntity,
			[]string{"Bitte prüfen Sie Ihre Eingaben", "Name: "}},
		{"bad key", "/ressorts/SIS/neu", newRegister(csrf, "Groß", "Großes Register"), http.StatusUnprocessableEntity,
			[]string{"Schlüssel: 1 bis 64 Zeichen"}},
		{"key taken", "/ressorts/SIS/neu", newRegister(csrf, "melderegister", "Noch ein Melderegister"), http.StatusUnprocessableEntity,
			[]string{"Schlüssel: Im Ressort SIS gibt es schon einen Eintrag „melderegister“"}},
		{"bad e-mail", "/ressorts/SIS/neu", with(newRegister(csrf, "mail", "Mail"), "contact", "keine-adresse"), http.StatusUnprocessableEntity,
			[]string{"Kontakt (E-Mail): "}},
		{"not applicable without a reason", "/ressorts/SIS/neu", with(newRegister(csrf, "na", "NA"), "dsc_stage", "not_applicable"),
			http.StatusUnprocessableEntity, []string{"Datenschutzcockpit: Notiz: "}},
		{"unknown register in nachweise_from", "/ressorts/SIS/neu",
			newOnlinedienst(csrf, "falsch", "Falscher Nachweis", "SIS/gibt-es-nicht"), http.StatusUnprocessableEntity,
			[]string{"Nachweise aus Registern, Nr. 1: das Register SIS/gibt-es-nicht gibt es nicht"}},
		{"no csrf token", "/ressorts/SIS/neu", with(newRegister(csrf, "ohne-token", "Ohne Token"), "csrf", ""), http.StatusForbidden,
			[]string{"Formular abgelehnt"}},
		{"another Ressort", "/ressorts/SWHT/neu", newRegister(csrf, "fremd", "Fremdes Register"), http.StatusForbidden,
			[]string{"Kein Zugriff", "Ressort SWHT"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := sis.post(tt.path, tt.form)
			if p.code != tt.want {
				t.Errorf("POST %s = %d, want %d\n%s", tt.path, p.code, tt.want, p.body)
			}
			wantAll(t, tt.name, p, tt.wantText...)
			wantGerman(t, tt.name, p)
			if tt.want == http.StatusUnprocessableEntity && !strings.Contains(p.body, `value="`+tt.form.Get("name")+`"`) {
				t.Errorf("the refused form lost the name %q", tt.form.Get("name"))
			}
		})
	}
	if got, ok := e.entry(domain.KindOnlinedienst, "SIS", "umzug"); !ok || !slices.Equal(got.NachweiseFrom, []string{"SIS/melderegister", "SWHT/gewerberegister"}) {
		t.Errorf("SIS/umzug: nachweise_from = %v (exists %v), want SIS/melderegister and SWHT/gewerberegister", got.NachweiseFrom, ok)
	}
	if got, ok := e.entry(domain.KindRegister, "SIS", "melderegister"); !ok || got.Name != "Melderegister" {
		t.Errorf("a taken key overwrote SIS/melderegister: %q", got.Name)
	}
	for _, addr := range [][2]string{{"SIS", "ohne-name"}, {"SIS", "mail"}, {"SIS", "na"}, {"SIS", "ohne-token"}, {"SWHT", "fremd"}} {
		if _, ok := e.entry(domain.KindRegister, addr[0], addr[1]); ok {
			t.Errorf("a refused form created %s/%s", addr[0], addr[1])
		}
	}
	t.Run("the coordination creates nothing", func(t *testing.T) {
		k := e.login("koordination")
		if code, _ := k.get("/ressorts/SIS/neu?art=register"); code != http.StatusForbidden {
			t.Errorf("GET the form as coordination = %d, want 403", code)
		}
		k.get("/")
		if p := k.post("/ressorts/SIS/neu", newRegister(k.csrf(), "koord", "Koordination")); p.code != http.StatusForbidden {
			t.Errorf("POST as coordination = %d, want 403", p.code)
		}
		if _, ok := e.entry(domain.KindRegister, "SIS", "koord"); ok {
			t.Errorf("the coordination created SIS/koord")
		}
	})
}

var tokenText = regexp.MustCompile(`<p class="geheim">([^<]+)</p>`)

func TestAdministration(t *testing.T) {
	e := newEnv(t, api.Config{})
	admin := e.login("admin")
	admin.get("/verwaltung")
	csrf := admin.csrf()
	acc := access.New(store.NewAccess(e.owner))
	ctx := context.Background()

	user := func(name, bindings string) url.Values {
		return url.Values{"csrf": {csrf}, "name": {name}, "display_name": {"Lea Lehmann"}, "email": {"lea@example.org"},
			"active": {"ja"}, "bindings": {bindings}}
	}
	tests := []struct {
		name     string
		form     url.Values
		want     int
		wantText []string
	}{
		{"a new user with bindings", user("lea", "ressortverantwortliche SIS SWHT\nozg-koordination\n"), http.StatusOK,
			[]string{"Angelegt.", "Nutzer lea", "ressortverantwortliche SWHT"}},
		{"a bad name", user("L", "admin"), http.StatusUnprocessableEntity, []string{"Bitte prüfen Sie Ihre Eingaben", "Name (Anmeldename): "}},
		{"a Ressort binding without Ressort", user("ohne-ressort", "ressortverantwortliche"), http.StatusUnprocessableEntity,
			[]string{"Rollen, Zeile 1: "}},
		{"an unknown role", user("unbekannt", "admin\nchef"), http.StatusUnprocessableEntity, []string{"Rollen, Zeile 2: "}},
		{"an unknown Ressort", user("fremd", "ressortverantwortliche SIS\nressortverantwortliche NIRGENDS"), http.StatusUnprocessableEntity,
			[]string{"Rollen, Zeile 2: das Ressort NIRGENDS gibt es nicht"}},
		{"no csrf token", with(user("ohne-token", "admin"), "csrf", ""), http.StatusForbidden, []string{"Formular abgelehnt"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := admin.post("/verwaltung/nutzer", tt.form)
			if p.code != tt.want {
				t.Errorf("POST /verwaltung/nutzer = %d, want %d\n%s", p.code, tt.want, p.body)
			}
			wantAll(t, tt.name, p, tt.wantText...)
			wantGerman(t, tt.name, p)
		})
	}
	lea, err := acc.User(ctx, "lea")
	if err != nil {
		t.Fatalf("lea: %v", err)
	}
	if want := []domain.Binding{{Role: "ozg-koordination"}, {Role: "ressortverantwortliche", Ressort: "SIS"},
		{Role: "ressortverantwortliche", Ressort: "SWHT"}}; !slices.Equal(sortedBindings(lea.Bindings), want) {
		t.Errorf("bindings of lea = %v, want %v", lea.Bindings, want)
	}
	for _, name := range []string{"l", "ohne-ressort", "unbekannt", "fremd", "ohne-token"} {
		if _, err := acc.User(ctx, name); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("a refused form created the user %s (%v)", name, err)
		}
	}

	// A token is shown once, works against the API, and is gone when revoked.
	admin.get("/verwaltung/nutzer/lea")
	if p := admin.post("/verwaltung/nutzer/lea/tokens", url.Values{"label": {"Skript"}, "tage": {"30"}}); p.code != http.StatusForbidden {
		t.Errorf("issue a token without csrf token = %d, want 403", p.code)
	}
	for _, days := range []string{"0", "400", "viele"} {
		p := admin.post("/verwaltung/nutzer/lea/tokens", url.Values{"csrf": {csrf}, "label": {"Skript"}, "tage": {days}})
		if p.code != http.StatusUnprocessableEntity || !strings.Contains(p.body, "Gültigkeit: 1 bis 366 Tage") {
			t.Errorf("a token for %s days = %d, want 422 naming the validity", days, p.code)
		}
	}
	if toks, _ := acc.Tokens(ctx, "lea"); len(toks) != 0 {
		t.Fatalf("refused forms issued %d tokens", len(toks))
	}
	p := admin.post("/verwaltung/nutzer/lea/tokens", url.Values{"csrf": {csrf}, "label": {"Skript"}, "tage": {"30"}})
	m := tokenText.FindStringSubmatch(p.body)
	if p.code != http.StatusOK || m == nil || !strings.HasPrefix(m[1], domain.TokenPrefix) {
		t.Fatalf("issue a token = %d, shown %v\n%s", p.code, m, p.body)
	}
	secret := m[1]
	if status := apiStatus(t, e, secret); status != http.StatusOK {
		t.Errorf("GET /v1/me with the new token = %d, want 200", status)
	}
	if _, body := admin.get("/verwaltung/nutzer/lea"); strings.Contains(body, secret) {
		t.Errorf("the token is shown a second time")
	}
	toks, err := acc.Tokens(ctx, "lea")
	if err != nil || len(toks) != 1 {
		t.Fatalf("tokens of lea = %v, %v; want one", toks, err)
	}
	revoke := "/verwaltung/nutzer/lea/tokens/" + itoa(toks[0].ID) + "/widerrufen"
	if p := admin.post(revoke, url.Values{}); p.code != http.StatusForbidden {
		t.Errorf("revoke without csrf token = %d, want 403", p.code)
	}
	if status := apiStatus(t, e, secret); status != http.StatusOK {
		t.Errorf("a refused revocation revoked the token: %d", status)
	}
	if p := admin.post("/verwaltung/nutzer/lea/tokens/999999/widerrufen", url.Values{"csrf": {csrf}}); p.code != http.StatusUnprocessableEntity ||
		!strings.Contains(p.body, "999999") {
		t.Errorf("revoke an unknown token = %d, want 422 naming it", p.code)
	} else {
		wantGerman(t, "revoke an unknown token", p)
	}
	p = admin.post(revoke, url.Values{"csrf": {csrf}})
	if p.code != http.StatusOK || p.url != "/verwaltung/nutzer/lea" || !strings.Contains(p.body, "Token "+itoa(toks[0].ID)+" widerrufen.") {
		t.Errorf("revoke = %d at %s, want the user page with a notice", p.code, p.url)
	}
	if !strings.Contains(p.body, "widerrufen ") || strings.Contains(p.body, `action="`+revoke+`"`) {
		t.Errorf("the revoked token is not shown as revoked")
	}
	if status := apiStatus(t, e, secret); status != http.StatusUnauthorized {
		t.Errorf("GET /v1/me with the revoked token = %d, want 401", status)
	}

	// Only admins reach the administration, for reading and for changing.
	for _, name := range []string{"sis", "koordination"} {
		t.Run("as "+name, func(t *testing.T) {
			b := e.login(name)
			for _, path := range []string{"/verwaltung", "/verwaltung/nutzer/lea"} {
				if code, body := b.get(path); code != http.StatusForbidden || strings.Contains(body, "lea@example.org") {
					t.Errorf("GET %s = %d, want 403 without the user's data", path, code)
				}
			}
			b.get("/")
			own := b.csrf()
			for path, form := range map[string]url.Values{
				"/verwaltung/nutzer":            with(user("lea", "admin"), "csrf", own),
				"/verwaltung/nutzer/lea/tokens": {"csrf": {own}, "tage": {"30"}},
				revoke:                          {"csrf": {own}},
			} {
				if p := b.post(path, form); p.code != http.StatusForbidden {
					t.Errorf("POST %s = %d, want 403", path, p.code)
				}
			}
			if u, _ := acc.User(ctx, "lea"); slices.Contains(u.Bindings, domain.Binding{Role: domain.RoleAdmin}) {
				t.Errorf("%s made lea an admin", name)
			}
			if toks, _ := acc.Tokens(ctx, "lea"); len(toks) != 1 {
				t.Errorf("%s issued a token: %d tokens", name, len(toks))
			}
		})
	}
}

func sortedBindings(bs []domain.Binding) []domain.Binding {
	out := slices.Clone(bs)
	slices.SortFunc(out, func(a, b domain.Binding) int { return strings.Compare(a.Role+" "+a.Ressort, b.Role+" "+b.Ressort) })
	return out
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// apiStatus is the status of GET /v1/me with a bearer token.
func apiStatus(t *testing.T, e *env, token string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.url+"/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}
