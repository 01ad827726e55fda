package notify

import (
	"context"

	"github.com/bremen/regmo/domain/store"
)

// Prefs is which e-mails a user wants; both are on until the user turns one off.
type Prefs struct {
	Reminder bool
	Digest   bool
}

// PrefsStore keeps the users' choices. They are the user's own, not Ressort data: every
// query names the user, and the API passes only the caller's own name.
type PrefsStore struct{ store *store.Notify }

// NewPrefsStore returns the store on s.
func NewPrefsStore(s *store.Notify) *PrefsStore { return &PrefsStore{store: s} }

// Get returns the user's choices (the defaults when never set).
func (s *PrefsStore) Get(ctx context.Context, user string) (Prefs, error) {
	p, found, err := s.store.Prefs(ctx, user)
	if err != nil {
		return Prefs{}, err
	}
	if !found {
		return Prefs{Reminder: true, Digest: true}, nil
	}
	return Prefs(p), nil
}

// Put stores the user's choices.
func (s *PrefsStore) Put(ctx context.Context, user string, p Prefs) error {
	return s.store.PutPrefs(ctx, user, store.NotifyPrefs(p))
}

// wants reports whether the choices allow an e-mail of the kind.
func (p Prefs) wants(kind string) bool {
	if kind == KindDigest {
		return p.Digest
	}
	return p.Reminder
}
