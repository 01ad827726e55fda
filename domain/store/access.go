package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bremen/regmo/domain"
	"gorm.io/gorm"
)

// Access manages users, bindings and tokens.
type Access struct {
	db    *gorm.DB
	now   func() time.Time
	cache *CallerCache
}

// NewAccess returns the access service on db.
func NewAccess(db *gorm.DB) *Access { return &Access{db: db, now: time.Now} }

// WithCache returns a copy that keeps authenticated callers in c and empties it after its
// own changes of rights (other instances learn of them through AccessChannel).
func (a *Access) WithCache(c *CallerCache) *Access {
	cp := *a
	cp.cache = c
	return &cp
}

// WithClock returns a copy that takes the time from now.
func (a *Access) WithClock(now func() time.Time) *Access {
	c := *a
	c.now = now
	return &c
}

func hashToken(token string) [32]byte { return sha256.Sum256([]byte(token)) }

// Authenticate returns the caller a token belongs to, with the bindings as they are in the
// database. With a cache, a caller seen less than its TTL ago is answered from memory; a
// change of rights empties the cache on every instance (see CallerCache).
func (a *Access) Authenticate(ctx context.Context, token string) (domain.Caller, error) {
	if !strings.HasPrefix(token, domain.TokenPrefix) || len(token) > 200 {
		return domain.Caller{}, domain.ErrUnauthenticated
	}
	sum := hashToken(token)
	now := a.now()
	if caller, ok := a.cache.lookup(sum, now); ok {
		return caller, nil
	}
	gen, loaded := a.cache.begin()
	hash := sum[:]
	var row struct {
		ID         int64
		Hash       []byte
		UserName   string
		Active     bool
		ExpiresAt  time.Time
		RevokedAt  *time.Time
		LastUsedAt *time.Time
		Bindings   string
	}
	err := a.db.WithContext(ctx).Raw(`SELECT t.id, t.hash, t.user_name, u.active, t.expires_at, t.revoked_at, t.last_used_at,
			COALESCE((SELECT json_agg(json_build_object('role', b.role, 'ressort', COALESCE(b.ressort, '')) ORDER BY b.role, b.ressort)
				FROM bindings b WHERE b.user_name = u.name), '[]')::text AS bindings
		FROM tokens t JOIN users u ON u.name = t.user_name
		WHERE t.hash = ?`, hash).Scan(&row).Error
	if err != nil {
		return domain.Caller{}, fmt.Errorf("store: authenticate: %w", err)
	}
	// The index lookup found the row by hash; compare again in constant time anyway.
	if row.ID == 0 || subtle.ConstantTimeCompare(row.Hash, hash) != 1 || !row.Active ||
		row.RevokedAt != nil || !now.Before(row.ExpiresAt) {
		return domain.Caller{}, domain.ErrUnauthenticated
	}
	var bindings []domain.Binding
	if err := json.Unmarshal([]byte(row.Bindings), &bindings); err != nil {
		return domain.Caller{}, fmt.Errorf("store: authenticate: bindings: %w", err)
	}
	// last_used_at is kept to the minute: one write per token and minute, not per request.
	if row.LastUsedAt == nil || now.Sub(*row.LastUsedAt) > time.Minute {
		if err := a.db.WithContext(ctx).Exec(`UPDATE tokens SET last_used_at = ? WHERE id = ?`, now, row.ID).Error; err != nil {
			return domain.Caller{}, fmt.Errorf("store: token last used: %w", err)
		}
	}
	caller := domain.Caller{User: row.UserName, Bindings: bindings}
	a.cache.store(gen, loaded, sum, caller, row.ExpiresAt)
	return caller, nil
}

