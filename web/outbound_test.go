package web_test

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/peregrine-scoring/peregrine/domain/events/currentstest"
	"github.com/peregrine-scoring/peregrine/domain/ingest"
	"github.com/peregrine-scoring/peregrine/domain/model"
)

// tcpCounter listens on loopback and counts every connection it is offered.
func tcpCounter(t *testing.T) (string, func() int64) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var n atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			c.Close()
		}
	}()
	return ln.Addr().String(), n.Load
}

const optIn = "PEREGRINE_ALLOW_PRIVATE_HOSTS"

// TestOutboundHostsAreRefusedWithoutConnecting: under the default policy, Braze and
// Salesforce hosts that are not the vendors' — this machine, an IP address, another site —
// are refused with a message on the form, and endpoints stored under a laxer setting are
// refused when used (test, lookups, OAuth start, password sign-in). The listener standing
// for an internal service sees no connection. With the operator setting on, the same
// addresses are accepted and called.
func TestOutboundHostsAreRefusedWithoutConnecting(t *testing.T) {
	internal, connections := tcpCounter(t)
	s, admin, acme, _, _ := acmeAndGlobex(t)
	ctx := context.Background()

	for _, endpoint := range []string{"http://" + internal, "https://" + internal, "https://metadata.internal.example", "http://rest.fra-01.braze.eu"} {
		r := admin.post("/integrations/braze", url.Values{"api_key": {"braze-key"}, "instance": {"other"}, "other_url": {endpoint}})
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, optIn) {
			t.Fatalf("Braze endpoint %s: %d, or no explanation", endpoint, r.status)
		}
	}
	for _, host := range []string{"http://" + internal, "https://" + internal, "https://login.salesforce.com.evil.example"} {
		r := admin.post("/integrations/salesforce", url.Values{"host": {"mydomain"}, "my_domain": {host}, "api_version": {"v62.0"},
			"consumer_key": {"key"}, "consumer_secret": {"secret"}})
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, optIn) {
			t.Fatalf("Salesforce login host %s: %d, or no explanation", host, r.status)
		}
	}

	// Stored while the operator allowed other hosts, then used under the default policy.
	sealed, _ := s.Secrets.Seal([]byte("braze-key"), ingest.BrazeKeyContext(acme.ID))
	if err := s.Store.SaveBrazeConnection(ctx, model.BrazeConnection{WorkspaceID: acme.ID, RESTEndpoint: "http://" + internal,
		APIKeyEncrypted: sealed, APIKeyHint: "-key"}); err != nil {
		t.Fatal(err)
	}
	admin.post("/integrations/braze/test", url.Values{})
	if page := admin.get("/integrations/braze").body; !strings.Contains(page, optIn) {
		t.Fatal("the Braze test does not say the endpoint is refused")
	}
	token, _, _ := ingest.CreateToken(ctx, s.Store, acme.ID, model.TokenKindCurrents, "Braze", nil)
	postCurrents(t, s.URL, token, currentstest.Read("mixed-batch.json"), nil) // people known only by Braze id: lookups
	waitFor(t, "the lookup worker to meet the refusal", func() bool {
		c, err := s.Store.BrazeConnection(ctx, acme.ID)
		return err == nil && strings.Contains(c.LookupError, optIn)
	})
	if err := s.Pipeline.Salesforce.Service.SaveApp(ctx, acme.ID, "http://"+internal, "v62.0", "key", "secret"); err != nil {
		t.Fatal(err)
	}
	r := admin.get("/integrations/salesforce/connect")
	if loc := r.header.Get("Location"); strings.Contains(loc, internal) || !strings.Contains(admin.get("/integrations/salesforce").body, optIn) {
		t.Fatalf("the OAuth start sent the browser to %q", loc)
	}
	r = admin.post("/integrations/salesforce/password", url.Values{"username": {"int@acme.example"}, "password": {"pw"}, "security_token": {"t"}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, optIn) {
		t.Fatalf("password sign-in to a refused host: %d", r.status)
	}
	if n := connections(); n != 0 {
		t.Fatalf("the internal listener saw %d connections", n)
	}

	// The operator's setting lets the same addresses through, and they are called.
	open := newServer(t, map[string]string{"PEREGRINE_OPEN_SIGNUP": "true", optIn: "true"})
	ada := open.browser(t)
	signUp(t, ada, "ada@acme.example")
	if r := ada.post("/integrations/braze", url.Values{"api_key": {"braze-key"}, "instance": {"other"}, "other_url": {"http://" + internal}}); r.status != http.StatusSeeOther {
		t.Fatalf("with private hosts allowed, the Braze endpoint is refused: %d", r.status)
	}
	waitFor(t, "the saved endpoint to be called", func() bool { return connections() > 0 })
	if r := ada.post("/integrations/salesforce", url.Values{"host": {"mydomain"}, "my_domain": {"http://" + internal}, "api_version": {"v62.0"},
		"consumer_key": {"key"}, "consumer_secret": {"secret"}}); r.status != http.StatusSeeOther {
		t.Fatalf("with private hosts allowed, the Salesforce login host is refused: %d", r.status)
	}
}
