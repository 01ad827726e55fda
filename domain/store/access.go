package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/bremen/regmo/domain"
	"gorm.io/gorm"
)

// Access runs the SQL of users, bindings, tokens and login links; package access holds
// their logic (hashing, expiry, the caller cache, the audit events) and calls it.
type Access struct {
	db *gorm.DB
}

// NewAccess returns the access statements on db.
func NewAccess(db *gorm.DB) *Access { return &Access{db: db} }

// AccessTx is one write transaction on the access tables, its scope already set; its
// statements run in the context the transaction was begun with.
type AccessTx struct {
	tx *gorm.DB
}

// Write runs fn in one transaction whose first statement sets the scope, and commits when
// fn returns nil.
func (a *Access) Write(ctx context.Context, scope domain.WriteScope, fn func(tx *AccessTx) error) error {
	return writeTx(ctx, a.db, scope, func(tx *gorm.DB) error { return fn(&AccessTx{tx: tx}) })
}

// bindingsJSON selects the bindings of user u as a JSON array of domain.Binding.
const bindingsJSON = `COALESCE((SELECT json_agg(json_build_object('role', b.role, 'ressort', COALESCE(b.ressort, '')) ORDER BY b.role, b.ressort)
				FROM bindings b WHERE b.user_name = u.name), '[]')::text`

// TokenRow is a token as authentication checks it: with its user's state and bindings.
type TokenRow struct {
	ID         int64
	Hash       []byte
	User       string
	Active     bool
	ExpiresAt  time.Time
	RevokedAt  *time.Time
	LastUsedAt *time.Time
	Bindings   []domain.Binding
}

// TokenByHash returns the token stored under hash with its user; found is false if there
// is none.
func (a *Access) TokenByHash(ctx context.Context, hash []byte) (row TokenRow, found bool, err error) {
	var r struct {
		ID         int64
		Hash       []byte
		UserName   string
		Active     bool
		ExpiresAt  time.Time
		RevokedAt  *time.Time
		LastUsedAt *time.Time
		Bindings   string
	}
	err = a.db.WithContext(ctx).Raw(`SELECT t.id, t.hash, t.user_name, u.active, t.expires_at, t.revoked_at, t.last_used_at,
			`+bindingsJSON+` AS bindings
		FROM tokens t JOIN users u ON u.name = t.user_name
		WHERE t.hash = $1`, hash).Scan(&r).Error
	if err != nil {
		return TokenRow{}, false, fmt.Errorf("store: authenticate: %w", err)
	}
	if r.ID == 0 {
		return TokenRow{}, false, nil
	}
	row = TokenRow{ID: r.ID, Hash: r.Hash, User: r.UserName, Active: r.Active, ExpiresAt: r.ExpiresAt,
		RevokedAt: r.RevokedAt, LastUsedAt: r.LastUsedAt}
	if err := json.Unmarshal([]byte(r.Bindings), &row.Bindings); err != nil {
		return TokenRow{}, false, fmt.Errorf("store: authenticate: bindings: %w", err)
	}
	return row, true, nil
}

// TouchToken records that token id was used at at.
func (a *Access) TouchToken(ctx context.Context, id int64, at time.Time) error {
	if err := a.db.WithContext(ctx).Exec(`UPDATE tokens SET last_used_at = $1 WHERE id = $2`, at, id).Error; err != nil {
		return fmt.Errorf("store: token last used: %w", err)
	}
	return nil
}

// Caller returns the user name with their bindings as they are in the database; active is
// false if the user is inactive or does not exist.
func (a *Access) Caller(ctx context.Context, name string) (caller domain.Caller, active bool, err error) {
	var row struct {
		Name     string
		Active   bool
		Bindings string
	}
	err = a.db.WithContext(ctx).Raw(`SELECT u.name, u.active,
			`+bindingsJSON+` AS bindings
		FROM users u WHERE u.name = $1`, name).Scan(&row).Error
	if err != nil {
		return domain.Caller{}, false, fmt.Errorf("store: caller %s: %w", name, err)
	}
	if row.Name == "" || !row.Active {
		return domain.Caller{}, false, nil
	}
	caller = domain.Caller{User: row.Name}
	if err := json.Unmarshal([]byte(row.Bindings), &caller.Bindings); err != nil {
		return domain.Caller{}, false, fmt.Errorf("store: caller %s: bindings: %w", name, err)
	}
	return caller, true, nil
}

// Users lists the users with their bindings ordered by name; only, when not empty, names
// the one user to list.
func (a *Access) Users(ctx context.Context, only string) ([]domain.User, error) {
	return users(ctx, a.db, only)
}

// Users is Access.Users inside the transaction.
func (t *AccessTx) Users(only string) ([]domain.User, error) {
	return users(t.tx.Statement.Context, t.tx, only)
}

