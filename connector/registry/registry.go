// Package registry turns the configuration into the live objects the
// connector works with: each tenant's channels with their platform
// adapters, and one Salesforce client per org (tenants sharing an org share
// its client and its pacing).
package registry

import (
	"fmt"
	"net/http"
	"path/filepath"
	"sort"
	"time"

	"github.com/rs/zerolog"

	"github.com/chatsync/sfconnector/config"
	"github.com/chatsync/sfconnector/connector/dispatch"
	"github.com/chatsync/sfconnector/connector/ingest"
	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/instagram"
	"github.com/chatsync/sfconnector/connector/platform/line"
	"github.com/chatsync/sfconnector/connector/platform/messenger"
	"github.com/chatsync/sfconnector/connector/platform/telegram"
	"github.com/chatsync/sfconnector/connector/platform/twilio"
	"github.com/chatsync/sfconnector/connector/platform/viber"
	"github.com/chatsync/sfconnector/connector/platform/webchat"
	"github.com/chatsync/sfconnector/connector/platform/whatsapp"
	"github.com/chatsync/sfconnector/sfclient"
)

// Tenant is a configured tenant.
type Tenant struct {
	Config   config.Tenant
	Org      *dispatch.Org
	Channels map[string]*Channel
}

// Channel is a configured channel with its adapter.
type Channel struct {
	Tenant  *Tenant
	Config  config.Channel
	Adapter platform.Adapter
}

// Ingest returns what ingestion needs to know of the channel.
func (c *Channel) Ingest() ingest.Channel {
	refuser, _ := c.Adapter.(platform.BlockedRefuser)
	return ingest.Channel{
		RefuseBlocked: refuser != nil && refuser.RefusesBlocked(),
		Tenant:        c.Tenant.Config.ID,
		ID:            c.Config.ID,
		Platform:      c.Config.Platform,
		HasBot:        c.Config.Bot,
		OrgID:         c.Tenant.Config.Salesforce.OrgID,
		Excluded:      c.Tenant.Config.Excluded(),
		// The source of the exclusions: the configuration file's list, or
		// the default. The org's stored setting overrides either.
		ExcludedFromConfig: c.Tenant.Config.ExcludedConfigured(),
		OptOutKeywords:     c.Tenant.Config.OptOut.Keywords,
		Media:              platform.CapabilitiesOf(c.Adapter).Media,
	}
}

// Registry holds every tenant.
type Registry struct {
	tenants map[string]*Tenant
	ids     []string
}

// Options for Build.
type Options struct {
	Logger zerolog.Logger
	// HTTPClient is the base client for Salesforce and platform calls;
	// nil for the default.
	HTTPClient *http.Client
	// PublicBaseURL is the connector's public URL, for platforms that sign
	// the full URL they call (Twilio). Empty: the URL as received.
	PublicBaseURL string
}

// Build creates the adapters and Salesforce clients of a validated
// configuration. It makes no network call.
func Build(cfg *config.Config, opts Options) (*Registry, error) {
	r := &Registry{tenants: map[string]*Tenant{}}
	orgs := map[string]*dispatch.Org{}
	for _, tc := range cfg.Tenants {
		key := config.OrgKey(tc.Salesforce.OrgID)
		org, ok := orgs[key]
		if !ok {
			client, err := newSalesforceClient(tc.Salesforce, cfg.Dispatcher.RequestTimeout, opts)
			if err != nil {
				return nil, fmt.Errorf("tenant %s: salesforce: %w", tc.ID, err)
			}
			org = &dispatch.Org{Key: key, Client: client, Mapping: tc.Salesforce.Mapping}
			orgs[key] = org
		}
		t := &Tenant{Config: tc, Org: org, Channels: map[string]*Channel{}}
		for _, cc := range tc.Channels {
			a, err := newAdapter(withUploadDir(cfg.Store, tc.ID, cc), opts, cfg.Media.AllowPrivateAddresses)
			if err != nil {
				return nil, fmt.Errorf("tenant %s channel %s: %w", tc.ID, cc.ID, err)
			}
			t.Channels[cc.ID] = &Channel{Tenant: t, Config: cc, Adapter: a}
		}
		r.tenants[tc.ID] = t
		r.ids = append(r.ids, tc.ID)
	}
	sort.Strings(r.ids)
	return r, nil
}

func newSalesforceClient(sf config.Salesforce, timeout time.Duration, opts Options) (*sfclient.Client, error) {
	return sfclient.New(sfclient.Config{
		RequestTimeout: timeout,
		OrgID:          sf.OrgID,
		LoginURL:       sf.LoginURL,
		APIVersion:     sf.APIVersion,
		Flow:           sf.Auth.Flow,
		ClientID:       sf.Auth.ClientID,
		ClientSecret:   sf.Auth.ClientSecret.Value(),
		Username:       sf.Auth.Username,
		PrivateKeyPEM:  []byte(sf.Auth.PrivateKey.Value()),
		Logger:         opts.Logger.With().Str("org", config.OrgKey(sf.OrgID)).Logger(),
		HTTPClient:     opts.HTTPClient,
	})
}

