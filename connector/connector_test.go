package connector_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/chatsync/sfconnector/config"
	"github.com/chatsync/sfconnector/connector"
	"github.com/chatsync/sfconnector/connector/demo"
	"github.com/chatsync/sfconnector/connector/platform/whatsapp"
	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/sfclient/standin"
)

const operatorToken = "operator-token-for-tests"

func start(t testing.TB) (*connector.Service, *standin.Server, string) {
	t.Helper()
	sf := standin.New(standin.Options{ClientID: "app", ClientSecret: "secret"})
	sfSrv := httptest.NewServer(sf)
	t.Cleanup(sfSrv.Close)
	cfg := &config.Config{}
	cfg.Store = config.Store{Driver: "sqlite", DSN: config.NewSecret(filepath.Join(t.TempDir(), "c.db"))}
	cfg.API.OperatorToken = config.NewSecret(operatorToken)
	cfg.Dispatcher.PollInterval = 20 * time.Millisecond
	cfg.Tenants = []config.Tenant{{ID: "acme",
		Salesforce: config.Salesforce{OrgID: sf.OrgID(), LoginURL: sfSrv.URL,
			Auth: config.Auth{Flow: "client_credentials", ClientID: "app", ClientSecret: config.NewSecret("secret")}},
		Channels: []config.Channel{{ID: "wa", Platform: "whatsapp", WhatsApp: &config.WhatsApp{
			PhoneNumberID: "1065", AppSecret: config.NewSecret("app-secret"), VerifyToken: config.NewSecret("verify-me")}}},
	}}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	svc, err := connector.New(context.Background(), cfg, connector.Options{Logger: zerolog.Nop(), Listener: ln})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := svc.Stop(ctx); err != nil {
				t.Error(err)
			}
		}
	})
	return svc, sf, "http://" + svc.Addr()
}

