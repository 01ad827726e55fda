package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/access"
	"github.com/bremen/regmo/domain/store"
)

// stringList collects a repeatable flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// splitName takes the leading NAME argument, so that flags may follow it.
func splitName(args []string) (string, []string) {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		return args[0], args[1:]
	}
	return "", args
}

// bindingsFrom turns --role and --ressort into bindings: a Ressort-bound role once per
// Ressort, a global role once.
func bindingsFrom(role string, ressorts []string) []domain.Binding {
	if len(ressorts) == 0 {
		return []domain.Binding{{Role: role}}
	}
	out := make([]domain.Binding, len(ressorts))
	for i, r := range ressorts {
		out[i] = domain.Binding{Role: role, Ressort: r}
	}
	return out
}

func userCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: regmo user add|grant|revoke|deactivate|list")
	}
	db, closeDB, err := openDB(ctx)
	if err != nil {
		return err
	}
	defer closeDB()
	acc := access.New(store.NewAccess(db))
	sub, rest := args[0], args[1:]
	if sub == "list" {
		users, err := acc.Users(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tACTIVE\tBINDINGS")
		for _, u := range users {
			var bs []string
			for _, b := range u.Bindings {
				if b.Ressort != "" {
					bs = append(bs, b.Role+"@"+b.Ressort)
				} else {
					bs = append(bs, b.Role)
				}
			}
			fmt.Fprintf(tw, "%s\t%v\t%s\n", u.Name, u.Active, strings.Join(bs, " "))
		}
		return tw.Flush()
	}
	name, rest := splitName(rest)
	if sub == "deactivate" {
		if name == "" || len(rest) > 0 {
			return fmt.Errorf("usage: regmo user deactivate NAME")
		}
		// Deactivation revokes the user's tokens for good (see domain.Access.PutUser).
		return acc.Deactivate(ctx, cliActor, domain.WriteAll(), name)
	}
	fs := newFlags("user "+sub, "user "+sub+" NAME --role ROLE [--ressort CODE]...", stderr)
	role := fs.String("role", "", "ressortverantwortliche, ozg-koordination or admin")
	var ressorts stringList
	fs.Var(&ressorts, "ressort", "Ressort code of a ressortverantwortliche binding (repeatable)")
	display := fs.String("display-name", "", "display name (add)")
	email := fs.String("email", "", "e-mail address (add)")
	if err := fs.Parse(rest); err != nil {
		return exitError(2)
	}
	if name == "" || *role == "" {
		fs.Usage()
		return exitError(2)
	}
	if slices.Contains(ressorts, "") {
		// An empty Ressort would read as none, which for a global role means every Ressort.
		return fmt.Errorf("--ressort must name a Ressort code; leave it out for a global role")
	}
	bindings := bindingsFrom(*role, ressorts)
	switch sub {
	case "add":
		_, created, err := acc.PutUser(ctx, cliActor, domain.WriteAll(), domain.User{Name: name, DisplayName: *display, Email: *email, Active: true, Bindings: bindings})
		if err != nil {
			return err
		}
		if !created {
			fmt.Fprintf(stderr, "user %s existed; bindings replaced\n", name)
		}
	case "grant":
		for _, b := range bindings {
			if err := acc.Grant(ctx, cliActor, domain.WriteAll(), name, b); err != nil {
				return err
			}
		}
	case "revoke":
		for _, b := range bindings {
			if err := acc.Revoke(ctx, cliActor, domain.WriteAll(), name, b); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("unknown command: user %s", sub)
	}
	return nil
}

func tokenCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: regmo token issue NAME [--ttl 720h] [--label TEXT] | regmo token revoke ID")
	}
	db, closeDB, err := openDB(ctx)
	if err != nil {
		return err
	}
	defer closeDB()
	acc := access.New(store.NewAccess(db))
	switch args[0] {
	case "issue":
		name, rest := splitName(args[1:])
		fs := newFlags("token issue", "token issue NAME [--ttl 720h] [--label TEXT]", stderr)
		ttl := fs.String("ttl", "", "lifetime as a Go duration (default 2160h = 90 days)")
		label := fs.String("label", "", "what the token is for")
		if err := fs.Parse(rest); err != nil || name == "" {
			fs.Usage()
			return exitError(2)
		}
		d, err := access.ParseTTL(*ttl)
		if err != nil {
			return err
		}
		secret, t, err := acc.IssueToken(ctx, cliActor, domain.WriteAll(), name, *label, d)
		if err != nil {
			return err
		}
		// The token alone on stdout, so that a script can capture it.
		fmt.Fprintln(stdout, secret)
		fmt.Fprintf(stderr, "token %d for %s, expires %s\n", t.ID, name, t.ExpiresAt.Format("2006-01-02 15:04 MST"))
		return nil
	case "revoke":
		if len(args) != 2 {
			return fmt.Errorf("usage: regmo token revoke ID")
		}
		id, err := strconv.ParseInt(args[1], 10, 64)
		if err != nil {
			return fmt.Errorf("token id %q is not a number", args[1])
		}
		return acc.RevokeToken(ctx, cliActor, domain.WriteAll(), "", id)
	}
	return fmt.Errorf("unknown command: token %s", args[0])
}

// cliActor is the actor of changes made with the command line, which works on the database
// directly and knows no API user.
const cliActor = "cli"
