package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/access"
	"github.com/bremen/regmo/domain/report"
	"github.com/bremen/regmo/domain/store"
)

// MaxAttempts is how often a failing e-mail is tried before the job is given up; with the
// backoff of retryDelay the last try lies about a day after the first.
const MaxAttempts = 10

// retryDelay is the wait before attempt n+1: 1, 2, 4 … minutes, at most 6 hours.
func retryDelay(attempts int) time.Duration {
	d := time.Minute << min(attempts-1, 9)
	return min(d, 6*time.Hour)
}

// Notifier runs the schedule: it enqueues the e-mails a slot calls for and works the queue.
type Notifier struct {
	store     *store.Notify
	inv       *store.Inventory
	access    *access.Service
	prefs     *PrefsStore
	mailer    *Mailer
	egress    *Egress
	publicURL string
	scopeOf   func(domain.User) (domain.ReadScope, error)
	instance  string
	// Lease is how long a claimed job stays with its instance; a killed instance's job goes
	// to another after it.
	Lease   time.Duration
	Log     *slog.Logger
	Metrics *Metrics
}

// Config configures a Notifier.
type Config struct {
	Store     *store.Notify // on the database as regmo_app
	Mailer    *Mailer       // nil: no e-mail is sent (and none queued); webhooks are delivered all the same
	Egress    *Egress       // where webhooks may connect; nil: no internal address
	PublicURL string
	// ReadScope is what a webhook's owner may read of the audit trail, decided by the
	// authorization layer (api.AuditScope); nil reads nothing, so every delivery is withheld.
	ReadScope func(domain.User) (domain.ReadScope, error)
	Log       *slog.Logger
	Metrics   *Metrics
}

// New returns a notifier.
func New(c Config) *Notifier {
	host, _ := os.Hostname()
	log := c.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	egress := c.Egress
	if egress == nil {
		egress, _ = ParseEgress("")
	}
	return &Notifier{store: c.Store, inv: c.Store.Inventory(), access: access.New(c.Store.Access()), prefs: NewPrefsStore(c.Store),
		mailer: c.Mailer, egress: egress, publicURL: c.PublicURL, scopeOf: c.ReadScope, instance: host + ":" + strconv.Itoa(os.Getpid()),
		Lease: 2 * time.Minute, Log: log, Metrics: c.Metrics}
}

// Result says what one run did.
type Result struct {
	Queued, Sent, Empty, Failed, Retried int
	// Delivered counts webhook deliveries the receiver accepted; Withheld those whose event
	// the webhook's owner may not read.
	Delivered, Withheld int
	// Held counts pending jobs claimed by another instance (or waiting for a retry).
	Held int
}

// RunAt does what the scheduler does at the instant: enqueue the slot's e-mails (a second
// run finds them queued already) and work every job that is due. Content is read when the
// e-mail goes out, so a date moved in between is already moved.
func (n *Notifier) RunAt(ctx context.Context, at time.Time) (Result, error) {
	var res Result
	if n.mailer != nil {
		q, err := n.Enqueue(ctx, at)
		if err != nil {
			return res, err
		}
		res.Queued = q
	}
	return res, n.workQueue(ctx, n.mailer != nil, &res)
}

// Deliver works the due webhook deliveries only: what the scheduler of regmo serve does
// between its once-a-minute runs, so that a script hears of a change within seconds.
func (n *Notifier) Deliver(ctx context.Context) (Result, error) {
	var res Result
	return res, n.workQueue(ctx, false, &res)
}

// workQueue works every due job (e-mails only with mail), then counts what is left.
func (n *Notifier) workQueue(ctx context.Context, mail bool, res *Result) error {
	for {
		j, ok, err := n.claim(ctx, mail)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		n.work(ctx, j, res)
	}
	held, err := n.store.PendingJobs(ctx)
	if err != nil {
		return err
	}
	res.Held = int(held)
	return nil
}

// DeliverEvery is how often Run works the webhook deliveries between two full runs: the
// e-mail schedule needs a run a minute, a script waiting for a change does not want to.
const DeliverEvery = 5 * time.Second

