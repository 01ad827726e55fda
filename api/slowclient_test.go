package api_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bremen/regmo/api"
	"github.com/bremen/regmo/migrations/testdb"
)

// TestSlowClientHoldsOnlyItsConnection runs the API behind an http.Server configured like
// `regmo serve` (cmd/regmo/serve.go), with its timeouts scaled down from 5 s/30 s/60 s/120 s
// to keep the test short, and a pool of two database connections. Clients that trickle
// their headers or body byte by byte hold no database connection while they do, others are
// served meanwhile without waiting, and the server drops each trickler once its read
// timeout has passed, however steadily it sends.
func TestSlowClientHoldsOnlyItsConnection(t *testing.T) {
	const (
		readHeaderTimeout = 500 * time.Millisecond
		readTimeout       = 1500 * time.Millisecond
		trickle           = 50 * time.Millisecond // one byte per this
		slowBodies        = 4                     // twice the pool
		slowHeaders       = 2
	)
	db, sqlDB := openPool(t, testdb.DSN(t), 2)
	srv := startServer(t, api.Config{DB: db, Now: fixedNow, RequestTimeout: 2 * time.Second})
	token := adminToken(t, db, fixedNow)

	hs := httptest.NewUnstartedServer(srv)
	hs.Config.ReadHeaderTimeout = readHeaderTimeout
	hs.Config.ReadTimeout = readTimeout
	hs.Config.WriteTimeout = 2 * readTimeout
	hs.Config.IdleTimeout = 4 * readTimeout
	hs.Config.MaxHeaderBytes = 64 << 10
	hs.Config.ErrorLog = log.New(io.Discard, "", 0)
	hs.Start()
	defer hs.Close()
	addr := hs.Listener.Addr().String()

	type dropped struct {
		name   string
		after  time.Duration
		status string // the status line the server answered with, if any
		err    error
	}
	results := make(chan dropped, slowBodies+slowHeaders)
	var wg sync.WaitGroup
	slow := func(name, head, body string) {
		defer wg.Done()
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			results <- dropped{name: name, err: err}
			return
		}
		defer conn.Close()
		start := time.Now()
		_ = conn.SetDeadline(start.Add(4 * readTimeout))
		if _, err := io.WriteString(conn, head); err != nil {
			results <- dropped{name: name, err: err}
			return
		}
		done := make(chan string, 1)
		go func() {
			line, _ := bufio.NewReader(conn).ReadString('\n')
			done <- strings.TrimSpace(line)
		}()
		for i := 0; ; i++ {
			select {
			case status := <-done:
				results <- dropped{name: name, after: time.Since(start), status: status}
				return
			case <-time.After(trickle):
			}
			if _, err := conn.Write([]byte{body[i%len(body)]}); err != nil {
				results <- dropped{name: name, after: time.Since(start), status: <-done}
				return
			}
		}
	}
	for i := 0; i < slowBodies; i++ {
		wg.Add(1)
		head := fmt.Sprintf("PUT /v1/ressorts/SF/registers/slow-%d HTTP/1.1\r\nHost: regmo\r\nAuthorization: Bearer %s\r\n"+
			"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n", i, token)
		go slow(fmt.Sprintf("slow body %d", i), head, `{"name":"`+strings.Repeat("x", 64))
	}
	for i := 0; i < slowHeaders; i++ {
		wg.Add(1)
		go slow(fmt.Sprintf("slow headers %d", i), "GET /v1/registers HTTP/1.1\r\n", "X-Slow: "+strings.Repeat("y", 64))
	}

	// The slow bodies have been authenticated by now and are being read: no database
	// connection may be held for them.
	time.Sleep(readHeaderTimeout / 2)
	deadline := time.Now().Add(readHeaderTimeout)
	for sqlDB.Stats().InUse > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := sqlDB.Stats().InUse; n > 0 {
		t.Errorf("got %d database connections in use while clients trickle their bodies, want 0", n)
	}

	// Others are served meanwhile, each well within the trickle's time.
	client := &http.Client{Timeout: readTimeout / 2}
	for i := 0; i < 5; i++ {
		start := time.Now()
		req, _ := http.NewRequest(http.MethodPut, fmt.Sprintf("%s/v1/ressorts/SF/registers/quick-%d", hs.URL, i), strings.NewReader(`{"name":"Schnell"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("PUT %d while slow clients trickle: %v after %s", i, err, time.Since(start))
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Errorf("PUT %d while slow clients trickle: got status %d, want 201", i, resp.StatusCode)
		}
	}

	wg.Wait()
	close(results)
	for r := range results {
		if r.err != nil {
			t.Errorf("%s: %v", r.name, r.err)
			continue
		}
		limit := readTimeout
		if strings.HasPrefix(r.name, "slow headers") {
			limit = readHeaderTimeout
		}
		if r.after > limit+time.Second {
			t.Errorf("%s: dropped after %s, want within %s of its read timeout %s", r.name, r.after, time.Second, limit)
		}
		if strings.HasPrefix(r.status, "HTTP/1.1 5") {
			t.Errorf("%s: got %q, want no 5xx", r.name, r.status)
		}
	}
	var n int64
	if err := db.Raw(`SELECT count(*) FROM entries WHERE key LIKE 'slow-%'`).Scan(&n).Error; err != nil || n != 0 {
		t.Errorf("entries of the slow clients: got %d (%v), want 0", n, err)
	}
}

// TestRequestWaitingForThePoolHasADeadline holds the only connection of the pool and sends a
// request that needs one. Issue 7 asks for a request deadline passed down to every query:
// the request must then fail with 503 once its deadline has passed instead of waiting for
// as long as the pool stays busy.
func TestRequestWaitingForThePoolHasADeadline(t *testing.T) {
	ctx := context.Background()
	db, sqlDB := openPool(t, testdb.DSN(t), 1)
	srv := startServer(t, api.Config{DB: db, Now: fixedNow, RequestTimeout: 2 * time.Second})
	token := adminToken(t, db, fixedNow)
	held, err := sqlDB.Conn(ctx)
	if err != nil {
		t.Fatalf("take the pool's connection: %v", err)
	}
	defer held.Close()

	answered := make(chan int, 1)
	go func() {
		req := httptest.NewRequest(http.MethodGet, "/v1/registers", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		answered <- rec.Code
	}()
	// The request's deadline is 2 s here; 20 s leaves room for a slow machine.
	select {
	case code := <-answered:
		if code != http.StatusServiceUnavailable {
			t.Errorf("got status %d while the pool is busy, want 503", code)
		}
	case <-time.After(20 * time.Second):
		held.Close() // let the request finish
		<-answered
		t.Errorf("got no answer within 20 s while the pool is busy, want a 503 once the request's deadline passes")
	}
}

// TestOverlongHeaderIsRefused sends headers beyond MaxHeaderBytes (64 KiB, as in
// `regmo serve`): net/http refuses them with 431 before the API sees the request, and the
// server goes on serving.
func TestOverlongHeaderIsRefused(t *testing.T) {
	srv := startServer(t, api.Config{DB: testdb.App(t, testdb.DSN(t)), Now: fixedNow})
	hs := httptest.NewUnstartedServer(srv)
	hs.Config.ReadHeaderTimeout = 5 * time.Second
	hs.Config.MaxHeaderBytes = 64 << 10
	hs.Config.ErrorLog = log.New(io.Discard, "", 0)
	hs.Start()
	defer hs.Close()
	for _, h := range []struct{ name, value string }{
		{"Authorization", "Bearer " + strings.Repeat("t", 200<<10)},
		{"X-Padding", strings.Repeat("p", 128<<10)},
	} {
		req, _ := http.NewRequest(http.MethodGet, hs.URL+"/v1/registers", nil)
		req.Header.Set(h.name, h.value)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s of %d bytes: %v", h.name, len(h.value), err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("%s of %d bytes: got status %d, want 431", h.name, len(h.value), resp.StatusCode)
		}
	}
	resp, err := http.Get(hs.URL + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz after the refusals: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /healthz after the refusals: got status %d, want 200", resp.StatusCode)
	}
}
