package api

import "github.com/prometheus/client_golang/prometheus"

// MustRegister adds collectors of other packages (the e-mail queue's) to the same /metrics.
func (m *Metrics) MustRegister(cs ...prometheus.Collector) { m.registry.MustRegister(cs...) }
