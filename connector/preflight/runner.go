package preflight

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/chatsync/sfconnector/config"
)

// ErrUnknownTenant: the -tenant asked for is not configured.
var ErrUnknownTenant = errors.New("unknown tenant")

// Targets lists the orgs of the configuration, each once, with the
// tenants using it and the mapping of its first tenant (the one the
// dispatcher writes with); with tenant set, only that tenant's org.
func Targets(cfg *config.Config, tenant string) ([]Target, error) {
	var out []Target
	index := map[string]int{}
	found := tenant == ""
	for i, t := range cfg.Tenants {
		if tenant != "" && t.ID != tenant {
			continue
		}
		found = true
		key := config.OrgKey(t.Salesforce.OrgID)
		if j, ok := index[key]; ok {
			out[j].Tenants = append(out[j].Tenants, t.ID)
			continue
		}
		index[key] = len(out)
		out = append(out, Target{Org: key, Tenants: []string{t.ID}, Mapping: t.Salesforce.Mapping,
			Key: fmt.Sprintf("tenants[%d].salesforce", i)})
	}
	if !found {
		return nil, fmt.Errorf("%w %q", ErrUnknownTenant, tenant)
	}
	return out, nil
}

// Runner runs the check of every org at start-up, in the background, and
// keeps the reports for /readyz and the metrics. An org whose check fails
// does not stop the others, nor the connector.
type Runner struct {
	// Targets are the orgs to check; Clients their clients by Target.Org.
	Targets []Target
	Clients map[string]Client
	// Timeout bounds one org's check. Default 1m.
	Timeout time.Duration
	Log     zerolog.Logger
	// Registerer receives the metric
	// connector_salesforce_preflight_problems{org,status} (blocking,
	// warning). Optional.
	Registerer prometheus.Registerer
	// Now is the clock; time.Now when nil.
	Now func() time.Time

	mu      sync.Mutex
	reports map[string]Report
	cancel  context.CancelFunc
	done    chan struct{}
	gauge   *prometheus.GaugeVec
}

// Start checks every org in the background and returns at once.
func (r *Runner) Start(ctx context.Context) error {
	if r.Timeout <= 0 {
		r.Timeout = time.Minute
	}
	r.reports = map[string]Report{}
	if r.Registerer != nil {
		r.gauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "connector_salesforce_preflight_problems",
			Help: "Problems the start-up check of each Salesforce org found, by status (blocking: pushes fail until fixed).",
		}, []string{"org", "status"})
		if err := r.Registerer.Register(r.gauge); err != nil {
			return fmt.Errorf("preflight: register the metric: %w", err)
		}
	}
	ctx, r.cancel = context.WithCancel(context.WithoutCancel(ctx))
	r.done = make(chan struct{})
	go func() {
		defer close(r.done)
		var wg sync.WaitGroup
		for _, t := range r.Targets {
			c := r.Clients[t.Org]
			if c == nil {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				r.check(ctx, c, t)
			}()
		}
		wg.Wait()
	}()
	return nil
}

func (r *Runner) check(ctx context.Context, c Client, t Target) {
	ctx, cancel := context.WithTimeout(ctx, r.Timeout)
	defer cancel()
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	rep := Run(ctx, c, t, now().UTC())
	if ctx.Err() != nil && errors.Is(context.Cause(ctx), context.Canceled) {
		return // stopping
	}
	r.mu.Lock()
	r.reports[t.Org] = rep
	r.mu.Unlock()
	if r.gauge != nil {
		r.gauge.WithLabelValues(t.Org, string(Blocking)).Set(float64(rep.Count(Blocking)))
		r.gauge.WithLabelValues(t.Org, string(Warning)).Set(float64(rep.Count(Warning)))
	}
	ev := r.Log.Info()
	msg := "salesforce org check passed"
	switch {
	case rep.Blocking():
		ev, msg = r.Log.Error(), "salesforce org check found blocking problems: pushes to this org will fail until they are fixed (connector check-salesforce prints the fixes)"
	case len(rep.Problems()) > 0:
		ev, msg = r.Log.Warn(), "salesforce org check found problems"
	}
	arr := zerolog.Arr()
	for _, p := range rep.Problems() {
		arr.Dict(zerolog.Dict().Str("item", p.Item).Str("status", string(p.Status)).Str("detail", p.Detail).Str("fix", p.Fix))
	}
	ev.Str("org", t.Org).Strs("tenants", t.Tenants).Int("blocking", rep.Count(Blocking)).Int("warnings", rep.Count(Warning)).
		Array("problems", arr).Msg(msg)
}

// OrgStatus is an org's check as /readyz shows it.
type OrgStatus struct {
	// State is "pending" (not finished yet), "ok", "warnings" or
	// "blocking".
	State    string  `json:"state"`
	Problems []Check `json:"problems,omitempty"`
}

// Statuses returns every org's check by org.
func (r *Runner) Statuses() map[string]OrgStatus {
	out := map[string]OrgStatus{}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, t := range r.Targets {
		rep, ok := r.reports[t.Org]
		switch {
		case !ok:
			out[t.Org] = OrgStatus{State: "pending"}
		case rep.Blocking():
			out[t.Org] = OrgStatus{State: "blocking", Problems: rep.Problems()}
		case len(rep.Problems()) > 0:
			out[t.Org] = OrgStatus{State: "warnings", Problems: rep.Problems()}
		default:
			out[t.Org] = OrgStatus{State: "ok"}
		}
	}
	return out
}

// Stop ends checks in flight and waits for them.
func (r *Runner) Stop(ctx context.Context) error {
	if r.cancel == nil {
		return nil
	}
	r.cancel()
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("preflight: stop: %w", ctx.Err())
	}
}
