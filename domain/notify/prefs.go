package notify

import (
	"context"
	"fmt"

	"gorm.io/gorm"
)

// Prefs is which e-mails a user wants; both are on until the user turns one off.
type Prefs struct {
	Reminder bool `gorm:"column:reminder"`
	Digest   bool `gorm:"column:digest"`
}

// PrefsStore keeps the users' choices. They are the user's own, not Ressort data: every
// query names the user, and the API passes only the caller's own name.
type PrefsStore struct{ db *gorm.DB }

// NewPrefsStore returns the store on db.
func NewPrefsStore(db *gorm.DB) *PrefsStore { return &PrefsStore{db: db} }

// Get returns the user's choices (the defaults when never set).
func (s *PrefsStore) Get(ctx context.Context, user string) (Prefs, error) {
	p := Prefs{Reminder: true, Digest: true}
	var rows []Prefs
	if err := s.db.WithContext(ctx).Raw(`SELECT reminder, digest FROM notification_prefs WHERE user_name = ?`, user).
		Scan(&rows).Error; err != nil {
		return Prefs{}, fmt.Errorf("store: notification prefs of %s: %w", user, err)
	}
	if len(rows) == 1 {
		p = rows[0]
	}
	return p, nil
}

// Put stores the user's choices.
func (s *PrefsStore) Put(ctx context.Context, user string, p Prefs) error {
	err := s.db.WithContext(ctx).Exec(`INSERT INTO notification_prefs (user_name, reminder, digest) VALUES (?, ?, ?)
		ON CONFLICT (user_name) DO UPDATE SET reminder = EXCLUDED.reminder, digest = EXCLUDED.digest, updated_at = now()`,
		user, p.Reminder, p.Digest).Error
	if err != nil {
		return fmt.Errorf("store: put notification prefs of %s: %w", user, err)
	}
	return nil
}

// wants reports whether the choices allow an e-mail of the kind.
func (p Prefs) wants(kind string) bool {
	if kind == KindDigest {
		return p.Digest
	}
	return p.Reminder
}
