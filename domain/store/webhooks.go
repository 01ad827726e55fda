package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// WebhookRow is a registered webhook with its signing secret.
type WebhookRow struct {
	ID        int64
	Owner     string
	URL       string
	Events    []string
	Ressorts  []string
	Secret    string
	CreatedAt time.Time
}

// webhookScan is a webhooks row as selected by webhookColumns.
type webhookScan struct {
	ID        int64
	Owner     string
	URL       string
	Events    string
	Ressorts  string
	Secret    string
	CreatedAt time.Time
}

func (r webhookScan) row() WebhookRow {
	return WebhookRow{ID: r.ID, Owner: r.Owner, URL: r.URL, Events: parseArray(r.Events), Ressorts: parseArray(r.Ressorts),
		Secret: r.Secret, CreatedAt: r.CreatedAt}
}

// parseArray reads a text[] as PostgreSQL prints it; the values (event types, Ressort codes)
// never need quoting.
func parseArray(s string) []string {
	s = strings.Trim(s, "{}")
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

const webhookColumns = `id, owner, url, event_types::text AS events, ressorts::text AS ressorts, secret, created_at`

// KnownRessorts returns those of codes that name a Ressort.
func (n *Notify) KnownRessorts(ctx context.Context, codes []string) ([]string, error) {
	var known []string
	if err := n.db.WithContext(ctx).Raw(`SELECT code FROM ressorts WHERE code = ANY($1::text[])`, textArray(codes)).Scan(&known).Error; err != nil {
		return nil, fmt.Errorf("store: ressorts of webhook: %w", err)
	}
	return known, nil
}

// CreateWebhook inserts a webhook and returns it.
func (n *Notify) CreateWebhook(ctx context.Context, owner, url string, events, ressorts []string, secret string) (WebhookRow, error) {
	var rows []webhookScan
	err := n.db.WithContext(ctx).Raw(`INSERT INTO webhooks (owner, url, event_types, ressorts, secret)
		VALUES ($1, $2, $3::text[], $4::text[], $5) RETURNING `+webhookColumns, owner, url, textArray(events), textArray(ressorts), secret).Scan(&rows).Error
	if err != nil {
		return WebhookRow{}, fmt.Errorf("store: create webhook: %w", err)
	}
	return rows[0].row(), nil
}

// Webhooks returns every webhook, oldest first.
func (n *Notify) Webhooks(ctx context.Context) ([]WebhookRow, error) {
	var rows []webhookScan
	if err := n.db.WithContext(ctx).Raw(`SELECT ` + webhookColumns + ` FROM webhooks ORDER BY id`).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: list webhooks: %w", err)
	}
	out := make([]WebhookRow, len(rows))
	for i, r := range rows {
		out[i] = r.row()
	}
	return out, nil
}

// Webhook returns webhook id; found is false if there is none.
func (n *Notify) Webhook(ctx context.Context, id int64) (w WebhookRow, found bool, err error) {
	var rows []webhookScan
	if err := n.db.WithContext(ctx).Raw(`SELECT `+webhookColumns+` FROM webhooks WHERE id = $1`, id).Scan(&rows).Error; err != nil {
		return WebhookRow{}, false, fmt.Errorf("store: webhook %d: %w", id, err)
	}
	if len(rows) == 0 {
		return WebhookRow{}, false, nil
	}
	return rows[0].row(), true, nil
}

// WebhookTarget is where and as whom a delivery goes.
type WebhookTarget struct {
	URL    string
	Secret string
	Owner  string
}

// WebhookTarget returns the target of webhook id; found is false if it was deleted.
func (n *Notify) WebhookTarget(ctx context.Context, id int64) (t WebhookTarget, found bool, err error) {
	var targets []WebhookTarget
	if err := n.db.WithContext(ctx).Raw(`SELECT url, secret, owner FROM webhooks WHERE id = $1`, id).Scan(&targets).Error; err != nil {
		return WebhookTarget{}, false, fmt.Errorf("store: webhook %d: %w", id, err)
	}
	if len(targets) == 0 {
		return WebhookTarget{}, false, nil
	}
	return targets[0], true, nil
}

// DeleteWebhook removes webhook id with its pending deliveries; deleted is false if there
// was none.
func (n *Notify) DeleteWebhook(ctx context.Context, id int64) (deleted bool, err error) {
	r := n.db.WithContext(ctx).Exec(`DELETE FROM webhooks WHERE id = $1`, id)
	if r.Error != nil {
		return false, fmt.Errorf("store: delete webhook %d: %w", id, r.Error)
	}
	return r.RowsAffected > 0, nil
}

// DeliveryRow is one delivery job of a webhook.
type DeliveryRow struct {
	ID        int64
	EventID   int64
	EventType string
	State     string
	RunAfter  time.Time
	CreatedAt time.Time
	DoneAt    *time.Time
	LastError *string
}

// Deliveries returns webhook id's deliveries, newest first, limit of them with an id below
// before (0: from the newest).
func (n *Notify) Deliveries(ctx context.Context, id int64, limit int, before int64) ([]DeliveryRow, error) {
	var rows []DeliveryRow
	err := n.db.WithContext(ctx).Raw(`SELECT id, event_id, event_type, state, run_after, created_at, done_at, last_error
		FROM notify_jobs WHERE webhook_id = $1 AND ($2 = 0 OR id < $2) ORDER BY id DESC LIMIT $3`, id, before, limit).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store: deliveries of webhook %d: %w", id, err)
	}
	return rows, nil
}

// AttemptRow is one try of a delivery.
type AttemptRow struct {
	JobID      int64
	Attempt    int
	At         time.Time
	Status     *int
	Error      *string
	DurationMs int
}

// Attempts returns the attempts of the delivery jobs, by job and attempt.
func (n *Notify) Attempts(ctx context.Context, jobs []int64) ([]AttemptRow, error) {
	var attempts []AttemptRow
	err := n.db.WithContext(ctx).Raw(`SELECT job_id, attempt, at, status, error, duration_ms FROM webhook_attempts
		WHERE job_id = ANY($1::bigint[]) ORDER BY job_id, attempt`, jobs).Scan(&attempts).Error
	if err != nil {
		return nil, fmt.Errorf("store: attempts: %w", err)
	}
	return attempts, nil
}

// RecordAttempt records attempt n of delivery job, begun at start: the receiver's status (0:
// no HTTP answer) and the error (nil: none).
func (n *Notify) RecordAttempt(ctx context.Context, job int64, attempt int, start time.Time, status int, cause error, took time.Duration) error {
	var msg any
	if cause != nil {
		msg = cause.Error()
	}
	var st any
	if status != 0 {
		st = status
	}
	err := n.db.WithContext(ctx).Exec(`INSERT INTO webhook_attempts (job_id, attempt, at, status, error, duration_ms)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`, job, attempt, start, st, msg, took.Milliseconds()).Error
	if err != nil {
		return fmt.Errorf("store: record attempt %d of job %d: %w", attempt, job, err)
	}
	return nil
}
