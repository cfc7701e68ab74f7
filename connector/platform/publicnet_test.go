package platform_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync/atomic"
	"testing"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/papi"
)

func TestPublicAddress(t *testing.T) {
	for addr, want := range map[string]bool{
		"93.184.216.34": true, "2606:2800:220:1:248:1893:25c8:1946": true, "8.8.8.8": true,
		"127.0.0.1": false, "::1": false, "10.1.2.3": false, "172.16.0.1": false, "192.168.1.1": false,
		"169.254.169.254": false, "fe80::1": false, "fc00::1": false, "100.64.0.1": false, "100.127.255.254": false,
		"0.0.0.0": false, "::": false, "224.0.0.1": false, "255.255.255.255": false, "::ffff:127.0.0.1": false,
		"::ffff:10.0.0.1": false, "::ffff:93.184.216.34": true,
		// IPv6 forms that lead to an IPv4 address are judged by it.
		"64:ff9b::a00:1": false, "64:ff9b::a9fe:a9fe": false, "64:ff9b::5db8:d822": true, "64:ff9b:1::a00:1": false,
		"2002:a9fe:a9fe::1": false, "2002:5db8:d822::1": true, "::127.0.0.1": false, "::ffff:0:a00:1": false,
		"2001:0:4136:e378:8000:63bf:3fff:fdd2": false,
		// Special-purpose IPv4 and IPv6 ranges.
		"0.0.0.1": false, "0.1.2.3": false, "198.18.0.1": false, "240.0.0.1": false, "192.0.0.8": false,
		"192.0.2.1": false, "203.0.113.9": false, "fec0::1": false, "2001:db8::1": false, "ff02::1": false,
	} {
		if got := platform.PublicAddress(netip.MustParseAddr(addr)); got != want {
			t.Errorf("PublicAddress(%s) = %v, want %v", addr, got, want)
		}
	}
}

// A URL a delivery gave is not fetched from a host that is not public,
// named by its address or by a name that resolves to it (the check is on
// the address dialled, so a redirect gets the same); the failure is
// permanent (gone) and says why. Without PublicOnly the same server is
// fetched.
func TestGetMediaPublicOnlyRefusesPrivateAddresses(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = w.Write([]byte("internal secret"))
	}))
	defer srv.Close()
	api := papi.New(papi.Config{})
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	for _, url := range []string{srv.URL + "/latest/meta-data", "http://localhost:" + port + "/x"} {
		_, err := platform.GetMedia(context.Background(), api, 1000, platform.MediaRequest{URL: url, PublicOnly: true})
		if !errors.Is(err, platform.ErrPrivateAddress) || !errors.Is(err, platform.ErrMediaGone) {
			t.Errorf("GetMedia(%s, public only) = %v, want ErrPrivateAddress and ErrMediaGone", url, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the private server was reached %d times", n)
	}
	m, err := platform.GetMedia(context.Background(), api, 1000, platform.MediaRequest{URL: srv.URL + "/x"})
	if err != nil || string(m.Data) != "internal secret" {
		t.Fatalf("GetMedia without PublicOnly = %q, %v", m.Data, err)
	}
}
