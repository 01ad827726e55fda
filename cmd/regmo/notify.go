package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/bremen/regmo/api"
	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/notify"
	"github.com/bremen/regmo/domain/store"
	"gorm.io/gorm"
)

// mailerFromEnv reads REGMO_SMTP_URL and REGMO_MAIL_FROM; without the URL nothing is sent.
func mailerFromEnv() (*notify.Mailer, error) {
	raw := os.Getenv("REGMO_SMTP_URL")
	if raw == "" {
		return nil, nil
	}
	return notify.ParseSMTP(raw, os.Getenv("REGMO_MAIL_FROM"))
}

// newNotifier is the scheduler of regmo serve and regmo notify run: one code path.
func newNotifier(db *gorm.DB, log *slog.Logger, metrics *notify.Metrics) (*notify.Notifier, error) {
	mailer, err := mailerFromEnv()
	if err != nil {
		return nil, err
	}
	egress, err := notify.ParseEgress(os.Getenv("REGMO_WEBHOOK_ALLOW"))
	if err != nil {
		return nil, err
	}
	scope, err := api.AuditScope()
	if err != nil {
		return nil, err
	}
	n := notify.New(notify.Config{Store: store.NewNotify(db), Mailer: mailer, Egress: egress, PublicURL: publicURL(), ReadScope: scope, Log: log, Metrics: metrics})
	if v := os.Getenv("REGMO_NOTIFY_LEASE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second {
			return nil, fmt.Errorf("REGMO_NOTIFY_LEASE: %q is no duration of at least 1s", v)
		}
		n.Lease = d
	}
	return n, nil
}

// notifyCmd runs `regmo notify run [--at INSTANT]`: what the scheduler does at the instant.
func notifyCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "run" {
		fmt.Fprintln(stderr, "Usage: regmo notify run [--at 2026-03-30T07:00:00+02:00]")
		return exitError(2)
	}
	fs := newFlags("notify run", "notify run [--at INSTANT]", stderr)
	at := fs.String("at", "", "the instant (RFC 3339) to run the schedule for; default now")
	if err := fs.Parse(args[1:]); err != nil {
		return exitError(2)
	}
	instant := time.Now()
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			return fmt.Errorf("--at: %q is no RFC 3339 instant (like 2026-03-30T07:00:00+02:00)", *at)
		}
		instant = t
	}
	db, closeDB, err := openDBAs(ctx, store.AppRole)
	if err != nil {
		return err
	}
	defer closeDB()
	n, err := newNotifier(db, logger(stderr), nil)
	if err != nil {
		return err
	}
	if os.Getenv("REGMO_SMTP_URL") == "" {
		fmt.Fprintln(stderr, "regmo: REGMO_SMTP_URL is not set; no e-mail is sent (webhooks are delivered)")
	}
	res, err := n.RunAt(ctx, instant)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "notify %s: %d queued, %d sent, %d with nothing to say, %d webhook deliveries, %d withheld, %d retried, %d failed, %d pending\n",
		instant.In(domain.Berlin).Format(time.RFC3339), res.Queued, res.Sent, res.Empty, res.Delivered, res.Withheld, res.Retried, res.Failed, res.Held)
	return nil
}
