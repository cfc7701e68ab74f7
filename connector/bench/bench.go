package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/chatsync/sfconnector/config"
	"github.com/chatsync/sfconnector/sfclient/standin"
)

// ErrLost is returned, with the report, when an accepted message's record
// is not in the stand-in at the end of a run.
var ErrLost = errors.New("accepted messages are missing from Salesforce")

// Options of a run. Fields left zero take the defaults named.
type Options struct {
	// Executable is the connector binary run as `serve`. Default: this
	// process's own executable.
	Executable string
	// Store is "sqlite" (default; a file in the run's folder) or
	// "postgres", on a fresh database created on the server of DSN and
	// dropped at the end.
	Store string
	DSN   string
	// Replicas is the number of `serve` processes (more than one needs
	// PostgreSQL). Default 1.
	Replicas int
	// Latency is the stand-in's delay of every data call; zero for none
	// (the command's default is DefaultLatency).
	Latency time.Duration
	// FaultRate is the share of data calls answered 503 SERVER_UNAVAILABLE,
	// in [0, 1).
	FaultRate float64
	// Contacts (distinct WhatsApp users) and Messages (text messages).
	// Defaults DefaultContacts and DefaultMessages.
	Contacts int
	Messages int
	// PerDelivery is the number of messages a delivery carries, from as
	// many consecutive contacts, as a Meta app may batch several users'
	// messages in one delivery (the last delivery may carry fewer).
	// Default 1.
	PerDelivery int
	// Rate is deliveries per second; 0 sends as fast as the senders can.
	Rate float64
	// Concurrency is the number of senders. Default DefaultConcurrency.
	Concurrency int
	// DrainTimeout bounds the wait, after the last acknowledgement, for
	// every accepted message to reach the stand-in. Default
	// DefaultDrainTimeout.
	DrainTimeout time.Duration
	// KillAfter, when positive, SIGKILLs the first connector process this
	// long after the load starts and restarts it on the same store and port.
	KillAfter time.Duration
	// Set are extra configuration keys, "section.key=value" with a YAML
	// value, written into the configuration's server, dispatcher, timers or
	// log section (for example "dispatcher.workers=4").
	Set []string
	// Keep keeps the run's folder (configuration, logs, SQLite file).
	Keep bool
	// Progress receives a progress line about once a second; nil for none.
	// Terminal makes each line overwrite the previous one.
	Progress io.Writer
	Terminal bool
}

// Defaults of the options.
const (
	DefaultLatency      = 100 * time.Millisecond
	DefaultContacts     = 100
	DefaultMessages     = 1000
	DefaultConcurrency  = 64
	DefaultDrainTimeout = 5 * time.Minute
)

var setPattern = regexp.MustCompile(`^(server|dispatcher|timers|log)\.([a-z_]+)=(.+)$`)

// Validate reports the first problem with the options.
func (o Options) Validate() error {
	switch {
	case o.Store != "" && o.Store != config.DriverSQLite && o.Store != config.DriverPostgres:
		return fmt.Errorf("bench: store %q: want sqlite or postgres", o.Store)
	case o.Store == config.DriverPostgres && o.DSN == "":
		return errors.New("bench: the postgres store needs a DSN")
	case o.Store != config.DriverPostgres && o.DSN != "":
		return errors.New("bench: a DSN is only used with the postgres store")
	case o.Replicas < 0:
		return errors.New("bench: replicas must not be negative")
	case o.Replicas > 1 && o.Store != config.DriverPostgres:
		return errors.New("bench: several replicas need the postgres store (one process owns a SQLite file)")
	case o.FaultRate < 0 || o.FaultRate >= 1:
		return fmt.Errorf("bench: fault rate %g: want at least 0 and less than 1", o.FaultRate)
	case o.Contacts < 0 || o.Messages < 0 || o.Concurrency < 0 || o.PerDelivery < 0:
		return errors.New("bench: contacts, messages, messages per delivery and concurrency must not be negative")
	case o.Rate < 0:
		return errors.New("bench: rate must not be negative")
	case o.Latency < 0 || o.DrainTimeout < 0 || o.KillAfter < 0:
		return errors.New("bench: latency, drain timeout and kill-after must not be negative")
	}
	for _, s := range o.Set {
		if !setPattern.MatchString(s) {
			return fmt.Errorf("bench: set %q: want section.key=value, the section one of server, dispatcher, timers, log", s)
		}
		if strings.HasPrefix(s, "server.listen=") {
			return errors.New("bench: server.listen is chosen by the bench")
		}
	}
	return nil
}

