package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/bremen/regmo/api"
	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/access"
	"github.com/bremen/regmo/domain/store"
	"github.com/bremen/regmo/migrations/testdb"
)

// BenchmarkGetRegister reads one register through the whole request path in-process, as
// an OZG coordinator, from all cores: time and allocations per request without the
// network (make bench measures it over HTTP against cmd/baseline).
func BenchmarkGetRegister(b *testing.B) {
	dsn := testdb.DSN(b)
	db := testdb.Open(b, dsn)
	srv := startServer(b, api.Config{DB: testdb.App(b, dsn)})
	ctx := context.Background()
	acc := access.New(store.NewAccess(db))
	if _, _, err := acc.PutUser(ctx, "bench", domain.WriteAll(), domain.User{Name: "ozg", Active: true, Bindings: []domain.Binding{{Role: domain.RoleOZGKoordination}}}); err != nil {
		b.Fatal(err)
	}
	token, _, err := acc.IssueToken(ctx, "bench", domain.WriteAll(), "ozg", "", time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	inv := store.NewInventory(db)
	const registers = 100
	for i := range registers {
		if _, _, err := inv.Put(ctx, "bench", domain.WriteAll(), domain.KindRegister, "SF", fmt.Sprintf("r%d", i), domain.Content{Name: "Register"}, domain.Precondition{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	// As many requests in flight as make bench's 64 connections: with one per core the
	// cores idle on every round trip to PostgreSQL, and waking them costs more than the
	// request.
	b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
	cpu := processCPU(b)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			req := httptest.NewRequest(http.MethodGet, fmt.Sprintf("/v1/ressorts/SF/registers/r%d", i%registers), nil)
			req.Header.Set("Authorization", "Bearer "+token)
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Errorf("got status %d, want 200; body %s", rec.Code, rec.Body)
				return
			}
		}
	})
	b.StopTimer()
	// The process's own CPU time per request: the service's cost without PostgreSQL's, which
	// the wall-clock time of a benchmark on a shared machine mixes in.
	b.ReportMetric(float64(processCPU(b)-cpu)/1e3/float64(b.N), "cpu-µs/op")
}

// processCPU is the CPU time (user and system) this process has used so far.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
