package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bremen/regmo/cmd/internal/harness"
	"github.com/bremen/regmo/domain/notify/mailpittest"
)

// The e-mail part of the load test (issue 15): every scheduler instance runs the same 07:00
// slot over and over while the traffic and the database restart go on, against one mailpit;
// the slot moves on a day every sixth of the traffic, so that e-mails go out across the whole
// run, the restart included. Afterwards each expected e-mail must be there exactly once.

// slotDays are the days whose 07:00 slots the schedulers run, in turn. The first is a Monday
// (the reminders and the OZG digest); six, so that a register due 7 days after one day is
// never due 1 or 30 days after another.
var slotDays = []string{"2026-03-30", "2026-03-31", "2026-04-01", "2026-04-02", "2026-04-03", "2026-04-04"}

func slotInstant(day string) string { return day + "T07:00:00+02:00" }

// fristKey(i) is a register per Ressort with an IDNr target date 7 days after slotDays[i];
// the traffic never touches it (it patches registerKey(i)), so every Ressortverantwortliche/r
// has exactly one thing to be reminded of each day.
func fristKey(i int) string { return fmt.Sprintf("lt-frist-%d", i) }

func fristDate(i int) string {
	d, _ := time.Parse(time.DateOnly, slotDays[i])
	return d.AddDate(0, 0, 7).Format(time.DateOnly)
}

// expectedMails are the slots' e-mails by Message-ID (kind.day.user@regmo, the same on every
// repeat) with the subject each must have: a reminder a day for every Ressortverantwortliche/r,
// the Monday digest for the OZG-Koordination.
func expectedMails(users []user) map[string]string {
	want := map[string]string{}
	for _, u := range users {
		switch u.role {
		case "ressortverantwortliche":
			for _, day := range slotDays {
				want["reminder."+day+"."+u.name+"@regmo"] = "regmo: 1 Frist(en)"
			}
		case "ozg-koordination":
			want["digest."+slotDays[0]+"."+u.name+"@regmo"] = "regmo: Wochenbericht"
		}
	}
	return want
}

// schedulers are the scheduler instances; each runs regmo notify run --at notifySlot, what
// the scheduler of regmo serve does at that instant, in a loop until stopped.
type schedulers struct {
	runs, failed int
	mu           sync.Mutex
	wg           sync.WaitGroup
}

func startSchedulers(ctx context.Context, env *harness.Env, instances int, smtp string, duration time.Duration) *schedulers {
	start := time.Now()
	s := &schedulers{}
	vars := []string{"DATABASE_URL=" + env.DBURL, "REGMO_SMTP_URL=smtp://" + smtp, "REGMO_MAIL_FROM=regmo <regmo@lasttest.example>",
		// A short lease: a job whose instance lost the database mid-send goes to another soon.
		"REGMO_NOTIFY_LEASE=5s"}
	for i := range instances {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			log, err := os.Create(fmt.Sprintf("%s/notify-%d.log", env.Dir, i+1))
			if err != nil {
				return
			}
			defer log.Close()
			for ctx.Err() == nil {
				day := slotDays[min(len(slotDays)-1, int(time.Since(start)*time.Duration(len(slotDays))/duration))]
				cmd := harness.Command(ctx, env.BinPath("regmo"), "notify", "run", "--at", slotInstant(day))
				cmd.Env = append(os.Environ(), vars...)
				cmd.Stdout, cmd.Stderr = log, log
				err := cmd.Run()
				s.mu.Lock()
				s.runs++
				if err != nil && ctx.Err() == nil {
					// Expected while the database restarts; the next run picks up.
					s.failed++
				}
				s.mu.Unlock()
				select {
				case <-ctx.Done():
				case <-time.After(200 * time.Millisecond):
				}
			}
		}()
	}
	return s
}

func (s *schedulers) wait() { s.wg.Wait() }

// mailResult compares what mailpit received with what the slot calls for.
type mailResult struct {
	got, duplicates int
	missing         []string
	unexpected      []string
}

func checkMails(mp *mailpittest.Server, want map[string]string) (mailResult, error) {
	msgs, err := mp.List()
	if err != nil {
		return mailResult{}, err
	}
	r := mailResult{got: len(msgs)}
	seen := map[string]int{}
	for _, m := range msgs {
		id := strings.Trim(m.MessageID, "<>")
		prefix, ok := want[id]
		if !ok || !strings.HasPrefix(m.Subject, prefix) || !strings.HasSuffix(id, "."+strings.TrimSuffix(m.Recipient(), "@lasttest.example")+"@regmo") {
			r.unexpected = append(r.unexpected, id+" to "+m.Recipient()+": "+m.Subject)
			continue
		}
		seen[id]++
	}
	for to := range want {
		switch n := seen[to]; {
		case n == 0:
			r.missing = append(r.missing, to)
		case n > 1:
			r.duplicates += n - 1
		}
	}
	slices.Sort(r.missing)
	return r, nil
}

// waitMails polls mailpit until every expected e-mail is there or the timeout passes; the
// schedulers have stopped by then, so nothing arrives late unseen.
func waitMails(ctx context.Context, mp *mailpittest.Server, want map[string]string, timeout time.Duration) (mailResult, error) {
	deadline := time.Now().Add(timeout)
	for {
		r, err := checkMails(mp, want)
		if err != nil || len(r.missing) == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			return r, err
		}
		time.Sleep(200 * time.Millisecond)
	}
}
