package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bremen/regmo/domain"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
)

// ReplicaConfig names the streaming replicas (hot standbys of the primary) that the reads
// which may lag a little go to: the reports, the reads as of an instant, history and audit,
// and exports. Everything else, and every write, stays on the primary.
type ReplicaConfig struct {
	// URLs are the replicas' connection strings; each gets a pool like the primary's.
	URLs []string
	// MaxLag is the most a replica may lag behind the primary to be read from; 0 means 5 s.
	MaxLag time.Duration
	// Interval is how often each replica's lag is measured; 0 means 500 ms.
	Interval time.Duration
	// DB is the primary's settings: the replicas' pools get its MaxConns, StatementTimeout
	// and Role, so that row-level security binds their sessions alike.
	DB DBConfig
	// Log, when set, learns when a replica becomes usable or stops being so.
	Log *slog.Logger
}

// DefaultMaxLag is how far a replica may lag behind the primary unless configured otherwise.
const DefaultMaxLag = 5 * time.Second

// Replicas routes the reads that may lag to a replica that is close enough behind the
// primary, round robin, and to the primary when none is: a replica that is away, behind or
// paused is never a reason for a read to fail. A user who has just written reads from a
// replica only once it has replayed that write (Writing), so everyone sees their own changes.
// A nil *Replicas sends every read to the primary.
type Replicas struct {
	primary  *gorm.DB
	maxLag   time.Duration
	interval time.Duration
	log      *slog.Logger
	now      func() time.Time
	nodes    []*replica
	next     atomic.Uint64

	mu sync.Mutex
	// writers holds, per user, their last write that a replica may not have yet.
	writers map[string]*writeMark

	stop func()
	done chan struct{}
}

// writeMark is one user's recent writes: while one is under way, or until the primary's WAL
// position after the last has been read (bound), the user reads from the primary.
type writeMark struct {
	pending int
	done    time.Time
	bound   lsn
}

// replica is one replica with its pools and its last measurement.
type replica struct {
	name  string // host:port, for logs and metrics
	db    *gorm.DB
	sqlDB *sql.DB
	// probe has a connection of its own, so that busy reads do not make a replica look away.
	probe *sql.DB
	state atomic.Pointer[replicaState]
}

// replicaState is what the last probe of a replica found.
type replicaState struct {
	at     time.Time
	ok     bool
	lag    time.Duration
	replay lsn
	reason string // why the replica is not used; empty when ok
}

// ReplicaStatus is a replica's state as the metrics show it.
type ReplicaStatus struct {
	// Name is the replica's host and port.
	Name string
	// Usable tells whether reads go to it now.
	Usable bool
	// Lag is the replay lag the last probe measured (0: caught up with the primary).
	Lag time.Duration
}

// lsn is a position in the write-ahead log.
type lsn uint64

// parseLSN reads PostgreSQL's text form of a pg_lsn, "16/B374D848".
func parseLSN(s string) (lsn, error) {
	hi, lo, ok := strings.Cut(s, "/")
	if !ok {
		return 0, fmt.Errorf("store: not a WAL position: %q", s)
	}
	h, err := strconv.ParseUint(hi, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("store: not a WAL position: %q", s)
	}
	l, err := strconv.ParseUint(lo, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("store: not a WAL position: %q", s)
	}
	return lsn(h<<32 | l), nil
}