// Run runs the schedule every interval until ctx ends, and the webhook deliveries every
// DeliverEvery in between.
func (n *Notifier) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	d := time.NewTicker(min(DeliverEvery, interval))
	defer d.Stop()
	for {
		if _, err := n.RunAt(ctx, time.Now()); err != nil && ctx.Err() == nil {
			n.Log.Error("notify: run", slog.String("error", err.Error()))
		}
		for waiting := true; waiting; {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				waiting = false
			case <-d.C:
				if _, err := n.Deliver(ctx); err != nil && ctx.Err() == nil {
					n.Log.Error("notify: webhook deliveries", slog.String("error", err.Error()))
				}
			}
		}
	}
}

// recipient is a user who may be sent e-mail of a kind.
func (n *Notifier) recipients(ctx context.Context, kind string) ([]domain.User, error) {
	users, err := n.access.Users(ctx)
	if err != nil {
		return nil, err
	}
	var out []domain.User
	for _, u := range users {
		if _, ok := scopeFor(u, kind); !ok || !u.Active || u.Email == "" {
			continue
		}
		p, err := n.prefs.Get(ctx, u.Name)
		if err != nil {
			return nil, err
		}
		if p.wants(kind) {
			out = append(out, u)
		}
	}
	return out, nil
}

// scopeFor is what the user's e-mail of the kind reads: for the reminder the Ressorts the
// user is Ressortverantwortliche/r of, for the digest everything (the OZG-Koordination).
func scopeFor(u domain.User, kind string) (domain.ReadScope, bool) {
	var codes []string
	for _, b := range u.Bindings {
		switch {
		case kind == KindDigest && b.Role == domain.RoleOZGKoordination:
			return domain.ReadAll(), true
		case kind == KindReminder && b.Role == domain.RoleRessortverantwortliche:
			codes = append(codes, b.Ressort)
		}
	}
	return domain.ReadRessorts(codes...), len(codes) > 0
}

// Enqueue inserts the slot's jobs; the unique key (kind, user, slot) drops what another run
// or instance queued already.
func (n *Notifier) Enqueue(ctx context.Context, at time.Time) (int, error) {
	day, ok := Slot(at)
	if !ok {
		return 0, nil
	}
	kinds := []string{KindReminder}
	if isMonday(day) {
		kinds = append(kinds, KindDigest)
	}
	total := 0
	for _, kind := range kinds {
		users, err := n.recipients(ctx, kind)
		if err != nil {
			return total, err
		}
		for _, u := range users {
			queued, err := n.store.EnqueueJob(ctx, kind, u.Name, day)
			if err != nil {
				return total, err
			}
			if queued {
				total++
			}
		}
	}
	return total, nil
}

// job is a claimed job of the queue.
type job = store.NotifyJob

// claim takes one due job for this instance. SKIP LOCKED lets instances claim side by side;
// the lease hands the job of a killed instance to another once it has run out.
func (n *Notifier) claim(ctx context.Context, mail bool) (job, bool, error) {
	return n.store.ClaimJob(ctx, n.instance, n.Lease, mail)
}

// work composes and sends one job's e-mail and records the outcome.
func (n *Notifier) work(ctx context.Context, j job, res *Result) {
	if j.Kind == KindWebhook {
		n.deliver(ctx, j, res)
		return
	}
	msg, items, err := n.compose(ctx, j)
	if err == nil && items == 0 {
		res.Empty++
		n.finish(ctx, j, "empty", "", 0)
		return
	}
	if err == nil {
		// The mailer's timeout is below the lease: the job is still ours when it returns.
		sendCtx, cancel := context.WithTimeout(ctx, n.Lease/2)
		n.mailer.Timeout = min(n.mailer.Timeout, n.Lease/2)
		err = n.mailer.Send(sendCtx, msg)
		cancel()
	}
	if err != nil {
		n.fail(ctx, j, err, res)
		return
	}
	res.Sent++
	n.Metrics.sent(j.Kind)
	n.finish(ctx, j, "sent", msg.ID, items)
}

