package tracker

import (
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"
)

// Site is what the collect endpoint needs to know of a tracked site.
type Site struct {
	WorkspaceID    int64
	ID             int64
	Key            string
	Origins        []string
	RequireConsent bool
	HonourDNT      bool
	ExcludedIPs    []netip.Prefix
	Paused         bool // tracking is switched off: hits are refused
}

// NormalizeOrigin checks an allowed origin typed by a person ("https://www.acme.com") and
// returns it in the form browsers send in the Origin header.
func NormalizeOrigin(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return "", fmt.Errorf("%q is not an origin: write it as https://www.example.com", raw)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%q has a path: an origin is only https:// and the host, e.g. https://www.example.com", raw)
	}
	if strings.Contains(u.Host, "*") {
		return "", fmt.Errorf("%q: list each host; wildcards are not accepted", raw)
	}
	host := strings.ToLower(u.Host)
	if port := u.Port(); (u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80") {
		host = strings.ToLower(u.Hostname())
	}
	return u.Scheme + "://" + host, nil
}

// ParseExcludedIPs reads IP addresses and ranges (CIDR), one per entry.
func ParseExcludedIPs(entries []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		if p, err := netip.ParsePrefix(e); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(e)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an IP address nor a range such as 203.0.113.0/24", e)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// Request is what the endpoint knows of a collect request beside the hit.
type Request struct {
	Origin    string
	UserAgent string
	IP        string
	DNT       bool // DNT: 1
	GPC       bool // Sec-GPC: 1
	Prefetch  bool // Sec-Purpose or Purpose: prefetch / prerender
}

// Reasons a hit is ignored (acknowledged, counted, not stored).
const (
	IgnoredPrefetch   = "prefetch or prerender"
	IgnoredBot        = "known crawler or headless browser"
	IgnoredDNT        = "Do Not Track or Global Privacy Control"
	IgnoredExcludedIP = "excluded IP address"
	IgnoredNoConsent  = "no consent on a site that requires it"
)

// AllowsOrigin tells whether the Origin header names one of the site's origins.
func (s Site) AllowsOrigin(origin string) bool {
	o, err := NormalizeOrigin(origin)
	return err == nil && slices.Contains(s.Origins, o)
}

// Ignore says why a request from an allowed origin is not stored, or "" to store it.
func (s Site) Ignore(r Request, h Hit) string {
	switch {
	case r.Prefetch:
		return IgnoredPrefetch
	case IsCrawler(r.UserAgent):
		return IgnoredBot
	case s.HonourDNT && (r.DNT || r.GPC):
		return IgnoredDNT
	case s.excluded(r.IP):
		return IgnoredExcludedIP
	case s.RequireConsent && !h.Consent:
		return IgnoredNoConsent
	}
	return ""
}

func (s Site) excluded(ip string) bool {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range s.ExcludedIPs {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// IsPrefetch reads the Sec-Purpose / Purpose header.
func IsPrefetch(purpose string) bool {
	p := strings.ToLower(purpose)
	return strings.Contains(p, "prefetch") || strings.Contains(p, "prerender")
}
