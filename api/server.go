// Package api is regmo's HTTP layer: the Echo server generated from openapi.yaml, the request
// path in front of it (request ids, logging, validation against the contract) and the
// mapping of domain errors to problem responses. Handlers decode, call domain, encode.
package api

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"gorm.io/gorm"

	"github.com/bremen/regmo/api/oapi"
	"github.com/bremen/regmo/api/web"
	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/access"
	"github.com/bremen/regmo/domain/notify"
	"github.com/bremen/regmo/domain/report"
	"github.com/bremen/regmo/domain/store"
	"github.com/bremen/regmo/domain/transfer"
	"github.com/bremen/regmo/policies"
)

// Config is what the server needs.
type Config struct {
	DB  *gorm.DB
	Log *slog.Logger
	// Replicas, when set, serve the reads that may lag a little (reports, reads as of an
	// instant, history, audit, exports) while they are close enough behind the primary DB;
	// nil reads everything from DB.
	Replicas *store.Replicas
	// Now overrides the clock (tests); nil means time.Now.
	Now func() time.Time
	// TrustedProxies lists addresses or prefixes whose X-Forwarded-For is believed.
	TrustedProxies string
	// RequestTimeout bounds every request and the queries it runs; 0 means 15 s (imports
	// and exports get at least 55 s).
	RequestTimeout time.Duration
	// Metrics, when set, counts every request and watches the pool (see NewMetrics); nil
	// means no metrics.
	Metrics *Metrics
	// CallerTTL bounds how long an authenticated caller is answered from memory; 0 means
	// one second, a negative value reads every caller from the database.
	CallerTTL time.Duration
	// Web configures the web interface served beside the API (pages under /).
	Web web.Options
	// NoWeb leaves the web interface out: every path goes to the API.
	NoWeb bool
	// WebhookAllow lists the hosts, addresses and prefixes webhooks may reach although they
	// are loopback, link-local or private (REGMO_WEBHOOK_ALLOW).
	WebhookAllow string
}

// defaultCallerTTL is the longest a lost notification could leave a revoked right in force:
// a change of rights must apply on every instance within a second.
const defaultCallerTTL = time.Second

// Server serves the regmo API.
type Server struct {
	echo           *echo.Echo
	log            *slog.Logger
	db             *gorm.DB
	replicas       *store.Replicas
	contract       *contract
	access         *access.Service
	policy         *policy
	throttle       *throttle
	trustedProxies []netip.Prefix
	requestTimeout time.Duration
	metrics        *Metrics
	// watch tells whether PostgreSQL answers, and keeps the caller cache current.
	watch *access.Watch
	// stop ends the background work New started; Close calls it once.
	stop     func()
	stopOnce sync.Once
	// web serves every path that is not the API's; nil without the web interface.
	web *web.Handler
	// handlerHook, when set, learns the operation of every request that reaches its handler
	// (tests, see export_test.go).
	handlerHook func(operationID string)
}

