package integration_test

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chatsync/sfconnector/connector/platform/instagram"
	"github.com/chatsync/sfconnector/connector/platform/messenger"
	"github.com/chatsync/sfconnector/connector/platform/meta"
	"github.com/chatsync/sfconnector/connector/platform/telegram"
	"github.com/chatsync/sfconnector/connector/platform/twilio"
	"github.com/chatsync/sfconnector/connector/platform/whatsapp"
)

// quarantined is one event of GET /api/v1/quarantine.
type quarantined struct {
	ID       int64  `json:"id"`
	Tenant   string `json:"tenant"`
	Channel  string `json:"channel"`
	Platform string `json:"platform"`
	Reason   string `json:"reason"`
	Raw      string `json:"raw"`
}

// quarantine lists the quarantined events through the operator API.
func (e *env) quarantine() map[string]quarantined {
	e.t.Helper()
	code, b := e.api("GET", "/api/v1/quarantine?tenant=acme", nil)
	if code != 200 {
		e.t.Fatalf("GET /api/v1/quarantine: %d %s", code, b)
	}
	var l struct {
		Events []quarantined `json:"events"`
	}
	if err := json.Unmarshal(b, &l); err != nil {
		e.t.Fatalf("quarantine list %s: %v", b, err)
	}
	out := map[string]quarantined{}
	for _, q := range l.Events {
		if _, dup := out[q.Channel]; dup {
			e.t.Fatalf("two quarantined events of channel %s: %s", q.Channel, b)
		}
		out[q.Channel] = q
	}
	return out
}

