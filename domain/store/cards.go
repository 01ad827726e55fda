package store

import (
	"context"
	"fmt"

	"github.com/bremen/regmo/domain"
	"gorm.io/gorm"
)

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
