package registry_test

import (
	"bytes"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/chatsync/sfconnector/config"
	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/line"
	"github.com/chatsync/sfconnector/connector/platform/meta"
	"github.com/chatsync/sfconnector/connector/platform/telegram"
	"github.com/chatsync/sfconnector/connector/platform/twilio"
	"github.com/chatsync/sfconnector/connector/platform/viber"
	"github.com/chatsync/sfconnector/connector/platform/webchat"
	"github.com/chatsync/sfconnector/connector/platform/whatsapp"
	"github.com/chatsync/sfconnector/connector/registry"
)

// readmeRow is one row of the README's channel table.
type readmeRow struct {
	verification, signature, kinds, sending, block string
}

// readmeChannels reads the channel table of the README: one row per
// platform, keyed by the platform's configuration name in the second
// column.
func readmeChannels(t *testing.T) map[string]readmeRow {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(b), "\n## Channels\n")
	if !ok {
		t.Fatal("README has no ## Channels section")
	}
	rows := map[string]readmeRow{}
	for _, line := range strings.Split(after, "\n") {
		if strings.HasPrefix(line, "## ") {
			break
		}
		if !strings.HasPrefix(line, "|") || strings.HasPrefix(line, "|---") || strings.HasPrefix(line, "| platform") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if len(cells) != 7 {
			t.Fatalf("channel table row has %d cells, want 7: %s", len(cells), line)
		}
		rows[strings.Trim(cells[1], "`")] = readmeRow{cells[2], cells[3], cells[4], cells[5], cells[6]}
	}
	return rows
}

var (
	waPhoneID   = regexp.MustCompile(`"phone_number_id"\s*:\s*"(\d+)"`)
	metaEntryID = regexp.MustCompile(`"entry"\s*:\s*\[\s*\{\s*"id"\s*:\s*"(\d+)"`)
)

// adapterFor builds the platform's adapter through the registry, with the
// account ids a testdata file is addressed to and every credential (so
// that no channel receives only).
func adapterFor(t *testing.T, p string, body []byte) platform.Adapter {
	t.Helper()
	s := config.NewSecret
	ch := config.Channel{ID: "ch", Platform: p}
	first := func(re *regexp.Regexp, def string) string {
		if m := re.FindSubmatch(body); m != nil {
			return string(m[1])
		}
		return def
	}
	switch p {
	case config.PlatformWhatsApp:
		ch.WhatsApp = &config.WhatsApp{PhoneNumberID: first(waPhoneID, "1"), AppSecret: s("a"), VerifyToken: s("v"), AccessToken: s("t")}
	case config.PlatformWebChat:
		ch.WebChat = &config.WebChat{Secret: s("a")}
	case config.PlatformMessenger:
		ch.Messenger = &config.Messenger{PageID: first(metaEntryID, "1"), AppSecret: s("a"), VerifyToken: s("v"), AccessToken: s("t")}
	case config.PlatformInstagram:
		ch.Instagram = &config.Instagram{PageID: "1", AppSecret: s("a"), VerifyToken: s("v"), AccessToken: s("t")}
	case config.PlatformTelegram:
		ch.Telegram = &config.Telegram{SecretToken: s("a"), BotToken: s("123456:abc")}
	case config.PlatformLINE:
		ch.LINE = &config.LINE{ChannelSecret: s("a"), ChannelAccessToken: s("t")}
	case config.PlatformTwilio:
		sid := "AC" + strings.Repeat("0", 32)
		if form, err := url.ParseQuery(string(body)); err == nil && form.Get("AccountSid") != "" {
			sid = form.Get("AccountSid")
		}
		ch.Twilio = &config.Twilio{AccountSID: sid, AuthToken: s("a"), From: "+15550100"}
	case config.PlatformViber:
		ch.Viber = &config.Viber{AuthToken: s("a"), SenderName: "Acme"}
	}
	cfg := &config.Config{Tenants: []config.Tenant{{ID: "t",
		Salesforce: config.Salesforce{OrgID: "00D000000000001", LoginURL: "http://127.0.0.1",
			Auth: config.Auth{Flow: config.FlowClientCredentials, ClientID: "x", ClientSecret: s("y")}},
		Channels: []config.Channel{ch}}}}
	cfg.ApplyDefaults()
	reg, err := registry.Build(cfg, registry.Options{})
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	c, _ := reg.Channel("t", "ch")
	return c.Adapter
}

// parsedKinds parses every testdata delivery of platform p (the
// platforms' own documented examples) and returns the message kinds they
// produce.
func parsedKinds(t *testing.T, p string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "platform", p, "testdata", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("%s: no testdata (%v)", p, err)
	}
	kinds := map[string]bool{}
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			continue // a directory such as testdata/fuzz
		}
		r, _ := http.NewRequest(http.MethodPost, "https://connector.example.com/webhooks/t/ch", bytes.NewReader(body))
		if strings.HasSuffix(f, ".form") {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		events, err := adapterFor(t, p, body).Parse(r, body)
		if err != nil {
			continue // testdata that is malformed on purpose
		}
		for _, e := range events {
			if e.Kind == platform.KindMessage {
				kinds[e.Message.Kind] = true
			}
		}
	}
	out := make([]string, 0, len(kinds))
	for k := range kinds {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestReadmeChannelTableMatchesTheAdapters checks each row of the README's
// channel table against the adapter the registry builds for that
// platform: the handshake, the signature header, the message kinds its
// parser produces from the platform's documented examples, sending and
// native block.
func TestReadmeChannelTableMatchesTheAdapters(t *testing.T) {
	rows := readmeChannels(t)
	headers := map[string]string{
		config.PlatformWhatsApp: whatsapp.SignatureHeader, config.PlatformMessenger: meta.SignatureHeader,
		config.PlatformInstagram: meta.SignatureHeader, config.PlatformTelegram: telegram.SecretHeader,
		config.PlatformLINE: line.SignatureHeader, config.PlatformTwilio: twilio.SignatureHeader,
		config.PlatformViber: viber.SignatureHeader, config.PlatformWebChat: webchat.SignatureHeader,
	}
	if len(rows) != len(headers) {
		t.Errorf("the README's table has %d platforms, the registry builds %d", len(rows), len(headers))
	}
	for p, header := range headers {
		row, ok := rows[p]
		if !ok {
			t.Errorf("%s: no row in the README's channel table", p)
			continue
		}
		caps := platform.CapabilitiesOf(adapterFor(t, p, nil))
		if has := strings.Contains(row.verification, "hub.challenge"); has != caps.Handshake {
			t.Errorf("%s: README verification %q, adapter handshake %v", p, row.verification, caps.Handshake)
		}
		if !strings.Contains(row.signature, header) {
			t.Errorf("%s: README signature %q does not name %s", p, row.signature, header)
		}
		if got := strings.HasPrefix(row.sending, "text"); got != caps.Send {
			t.Errorf("%s: README sending %q, adapter sends %v", p, row.sending, caps.Send)
		}
		if got := !strings.HasPrefix(row.block, "none"); got != caps.NativeBlock {
			t.Errorf("%s: README native block %q, adapter native block %v", p, row.block, caps.NativeBlock)
		}
		listed := strings.Split(strings.ReplaceAll(row.kinds, " ", ""), ",")
		sort.Strings(listed)
		if kinds := parsedKinds(t, p); !slices.Equal(listed, kinds) {
			t.Errorf("%s: README message kinds %v, the parser produces %v from the platform's examples", p, listed, kinds)
		}
	}
}
