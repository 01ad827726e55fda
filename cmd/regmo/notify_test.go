package main

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/access"
	"github.com/bremen/regmo/domain/notify/mailpittest"
	"github.com/bremen/regmo/domain/store"
	"github.com/bremen/regmo/migrations/testdb"
)

// An instance killed (SIGKILL) in the middle of a send leaves its job to the next one once
// the lease has run out, and the e-mail goes out exactly once.
func TestNotifyRunKilledMidSend(t *testing.T) {
	dsn := testdb.DSN(t)
	app := testdb.App(t, dsn)
	ctx := context.Background()
	if _, _, err := access.New(store.NewAccess(app)).PutUser(ctx, "test", domain.WriteAll(), domain.User{Name: "anna", Email: "anna@sf.bremen.de",
		Active: true, Bindings: []domain.Binding{{Role: domain.RoleRessortverantwortliche, Ressort: "SF"}}}); err != nil {
		t.Fatal(err)
	}
	c := domain.Content{Name: "Grundsteuer", Readiness: domain.Readiness{IDNr: domain.Status{Stage: domain.StagePlanned, TargetDate: "2026-03-11"}}}
	if _, _, err := store.NewInventory(app).Put(ctx, "test", domain.WriteAll(), domain.KindRegister, "SF", "grundsteuer", c, domain.Precondition{}); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "regmo")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// An SMTP server that accepts the connection and never answers: the send hangs there.
	stall, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stall.Close()
	connected := make(chan net.Conn, 1)
	go func() {
		if conn, err := stall.Accept(); err == nil {
			connected <- conn
		}
	}()
	run := func(smtpAddr string) *exec.Cmd {
		cmd := exec.Command(bin, "notify", "run", "--at", "2026-03-10T07:00:00+01:00")
		cmd.Env = append(os.Environ(), "DATABASE_URL="+dsn, "REGMO_SMTP_URL=smtp://"+smtpAddr,
			"REGMO_MAIL_FROM=regmo@bremen.de", "REGMO_NOTIFY_LEASE=5s")
		return cmd
	}
	// Mailpit starts before the kill: under load its start takes longer than a lease.
	mail := mailpittest.Start(t)
	killed := run(stall.Addr().String())
	if err := killed.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case conn := <-connected:
		defer conn.Close()
	case <-time.After(30 * time.Second):
		_ = killed.Process.Kill()
		t.Fatal("the instance never connected to the SMTP server")
	}
	if err := killed.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = killed.Wait()

	// While the killed instance's lease lasts, nobody else takes its job.
	if out, err := run(mail.SMTP).CombinedOutput(); err != nil || !strings.Contains(string(out), "0 sent") {
		t.Errorf("run during the lease: %v, output %s; want 0 sent", err, out)
	}
	time.Sleep(5 * time.Second)
	for i, want := range []string{"1 sent", "0 sent"} {
		out, err := run(mail.SMTP).CombinedOutput()
		if err != nil || !strings.Contains(string(out), want) {
			t.Errorf("run %d after the lease: %v, output %s; want %s", i+1, err, out, want)
		}
	}
	msgs := mail.Messages(t)
	if len(msgs) != 1 || msgs[0].Recipient() != "anna@sf.bremen.de" || !strings.Contains(msgs[0].Text, "SF/grundsteuer") {
		t.Fatalf("messages = %+v, want exactly one reminder to anna naming SF/grundsteuer", msgs)
	}
	var attempts int
	if err := testdb.Open(t, dsn).Raw(`SELECT attempts FROM notify_jobs WHERE user_name = 'anna'`).Scan(&attempts).Error; err != nil {
		t.Fatal(err)
	}
	if attempts != 2 {
		t.Errorf("attempts = %d, want 2 (the killed one and the one that sent)", attempts)
	}
}
