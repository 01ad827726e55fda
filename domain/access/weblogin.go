package access

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/store"
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
func (s *Service) CallerByName(ctx context.Context, name string) (domain.Caller, error) {
	if !domain.ValidUserName(name) {
		return domain.Caller{}, domain.ErrUnauthenticated
	}
	key := sessionKey(name)
	if caller, ok := s.cache.lookup(key, s.now()); ok {
		return caller, nil
	}
	gen, loaded := s.cache.begin()
	caller, active, err := s.db.Caller(ctx, name)
	if err != nil {
		return domain.Caller{}, err
	}
	if !active {
		return domain.Caller{}, domain.ErrUnauthenticated
	}
	s.cache.store(gen, loaded, key, caller, farFuture)
	return caller, nil
}

// IssueLoginLink creates a one-time login secret for an active user, valid for ttl (0 means
// LoginLinkTTL), and appends its event to the audit trail. Only its SHA-256 hash is stored;
// the secret is shown once and reaches neither the trail nor a log.
func (s *Service) IssueLoginLink(ctx context.Context, actor string, scope domain.WriteScope, user string, ttl time.Duration) (string, time.Time, error) {
	if ttl <= 0 {
		ttl = LoginLinkTTL
	}
	u, err := s.User(ctx, user)
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
	link := loginLinkPrefix + base64.RawURLEncoding.EncodeToString(secret[:])
	hash := sha256.Sum256([]byte(link))
	now := s.now()
	expires := now.Add(ttl).UTC()
	err = s.db.Write(ctx, scope, func(tx *store.AccessTx) error {
		if err := tx.InsertLoginLink(user, hash[:], now, expires); err != nil {
			return err
		}
		// A login link is a short-lived credential like a token, so its event is a token's
		// (the trail's entity types are the API's); it has no id, so the key says what it is
		// and the changes whose it is. Neither the secret nor its hash is recorded.
		return tx.RecordEvent(domain.Event{At: now, Actor: actor, Action: domain.ActionCreated, EntityType: "token",
			Key: LoginLinkEventKey, Changes: map[string]domain.Change{"user": {To: user}, "expires_at": {To: expires.Format(time.RFC3339)}}})
	})
	if err != nil {
		return "", time.Time{}, err
	}
	return link, expires, nil
}

// RedeemLoginLink uses up a login secret and returns its user as a caller. A secret that is
// unknown, used, expired or whose user is inactive is ErrUnauthenticated.
func (s *Service) RedeemLoginLink(ctx context.Context, secret string) (domain.Caller, error) {
	if !strings.HasPrefix(secret, loginLinkPrefix) || len(secret) > 200 {
		return domain.Caller{}, domain.ErrUnauthenticated
	}
	hash := sha256.Sum256([]byte(secret))
	user, ok, err := s.db.UseLoginLink(ctx, hash[:], s.now())
	if err != nil {
		return domain.Caller{}, err
	}
	if !ok {
		return domain.Caller{}, domain.ErrUnauthenticated
	}
	return s.CallerByName(ctx, user)
}