func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestOperatorRoutesNeedTheOperatorToken(t *testing.T) {
	_, _, base := start(t)
	for _, path := range []string{"/api/v1/tenants/acme/dead-letters", "/api/v1/tenants/acme/stats"} {
		if code, _ := get(t, base+path, ""); code != http.StatusUnauthorized {
			t.Errorf("%s without a token: %d", path, code)
		}
		if code, _ := get(t, base+path, "wrong"); code != http.StatusUnauthorized {
			t.Errorf("%s with a wrong token: %d", path, code)
		}
		if code, body := get(t, base+path, operatorToken); code != http.StatusOK {
			t.Errorf("%s with the token: %d %s", path, code, body)
		}
	}
	// A malformed filter is refused, never dropped into an unfiltered list.
	for _, path := range []string{"/api/v1/tenants/acme/dead-letters?limit=%zz", "/api/v1/dead-letters?tenant=acme&after=%"} {
		if code, body := get(t, base+path, operatorToken); code != http.StatusBadRequest || !strings.Contains(body, `"code":"bad_query"`) {
			t.Errorf("%s: %d %s, want 400 bad_query", path, code, body)
		}
	}
	if code, _ := get(t, base+"/api/v1/tenants/nope/stats", operatorToken); code != http.StatusNotFound {
		t.Errorf("unknown tenant: %d", code)
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/tenants/acme/dead-letters/replay", strings.NewReader(`{"ids": [], "all": false}`))
	req.Header.Set("Authorization", "Bearer "+operatorToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("replay with neither ids nor all: %d", resp.StatusCode)
	}
}

func TestDeliveryReachesSalesforceAndStopDrains(t *testing.T) {
	svc, sf, base := start(t)
	s := &demo.Sender{BaseURL: base}
	body := whatsapp.TextDelivery("1065", "31600000001", "Ann", "wamid.A1", "hello", time.Now())
	resp, err := s.WhatsApp(context.Background(), "acme", "wa", "app-secret", body)
	if err != nil || resp.Status != http.StatusOK {
		t.Fatalf("delivery: %v %+v", err, resp)
	}
	var res struct{ Stored, Pending int }
	if err := json.Unmarshal([]byte(resp.Body), &res); err != nil || res.Stored != 1 || res.Pending != 1 {
		t.Fatalf("answer %s", resp.Body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(sf.Records("Chat_Message__c")) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the message did not reach the stand-in")
		}
		time.Sleep(20 * time.Millisecond)
	}
	rec := sf.Records("Chat_Message__c")[0]
	if rec.Fields["Message_Key__c"] != "acme:wa:wamid.A1" || rec.Fields["Body__c"] != "hello" {
		t.Fatalf("record %+v", rec.Fields)
	}
	// The record exists before the outcome is settled: wait for both.
	for {
		stats, err := svc.Store.Stats(context.Background(), "acme")
		if err != nil {
			t.Fatal(err)
		}
		if stats.Messages[store.Pushed] == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the message is not settled as pushed: %+v", stats)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestHealthReadyMetrics(t *testing.T) {
	_, _, base := start(t)
	for _, p := range []string{"/healthz", "/readyz"} {
		if code, _ := get(t, base+p, ""); code != http.StatusOK {
			t.Errorf("%s: %d", p, code)
		}
	}
	// The metrics name tenants and orgs: an operator token only.
	if code, _ := get(t, base+"/metrics", ""); code != http.StatusUnauthorized {
		t.Errorf("metrics without a token: %d, want 401", code)
	}
	code, body := get(t, base+"/metrics", operatorToken)
	if code != http.StatusOK || !strings.Contains(body, "go_goroutines") {
		t.Errorf("metrics: %d", code)
	}
	code, body = get(t, base+"/nope", "")
	if code != http.StatusNotFound || !strings.Contains(body, `"code":"not_found"`) {
		t.Errorf("unknown route: %d %s", code, body)
	}
}

// One Meta app posts every phone number's events to its one callback URL:
// a delivery to one WhatsApp channel's URL carrying two numbers' messages
// is stored under each number's channel; a number of no channel stays
// unstored.
func TestMetaDeliveryForSeveralAccountsReachesEachChannel(t *testing.T) {
	sf := standin.New(standin.Options{ClientID: "app", ClientSecret: "secret"})
	sfSrv := httptest.NewServer(sf)
	t.Cleanup(sfSrv.Close)
	cfg := &config.Config{}
	cfg.Store = config.Store{Driver: "sqlite", DSN: config.NewSecret(filepath.Join(t.TempDir(), "c.db"))}
	wa := func(id, phone string) config.Channel {
		return config.Channel{ID: id, Platform: "whatsapp", WhatsApp: &config.WhatsApp{
			PhoneNumberID: phone, AppSecret: config.NewSecret("app-secret"), VerifyToken: config.NewSecret("v")}}
	}
	cfg.Tenants = []config.Tenant{{ID: "acme",
		Salesforce: config.Salesforce{OrgID: sf.OrgID(), LoginURL: sfSrv.URL,
			Auth: config.Auth{Flow: "client_credentials", ClientID: "app", ClientSecret: config.NewSecret("secret")}},
		Channels: []config.Channel{wa("sales", "1001"), wa("support", "1002")},
	}}
	cfg.ApplyDefaults()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	svc, err := connector.New(context.Background(), cfg, connector.Options{Logger: zerolog.Nop(), Listener: ln})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := svc.Stop(ctx); err != nil {
			t.Error(err)
		}
	})
	// Three entries in one delivery: the sales number, the support
	// number, and a number no channel has.
	var entries []string
	for _, e := range []struct{ phone, id string }{{"1001", "wamid.S1"}, {"1002", "wamid.P1"}, {"1003", "wamid.X1"}} {
		body := whatsapp.TextDelivery(e.phone, "31600000009", "Ann", e.id, "to "+e.phone, time.Now())
		var d struct {
			Entry []json.RawMessage `json:"entry"`
		}
		if err := json.Unmarshal(body, &d); err != nil {
			t.Fatal(err)
		}
		entries = append(entries, string(d.Entry[0]))
	}
	body := []byte(`{"object":"whatsapp_business_account","entry":[` + strings.Join(entries, ",") + `]}`)
	resp, err := (&demo.Sender{BaseURL: "http://" + svc.Addr()}).WhatsApp(context.Background(), "acme", "sales", "app-secret", body)
	if err != nil || resp.Status != http.StatusOK {
		t.Fatalf("delivery: %v %+v", err, resp)
	}
	var res struct{ Stored int }
	if err := json.Unmarshal([]byte(resp.Body), &res); err != nil || res.Stored != 2 {
		t.Fatalf("answer %s: want 2 stored (sales and support), the unknown number's ignored", resp.Body)
	}
	ctx := context.Background()
	for channel, want := range map[string]string{"sales": "wamid.S1", "support": "wamid.P1"} {
		var msgs []store.Message
		err := svc.Store.WithTx(ctx, func(tx store.Tx) error {
			c, err := tx.UpsertContact(ctx, store.ContactKey{Tenant: "acme", Channel: channel, ExternalID: "31600000009"}, "", time.Now())
			if err != nil {
				return err
			}
			conv, err := tx.LiveConversation(ctx, c.ID)
			if err != nil {
				return err
			}
			msgs, err = svc.Store.ListMessages(ctx, conv.ID)
			return err
		})
		if err != nil {
			t.Fatalf("%s: %v", channel, err)
		}
		if len(msgs) != 1 || msgs[0].PlatformID != want {
			t.Fatalf("%s: messages %+v, want %s only", channel, msgs, want)
		}
	}
}
