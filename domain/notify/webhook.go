package notify

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/bremen/regmo/domain"
)

// KindWebhook is the queue's kind of a webhook delivery.
const KindWebhook = "webhook"

// The event types a webhook can subscribe to, one per action on an entry.
const (
	EventEntryCreated = "entry.created"
	EventEntryChanged = "entry.changed"
	EventEntryDeleted = "entry.deleted"
)

// EventTypes are the event types in the order the API lists them.
var EventTypes = []string{EventEntryCreated, EventEntryChanged, EventEntryDeleted}

// WebhookRetention is how long a delivery is retried: the Standard Webhooks specification
// recommends retrying for a day or more, the issue asks for 24 hours.
const WebhookRetention = 24 * time.Hour

// Webhook is a registered receiver, without its secret.
type Webhook struct {
	ID     int64
	Owner  string
	URL    string
	Events []string
	// Ressorts restricts the events to these; empty: every Ressort the owner may read.
	Ressorts  []string
	CreatedAt time.Time
}

// Delivery is one event for one webhook, with its attempts.
type Delivery struct {
	ID        int64
	EventID   int64
	EventType string
	// State is pending, sent, failed (given up) or withheld (the owner may not read it).
	State     string
	NextAt    *time.Time
	CreatedAt time.Time
	DoneAt    *time.Time
	LastError string
	Attempts  []Attempt
}

// Attempt is one try of a delivery.
type Attempt struct {
	N        int
	At       time.Time
	Status   int // 0: no HTTP answer
	Error    string
	Duration time.Duration
}

// WebhookStore registers, lists and deletes webhooks. The table holds no Ressort data; what a
// webhook receives is decided at delivery time from its owner's bindings.
type WebhookStore struct {
	db     *gorm.DB
	egress *Egress
}

// NewWebhookStore returns the store; egress checks URLs at registration (nil: no internal
// address is allowed).
func NewWebhookStore(db *gorm.DB, egress *Egress) *WebhookStore {
	if egress == nil {
		egress, _ = ParseEgress("")
	}
	return &WebhookStore{db: db, egress: egress}
}

type webhookRow struct {
	ID        int64
	Owner     string
	URL       string
	Events    string
	Ressorts  string
	Secret    string
	CreatedAt time.Time
}

func (r webhookRow) webhook() Webhook {
	return Webhook{ID: r.ID, Owner: r.Owner, URL: r.URL, Events: parseArray(r.Events), Ressorts: parseArray(r.Ressorts), CreatedAt: r.CreatedAt.UTC()}
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

func array(values []string) string { return "{" + strings.Join(values, ",") + "}" }

const webhookColumns = `id, owner, url, event_types::text AS events, ressorts::text AS ressorts, secret, created_at`

// Create registers a webhook for the owner and returns it with its signing secret, which is
// never shown again.
func (s *WebhookStore) Create(ctx context.Context, owner, url string, events, ressorts []string) (Webhook, string, error) {
	verr := &domain.ValidationError{}
	if err := s.egress.CheckURL(ctx, url); err != nil {
		verr.Fields = append(verr.Fields, domain.FieldError{Field: "url", Message: err.Error()})
	}
	if len(events) == 0 {
		verr.Fields = append(verr.Fields, domain.FieldError{Field: "events", Message: "must name at least one event type"})
	}
	for i, e := range events {
		if !slices.Contains(EventTypes, e) {
			verr.Fields = append(verr.Fields, domain.FieldError{Field: fmt.Sprintf("events[%d]", i), Message: "must be one of " + strings.Join(EventTypes, ", ")})
		}
	}
	ressorts = slices.Compact(slices.Sorted(slices.Values(ressorts)))
	if len(ressorts) > 0 {
		var known []string
		if err := s.db.WithContext(ctx).Raw(`SELECT code FROM ressorts WHERE code = ANY(?::text[])`, array(ressorts)).Scan(&known).Error; err != nil {
			return Webhook{}, "", fmt.Errorf("store: ressorts of webhook: %w", err)
		}
		for _, r := range ressorts {
			if !slices.Contains(known, r) {
				verr.Fields = append(verr.Fields, domain.FieldError{Field: "ressorts", Message: "Ressort " + r + " does not exist"})
			}
		}
	}
	if len(verr.Fields) > 0 {
		return Webhook{}, "", verr
	}
	events = slices.Compact(slices.Sorted(slices.Values(events)))
	secret := NewSecret()
	var rows []webhookRow
	err := s.db.WithContext(ctx).Raw(`INSERT INTO webhooks (owner, url, event_types, ressorts, secret)
		VALUES (?, ?, ?::text[], ?::text[], ?) RETURNING `+webhookColumns, owner, url, array(events), array(ressorts), secret).Scan(&rows).Error
	if err != nil {
		return Webhook{}, "", fmt.Errorf("store: create webhook: %w", err)
	}
	return rows[0].webhook(), secret, nil
}

// List returns every webhook, oldest first.
func (s *WebhookStore) List(ctx context.Context) ([]Webhook, error) {
	var rows []webhookRow
	if err := s.db.WithContext(ctx).Raw(`SELECT ` + webhookColumns + ` FROM webhooks ORDER BY id`).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: list webhooks: %w", err)
	}
	out := make([]Webhook, len(rows))
	for i, r := range rows {
		out[i] = r.webhook()
	}
	return out, nil
}