// New builds the server with its routes and request path.
func New(cfg Config) (*Server, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	ct, err := loadContract()
	if err != nil {
		return nil, err
	}
	// Fail closed: never serve on a session that row-level security does not bind.
	startCtx, cancelStart := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelStart()
	if err := store.CheckRowSecurity(startCtx, cfg.DB); err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	inventory := store.NewInventory(cfg.DB).WithReplicas(cfg.Replicas)
	if cfg.Now != nil {
		inventory = inventory.WithClock(cfg.Now)
	}
	transfers := transfer.New(store.NewTransfers(cfg.DB).WithReplicas(cfg.Replicas))
	reports := report.New(store.NewReports(cfg.DB).WithReplicas(cfg.Replicas))
	if cfg.Now != nil {
		reports = reports.WithClock(cfg.Now)
	}
	if cfg.Now != nil {
		transfers = transfers.WithClock(cfg.Now)
	}
	accessDB := store.NewAccess(cfg.DB)
	acc := access.New(accessDB)
	if cfg.Now != nil {
		acc = acc.WithClock(cfg.Now)
	}
	var cache *access.CallerCache
	if cfg.CallerTTL >= 0 {
		cache = access.NewCallerCache(cmp.Or(cfg.CallerTTL, defaultCallerTTL))
		acc = acc.WithCache(cache)
	}
	enforcer, err := policies.NewEnforcer()
	if err != nil {
		return nil, err
	}
	proxies, err := parseProxies(cfg.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	egress, err := notify.ParseEgress(cfg.WebhookAllow)
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	s := &Server{echo: echo.New(), log: cfg.Log, db: cfg.DB, replicas: cfg.Replicas, contract: ct, access: acc,
		policy: &policy{enforcer: enforcer}, throttle: newThrottle(20, time.Minute), trustedProxies: proxies,
		requestTimeout: cfg.RequestTimeout, metrics: cfg.Metrics, watch: access.NewWatch(accessDB, cache)}
	if s.requestTimeout <= 0 {
		s.requestTimeout = defaultRequestTimeout
	}
	sqlDB, err := cfg.DB.DB()
	if err != nil {
		return nil, fmt.Errorf("api: database handle: %w", err)
	}
	if s.metrics != nil {
		if err := s.metrics.watchPool(sqlDB, s.watch, cache); err != nil {
			return nil, err
		}
		if cfg.Replicas != nil {
			if err := s.metrics.registry.Register(newReplicaCollector(cfg.Replicas)); err != nil {
				return nil, fmt.Errorf("api: metrics: %w", err)
			}
		}
	}
	e := s.echo
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.errorHandler
	// Before routing: every answer is marked nosniff, and Echo routes on the path as sent.
	e.Pre(secureHeaders, routeRawPath)
	// The order is the request path: id and log first so every answer is logged; the wall
	// bounds every body; the route Echo matched names the operation and its path parameters
	// are checked (with or without a token), which sets the request's deadline (and refuses
	// it while PostgreSQL does not answer); the token
	// names the caller (a caller who may change something reads from the primary meanwhile,
	// see trackWrites), the other parameters are checked, the policy decides, and only then is
	// a body read. Each check refuses a request without an operation.
	e.Use(s.requestID, s.observe, s.logRequests, s.recoverPanics, bodyWall, ct.matchRoute, s.deadline,
		s.authenticate, s.trackWrites, ct.validateParams, s.authorize, limitHeavy(maxHeavyPerUser), ct.validateBody, negotiate)
	notifications := store.NewNotify(cfg.DB)
	h := &handler{
		access:    acc,
		inventory: inventory,
		transfer:  transfers,
		reports:   reports,
		ressorts:  store.NewRessorts(cfg.DB),
		webhooks:  notify.NewWebhookStore(notifications, egress),
		prefs:     notify.NewPrefsStore(notifications),
		db:        cfg.DB,
	}
	if err := s.register(oapi.NewStrictHandler(h, nil)); err != nil {
		return nil, err
	}
	if !cfg.NoWeb {
		s.web, err = web.New(web.Config{Options: cfg.Web, Authorizer: webAuthorizer{s.policy}, Inventory: inventory, Transfer: transfers, Reports: reports, Replicas: cfg.Replicas,
			Access: acc, Ressorts: h.ressorts, Prefs: h.prefs, DB: sqlDB, Log: cfg.Log, Now: cfg.Now,
			CSVImport: func(r io.Reader, k domain.Kind) transfer.ImportSource { return newCSVImport(r, k) }})
		if err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.watch.Run(ctx, func(err error) {
			if err != nil {
				s.log.Warn("database does not answer: requests get 503 at once until it does", slog.String("error", err.Error()))
				return
			}
			s.log.Info("database answers again")
		})
	}()
	s.stop = func() {
		cancel()
		<-done
		if s.web != nil {
			s.web.Close()
		}
	}
	return s, nil
}

// Close stops the server's watch (see access.Watch) and releases its database connection.
// Call it before closing the database.
func (s *Server) Close() { s.stopOnce.Do(s.stop) }

// ServeHTTP makes the server an http.Handler: the web interface's pages go to it, every other
// path to the API's router, which fails closed on anything openapi.yaml does not name.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.web == nil || !web.Owns(r.URL.Path) {
		s.echo.ServeHTTP(w, r)
		return
	}
	s.serveWeb(w, r)
}

// Ping checks that the database answers; readiness and start-up use it.
func ping(ctx context.Context, db *gorm.DB) error {
	sqlDB, err := db.DB()
	if err != nil {
		return fmt.Errorf("api: database handle: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return sqlDB.PingContext(ctx)
}
