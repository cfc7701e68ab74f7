// Package connector assembles the connector's services: the store, the
// webhook and API server, the dispatcher that pushes to Salesforce, and the
// timers. New builds them from a validated configuration; Start runs them;
// Stop drains them in order, so that nothing acknowledged is lost.
package connector

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/chatsync/sfconnector/config"
	"github.com/chatsync/sfconnector/connector/api"
	"github.com/chatsync/sfconnector/connector/console"
	"github.com/chatsync/sfconnector/connector/dispatch"
	"github.com/chatsync/sfconnector/connector/httpx"
	"github.com/chatsync/sfconnector/connector/ingest"
	"github.com/chatsync/sfconnector/connector/manage"
	"github.com/chatsync/sfconnector/connector/media"
	"github.com/chatsync/sfconnector/connector/metrics"
	"github.com/chatsync/sfconnector/connector/preflight"
	"github.com/chatsync/sfconnector/connector/registry"
	"github.com/chatsync/sfconnector/connector/sfsync"
	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/connector/store/postgres"
	"github.com/chatsync/sfconnector/connector/store/sqlite"
	"github.com/chatsync/sfconnector/connector/timers"
	"github.com/chatsync/sfconnector/connector/webhook"
)

// ErrUnsupportedDriver is returned for a store driver this build cannot open.
var ErrUnsupportedDriver = errors.New("unsupported store driver")

// Options are the parts of a Service that do not come from the configuration.
type Options struct {
	Logger zerolog.Logger
	// Listener, when set, is used instead of listening on cfg.Server.Listen.
	Listener net.Listener
	// HTTPClient is the base client for Salesforce and platform calls.
	HTTPClient *http.Client
	// Now is the clock for every part; time.Now when nil.
	Now func() time.Time
}

// Service is the running connector.
type Service struct {
	cfg        *config.Config
	log        zerolog.Logger
	Store      store.Store
	Registry   *registry.Registry
	Metrics    *metrics.Metrics
	Dispatcher *dispatch.Dispatcher
	Timers     *timers.Timers
	// Manager runs the business operations the API and the commands use.
	Manager *manage.Manager
	// Preflight checks each org at start-up (shown in /readyz).
	Preflight *preflight.Runner
	// Media fetches inbound media and uploads it to Salesforce as Files.
	Media    *media.Worker
	server   *http.Server
	webhooks *webhook.Handler
	routes   []string
	listener net.Listener
	serveErr chan error
	// listening runs the store's notifications (PostgreSQL) until Stop.
	stopListen context.CancelFunc
	listenDone chan error
	// pushed measures the push rate for the API's overview; sampling
	// runs from Start until Stop.
	pushed     *metrics.Rate
	stopSample context.CancelFunc
	sampleDone chan struct{}
}

// OpenStore opens and migrates the configured store. log receives what
// the store reports on its own (a PostgreSQL notification session that
// ended and is being re-established).
func OpenStore(ctx context.Context, cfg config.Store, log zerolog.Logger) (store.Store, error) {
	return openStore(ctx, cfg, log, false)
}

// openStore opens and migrates the store; owner marks the process that
// runs the connector on a SQLite file (see sqlite.Options.Owner).
func openStore(ctx context.Context, cfg config.Store, log zerolog.Logger, owner bool) (store.Store, error) {
	var st store.Store
	switch cfg.Driver {
	case "sqlite":
		s, err := sqlite.Open(ctx, cfg.DSN.Value(), sqlite.Options{Owner: owner})
		if err != nil {
			return nil, err // says "open sqlite store"
		}
		st = s
	case "postgres":
		s, err := postgres.Open(ctx, cfg.DSN.Value(), postgres.Options{
			OnListenError: func(err error) {
				log.Warn().Err(err).Msg("store notifications interrupted; reconnecting (polling covers the gap)")
			},
			OnNotifyError: func(err error) {
				log.Warn().Err(err).Msg("could not notify the other replicas of new work (they find it at their next poll)")
			},
		})
		if err != nil {
			return nil, err // says "open postgres store"
		}
		st = s
	default:
		return nil, fmt.Errorf("%w %q", ErrUnsupportedDriver, cfg.Driver)
	}
	if err := st.Migrate(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("migrate: %w", err), st.Close())
	}
	return st, nil
}