func (o Options) withDefaults() (Options, error) {
	if o.Executable == "" {
		exe, err := os.Executable()
		if err != nil {
			return o, fmt.Errorf("bench: find the connector executable: %w", err)
		}
		o.Executable = exe
	}
	if o.Store == "" {
		o.Store = config.DriverSQLite
	}
	o.Replicas = max(o.Replicas, 1)
	if o.Contacts == 0 {
		o.Contacts = DefaultContacts
	}
	if o.Messages == 0 {
		o.Messages = DefaultMessages
	}
	o.PerDelivery = max(o.PerDelivery, 1)
	if o.Concurrency == 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.DrainTimeout == 0 {
		o.DrainTimeout = DefaultDrainTimeout
	}
	return o, nil
}

// The stand-in's connected app.
const (
	clientID     = "bench-connected-app"
	clientSecret = "bench-client-secret"
)

// Run runs the bench and returns its report. The report comes with
// ErrLost when an accepted message never reached the stand-in, and with
// other errors when the connector did not stop cleanly.
func Run(ctx context.Context, o Options) (*Report, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "connector-bench-")
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	if o.Keep {
		o.progressf(true, "the run's folder: %s", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	defer lessGC()()
	r := &run{o: o, dir: dir, runID: randomHex(4)}
	return r.run(ctx)
}

// benchGCPercent is the bench process's GC percent during a run.
const benchGCPercent = 400

// lessGC raises this process's GC percent to benchGCPercent (unless it is
// already higher, or off) and returns the function that restores it. The
// bench shares the machine's cores with the connector it measures: the
// less it spends collecting its own garbage, the less it takes from the
// connector. The connector's processes are not affected.
func lessGC() (restore func()) {
	prev := debug.SetGCPercent(benchGCPercent)
	if prev < 0 || prev > benchGCPercent {
		debug.SetGCPercent(prev)
	}
	return func() { debug.SetGCPercent(prev) }
}

// run is one bench run.
type run struct {
	o     Options
	dir   string
	runID string
	sf    *standin.Server
	meter *meter
	sfURL string
	cfg   string // configuration file
	// operatorToken reads the replicas' /metrics.
	operatorToken string
	// reps are the connector replicas; procs every process started, in
	// order.
	reps  []*replica
	mu    sync.Mutex
	procs []*proc
}

func (r *run) run(ctx context.Context) (*Report, error) {
	o := r.o
	// The Salesforce stand-in, measured, with faults in front of it.
	// A daily limit far above any run's calls, and within the range a real
	// org's limit has (the stores keep it in a 32-bit column).
	r.sf = standin.New(standin.Options{ClientID: clientID, ClientSecret: clientSecret, DailyLimit: benchDailyLimit})
	r.sf.SetLatency(o.Latency)
	sfLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("bench: listen: %w", err)
	}
	defer sfLn.Close()
	r.sfURL = "http://" + sfLn.Addr().String()

	dsn := filepath.Join(r.dir, "connector.db")
	if o.Store == config.DriverPostgres {
		var drop func(context.Context) error
		dsn, drop, err = freshDatabase(ctx, o.DSN)
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		defer func() {
			if dropErr := drop(context.Background()); dropErr != nil {
				o.progressf(true, "%v", dropErr)
			}
		}()
	}
	appSecret := randomHex(16)
	cfg, err := r.writeConfig(dsn, appSecret)
	if err != nil {
		return nil, err
	}
	msg := cfg.Tenants[0].Salesforce.Mapping.Message
	r.meter = newMeter(&faults{next: r.sf, rate: o.FaultRate, latency: o.Latency}, msg.Object, msg.ExternalID)
	defer serve(sfLn, r.meter)()

	// The same generator against a handler that does nothing, before the
	// connectors run and again after they stopped: the machine's speed
	// drifts over a run, and the mean of the two brackets it.
	nopBefore, nopCPUBefore, err := r.noop(ctx, appSecret, "before")
	if err != nil {
		return nil, err
	}

	for i := range o.Replicas {
		addr, err := freeAddr()
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		r.reps = append(r.reps, &replica{addr: addr, logPath: filepath.Join(r.dir, fmt.Sprintf("connector-%d.log", i+1))})
	}
	defer r.killAll()
	for i, rep := range r.reps {
		if err := r.start(ctx, rep, fmt.Sprintf("replica %d", i+1)); err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
	}

	var targets []string
	for _, rep := range r.reps {
		targets = append(targets, rep.base())
	}
	gen := r.generator(targets, appSecret, "wamid.bench."+r.runID+".")
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	stopTicker := r.tick(gen)
	defer stopTicker()
	var kill *killRun
	if o.KillAfter > 0 {
		kill = r.killLater(loadCtx, o.KillAfter)
	}
	o.progressf(true, "sending %d deliveries to the connector", gen.deliveryCount())
	selfCPU0 := selfCPU()
	gen.run(ctx)

	keys := make([]string, o.Messages)
	for i := range keys {
		keys[i] = messageKey(gen.messageID(i))
	}
	drainErr := r.drain(ctx, gen, keys)
	benchCPU := selfCPU() - selfCPU0
	stopLoad()
	var errs []error
	if kill != nil {
		<-kill.done
		if kill.err != nil {
			errs = append(errs, kill.err)
		}
	}
	stopTicker()
	groups, err := r.groupCommits(ctx)
	if err != nil {
		errs = append(errs, err)
	}
	if kill != nil {
		groups.add(kill.groups)
	}
	for _, rep := range r.reps {
		if rep.cur != nil {
			if err := rep.cur.stop(); err != nil {
				errs = append(errs, fmt.Errorf("%w; its log: %s", err, rep.logPath))
			}
		}
	}
	nopAfter, nopCPUAfter, err := r.noop(ctx, appSecret, "after")
	if err != nil {
		return nil, errors.Join(append(errs, err)...)
	}
	rep := r.report(gen, [2]*generator{nopBefore, nopAfter}, keys, kill)
	rep.GroupCommits = groups
	if rep.Accepted > 0 {
		rep.BenchCPUPer1000 = Millis(benchCPU * 1000 / time.Duration(rep.Accepted))
	}
	if n := nopBefore.accepted.Load() + nopAfter.accepted.Load(); n > 0 {
		rep.NoopCPUPer1000 = Millis((nopCPUBefore + nopCPUAfter) * 1000 / time.Duration(n))
	}
	if whole := rep.CPUPer1000 + rep.BenchCPUPer1000; whole > 0 {
		rep.CPURatio = float64(rep.NoopCPUPer1000) / float64(whole)
	}
	if drainErr != nil {
		errs = append(errs, drainErr)
	}
	if rep.Lost > 0 {
		errs = append(errs, fmt.Errorf("%w: %d of %d", ErrLost, rep.Lost, rep.Accepted))
	}
	if len(errs) > 0 && !o.Keep {
		errs = append(errs, errors.New("rerun with -keep to keep the connectors' logs"))
	}
	return rep, errors.Join(errs...)
}

