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

// notPublic4 are the IPv4 ranges that are not public (RFC 6890 and its
// successors): this network, private, shared (carrier-grade NAT, some
// clouds' internal addresses), loopback, link-local (a cloud's metadata
// service), IETF protocol assignments, documentation, benchmarking,
// multicast and reserved (the broadcast address included).
var notPublic4 = prefixes("0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
	"172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
	"203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4")

// notPublic6 are the IPv6 ranges within 2000::/3 (global unicast) that
// are not public, or that reach IPv4 addresses in ways this check cannot
// follow: the local-use NAT64 prefix, Teredo, documentation, ORCHID and
// 6bone.
var notPublic6 = prefixes("64:ff9b:1::/48", "2001::/32", "2001:2::/48", "2001:10::/28", "2001:20::/28",
	"2001:db8::/32", "3ffe::/16", "3fff::/20")

// nat64 and sixToFour embed an IPv4 address: the NAT64 well-known prefix
// (RFC 6052: the last 32 bits) and 6to4 (RFC 3056: bits 16 to 48). Such an
// address is as public as the IPv4 address it leads to.
var (
	nat64          = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour      = netip.MustParsePrefix("2002::/16")
	globalUnicast6 = netip.MustParsePrefix("2000::/3")
)

func prefixes(ss ...string) []netip.Prefix {
	ps := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		ps[i] = netip.MustParsePrefix(s)
	}
	return ps
}

func inAny(ip netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// PublicAddress reports whether ip is one a download of a URL from a
// delivery may connect to: a public IPv4 address, or a global unicast
// IPv6 one (2000::/3) outside the special ranges, where an address that
// embeds an IPv4 one (IPv4-mapped, NAT64, 6to4) is judged by it.
func PublicAddress(ip netip.Addr) bool {
	ip = ip.Unmap()
	if ip.Is4() {
		return !inAny(ip, notPublic4)
	}
	b := ip.As16()
	switch {
	case nat64.Contains(ip):
		return PublicAddress(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
	case sixToFour.Contains(ip):
		return PublicAddress(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}))
	}
	return globalUnicast6.Contains(ip) && !inAny(ip, notPublic6)
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
var publicAPI = sync.OnceValue(func() *papi.Client { return dialChecked(refuseNonPublic) })

// dialChecked is a client whose every dial, redirects included, is first
// checked by control.
func dialChecked(control func(network, address string, c syscall.RawConn) error) *papi.Client {
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: control}
	t := &http.Transport{DialContext: d.DialContext, ForceAttemptHTTP2: true, MaxIdleConns: 100,
		IdleConnTimeout: 90 * time.Second, TLSHandshakeTimeout: 10 * time.Second, ExpectContinueTimeout: time.Second}
	return papi.New(papi.Config{HTTPClient: &http.Client{Transport: t, Timeout: papi.DefaultTimeout}})
}
