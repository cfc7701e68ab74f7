package platform

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"github.com/chatsync/sfconnector/connector/platform/papi"
)

// ErrPrivateAddress is wrapped by a download refused because its host is
// not a public address (MediaRequest.PublicOnly): a loopback, private,
// link-local, shared (100.64.0.0/10), multicast or unspecified one. A
// delivery names such URLs to make the connector fetch what only it can
// reach (a metadata service, an admin route beside it) and copy it into
// Salesforce.
var ErrPrivateAddress = errors.New("the host is not a public address")

// sharedAddressSpace is 100.64.0.0/10 (RFC 6598), carrier-grade NAT and
// some clouds' internal addresses.
var sharedAddressSpace = netip.MustParsePrefix("100.64.0.0/10")

// PublicAddress reports whether ip is one a download of a URL from a
// delivery may connect to.
func PublicAddress(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsGlobalUnicast() && !ip.IsPrivate() && !sharedAddressSpace.Contains(ip)
}

// refuseNonPublic is a net.Dialer Control: it runs for every address
// dialled, after the name is resolved and for every redirect, so neither
// a name that resolves to a private address nor a redirect to one gets
// through.
func refuseNonPublic(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrPrivateAddress, err)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !PublicAddress(ip) {
		return fmt.Errorf("%w (%s)", ErrPrivateAddress, host)
	}
	return nil
}

// publicAPI is the client of the downloads that must reach public
// addresses only. It uses no proxy: through one, the addresses dialled
// would be the proxy's.
var publicAPI = sync.OnceValue(func() *papi.Client {
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: refuseNonPublic}
	t := &http.Transport{DialContext: d.DialContext, ForceAttemptHTTP2: true, MaxIdleConns: 100,
		IdleConnTimeout: 90 * time.Second, TLSHandshakeTimeout: 10 * time.Second, ExpectContinueTimeout: time.Second}
	return papi.New(papi.Config{HTTPClient: &http.Client{Transport: t, Timeout: papi.DefaultTimeout}})
})
