package main

import (
	"slices"
	"testing"
	"time"
)

func TestReplicaConfig(t *testing.T) {
	tests := []struct {
		name    string
		urls    string
		maxLag  string
		want    []string
		wantLag time.Duration
		wantErr bool
	}{
		{"none", "", "", nil, 0, false},
		{"two, spaces and an empty item", " postgres://r1/regmo , ,postgres://r2/regmo", "", []string{"postgres://r1/regmo", "postgres://r2/regmo"}, 0, false},
		{"lag", "postgres://r1/regmo", "750ms", []string{"postgres://r1/regmo"}, 750 * time.Millisecond, false},
		{"lag without unit", "postgres://r1/regmo", "5", nil, 0, true},
		{"negative lag", "postgres://r1/regmo", "-1s", nil, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("REGMO_REPLICA_URLS", tt.urls)
			t.Setenv("REGMO_REPLICA_MAX_LAG", tt.maxLag)
			cfg, err := replicaConfig("regmo_app", nil)
			if (err != nil) != tt.wantErr {
				t.Fatalf("replicaConfig: error %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if !slices.Equal(cfg.URLs, tt.want) || cfg.MaxLag != tt.wantLag || cfg.DB.Role != "regmo_app" {
				t.Errorf("replicaConfig = %q, lag %s, role %q; want %q, %s, regmo_app", cfg.URLs, cfg.MaxLag, cfg.DB.Role, tt.want, tt.wantLag)
			}
		})
	}
}
