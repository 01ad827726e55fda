package api

import (
	"database/sql"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/bremen/regmo/domain/access"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// unmatchedRoute labels requests for paths the contract does not know. The raw path never
// becomes a label: every distinct path would be a new time series.
const unmatchedRoute = "(unmatched)"

// Metrics is what GET /metrics reports in Prometheus format: requests by route and status,
// their latency, the database pool, and the Go runtime (goroutines, memory). It is served on
// a listener of its own (REGMO_METRICS_ADDR), never on the public API.
type Metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
	// series holds the children of requests and duration by their labels (seriesKey →
	// series): WithLabelValues would hash the labels and look them up, and format the
	// status, on every request. Routes, methods and statuses are bounded, so is this.
	series sync.Map
}

type seriesKey struct {
	route, method string
	status        int
}

type series struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

// seriesOf is the children of requests and duration for one route, method and status.
func (m *Metrics) seriesOf(route, method string, status int) series {
	k := seriesKey{route: route, method: method, status: status}
	if v, ok := m.series.Load(k); ok {
		return v.(series)
	}
	s := series{requests: m.requests.WithLabelValues(route, method, strconv.Itoa(status)), duration: m.duration.WithLabelValues(route, method)}
	m.series.Store(k, s)
	return s
}

// NewMetrics returns an empty set of metrics; pass it in Config.Metrics.
func NewMetrics() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "regmo_http_requests_total",
			Help: "Requests answered, by OpenAPI route template, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "regmo_http_request_duration_seconds",
			Help: "Time from receiving a request to its answer, by OpenAPI route template and method.",
			// Up to the request deadlines: 15 s, imports and exports 55 s.
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 15, 30, 60},
		}, []string{"route", "method"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "regmo_http_requests_in_flight",
			Help: "Requests being served now.",
		}),
	}
	m.registry.MustRegister(m.requests, m.duration, m.inFlight,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// watchPool adds the pool statistics of db (sql.DBStats: open, in use, idle, waits) as
// go_sql_*{db_name="regmo"}, whether w reaches the database, and how often the caller
// cache answers.
func (m *Metrics) watchPool(db *sql.DB, w *access.Watch, cache *access.CallerCache) error {
	answering := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "regmo_database_answering",
		Help: "1 while the watch reaches PostgreSQL, 0 while requests are refused with 503 because it does not answer.",
	}, func() float64 {
		if w.Up().Err() != nil {
			return 0
		}
		return 1
	})
	hits := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "regmo_caller_cache_hits_total",
		Help: "Authenticated requests whose token and bindings came from the caller cache.",
	}, func() float64 { h, _ := cache.Counts(); return float64(h) })
	misses := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "regmo_caller_cache_misses_total",
		Help: "Token lookups the caller cache left to PostgreSQL.",
	}, func() float64 { _, m := cache.Counts(); return float64(m) })
	for _, c := range []prometheus.Collector{collectors.NewDBStatsCollector(db, "regmo"), answering, hits, misses} {
		if err := m.registry.Register(c); err != nil {
			return fmt.Errorf("api: metrics: %w", err)
		}
	}
	return nil
}

// observe counts every request and its duration. It sits outside logRequests, which has
// answered any error by the time it returns, so the status is the one the client got.
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	m := s.metrics
	if m == nil {
		return next
	}
	return func(c echo.Context) error {
		start := time.Now()
		m.inFlight.Inc()
		defer m.inFlight.Dec()
		err := next(c)
		route, method := unmatchedRoute, metricMethod(c.Request().Method)
		if r, ok := c.Get(routeKey).(*matchedRoute); ok {
			route = r.route.Path
		}
		ser := m.seriesOf(route, method, c.Response().Status)
		ser.requests.Inc()
		ser.duration.Observe(time.Since(start).Seconds())
		return err
	}
}

// metricMethod keeps the method label bounded: a client may send any token as a method.
func metricMethod(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return method
	}
	return "OTHER"
}
