package api_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/bremen/regmo/api"
	"github.com/bremen/regmo/migrations/testdb"
)

// freezer is a TCP proxy to PostgreSQL that can stop passing bytes on while keeping every
// connection open: to the service, a hung database server.
type freezer struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cond   *sync.Cond
	frozen bool
	wg     sync.WaitGroup
}

func newFreezer(t *testing.T, target string) *freezer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{ln: ln, target: target}
	f.cond = sync.NewCond(&f.mu)
	var conns []net.Conn
	var connsMu sync.Mutex
	go func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", target)
			if err != nil {
				client.Close()
				continue
			}
			connsMu.Lock()
			conns = append(conns, client, server)
			connsMu.Unlock()
			f.wg.Add(2)
			go f.pipe(server, client)
			go f.pipe(client, server)
		}
	}()
	t.Cleanup(func() {
		f.set(false)
		ln.Close()
		connsMu.Lock()
		for _, c := range conns {
			c.Close()
		}
		connsMu.Unlock()
		f.wg.Wait()
	})
	return f
}

func (f *freezer) pipe(dst, src net.Conn) {
	defer f.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			f.mu.Lock()
			for f.frozen {
				f.cond.Wait()
			}
			f.mu.Unlock()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			dst.Close()
			return
		}
	}
}

func (f *freezer) set(frozen bool) {
	f.mu.Lock()
	f.frozen = frozen
	f.mu.Unlock()
	f.cond.Broadcast()
}

// TestHungDatabaseFailsFast freezes the connection to PostgreSQL (as SIGSTOP on the server
// would): once the watch has noticed, requests under way end with 503 and new ones are
// refused with 503 at once, instead of each waiting for its deadline; when the server
// answers again the service serves again by itself.
func TestHungDatabaseFailsFast(t *testing.T) {
	dsn := testdb.DSN(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newFreezer(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	db, _ := openPool(t, u.String(), 5)
	const deadline = 10 * time.Second
	metrics := api.NewMetrics()
	srv := startServer(t, api.Config{DB: db, RequestTimeout: deadline, Metrics: metrics})
	answering := func() float64 {
		samples, _ := scrape(t, metrics)
		return samples["regmo_database_answering"]
	}
	token := adminToken(t, db, time.Now)
	type answer struct {
		code int
		took time.Duration
	}
	var inFlight sync.WaitGroup
	t.Cleanup(inFlight.Wait)
	send := func(path string) <-chan answer {
		out := make(chan answer, 1)
		inFlight.Add(1)
		go func() {
			defer inFlight.Done()
			req := httptest.NewRequest(http.MethodGet, path, nil)
			req.Header.Set("Authorization", "Bearer "+token)
			rec := httptest.NewRecorder()
			start := time.Now()
			srv.ServeHTTP(rec, req)
			out <- answer{rec.Code, time.Since(start)}
		}()
		return out
	}
	if a := <-send("/v1/registers"); a.code != http.StatusOK {
		t.Fatalf("before the freeze: got %d, want 200", a.code)
	}

	proxy.set(true)
	frozen := time.Now()
	stuck := send("/v1/registers")
	// Requests sent before the watch notices wait for their deadline or the thaw; keep
	// sending until one is refused quickly.
	var refusedAfter time.Duration
	for refusedAfter == 0 {
		if time.Since(frozen) > 8*time.Second {
			t.Fatalf("got no quick 503 within 8 s of the freeze, want the watch to notice within about 3 s")
		}
		select {
		case a := <-send("/v1/registers"):
			if a.code == http.StatusServiceUnavailable && a.took < time.Second {
				refusedAfter = time.Since(frozen)
				t.Logf("refused with 503 in %v, %v after the freeze", a.took, refusedAfter)
			} else if a.code != http.StatusServiceUnavailable {
				t.Errorf("while frozen: got %d, want 503", a.code)
			}
		case <-time.After(200 * time.Millisecond):
		}
	}
	// The request that was waiting for the database when it hung ends with the watch's
	// finding, not at its deadline.
	select {
	case a := <-stuck:
		if a.code != http.StatusServiceUnavailable || a.took > refusedAfter+time.Second {
			t.Errorf("request under way at the freeze: got %d after %v, want 503 once the watch noticed (%v)", a.code, a.took, refusedAfter)
		}
	case <-time.After(refusedAfter + 2*time.Second):
		t.Errorf("request under way at the freeze: no answer %v after the freeze, want 503 once the watch noticed (%v)", time.Since(frozen), refusedAfter)
	}
	// At once: in microseconds on an idle machine; the bound leaves room for a loaded CI
	// machine and is still a tenth of the deadline.
	for range 20 {
		if a := <-send("/v1/ressorts/SF/registers/x"); a.code != http.StatusServiceUnavailable || a.took > time.Second {
			t.Fatalf("while frozen and noticed: got %d in %v, want 503 at once", a.code, a.took)
		}
	}
	if got := answering(); got != 0 {
		t.Errorf("regmo_database_answering while frozen: got %v, want 0", got)
	}
	if a := <-send("/healthz"); a.code != http.StatusOK {
		t.Errorf("/healthz while frozen: got %d, want 200 (the process lives)", a.code)
	}

	proxy.set(false)
	thawed := time.Now()
	for {
		a := <-send("/v1/registers")
		if a.code == http.StatusOK {
			t.Logf("serving again %v after the thaw", time.Since(thawed))
			if got := answering(); got != 1 {
				t.Errorf("regmo_database_answering after the thaw: got %v, want 1", got)
			}
			break
		}
		if time.Since(thawed) > 5*time.Second {
			t.Fatalf("after the thaw: still %d after 5 s, want 200", a.code)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
