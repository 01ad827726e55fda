package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Notify runs the SQL of the notification queue (e-mails and webhook deliveries), the
// users' notification choices and the webhooks; package notify holds the logic (schedule,
// what to send, leases, retries, signatures) and calls it.
type Notify struct {
	db *gorm.DB
}

// NewNotify returns the notification statements on db.
func NewNotify(db *gorm.DB) *Notify { return &Notify{db: db} }

// Inventory returns the entry statements on the same database, for what an e-mail or a
// delivery reads.
func (n *Notify) Inventory() *Inventory { return NewInventory(n.db) }

// Access returns the user statements on the same database, for the recipients.
func (n *Notify) Access() *Access { return NewAccess(n.db) }

// Reports returns the report statements on the same database, for the digest.
func (n *Notify) Reports() *Reports { return NewReports(n.db) }

// NotifyJob is a claimed job of the queue.
type NotifyJob struct {
	ID        int64     `gorm:"column:id"`
	Kind      string    `gorm:"column:kind"`
	User      string    `gorm:"column:user_name"`
	Slot      string    `gorm:"column:slot"`
	Attempts  int       `gorm:"column:attempts"`
	CreatedAt time.Time `gorm:"column:created_at"`
	// Of a webhook delivery only.
	WebhookID int64  `gorm:"column:webhook_id"`
	EventID   int64  `gorm:"column:event_id"`
	EventType string `gorm:"column:event_type"`
}

// PendingJobs counts the pending jobs of all instances.
func (n *Notify) PendingJobs(ctx context.Context) (int64, error) {
	var c int64
	if err := n.db.WithContext(ctx).Raw(`SELECT count(*) FROM notify_jobs WHERE state = 'pending'`).Scan(&c).Error; err != nil {
		return 0, fmt.Errorf("store: pending jobs: %w", err)
	}
	return c, nil
}

// EnqueueJob inserts the job of kind for user in slot (a day, YYYY-MM-DD); the unique key
// (kind, user, slot) drops it if queued already, and queued is false then.
func (n *Notify) EnqueueJob(ctx context.Context, kind, user, slot string) (queued bool, err error) {
	r := n.db.WithContext(ctx).Exec(`INSERT INTO notify_jobs (kind, user_name, slot) VALUES ($1, $2, $3::date)
				ON CONFLICT ON CONSTRAINT notify_jobs_once DO NOTHING`, kind, user, slot)
	if r.Error != nil {
		return false, fmt.Errorf("store: enqueue %s for %s: %w", kind, user, r.Error)
	}
	return r.RowsAffected > 0, nil
}

// ClaimJob takes one due job (e-mails only with mail) for instance for the lease and counts
// the attempt. SKIP LOCKED lets instances claim side by side; the lease hands the job of a
// killed instance to another once it has run out. ok is false when none is due.
func (n *Notify) ClaimJob(ctx context.Context, instance string, lease time.Duration, mail bool) (j NotifyJob, ok bool, err error) {
	var jobs []NotifyJob
	err = n.db.WithContext(ctx).Raw(`UPDATE notify_jobs SET locked_by = $1, locked_until = now() + $2::interval,
			attempts = attempts + 1
		WHERE id = (SELECT id FROM notify_jobs
			WHERE state = 'pending' AND run_after <= now() AND (locked_until IS NULL OR locked_until < now()) AND
				(kind = 'webhook' OR $3)
			ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
		RETURNING id, kind, user_name, coalesce(to_char(slot, 'YYYY-MM-DD'), '') AS slot, attempts, created_at,
			coalesce(webhook_id, 0) AS webhook_id, coalesce(event_id, 0) AS event_id, coalesce(event_type, '') AS event_type`,
		instance, interval(lease), mail).Scan(&jobs).Error
	if err != nil {
		return NotifyJob{}, false, fmt.Errorf("store: claim job: %w", err)
	}
	if len(jobs) == 0 {
		return NotifyJob{}, false, nil
	}
	return jobs[0], true, nil
}