// PutUser creates or updates a user and replaces their bindings; created tells which.
func (a *Access) PutUser(ctx context.Context, actor string, scope domain.WriteScope, u domain.User) (domain.User, bool, error) {
	// After the commit: a read that raced with it is not kept either.
	defer a.cache.Invalidate()
	if err := domain.CheckUser(u); err != nil {
		return domain.User{}, false, err
	}
	var created bool
	err := writeTx(ctx, a.db, scope, func(tx *gorm.DB) error {
		before, err := a.users(ctx, tx, u.Name)
		if err != nil {
			return err
		}
		created = len(before) == 0
		if err := tx.Exec(`INSERT INTO users (name, display_name, email, active, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET display_name = EXCLUDED.display_name, email = EXCLUDED.email,
				active = EXCLUDED.active, updated_at = EXCLUDED.updated_at`,
			u.Name, u.DisplayName, u.Email, u.Active, a.now(), a.now()).Error; err != nil {
			return fmt.Errorf("store: put user %s: %w", u.Name, err)
		}
		old := domain.User{}
		if !created {
			old = before[0]
		}
		if err := a.recordUser(ctx, tx, actor, old, u, created); err != nil {
			return err
		}
		if !u.Active {
			// Deactivation ends the tokens for good: activating the user again must not
			// bring back a token that may have leaked meanwhile.
			if err := a.revokeAll(ctx, tx, actor, u.Name); err != nil {
				return err
			}
		}
		for _, b := range old.Bindings {
			if !slices.Contains(u.Bindings, b) {
				if err := a.revoke(ctx, tx, actor, u.Name, b); err != nil {
					return err
				}
			}
		}
		for i, b := range u.Bindings {
			if !slices.Contains(old.Bindings, b) && !slices.Contains(u.Bindings[:i], b) {
				if err := a.grant(ctx, tx, actor, u.Name, b, fmt.Sprintf("bindings[%d]", i)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return domain.User{}, false, err
	}
	out, err := a.User(ctx, u.Name)
	return out, created, err
}

// recordUser writes the event of a user's creation or change of their own fields.
func (a *Access) recordUser(ctx context.Context, tx *gorm.DB, actor string, old, u domain.User, created bool) error {
	doc := func(u domain.User) map[string]any {
		return map[string]any{"display_name": u.DisplayName, "email": u.Email, "active": u.Active}
	}
	e := domain.Event{At: a.now(), Actor: actor, Action: domain.ActionUpdated, EntityType: "user", Key: u.Name, Changes: domain.Diff(doc(old), doc(u))}
	if created {
		e.Action = domain.ActionCreated
		e.Changes = domain.Diff(map[string]any{}, doc(u))
	}
	if len(e.Changes) == 0 {
		return nil
	}
	return recordEvent(ctx, tx, e)
}

func bindingEvent(at time.Time, actor, action, user string, b domain.Binding) domain.Event {
	c := map[string]domain.Change{"role": {To: b.Role}}
	if action == domain.ActionDeleted {
		c = map[string]domain.Change{"role": {From: b.Role}}
	}
	return domain.Event{At: at, Actor: actor, Action: action, EntityType: "binding", Ressort: b.Ressort, Key: user, Changes: c}
}

// grant inserts a binding and records it; an existing binding is left as it is.
func (a *Access) grant(ctx context.Context, tx *gorm.DB, actor, user string, b domain.Binding, field string) error {
	inserted, err := insertBinding(ctx, tx, user, b, field)
	if err != nil || !inserted {
		return err
	}
	return recordEvent(ctx, tx, bindingEvent(a.now(), actor, domain.ActionCreated, user, b))
}

// revoke deletes a binding and records it.
func (a *Access) revoke(ctx context.Context, tx *gorm.DB, actor, user string, b domain.Binding) error {
	res := tx.WithContext(ctx).Exec(`DELETE FROM bindings WHERE user_name = ? AND role = ? AND ressort IS NOT DISTINCT FROM ?`,
		user, b.Role, nullIfEmpty(b.Ressort))
	if res.Error != nil {
		return fmt.Errorf("store: revoke %s from %s: %w", b.Role, user, res.Error)
	}
	if res.RowsAffected == 0 {
		return &domain.NotFoundError{Detail: fmt.Sprintf("user %s holds no binding %s %s", user, b.Role, b.Ressort)}
	}
	return recordEvent(ctx, tx, bindingEvent(a.now(), actor, domain.ActionDeleted, user, b))
}

func insertBinding(ctx context.Context, tx *gorm.DB, user string, b domain.Binding, field string) (bool, error) {
	var ressort any
	if b.Ressort != "" {
		ok, err := ressortExists(ctx, tx, b.Ressort)
		if err != nil {
			return false, err
		}
		if !ok {
			return false, &domain.ValidationError{Fields: []domain.FieldError{{Field: field + ".ressort", Message: "Ressort " + b.Ressort + " does not exist"}}}
		}
		ressort = b.Ressort
	}
	res := tx.WithContext(ctx).Exec(`INSERT INTO bindings (user_name, role, ressort) VALUES (?, ?, ?)
		ON CONFLICT ON CONSTRAINT bindings_unique DO NOTHING`, user, b.Role, ressort)
	if res.Error != nil {
		return false, fmt.Errorf("store: bind %s as %s: %w", user, b.Role, res.Error)
	}
	return res.RowsAffected > 0, nil
}

// Grant adds a binding to an existing user.
func (a *Access) Grant(ctx context.Context, actor string, scope domain.WriteScope, user string, b domain.Binding) error {
	// After the commit: a read that raced with it is not kept either.
	defer a.cache.Invalidate()
	if err := domain.CheckBinding(b, "binding"); err != nil {
		return err
	}
	return writeTx(ctx, a.db, scope, func(tx *gorm.DB) error {
		if _, err := a.user(ctx, tx, user); err != nil {
			return err
		}
		return a.grant(ctx, tx, actor, user, b, "binding")
	})
}

// Revoke removes a binding from a user.
func (a *Access) Revoke(ctx context.Context, actor string, scope domain.WriteScope, user string, b domain.Binding) error {
	// After the commit: a read that raced with it is not kept either.
	defer a.cache.Invalidate()
	return writeTx(ctx, a.db, scope, func(tx *gorm.DB) error {
		return a.revoke(ctx, tx, actor, user, b)
	})
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// User returns one user with bindings.
func (a *Access) User(ctx context.Context, name string) (domain.User, error) {
	return a.user(ctx, a.db, name)
}

func (a *Access) user(ctx context.Context, db *gorm.DB, name string) (domain.User, error) {
	users, err := a.users(ctx, db, name)
	if err != nil {
		return domain.User{}, err
	}
	if len(users) == 0 {
		return domain.User{}, &domain.NotFoundError{Detail: "user " + name + " does not exist"}
	}
	return users[0], nil
}

// Users lists every user ordered by name.
func (a *Access) Users(ctx context.Context) ([]domain.User, error) { return a.users(ctx, a.db, "") }

func (a *Access) users(ctx context.Context, db *gorm.DB, only string) ([]domain.User, error) {
	var rows []struct {
		Name        string
		DisplayName string
		Email       string
		Active      bool
		Bindings    string
	}
	err := db.WithContext(ctx).Raw(`SELECT u.name, u.display_name, u.email, u.active,
			COALESCE((SELECT json_agg(json_build_object('role', b.role, 'ressort', COALESCE(b.ressort, '')) ORDER BY b.role, b.ressort)
				FROM bindings b WHERE b.user_name = u.name), '[]')::text AS bindings
		FROM users u WHERE (? = '' OR u.name = ?) ORDER BY u.name`, only, only).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store: list users: %w", err)
	}
	out := make([]domain.User, len(rows))
	for i, r := range rows {
		out[i] = domain.User{Name: r.Name, DisplayName: r.DisplayName, Email: r.Email, Active: r.Active}
		if err := json.Unmarshal([]byte(r.Bindings), &out[i].Bindings); err != nil {
			return nil, fmt.Errorf("store: bindings of %s: %w", r.Name, err)
		}
	}
	return out, nil
}

// IssueToken creates a token for a user and returns its secret, which is shown only now.
func (a *Access) IssueToken(ctx context.Context, actor string, scope domain.WriteScope, user, label string, ttl time.Duration) (string, domain.Token, error) {
	ttl, err := domain.CheckToken(ttl, label)
	if err != nil {
		return "", domain.Token{}, err
	}
	var secret [32]byte
	if _, err := rand.Read(secret[:]); err != nil {
		return "", domain.Token{}, fmt.Errorf("token: random: %w", err)
	}
	token := domain.TokenPrefix + base64.RawURLEncoding.EncodeToString(secret[:])
	now := a.now()
	t := domain.Token{User: user, Label: label, CreatedAt: now.UTC(), ExpiresAt: now.Add(ttl).UTC()}
	hash := hashToken(token)
	err = writeTx(ctx, a.db, scope, func(tx *gorm.DB) error {
		if _, err := a.user(ctx, tx, user); err != nil {
			return err
		}
		if err := tx.Raw(`INSERT INTO tokens (user_name, hash, label, created_at, expires_at) VALUES (?, ?, ?, ?, ?) RETURNING id`,
			user, hash[:], label, t.CreatedAt, t.ExpiresAt).Scan(&t.ID).Error; err != nil {
			return fmt.Errorf("store: issue token for %s: %w", user, err)
		}
		// The event names the token by id; its secret never reaches the trail.
		return recordEvent(ctx, tx, domain.Event{At: now, Actor: actor, Action: domain.ActionCreated, EntityType: "token",
			Key: strconv.FormatInt(t.ID, 10), Changes: map[string]domain.Change{
				"user": {To: user}, "label": {To: label}, "expires_at": {To: t.ExpiresAt.Format(time.RFC3339)}}})
	})
	if err != nil {
		return "", domain.Token{}, err
	}
	return token, t, nil
}

// Tokens lists a user's tokens, never their secrets.
func (a *Access) Tokens(ctx context.Context, user string) ([]domain.Token, error) {
	if _, err := a.User(ctx, user); err != nil {
		return nil, err
	}
	var rows []domain.Token
	err := a.db.WithContext(ctx).Raw(`SELECT id, user_name AS "user", label, created_at, expires_at, last_used_at, revoked_at
		FROM tokens WHERE user_name = ? ORDER BY id`, user).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store: tokens of %s: %w", user, err)
	}
	for i := range rows {
		rows[i].CreatedAt, rows[i].ExpiresAt = rows[i].CreatedAt.UTC(), rows[i].ExpiresAt.UTC()
	}
	return rows, nil
}

// RevokeToken revokes a token; user, when not empty, must own it.
func (a *Access) RevokeToken(ctx context.Context, actor string, scope domain.WriteScope, user string, id int64) error {
	// After the commit: a read that raced with it is not kept either.
	defer a.cache.Invalidate()
	return writeTx(ctx, a.db, scope, func(tx *gorm.DB) error {
		var revoked []time.Time
		now := a.now()
		err := tx.Raw(`UPDATE tokens SET revoked_at = ? WHERE id = ? AND (? = '' OR user_name = ?) AND revoked_at IS NULL
			RETURNING revoked_at`, now, id, user, user).Scan(&revoked).Error
		if err != nil {
			return fmt.Errorf("store: revoke token %d: %w", id, err)
		}
		if len(revoked) == 0 {
			var n int64
			if err := tx.Raw(`SELECT count(*) FROM tokens WHERE id = ? AND (? = '' OR user_name = ?)`, id, user, user).Scan(&n).Error; err != nil {
				return fmt.Errorf("store: find token %d: %w", id, err)
			}
			if n == 0 {
				return &domain.NotFoundError{Detail: fmt.Sprintf("token %d does not exist", id)}
			}
			return nil // revoked before: nothing changes
		}
		return recordEvent(ctx, tx, domain.Event{At: now, Actor: actor, Action: domain.ActionUpdated, EntityType: "token",
			Key: strconv.FormatInt(id, 10), Changes: map[string]domain.Change{"revoked_at": {To: now.UTC().Format(time.RFC3339)}}})
	})
}

// revokeAll revokes every live token of a user, each with its event as RevokeToken writes it.
func (a *Access) revokeAll(ctx context.Context, tx *gorm.DB, actor, user string) error {
	now := a.now()
	var ids []int64
	if err := tx.WithContext(ctx).Raw(`UPDATE tokens SET revoked_at = ? WHERE user_name = ? AND revoked_at IS NULL RETURNING id`,
		now, user).Scan(&ids).Error; err != nil {
		return fmt.Errorf("store: revoke tokens of %s: %w", user, err)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if err := recordEvent(ctx, tx, domain.Event{At: now, Actor: actor, Action: domain.ActionUpdated, EntityType: "token",
			Key: strconv.FormatInt(id, 10), Changes: map[string]domain.Change{"revoked_at": {To: now.UTC().Format(time.RFC3339)}}}); err != nil {
			return err
		}
	}
	return nil
}

// Deactivate makes a user inactive, keeping their other fields and bindings, and revokes
// their tokens.
func (a *Access) Deactivate(ctx context.Context, actor string, scope domain.WriteScope, name string) error {
	u, err := a.User(ctx, name)
	if err != nil {
		return err
	}
	u.Active = false
	_, _, err = a.PutUser(ctx, actor, scope, u)
	return err
}

// ParseTTL reads a token lifetime written as a Go duration ("720h"); empty means the default.
func ParseTTL(s string) (time.Duration, error) {
	if s == "" {
		return domain.DefaultTokenTTL, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < time.Second || d > domain.MaxTokenTTL {
		return 0, &domain.ValidationError{Fields: []domain.FieldError{{Field: "ttl", Message: "must be a duration between 1s and 8784h (366 days) such as 720h"}}}
	}
	return d, nil
}
