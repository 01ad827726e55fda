package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/bremen/regmo/api"
	"github.com/bremen/regmo/api/web"
	"github.com/bremen/regmo/domain/notify"
	"github.com/bremen/regmo/domain/store"
	"github.com/bremen/regmo/migrations"
	"gorm.io/gorm"
)

func logger(w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(os.Getenv("REGMO_LOG_LEVEL"))); err != nil {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}

// openDB opens the database the environment names, as DATABASE_URL's role: the CLI's
// bootstrap commands (migrate, user, token, seed) work directly on the database.
func openDB(ctx context.Context) (*gorm.DB, func(), error) { return openDBAs(ctx, "") }

// openDBAs opens the database with every session working as role ("": DATABASE_URL's).
func openDBAs(ctx context.Context, role string) (*gorm.DB, func(), error) {
	db, sqlDB, err := store.OpenDB(ctx, dbConfig(role))
	if err != nil {
		return nil, nil, err
	}
	return db, func() { _ = sqlDB.Close() }, nil
}

// dbConfig is the primary's settings with every session working as role ("": DATABASE_URL's).
func dbConfig(role string) store.DBConfig {
	return store.DBConfig{
		URL:              os.Getenv("DATABASE_URL"),
		MaxConns:         20,
		StatementTimeout: 15 * time.Second,
		Role:             role,
	}
}

// replicaConfig reads the streaming replicas the reads that may lag go to:
// REGMO_REPLICA_URLS (comma-separated; none: every read from the primary) and
// REGMO_REPLICA_MAX_LAG (a Go duration; default 5s). Their pools work as role, like the
// primary's.
func replicaConfig(role string, log *slog.Logger) (store.ReplicaConfig, error) {
	cfg := store.ReplicaConfig{DB: dbConfig(role), Log: log}
	for u := range strings.SplitSeq(os.Getenv("REGMO_REPLICA_URLS"), ",") {
		if u = strings.TrimSpace(u); u != "" {
			cfg.URLs = append(cfg.URLs, u)
		}
	}
	if v := os.Getenv("REGMO_REPLICA_MAX_LAG"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return store.ReplicaConfig{}, fmt.Errorf("REGMO_REPLICA_MAX_LAG=%q: want a positive duration such as 5s or 500ms", v)
		}
		cfg.MaxLag = d
	}
	return cfg, nil
}

// logFlushInterval is how long a log line may wait in serve's buffer at most.
const logFlushInterval = 100 * time.Millisecond

func serve(ctx context.Context, args []string, stderr io.Writer) error {
	fs := newFlags("serve", "serve", stderr)
	if err := fs.Parse(args); err != nil {
		return exitError(2)
	}
	// The log, a JSON line per request among it, is written in batches (see logBuffer); the
	// deferred Close writes the rest once the server has shut down.
	logBuf := newLogBuffer(stderr, 64<<10, logFlushInterval)
	defer func() { _ = logBuf.Close() }()
	log := logger(logBuf)
	keepHeapFloor(ctx)
	if os.Getenv("REGMO_MIGRATE") != "false" {
		n, err := migrateUp(ctx)
		if err != nil {
			return err
		}
		log.Info("migrations applied", slog.Int("count", n))
	}
	// Every request works as regmo_app, whom row-level security binds (README, Security).
	db, closeDB, err := openDBAs(ctx, store.AppRole)
	if err != nil {
		return err
	}
	defer closeDB()
	rcfg, err := replicaConfig(store.AppRole, log)
	if err != nil {
		return err
	}
	replicas, err := store.OpenReplicas(ctx, db, rcfg)
	if err != nil {
		return err
	}
	defer replicas.Close()
	if len(rcfg.URLs) > 0 {
		log.Info("reports, as-of reads, history and exports read from replicas", slog.Int("replicas", len(rcfg.URLs)),
			slog.Duration("max_lag", cmp.Or(rcfg.MaxLag, store.DefaultMaxLag)))
	}
	// Metrics get a listener of their own, so that they are not public with the API.
	var metrics *api.Metrics
	metricsAddr := os.Getenv("REGMO_METRICS_ADDR")
	if metricsAddr != "" {
		metrics = api.NewMetrics()
	}
	srv, err := api.New(api.Config{DB: db, Replicas: replicas, Log: log, TrustedProxies: os.Getenv("REGMO_TRUSTED_PROXIES"), Metrics: metrics,
		WebhookAllow: os.Getenv("REGMO_WEBHOOK_ALLOW"),
		Web:          webOptions()})
	if err != nil {
		return err
	}
	defer srv.Close()
	if metrics != nil {
		stop, err := serveMetrics(metricsAddr, metrics, log)
		if err != nil {
			return err
		}
		defer stop()
	}
	if addr := os.Getenv("REGMO_PPROF_ADDR"); addr != "" {
		stop, err := servePprof(addr, log)
		if err != nil {
			return err
		}
		defer stop()
	}
	if os.Getenv("REGMO_NOTIFY") != "false" {
		// The same code path as regmo notify run, once a minute against the clock: the
		// e-mails and the webhook deliveries.
		var nm *notify.Metrics
		if metrics != nil {
			nm = notify.NewMetrics(store.NewNotify(db))
			metrics.MustRegister(nm.Collectors()...)
		}
		n, err := newNotifier(db, log, nm)
		if err != nil {
			return err
		}
		go n.Run(ctx, time.Minute)
	}
	// The readiness counters are insert-only deltas; folding them keeps the report's read
	// small. Every instance may try: one compacts at a time, the others skip.
	go compactCounters(ctx, store.NewCounters(db), time.Minute, log)
	go takeSnapshots(ctx, store.NewCounters(db), 10*time.Minute, log)
	addr := os.Getenv("REGMO_ADDR")
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	httpServer := &http.Server{
		Addr:    addr,
		Handler: srv,
		// A client that sends its headers or body one byte a second loses its connection
		// instead of holding it.
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	log.Info("serving", slog.String("addr", "http://"+strings.TrimPrefix(ln.Addr().String(), "http://")))
	errc := make(chan error, 1)
	go func() { errc <- httpServer.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := httpServer.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// compactCounters folds the readiness counters every interval until ctx ends.
func compactCounters(ctx context.Context, c *store.Counters, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := c.Compact(ctx)
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("compact readiness counters", slog.String("error", err.Error()))
			}
			continue
		}
		log.Debug("compacted readiness counters", slog.Int64("rows_removed", n))
	}
}

