package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/bremen/regmo/domain"
	"gorm.io/gorm"
)

// LoginLinkTTL is how long a one-time login link of the web interface may be redeemed.
const LoginLinkTTL = 15 * time.Minute

// LoginLinkEventKey is the key of the audit event of an issued login link (entity type token).
const LoginLinkEventKey = "login-link"

// loginLinkPrefix starts the secret of every login link.
const loginLinkPrefix = "regmo-login_"

// farFuture is the expiry a cached session caller gets: only the cache's TTL and the
// notifications of changed rights end it.
var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// sessionKey is the cache key of a caller named by a web session (tokens use their hash).
func sessionKey(name string) [32]byte { return sha256.Sum256([]byte("session\x00" + name)) }

// CallerByName returns the active user name with the bindings as they are in the database,
// for a web session: it is asked at every request, so deactivating a user or removing a
// binding applies at the next one (through the caller cache: within its TTL on every
// instance, at once on this one). An unknown or inactive user is ErrUnauthenticated.
func (a *Access) CallerByName(ctx context.Context, name string) (domain.Caller, error) {
	if !domain.ValidUserName(name) {
		return domain.Caller{}, domain.ErrUnauthenticated
	}
	key := sessionKey(name)
	if caller, ok := a.cache.lookup(key, a.now()); ok {
		return caller, nil
	}
	gen, loaded := a.cache.begin()
	var row struct {
		Name     string
		Active   bool
		Bindings string
	}
	err := a.db.WithContext(ctx).Raw(`SELECT u.name, u.active,
			COALESCE((SELECT json_agg(json_build_object('role', b.role, 'ressort', COALESCE(b.ressort, '')) ORDER BY b.role, b.ressort)
				FROM bindings b WHERE b.user_name = u.name), '[]')::text AS bindings
		FROM users u WHERE u.name = ?`, name).Scan(&row).Error
	if err != nil {
		return domain.Caller{}, fmt.Errorf("store: caller %s: %w", name, err)
	}
	if row.Name == "" || !row.Active {
		return domain.Caller{}, domain.ErrUnauthenticated
	}
	var bindings []domain.Binding
	if err := json.Unmarshal([]byte(row.Bindings), &bindings); err != nil {
		return domain.Caller{}, fmt.Errorf("store: caller %s: bindings: %w", name, err)
	}
	caller := domain.Caller{User: row.Name, Bindings: bindings}
	a.cache.store(gen, loaded, key, caller, farFuture)
	return caller, nil
}

// IssueLoginLink creates a one-time login secret for an active user, valid for ttl (0 means
// LoginLinkTTL), and appends its event to the audit trail. Only its SHA-256 hash is stored;
// the secret is shown once and reaches neither the trail nor a log.
func (a *Access) IssueLoginLink(ctx context.Context, actor string, scope domain.WriteScope, user string, ttl time.Duration) (string, time.Time, error) {
	if ttl <= 0 {
		ttl = LoginLinkTTL
	}
	u, err := a.User(ctx, user)
	if err != nil {
		return "", time.Time{}, err
	}
	if !u.Active {
		return "", time.Time{}, &domain.ValidationError{Fields: []domain.FieldError{{Field: "user", Message: "user " + user + " is deactivated"}}}
	}
	var secret [32]byte
	if _, err := rand.Read(secret[:]); err != nil {
		return "", time.Time{}, fmt.Errorf("login link: random: %w", err)
	}
	s := loginLinkPrefix + base64.RawURLEncoding.EncodeToString(secret[:])
	hash := sha256.Sum256([]byte(s))
	now := a.now()
	expires := now.Add(ttl).UTC()
	err = writeTx(ctx, a.db, scope, func(tx *gorm.DB) error {
		// The hash is not the first value after "(": GORM would expand a byte slice there.
		if err := tx.Exec(`INSERT INTO login_links (user_name, hash, created_at, expires_at) VALUES (?, ?, ?, ?)`,
			user, hash[:], now, expires).Error; err != nil {
			return fmt.Errorf("store: issue login link for %s: %w", user, err)
		}
		// A login link is a short-lived credential like a token, so its event is a token's
		// (the trail's entity types are the API's); it has no id, so the key says what it is
		// and the changes whose it is. Neither the secret nor its hash is recorded.
		return recordEvent(ctx, tx, domain.Event{At: now, Actor: actor, Action: domain.ActionCreated, EntityType: "token",
			Key: LoginLinkEventKey, Changes: map[string]domain.Change{"user": {To: user}, "expires_at": {To: expires.Format(time.RFC3339)}}})
	})
	if err != nil {
		return "", time.Time{}, err
	}
	return s, expires, nil
}

// RedeemLoginLink uses up a login secret and returns its user as a caller. A secret that is
// unknown, used, expired or whose user is inactive is ErrUnauthenticated.
func (a *Access) RedeemLoginLink(ctx context.Context, secret string) (domain.Caller, error) {
	if !strings.HasPrefix(secret, loginLinkPrefix) || len(secret) > 200 {
		return domain.Caller{}, domain.ErrUnauthenticated
	}
	hash := sha256.Sum256([]byte(secret))
	var users []string
	err := a.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return tx.Raw(`UPDATE login_links SET used_at = ? WHERE hash = ? AND used_at IS NULL AND expires_at > ?
			RETURNING user_name`, a.now(), hash[:], a.now()).Scan(&users).Error
	})
	if err != nil {
		return domain.Caller{}, fmt.Errorf("store: redeem login link: %w", err)
	}
	if len(users) != 1 {
		return domain.Caller{}, domain.ErrUnauthenticated
	}
	return a.CallerByName(ctx, users[0])
}

// RegisterCard is what every authenticated user may see of any register (the public
// Registerlandkarte): Ressort, key, name and NOOTS stage.
type RegisterCard struct {
	Ressort    string       `gorm:"column:ressort"`
	Key        string       `gorm:"column:key"`
	Name       string       `gorm:"column:name"`
	NOOTSStage domain.Stage `gorm:"column:noots_stage"`
}

// RegisterCards lists the public card of every register, of every Ressort, ordered by
// Ressort and key: what an Onlinedienst may name in nachweise_from.
func (inv *Inventory) RegisterCards(ctx context.Context, scope domain.ReadScope) ([]RegisterCard, error) {
	var out []RegisterCard
	err := readTx(ctx, inv.db, scope, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT ressort, key, name, noots_stage FROM register_cards ORDER BY ressort COLLATE "C", key COLLATE "C"`).Scan(&out).Error
	})
	if err != nil {
		return nil, fmt.Errorf("store: register cards: %w", err)
	}
	return out, nil
}
