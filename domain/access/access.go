// Package access decides who a caller is and what they are bound to: users, their bindings
// and tokens, the web interface's login links and sessions, the cache of authenticated
// callers and the watch that keeps it current and tells whether PostgreSQL answers. Its SQL
// lives in package store (store.Access); the rules (CheckUser, CheckToken) in domain.
package access

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/store"
)

// Service manages users, bindings and tokens.
type Service struct {
	db    *store.Access
	now   func() time.Time
	cache *CallerCache
}

// New returns the access service on db.
func New(db *store.Access) *Service { return &Service{db: db, now: time.Now} }

// WithCache returns a copy that keeps authenticated callers in c and empties it after its
// own changes of rights (other instances learn of them through Channel).
func (s *Service) WithCache(c *CallerCache) *Service {
	cp := *s
	cp.cache = c
	return &cp
}

// WithClock returns a copy that takes the time from now.
func (s *Service) WithClock(now func() time.Time) *Service {
	c := *s
	c.now = now
	return &c
}

// PutUser creates or updates a user and replaces their bindings; created tells which.
func (s *Service) PutUser(ctx context.Context, actor string, scope domain.WriteScope, u domain.User) (domain.User, bool, error) {
	// After the commit: a read that raced with it is not kept either.
	defer s.cache.Invalidate()
	if err := domain.CheckUser(u); err != nil {
		return domain.User{}, false, err
	}
	var created bool
	err := s.db.Write(ctx, scope, func(tx *store.AccessTx) error {
		before, err := tx.Users(u.Name)
		if err != nil {
			return err
		}
		created = len(before) == 0
		if err := tx.PutUser(u, s.now()); err != nil {
			return err
		}
		old := domain.User{}
		if !created {
			old = before[0]
		}
		if err := s.recordUser(tx, actor, old, u, created); err != nil {
			return err
		}
		if !u.Active {
			// Deactivation ends the tokens for good: activating the user again must not
			// bring back a token that may have leaked meanwhile.
			if err := s.revokeAll(tx, actor, u.Name); err != nil {
				return err
			}
		}
		for _, b := range old.Bindings {
			if !slices.Contains(u.Bindings, b) {
				if err := s.revoke(tx, actor, u.Name, b); err != nil {
					return err
				}
			}
		}
		for i, b := range u.Bindings {
			if !slices.Contains(old.Bindings, b) && !slices.Contains(u.Bindings[:i], b) {
				if err := s.grant(tx, actor, u.Name, b, fmt.Sprintf("bindings[%d]", i)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return domain.User{}, false, err
	}
	out, err := s.User(ctx, u.Name)
	return out, created, err
}

// recordUser writes the event of a user's creation or change of their own fields.
func (s *Service) recordUser(tx *store.AccessTx, actor string, old, u domain.User, created bool) error {
	doc := func(u domain.User) map[string]any {
		return map[string]any{"display_name": u.DisplayName, "email": u.Email, "active": u.Active}
	}
	e := domain.Event{At: s.now(), Actor: actor, Action: domain.ActionUpdated, EntityType: "user", Key: u.Name, Changes: domain.Diff(doc(old), doc(u))}
	if created {
		e.Action = domain.ActionCreated
		e.Changes = domain.Diff(map[string]any{}, doc(u))
	}
	if len(e.Changes) == 0 {
		return nil
	}
	return tx.RecordEvent(e)
}

func bindingEvent(at time.Time, actor, action, user string, b domain.Binding) domain.Event {
	c := map[string]domain.Change{"role": {To: b.Role}}
	if action == domain.ActionDeleted {
		c = map[string]domain.Change{"role": {From: b.Role}}
	}
	return domain.Event{At: at, Actor: actor, Action: action, EntityType: "binding", Ressort: b.Ressort, Key: user, Changes: c}
}

// grant inserts a binding and records it; an existing binding is left as it is. field
// names the binding in a validation error.
func (s *Service) grant(tx *store.AccessTx, actor, user string, b domain.Binding, field string) error {
	if b.Ressort != "" {
		ok, err := tx.RessortExists(b.Ressort)
		if err != nil {
			return err
		}
		if !ok {
			return &domain.ValidationError{Fields: []domain.FieldError{{Field: field + ".ressort", Message: "Ressort " + b.Ressort + " does not exist"}}}
		}
	}
	inserted, err := tx.InsertBinding(user, b)
	if err != nil || !inserted {
		return err
	}
	return tx.RecordEvent(bindingEvent(s.now(), actor, domain.ActionCreated, user, b))
}

// revoke deletes a binding and records it.
func (s *Service) revoke(tx *store.AccessTx, actor, user string, b domain.Binding) error {
	deleted, err := tx.DeleteBinding(user, b)
	if err != nil {
		return err
	}
	if !deleted {
		return &domain.NotFoundError{Detail: fmt.Sprintf("user %s holds no binding %s %s", user, b.Role, b.Ressort)}
	}
	return tx.RecordEvent(bindingEvent(s.now(), actor, domain.ActionDeleted, user, b))
}

// Grant adds a binding to an existing user.
func (s *Service) Grant(ctx context.Context, actor string, scope domain.WriteScope, user string, b domain.Binding) error {
	// After the commit: a read that raced with it is not kept either.
	defer s.cache.Invalidate()
	if err := domain.CheckBinding(b, "binding"); err != nil {
		return err
	}
	return s.db.Write(ctx, scope, func(tx *store.AccessTx) error {
		users, err := tx.Users(user)
		if _, err := only(user, users, err); err != nil {
			return err
		}
		return s.grant(tx, actor, user, b, "binding")
	})
}

// Revoke removes a binding from a user.
func (s *Service) Revoke(ctx context.Context, actor string, scope domain.WriteScope, user string, b domain.Binding) error {
	// After the commit: a read that raced with it is not kept either.
	defer s.cache.Invalidate()
	return s.db.Write(ctx, scope, func(tx *store.AccessTx) error {
		return s.revoke(tx, actor, user, b)
	})
}

// User returns one user with bindings.
func (s *Service) User(ctx context.Context, name string) (domain.User, error) {
	users, err := s.db.Users(ctx, name)
	return only(name, users, err)
}

// only returns the one user a listing of name found, or NotFoundError if it found none.
func only(name string, users []domain.User, err error) (domain.User, error) {
	if err != nil {
		return domain.User{}, err
	}
	if len(users) == 0 {
		return domain.User{}, &domain.NotFoundError{Detail: "user " + name + " does not exist"}
	}
	return users[0], nil
}

// Users lists every user ordered by name.
func (s *Service) Users(ctx context.Context) ([]domain.User, error) { return s.db.Users(ctx, "") }

// Deactivate makes a user inactive, keeping their other fields and bindings, and revokes
// their tokens.
func (s *Service) Deactivate(ctx context.Context, actor string, scope domain.WriteScope, name string) error {
	u, err := s.User(ctx, name)
	if err != nil {
		return err
	}
	u.Active = false
	_, _, err = s.PutUser(ctx, actor, scope, u)
	return err
}
