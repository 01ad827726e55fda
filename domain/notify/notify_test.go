package notify_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/access"
	"github.com/bremen/regmo/domain/notify"
	"github.com/bremen/regmo/domain/notify/mailpittest"
	"github.com/bremen/regmo/domain/store"
	"github.com/bremen/regmo/migrations/testdb"
	"gorm.io/gorm"
)

func TestMain(m *testing.M) { testdb.Main(m) }

const base = "https://regmo.example"

// env is one database with users and a mailpit.
type env struct {
	db   *gorm.DB
	inv  *store.Inventory
	mail *mailpittest.Server
}

func newEnv(t *testing.T) *env {
	t.Helper()
	db := testdb.App(t, testdb.DSN(t))
	e := &env{db: db, inv: store.NewInventory(db), mail: mailpittest.Start(t)}
	acc := access.New(store.NewAccess(db))
	for _, u := range []domain.User{
		{Name: "anna", DisplayName: "Anna Finanz", Email: "anna@sf.bremen.de", Active: true,
			Bindings: []domain.Binding{{Role: domain.RoleRessortverantwortliche, Ressort: "SF"}}},
		{Name: "ines", DisplayName: "Ines Inneres", Email: "ines@sis.bremen.de", Active: true,
			Bindings: []domain.Binding{{Role: domain.RoleRessortverantwortliche, Ressort: "SIS"}}},
		{Name: "ozg", DisplayName: "Olaf Koordination", Email: "ozg@sk.bremen.de", Active: true,
			Bindings: []domain.Binding{{Role: domain.RoleOZGKoordination}}},
		{Name: "nomail", Active: true, Bindings: []domain.Binding{{Role: domain.RoleRessortverantwortliche, Ressort: "SF"}}},
	} {
		if _, _, err := acc.PutUser(context.Background(), "test", domain.WriteAll(), u); err != nil {
			t.Fatalf("put user %s: %v", u.Name, err)
		}
	}
	return e
}

func (e *env) notifier(t *testing.T) *notify.Notifier {
	t.Helper()
	m, err := notify.ParseSMTP("smtp://"+e.mail.SMTP, "regmo <regmo@bremen.de>")
	if err != nil {
		t.Fatal(err)
	}
	return notify.New(notify.Config{Store: store.NewNotify(e.db), Mailer: m, PublicURL: base})
}