// noop runs the run's load against a handler that does nothing, in this
// process, and returns its generator and the CPU time this process spent
// on it; when names the run ("before", "after") in its message ids.
func (r *run) noop(ctx context.Context, appSecret, when string) (*generator, time.Duration, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, 0, fmt.Errorf("bench: listen: %w", err)
	}
	closeNoop := serve(ln, http.HandlerFunc(noop))
	defer closeNoop()
	nop := r.generator([]string{"http://" + ln.Addr().String()}, appSecret, "wamid.noop."+when+"."+r.runID+".")
	r.o.progressf(true, "sending %d deliveries to a no-op handler (%s the connector)", nop.deliveryCount(), when)
	cpu0 := selfCPU()
	nop.run(ctx)
	return nop, selfCPU() - cpu0, nil
}

// generator returns a generator of the run's load toward targets.
func (r *run) generator(targets []string, appSecret, idPrefix string) *generator {
	return &generator{targets: targets, appSecret: appSecret, idPrefix: idPrefix,
		contacts: r.o.Contacts, messages: r.o.Messages, perDelivery: r.o.PerDelivery, rate: r.o.Rate, concurrency: r.o.Concurrency}
}

// messageKey is the external id of a bench message's record.
func messageKey(platformID string) string { return tenantID + ":" + channelID + ":" + platformID }

