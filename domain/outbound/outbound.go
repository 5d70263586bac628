// Package outbound decides which hosts Peregrine calls out to, so a form field cannot turn the
// server into a proxy into the operator's network (server-side request forgery). Each
// integration accepts only its vendor's documented hosts over https, and no connection is
// ever made to a loopback, private, link-local or otherwise internal address — checked on the
// address actually dialled, after DNS. An operator who runs fakes, proxies or self-hosted
// endpoints turns the rules off with PEREGRINE_ALLOW_PRIVATE_HOSTS=true.
package outbound

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// Policy is the operator's choice. The zero value is the safe default.
type Policy struct {
	// AllowPrivate lets integrations call any host, over http too, including loopback and
	// private networks (--allow-private-hosts, PEREGRINE_ALLOW_PRIVATE_HOSTS).
	AllowPrivate bool
	// Resolver looks names up (nil: the system's); tests give one that lies.
	Resolver *net.Resolver
}

// Service is an integration's host rule.
type Service struct {
	Name    string
	Example string
	// Hosts tells the vendor's hosts; nil accepts any public host (webhooks).
	Hosts func(host string) bool
	// Describe says which hosts are accepted, for the message of a refusal.
	Describe string
}

var brazeHost = regexp.MustCompile(`^rest\.[a-z0-9-]+\.braze\.(com|eu)$`)

// Braze accepts the REST hosts of Braze's instances (braze.md §4: rest.<instance>.braze.com
// or .eu).
var Braze = Service{Name: "Braze", Example: "https://rest.fra-01.braze.eu",
	Hosts:    func(h string) bool { return brazeHost.MatchString(h) },
	Describe: "Braze's own REST endpoints, like https://rest.fra-01.braze.eu"}

// Salesforce accepts Salesforce's login, My Domain, sandbox and instance hosts
// (*.salesforce.com, *.force.com).
var Salesforce = Service{Name: "Salesforce", Example: "https://yourcompany.my.salesforce.com",
	Hosts: func(h string) bool {
		return h == "salesforce.com" || strings.HasSuffix(h, ".salesforce.com") || strings.HasSuffix(h, ".force.com")
	},
	Describe: "Salesforce's own hosts: login.salesforce.com, test.salesforce.com, or your My Domain (….my.salesforce.com)"}

// Slack accepts Slack's incoming-webhook host (https://hooks.slack.com/services/…).
var Slack = Service{Name: "Slack", Example: "https://hooks.slack.com/services/T000/B000/XXXX",
	Hosts:    func(h string) bool { return h == "hooks.slack.com" },
	Describe: "Slack's incoming webhooks, https://hooks.slack.com/services/…"}

// Public accepts any public https host (webhooks and similar).
var Public = Service{Name: "webhook", Example: "https://hooks.example.com/peregrine", Describe: "public https:// addresses"}

// RefusedError is a call Peregrine would not make; its message says why, for a person.
type RefusedError struct{ Message string }

func (e *RefusedError) Error() string { return e.Message }

// IsRefused reports whether err is (or wraps) a refusal of the policy.
func IsRefused(err error) bool {
	var r *RefusedError
	return errors.As(err, &r)
}

// optIn is how an operator allows other hosts; every refusal ends with it.
const optIn = "To use another host (a proxy or a test server), the operator of this Peregrine server can set PEREGRINE_ALLOW_PRIVATE_HOSTS=true."

// Check tells whether raw may be called for s, before any connection: an error with a
// message a person understands when not.
func (p Policy) Check(s Service, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return &RefusedError{fmt.Sprintf("%q is not a web address.", raw)}
	}
	if p.AllowPrivate {
		if u.Scheme != "https" && u.Scheme != "http" {
			return &RefusedError{fmt.Sprintf("%s is called over https:// (or http://), not %s.", s.Name, u.Scheme)}
		}
		return nil
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if u.Scheme != "https" {
		return &RefusedError{fmt.Sprintf("Peregrine calls %s only over https://. %s", s.Name, optIn)}
	}
	if _, err := netip.ParseAddr(host); err == nil || host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return &RefusedError{fmt.Sprintf("Peregrine calls %s by name, never at an IP address or localhost. %s", s.Name, optIn)}
	}
	if s.Hosts != nil && !s.Hosts(host) {
		return &RefusedError{fmt.Sprintf("Peregrine calls only %s; %s is not one. %s", s.Describe, host, optIn)}
	}
	if port := u.Port(); port != "" && port != "443" {
		return &RefusedError{fmt.Sprintf("Peregrine calls %s on the https port (443) only. %s", s.Name, optIn)}
	}
	return nil
}

// Client returns an HTTP client for s: every request, redirects included, is checked before
// it is sent, and unless private hosts are allowed the dialer refuses internal addresses, so
// a public name pointing at one (DNS rebinding) is refused too.
func (p Policy) Client(s Service, timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Resolver: p.Resolver}
	if !p.AllowPrivate {
		dialer.Control = refuseInternal
	}
	transport := &http.Transport{
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          20,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		ResponseHeaderTimeout: timeout,
	}
	return &http.Client{Timeout: timeout, Transport: &checked{policy: p, service: s, next: transport}}
}

// NoRedirects returns a client for s that answers a redirect with the redirect itself: a
// webhook that moved must be edited, not followed (Standard Webhooks treats 3xx as failure).
func (p Policy) NoRedirects(s Service, timeout time.Duration) *http.Client {
	c := p.Client(s, timeout)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

// checked refuses a request the policy does not allow, before the transport connects.
type checked struct {
	policy  Policy
	service Service
	next    http.RoundTripper
}

func (c *checked) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := c.policy.Check(c.service, r.URL.String()); err != nil {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, err
	}
	return c.next.RoundTrip(r)
}

// refuseInternal is the dialer's last word: the address about to be connected, after DNS.
func refuseInternal(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &RefusedError{fmt.Sprintf("Peregrine did not connect to %s: not an address it can check.", address)}
	}
	if !IsPublic(ap.Addr()) {
		return &RefusedError{fmt.Sprintf("Peregrine did not connect: the host points at an internal address (%s). %s", ap.Addr(), optIn)}
	}
	return nil
}

// IsPublic reports whether an address is on the public internet: not loopback, private,
// link-local, unspecified, multicast, CGNAT, or an IPv4 address carried in IPv6.
func IsPublic(a netip.Addr) bool {
	a = a.Unmap()
	if a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast() ||
		a.IsMulticast() || a.IsUnspecified() || !a.IsValid() {
		return false
	}
	for _, p := range internalPrefixes {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

var internalPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),      // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),  // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),   // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"),  // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),    // reserved
	netip.MustParsePrefix("64:ff9b::/96"),   // NAT64 (can reach IPv4 internals)
	netip.MustParsePrefix("64:ff9b:1::/48"), // local NAT64
	netip.MustParsePrefix("2002::/16"),      // 6to4
	netip.MustParsePrefix("2001::/32"),      // Teredo
	netip.MustParsePrefix("fc00::/7"),       // unique local (IsPrivate covers it too)
	netip.MustParsePrefix("::/128"),         // unspecified
	netip.MustParsePrefix("100::/64"),       // discard
}
