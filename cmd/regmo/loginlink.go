package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/access"
	"github.com/bremen/regmo/domain/store"
)

// defaultPublicURL is where the web interface is reached unless REGMO_PUBLIC_URL says otherwise.
const defaultPublicURL = "http://127.0.0.1:8080"

// publicURL is the base of links into the web interface, without a trailing slash.
func publicURL() string {
	u := strings.TrimRight(os.Getenv("REGMO_PUBLIC_URL"), "/")
	if u == "" {
		return defaultPublicURL
	}
	return u
}

// loginLink prints a one-time link into the web interface for a user (valid 15 minutes,
// stored only as a hash) and records that it did in the audit trail. It works on the
// database directly, like regmo user.
func loginLink(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	name, rest := splitName(args)
	fs := newFlags("login-link", "login-link USER", stderr)
	if err := fs.Parse(rest); err != nil || name == "" || fs.NArg() > 0 {
		fs.Usage()
		return exitError(2)
	}
	db, closeDB, err := openDB(ctx)
	if err != nil {
		return err
	}
	defer closeDB()
	secret, _, err := access.New(store.NewAccess(db)).IssueLoginLink(ctx, cliActor, domain.WriteAll(), name, access.LoginLinkTTL)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, publicURL()+"/anmelden/link?t="+url.QueryEscape(secret))
	return nil
}
