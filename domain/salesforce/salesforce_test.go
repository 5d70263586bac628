package salesforce_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/peregrine-scoring/peregrine/domain/outbound"
	"github.com/peregrine-scoring/peregrine/domain/salesforce"
	"github.com/peregrine-scoring/peregrine/domain/salesforce/salesforcetest"
)

const callback = "http://127.0.0.1:9/salesforce/oauth2/callback"

func newApp(fake *salesforcetest.Server) salesforce.App {
	fake.Lock(func(s *salesforcetest.Server) { s.RedirectURIs = []string{callback} })
	return salesforce.App{LoginHost: fake.URL, ClientID: fake.ClientID, ClientSecret: fake.ClientSecret, RedirectURI: callback}
}

func approve(t *testing.T, authorizeURL, decision string) url.Values {
	t.Helper()
	back := salesforcetest.Approve(t, authorizeURL, decision == "allow")
	return back
}

func TestWebServerFlowWithPKCE(t *testing.T) {
	ctx := context.Background()
	fake := salesforcetest.New(t)
	app := newApp(fake)
	c := salesforce.NewClient()

	verifier, challenge := salesforce.NewPKCE()
	back := approve(t, app.AuthorizeURL("state-1", challenge), "allow")
	if back.Get("state") != "state-1" || back.Get("code") == "" {
		t.Fatalf("callback %v", back)
	}
	// A wrong verifier is refused; the code is then spent.
	_, err := c.ExchangeCode(ctx, app, back.Get("code"), "not-the-verifier")
	var oe *salesforce.OAuthError
	if !errors.As(err, &oe) || oe.Code != "invalid_request" {
		t.Fatalf("wrong verifier: %v", err)
	}
	back = approve(t, app.AuthorizeURL("state-2", challenge), "allow")
	tok, err := c.ExchangeCode(ctx, app, back.Get("code"), verifier)
	if err != nil || tok.RefreshToken == "" || tok.InstanceURL != fake.URL {
		t.Fatalf("exchange: %+v %v", tok, err)
	}
	if _, err := c.ExchangeCode(ctx, app, back.Get("code"), verifier); !errors.As(err, &oe) || oe.Description != "expired authorization code" {
		t.Fatalf("code reused: %v", err)
	}
	id, err := c.Identity(ctx, tok)
	if err != nil || id.Username != "integration@acme.example" || id.OrgID == "" {
		t.Fatalf("identity %+v %v", id, err)
	}

	// Denied: the callback carries access_denied.
	if denied := approve(t, app.AuthorizeURL("state-3", challenge), "deny"); denied.Get("error") != "access_denied" {
		t.Fatalf("deny: %v", denied)
	}

	// A session refreshes once on 401 and keeps the new token.
	var saved []salesforce.Token
	var usage salesforce.Usage
	s := salesforce.NewSession(c, app, salesforce.DefaultAPIVersion, tok, tok.RefreshToken)
	s.OnToken = func(t salesforce.Token) { saved = append(saved, t) }
	s.OnUsage = func(u salesforce.Usage) { usage = u }
	fake.ExpireAccessTokens()
	d, err := s.DescribeObject(ctx, "Lead")
	if err != nil || len(saved) != 1 || saved[0].InstanceURL != fake.URL {
		t.Fatalf("describe after expiry: %v, %d tokens saved", err, len(saved))
	}
	if f, ok := d.Field("email"); !ok || !f.IDLookup || f.Type != "email" {
		t.Fatalf("describe Email: %+v", f)
	}
	if usage.Max != 15000 || usage.Used == 0 {
		t.Fatalf("usage %+v", usage)
	}

	// Field-level security: hidden fields vanish, read-only ones cannot be written.
	fake.AddField("Lead", salesforcetest.FieldSpec{Name: "Peregrine_Score__c", Type: "double", Custom: true, Hidden: true})
	fake.AddField("Lead", salesforcetest.FieldSpec{Name: "Peregrine_URL__c", Type: "url", Length: 255, Custom: true, ReadOnly: true})
	d, _ = s.DescribeObject(ctx, "Lead")
	if _, ok := d.Field("Peregrine_Score__c"); ok {
		t.Fatal("a hidden field is described")
	}
	if f, _ := d.Field("Peregrine_URL__c"); f.Updateable {
		t.Fatal("a read-only field is updateable")
	}
	if _, err := s.DescribeObject(ctx, "Nope__c"); salesforce.Explain(err).Code != "not_found" {
		t.Fatalf("unknown object: %v", err)
	}

	// Revoking the refresh token: a refresh now fails with the documented error and the
	// status says to reconnect.
	if err := c.Revoke(ctx, app.LoginHost, tok.RefreshToken); err != nil {
		t.Fatal(err)
	}
	_, err = c.Refresh(ctx, app, tok.RefreshToken)
	if p := salesforce.Explain(err); p.Code != "refresh_revoked" || !p.Reconnect {
		t.Fatalf("refresh after revoke: %v → %+v", err, p)
	}
	if err := c.Revoke(ctx, app.LoginHost, tok.RefreshToken); !errors.As(err, &oe) || oe.Code != "invalid_token" {
		t.Fatalf("second revoke: %v", err)
	}
}

