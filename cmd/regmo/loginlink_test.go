package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/access"
	"github.com/bremen/regmo/migrations/testdb"
)

// regmo login-link prints a link and leaves an event in the audit trail that says who got a
// link from whom and until when, without the secret or its hash.
func TestLoginLinkAudit(t *testing.T) {
	if os.Getenv(testdb.EnvURL) == "" {
		t.Skip(testdb.EnvURL + " not set")
	}
	dsn := testdb.DSN(t)
	t.Setenv("DATABASE_URL", dsn)
	t.Setenv("REGMO_PUBLIC_URL", "https://regmo.example")
	if _, stderr, code := cli(t, "user", "add", "lea", "--role", "ozg-koordination"); code != 0 {
		t.Fatalf("user add: exit %d: %s", code, stderr)
	}
	stdout, stderr, code := cli(t, "login-link", "lea")
	if code != 0 {
		t.Fatalf("login-link: exit %d: %s", code, stderr)
	}
	link, err := url.Parse(strings.TrimSpace(stdout))
	if err != nil || link.Host != "regmo.example" || link.Path != "/anmelden/link" {
		t.Fatalf("login-link printed %q, want a link to https://regmo.example/anmelden/link", stdout)
	}
	secret := link.Query().Get("t")
	sum := sha256.Sum256([]byte(secret))

	db := testdb.Open(t, dsn)
	var events []struct {
		Actor, Action, EntityType, Key, Changes string
	}
	if err := db.Raw(`SELECT actor, action, entity_type, key, changes::text AS changes FROM events
		WHERE entity_type = 'token' AND key = ? ORDER BY id`, access.LoginLinkEventKey).Scan(&events).Error; err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 {
		t.Fatalf("got %d login link events, want 1: %+v", len(events), events)
	}
	ev := events[0]
	if ev.Actor != cliActor || ev.Action != domain.ActionCreated {
		t.Errorf("event by %q, action %q; want by %q, action %q", ev.Actor, ev.Action, cliActor, domain.ActionCreated)
	}
	var changes map[string]struct{ To any }
	if err := json.Unmarshal([]byte(ev.Changes), &changes); err != nil {
		t.Fatal(err)
	}
	if changes["user"].To != "lea" || changes["expires_at"].To == nil || len(changes) != 2 {
		t.Errorf("event changes = %s, want the user lea and the expiry", ev.Changes)
	}
	for _, leak := range []string{secret, strings.TrimPrefix(secret, "regmo-login_"), hex.EncodeToString(sum[:])} {
		if strings.Contains(ev.Changes, leak) || strings.Contains(ev.Key, leak) {
			t.Errorf("the event holds the secret or its hash: %s", ev.Changes)
		}
	}

	// A link for a deactivated or unknown user is refused, and nothing is recorded.
	if _, _, code := cli(t, "user", "deactivate", "lea"); code != 0 {
		t.Fatalf("deactivate lea: exit %d", code)
	}
	for _, name := range []string{"lea", "niemand"} {
		if _, _, code := cli(t, "login-link", name); code == 0 {
			t.Errorf("login-link %s: exit 0, want a refusal", name)
		}
	}
	var n int64
	if err := db.Raw(`SELECT count(*) FROM events WHERE entity_type = 'token' AND key = ?`, access.LoginLinkEventKey).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("got %d login link events after two refusals, want 1", n)
	}
}