// put writes a register with the given IDNr stage and target date (other dimensions empty).
func (e *env) put(t *testing.T, ressort, key string, idnr domain.Status) {
	t.Helper()
	c := domain.Content{Name: "Register " + key, Readiness: domain.Readiness{IDNr: idnr}}
	if _, _, err := e.inv.Put(context.Background(), "test", domain.WriteAll(), domain.KindRegister, ressort, key, c, domain.Precondition{}); err != nil {
		t.Fatalf("put %s/%s: %v", ressort, key, err)
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

func planned(date string) domain.Status {
	return domain.Status{Stage: domain.StagePlanned, TargetDate: date}
}

func TestReminderContents(t *testing.T) {
	e := newEnv(t)
	// The slot: Tuesday 10 March 2026, 07:00 in Bremen.
	e.put(t, "SF", "grundsteuer", planned("2026-04-09"))                                       // 30 days ahead
	e.put(t, "SF", "kfz-steuer", planned("2026-03-17"))                                        // 7 days ahead
	e.put(t, "SF", "erbschaft", planned("2026-03-11"))                                         // tomorrow
	e.put(t, "SF", "gestern", planned("2026-03-09"))                                           // overdue since today
	e.put(t, "SF", "alt", planned("2026-01-01"))                                               // overdue long ago
	e.put(t, "SF", "fertig", domain.Status{Stage: domain.StageLive, TargetDate: "2026-03-17"}) // ready
	e.put(t, "SF", "acht-tage", planned("2026-03-18"))                                         // no threshold
	e.put(t, "SIS", "melderegister", domain.Status{Stage: domain.StageTesting, TargetDate: "2026-03-11"})

	res, err := e.notifier(t).RunAt(context.Background(), mustTime(t, "2026-03-10T07:00:00+01:00"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 2 {
		t.Errorf("sent = %d, want 2 (anna, ines; nomail has no address, ozg gets no reminder); %+v", res.Sent, res)
	}
	msgs := e.mail.Messages(t)
	byTo := map[string]mailpittest.Message{}
	for _, m := range msgs {
		byTo[m.Recipient()] = m
	}
	anna, ok := byTo["anna@sf.bremen.de"]
	if !ok {
		t.Fatalf("no reminder for anna; got %d message(s)", len(msgs))
	}
	tests := []struct {
		name, want string
		present    bool
	}{
		{"greeting", "Guten Tag Anna Finanz,", true},
		{"30 days", "Register SF/grundsteuer „Register grundsteuer“, IDNr (Stufe: geplant): Zieldatum 09.04.2026, in 30 Tagen", true},
		{"7 days", "SF/kfz-steuer „Register kfz-steuer“, IDNr (Stufe: geplant): Zieldatum 17.03.2026, in 7 Tagen", true},
		{"1 day", "SF/erbschaft „Register erbschaft“, IDNr (Stufe: geplant): Zieldatum 11.03.2026, morgen", true},
		{"newly overdue", "SF/gestern „Register gestern“, IDNr (Stufe: geplant): Zieldatum 09.03.2026 überschritten", true},
		{"entry link", base + "/ressorts/SF/register/grundsteuer", true},
		{"opt-out", "Ihrer Seite in regmo:", true},
		{"opt-out link", base + "/konto", true},
		{"no API call for people", "/v1/", false},
		{"old overdue", "SF/alt", false},
		{"ready", "SF/fertig", false},
		{"no threshold", "SF/acht-tage", false},
		{"foreign Ressort", "SIS/", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := strings.Contains(anna.Text, tt.want); got != tt.present {
				t.Errorf("reminder contains %q = %v, want %v; text:\n%s", tt.want, got, tt.present, anna.Text)
			}
		})
	}
	if got, want := anna.Subject, "regmo: 4 Frist(en) in Ihren Ressorts"; got != want {
		t.Errorf("subject = %q, want %q", got, want)
	}
	if got, want := anna.MessageID, "reminder.2026-03-10.anna@regmo"; got != want {
		t.Errorf("Message-ID = %q, want %q", got, want)
	}
	if ines := byTo["ines@sis.bremen.de"]; strings.Contains(ines.Text, "SF/") || !strings.Contains(ines.Text, "SIS/melderegister") {
		t.Errorf("ines's reminder names another Ressort or misses her own:\n%s", ines.Text)
	}
	// Idempotent: the same instant again, and a later one the same day, send nothing more.
	for _, at := range []string{"2026-03-10T07:00:00+01:00", "2026-03-10T15:00:00+01:00"} {
		if res, err := e.notifier(t).RunAt(context.Background(), mustTime(t, at)); err != nil || res.Sent != 0 {
			t.Errorf("run at %s again: sent %d, err %v; want 0, nil", at, res.Sent, err)
		}
	}
	if got := len(e.mail.Messages(t)); got != 2 {
		t.Errorf("messages after repeated runs = %d, want 2", got)
	}
}

func TestOneReminderPerUserAndDayWithThreeInstances(t *testing.T) {
	e := newEnv(t)
	e.put(t, "SF", "grundsteuer", planned("2026-03-11"))
	e.put(t, "SIS", "melderegister", planned("2026-03-11"))
	instances := []*notify.Notifier{e.notifier(t), e.notifier(t), e.notifier(t)}
	var wg sync.WaitGroup
	for i, n := range instances {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each instance ticks several times around 07:00, as the schedulers would.
			for _, at := range []string{"2026-03-10T06:59:00+01:00", "2026-03-10T07:00:00+01:00", "2026-03-10T07:01:00+01:00"} {
				if _, err := n.RunAt(context.Background(), mustTime(t, at)); err != nil {
					t.Errorf("instance %d at %s: %v", i, at, err)
				}
			}
		}()
	}
	wg.Wait()
	count := map[string]int{}
	for _, m := range e.mail.Messages(t) {
		count[m.Recipient()]++
	}
	want := map[string]int{"anna@sf.bremen.de": 1, "ines@sis.bremen.de": 1}
	if fmt.Sprint(count) != fmt.Sprint(want) {
		t.Errorf("e-mails per recipient = %v, want %v", count, want)
	}
}

func TestMovedDateOrReadyDimensionLeavesTheReminder(t *testing.T) {
	e := newEnv(t)
	e.put(t, "SF", "bleibt", planned("2026-03-17"))
	e.put(t, "SF", "verschoben", planned("2026-03-17"))
	e.put(t, "SF", "fertig", planned("2026-03-17"))
	n := e.notifier(t)
	// Queued before 07:00's work by another instance's enqueue, then the entries change.
	if _, err := n.Enqueue(context.Background(), mustTime(t, "2026-03-10T07:00:00+01:00")); err != nil {
		t.Fatal(err)
	}
	e.put(t, "SF", "verschoben", planned("2026-06-30"))
	e.put(t, "SF", "fertig", domain.Status{Stage: domain.StageLive, TargetDate: "2026-03-17"})
	if _, err := n.RunAt(context.Background(), mustTime(t, "2026-03-10T07:00:00+01:00")); err != nil {
		t.Fatal(err)
	}
	msgs := e.mail.Messages(t)
	if len(msgs) != 1 {
		t.Fatalf("messages = %d, want 1", len(msgs))
	}
	for _, tt := range []struct {
		key     string
		present bool
	}{{"SF/bleibt", true}, {"SF/verschoben", false}, {"SF/fertig", false}} {
		if got := strings.Contains(msgs[0].Text, tt.key); got != tt.present {
			t.Errorf("reminder names %s = %v, want %v:\n%s", tt.key, got, tt.present, msgs[0].Text)
		}
	}
}

func TestNothingToSayNoMail(t *testing.T) {
	e := newEnv(t)
	e.put(t, "SF", "fern", planned("2027-12-31"))
	res, err := e.notifier(t).RunAt(context.Background(), mustTime(t, "2026-03-10T07:00:00+01:00"))
	if err != nil {
		t.Fatal(err)
	}
	if got := len(e.mail.Messages(t)); got != 0 || res.Sent != 0 {
		t.Errorf("messages = %d (sent %d), want 0", got, res.Sent)
	}
}

// The daylight-saving weeks of 2026: summer time begins on Sunday 29 March, ends on Sunday
// 25 October. The schedule runs every 15 minutes over the week; each day's reminder must go
// out at the first run at or after 07:00 Bremen time, whatever the offset.
func TestScheduleAcrossDaylightSavingWeeks(t *testing.T) {
	tests := []struct {
		name  string
		start string // Monday 00:00 UTC
		// offsets (hours east of UTC) on Monday … Sunday
		offsets []int
	}{
		{"March", "2026-03-23T00:00:00Z", []int{1, 1, 1, 1, 1, 1, 2}},
		{"October", "2026-10-19T00:00:00Z", []int{2, 2, 2, 2, 2, 2, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			start := mustTime(t, tt.start)
			// One entry a day due the day after, so that every day has something to say.
			for d := range 8 {
				day := start.AddDate(0, 0, d+1).Format(time.DateOnly)
				e.put(t, "SF", "frist-"+day, planned(day))
			}
			n := e.notifier(t)
			sentAt := map[string]time.Time{}
			for at := start; at.Before(start.AddDate(0, 0, 7)); at = at.Add(15 * time.Minute) {
				before := len(e.mail.Messages(t))
				if _, err := n.RunAt(context.Background(), at); err != nil {
					t.Fatal(err)
				}
				if msgs := e.mail.Messages(t); len(msgs) > before {
					for _, m := range msgs[before:] {
						sentAt[m.Recipient()+" "+m.Subject+" "+at.In(domain.Berlin).Format(time.DateOnly)] = at
						if m.Recipient() == "anna@sf.bremen.de" {
							sentAt[at.In(domain.Berlin).Format(time.DateOnly)] = at
						}
					}
				}
			}
			for d, off := range tt.offsets {
				day := start.AddDate(0, 0, d).Format(time.DateOnly)
				at, ok := sentAt[day]
				if !ok {
					t.Errorf("%s: no reminder", day)
					continue
				}
				want := time.Date(start.Year(), start.Month(), start.Day()+d, 7-off, 0, 0, 0, time.UTC)
				if !at.Equal(want) {
					t.Errorf("%s: reminder at %s UTC, want %s UTC (07:00 Bremen)", day, at.UTC().Format(time.TimeOnly), want.Format(time.TimeOnly))
				}
			}
			// The Monday digest of the next week covers the 167 or 169 hours of this one.
			from, to := notify.DigestWeek(start.AddDate(0, 0, 7).Format(time.DateOnly))
			wantHours := map[string]float64{"March": 167, "October": 169}[tt.name]
			if got := to.Sub(from).Hours(); got != wantHours {
				t.Errorf("digest week = %v hours, want %v", got, wantHours)
			}
			if got := to.In(domain.Berlin).Format("15:04 Mon"); got != "07:00 Mon" {
				t.Errorf("digest at %s, want 07:00 Mon", got)
			}
		})
	}
}

func TestDigestContents(t *testing.T) {
	e := newEnv(t)
	// Real now lies in the week before the next Monday: the stage changes made now are the
	// week's.
	now := time.Now().In(domain.Berlin)
	monday := now.AddDate(0, 0, (8-int(now.Weekday()))%7)
	if monday.Format(time.DateOnly) == now.Format(time.DateOnly) && now.Hour() < notify.SendHour {
		monday = now
	} else if monday.Format(time.DateOnly) == now.Format(time.DateOnly) {
		monday = now.AddDate(0, 0, 7)
	}
	mondayDay := monday.Format(time.DateOnly)
	lastWeek := monday.AddDate(0, 0, -3).Format(time.DateOnly) // became overdue this week
	e.put(t, "SF", "grundsteuer", planned(lastWeek))
	e.put(t, "SF", "steuer-idnr", domain.Status{Stage: domain.StageInProgress})
	e.put(t, "SF", "steuer-idnr", domain.Status{Stage: domain.StageLive})
	at := notify.SlotTime(mondayDay)
	if _, err := e.notifier(t).RunAt(context.Background(), at); err != nil {
		t.Fatal(err)
	}
	var digest *mailpittest.Message
	for _, m := range e.mail.Messages(t) {
		if m.Recipient() == "ozg@sk.bremen.de" {
			digest = &m
		}
	}
	if digest == nil {
		t.Fatalf("no digest for the OZG-Koordination on %s", mondayDay)
	}
	for _, want := range []string{
		"Guten Tag Olaf Koordination,",
		"bis " + monday.Format("02.01.2006") + ", 07:00 Uhr",
		"Register SF/steuer-idnr „Register steuer-idnr“, IDNr: in Arbeit → in Betrieb",
		"Neu überfällig (1):",
		"SF/grundsteuer „Register grundsteuer“, IDNr (Stufe: geplant): Zieldatum " + monday.AddDate(0, 0, -3).Format("02.01.2006"),
		"- SF IDNr: – → 50,0 % (1 von 2)",
		"Zur Übersicht: " + base + "/",
	} {
		if !strings.Contains(digest.Text, want) {
			t.Errorf("digest lacks %q; text:\n%s", want, digest.Text)
		}
	}
	if got, want := digest.Subject, "regmo: Wochenbericht bis "+monday.Format("02.01.2006"); got != want {
		t.Errorf("subject = %q, want %q", got, want)
	}
}
