// Command regmo is the register modernisation inventory of the Free Hanseatic City of Bremen:
// the HTTP service and the commands that bootstrap and seed it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	_ "time/tzdata" // "today" is decided in Europe/Berlin even where the system lacks zoneinfo
)

const usage = `regmo – Registermodernisierung inventory for Bremen

Usage:
  regmo serve                 run the HTTP API (REGMO_ADDR, default 127.0.0.1:8080)
  regmo migrate               apply pending database migrations
  regmo migrate status        list migrations and whether they are applied
  regmo seed demo             load the demo inventory (idempotent)
  regmo seed anlage --ressort CODE --numbers 1,21,22
                              create registers anlage-<nr> for Anlage entries a Ressort keeps
  regmo import FILE [--dry-run] [--mode replace --ressort CODE] [--kind registers|onlinedienste]
                              import a .json or .csv file through a running server
  regmo export [--format csv] [--kind registers|onlinedienste] [--ressort CODE] > FILE
                              export what your token may read, in the import format
  regmo user add NAME --role ROLE [--ressort CODE]...   create a user (works on the database)
  regmo user grant NAME --role ROLE [--ressort CODE]    add a role binding
  regmo user revoke NAME --role ROLE [--ressort CODE]   remove a role binding
  regmo user list             list users and their bindings
  regmo token issue NAME [--ttl 720h] [--label TEXT]    print a new API token on stdout
  regmo token revoke ID       revoke a token at once
  regmo login-link USER       print a one-time login link for the web interface (15 minutes)
  regmo notify run [--at INSTANT]  do what the e-mail scheduler does at the instant (idempotent)
  regmo check counters [--repair]  compare the readiness counters with the entries; --repair
                              rebuilds them in one transaction and prints what differed

Roles: ressortverantwortliche (needs --ressort), ozg-koordination, admin.

import and export talk to a running server (--server, default http://127.0.0.1:8080) with
the token in REGMO_TOKEN; every other command works on the database directly.
Database: DATABASE_URL, or the libpq PG* variables.
Environment:
  REGMO_ADDR          listen address of the API (default 127.0.0.1:8080)
  REGMO_MIGRATE       "false" skips migrations when serve starts
  REGMO_LOG_LEVEL     debug, info (default), warn, error
  REGMO_TRUSTED_PROXIES  addresses/prefixes whose X-Forwarded-For is trusted (default none)
  REGMO_PUBLIC_URL    where browsers reach the web interface (default http://127.0.0.1:8080);
                      https:// marks the session cookie Secure
  REGMO_OIDC_ISSUER, REGMO_OIDC_CLIENT_ID, REGMO_OIDC_CLIENT_SECRET
                      single sign-on through an OpenID provider (redirect URL:
                      <REGMO_PUBLIC_URL>/auth/callback)
  REGMO_OIDC_USER_CLAIM  the ID token claim that names the regmo user (default preferred_username)
  REGMO_SMTP_URL      smtp://[user:pass@]host[:587] (STARTTLS unless loopback) or smtps://…;
                      unset: no e-mail is sent
  REGMO_MAIL_FROM     sender of the reminders and the digest
  REGMO_NOTIFY        "false" keeps serve from running the e-mail schedule and the webhook deliveries
  REGMO_WEBHOOK_ALLOW hosts, addresses, prefixes webhooks may reach although loopback, link-local
                      or private (comma-separated, e.g. hooks.intern,10.1.0.0/16; default none)
  REGMO_NOTIFY_LEASE  how long a claimed e-mail job stays with its instance (default 2m)
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		var exit exitError
		if errors.As(err, &exit) {
			os.Exit(int(exit))
		}
		fmt.Fprintln(os.Stderr, "regmo:", err)
		os.Exit(1)
	}
}

// exitError ends the program with a status and no further message.
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit %d", int(e)) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitError(2)
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	case "serve":
		return serve(ctx, args[1:], stderr)
	case "migrate":
		return migrate(ctx, args[1:], stdout)
	case "seed":
		return seed(ctx, args[1:], stdout, stderr)
	case "import":
		return importCmd(ctx, args[1:], stdout, stderr)
	case "export":
		return exportCmd(ctx, args[1:], stdout, stderr)
	case "user":
		return userCmd(ctx, args[1:], stdout, stderr)
	case "token":
		return tokenCmd(ctx, args[1:], stdout, stderr)
	case "notify":
		return notifyCmd(ctx, args[1:], stdout, stderr)
	case "login-link":
		return loginLink(ctx, args[1:], stdout, stderr)
	case "check":
		return checkCmd(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "regmo: unknown command %q\n\n%s", args[0], usage)
	return exitError(2)
}

// newFlags returns a flag set that prints the command's usage on -h.
func newFlags(name, synopsis string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: regmo %s\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}