// Group commit on PostgreSQL: how many groups of deliveries may be in
// flight at once, and the most deliveries one holds. Larger groups save
// more of the database's work per delivery but hold their rows longer,
// which delays pushing (measured in the README's Performance section).
const (
	PostgresGroupsInFlight = 4
	PostgresGroupSize      = 4
)

// New builds the connector from a validated configuration: it opens and
// migrates the store and builds the tenants' adapters and clients. It
// neither listens nor calls out; Start does.
func New(ctx context.Context, cfg *config.Config, opts Options) (*Service, error) {
	log := opts.Logger
	st, err := openStore(ctx, cfg.Store, log, true)
	if err != nil {
		return nil, err
	}
	var group *ingest.GroupCommitter
	if sq, ok := st.(*sqlite.Store); ok {
		// One process owns the file: the leases on it (conversations'
		// outboxes, media items in flight) are its previous run's, which
		// died with it. Take them back at once rather than wait for them
		// to expire.
		tb, err := sq.TakeBackLeases(ctx)
		if err != nil {
			return nil, errors.Join(err, st.Close())
		}
		if tb.Conversations > 0 || tb.Media > 0 {
			log.Info().Int("conversations", tb.Conversations).Int("media", tb.Media).
				Msg("took back the leases of the previous run")
		}
		// SQLite has one writer: concurrent deliveries share its commits.
		group = &ingest.GroupCommitter{Store: st}
	} else {
		// PostgreSQL runs transactions side by side: a few small groups
		// at once, each holding its contacts' rows for a few deliveries
		// only (claims skip locked rows, settlements wait for them).
		group = &ingest.GroupCommitter{Store: st, Size: PostgresGroupSize, InFlight: PostgresGroupsInFlight}
	}
	reg, err := registry.Build(cfg, registry.Options{Logger: log, HTTPClient: opts.HTTPClient, PublicBaseURL: cfg.Server.PublicBaseURL})
	if err != nil {
		return nil, errors.Join(err, st.Close())
	}
	m := metrics.New()
	group.Observe = func(deliveries, lockWaits int) {
		m.GroupDeliveries.Observe(float64(deliveries))
		m.GroupLockWaits.Add(float64(lockWaits))
	}
	host, _ := os.Hostname()
	owner := fmt.Sprintf("%s:%d", host, os.Getpid())
	d := dispatch.New(dispatch.Config{Dispatcher: cfg.Dispatcher, Owner: owner}, st, reg, m, log)
	d.Now = opts.Now

	var chans []timers.Channel
	for _, t := range cfg.Tenants {
		for _, c := range t.Channels {
			chans = append(chans, timers.Channel{Tenant: t.ID, ID: c.ID, HasBot: c.Bot,
				InactivityTimeout: c.InactivityTimeout, IdleClose: c.IdleClose})
		}
	}
	mw := newMediaWorker(cfg, st, reg, log, opts.Now, owner)
	mw.Count = func(tenant, outcome string) { m.Media.WithLabelValues(tenant, outcome).Inc() }
	mgr := NewManager(cfg, st, reg, log, opts.Now, d.Wake)
	mgr.OnDeleted(mw.SweepSoon)
	changes, err := sfsync.NewChangesMetric(m.Registry)
	if err != nil {
		return nil, errors.Join(err, st.Close())
	}
	poller := &sfsync.Poller{Store: st, Manager: mgr, Orgs: SyncOrgs(reg), Now: opts.Now, Changes: changes,
		Log: log.With().Str("component", "sfsync").Logger()}
	// The timers' work (due retries, expired conversations' records) joins
	// the next batch rather than making a call of its own.
	tm := &timers.Timers{Store: st, Channels: chans, Config: cfg.Timers, Wake: func() { d.Notify(1) }, Metrics: m, Log: log, Now: opts.Now, Owner: owner,
		RetryNativeBlocks: mgr.RetryNativeBlocks, RetrySends: mgr.RetrySends, PollSalesforce: poller.Poll}

	targets, err := preflight.Targets(cfg, "")
	if err != nil {
		return nil, errors.Join(err, st.Close())
	}
	pf := &preflight.Runner{Targets: targets, Clients: PreflightClients(reg), Timeout: cfg.Dispatcher.RequestTimeout * 4,
		Log: log.With().Str("component", "preflight").Logger(), Registerer: m.Registry, Now: opts.Now}
	s := &Service{
		cfg: cfg, log: log, Store: st, Registry: reg, Metrics: m, Dispatcher: d, Timers: tm, Manager: mgr, Preflight: pf, Media: mw,
		listener: opts.Listener, serveErr: make(chan error, 1),
	}
	mux := &routeMux{ServeMux: http.NewServeMux()}
	ing := &ingest.Ingester{Store: st, Group: group, Now: opts.Now}
	s.webhooks = &webhook.Handler{Registry: reg, Ingester: ing, MaxBodyBytes: cfg.Server.MaxBodyBytes, Metrics: m, Wake: d.Notify,
		Replies: mgr, MediaStored: mw.Wake, MediaUnfetched: mw.ReleaseUnfetched}
	// The webhook handler registers its own patterns on a mux of its own;
	// they are mounted here by name, so that Routes lists them.
	hooks := http.NewServeMux()
	s.webhooks.Register(hooks)
	for _, p := range WebhookPatterns {
		mux.Handle(p, hooks)
	}
	s.pushed = metrics.NewRate(m.Pushed, opts.Now)
	(&api.API{Store: st, Manager: mgr, OperatorToken: cfg.API.OperatorToken.Value(), Wake: d.Wake, MediaReplayed: mw.Wake, Pushed: s.pushed, Now: opts.Now, Quarantine: s.webhooks,
		Metrics: promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})}).Register(mux)
	console.Register(mux)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.ready)
	mux.ServeMux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteError(w, r, http.StatusNotFound, "not_found", "no route for "+r.Method+" "+r.URL.Path)
	})
	s.routes = mux.patterns
	s.server = &http.Server{
		Handler:           httpx.Middleware(log, mux.ServeMux),
		ReadHeaderTimeout: cfg.Server.ReadTimeout,
		ReadTimeout:       cfg.Server.ReadTimeout,
	}
	return s, nil
}

