package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// Operation groups of the traffic mix.
const (
	opGet    = "read"          // GET of one register or Onlinedienst (70 %)
	opPatch  = "patch"         // PATCH with If-Match (25 %)
	opReRead = "patch re-read" // the GET a PATCH needs for its ETag (after a 412 or at first)
	opList   = "list/report"   // a list page or a report (5 %)
)

// result is one HTTP exchange with regmo.
type result struct {
	op         string
	path       string
	status     int    // 0: no answer (transport error or timeout)
	err        string // the transport error
	problem    bool   // the body is a problem+json document naming the same status
	proxy      bool   // the answer is HAProxy's own, not regmo's (make loadtest-ha)
	start, end time.Time
}

func (r result) duration() time.Duration { return r.end.Sub(r.start) }

// ack is a PATCH regmo acknowledged with 2xx: the version its ETag named and what it wrote.
type ack struct {
	ressort, key string
	version      int64
	note, stage  string
	at           time.Time // when the acknowledgement arrived
}

// traffic sends the mixed load and keeps what happened.
type traffic struct {
	base    string
	users   []user
	writers []user
	client  *http.Client
	nextSeq atomic.Int64

	mu      sync.Mutex
	results []result
	acks    []ack
	etags   map[string]int64 // the last version this tool saw per entry
}

func newTraffic(base string, users []user, workers int, timeout time.Duration) *traffic {
	t := &traffic{base: base, users: users, etags: map[string]int64{},
		client: &http.Client{Timeout: timeout, Transport: &http.Transport{
			MaxIdleConns: workers * 2, MaxIdleConnsPerHost: workers * 2, IdleConnTimeout: 30 * time.Second,
		}}}
	for _, u := range users {
		if u.writes() {
			t.writers = append(t.writers, u)
		}
	}
	return t
}

// run starts rate requests a second for d, with at most workers in flight; a tick that finds
// every worker busy is counted as skipped rather than queued.
func (t *traffic) run(ctx context.Context, d time.Duration, rate, workers, perRessort int) (skipped int) {
	jobs := make(chan struct{}, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w)+1, uint64(time.Now().UnixNano())))
			for range jobs {
				t.one(ctx, rng, perRessort)
			}
		}()
	}
	tick := time.NewTicker(time.Second / time.Duration(rate))
	deadline := time.After(d)
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-deadline:
			break loop
		case <-tick.C:
			select {
			case jobs <- struct{}{}:
			default:
				skipped++
			}
		}
	}
	tick.Stop()
	close(jobs)
	wg.Wait()
	return skipped
}

var stages = []string{"not_started", "planned", "in_progress", "testing", "live"}

// one sends one operation of the mix.
func (t *traffic) one(ctx context.Context, rng *rand.Rand, perRessort int) {
	pick := rng.Float64()
	switch {
	case pick < 0.70:
		u := t.users[rng.IntN(len(t.users))]
		ressort := u.ressort
		if u.global() {
			ressort = ressorts[rng.IntN(len(ressorts))]
		}
		path := fmt.Sprintf("/v1/ressorts/%s/registers/%s", ressort, registerKey(1+rng.IntN(perRessort)))
		if rng.IntN(10) == 0 {
			path = fmt.Sprintf("/v1/ressorts/%s/onlinedienste/lt-dienst-%02d", ressort, 1+rng.IntN(onlinedienstePerRessort))
		}
		t.send(ctx, opGet, u, http.MethodGet, path, "", "")
	case pick < 0.95:
		u := t.writers[rng.IntN(len(t.writers))]
		ressort := u.ressort
		if u.global() {
			ressort = ressorts[rng.IntN(len(ressorts))]
		}
		t.patch(ctx, u, ressort, registerKey(1+rng.IntN(perRessort)))
	default:
		u := t.users[rng.IntN(len(t.users))]
		ressort := u.ressort
		if u.global() {
			ressort = ressorts[rng.IntN(len(ressorts))]
		}
		paths := []string{
			"/v1/registers?limit=100",
			"/v1/ressorts/" + ressort + "/registers?limit=50",
			"/v1/onlinedienste?limit=100",
			"/v1/reports/readiness",
			"/v1/reports/overdue",
		}
		t.send(ctx, opList, u, http.MethodGet, paths[rng.IntN(len(paths))], "", "")
	}
}