// writeConfig writes the connectors' configuration and returns it as the
// connector reads it.
func (r *run) writeConfig(dsn, appSecret string) (*config.Config, error) {
	sections := map[string]map[string]any{
		"server":     {"listen": "127.0.0.1:0", "shutdown_timeout": "60s"},
		"dispatcher": {},
		"timers":     {},
		"log":        {"level": "warn", "format": "json"},
	}
	for _, s := range r.o.Set {
		m := setPattern.FindStringSubmatch(s)
		// A YAML scalar (200, true, 50ms), else the text as written
		// (@every 1s is not valid plain YAML).
		var v any = m[3]
		if err := yaml.Unmarshal([]byte(m[3]), &v); err != nil {
			v = m[3]
		}
		sections[m[1]][m[2]] = v
	}
	r.operatorToken = randomHex(16)
	doc := map[string]any{
		"store": map[string]any{"driver": r.o.Store, "dsn": dsn},
		"api":   map[string]any{"operator_token": r.operatorToken},
		"tenants": []any{map[string]any{
			"id": tenantID,
			"salesforce": map[string]any{
				"org_id":    r.sf.OrgID(),
				"login_url": r.sfURL,
				"auth":      map[string]any{"flow": config.FlowClientCredentials, "client_id": clientID, "client_secret": clientSecret},
			},
			"channels": []any{map[string]any{
				"id": channelID, "platform": config.PlatformWhatsApp,
				"whatsapp": map[string]any{"phone_number_id": phoneNumberID, "app_secret": appSecret, "verify_token": verifyToken},
			}},
		}},
	}
	for k, v := range sections {
		if len(v) > 0 {
			doc[k] = v
		}
	}
	data, err := yaml.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("bench: write the configuration: %w", err)
	}
	cfg, err := config.Parse(data, nil)
	if err != nil {
		return nil, fmt.Errorf("bench: the connector's configuration: %w", err)
	}
	r.cfg = filepath.Join(r.dir, "connector.yaml")
	if err := os.WriteFile(r.cfg, data, 0o600); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	return cfg, nil
}

// start starts a process of rep.
func (r *run) start(ctx context.Context, rep *replica, label string) error {
	p, err := rep.start(ctx, r.o.Executable, r.cfg, label)
	if p != nil {
		r.mu.Lock()
		r.procs = append(r.procs, p)
		r.mu.Unlock()
		if err != nil {
			p.kill() // it never became ready
		}
	}
	return err
}

// groupCommits reads the group commits of the processes running from
// their /metrics.
func (r *run) groupCommits(ctx context.Context) (GroupCommits, error) {
	var g GroupCommits
	for _, rep := range r.reps {
		if rep.cur == nil {
			continue
		}
		one, err := r.readGroupCommits(ctx, rep.base())
		if err != nil {
			return g, err
		}
		g.add(one)
	}
	return g, nil
}