func (n *Notifier) compose(ctx context.Context, j job) (Message, int, error) {
	u, err := n.access.User(ctx, j.User)
	if err != nil {
		if errors.Is(err, domain.ErrNotFound) {
			return Message{}, 0, nil
		}
		return Message{}, 0, err
	}
	scope, ok := scopeFor(u, j.Kind)
	p, err := n.prefs.Get(ctx, u.Name)
	if err != nil {
		return Message{}, 0, err
	}
	// Who was deactivated, lost the role or opted out since the job was queued gets nothing.
	if !ok || !u.Active || u.Email == "" || !p.wants(j.Kind) {
		return Message{}, 0, nil
	}
	var msg Message
	var items int
	switch j.Kind {
	case KindDigest:
		d, err := BuildDigest(ctx, report.New(n.store.Reports()), scope, j.Slot)
		if err != nil {
			return Message{}, 0, err
		}
		msg = DigestMessage(n.publicURL, u.Email, u.DisplayName, d)
		items = 1 // the digest goes out every Monday, also after a quiet week
	default:
		since, err := n.lastReminder(ctx, u.Name, j.Slot)
		if err != nil {
			return Message{}, 0, err
		}
		entries, err := n.entries(ctx, scope)
		if err != nil {
			return Message{}, 0, err
		}
		list := ReminderItems(entries, j.Slot, since)
		msg = ReminderMessage(n.publicURL, u.Email, u.DisplayName, j.Slot, list)
		items = len(list)
	}
	msg.ID = fmt.Sprintf("%s.%s.%s@regmo", j.Kind, j.Slot, u.Name)
	msg.Date = time.Now()
	return msg, items, nil
}

// lastReminder is the day of the user's last reminder worked before the slot (sent or with
// nothing to say); without one, the day before, so that the first names what became overdue
// that day.
func (n *Notifier) lastReminder(ctx context.Context, user, slot string) (string, error) {
	last, found, err := n.store.LastReminder(ctx, user, slot)
	if err != nil {
		return "", err
	}
	if !found {
		return addDays(slot, -1), nil
	}
	return last, nil
}

// entries reads every entry of both kinds in the scope, page by page.
func (n *Notifier) entries(ctx context.Context, scope domain.ReadScope) ([]domain.Entry, error) {
	var all []domain.Entry
	for _, kind := range []domain.Kind{domain.KindRegister, domain.KindOnlinedienst} {
		cursor := ""
		for {
			page, err := n.inv.List(ctx, scope, domain.Filter{Kind: kind, Limit: domain.MaxLimit, Cursor: cursor})
			if err != nil {
				return nil, err
			}
			all = append(all, page.Entries...)
			if page.Next == "" {
				break
			}
			cursor = page.Next
		}
	}
	return all, nil
}

// finish records the outcome, only while the job is still this instance's: a job whose
// lease ran out belongs to whoever claimed it next.
func (n *Notifier) finish(ctx context.Context, j job, state, messageID string, items int) {
	ctx = context.WithoutCancel(ctx)
	recorded, err := n.store.FinishJob(ctx, j.ID, n.instance, state, messageID, items)
	if err != nil {
		n.Log.Error("notify: record job", slog.Int64("job", j.ID), slog.String("error", err.Error()))
	} else if !recorded {
		n.Log.Warn("notify: job was taken over before it was recorded", slog.Int64("job", j.ID))
	}
}

// fail schedules a retry with backoff, or gives the job up after MaxAttempts.
func (n *Notifier) fail(ctx context.Context, j job, cause error, res *Result) {
	ctx = context.WithoutCancel(ctx)
	n.Log.Warn("notify: send failed", slog.Int64("job", j.ID), slog.String("kind", j.Kind), slog.String("user", j.User),
		slog.Int("attempt", j.Attempts), slog.String("error", cause.Error()))
	state := "pending"
	delay := retryDelay(j.Attempts)
	giveUp := j.Attempts >= MaxAttempts
	if j.Kind == KindWebhook {
		// A delivery is retried until a day after it was queued, however many attempts
		// that takes.
		delay = webhookRetryDelay(j.Attempts)
		giveUp = time.Since(j.CreatedAt)+delay > WebhookRetention
	}
	if giveUp {
		state = "failed"
		res.Failed++
		n.Metrics.failed(j.Kind)
	} else {
		res.Retried++
		n.Metrics.retried(j.Kind)
	}
	if err := n.store.FailJob(ctx, j.ID, n.instance, state, cause.Error(), delay); err != nil {
		n.Log.Error("notify: record failure", slog.Int64("job", j.ID), slog.String("error", err.Error()))
	}
}