// OpenReplicas opens a pool per replica and starts measuring their lag in the background;
// it does not wait for any replica to answer. Close stops it. No URLs give a nil *Replicas,
// which reads everything from the primary.
func OpenReplicas(ctx context.Context, primary *gorm.DB, cfg ReplicaConfig) (*Replicas, error) {
	if len(cfg.URLs) == 0 {
		return nil, nil
	}
	rs := &Replicas{primary: primary, maxLag: cfg.MaxLag, interval: cfg.Interval, log: cfg.Log, now: time.Now,
		writers: map[string]*writeMark{}, done: make(chan struct{})}
	if rs.maxLag <= 0 {
		rs.maxLag = DefaultMaxLag
	}
	if rs.interval <= 0 {
		rs.interval = 500 * time.Millisecond
	}
	if rs.log == nil {
		rs.log = slog.New(slog.DiscardHandler)
	}
	for _, u := range cfg.URLs {
		dbc := cfg.DB
		dbc.URL = u
		db, sqlDB, err := OpenDB(ctx, dbc)
		if err != nil {
			rs.closePools()
			return nil, fmt.Errorf("store: replica %s: %w", replicaName(u), err)
		}
		dbc.MaxConns = 1
		_, probe, err := OpenDB(ctx, dbc)
		if err != nil {
			_ = sqlDB.Close()
			rs.closePools()
			return nil, fmt.Errorf("store: replica %s: %w", replicaName(u), err)
		}
		n := &replica{name: replicaName(u), db: db, sqlDB: sqlDB, probe: probe}
		n.state.Store(&replicaState{reason: "not yet measured"})
		rs.nodes = append(rs.nodes, n)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	rs.stop = cancel
	go rs.run(runCtx)
	return rs, nil
}

// replicaName is the host and port of a connection string, never its password.
func replicaName(u string) string {
	if parsed, err := url.Parse(u); err == nil && parsed.Host != "" {
		return parsed.Host
	}
	host, port := "", ""
	for _, f := range strings.Fields(u) {
		if k, v, ok := strings.Cut(f, "="); ok {
			switch k {
			case "host":
				host = v
			case "port":
				port = v
			}
		}
	}
	if port != "" {
		return host + ":" + port
	}
	return host
}

// Close stops the measurements and closes the replicas' pools.
func (rs *Replicas) Close() {
	if rs == nil {
		return
	}
	rs.stop()
	<-rs.done
	rs.closePools()
}

func (rs *Replicas) closePools() {
	for _, n := range rs.nodes {
		_ = n.sqlDB.Close()
		_ = n.probe.Close()
	}
}

// Status returns every replica's state, in the order configured.
func (rs *Replicas) Status() []ReplicaStatus {
	if rs == nil {
		return nil
	}
	now := rs.now()
	out := make([]ReplicaStatus, len(rs.nodes))
	for i, n := range rs.nodes {
		st := n.state.Load()
		out[i] = ReplicaStatus{Name: n.name, Usable: rs.usable(st, now), Lag: st.lag}
	}
	return out
}

// Writing records that user starts a change: until done is called and a replica has
// replayed the primary's WAL up to where it stood after done, that user's reads that may
// lag go to the primary. Call Writing before the change and done once it is committed or
// failed (its answer may have left by then: meanwhile the user reads from the primary).
func (rs *Replicas) Writing(user string) (done func()) {
	if rs == nil {
		return func() {}
	}
	rs.mu.Lock()
	m := rs.writers[user]
	if m == nil {
		m = &writeMark{}
		rs.writers[user] = m
	}
	m.pending++
	rs.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			rs.mu.Lock()
			m.pending--
			m.done = rs.now()
			m.bound = 0 // the next WAL position read from the primary
			rs.mu.Unlock()
		})
	}
}

// pick returns the replica a read for reader may use now, or nil for the primary.
func (rs *Replicas) pick(reader string) *replica {
	if rs == nil || len(rs.nodes) == 0 {
		return nil
	}
	now := rs.now()
	var need lsn
	rs.mu.Lock()
	if m := rs.writers[reader]; m != nil {
		switch {
		case m.pending > 0:
			rs.mu.Unlock()
			return nil
		case now.Sub(m.done) >= rs.maxLag:
			// Every usable replica has replayed what is older than the lag it may have.
			delete(rs.writers, reader)
		case m.bound == 0:
			rs.mu.Unlock()
			return nil
		default:
			need = m.bound
		}
	}
	rs.mu.Unlock()
	// Round robin among the replicas that qualify: count them, then take the next in turn.
	// A state that changes in between sends this one read to the primary.
	eligible := func(n *replica) bool {
		st := n.state.Load()
		return rs.usable(st, now) && st.replay >= need
	}
	k := 0
	for _, n := range rs.nodes {
		if eligible(n) {
			k++
		}
	}
	if k == 0 {
		return nil
	}
	turn := int(rs.next.Add(1) % uint64(k))
	for _, n := range rs.nodes {
		if eligible(n) {
			if turn == 0 {
				return n
			}
			turn--
		}
	}
	return nil
}

// usable tells whether a replica in state st may serve reads at now: it answered its last
// probe, and what it lagged then plus the time since stays under the limit.
func (rs *Replicas) usable(st *replicaState, now time.Time) bool {
	return st.ok && st.lag+now.Sub(st.at) < rs.maxLag
}