// Get returns one webhook.
func (s *WebhookStore) Get(ctx context.Context, id int64) (Webhook, error) {
	r, err := s.row(ctx, s.db, id)
	return r.webhook(), err
}

func (s *WebhookStore) row(ctx context.Context, db *gorm.DB, id int64) (webhookRow, error) {
	var rows []webhookRow
	if err := db.WithContext(ctx).Raw(`SELECT `+webhookColumns+` FROM webhooks WHERE id = ?`, id).Scan(&rows).Error; err != nil {
		return webhookRow{}, fmt.Errorf("store: webhook %d: %w", id, err)
	}
	if len(rows) == 0 {
		return webhookRow{}, &domain.NotFoundError{Detail: fmt.Sprintf("webhook %d does not exist", id)}
	}
	return rows[0], nil
}

// Delete removes a webhook; its pending deliveries go with it.
func (s *WebhookStore) Delete(ctx context.Context, id int64) error {
	r := s.db.WithContext(ctx).Exec(`DELETE FROM webhooks WHERE id = ?`, id)
	if r.Error != nil {
		return fmt.Errorf("store: delete webhook %d: %w", id, r.Error)
	}
	if r.RowsAffected == 0 {
		return &domain.NotFoundError{Detail: fmt.Sprintf("webhook %d does not exist", id)}
	}
	return nil
}

// Deliveries returns a webhook's deliveries, newest first, limit of them with an id below
// before (0: from the newest), each with its attempts.
func (s *WebhookStore) Deliveries(ctx context.Context, id int64, limit int, before int64) ([]Delivery, error) {
	if _, err := s.Get(ctx, id); err != nil {
		return nil, err
	}
	type row struct {
		ID        int64
		EventID   int64
		EventType string
		State     string
		RunAfter  time.Time
		CreatedAt time.Time
		DoneAt    *time.Time
		LastError *string
	}
	var rows []row
	err := s.db.WithContext(ctx).Raw(`SELECT id, event_id, event_type, state, run_after, created_at, done_at, last_error
		FROM notify_jobs WHERE webhook_id = ? AND (? = 0 OR id < ?) ORDER BY id DESC LIMIT ?`, id, before, before, limit).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store: deliveries of webhook %d: %w", id, err)
	}
	out := make([]Delivery, len(rows))
	ids := make([]int64, len(rows))
	for i, r := range rows {
		d := Delivery{ID: r.ID, EventID: r.EventID, EventType: r.EventType, State: r.State, CreatedAt: r.CreatedAt.UTC(), DoneAt: r.DoneAt, Attempts: []Attempt{}}
		if r.State == "pending" {
			next := r.RunAfter.UTC()
			d.NextAt = &next
		}
		if r.LastError != nil {
			d.LastError = *r.LastError
		}
		out[i], ids[i] = d, r.ID
	}
	if len(ids) == 0 {
		return out, nil
	}
	type attemptRow struct {
		JobID      int64
		Attempt    int
		At         time.Time
		Status     *int
		Error      *string
		DurationMs int
	}
	var attempts []attemptRow
	err = s.db.WithContext(ctx).Raw(`SELECT job_id, attempt, at, status, error, duration_ms FROM webhook_attempts
		WHERE job_id IN ? ORDER BY job_id, attempt`, ids).Scan(&attempts).Error
	if err != nil {
		return nil, fmt.Errorf("store: attempts of webhook %d: %w", id, err)
	}
	for _, a := range attempts {
		i := slices.Index(ids, a.JobID)
		at := Attempt{N: a.Attempt, At: a.At.UTC(), Duration: time.Duration(a.DurationMs) * time.Millisecond}
		if a.Status != nil {
			at.Status = *a.Status
		}
		if a.Error != nil {
			at.Error = *a.Error
		}
		out[i].Attempts = append(out[i].Attempts, at)
	}
	return out, nil
}
