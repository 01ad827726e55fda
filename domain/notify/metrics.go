package notify

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bremen/regmo/domain/store"
)

// Metrics counts the e-mails of this instance and reports the queue's depth.
type Metrics struct {
	sentTotal, failedTotal, retriedTotal *prometheus.CounterVec
	depth                                prometheus.GaugeFunc
}

// NewMetrics returns the collectors; the depth is read from the database at each scrape.
func NewMetrics(s *store.Notify) *Metrics {
	counter := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{"kind"})
	}
	return &Metrics{
		sentTotal:    counter("regmo_notify_sent_total", "E-mails sent, by kind (reminder, digest)."),
		failedTotal:  counter("regmo_notify_failed_total", "E-mails given up after the last retry, by kind."),
		retriedTotal: counter("regmo_notify_retried_total", "Failed sends that will be retried, by kind."),
		depth: prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "regmo_notify_queue_depth",
			Help: "Pending e-mail jobs in the queue (all instances)."}, func() float64 {
			n, err := s.PendingJobs(context.Background())
			if err != nil {
				return -1
			}
			return float64(n)
		}),
	}
}

// Collectors lists what to register.
func (m *Metrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.sentTotal, m.failedTotal, m.retriedTotal, m.depth}
}

func (m *Metrics) sent(kind string) {
	if m != nil {
		m.sentTotal.WithLabelValues(kind).Inc()
	}
}

func (m *Metrics) failed(kind string) {
	if m != nil {
		m.failedTotal.WithLabelValues(kind).Inc()
	}
}

func (m *Metrics) retried(kind string) {
	if m != nil {
		m.retriedTotal.WithLabelValues(kind).Inc()
	}
}
