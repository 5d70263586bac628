package outbound_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/peregrine-scoring/peregrine/domain/outbound"
)

func TestCheck(t *testing.T) {
	strict, open := outbound.Policy{}, outbound.Policy{AllowPrivate: true}
	for _, tc := range []struct {
		s            outbound.Service
		url          string
		strict, open bool
	}{
		{outbound.Braze, "https://rest.fra-01.braze.eu", true, true},
		{outbound.Braze, "https://rest.iad-05.braze.com/users/export/ids", true, true},
		{outbound.Braze, "https://REST.US-10.BRAZE.COM.", true, true},
		{outbound.Braze, "http://rest.fra-01.braze.eu", false, true},
		{outbound.Braze, "https://rest.fra-01.braze.eu:8443", false, true},
		{outbound.Braze, "https://evil.example", false, true},
		{outbound.Braze, "https://rest.fra-01.braze.eu.evil.example", false, true},
		{outbound.Braze, "https://braze.eu", false, true},
		{outbound.Braze, "http://127.0.0.1:9999", false, true},
		{outbound.Braze, "https://127.0.0.1", false, true},
		{outbound.Braze, "https://[::1]", false, true},
		{outbound.Braze, "https://localhost", false, true},
		{outbound.Braze, "https://169.254.169.254/latest/meta-data", false, true},
		{outbound.Braze, "ftp://rest.fra-01.braze.eu", false, false},
		{outbound.Salesforce, "https://login.salesforce.com", true, true},
		{outbound.Salesforce, "https://test.salesforce.com", true, true},
		{outbound.Salesforce, "https://acme.my.salesforce.com", true, true},
		{outbound.Salesforce, "https://acme--uat.sandbox.my.salesforce.com", true, true},
		{outbound.Salesforce, "https://acme.lightning.force.com", true, true},
		{outbound.Salesforce, "https://salesforce.com.evil.example", false, true},
		{outbound.Salesforce, "https://evilsalesforce.com", false, true},
		{outbound.Salesforce, "http://login.salesforce.com", false, true},
		{outbound.Salesforce, "http://127.0.0.1:8080", false, true},
		{outbound.Public, "https://hooks.example.com/x", true, true},
		{outbound.Public, "https://10.0.0.8/x", false, true},
		{outbound.Public, "not a url", false, false},
	} {
		if err := strict.Check(tc.s, tc.url); (err == nil) != tc.strict {
			t.Errorf("default policy, %s %q: %v", tc.s.Name, tc.url, err)
		} else if err != nil && !outbound.IsRefused(err) {
			t.Errorf("%q: not a refusal: %v", tc.url, err)
		}
		if err := open.Check(tc.s, tc.url); (err == nil) != tc.open {
			t.Errorf("private hosts allowed, %s %q: %v", tc.s.Name, tc.url, err)
		}
	}
	err := strict.Check(outbound.Braze, "https://evil.example")
	if !strings.Contains(err.Error(), "rest.fra-01.braze.eu") || !strings.Contains(err.Error(), "PEREGRINE_ALLOW_PRIVATE_HOSTS") {
		t.Errorf("the refusal does not say what is accepted and how to allow more: %v", err)
	}
}

func TestIsPublic(t *testing.T) {
	for addr, public := range map[string]bool{
		"8.8.8.8": true, "151.101.1.69": true, "2606:4700::6810:84e5": true,
		"127.0.0.1": false, "127.8.9.10": false, "10.1.2.3": false, "172.16.5.4": false, "192.168.1.1": false,
		"169.254.169.254": false, "0.0.0.0": false, "100.64.0.1": false, "::1": false, "fe80::1": false, "fd00::1": false,
		"::ffff:127.0.0.1": false, "::ffff:10.0.0.1": false, "224.0.0.1": false, "64:ff9b::a00:1": false, "198.18.0.1": false,
	} {
		if got := outbound.IsPublic(netip.MustParseAddr(addr)); got != public {
			t.Errorf("IsPublic(%s) = %v", addr, got)
		}
	}
}

// countingServer counts the connections a test server receives.
func countingServer(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(200) }))
	srv.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &conns
}