// patch changes an entry's IDNr note and NOOTS stage with If-Match; on 412 it reads the entry
// again and retries, at most three times.
func (t *traffic) patch(ctx context.Context, u user, ressort, key string) {
	path := fmt.Sprintf("/v1/ressorts/%s/registers/%s", ressort, key)
	id := ressort + "/" + key
	t.mu.Lock()
	version, known := t.etags[id]
	t.mu.Unlock()
	for range 3 {
		if !known {
			r, tag := t.send(ctx, opReRead, u, http.MethodGet, path, "", "")
			if r.status != http.StatusOK {
				return
			}
			version = tag
		}
		seq := t.nextSeq.Add(1)
		note := fmt.Sprintf("Lasttest %s Nr. %d", u.name, seq)
		stage := stages[seq%int64(len(stages))]
		body := fmt.Sprintf(`{"readiness":{"idnr":{"note":%q},"noots":{"stage":%q}}}`, note, stage)
		r, tag := t.send(ctx, opPatch, u, http.MethodPatch, path, body, strconv.Quote(strconv.FormatInt(version, 10)))
		switch {
		case r.status >= 200 && r.status < 300:
			t.mu.Lock()
			t.acks = append(t.acks, ack{ressort: ressort, key: key, version: tag, note: note, stage: stage, at: r.end})
			if tag > t.etags[id] {
				t.etags[id] = tag
			}
			t.mu.Unlock()
			return
		case r.status == http.StatusPreconditionFailed:
			known = false
		default:
			return
		}
	}
}

// send makes one request and records it; it returns the ETag's version when there is one.
func (t *traffic) send(ctx context.Context, op string, u user, method, path, body, ifMatch string) (result, int64) {
	r := result{op: op, path: path, start: time.Now()}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, t.base+path, rd)
	if err != nil {
		panic(err)
	}
	req.Header.Set("Authorization", "Bearer "+u.token)
	if body != "" {
		req.Header.Set("Content-Type", "application/merge-patch+json")
	}
	if ifMatch != "" {
		req.Header.Set("If-Match", ifMatch)
	}
	var version int64
	resp, err := t.client.Do(req)
	if err != nil {
		r.err = err.Error()
	} else {
		data, readErr := io.ReadAll(resp.Body)
		resp.Body.Close()
		r.status = resp.StatusCode
		r.proxy = resp.Header.Get(proxyHeader) != ""
		if readErr != nil {
			r.err = "reading the body: " + readErr.Error()
		}
		if r.status >= 400 {
			r.problem = isProblem(resp, data)
		}
		if tag := resp.Header.Get("ETag"); tag != "" {
			version, _ = strconv.ParseInt(strings.Trim(tag, `"`), 10, 64)
		}
	}
	r.end = time.Now()
	t.mu.Lock()
	t.results = append(t.results, r)
	t.mu.Unlock()
	return r, version
}

// isProblem reports whether a response is RFC 9457 problem+json naming its own status.
func isProblem(resp *http.Response, body []byte) bool {
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
		return false
	}
	var p struct {
		Type   string `json:"type"`
		Status int    `json:"status"`
	}
	return json.Unmarshal(body, &p) == nil && p.Type != "" && p.Status == resp.StatusCode
}

// ---- pollers ----

// sample is one observation of a poller.
type sample struct {
	at, end time.Time
	ok      bool
}

// pollReady asks GET /readyz every interval until ctx ends.
func pollReady(ctx context.Context, base string, interval time.Duration) []sample {
	client := &http.Client{Timeout: 2 * time.Second}
	var out []sample
	for ctx.Err() == nil {
		s := sample{at: time.Now()}
		resp, err := client.Get(base + "/readyz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			s.ok = resp.StatusCode == http.StatusOK
		}
		s.end = time.Now()
		out = append(out, s)
		select {
		case <-ctx.Done():
		case <-time.After(time.Until(s.at.Add(interval))):
		}
	}
	return out
}

// pollDatabase runs SELECT 1 on one connection every interval, and reconnects after a
// failure, to see when PostgreSQL goes away and when it is back.
func pollDatabase(ctx context.Context, dsn string, interval time.Duration) []sample {
	var out []sample
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			conn.Close(context.Background())
		}
	}()
	for ctx.Err() == nil {
		s := sample{at: time.Now()}
		qctx, cancel := context.WithTimeout(ctx, time.Second)
		if conn == nil {
			if c, err := pgx.Connect(qctx, dsn); err == nil {
				conn = c
			}
		}
		if conn != nil {
			if _, err := conn.Exec(qctx, "SELECT 1"); err == nil {
				s.ok = true
			} else {
				conn.Close(context.Background())
				conn = nil
			}
		}
		cancel()
		s.end = time.Now()
		if ctx.Err() == nil {
			out = append(out, s)
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Until(s.at.Add(interval))):
		}
	}
	return out
}

// longestOutage is the longest stretch between a failed sample and the next good one.
func longestOutage(samples []sample) (longest time.Duration, from time.Time) {
	var down *time.Time
	for i := range samples {
		s := samples[i]
		switch {
		case !s.ok && down == nil:
			down = &samples[i].at
		case s.ok && down != nil:
			if d := s.at.Sub(*down); d > longest {
				longest, from = d, *down
			}
			down = nil
		}
	}
	if down != nil && len(samples) > 0 {
		if d := samples[len(samples)-1].end.Sub(*down); d > longest {
			longest, from = d, *down
		}
	}
	return longest, from
}
