package platform

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"syscall"
	"testing"
)

// The check is on every address dialled, so a redirect from a host that
// passes it to one that does not is refused too. Here the first server
// stands for a public host (the control lets its address through) and
// redirects to a loopback one, which is never reached.
func TestAPublicHostCannotRedirectToAPrivateOne(t *testing.T) {
	var hits atomic.Int32
	private := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = w.Write([]byte("internal"))
	}))
	defer private.Close()
	public := httptest.NewServer(http.RedirectHandler(private.URL+"/latest/meta-data", http.StatusFound))
	defer public.Close()
	publicAddr := public.Listener.Addr().String()
	client := dialChecked(func(network, address string, c syscall.RawConn) error {
		if address == publicAddr {
			return nil
		}
		return refuseNonPublic(network, address, c)
	})
	_, err := GetMedia(context.Background(), client, 1000, MediaRequest{URL: public.URL + "/photo.jpg"})
	if !errors.Is(err, ErrPrivateAddress) || !errors.Is(err, ErrMediaGone) {
		t.Fatalf("a redirect to a loopback host: %v, want ErrPrivateAddress and ErrMediaGone", err)
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the private server was reached %d times", n)
	}
}