// TestClientRefusesBeforeConnecting: a refused URL never reaches the listener; with private
// hosts allowed the same call goes through.
func TestClientRefusesBeforeConnecting(t *testing.T) {
	srv, conns := countingServer(t)
	_, err := outbound.Policy{}.Client(outbound.Braze, 5*time.Second).Get(srv.URL + "/users/export/ids")
	if !outbound.IsRefused(err) || conns.Load() != 0 {
		t.Fatalf("default policy: err %v, %d connections", err, conns.Load())
	}
	res, err := outbound.Policy{AllowPrivate: true}.Client(outbound.Braze, 5*time.Second).Get(srv.URL)
	if err != nil || res.StatusCode != 200 || conns.Load() != 1 {
		t.Fatalf("private hosts allowed: %v, %d connections", err, conns.Load())
	}
	res.Body.Close()
}

// TestRedirectToInternalIsRefused: an allowed call cannot be redirected elsewhere.
func TestRedirectToInternalIsRefused(t *testing.T) {
	target, conns := countingServer(t)
	redirector := httptest.NewServer(http.RedirectHandler(target.URL+"/secret", http.StatusFound))
	defer redirector.Close()
	// The redirector stands for an allowed vendor host; where it redirects is checked again,
	// and refused under the default policy.
	c := outbound.Policy{}.Client(outbound.Braze, 5*time.Second)
	c.Transport = policyTransport(outbound.Braze, redirector.URL)
	_, err := c.Get(redirector.URL)
	if !outbound.IsRefused(err) || conns.Load() != 0 {
		t.Fatalf("redirect followed: %v, %d connections", err, conns.Load())
	}
}

// policyTransport lets requests to first through unchecked, then checks with the default
// policy: as if first were an allowed vendor host.
func policyTransport(s outbound.Service, first string) http.RoundTripper {
	strict := outbound.Policy{}.Client(s, 5*time.Second).Transport
	plain := http.DefaultTransport
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if strings.HasPrefix(r.URL.String(), first) {
			return plain.RoundTrip(r)
		}
		return strict.RoundTrip(r)
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestNameResolvingInternallyIsRefused: a vendor-looking name whose DNS answer is an internal
// address (DNS rebinding) is refused at dial time, without a connection.
func TestNameResolvingInternallyIsRefused(t *testing.T) {
	srv, _ := countingServer(t)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	resolver := lyingResolver(t, netip.MustParseAddr("127.0.0.1"))
	// The https port check would refuse first; use a Service that accepts the name and any port.
	lenient := outbound.Service{Name: "test", Hosts: func(h string) bool { return h == "rest.fra-01.braze.eu" }}
	c := outbound.Policy{Resolver: resolver}.Client(lenient, 5*time.Second)
	_, err := c.Get("https://rest.fra-01.braze.eu/")
	var refused *outbound.RefusedError
	if !errors.As(err, &refused) || !strings.Contains(err.Error(), "internal address") {
		t.Fatalf("a name resolving to 127.0.0.1 was not refused at dial time: %v", err)
	}
	// Without the policy the same name connects (to the test server's port, through the lie).
	d := &net.Dialer{Resolver: resolver}
	conn, err := d.DialContext(context.Background(), "tcp", net.JoinHostPort("rest.fra-01.braze.eu", port))
	if err != nil {
		t.Fatalf("the lying resolver does not work, the test proves nothing: %v", err)
	}
	conn.Close()
}

// lyingResolver answers every A query with addr, from a DNS server on a loopback UDP port.
func lyingResolver(t *testing.T, addr netip.Addr) *net.Resolver {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			var p dnsmessage.Parser
			h, err := p.Start(buf[:n])
			if err != nil {
				continue
			}
			q, err := p.Question()
			if err != nil {
				continue
			}
			b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true})
			b.EnableCompression()
			b.StartQuestions()
			b.Question(q)
			b.StartAnswers()
			if q.Type == dnsmessage.TypeA {
				b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}, dnsmessage.AResource{A: addr.As4()})
			}
			msg, _ := b.Finish()
			pc.WriteTo(msg, from)
		}
	}()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "udp", pc.LocalAddr().String())
	}}
}