func TestOAuthAndAPIErrorsExplained(t *testing.T) {
	ctx := context.Background()
	fake := salesforcetest.New(t)
	app := newApp(fake)
	c := salesforce.NewClient()
	u := fake.Users[0]

	tok, err := c.PasswordLogin(ctx, app, u.Username, u.Password, u.SecurityToken)
	if err != nil || tok.RefreshToken != "" {
		t.Fatalf("password flow: %+v %v", tok, err)
	}
	fake.ChangePassword("A-new-password-2")
	_, err = c.PasswordLogin(ctx, app, u.Username, "A-new-password-2", u.SecurityToken)
	if p := salesforce.Explain(err); p.Code != "auth_failure" || !strings.Contains(p.Cause, "security token") {
		t.Fatalf("after a password reset: %v → %+v", err, p)
	}
	bad := app
	bad.ClientID = "wrong"
	if _, err := c.PasswordLogin(ctx, bad, u.Username, "x", ""); salesforce.Explain(err).Code != "invalid_client_id" {
		t.Fatalf("bad consumer key: %v", err)
	}
	bad = app
	bad.ClientSecret = "wrong"
	if _, err := c.PasswordLogin(ctx, bad, u.Username, "x", ""); salesforce.Explain(err).Code != "invalid_client" {
		t.Fatalf("bad secret: %v", err)
	}

	fake.Lock(func(s *salesforcetest.Server) { s.APIDisabled = true })
	s := salesforce.NewSession(c, app, salesforce.DefaultAPIVersion, tok, "")
	_, err = s.DescribeObject(ctx, "Lead")
	if p := salesforce.Explain(err); p.Code != "api_disabled" || !strings.Contains(p.Fix, "Enterprise") {
		t.Fatalf("API disabled: %v → %+v", err, p)
	}
	fake.Lock(func(s *salesforcetest.Server) { s.APIDisabled, s.Used, s.DailyMax = false, 100, 100 })
	_, err = s.DescribeObject(ctx, "Lead")
	if p := salesforce.Explain(err); p.Code != "api_limit" || !p.Pause {
		t.Fatalf("limit: %v → %+v", err, p)
	}
	// Without a refresh token a 401 is final.
	fake.Lock(func(s *salesforcetest.Server) { s.DailyMax = 1000 })
	fake.ExpireAccessTokens()
	if _, err = s.DescribeObject(ctx, "Lead"); salesforce.Explain(err).Code != "session" {
		t.Fatalf("expired session: %v", err)
	}
	// Retired and nonsense API versions.
	s.APIVersion = "v20.0"
	if _, err := s.Do(ctx, http.MethodGet, "/limits", nil, nil); err == nil {
		t.Fatal("retired version accepted")
	}
}

func TestLimitInfoAndLoginHosts(t *testing.T) {
	for h, want := range map[string]salesforce.Usage{
		"api-usage=51/100000":                                   {51, 100000},
		"api-usage=10018/100000; api-bursts=1/750":              {10018, 100000},
		"per-app-api-usage=2/250(appName=x); api-usage=7/15000": {7, 15000},
	} {
		if got, ok := salesforce.ParseLimitInfo(h); !ok || got != want {
			t.Errorf("%q → %+v", h, got)
		}
	}
	if _, ok := salesforce.ParseLimitInfo("nothing"); ok {
		t.Error("parsed nothing")
	}
	for raw, ok := range map[string]bool{
		"https://login.salesforce.com": true, "https://acme.my.salesforce.com/": true, "http://127.0.0.1:8080": false,
		"http://acme.my.salesforce.com": false, "ftp://x": false, "login.salesforce.com": false, "https://x/path": false,
		"https://evil.example": false,
	} {
		if _, err := salesforce.CheckLoginHost(raw, outbound.Policy{}); (err == nil) != ok {
			t.Errorf("%s: %v", raw, err)
		}
	}
	if _, err := salesforce.CheckLoginHost("http://127.0.0.1:8080", outbound.Policy{AllowPrivate: true}); err != nil {
		t.Errorf("a loopback fake refused with private hosts allowed: %v", err)
	}
}
