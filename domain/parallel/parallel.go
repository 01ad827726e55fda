// Package parallel spreads the work of a bulk operation (an import's item checks and event
// documents) over the cores.
package parallel

import (
	"runtime"
	"sync"
)

// For calls fn for 0..n-1 on all cores (at most 8), in contiguous chunks, and returns when
// every call has.
func For(n int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), 8)
	chunk := max((n+workers-1)/workers, 1)
	var wg sync.WaitGroup
	for start := 0; start < n; start += chunk {
		end := min(start+chunk, n)
		wg.Go(func() {
			for i := start; i < end; i++ {
				fn(i)
			}
		})
	}
	wg.Wait()
}
