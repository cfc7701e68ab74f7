// Package demo runs the connector's main job on embedded defaults, with no
// set-up: a SQLite store in a local folder, a local Salesforce stand-in,
// realistic signed webhook traffic sent through the connector's real HTTP
// endpoints, then a walk through the product's flows on the same running
// connector, through its real API (blocking, exclusions, state changes,
// opt-outs, unblock and delete, a dead-letter replay), and a summary of
// what reached Salesforce, what was held back and why.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/chatsync/sfconnector/config"
	"github.com/chatsync/sfconnector/connector"
	"github.com/chatsync/sfconnector/connector/platform/whatsapp"
	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/sfclient/standin"
)

// Options of a demo run.
type Options struct {
	// Dir holds the SQLite file (demo.db, emptied at each run).
	Dir string
	// Contacts writing on the WhatsApp channel (at least 4: the walk
	// through the flows uses four of them), and text messages each.
	Contacts           int
	MessagesPerContact int
	Logger             zerolog.Logger
	// Progress receives one line per step; nil for none.
	Progress io.Writer
}

// The demo's fixed names and secrets (local only).
const (
	tenantID       = "acme"
	waChannel      = "whatsapp"
	botChannel     = "whatsapp-bot"
	webChannel     = "webchat"
	tgChannel      = "telegram"
	waSecret       = "demo-whatsapp-app-secret"
	webSecret      = "demo-webchat-secret"
	tgSecret       = "demo-telegram-secret"
	phoneNumberID  = "106540352242922"
	botPhoneNumber = "106540352242923"
	rejectMarker   = "#reject"
	clientID       = "demo-connected-app"
	clientSecret   = "demo-client-secret"
	optOutKeyword  = "STOP"
	// minContacts is how many WhatsApp contacts the walk-through needs.
	minContacts = 4
)

func (o Options) progress(format string, args ...any) {
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, "• "+format+"\n", args...)
	}
}

// Demo is a demo that ran and is still running: the stand-in and the
// connector serve until Close.
type Demo struct {
	// Summary is what the run did and found.
	Summary *Summary
	// Standin is the Salesforce stand-in, at StandinURL.
	Standin    *standin.Server
	StandinURL string
	// ConnectorURL is the connector's base URL; AdminToken and
	// OperatorToken are API tokens the demo created (an admin of the
	// tenant, and the support team's).
	ConnectorURL  string
	AdminToken    string
	OperatorToken string
	// Tenant is the demo's tenant id.
	Tenant string

	svc      *connector.Service
	sfSrv    *http.Server
	shutdown time.Duration
}

// Store is the running connector's store.
func (d *Demo) Store() store.Store { return d.svc.Store }

// Close stops the connector (draining its work) and the stand-in.
func (d *Demo) Close(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, d.shutdown)
	defer cancel()
	return errors.Join(d.svc.Stop(ctx), d.sfSrv.Close())
}

// Run runs the demo, stops it and returns its summary.
func Run(ctx context.Context, o Options) (*Summary, error) {
	d, err := Start(ctx, o)
	if err != nil {
		return nil, err
	}
	if err := d.Close(context.Background()); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	return d.Summary, nil
}

// Start runs the demo and leaves the stand-in and the connector running;
// the caller must Close it. On error nothing is left running.
func Start(ctx context.Context, o Options) (*Demo, error) {
	if o.Contacts < minContacts || o.MessagesPerContact <= 0 {
		return nil, fmt.Errorf("demo: give at least %d contacts and 1 message each", minContacts)
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	dbPath := filepath.Join(o.Dir, "demo.db")
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(dbPath + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("demo: empty the store: %w", err)
		}
	}

	// The Salesforce stand-in, over real HTTP on a loopback port.
	sf := standin.New(standin.Options{ClientID: clientID, ClientSecret: clientSecret})
	sfLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("demo: listen for the stand-in: %w", err)
	}
	d := &Demo{Standin: sf, StandinURL: "http://" + sfLn.Addr().String(), Tenant: tenantID,
		sfSrv: &http.Server{Handler: sf, ReadHeaderTimeout: 10 * time.Second}}
	go d.sfSrv.Serve(sfLn) //nolint:errcheck // ends with Close
	o.progress("Salesforce stand-in for org %s at %s (no org is configured)", sf.OrgID(), d.StandinURL)
	// A validation rule in the org: the demo's cancellation request is
	// refused permanently and parked as dead, with Salesforce's error.
	rule := sf.AddRejectRule(standin.RejectRule{Object: "Chat_Message__c", Field: "Body__c", Contains: rejectMarker,
		Message: "Cancellations go through the order desk (validation rule Cancel_Via_Desk)."})

	cfg := demoConfig(dbPath, d.StandinURL, sf.OrgID())
	d.shutdown = cfg.Server.ShutdownTimeout
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, errors.Join(fmt.Errorf("demo: listen: %w", err), d.sfSrv.Close())
	}
	svc, err := connector.New(ctx, cfg, connector.Options{Logger: o.Logger, Listener: ln})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("demo: %w", err), d.sfSrv.Close())
	}
	if err := svc.Start(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("demo: %w", err), svc.Stop(context.Background()), d.sfSrv.Close())
	}
	d.svc = svc
	d.ConnectorURL = "http://" + svc.Addr()
	o.progress("connector listening at %s, store %s", d.ConnectorURL, dbPath)

	sum := &Summary{OrgID: sf.OrgID(), Store: dbPath}
	d.Summary = sum
	err = sendTraffic(ctx, o, &Sender{BaseURL: d.ConnectorURL}, sum)
	if err == nil {
		o.progress("waiting for the outbox to drain")
		err = waitDrained(ctx, svc.Store, 60*time.Second)
	}
	if err == nil {
		t := &tour{o: o, d: d, sum: sum, send: &Sender{BaseURL: d.ConnectorURL}, rule: rule}
		err = t.run(ctx)
	}
	if err == nil {
		err = sum.collect(ctx, svc.Store, sf)
	}
	if err != nil {
		return nil, errors.Join(fmt.Errorf("demo: %w", err), d.Close(context.Background()))
	}
	return d, nil
}

