package api

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/bremen/regmo/domain/store"
)

// trackWrites tells the replicas (see store.Replicas) about every request of an
// authenticated caller that may change something, from before the handler runs until after
// it answered: meanwhile and until a replica has replayed the change, that caller's reads
// go to the primary, so that no one misses their own write.
func (s *Server) trackWrites(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.replicas == nil {
			return next(c)
		}
		switch c.Request().Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			return next(c)
		}
		caller, ok := callerFrom(c.Request().Context())
		if !ok {
			return next(c)
		}
		done := s.replicas.Writing(caller.User)
		defer done()
		return next(c)
	}
}

// replicaCollector shows each replica's lag and whether reads go to it.
type replicaCollector struct {
	replicas    *store.Replicas
	lag, usable *prometheus.Desc
}

func newReplicaCollector(rs *store.Replicas) *replicaCollector {
	return &replicaCollector{replicas: rs,
		lag: prometheus.NewDesc("regmo_replica_lag_seconds",
			"Replay lag of the replica behind the primary at its last probe (0: caught up).", []string{"replica"}, nil),
		usable: prometheus.NewDesc("regmo_replica_usable",
			"1 while the reads that may lag go to the replica, 0 while it is away or too far behind.", []string{"replica"}, nil)}
}

// Describe implements prometheus.Collector.
func (c *replicaCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.lag
	ch <- c.usable
}

// Collect implements prometheus.Collector.
func (c *replicaCollector) Collect(ch chan<- prometheus.Metric) {
	for _, st := range c.replicas.Status() {
		usable := 0.0
		if st.Usable {
			usable = 1
		}
		ch <- prometheus.MustNewConstMetric(c.lag, prometheus.GaugeValue, st.Lag.Seconds(), st.Name)
		ch <- prometheus.MustNewConstMetric(c.usable, prometheus.GaugeValue, usable, st.Name)
	}
}
