package registry_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/chatsync/sfconnector/config"
	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/registry"
)

// media.allow_private_addresses reaches the adapters: by default a web
// chat attachment's URL on a loopback host is refused unfetched, and with
// it set the same URL is fetched.
func TestAllowPrivateAddressesReachesTheAdapters(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = w.Write([]byte("internal"))
	}))
	defer srv.Close()
	for _, allow := range []bool{false, true} {
		cfg := &config.Config{Tenants: []config.Tenant{{ID: "acme",
			Salesforce: config.Salesforce{OrgID: "00D000000000001", LoginURL: "http://127.0.0.1",
				Auth: config.Auth{Flow: config.FlowClientCredentials, ClientID: "x", ClientSecret: config.NewSecret("y")}},
			Channels: []config.Channel{{ID: "web", Platform: config.PlatformWebChat, WebChat: &config.WebChat{Secret: config.NewSecret("s")}}}}}}
		cfg.Media.AllowPrivateAddresses = allow
		cfg.ApplyDefaults()
		reg, err := registry.Build(cfg, registry.Options{})
		if err != nil {
			t.Fatal(err)
		}
		ch, _ := reg.Channel("acme", "web")
		f, ok := ch.Adapter.(platform.MediaFetcher)
		if !ok {
			t.Fatal("the web chat fetches no media")
		}
		before := hits.Load()
		m, err := f.FetchMedia(context.Background(), srv.URL+"/photo.png", 100)
		switch {
		case !allow && (!errors.Is(err, platform.ErrPrivateAddress) || hits.Load() != before):
			t.Errorf("by default: %v, %d requests; want refused unfetched", err, hits.Load()-before)
		case allow && (err != nil || string(m.Data) != "internal"):
			t.Errorf("with allow_private_addresses: %q, %v; want fetched", m.Data, err)
		}
	}
}
