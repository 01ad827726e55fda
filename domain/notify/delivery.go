package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/store"
)

// webhookRetryDelay is the wait before attempt n+1 of a delivery: 30 s, 1, 2, 4 … minutes, at
// most 4 hours, plus up to a tenth of jitter so that receivers that failed together are not
// retried in lockstep (recommended by the Standard Webhooks specification).
func webhookRetryDelay(attempts int) time.Duration {
	d := min(30*time.Second<<min(attempts-1, 10), 4*time.Hour)
	return d + rand.N(d/10+1) //nolint:gosec // G404: jitter, not a secret
}

// webhookTimeout bounds one attempt: a receiver that answers slowly must not hold the lease.
const webhookTimeout = 10 * time.Second

// payload is the body of a delivery, in the shape of the Standard Webhooks specification:
// type, timestamp and data. It is thin (the event, not the entry), so a receiver that wants
// more asks the API with its own token and its own permissions.
type payload struct {
	Type      string      `json:"type"`
	Timestamp time.Time   `json:"timestamp"`
	Data      payloadData `json:"data"`
}

type payloadData struct {
	EventID int64                    `json:"event_id"`
	Kind    string                   `json:"kind"`
	Ressort string                   `json:"ressort"`
	Key     string                   `json:"key"`
	Actor   string                   `json:"actor"`
	Changes map[string]domain.Change `json:"changes"`
}

type webhookTarget = store.WebhookTarget

// deliver sends one webhook job. What the owner may not read when it goes out (a binding
// revoked, a Ressort never granted, the owner deactivated) is withheld, not sent.
func (n *Notifier) deliver(ctx context.Context, j job, res *Result) {
	t, found, err := n.store.WebhookTarget(ctx, j.WebhookID)
	if err != nil {
		n.fail(ctx, j, err, res)
		return
	}
	if !found {
		n.finish(ctx, j, "withheld", "", 0)
		return
	}
	owner, err := n.access.User(ctx, t.Owner)
	if errors.Is(err, domain.ErrNotFound) {
		res.Withheld++
		n.finish(ctx, j, "withheld", "", 0)
		return
	}
	if err != nil {
		n.fail(ctx, j, err, res)
		return
	}
	scope := domain.ReadRessorts() // fail closed: without a decision nothing is readable
	if n.scopeOf != nil {
		if scope, err = n.scopeOf(owner); err != nil {
			n.fail(ctx, j, err, res)
			return
		}
	}
	ev, err := n.inv.EntryEvent(ctx, scope, j.EventID)
	if errors.Is(err, domain.ErrNotFound) {
		res.Withheld++
		n.finish(ctx, j, "withheld", "", 0)
		return
	}
	if err != nil {
		n.fail(ctx, j, err, res)
		return
	}
	body, err := json.Marshal(payload{Type: j.EventType, Timestamp: ev.At, Data: payloadData{EventID: ev.ID, Kind: ev.EntityType,
		Ressort: ev.Ressort, Key: ev.Key, Actor: ev.Actor, Changes: ev.Changes}})
	if err != nil {
		n.fail(ctx, j, err, res)
		return
	}
	start := time.Now()
	status, err := n.post(ctx, t, messageID(j), start, body)
	n.recordAttempt(ctx, j, start, status, err)
	if err == nil && (status < 200 || status > 299) {
		err = fmt.Errorf("receiver answered %d", status)
	}
	if err != nil {
		n.fail(ctx, j, err, res)
		return
	}
	res.Delivered++
	n.Metrics.sent(KindWebhook)
	n.finish(ctx, j, "sent", messageID(j), 1)
}

// messageID is the webhook-id: the same on every retry of the delivery, so the receiver can
// drop a repeat; it holds no full stop (the specification forbids one).
func messageID(j job) string { return "msg_" + strconv.FormatInt(j.ID, 10) }

// post sends the signed body and returns the receiver's status.
func (n *Notifier) post(ctx context.Context, t webhookTarget, id string, at time.Time, body []byte) (int, error) {
	u, err := url.Parse(t.URL)
	if err != nil {
		return 0, err
	}
	sig, err := Sign(t.Secret, id, at, body)
	if err != nil {
		return 0, err
	}
	timeout := min(webhookTimeout, n.Lease/2)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "regmo-webhooks")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(at.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	client := &http.Client{
		// One transport per delivery: its dialer checks the dialed address for this host.
		// No proxy from the environment, since a proxy would dial for us, unchecked.
		Transport: &http.Transport{DialContext: n.egress.Dialer(u.Hostname()).DialContext, Proxy: nil,
			TLSHandshakeTimeout: timeout, ResponseHeaderTimeout: timeout, DisableKeepAlives: true},
		// A redirect is an answer, not a new target: following it would leave the check.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       timeout,
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, nil
}

func (n *Notifier) recordAttempt(ctx context.Context, j job, start time.Time, status int, cause error) {
	ctx = context.WithoutCancel(ctx)
	err := n.store.RecordAttempt(ctx, j.ID, j.Attempts, start, status, cause, time.Since(start))
	if err != nil {
		n.Log.Error("notify: record webhook attempt", slog.Int64("job", j.ID), slog.String("error", err.Error()))
	}
}
