package notify

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/store"
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
	store  *store.Notify
	egress *Egress
}

// NewWebhookStore returns the store; egress checks URLs at registration (nil: no internal
// address is allowed).
func NewWebhookStore(s *store.Notify, egress *Egress) *WebhookStore {
	if egress == nil {
		egress, _ = ParseEgress("")
	}
	return &WebhookStore{store: s, egress: egress}
}

func webhook(r store.WebhookRow) Webhook {
	return Webhook{ID: r.ID, Owner: r.Owner, URL: r.URL, Events: r.Events, Ressorts: r.Ressorts, CreatedAt: r.CreatedAt.UTC()}
}

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
		known, err := s.store.KnownRessorts(ctx, ressorts)
		if err != nil {
			return Webhook{}, "", err
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
	row, err := s.store.CreateWebhook(ctx, owner, url, events, ressorts, secret)
	if err != nil {
		return Webhook{}, "", err
	}
	return webhook(row), secret, nil
}

// List returns every webhook, oldest first.
func (s *WebhookStore) List(ctx context.Context) ([]Webhook, error) {
	rows, err := s.store.Webhooks(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Webhook, len(rows))
	for i, r := range rows {
		out[i] = webhook(r)
	}
	return out, nil
}

// Get returns one webhook.
func (s *WebhookStore) Get(ctx context.Context, id int64) (Webhook, error) {
	r, found, err := s.store.Webhook(ctx, id)
	if err != nil {
		return Webhook{}, err
	}
	if !found {
		return Webhook{}, &domain.NotFoundError{Detail: fmt.Sprintf("webhook %d does not exist", id)}
	}
	return webhook(r), nil
}

// Delete removes a webhook; its pending deliveries go with it.
func (s *WebhookStore) Delete(ctx context.Context, id int64) error {
	deleted, err := s.store.DeleteWebhook(ctx, id)
	if err != nil {
		return err
	}
	if !deleted {
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
	rows, err := s.store.Deliveries(ctx, id, limit, before)
	if err != nil {
		return nil, err
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
	attempts, err := s.store.Attempts(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("notify: webhook %d: %w", id, err)
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