// demoConfig is the embedded configuration: one tenant with a WhatsApp
// channel, a WhatsApp channel with a bot (AUTO_BOT is excluded by default),
// a web chat and a Telegram bot, the opt-out keyword STOP, on the
// stand-in's org.
func demoConfig(dbPath, sfURL, orgID string) *config.Config {
	cfg := &config.Config{}
	cfg.Store = config.Store{Driver: "sqlite", DSN: config.NewSecret(dbPath)}
	cfg.Log.Level = "info"
	cfg.Dispatcher.PollInterval = 100 * time.Millisecond
	cfg.Dispatcher.BackoffMin = 200 * time.Millisecond
	cfg.Dispatcher.BackoffMax = 2 * time.Second
	cfg.Dispatcher.MaxAttempts = 3
	cfg.Tenants = []config.Tenant{{
		ID: tenantID,
		Salesforce: config.Salesforce{
			OrgID: orgID, LoginURL: sfURL,
			Auth: config.Auth{Flow: "client_credentials", ClientID: clientID, ClientSecret: config.NewSecret(clientSecret)},
		},
		Channels: []config.Channel{
			{ID: waChannel, Platform: "whatsapp", WhatsApp: &config.WhatsApp{
				PhoneNumberID: phoneNumberID, AppSecret: config.NewSecret(waSecret), VerifyToken: config.NewSecret("demo-verify-token")}},
			{ID: botChannel, Platform: "whatsapp", Bot: true, WhatsApp: &config.WhatsApp{
				PhoneNumberID: botPhoneNumber, AppSecret: config.NewSecret(waSecret), VerifyToken: config.NewSecret("demo-verify-token")}},
			{ID: webChannel, Platform: "webchat", WebChat: &config.WebChat{Secret: config.NewSecret(webSecret)}},
			{ID: tgChannel, Platform: "telegram", Telegram: &config.Telegram{SecretToken: config.NewSecret(tgSecret)}},
		},
		OptOut: config.OptOut{Keywords: []string{optOutKeyword}},
	}}
	cfg.ApplyDefaults()
	return cfg
}