// cli runs a connector command on the env's configuration file.
func (e *env) cli(args ...string) string {
	e.t.Helper()
	cmd := exec.Command(connectorBin, append(args, "-config", e.cfgPath)...)
	cmd.Env = cleanEnviron()
	out, err := cmd.CombinedOutput()
	if err != nil {
		e.t.Fatalf("connector %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Each delivery the connector used to drop silently (another Twilio
// account's, a WhatsApp phone number id no channel has, another Page's or
// Instagram account's entry) and the Telegram update with chat id 0 are
// answered 200 and kept in quarantine with their reason. Once the
// configuration is fixed and the connector restarted, the replayed events
// reach Salesforce once each, and a platform's retry is a duplicate; the
// Telegram update, still unusable, stays. On both store drivers.
func TestUnusableEventsAreQuarantinedAndReplayedOnceFixed(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		quarantineAndReplay(t, "")
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		quarantineAndReplay(t, postgresSchema(t))
	})
}

func quarantineAndReplay(t *testing.T, postgresDSN string) {
	acme := newOrg(t, "", nil)
	var chans []channelSpec
	for _, p := range []string{"whatsapp", "twilio", "messenger", "instagram", "telegram"} {
		chans = append(chans, channelSpec{ID: p, Platform: p})
	}
	e := newEnv(t, envOptions{Tenants: []tenantSpec{{ID: "acme", Org: acme, Channels: chans}}, PostgresDSN: postgresDSN})
	e.start()
	now := time.Now().Add(-time.Minute)

	const (
		otherPhone   = "109876543210987"
		otherSID     = "AC99999999999999999999999999999999"
		otherPage    = "108888888888888"
		otherAccount = "17841400000009999"
	)
	type delivery struct {
		channel, text  string
		body           []byte
		header, signed string
		reason         string
	}
	wa := whatsapp.TextDelivery(otherPhone, "31600000123", "Ann", "wamid.QUAR.1", "to the mistyped number", now)
	tw := twilio.InboundBody(twilio.Inbound{AccountSID: otherSID, From: "+14155550199", To: twilioNumber, Body: "to another account", MessageSID: "SM0123456789abcdef0123456789abcd01"})
	twSig, err := twilio.SignBody(twilioToken, e.base()+"/webhooks/acme/twilio", tw)
	if err != nil {
		t.Fatal(err)
	}
	fb := messenger.TextDelivery(otherPage, "6543210987650001", "m_QUAR_1", "to another page", now)
	ig := instagram.TextDelivery(otherAccount, "1234567890120001", "aWdfQUAR1", "to another account", now)
	tg := []byte(fmt.Sprintf(`{"update_id":900100,"my_chat_member":{"chat":{"id":0,"type":"private"},`+
		`"from":{"id":7000000009,"is_bot":false,"first_name":"Ann"},"date":%d,`+
		`"old_chat_member":{"status":"member","user":{"id":1,"is_bot":true,"first_name":"Bot"}},`+
		`"new_chat_member":{"status":"kicked","user":{"id":1,"is_bot":true,"first_name":"Bot"}}}}`, now.Unix()))
	deliveries := []delivery{
		{"whatsapp", "to the mistyped number", wa, whatsapp.SignatureHeader, whatsapp.Sign(appSecret, wa), "other_account: phone_number_id " + otherPhone},
		{"twilio", "to another account", tw, twilio.SignatureHeader, twSig, "other_account: AccountSid " + otherSID},
		{"messenger", "to another page", fb, meta.SignatureHeader, messenger.Sign(metaAppSecret, fb), "other_account: entry for account " + otherPage},
		{"instagram", "to another account", ig, meta.SignatureHeader, instagram.Sign(metaAppSecret, ig), "other_account: entry for account " + otherAccount},
		{"telegram", "", tg, telegram.SecretHeader, telegramSecret, "no_chat: update 900100 my_chat_member"},
	}
	for _, d := range deliveries {
		resp, err := e.sender().Post(t.Context(), "acme", d.channel, d.body, d.header, d.signed)
		if err != nil || resp.Status != 200 {
			t.Fatalf("%s: answered %d (%v): %s", d.channel, resp.Status, err, resp.Body)
		}
		if d.channel != "twilio" && !strings.Contains(resp.Body, `"quarantined":1`) {
			t.Errorf("%s: answer %s, want one event quarantined", d.channel, resp.Body)
		}
	}
	q := e.quarantine()
	for _, d := range deliveries {
		got, ok := q[d.channel]
		if !ok || !strings.HasPrefix(got.Reason, d.reason) || got.Platform != d.channel {
			t.Errorf("%s: quarantined %+v, want the reason %q", d.channel, got, d.reason)
		}
	}
	if len(q) != len(deliveries) {
		t.Fatalf("quarantine %+v", q)
	}
	if list := e.cli("quarantine", "list", "-tenant", "acme"); !strings.Contains(list, "other_account: phone_number_id "+otherPhone) ||
		!strings.Contains(list, "no_chat") {
		t.Errorf("connector quarantine list:\n%s", list)
	}
	if n := len(acme.SF.Records(msgObject)); n != 0 {
		t.Fatalf("%d message records before the replay", n)
	}
	log := e.logSince(0)
	if c := strings.Count(log, "event quarantined"); c != len(deliveries) {
		t.Errorf("%d quarantine warnings in the log, want one per event", c)
	}
	for _, secret := range []string{appSecret, twilioToken, metaAppSecret, telegramSecret} {
		if strings.Contains(log, secret) {
			t.Errorf("the log holds a secret %q", secret)
		}
	}

	// The operator fixes the configuration, restarts the connector, and
	// replays: one event with the command, the others through the API.
	e.stop(syscall.SIGTERM)
	m := e.configMap()
	for _, c := range m["tenants"].([]any)[0].(map[string]any)["channels"].([]any) {
		ch := c.(map[string]any)
		switch ch["id"] {
		case "whatsapp":
			ch["whatsapp"].(map[string]any)["phone_number_id"] = otherPhone
		case "twilio":
			ch["twilio"] = map[string]any{"account_sid": otherSID, "auth_token": twilioToken, "from": twilioNumber}
		case "messenger":
			ch["messenger"] = map[string]any{"page_id": otherPage, "app_secret": metaAppSecret, "verify_token": integrationVerif}
		case "instagram":
			ch["instagram"] = map[string]any{"page_id": pageID, "account_id": otherAccount, "app_secret": metaAppSecret, "verify_token": integrationVerif}
		}
	}
	e.writeConfigMap(m)
	if out := e.cli("quarantine", "replay", "-id", fmt.Sprint(q["twilio"].ID)); !strings.Contains(out, fmt.Sprintf("%d replayed: 1 message(s) stored", q["twilio"].ID)) {
		t.Errorf("connector quarantine replay:\n%s", out)
	}
	e.start()
	code, b := e.api("POST", "/api/v1/quarantine/replay", map[string]any{"all": true, "tenant": "acme"})
	if code != 200 {
		t.Fatalf("replay: %d %s", code, b)
	}
	var replayed struct {
		Results []struct {
			ID       int64  `json:"id"`
			Replayed bool   `json:"replayed"`
			Reason   string `json:"reason"`
			Stored   int    `json:"stored"`
		} `json:"results"`
	}
	if err := json.Unmarshal(b, &replayed); err != nil {
		t.Fatal(err)
	}
	if len(replayed.Results) != 4 {
		t.Fatalf("replay answer %s, want four events", b)
	}
	for _, r := range replayed.Results {
		if r.ID == q["telegram"].ID {
			if r.Replayed || !strings.HasPrefix(r.Reason, "no_chat") {
				t.Errorf("telegram: %+v, want it still quarantined", r)
			}
		} else if !r.Replayed || r.Stored != 1 {
			t.Errorf("event %d: %+v, want it replayed and stored", r.ID, r)
		}
	}
	if left := e.quarantine(); len(left) != 1 || left["telegram"].ID != q["telegram"].ID {
		t.Errorf("left in quarantine: %+v, want the telegram update only", left)
	}

	// Each replayed message reaches Salesforce once.
	for _, d := range deliveries[:4] {
		waitFor(t, waitTimeout, d.channel+"'s replayed message in Salesforce", func() (bool, string) {
			for _, r := range acme.SF.Records(msgObject) {
				if field(r, "Body__c") == d.text && strings.HasPrefix(field(r, "Message_Key__c"), "acme:"+d.channel+":") {
					return true, ""
				}
			}
			return false, fmt.Sprintf("%d records", len(acme.SF.Records(msgObject)))
		})
	}
	// The platform's retry of a replayed delivery is a duplicate.
	if a := e.postWhatsApp("acme", "whatsapp", wa); a.Duplicates != 1 || a.Stored != 0 {
		t.Errorf("retry after the replay: %+v", a)
	}
	messageRecords(t, acme.SF) // fails on a key on two records
	if n := len(acme.SF.Records(msgObject)); n != 4 {
		t.Errorf("%d message records, want 4", n)
	}
}
