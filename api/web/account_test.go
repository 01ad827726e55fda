package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/bremen/regmo/api"
	"github.com/bremen/regmo/api/web"
	"github.com/bremen/regmo/domain/notify"
	"github.com/bremen/regmo/domain/store"
)

// TestAccountNotifications: the user's own page shows both e-mail switches and stores them
// for the caller only, with the form's CSRF token.
func TestAccountNotifications(t *testing.T) {
	e := newEnv(t, api.Config{Web: web.Options{SMTPConfigured: true}})
	prefs := notify.NewPrefsStore(store.NewNotify(e.owner))
	b := e.login("sis")
	p := b.page("/konto")
	if p.code != http.StatusOK {
		t.Fatalf("GET /konto = %d\n%s", p.code, p.body)
	}
	wantAll(t, "account page", p, "Mein Konto", `name="reminder" value="ja" checked`, `name="digest" value="ja" checked`,
		"Sabine Inneres")
	if strings.Contains(p.body, "nicht eingerichtet") {
		t.Errorf("got the notice of missing SMTP, want none: SMTP is configured")
	}
	good := b.csrf()

	tests := []struct {
		name         string
		form         url.Values
		code         int
		wantReminder bool
		wantDigest   bool
	}{
		{"without the CSRF token", url.Values{"digest": {"ja"}}, http.StatusForbidden, true, true},
		{"with another token", url.Values{"csrf": {forgedToken(good)}, "digest": {"ja"}}, http.StatusForbidden, true, true},
		{"reminder off", url.Values{"csrf": {good}, "digest": {"ja"}}, http.StatusOK, false, true},
		{"both off", url.Values{"csrf": {good}}, http.StatusOK, false, false},
		{"both on again", url.Values{"csrf": {good}, "reminder": {"ja"}, "digest": {"ja"}}, http.StatusOK, true, true},
		{"reminder only", url.Values{"csrf": {good}, "reminder": {"ja"}}, http.StatusOK, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := b.post("/konto/benachrichtigungen", tt.form)
			if p.code != tt.code {
				t.Fatalf("POST = %d, want %d\n%s", p.code, tt.code, p.body)
			}
			got, err := prefs.Get(context.Background(), "sis")
			if err != nil {
				t.Fatal(err)
			}
			if got.Reminder != tt.wantReminder || got.Digest != tt.wantDigest {
				t.Errorf("got reminder %v digest %v, want %v %v", got.Reminder, got.Digest, tt.wantReminder, tt.wantDigest)
			}
			if tt.code != http.StatusOK {
				return
			}
			// Saved, then shown: the redirect lands on the page with the stored switches.
			if p.url != "/konto" || !strings.Contains(p.body, "Gespeichert.") {
				t.Errorf("got %s without „Gespeichert.“, want the account page saying so", p.url)
			}
			for field, on := range map[string]bool{"reminder": tt.wantReminder, "digest": tt.wantDigest} {
				if got := strings.Contains(p.body, `name="`+field+`" value="ja" checked`); got != on {
					t.Errorf("got %s checked %v on the page, want %v", field, got, on)
				}
			}
		})
	}
	// Another user's choices stay as they were.
	other, err := prefs.Get(context.Background(), "swht")
	if err != nil {
		t.Fatal(err)
	}
	if !other.Reminder || !other.Digest {
		t.Errorf("got swht's choices %+v, want both on (untouched)", other)
	}
}

// TestAdminPageSaysWhenSMTPIsMissing: without REGMO_SMTP_URL the administration is told that
// no e-mail goes out, and so is a user on their own page.
func TestAdminPageSaysWhenSMTPIsMissing(t *testing.T) {
	tests := []struct {
		name string
		smtp bool
		want bool
	}{
		{"SMTP not configured", false, true},
		{"SMTP configured", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, api.Config{Web: web.Options{SMTPConfigured: tt.smtp}})
			p := e.login("admin").page("/verwaltung")
			if got := strings.Contains(p.body, "E-Mail-Versand nicht eingerichtet"); got != tt.want {
				t.Errorf("admin page: got the notice %v, want %v", got, tt.want)
			}
			p = e.login("sis").page("/konto")
			if got := strings.Contains(p.body, "nicht eingerichtet"); got != tt.want {
				t.Errorf("account page: got the notice %v, want %v", got, tt.want)
			}
		})
	}
}