// sendTraffic sends the demo's deliveries: each contact's messages in order
// (some batched several to a delivery, as WhatsApp does), contacts in
// parallel; plus receipts, a duplicate, bot and web chat traffic, a record
// Salesforce rejects and a delivery with a wrong signature.
func sendTraffic(ctx context.Context, o Options, s *Sender, sum *Summary) error {
	start := time.Now().UTC().Add(-time.Minute)
	run := start.Format("150405")
	var mu sync.Mutex
	send := func(channel string, body []byte, web bool) error {
		var resp Response
		var err error
		if web {
			resp, err = s.WebChat(ctx, tenantID, channel, webSecret, body)
		} else {
			resp, err = s.WhatsApp(ctx, tenantID, channel, waSecret, body)
		}
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		sum.count(resp)
		if resp.Status/100 != 2 {
			return fmt.Errorf("delivery to %s answered %d: %s", channel, resp.Status, resp.Body)
		}
		return nil
	}

	o.progress("sending WhatsApp traffic: %d contacts × (%d texts, an image, a reaction)", o.Contacts, o.MessagesPerContact)
	errs := make(chan error, o.Contacts)
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for c := 0; c < o.Contacts; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			waID := fmt.Sprintf("3161234%04d", c)
			name := fmt.Sprintf("Customer %d", c+1)
			id := func(n int) string { return fmt.Sprintf("wamid.demo%s.%d.%d", run, c, n) }
			at := func(n int) time.Time { return start.Add(time.Duration(n) * time.Second) }
			var pending []whatsapp.Inbound
			for n := 0; n < o.MessagesPerContact; n++ {
				text := fmt.Sprintf("Hello, this is message %d of %s", n+1, name)
				if c == 0 && n == min(1, o.MessagesPerContact-1) {
					text = "Please cancel my order " + rejectMarker
				}
				pending = append(pending, whatsapp.Inbound{From: waID, Name: name, ID: id(n), Time: at(n), Text: text})
				if len(pending) == 2 || n == o.MessagesPerContact-1 {
					if err := send(waChannel, whatsapp.Delivery(phoneNumberID, pending...), false); err != nil {
						errs <- err
						return
					}
					pending = nil
				}
			}
			n := o.MessagesPerContact
			if err := send(waChannel, whatsapp.ImageDelivery(phoneNumberID, waID, name, id(n), "media-"+id(n), "image/jpeg", "photo of the parcel", at(n)), false); err != nil {
				errs <- err
				return
			}
			if err := send(waChannel, whatsapp.ReactionDelivery(phoneNumberID, waID, name, id(n+1), id(0), "👍", at(n+1)), false); err != nil {
				errs <- err
			}
		}(c)
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}

	o.progress("re-sending a delivery (platform retry), sending delivery receipts")
	dup := whatsapp.Delivery(phoneNumberID, whatsapp.Inbound{From: "31612340000", Name: "Customer 1",
		ID: fmt.Sprintf("wamid.demo%s.0.0", run), Time: start, Text: "Hello, this is message 1 of Customer 1"})
	if err := send(waChannel, dup, false); err != nil {
		return err
	}
	receipts := whatsapp.StatusDelivery(phoneNumberID,
		whatsapp.Status{ID: "wamid.outbound." + run + ".1", Recipient: "31612340000", Status: "delivered", Time: start},
		whatsapp.Status{ID: "wamid.outbound." + run + ".1", Recipient: "31612340000", Status: "read", Time: start})
	if err := send(waChannel, receipts, false); err != nil {
		return err
	}

	o.progress("sending bot-channel traffic (AUTO_BOT is excluded by default) and web chat traffic")
	for c := 0; c < 3; c++ {
		for n := 0; n < 2; n++ {
			body := whatsapp.TextDelivery(botPhoneNumber, fmt.Sprintf("3169876%04d", c), "Bot visitor", fmt.Sprintf("wamid.bot%s.%d.%d", run, c, n), "menu option "+fmt.Sprint(n+1), start.Add(time.Duration(n)*time.Second))
			if err := send(botChannel, body, false); err != nil {
				return err
			}
		}
	}
	for v := 0; v < 4; v++ {
		for n := 0; n < 2; n++ {
			body := fmt.Sprintf(`{"events":[{"id":"web-%s-%d-%d","type":"message","visitor":{"id":"visitor-%d","name":"Web visitor %d"},"timestamp":%q,"message":{"text":"Question %d from the pricing page"}}]}`,
				run, v, n, v, v+1, start.Add(time.Duration(n)*time.Second).Format(time.RFC3339), n+1)
			if err := send(webChannel, []byte(body), true); err != nil {
				return err
			}
		}
	}

	o.progress("sending a delivery with a wrong signature (it must be refused)")
	resp, err := s.Post(ctx, tenantID, waChannel, whatsapp.TextDelivery(phoneNumberID, "31600000000", "Mallory", "wamid.forged"+run, "forged", start), whatsapp.SignatureHeader, whatsapp.Sign("not-the-app-secret", []byte("x")))
	if err != nil {
		return err
	}
	sum.Refused = resp.Status
	sum.RefusedBody = strings.TrimSpace(resp.Body)
	return nil
}

// waitDrained waits until no message is pending and no media item is on
// its way (pending or fetched).
func waitDrained(ctx context.Context, st store.Store, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		s, err := st.Stats(ctx, tenantID)
		if err != nil {
			return err
		}
		media := 0
		for _, status := range []store.MediaStatus{store.MediaPending, store.MediaFetched} {
			items, err := st.ListMedia(ctx, store.MediaFilter{Tenant: tenantID, Status: status, Limit: 1})
			if err != nil {
				return err
			}
			media += len(items)
		}
		if s.Messages[store.Pending] == 0 && media == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %s, %d messages still pending, media items on their way: %t", limit, s.Messages[store.Pending], media > 0)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