// rateSampleEvery is how often the push rate of the API's overview is
// sampled.
const rateSampleEvery = 5 * time.Second

// WebhookPatterns are the webhook handler's routes.
var WebhookPatterns = []string{"GET /webhooks/{tenant}/{channel}", "POST /webhooks/{tenant}/{channel}", "POST /webhooks/{tenant}/{channel}/uploads"}

// NewManager builds the business operations on the configuration's
// tenants. wake is called when an operation gives the dispatcher work;
// native block retries back off from dispatcher.backoff_min to
// dispatcher.backoff_max.
func NewManager(cfg *config.Config, st store.Store, reg *registry.Registry, log zerolog.Logger, now func() time.Time, wake func()) *manage.Manager {
	return manage.New(manage.Config{Store: st, Tenants: manage.FromRegistry(reg), Log: log, Now: now, Wake: wake,
		RetryMin: cfg.Dispatcher.BackoffMin, RetryMax: cfg.Dispatcher.BackoffMax})
}

// routeMux is a ServeMux that remembers the patterns registered.
type routeMux struct {
	*http.ServeMux
	patterns []string
}

func (m *routeMux) Handle(pattern string, h http.Handler) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.Handle(pattern, h)
}

func (m *routeMux) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m.Handle(pattern, http.HandlerFunc(h))
}