// readGroupCommits reads the group commits of the process serving base
// from its /metrics.
func (r *run) readGroupCommits(ctx context.Context, base string) (GroupCommits, error) {
	var g GroupCommits
	client := &http.Client{Timeout: 10 * time.Second} // a replica that hangs fails the read
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return g, fmt.Errorf("bench: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+r.operatorToken)
	resp, err := client.Do(req)
	if err != nil {
		return g, fmt.Errorf("bench: read the metrics: %w", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	switch {
	case err != nil:
		return g, fmt.Errorf("bench: read the metrics: %w", err)
	case resp.StatusCode != http.StatusOK:
		return g, fmt.Errorf("bench: read the metrics: status %d: %.200s", resp.StatusCode, body)
	}
	found := 0
	for line := range strings.Lines(string(body)) {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			continue
		}
		switch f[0] {
		case "connector_ingest_group_deliveries_count":
			g.Groups += int(v)
		case "connector_ingest_group_deliveries_sum":
			g.Deliveries += int(v)
		case "connector_ingest_lock_waits_total":
			g.LockWaits += int(v)
		default:
			continue
		}
		found++
	}
	if found != 3 {
		return g, fmt.Errorf("bench: the metrics of %s lack the group commits' figures", base)
	}
	return g, nil
}

// killAll kills the processes still running (after a failure).
func (r *run) killAll() {
	for _, rep := range r.reps {
		if p := rep.cur; p != nil {
			select {
			case <-p.done:
			default:
				p.kill()
			}
		}
	}
}

// killRun is the -kill-after episode.
type killRun struct {
	done     chan struct{}
	err      error
	killedAt time.Time
	restart  *proc
	// groups are the killed process's group commits, read just before
	// the kill.
	groups GroupCommits
}

// killLater SIGKILLs the first replica's process after d and restarts it.
func (r *run) killLater(ctx context.Context, d time.Duration) *killRun {
	k := &killRun{done: make(chan struct{})}
	go func() {
		defer close(k.done)
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
		rep := r.reps[0]
		groups, err := r.readGroupCommits(ctx, rep.base())
		if err != nil {
			k.err = err
			return
		}
		k.groups = groups
		rep.cur.kill()
		k.killedAt = time.Now()
		r.o.progressf(true, "killed replica 1 (SIGKILL); restarting it")
		if err := r.start(context.Background(), rep, "replica 1, restarted"); err != nil {
			k.err = fmt.Errorf("bench: restart after SIGKILL: %w", err)
			return
		}
		k.restart = rep.cur
	}()
	return k
}

// tick samples the processes' memory and shows the progress line about
// once a second, until the returned function is called.
func (r *run) tick(gen *generator) func() {
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				if r.o.Terminal {
					r.o.progressf(false, "\n")
				}
				return
			case <-t.C:
			}
			r.mu.Lock()
			procs := r.procs
			r.mu.Unlock()
			for _, p := range procs {
				p.sample()
			}
			s := r.meter.stats()
			line := fmt.Sprintf("accepted %d/%d, errors %d, pushed %d, Salesforce calls %d",
				gen.accepted.Load(), gen.deliveryCount(), gen.failed.Load(), s.Messages, s.Calls)
			if r.o.Terminal {
				r.o.progressf(false, "\r%s\x1b[K", line)
			} else {
				r.o.progressf(false, "%s\n", line)
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(stop)
			<-done
		})
	}
}