// snapshotSettle is how long after a midnight its snapshot is taken: writes whose clock read
// before midnight have landed by then, so they need not remove the snapshot and have it
// taken again (they would, were they late).
const snapshotSettle = 10 * time.Minute

// takeSnapshots takes the daily snapshots of the readiness figures that are missing, at start
// and then every interval until ctx ends; the reports as of an instant start from them.
func takeSnapshots(ctx context.Context, c *store.Counters, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		start := time.Now()
		n, err := c.TakeDailySnapshots(ctx, start.Add(-snapshotSettle))
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("take readiness snapshots", slog.Int("taken", n), slog.String("error", err.Error()))
		case n > 0:
			log.Info("took readiness snapshots", slog.Int("taken", n), slog.Duration("took", time.Since(start)))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// webOptions reads the web interface's settings from the environment.
func webOptions() web.Options {
	o := web.Options{PublicURL: publicURL(), SecureCookies: os.Getenv("REGMO_COOKIE_SECURE") == "true",
		SMTPConfigured: os.Getenv("REGMO_SMTP_URL") != ""}
	issuer, id, secret := os.Getenv("REGMO_OIDC_ISSUER"), os.Getenv("REGMO_OIDC_CLIENT_ID"), os.Getenv("REGMO_OIDC_CLIENT_SECRET")
	if issuer != "" && id != "" && secret != "" {
		o.OIDC = &web.OIDC{Issuer: issuer, ClientID: id, ClientSecret: secret, UserClaim: os.Getenv("REGMO_OIDC_USER_CLAIM")}
	}
	return o
}

// migrateUp applies the pending migrations as DATABASE_URL's role, which owns the schema.
func migrateUp(ctx context.Context) (int, error) {
	db, closeDB, err := openDB(ctx)
	if err != nil {
		return 0, err
	}
	defer closeDB()
	sqlDB, err := db.DB()
	if err != nil {
		return 0, err
	}
	return migrations.Up(ctx, sqlDB)
}

// serveMetrics serves GET /metrics on addr until stop is called.
func serveMetrics(addr string, metrics *api.Metrics, log *slog.Logger) (stop func(), err error) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics.Handler())
	server := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return serveSide(server, addr, "REGMO_METRICS_ADDR", "metrics", "/metrics", log)
}

// serveSide runs one of serve's side listeners (metrics, profiles) on addr, which the
// environment variable env set, in the background; it logs what it serves (what, under
// path), and stop closes it.
func serveSide(server *http.Server, addr, env, what, path string, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s (%s): %w", addr, env, err)
	}
	log.Info("serving "+what, slog.String("addr", "http://"+ln.Addr().String()+path))
	go func() {
		if err := server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error(what+" listener", slog.String("error", err.Error()))
		}
	}()
	return func() { _ = server.Close() }, nil
}

// servePprof serves Go's profiles (net/http/pprof under /debug/pprof/) on addr until stop is
// called: make bench profiles regmo with it. Off unless REGMO_PPROF_ADDR is set, and only on a
// loopback address, since a profile shows the program's internals and costs CPU to take.
func servePprof(addr string, log *slog.Logger) (stop func(), err error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("REGMO_PPROF_ADDR=%q: %w", addr, err)
	}
	if ip, perr := netip.ParseAddr(host); host != "localhost" && (perr != nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("REGMO_PPROF_ADDR=%q: profiles are served on a loopback address only (127.0.0.1, ::1 or localhost)", addr)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	server := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		// A CPU profile or trace runs as long as its ?seconds= asks.
		WriteTimeout:   5 * time.Minute,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return serveSide(server, addr, "REGMO_PPROF_ADDR", "profiles", "/debug/pprof/", log)
}

func migrate(ctx context.Context, args []string, stdout io.Writer) error {
	db, closeDB, err := openDB(ctx)
	if err != nil {
		return err
	}
	defer closeDB()
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	switch {
	case len(args) == 0:
		n, err := migrations.Up(ctx, sqlDB)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "applied %d migration(s)\n", n)
		return nil
	case len(args) == 1 && args[0] == "status":
		list, err := migrations.List(ctx, sqlDB)
		if err != nil {
			return err
		}
		for _, m := range list {
			state := "pending"
			if m.Applied {
				state = "applied"
			}
			fmt.Fprintf(stdout, "%05d  %-8s %s\n", m.Version, state, m.Source)
		}
		return nil
	}
	return fmt.Errorf("usage: regmo migrate [status]")
}
