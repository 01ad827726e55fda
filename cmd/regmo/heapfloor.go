package main

import (
	"context"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// heapFloor is the smallest heap the garbage collector lets serve grow to before it
// collects. serve's live heap is small (about 8 MB under load: the contract, the policy, the
// caches), and Go's default (GOGC=100: collect when the heap has doubled) then collects eight
// times a second under load: a GET then used about 15 % more user CPU than with the next
// collection at 44 MB (BENCHMARKS.md, issue 16).
// A floor, not a higher GOGC: with a large live heap (an import of 100,000 entries) the
// collector works as Go's default does, so memory stays in proportion to what a request holds.
const heapFloor = 48 << 20

// floorPercent is the GOGC that puts the next collection at heapFloor for a live heap of
// live bytes, never below Go's default of 100 nor above 1,000.
func floorPercent(live uint64) int {
	if live == 0 {
		return 1000
	}
	return int(min(max(100*heapFloor/live, 200)-100, 1000))
}

// keepHeapFloor sets GOGC from the live heap once a second until ctx ends. GOGC in the
// environment is the operator's choice and wins: then it does nothing.
func keepHeapFloor(ctx context.Context) {
	if _, set := os.LookupEnv("GOGC"); set {
		return
	}
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	current := -1
	adjust := func() {
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return
		}
		if p := floorPercent(sample[0].Value.Uint64()); p != current {
			debug.SetGCPercent(p)
			current = p
		}
	}
	adjust()
	go func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				adjust()
			}
		}
	}()
}
