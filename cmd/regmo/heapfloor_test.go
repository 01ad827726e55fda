package main

import (
	"fmt"
	"testing"
)

func TestFloorPercent(t *testing.T) {
	tests := []struct {
		live uint64
		want int
	}{
		{0, 1000},              // nothing measured yet: the cap
		{1 << 20, 1000},        // 1 MiB would ask for 4,700: the cap
		{8 << 20, 500},         // serve under load: collect at 48 MiB
		{16 << 20, 200},        // collect at 48 MiB
		{24 << 20, 100},        // the floor is reached: Go's default
		{200 << 20, 100},       // an import's heap: Go's default, not less
		{heapFloor, 100},       // at the floor itself
		{heapFloor/2 + 1, 100}, // just over half the floor: rounds down to the default
		{heapFloor / 3, 200},   // a third: twice the live heap on top
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.live), func(t *testing.T) {
			if got := floorPercent(tt.live); got != tt.want {
				t.Errorf("floorPercent(%d): got %d, want %d", tt.live, got, tt.want)
			}
		})
	}
}