// newAdapter builds channel c's adapter; privateMedia lets its downloads of
// URLs a delivery gives reach addresses that are not public
// (media.allow_private_addresses).
func newAdapter(c config.Channel, opts Options, privateMedia bool) (platform.Adapter, error) {
	switch c.Platform {
	case config.PlatformWhatsApp:
		if c.WhatsApp == nil {
			return nil, errNoSection(c.Platform)
		}
		return whatsapp.New(whatsapp.Config{
			PhoneNumberID: c.WhatsApp.PhoneNumberID,
			AppSecret:     c.WhatsApp.AppSecret.Value(),
			VerifyToken:   c.WhatsApp.VerifyToken.Value(),
			AccessToken:   c.WhatsApp.AccessToken.Value(),
			GraphURL:      c.WhatsApp.GraphURL,
			HTTPClient:    opts.HTTPClient,
		})
	case config.PlatformWebChat:
		if c.WebChat == nil {
			return nil, errNoSection(c.Platform)
		}
		return webchat.New(webchat.Config{Secret: c.WebChat.Secret.Value(), UploadDir: c.WebChat.UploadDir,
			MaxUploadBytes: c.WebChat.MaxUploadBytes, HTTPClient: opts.HTTPClient, AllowPrivateMediaAddresses: privateMedia})
	case config.PlatformMessenger:
		m := c.Messenger
		if m == nil {
			return nil, errNoSection(c.Platform)
		}
		return messenger.New(messenger.Config{PageID: m.PageID, AppSecret: m.AppSecret.Value(), VerifyToken: m.VerifyToken.Value(),
			AccessToken: m.AccessToken.Value(), GraphURL: m.GraphURL, HTTPClient: opts.HTTPClient, AllowPrivateMediaAddresses: privateMedia})
	case config.PlatformInstagram:
		m := c.Instagram
		if m == nil {
			return nil, errNoSection(c.Platform)
		}
		return instagram.New(instagram.Config{PageID: m.PageID, AccountID: m.AccountID, AppSecret: m.AppSecret.Value(),
			VerifyToken: m.VerifyToken.Value(), AccessToken: m.AccessToken.Value(), GraphURL: m.GraphURL, HTTPClient: opts.HTTPClient,
			AllowPrivateMediaAddresses: privateMedia})
	case config.PlatformTelegram:
		if c.Telegram == nil {
			return nil, errNoSection(c.Platform)
		}
		return telegram.New(telegram.Config{SecretToken: c.Telegram.SecretToken.Value(), BotToken: c.Telegram.BotToken.Value(),
			APIURL: c.Telegram.APIURL, HTTPClient: opts.HTTPClient})
	case config.PlatformLINE:
		if c.LINE == nil {
			return nil, errNoSection(c.Platform)
		}
		return line.New(line.Config{ChannelSecret: c.LINE.ChannelSecret.Value(), ChannelAccessToken: c.LINE.ChannelAccessToken.Value(),
			APIURL: c.LINE.APIURL, DataAPIURL: c.LINE.DataAPIURL, HTTPClient: opts.HTTPClient, AllowPrivateMediaAddresses: privateMedia})
	case config.PlatformTwilio:
		t := c.Twilio
		if t == nil {
			return nil, errNoSection(c.Platform)
		}
		return twilio.New(twilio.Config{AccountSID: t.AccountSID, AuthToken: t.AuthToken.Value(), From: t.From,
			PublicBaseURL: opts.PublicBaseURL, APIURL: t.APIURL, HTTPClient: opts.HTTPClient, AllowPrivateMediaAddresses: privateMedia})
	case config.PlatformViber:
		v := c.Viber
		if v == nil {
			return nil, errNoSection(c.Platform)
		}
		return viber.New(viber.Config{AuthToken: v.AuthToken.Value(), SenderName: v.SenderName, SenderAvatar: v.SenderAvatar,
			APIURL: v.APIURL, HTTPClient: opts.HTTPClient, AllowPrivateMediaAddresses: privateMedia})
	}
	return nil, fmt.Errorf("platform %q is not supported", c.Platform)
}

// withUploadDir gives a web chat channel of a SQLite deployment its
// default upload directory, next to the store's file: "<file>-uploads/<tenant>/<channel>".
func withUploadDir(st config.Store, tenant string, c config.Channel) config.Channel {
	if c.WebChat == nil || c.WebChat.UploadDir != "" || st.Driver != config.DriverSQLite || !st.DSN.IsSet() {
		return c
	}
	wc := *c.WebChat
	wc.UploadDir = filepath.Join(st.DSN.Value()+"-uploads", tenant, c.ID)
	c.WebChat = &wc
	return c
}

func errNoSection(platform string) error {
	return fmt.Errorf("platform %s needs a %s section", platform, platform)
}

// ChannelIDs lists the tenant's channel ids, sorted.
func (t *Tenant) ChannelIDs() []string {
	ids := make([]string, 0, len(t.Channels))
	for id := range t.Channels {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Tenant returns a tenant by id.
func (r *Registry) Tenant(id string) (*Tenant, bool) {
	t, ok := r.tenants[id]
	return t, ok
}

// Channel returns a tenant's channel.
func (r *Registry) Channel(tenant, channel string) (*Channel, bool) {
	t, ok := r.tenants[tenant]
	if !ok {
		return nil, false
	}
	c, ok := t.Channels[channel]
	return c, ok
}

// Org returns the org of a tenant (dispatch.Orgs).
func (r *Registry) Org(tenant string) (*dispatch.Org, bool) {
	t, ok := r.tenants[tenant]
	if !ok {
		return nil, false
	}
	return t.Org, true
}

// Tenants lists the tenant ids, sorted (dispatch.Orgs).
func (r *Registry) Tenants() []string { return r.ids }