// drain waits until every accepted message's record was written, or the
// drain timeout after the last acknowledgement.
func (r *run) drain(ctx context.Context, gen *generator, keys []string) error {
	var missing []string
	for i, key := range keys {
		if gen.deliveryOf(i).accepted {
			missing = append(missing, key)
		}
	}
	deadline := gen.end.Add(r.o.DrainTimeout)
	for {
		missing = r.meter.unwritten(missing)
		if len(missing) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: %d accepted messages not in Salesforce %s after the last acknowledgement", len(missing), r.o.DrainTimeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// report gathers the figures once the connectors have stopped.
func (r *run) report(gen *generator, nops [2]*generator, keys []string, kill *killRun) *Report {
	o := r.o
	rep := &Report{Settings: Settings{
		Store: o.Store, Replicas: o.Replicas, Latency: Millis(o.Latency), FaultRate: o.FaultRate,
		Contacts: o.Contacts, Messages: o.Messages, PerDelivery: o.PerDelivery, Rate: o.Rate, Concurrency: o.Concurrency,
		DrainTimeout: Millis(o.DrainTimeout), KillAfter: Millis(o.KillAfter), Set: o.Set,
	}}
	rep.Deliveries = gen.deliveryCount()
	rep.Accepted = int(gen.accepted.Load())
	rep.AcceptedMessages = gen.acceptedMessages()
	rep.Errors = int(gen.failed.Load())
	if e := gen.firstError.Load(); e != nil {
		rep.FirstError = *e
	}
	rep.AcceptedPerSecond = gen.perSecond()
	rep.NoopBefore, rep.NoopAfter = nops[0].perSecond(), nops[1].perSecond()
	rep.NoopPerSecond = (rep.NoopBefore + rep.NoopAfter) / 2
	rep.NoopErrors = int(nops[0].failed.Load() + nops[1].failed.Load())
	if rep.NoopPerSecond > 0 {
		rep.Ratio = rep.AcceptedPerSecond / rep.NoopPerSecond
	}

	s := r.meter.stats()
	rep.Calls, rep.FailedCalls, rep.RecordsWritten = s.Calls, s.FailedCalls, s.Records
	rep.MessagesCreated, rep.Rewrites = s.Created, s.Rewrites
	if rep.AcceptedMessages > 0 {
		rep.CallsPer1000 = float64(s.Calls) * 1000 / float64(rep.AcceptedMessages)
		rep.RecordsPerMessage = float64(s.Records) / float64(rep.AcceptedMessages)
	}

	present := map[string]bool{}
	keyField := r.meter.msgKey
	for _, rec := range r.sf.Records(r.meter.msgObject) {
		if k, ok := rec.Fields[keyField].(string); ok {
			present[k] = true
		}
	}
	var lat []time.Duration
	var last time.Time
	for i, key := range keys {
		d := gen.deliveryOf(i)
		if !d.accepted {
			continue
		}
		if !present[key] {
			rep.Lost++
		} else {
			rep.Delivered++
		}
		if at, ok := r.meter.firstWrite(key); ok {
			lat = append(lat, at.Sub(d.sent))
			if at.After(last) {
				last = at
			}
		}
	}
	rep.latencies(lat)
	if !last.IsZero() && rep.Lost == 0 {
		rep.Drain = Millis(max(last.Sub(gen.end), 0))
	}

	var cpu time.Duration
	for _, p := range r.procs {
		rep.Processes = append(rep.Processes, Process{Label: p.label, PeakRSS: p.peakRSS(), CPU: Millis(p.cpuTime())})
		rep.MaxRSS = max(rep.MaxRSS, p.peakRSS())
		cpu += p.cpuTime()
	}
	if rep.Accepted > 0 {
		rep.CPUPer1000 = Millis(cpu * 1000 / time.Duration(rep.Accepted))
	}
	if kill != nil && !kill.killedAt.IsZero() {
		rep.Kill = r.killReport(gen, keys, kill)
	}
	return rep
}

// killReport measures how soon pushing resumed after the restart: among
// the messages the killed process acknowledged whose record was not
// written when it was killed, the first and the last record written,
// counted from the restarted process's readiness.
func (r *run) killReport(gen *generator, keys []string, kill *killRun) *Kill {
	k := &Kill{After: Millis(r.o.KillAfter), GroupCommits: kill.groups}
	var first, last time.Time
	for i, key := range keys {
		d := gen.deliveryOf(i)
		if !d.accepted || d.replica != 0 || !d.answered.Before(kill.killedAt) {
			continue
		}
		at, ok := r.meter.firstWrite(key)
		if ok && at.Before(kill.killedAt) {
			continue
		}
		k.Waiting++
		if ok && (first.IsZero() || at.Before(first)) {
			first = at
		}
		if ok && at.After(last) {
			last = at
		}
	}
	if !first.IsZero() && kill.restart != nil {
		resumed, caught := Millis(first.Sub(kill.restart.ready)), Millis(last.Sub(kill.restart.ready))
		k.Resumed, k.Caught = &resumed, &caught
	}
	return k
}

// progressf writes to o.Progress, with a newline when asked.
func (o Options) progressf(newline bool, format string, args ...any) {
	if o.Progress == nil {
		return
	}
	if newline {
		format += "\n"
		if o.Terminal {
			format = "\r\x1b[K" + format // over the progress line
		}
	}
	fmt.Fprintf(o.Progress, format, args...)
}

// serve serves h on ln until the returned function is called.
func serve(ln net.Listener, h http.Handler) func() {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // ends with Close
	return func() { _ = srv.Close() }
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// benchDailyLimit is the stand-in's daily API limit during a run: far
// more calls than a run makes, so the usage threshold never slows it.
const benchDailyLimit = 1_000_000_000
