package metrics

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// RateWindow is the span PerMinute measures over.
const RateWindow = time.Minute

// Rate measures how fast a counter of a CounterVec labelled by tenant
// grows: Sample records the tenants' values (Run does it every few
// seconds), PerMinute compares the value now with the oldest sample of the
// last RateWindow. It measures this process's counter: with several
// replicas, each measures its own pushes.
type Rate struct {
	vec *prometheus.CounterVec
	now func() time.Time

	mu      sync.Mutex
	samples []rateSample // oldest first
}

type rateSample struct {
	at     time.Time
	values map[string]float64
}

// NewRate measures vec (one label: the tenant). now is the clock;
// time.Now when nil.
func NewRate(vec *prometheus.CounterVec, now func() time.Time) *Rate {
	if now == nil {
		now = time.Now
	}
	return &Rate{vec: vec, now: now}
}

// value reads the tenant's counter (0 before anything was counted).
func (r *Rate) value(tenant string) float64 {
	var m dto.Metric
	if err := r.vec.WithLabelValues(tenant).Write(&m); err != nil {
		return 0
	}
	return m.GetCounter().GetValue()
}

// Sample records the tenants' values now and forgets the samples that
// the next PerMinute no longer needs (it keeps one older than the window,
// as the window's start).
func (r *Rate) Sample(tenants []string) {
	s := rateSample{at: r.now(), values: make(map[string]float64, len(tenants))}
	for _, t := range tenants {
		s.values[t] = r.value(t)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.samples = append(r.samples, s)
	cut := 0
	for i := range r.samples {
		if s.at.Sub(r.samples[i].at) >= RateWindow {
			cut = i
		}
	}
	r.samples = r.samples[cut:]
}

// PerMinute is how many the tenant's counter grew per minute over the
// last RateWindow; while the process is younger than that, it is how many
// it grew since the first sample (the rate is not extrapolated from a few
// seconds). 0 before any sample.
func (r *Rate) PerMinute(tenant string) float64 {
	now, v := r.now(), r.value(tenant)
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.samples) == 0 {
		return 0
	}
	first := r.samples[0]
	base, ok := first.values[tenant]
	if !ok {
		return 0
	}
	return (v - base) / max(now.Sub(first.at), RateWindow).Minutes()
}

// Run samples the tenants every interval until ctx ends.
func (r *Rate) Run(ctx context.Context, tenants []string, every time.Duration) {
	r.Sample(tenants)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			r.Sample(tenants)
		}
	}
}
