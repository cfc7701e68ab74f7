// Command connector is the Salesforce sync connector worker.
//
//	connector serve  -config connector.yaml   run the connector
//	connector demo   [-dir connector-data]    run the main job on embedded defaults
//	connector bench  [-messages N ...]        measure the connector under load
//	connector dead list   -config FILE [-tenant T]
//	connector dead replay -config FILE -tenant T (-id N ... | -all)
//	connector quarantine list   -config FILE [-tenant T] [-channel C]
//	connector quarantine replay -config FILE (-id N ... | -all [-tenant T])
//	connector token create -config FILE (-tenant T -role agent|admin | -operator) -name N
//	connector token list   -config FILE [-tenant T]
//	connector token revoke -config FILE -id N
//	connector excluded-states get -config FILE -org 00D...
//	connector excluded-states set -config FILE -org 00D... -states AUTO_BOT,BLOCKED [-by NAME]
//	connector sign -config FILE -channel C [BODY]  print a delivery's signature header
//	connector migrate -config FILE            bring the store's schema up to date
//	connector check-config -config FILE       validate a configuration file
//	connector check-salesforce -config FILE [-tenant T]   check the orgs against the mapping
//	connector version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/chatsync/sfconnector/config"
	"github.com/chatsync/sfconnector/connector"
	"github.com/chatsync/sfconnector/connector/demo"
	"github.com/chatsync/sfconnector/connector/logging"
	"github.com/chatsync/sfconnector/connector/store"
)