func users(ctx context.Context, db *gorm.DB, only string) ([]domain.User, error) {
	var rows []struct {
		Name        string
		DisplayName string
		Email       string
		Active      bool
		Bindings    string
	}
	err := db.WithContext(ctx).Raw(`SELECT u.name, u.display_name, u.email, u.active,
			`+bindingsJSON+` AS bindings
		FROM users u WHERE ($1 = '' OR u.name = $1) ORDER BY u.name`, only).Scan(&rows).Error
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

// PutUser inserts the user or updates their own fields (not their bindings), at at.
func (t *AccessTx) PutUser(u domain.User, at time.Time) error {
	if err := t.tx.Exec(`INSERT INTO users (name, display_name, email, active, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $5)
			ON CONFLICT (name) DO UPDATE SET display_name = EXCLUDED.display_name, email = EXCLUDED.email,
				active = EXCLUDED.active, updated_at = EXCLUDED.updated_at`,
		u.Name, u.DisplayName, u.Email, u.Active, at).Error; err != nil {
		return fmt.Errorf("store: put user %s: %w", u.Name, err)
	}
	return nil
}

// RessortExists reports whether a Ressort exists.
func (t *AccessTx) RessortExists(code string) (bool, error) {
	return ressortExists(t.tx.Statement.Context, t.tx, code)
}

// InsertBinding binds user as b.Role (in b.Ressort, if not empty); inserted is false if the
// binding existed.
func (t *AccessTx) InsertBinding(user string, b domain.Binding) (inserted bool, err error) {
	res := t.tx.Exec(`INSERT INTO bindings (user_name, role, ressort) VALUES ($1, $2, $3)
		ON CONFLICT ON CONSTRAINT bindings_unique DO NOTHING`, user, b.Role, nullIfEmpty(b.Ressort))
	if res.Error != nil {
		return false, fmt.Errorf("store: bind %s as %s: %w", user, b.Role, res.Error)
	}
	return res.RowsAffected > 0, nil
}

// DeleteBinding removes binding b of user; deleted is false if the user held none.
func (t *AccessTx) DeleteBinding(user string, b domain.Binding) (deleted bool, err error) {
	res := t.tx.Exec(`DELETE FROM bindings WHERE user_name = $1 AND role = $2 AND ressort IS NOT DISTINCT FROM $3`,
		user, b.Role, nullIfEmpty(b.Ressort))
	if res.Error != nil {
		return false, fmt.Errorf("store: revoke %s from %s: %w", b.Role, user, res.Error)
	}
	return res.RowsAffected > 0, nil
}

// RecordEvent appends e to the audit trail.
func (t *AccessTx) RecordEvent(e domain.Event) error {
	return recordEvent(t.tx.Statement.Context, t.tx, e)
}

// InsertToken stores token tok (user, label, creation, expiry) under the hash of its secret
// and returns its id.
func (t *AccessTx) InsertToken(tok domain.Token, hash []byte) (int64, error) {
	var id int64
	if err := t.tx.Raw(`INSERT INTO tokens (user_name, hash, label, created_at, expires_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		tok.User, hash, tok.Label, tok.CreatedAt, tok.ExpiresAt).Scan(&id).Error; err != nil {
		return 0, fmt.Errorf("store: issue token for %s: %w", tok.User, err)
	}
	return id, nil
}

// Tokens lists the tokens of user ordered by id, without their hashes.
func (a *Access) Tokens(ctx context.Context, user string) ([]domain.Token, error) {
	var rows []domain.Token
	err := a.db.WithContext(ctx).Raw(`SELECT id, user_name AS "user", label, created_at, expires_at, last_used_at, revoked_at
		FROM tokens WHERE user_name = $1 ORDER BY id`, user).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store: tokens of %s: %w", user, err)
	}
	return rows, nil
}

// RevokeToken marks token id revoked at at, if it is live and user (when not empty) owns
// it; revoked tells whether it was.
func (t *AccessTx) RevokeToken(id int64, user string, at time.Time) (revoked bool, err error) {
	var stamps []time.Time
	err = t.tx.Raw(`UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND ($3 = '' OR user_name = $3) AND revoked_at IS NULL
			RETURNING revoked_at`, at, id, user).Scan(&stamps).Error
	if err != nil {
		return false, fmt.Errorf("store: revoke token %d: %w", id, err)
	}
	return len(stamps) > 0, nil
}

// TokenExists reports whether token id exists and user (when not empty) owns it.
func (t *AccessTx) TokenExists(id int64, user string) (bool, error) {
	var n int64
	if err := t.tx.Raw(`SELECT count(*) FROM tokens WHERE id = $1 AND ($2 = '' OR user_name = $2)`, id, user).Scan(&n).Error; err != nil {
		return false, fmt.Errorf("store: find token %d: %w", id, err)
	}
	return n > 0, nil
}

// RevokeTokensOf marks every live token of user revoked at at and returns their ids.
func (t *AccessTx) RevokeTokensOf(user string, at time.Time) ([]int64, error) {
	var ids []int64
	if err := t.tx.Raw(`UPDATE tokens SET revoked_at = $1 WHERE user_name = $2 AND revoked_at IS NULL RETURNING id`,
		at, user).Scan(&ids).Error; err != nil {
		return nil, fmt.Errorf("store: revoke tokens of %s: %w", user, err)
	}
	return ids, nil
}

// InsertLoginLink stores a login link of user under the hash of its secret.
func (t *AccessTx) InsertLoginLink(user string, hash []byte, created, expires time.Time) error {
	if err := t.tx.Exec(`INSERT INTO login_links (user_name, hash, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
		user, hash, created, expires).Error; err != nil {
		return fmt.Errorf("store: issue login link for %s: %w", user, err)
	}
	return nil
}

// UseLoginLink marks the login link stored under hash used at at, if it is unused and not
// expired then, and returns its user; ok is false if there is no such link.
func (a *Access) UseLoginLink(ctx context.Context, hash []byte, at time.Time) (user string, ok bool, err error) {
	var users []string
	err = a.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return tx.Raw(`UPDATE login_links SET used_at = $1 WHERE hash = $2 AND used_at IS NULL AND expires_at > $1
			RETURNING user_name`, at, hash).Scan(&users).Error
	})
	if err != nil {
		return "", false, fmt.Errorf("store: redeem login link: %w", err)
	}
	if len(users) != 1 {
		return "", false, nil
	}
	return users[0], true, nil
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