// interval writes d as a PostgreSQL interval.
func interval(d time.Duration) string { return fmt.Sprintf("%d milliseconds", d.Milliseconds()) }

// LastReminder is the day of the user's last reminder worked (sent or with nothing to say)
// before slot; found is false without one.
func (n *Notify) LastReminder(ctx context.Context, user, slot string) (day string, found bool, err error) {
	var last []string
	err = n.db.WithContext(ctx).Raw(`SELECT to_char(max(slot), 'YYYY-MM-DD') FROM notify_jobs
		WHERE kind = 'reminder' AND user_name = $1 AND slot < $2::date AND state IN ('sent', 'empty')
		HAVING max(slot) IS NOT NULL`, user, slot).Scan(&last).Error
	if err != nil {
		return "", false, fmt.Errorf("store: last reminder of %s: %w", user, err)
	}
	if len(last) == 0 {
		return "", false, nil
	}
	return last[0], true, nil
}

// FinishJob records the job's outcome, only while the job is still the instance's: recorded
// is false when its lease ran out and another claimed it.
func (n *Notify) FinishJob(ctx context.Context, id int64, instance, state, messageID string, items int) (recorded bool, err error) {
	r := n.db.WithContext(ctx).Exec(`UPDATE notify_jobs SET state = $1, message_id = NULLIF($2, ''), items = $3, done_at = now(),
			locked_by = NULL, locked_until = NULL, last_error = NULL
		WHERE id = $4 AND state = 'pending' AND locked_by = $5`, state, messageID, items, id, instance)
	if r.Error != nil {
		return false, fmt.Errorf("store: record job %d: %w", id, r.Error)
	}
	return r.RowsAffected > 0, nil
}

// FailJob records a failed attempt of the job while it is still the instance's: state
// pending runs it again after delay, state failed gives it up.
func (n *Notify) FailJob(ctx context.Context, id int64, instance, state, lastError string, delay time.Duration) error {
	err := n.db.WithContext(ctx).Exec(`UPDATE notify_jobs SET state = $1, last_error = $2, locked_by = NULL, locked_until = NULL,
			run_after = now() + $3::interval, done_at = CASE WHEN $4 = 'failed' THEN now() END
		WHERE id = $5 AND state = 'pending' AND locked_by = $6`,
		state, lastError, interval(delay), state, id, instance).Error
	if err != nil {
		return fmt.Errorf("store: record failure of job %d: %w", id, err)
	}
	return nil
}

// NotifyPrefs is which e-mails a user chose.
type NotifyPrefs struct {
	Reminder bool
	Digest   bool
}

// Prefs returns the user's choices; found is false when the user never set them.
func (n *Notify) Prefs(ctx context.Context, user string) (p NotifyPrefs, found bool, err error) {
	var rows []NotifyPrefs
	if err := n.db.WithContext(ctx).Raw(`SELECT reminder, digest FROM notification_prefs WHERE user_name = $1`, user).
		Scan(&rows).Error; err != nil {
		return NotifyPrefs{}, false, fmt.Errorf("store: notification prefs of %s: %w", user, err)
	}
	if len(rows) != 1 {
		return NotifyPrefs{}, false, nil
	}
	return rows[0], true, nil
}

// PutPrefs stores the user's choices.
func (n *Notify) PutPrefs(ctx context.Context, user string, p NotifyPrefs) error {
	err := n.db.WithContext(ctx).Exec(`INSERT INTO notification_prefs (user_name, reminder, digest) VALUES ($1, $2, $3)
		ON CONFLICT (user_name) DO UPDATE SET reminder = EXCLUDED.reminder, digest = EXCLUDED.digest, updated_at = now()`,
		user, p.Reminder, p.Digest).Error
	if err != nil {
		return fmt.Errorf("store: put notification prefs of %s: %w", user, err)
	}
	return nil
}
