package notify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
)

// Egress decides where webhooks may connect to. Addresses in loopback, link-local, private,
// shared (CGNAT), unspecified or multicast ranges are refused (server-side request forgery:
// a webhook must not reach the database, the metrics port or the cloud's metadata service),
// unless REGMO_WEBHOOK_ALLOW names the host or a prefix holding the address.
type Egress struct {
	hosts    map[string]bool
	prefixes []netip.Prefix
	// Resolver looks host names up; nil: net.DefaultResolver.
	Resolver *net.Resolver
}

// ErrEgressRefused means a webhook URL names or resolves to an address it may not reach.
var ErrEgressRefused = errors.New("address not allowed for webhooks")

// ParseEgress reads the allow list: comma-separated host names, addresses and prefixes
// (hooks.intern, 127.0.0.1, 10.1.0.0/16).
func ParseEgress(list string) (*Egress, error) {
	e := &Egress{hosts: map[string]bool{}}
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		switch {
		case item == "":
		case strings.Contains(item, "/"):
			p, err := netip.ParsePrefix(item)
			if err != nil {
				return nil, fmt.Errorf("REGMO_WEBHOOK_ALLOW: %q is no prefix", item)
			}
			e.prefixes = append(e.prefixes, p.Masked())
		default:
			if a, err := netip.ParseAddr(item); err == nil {
				e.prefixes = append(e.prefixes, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
				continue
			}
			e.hosts[strings.ToLower(strings.TrimSuffix(item, "."))] = true
		}
	}
	return e, nil
}

// shared is 100.64.0.0/10 (RFC 6598), which netip does not count as private.
var shared = netip.MustParsePrefix("100.64.0.0/10")

func internal(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsPrivate() ||
		a.IsUnspecified() || a.IsMulticast() || a.IsInterfaceLocalMulticast() || shared.Contains(a)
}

// allowed reports whether a connection for the host may go to the address.
func (e *Egress) allowed(host string, a netip.Addr) bool {
	a = a.Unmap()
	if !internal(a) || e.hosts[strings.ToLower(strings.TrimSuffix(host, "."))] {
		return true
	}
	for _, p := range e.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// named reports whether the allow list names the host itself; such a host may also be
// reached without TLS (a receiver in the data centre, a test).
func (e *Egress) named(host string) bool {
	if e.hosts[strings.ToLower(strings.TrimSuffix(host, "."))] {
		return true
	}
	if a, err := netip.ParseAddr(host); err == nil {
		for _, p := range e.prefixes {
			if p.Contains(a.Unmap()) {
				return true
			}
		}
	}
	return false
}

// CheckURL is the check at registration: an absolute https URL (http only for a host the
// allow list names) without user information, whose host resolves only to allowed addresses.
// The message is for people: it goes into the 422 problem.
func (e *Egress) CheckURL(ctx context.Context, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return fmt.Errorf("must be an absolute http(s) URL")
	}
	host := u.Hostname()
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return fmt.Errorf("must use https")
	case u.Scheme == "http" && !e.named(host):
		return fmt.Errorf("must use https (http only for a host REGMO_WEBHOOK_ALLOW names)")
	case u.User != nil:
		return fmt.Errorf("must not carry user information; the signature authenticates regmo")
	case u.Fragment != "":
		return fmt.Errorf("must not have a fragment")
	}
	addrs, err := e.lookup(ctx, host)
	if err != nil {
		return fmt.Errorf("host %s cannot be resolved", host)
	}
	for _, a := range addrs {
		if !e.allowed(host, a) {
			return fmt.Errorf("host %s resolves to %s, %w (loopback, link-local or private; REGMO_WEBHOOK_ALLOW can name it)", host, a, ErrEgressRefused)
		}
	}
	return nil
}

func (e *Egress) lookup(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a}, nil
	}
	r := e.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err == nil && len(addrs) == 0 {
		err = fmt.Errorf("no address for %s", host)
	}
	return addrs, err
}

// Dialer returns the dialer of a delivery to host. Its Control sees the address actually
// dialed, after resolution, so a name that resolved to a public address at registration and
// to 127.0.0.1 now (DNS rebinding) is refused at connect time.
func (e *Egress) Dialer(host string) *net.Dialer {
	return &net.Dialer{
		Resolver: e.Resolver,
		Control: func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("webhook: dial %s: %w", address, ErrEgressRefused)
			}
			if !e.allowed(host, ap.Addr()) {
				return fmt.Errorf("webhook: dial %s for %s: %w", ap.Addr(), host, ErrEgressRefused)
			}
			return nil
		},
	}
}