// Routes lists the patterns the server serves (the catch-all 404 aside),
// in the order they were registered.
func (s *Service) Routes() []string { return append([]string(nil), s.routes...) }

// ready answers 200 while the store answers, with each org's start-up
// check in "salesforce" (an org with problems does not make the connector
// unready: the other orgs work).
func (s *Service) ready(w http.ResponseWriter, r *http.Request) {
	if _, err := s.Store.Stats(r.Context(), "-"); err != nil {
		zerolog.Ctx(r.Context()).Error().Err(err).Msg("readiness: store does not answer")
		httpx.WriteError(w, r, http.StatusServiceUnavailable, "store_unavailable", "the store does not answer")
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"status": "ready", "salesforce": s.Preflight.Statuses()})
}

// Addr is the address the server listens on, once started.
func (s *Service) Addr() string {
	if s.listener == nil {
		return ""
	}
	return s.listener.Addr().String()
}

// Start listens and starts the dispatcher and the timers.
func (s *Service) Start(ctx context.Context) error {
	if s.listener == nil {
		ln, err := net.Listen("tcp", s.cfg.Server.Listen)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", s.cfg.Server.Listen, err)
		}
		s.listener = ln
	}
	go func() {
		err := s.server.Serve(s.listener)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.serveErr <- err
	}()
	if err := s.Dispatcher.Start(ctx); err != nil {
		return fmt.Errorf("start dispatcher: %w", err)
	}
	if n, ok := s.Store.(store.Notifier); ok {
		// Other replicas' commits wake this one's dispatcher; polling
		// stays as the fallback.
		lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		s.stopListen, s.listenDone = cancel, make(chan error, 1)
		go func() { s.listenDone <- n.Listen(lctx, func() { s.Dispatcher.Notify(1) }) }()
	}
	if err := s.Timers.Start(ctx); err != nil {
		return fmt.Errorf("start timers: %w", err)
	}
	if err := s.Media.Start(ctx); err != nil {
		return fmt.Errorf("start the media worker: %w", err)
	}
	if err := s.Preflight.Start(ctx); err != nil {
		return fmt.Errorf("start the org checks: %w", err)
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.stopSample, s.sampleDone = cancel, make(chan struct{})
	go func() {
		defer close(s.sampleDone)
		s.pushed.Run(sctx, s.Registry.Tenants(), rateSampleEvery)
	}()
	s.log.Info().Str("addr", s.Addr()).Int("tenants", len(s.Registry.Tenants())).Str("store", s.cfg.Store.Driver).Msg("connector started")
	return nil
}

// Done delivers the server's error if it stops on its own (nil after Stop).
func (s *Service) Done() <-chan error { return s.serveErr }

// Stop drains the connector within ctx: the server stops accepting and
// finishes the deliveries in flight (each answered only after its commit),
// the timers finish their runs, the dispatcher finishes and settles its
// batch in flight, and the store closes. Every step runs even when an
// earlier one fails; their errors are joined.
func (s *Service) Stop(ctx context.Context) error {
	var errs []error
	if err := s.server.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("http drain: %w", err))
	}
	// Opt-out last replies are sent after their delivery was answered.
	if err := s.webhooks.Wait(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := s.Preflight.Stop(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := s.Timers.Stop(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := s.Media.Stop(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := s.Dispatcher.Stop(ctx); err != nil {
		errs = append(errs, err)
	}
	if s.stopSample != nil {
		s.stopSample()
		<-s.sampleDone
	}
	if s.stopListen != nil {
		s.stopListen()
		if err := <-s.listenDone; err != nil && !errors.Is(err, context.Canceled) {
			errs = append(errs, fmt.Errorf("store notifications: %w", err))
		}
	}
	if err := s.Store.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close store: %w", err))
	}
	if len(errs) == 0 {
		s.log.Info().Msg("connector stopped; everything in flight was drained")
	}
	return errors.Join(errs...)
}