const usage = `connector: the Salesforce sync connector worker

Usage:
  connector serve -config FILE          run the connector (webhooks, API, push to Salesforce)
  connector demo [-dir DIR] [-contacts N] [-messages N] [-keep] [-v]
                                        run the main job on embedded defaults: SQLite in DIR,
                                        a local Salesforce stand-in, signed webhook traffic,
                                        the product's flows through the API, and a summary of
                                        what reached Salesforce; -keep leaves it running
  connector bench [-messages N] [-contacts N] [-rate R] [-store sqlite|postgres] ...
                                        measure the connector under load against a local
                                        Salesforce stand-in (connector bench -h lists the flags)
  connector dead list -config FILE [-tenant T] [-limit N]
                                        list dead messages with Salesforce's error
  connector dead replay -config FILE -tenant T (-id N[,N...] | -all)
                                        put dead messages back in their outboxes
                                        (with -media: the failed media items, listed
                                        and replayed instead of the messages)
  connector quarantine list -config FILE [-tenant T] [-channel C] [-limit N]
                                        list the events kept in quarantine, with their reason
  connector quarantine replay -config FILE (-id N[,N...] | -all [-tenant T])
                                        parse quarantined events again with the configuration
                                        as it is now and store them through ingestion
  connector token create -config FILE -tenant T -role agent|admin -name N
  connector token create -config FILE -operator -name N
                                        create an API token; it is printed once
  connector token list -config FILE [-tenant T]
                                        list the API tokens (never the tokens themselves)
  connector token revoke -config FILE -id N
                                        revoke an API token
  connector excluded-states get -config FILE -org 00D...
  connector excluded-states set -config FILE -org 00D... -states AUTO_BOT,BLOCKED [-by NAME]
                                        read or set an org's excluded states (as the API does)
  connector sign -config FILE [-tenant T] -channel C [-url URL] [BODY]
                                        print the signature header a platform would send with
                                        BODY (or standard input) on the channel: "Name: value"
  connector migrate -config FILE        bring the store's schema up to date
  connector check-config -config FILE   validate a configuration file
  connector check-salesforce -config FILE [-tenant T]
                                        log in to each org and check its objects and fields
                                        against the mapping; exit 1 on a blocking problem
  connector version                     print the version, commit and build date
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(args[1:], stderr)
	case "demo":
		err = runDemo(args[1:], stdout, stderr)
	case "bench":
		err = benchCmd(args[1:], stdout, stderr)
	case "dead":
		err = dead(args[1:], stdout, stderr)
	case "quarantine":
		err = quarantineCmd(args[1:], stdout, stderr)
	case "token":
		err = tokenCmd(args[1:], stdout, stderr)
	case "excluded-states":
		err = excludedStatesCmd(args[1:], stdout, stderr)
	case "sign":
		err = signCmd(args[1:], os.Stdin, stdout, stderr)
	case "migrate":
		err = migrate(args[1:], stdout, stderr)
	case "check-config":
		err = checkConfig(args[1:], stdout, stderr)
	case "check-salesforce":
		err = checkSalesforce(args[1:], stdout, stderr)
	case "version":
		printVersion(stdout)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "connector: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 2
		}
		fmt.Fprintln(stderr, "connector:", err)
		return 1
	}
	return 0
}

// loadConfig parses the -config flag of a sub-command's flag set.
func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		return nil, errors.New("-config is required")
	}
	return config.Load(path)
}

// openStore loads the configuration at path and opens (and migrates) its
// store, logging to stderr as the configuration's log section says: what
// the commands that read or change the store share. It returns the logger
// too. The caller closes the store.
func openStore(ctx context.Context, path string, stderr io.Writer) (*config.Config, store.Store, zerolog.Logger, error) {
	cfg, err := loadConfig(path)
	if err != nil {
		return nil, nil, zerolog.Nop(), err
	}
	log, err := newLogger(cfg, stderr)
	if err != nil {
		return nil, nil, zerolog.Nop(), err
	}
	st, err := connector.OpenStore(ctx, cfg.Store, log)
	if err != nil {
		return nil, nil, zerolog.Nop(), err
	}
	return cfg, st, log, nil
}

func newLogger(cfg *config.Config, w io.Writer) (zerolog.Logger, error) {
	log, err := logging.New(w, cfg.Log.Level, cfg.Log.Format)
	if err != nil {
		return log, err
	}
	logging.RedirectStdLog(log)
	return log, nil
}

// DefaultGCPercent is serve's GOGC unless the environment sets one. The
// connector's live heap is small and its work allocates much: collecting
// half as often saves about a tenth of its CPU for a heap at most twice
// as large (see the README's Performance section). GOMEMLIMIT still
// bounds it.
const DefaultGCPercent = 200

// setGC applies DefaultGCPercent when GOGC is not set.
func setGC() {
	if _, ok := os.LookupEnv("GOGC"); !ok {
		debug.SetGCPercent(DefaultGCPercent)
	}
}

// configFlags returns the flag set of the command name, with its -config
// flag: the configuration file, $CONNECTOR_CONFIG by default.
func configFlags(name string, stderr io.Writer) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs, fs.String("config", os.Getenv("CONNECTOR_CONFIG"), "configuration file (or $CONNECTOR_CONFIG)")
}

func serve(args []string, stderr io.Writer) error {
	fs, path := configFlags("serve", stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	log, err := newLogger(cfg, stderr)
	if err != nil {
		return err
	}
	setGC()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	svc, err := connector.New(ctx, cfg, connector.Options{Logger: log})
	if err != nil {
		return err
	}
	if err := svc.Start(ctx); err != nil {
		return errors.Join(err, svc.Stop(context.Background()))
	}
	var serveErr error
	select {
	case <-ctx.Done():
		log.Info().Float64("timeout_ms", logging.Millis(cfg.Server.ShutdownTimeout)).Msg("signal received; draining")
	case serveErr = <-svc.Done():
		log.Error().Err(serveErr).Msg("server stopped; draining")
	}
	sctx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout)
	defer cancel()
	return errors.Join(serveErr, svc.Stop(sctx))
}

func runDemo(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "connector-data", "folder for the SQLite store")
	contacts := fs.Int("contacts", 20, "WhatsApp contacts writing in (at least 4)")
	perContact := fs.Int("messages", 5, "text messages per contact")
	keep := fs.Bool("keep", false, "leave the connector and the stand-in running, and print how to reach them")
	verbose := fs.Bool("v", false, "show the connector's log (colours on a terminal only)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	logOut := io.Discard
	if *verbose {
		logOut = stderr
	}
	log, err := logging.New(logOut, "info", "console")
	if err != nil {
		return err
	}
	logging.RedirectStdLog(log)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	d, err := demo.Start(ctx, demo.Options{Dir: *dir, Contacts: *contacts, MessagesPerContact: *perContact, Logger: log, Progress: stdout})
	if err != nil {
		return err
	}
	d.Summary.Print(stdout)
	if *keep {
		printReach(ctx, d, stdout)
		<-ctx.Done()
		fmt.Fprintln(stdout, "stopping the connector and the stand-in")
	}
	closeErr := d.Close(context.Background())
	if !d.Summary.OK() {
		return errors.Join(errors.New("the demo's checks failed (see the summary)"), closeErr)
	}
	return closeErr
}

// printReach says how to reach a demo left running.
func printReach(ctx context.Context, d *demo.Demo, w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("")
	p("The connector and the stand-in keep running; Ctrl-C stops them.")
	p("  API            %s/api/v1/tenants/%s (reference: %s/openapi.yaml)", d.ConnectorURL, d.Tenant, d.ConnectorURL)
	p("  admin token    %s", d.AdminToken)
	p("  operator token %s", d.OperatorToken)
	if consoleExists(ctx, d.ConnectorURL+"/console") {
		p("  console        %s/console", d.ConnectorURL)
	}
	p("  Salesforce     %s (the stand-in; records: %s/__standin/records/Chat_Message__c)", d.StandinURL, d.StandinURL)
	p("")
	p("For example:")
	p("  curl -H 'Authorization: Bearer %s' '%s/api/v1/tenants/%s/conversations?state=BLOCKED'", d.AdminToken, d.ConnectorURL, d.Tenant)
}

// consoleExists reports whether the connector serves a page at url.
func consoleExists(ctx context.Context, url string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func dead(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "replay") {
		return errors.New("usage: connector dead list|replay -config FILE ...")
	}
	fs, path := configFlags("dead "+args[0], stderr)
	tenant := fs.String("tenant", "", "tenant id")
	limit := fs.Int("limit", 100, "most messages to list")
	ids := fs.String("id", "", "comma-separated message ids to replay")
	all := fs.Bool("all", false, "replay every dead message of the tenant")
	media := fs.Bool("media", false, "the failed media items (their messages' Files) instead of the dead messages")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *limit <= 0 {
		return fmt.Errorf("dead %s: -limit must be positive, not %d", args[0], *limit)
	}
	ctx := context.Background()
	cfg, st, _, err := openStore(ctx, *path, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, ok := cfg.Tenant(*tenant); args[0] == "replay" && *tenant != "" && !ok {
		return fmt.Errorf("dead replay: tenant %q is not in the configuration", *tenant)
	}
	if *media {
		return deadMedia(ctx, st, args[0], *tenant, *limit, *ids, *all, stdout)
	}
	if args[0] == "list" {
		msgs, err := st.ListDead(ctx, store.DeadFilter{Tenant: *tenant, Limit: *limit})
		if err != nil {
			return err
		}
		if len(msgs) == 0 {
			fmt.Fprintln(stdout, "no dead messages")
			return nil
		}
		fmt.Fprintf(stdout, "%-8s %-12s %-12s %-8s %-36s %s\n", "ID", "TENANT", "CHANNEL", "ATTEMPTS", "PLATFORM ID", "ERROR")
		for _, m := range msgs {
			fmt.Fprintf(stdout, "%-8d %-12s %-12s %-8d %-36s %s\n", m.ID, m.Tenant, m.Channel, m.Attempts, m.PlatformID, m.LastError)
		}
		return nil
	}
	list, err := replayTargets(*tenant, *ids, *all)
	if err != nil {
		return err
	}
	done, err := st.Replay(ctx, *tenant, list, time.Now().UTC())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "replayed %d message(s): %v\n", len(done), done)
	if skipped := notIn(list, done); len(skipped) > 0 {
		fmt.Fprintf(stdout, "not replayed (not dead messages: left out): %v\n", skipped)
	}
	return nil
}

// notIn lists the ids of asked that are not in done, in order.
func notIn(asked, done []int64) []int64 {
	var out []int64
	for _, id := range asked {
		if !slices.Contains(done, id) {
			out = append(out, id)
		}
	}
	return out
}

// deadMedia lists or replays failed media items: a running connector's
// media worker takes the replayed ones at its next poll.
func deadMedia(ctx context.Context, st store.Store, verb, tenant string, limit int, ids string, all bool, stdout io.Writer) error {
	if verb == "list" {
		items, err := st.ListMedia(ctx, store.MediaFilter{Tenant: tenant, Status: store.MediaFailed, Limit: limit})
		if err != nil {
			return err
		}
		if len(items) == 0 {
			fmt.Fprintln(stdout, "no failed media")
			return nil
		}
		fmt.Fprintf(stdout, "%-8s %-12s %-12s %-10s %-36s %s\n", "ID", "TENANT", "CHANNEL", "MESSAGE", "PLATFORM ID", "STATUS")
		for _, it := range items {
			fmt.Fprintf(stdout, "%-8d %-12s %-12s %-10d %-36s %s\n", it.ID, it.Tenant, it.Channel, it.MessageID, it.MessagePlatformID, it.StatusText())
		}
		return nil
	}
	list, err := replayTargets(tenant, ids, all)
	if err != nil {
		return err
	}
	done, err := st.ReplayMedia(ctx, tenant, list, time.Now().UTC())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "replayed %d media item(s): %v\n", len(done), done)
	if skipped := notIn(list, done); len(skipped) > 0 {
		fmt.Fprintf(stdout, "not replayed (not failed items: left out): %v\n", skipped)
	}
	return nil
}

// replayTargets checks dead replay's flags: a tenant, and either -id or
// -all; it returns the ids given.
func replayTargets(tenant, ids string, all bool) ([]int64, error) {
	if tenant == "" {
		return nil, errors.New("dead replay: -tenant is required")
	}
	list, err := parseIDs(ids)
	if err != nil {
		return nil, fmt.Errorf("dead replay: %w", err)
	}
	if all == (len(list) > 0) {
		return nil, errors.New("dead replay: give either -id or -all")
	}
	return list, nil
}

// parseIDs reads the comma-separated ids of an -id flag.
func parseIDs(ids string) ([]int64, error) {
	var list []int64
	for _, s := range strings.Split(ids, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("-id %q is not an id", s)
		}
		list = append(list, n)
	}
	return list, nil
}

func migrate(args []string, stdout, stderr io.Writer) error {
	fs, path := configFlags("migrate", stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, st, _, err := openStore(context.Background(), *path, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "the %s store is up to date\n", cfg.Store.Driver)
	return st.Close()
}

func checkConfig(args []string, stdout, stderr io.Writer) error {
	fs, path := configFlags("check-config", stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	n := 0
	for _, t := range cfg.Tenants {
		n += len(t.Channels)
	}
	fmt.Fprintf(stdout, "configuration is valid: %d tenant(s), %d channel(s)\n", len(cfg.Tenants), n)
	return nil
}
