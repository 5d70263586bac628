// Package salesforce talks to Salesforce: OAuth 2.0 (web server flow with PKCE, refresh,
// the legacy username-password flow, revocation), the identity URL, and the REST API calls
// the sync needs. It follows shared/docs/salesforce.md; salesforcetest is a strict fake.
package salesforce

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/jsonsafe"
	"github.com/peregrine-scoring/peregrine/domain/outbound"
)

// Login hosts.
const (
	ProductionHost = "https://login.salesforce.com"
	SandboxHost    = "https://test.salesforce.com"
)

// DefaultAPIVersion is the REST API version used unless the workspace picks another.
const DefaultAPIVersion = "v62.0"

// Scopes asks for API access, the identity, and a refresh token that works offline.
const Scopes = "api id refresh_token offline_access"

// App is a customer's connected app on a login host.
type App struct {
	LoginHost    string // https://login.salesforce.com, https://test.salesforce.com or a My Domain URL
	ClientID     string // consumer key
	ClientSecret string // consumer secret
	RedirectURI  string // <public URL>/salesforce/oauth2/callback
}

// Token is a token endpoint answer. Salesforce sends no expiry: an access token lasts the
// org's session timeout, and a 401 INVALID_SESSION_ID says it ended.
type Token struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	InstanceURL  string `json:"instance_url"`
	ID           string `json:"id"` // identity URL: <login host>/id/<org id>/<user id>
	TokenType    string `json:"token_type"`
	IssuedAt     string `json:"issued_at"` // epoch milliseconds, as a string
	Scope        string `json:"scope"`
	Signature    string `json:"signature"`
}

// OAuthError is an {"error", "error_description"} answer of the token or revoke endpoint.
type OAuthError struct {
	Status      int
	Code        string `json:"error"`
	Description string `json:"error_description"`
}

func (e *OAuthError) Error() string {
	return fmt.Sprintf("salesforce oauth: %s: %s (HTTP %d)", e.Code, e.Description, e.Status)
}

// CheckLoginHost validates a login host: a web address with a host and no path, that the
// outbound policy lets Peregrine call (Salesforce's hosts over https, unless the operator
// allows other hosts). It returns the host as scheme://host.
func CheckLoginHost(raw string, policy outbound.Policy) (string, error) {
	raw = strings.TrimRight(strings.TrimSpace(raw), "/")
	u, err := url.Parse(raw)
	if raw == "" || err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/") {
		return raw, errors.New("Enter the login address, like https://login.salesforce.com or https://yourcompany.my.salesforce.com.")
	}
	if err := policy.Check(outbound.Salesforce, raw); err != nil {
		return raw, err
	}
	return u.Scheme + "://" + u.Host, nil
}

// NewPKCE makes a code verifier and its S256 challenge.
func NewPKCE() (verifier, challenge string) {
	b := make([]byte, 48)
	if _, err := rand.Read(b); err != nil {
		panic("salesforce: no randomness: " + err.Error())
	}
	verifier = base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// AuthorizeURL is where the browser goes to approve the app.
func (a App) AuthorizeURL(state, challenge string) string {
	q := url.Values{
		"response_type":  {"code"},
		"client_id":      {a.ClientID},
		"redirect_uri":   {a.RedirectURI},
		"scope":          {Scopes},
		"state":          {state},
		"code_challenge": {challenge},
		"prompt":         {"login consent"},
	}
	return a.LoginHost + "/services/oauth2/authorize?" + q.Encode()
}

// Client makes HTTP calls to Salesforce.
type Client struct {
	HTTP *http.Client
}

// NewClient returns a client with a 30-second timeout.
func NewClient() *Client { return &Client{HTTP: &http.Client{Timeout: 30 * time.Second}} }

// ExchangeCode trades an authorization code (and the PKCE verifier) for tokens.
func (c *Client) ExchangeCode(ctx context.Context, a App, code, verifier string) (Token, error) {
	return c.token(ctx, a.LoginHost, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {a.ClientID},
		"client_secret": {a.ClientSecret}, "redirect_uri": {a.RedirectURI}, "code_verifier": {verifier}})
}

// Refresh gets a new access token (and instance URL) with the refresh token.
func (c *Client) Refresh(ctx context.Context, a App, refreshToken string) (Token, error) {
	return c.token(ctx, a.LoginHost, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken},
		"client_id": {a.ClientID}, "client_secret": {a.ClientSecret}})
}

// PasswordLogin is the legacy username-password flow: the password is followed by the user's
// security token. It issues no refresh token, and new orgs block it.
func (c *Client) PasswordLogin(ctx context.Context, a App, username, password, securityToken string) (Token, error) {
	return c.token(ctx, a.LoginHost, url.Values{"grant_type": {"password"}, "client_id": {a.ClientID}, "client_secret": {a.ClientSecret},
		"username": {username}, "password": {password + securityToken}})
}

// call makes one request to a login or identity endpoint and reads the answer (up to 1 MiB).
// A form is posted; without one, bearer authorizes a GET.
func (c *Client) call(ctx context.Context, target string, form url.Values, bearer string) (int, []byte, error) {
	method, body := http.MethodGet, io.Reader(nil)
	if form != nil {
		method, body = http.MethodPost, strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return 0, nil, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	req.Header.Set("Accept", "application/json")
	res, err := c.HTTP.Do(req)
	if err != nil {
		return 0, nil, &NetworkError{Err: err}
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	return res.StatusCode, raw, nil
}

func (c *Client) token(ctx context.Context, host string, form url.Values) (Token, error) {
	var t Token
	status, body, err := c.call(ctx, host+"/services/oauth2/token", form, "")
	if err != nil {
		return t, err
	}
	if status != http.StatusOK {
		return t, oauthError(status, body)
	}
	if err := jsonsafe.Unmarshal(body, &t); err != nil || t.AccessToken == "" || t.InstanceURL == "" {
		return t, fmt.Errorf("salesforce: the token endpoint answered something that is not a token (HTTP %d)", status)
	}
	return t, nil
}

func oauthError(status int, body []byte) error {
	e := &OAuthError{Status: status}
	if jsonsafe.Unmarshal(body, e) != nil || e.Code == "" {
		if status >= 500 {
			return &APIError{Status: status, Code: "SERVER_UNAVAILABLE", Message: "Salesforce is not available right now."}
		}
		e.Code, e.Description = "unknown_error", strings.TrimSpace(string(body))
	}
	return e
}

// Revoke invalidates a token (a refresh token takes its access tokens with it).
func (c *Client) Revoke(ctx context.Context, host, token string) error {
	status, body, err := c.call(ctx, host+"/services/oauth2/revoke", url.Values{"token": {token}}, "")
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return oauthError(status, body)
	}
	return nil
}

// Identity is who the token belongs to.
type Identity struct {
	UserID      string `json:"user_id"`
	OrgID       string `json:"organization_id"`
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
	Email       string `json:"email"`
}

// Identity reads the identity URL of a token.
func (c *Client) Identity(ctx context.Context, t Token) (Identity, error) {
	var id Identity
	status, body, err := c.call(ctx, t.ID, nil, t.AccessToken)
	if err != nil {
		return id, err
	}
	if status != http.StatusOK {
		return id, restError(status, body)
	}
	if err := jsonsafe.Unmarshal(body, &id); err != nil {
		return id, fmt.Errorf("salesforce: unreadable identity: %w", err)
	}
	return id, nil
}

// NetworkError is a call that got no answer.
type NetworkError struct{ Err error }

func (e *NetworkError) Error() string { return "salesforce: no answer: " + e.Err.Error() }
func (e *NetworkError) Unwrap() error { return e.Err }
