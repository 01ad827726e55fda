package access

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/store"
)

func hashToken(token string) [32]byte { return sha256.Sum256([]byte(token)) }

// Authenticate returns the caller a token belongs to, with the bindings as they are in the
// database. With a cache, a caller seen less than its TTL ago is answered from memory; a
// change of rights empties the cache on every instance (see CallerCache).
func (s *Service) Authenticate(ctx context.Context, token string) (domain.Caller, error) {
	if !strings.HasPrefix(token, domain.TokenPrefix) || len(token) > 200 {
		return domain.Caller{}, domain.ErrUnauthenticated
	}
	sum := hashToken(token)
	now := s.now()
	if caller, ok := s.cache.lookup(sum, now); ok {
		return caller, nil
	}
	gen, loaded := s.cache.begin()
	hash := sum[:]
	row, found, err := s.db.TokenByHash(ctx, hash)
	if err != nil {
		return domain.Caller{}, err
	}
	// The index lookup found the row by hash; compare again in constant time anyway.
	if !found || subtle.ConstantTimeCompare(row.Hash, hash) != 1 || !row.Active ||
		row.RevokedAt != nil || !now.Before(row.ExpiresAt) {
		return domain.Caller{}, domain.ErrUnauthenticated
	}
	// last_used_at is kept to the minute: one write per token and minute, not per request.
	if row.LastUsedAt == nil || now.Sub(*row.LastUsedAt) > time.Minute {
		if err := s.db.TouchToken(ctx, row.ID, now); err != nil {
			return domain.Caller{}, err
		}
	}
	caller := domain.Caller{User: row.User, Bindings: row.Bindings}
	s.cache.store(gen, loaded, sum, caller, row.ExpiresAt)
	return caller, nil
}

// IssueToken creates a token for a user and returns its secret, which is shown only now.
func (s *Service) IssueToken(ctx context.Context, actor string, scope domain.WriteScope, user, label string, ttl time.Duration) (string, domain.Token, error) {
	ttl, err := domain.CheckToken(ttl, label)
	if err != nil {
		return "", domain.Token{}, err
	}
	var secret [32]byte
	if _, err := rand.Read(secret[:]); err != nil {
		return "", domain.Token{}, fmt.Errorf("token: random: %w", err)
	}
	token := domain.TokenPrefix + base64.RawURLEncoding.EncodeToString(secret[:])
	now := s.now()
	t := domain.Token{User: user, Label: label, CreatedAt: now.UTC(), ExpiresAt: now.Add(ttl).UTC()}
	hash := hashToken(token)
	err = s.db.Write(ctx, scope, func(tx *store.AccessTx) error {
		users, err := tx.Users(user)
		if _, err := only(user, users, err); err != nil {
			return err
		}
		if t.ID, err = tx.InsertToken(t, hash[:]); err != nil {
			return err
		}
		// The event names the token by id; its secret never reaches the trail.
		return tx.RecordEvent(domain.Event{At: now, Actor: actor, Action: domain.ActionCreated, EntityType: "token",
			Key: strconv.FormatInt(t.ID, 10), Changes: map[string]domain.Change{
				"user": {To: user}, "label": {To: label}, "expires_at": {To: t.ExpiresAt.Format(time.RFC3339)}}})
	})
	if err != nil {
		return "", domain.Token{}, err
	}
	return token, t, nil
}

// Tokens lists a user's tokens, never their secrets.
func (s *Service) Tokens(ctx context.Context, user string) ([]domain.Token, error) {
	if _, err := s.User(ctx, user); err != nil {
		return nil, err
	}
	rows, err := s.db.Tokens(ctx, user)
	if err != nil {
		return nil, err
	}
	for i := range rows {
		rows[i].CreatedAt, rows[i].ExpiresAt = rows[i].CreatedAt.UTC(), rows[i].ExpiresAt.UTC()
	}
	return rows, nil
}

// RevokeToken revokes a token; user, when not empty, must own it.
func (s *Service) RevokeToken(ctx context.Context, actor string, scope domain.WriteScope, user string, id int64) error {
	// After the commit: a read that raced with it is not kept either.
	defer s.cache.Invalidate()
	return s.db.Write(ctx, scope, func(tx *store.AccessTx) error {
		now := s.now()
		revoked, err := tx.RevokeToken(id, user, now)
		if err != nil {
			return err
		}
		if !revoked {
			exists, err := tx.TokenExists(id, user)
			if err != nil {
				return err
			}
			if !exists {
				return &domain.NotFoundError{Detail: fmt.Sprintf("token %d does not exist", id)}
			}
			return nil // revoked before: nothing changes
		}
		return tx.RecordEvent(revokedEvent(now, actor, id))
	})
}

// revokedEvent is the event of token id's revocation.
func revokedEvent(at time.Time, actor string, id int64) domain.Event {
	return domain.Event{At: at, Actor: actor, Action: domain.ActionUpdated, EntityType: "token",
		Key: strconv.FormatInt(id, 10), Changes: map[string]domain.Change{"revoked_at": {To: at.UTC().Format(time.RFC3339)}}}
}

// revokeAll revokes every live token of a user, each with its event as RevokeToken writes it.
func (s *Service) revokeAll(tx *store.AccessTx, actor, user string) error {
	now := s.now()
	ids, err := tx.RevokeTokensOf(user, now)
	if err != nil {
		return err
	}
	slices.Sort(ids)
	for _, id := range ids {
		if err := tx.RecordEvent(revokedEvent(now, actor, id)); err != nil {
			return err
		}
	}
	return nil
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