// run measures the replicas every interval until ctx ends.
func (rs *Replicas) run(ctx context.Context) {
	defer close(rs.done)
	t := time.NewTicker(rs.interval)
	defer t.Stop()
	for {
		rs.measure(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// primarySample is the primary's WAL position at an instant: a replica that has replayed up
// to it has every transaction committed before the instant.
type primarySample struct {
	at  time.Time
	pos lsn
	ok  bool
}

// walPageSize and walLongPageHeader are PostgreSQL's XLOG_BLCKSZ and the size of the header
// that begins a WAL segment (a page's header is shorter).
const (
	walPageSize       = 8192
	walLongPageHeader = 40
)

// committedUpTo is the WAL position that ends every transaction committed so far, from the
// primary's insert and flush positions. Insert is that position (with synchronous_commit off,
// a commit may not be flushed yet), except when the last record ends on a page boundary:
// then insert points past the next page's header, which no replica replays before another
// record follows; flush is the end then.
func committedUpTo(insert, flush lsn) lsn {
	if flush%walPageSize == 0 && insert >= flush && insert-flush <= walLongPageHeader {
		return flush
	}
	return insert
}

// measure reads the primary's WAL position, then every replica's replay position and lag.
// Reading the primary first makes "replayed at least the primary's position" mean "had
// everything committed before the sample".
func (rs *Replicas) measure(ctx context.Context) {
	timeout := min(time.Second, rs.maxLag/2)
	s := rs.samplePrimary(ctx, timeout)
	rs.mu.Lock()
	for user, m := range rs.writers {
		if m.pending == 0 && m.bound == 0 && s.ok && m.done.Before(s.at) {
			m.bound = s.pos
		}
		if m.pending == 0 && s.at.Sub(m.done) >= rs.maxLag {
			delete(rs.writers, user)
		}
	}
	rs.mu.Unlock()
	var wg sync.WaitGroup
	for _, n := range rs.nodes {
		wg.Go(func() {
			st := rs.probe(ctx, n, s, timeout)
			if old := n.state.Swap(st); (old.ok != st.ok || old.at.IsZero()) && ctx.Err() == nil {
				if st.ok {
					rs.log.Info("replica serves reads", slog.String("replica", n.name), slog.Duration("lag", st.lag))
				} else {
					rs.log.Warn("replica does not serve reads: they go to the primary", slog.String("replica", n.name), slog.String("reason", st.reason))
				}
			}
		})
	}
	wg.Wait()
}

func (rs *Replicas) samplePrimary(ctx context.Context, timeout time.Duration) primarySample {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	s := primarySample{at: rs.now()}
	var insert, flush string
	err := rs.primary.WithContext(ctx).Raw(`SELECT pg_current_wal_insert_lsn()::text, pg_current_wal_flush_lsn()::text`).
		Row().Scan(&insert, &flush)
	if err != nil {
		return s
	}
	ins, ierr := parseLSN(insert)
	fl, ferr := parseLSN(flush)
	s.pos, s.ok = committedUpTo(ins, fl), ierr == nil && ferr == nil
	return s
}

// probeSQL is what a replica is asked: whether it is one at all, how far it has replayed and
// when the last transaction it replayed committed, and whether its sessions are bound by
// row-level security (a replica's URL may name another role than the primary's).
const probeSQL = `SELECT pg_is_in_recovery(), COALESCE(pg_last_wal_replay_lsn()::text, ''),
	COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8, -1),
	COALESCE((SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user), true)`

// probe measures one replica against the primary's sample s.
func (rs *Replicas) probe(ctx context.Context, n *replica, s primarySample, timeout time.Duration) *replicaState {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	st := &replicaState{at: rs.now()}
	var recovering, bypass bool
	var replay string
	var age float64
	if err := n.probe.QueryRowContext(ctx, probeSQL).Scan(&recovering, &replay, &age, &bypass); err != nil {
		st.reason = "does not answer: " + err.Error()
		return st
	}
	switch {
	case !recovering || replay == "":
		st.reason = "is not a streaming replica (not in recovery)"
		return st
	case bypass:
		st.reason = "its sessions bypass row-level security; connect with role " + AppRole
		return st
	}
	pos, err := parseLSN(replay)
	if err != nil {
		st.reason = err.Error()
		return st
	}
	st.replay = pos
	switch {
	case s.ok && pos >= s.pos:
		// Caught up with the primary as of the sample: an idle primary's last commit may
		// be old, which is no lag.
		st.lag = st.at.Sub(s.at)
	case age >= 0:
		st.lag = time.Duration(age * float64(time.Second))
	default:
		st.reason = "has replayed no transaction yet"
		return st
	}
	st.ok = true
	if st.lag >= rs.maxLag {
		st.ok = false
		st.reason = fmt.Sprintf("lags %s behind the primary (limit %s)", st.lag.Round(time.Millisecond), rs.maxLag)
	}
	return st
}

// lagging is where a read that may lag the primary runs: on a replica Replicas picks for the
// reader it is bound to, else on the primary. The zero value, and every read not bound to a
// reader (see For of Inventory, Reports, Transfers), runs on the primary.
type lagging struct {
	replicas *Replicas
	reader   string
	bound    bool
}

// bind returns l bound to reader.
func (l lagging) bind(reader string) lagging {
	l.reader, l.bound = reader, true
	return l
}

// run runs fn on the database picked for the read. A replica that fails under it (gone,
// restarting, a conflict with its recovery) is marked away and fn runs again on the primary,
// unless retry says it may not (an export that has sent rows).
func (l lagging) run(ctx context.Context, primary *gorm.DB, retry func() bool, fn func(db *gorm.DB) error) error {
	if !l.bound {
		return fn(primary)
	}
	n := l.replicas.pick(l.reader)
	if n == nil {
		return fn(primary)
	}
	err := fn(n.db)
	if err == nil || ctx.Err() != nil || !replicaFailed(err) || (retry != nil && !retry()) {
		return err
	}
	n.state.Store(&replicaState{at: l.replicas.now(), reason: "failed a read: " + err.Error()})
	l.replicas.log.Warn("replica failed a read: it goes to the primary", slog.String("replica", n.name), slog.String("error", err.Error()))
	return fn(primary)
}

// readTx is readTx on the database picked for the read.
func (l lagging) readTx(ctx context.Context, primary *gorm.DB, sc domain.ReadScope, fn func(tx *gorm.DB) error) error {
	return l.run(ctx, primary, nil, func(db *gorm.DB) error { return readTx(ctx, db, sc, fn) })
}

// replicaFailed tells whether err means the replica could not do the read rather than the
// read being wrong: the connection was lost, or recovery cancelled the query (40001: conflict
// with recovery on a hot standby).
func replicaFailed(err error) bool {
	var pgErr *pgconn.PgError
	return ConnectionLost(err) || (errors.As(err, &pgErr) && pgErr.Code == "40001")
}

// ConnectionLost tells whether err means the database could not be reached or went away
// under the statement rather than the statement being wrong: the connection failed or
// closed (a primary that dies under a request: an unexpected EOF on the wire, or a closed
// connection at Begin or Commit, when the COMMIT was never sent), or the server is shutting
// down, crashed or is not yet accepting connections.
func ConnectionLost(err error) bool {
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	if errors.As(err, &connectErr) || errors.As(err, &netErr) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// Class 08: connection exception; 57P01-57P03: shutdown, crash, not yet accepting.
		return pgErr.Code[:2] == "08" || pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03"
	}
	return false
}

// WithReplicas returns a copy of the inventory whose reads as of an instant (Lookup,
// GetAsOf, List with AsOf), History and Audit may go to a replica once bound to a reader.
func (inv *Inventory) WithReplicas(rs *Replicas) *Inventory {
	c := *inv
	c.reads = lagging{replicas: rs}
	return &c
}

// For returns a copy of the inventory bound to reader (the user whose request it serves):
// its reads that may lag go to a replica that has the reader's own writes (see Replicas).
// Unbound, they go to the primary.
func (inv *Inventory) For(reader string) *Inventory {
	c := *inv
	c.reads = inv.reads.bind(reader)
	return &c
}

// WithReplicas returns a copy of the report reads that may go to a replica once bound to a
// reader.
func (r *Reports) WithReplicas(rs *Replicas) *Reports {
	c := *r
	c.reads = lagging{replicas: rs}
	return &c
}

// For returns a copy of the report reads bound to reader; see Inventory.For.
func (r *Reports) For(reader string) *Reports {
	c := *r
	c.reads = r.reads.bind(reader)
	return &c
}

// WithReplicas returns a copy whose exports may go to a replica once bound to a reader.
func (t *Transfers) WithReplicas(rs *Replicas) *Transfers {
	c := *t
	c.reads = lagging{replicas: rs}
	return &c
}

// For returns a copy bound to reader, whose exports may go to a replica; see Inventory.For.
// Imports always run on the primary.
func (t *Transfers) For(reader string) *Transfers {
	c := *t
	c.reads = t.reads.bind(reader)
	return &c
}
