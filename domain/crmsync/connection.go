// Package crmsync keeps a workspace connected to Salesforce: the stored connected app and
// tokens (encrypted), sign-in by OAuth or the legacy password flow, sessions that persist
// refreshed tokens and API usage, and the connection's health in plain words.
package crmsync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/outbound"
	"github.com/peregrine-scoring/peregrine/domain/salesforce"
	"github.com/peregrine-scoring/peregrine/domain/secrets"
	"github.com/peregrine-scoring/peregrine/domain/store"
)

// Service manages Salesforce connections.
type Service struct {
	Store   *store.Store
	Secrets *secrets.Box
	Client  *salesforce.Client
	// Outbound is the policy Client follows; the login host is checked against it on save.
	Outbound outbound.Policy
	Now      func() time.Time
	Log      *slog.Logger // nil: slog's default
}

func (s *Service) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}

// NewService returns a service whose Salesforce calls follow the outbound policy.
func NewService(st *store.Store, box *secrets.Box, policy outbound.Policy) *Service {
	return &Service{Store: st, Secrets: box, Client: &salesforce.Client{HTTP: policy.Client(outbound.Salesforce, 30*time.Second)},
		Outbound: policy, Now: time.Now}
}

// ErrNotConnected is returned when the workspace has no usable Salesforce sign-in.
var ErrNotConnected = errors.New("crmsync: Salesforce is not connected")

func secretContext(kind string, workspaceID int64) string {
	return fmt.Sprintf("salesforce:%s:%d", kind, workspaceID)
}

func (s *Service) seal(kind string, workspaceID int64, v string) ([]byte, error) {
	if v == "" {
		return nil, nil
	}
	return s.Secrets.Seal([]byte(v), secretContext(kind, workspaceID))
}

func (s *Service) open(kind string, workspaceID int64, b []byte) (string, error) {
	if len(b) == 0 {
		return "", nil
	}
	v, err := s.Secrets.Open(b, secretContext(kind, workspaceID))
	return string(v), err
}

// SaveApp stores the connected app; an empty secret keeps the stored one.
func (s *Service) SaveApp(ctx context.Context, workspaceID int64, host, version, key, secret string) error {
	var enc []byte
	if secret != "" {
		var err error
		if enc, err = s.seal("secret", workspaceID, secret); err != nil {
			return err
		}
	}
	return s.Store.SaveSalesforceApp(ctx, workspaceID, host, version, key, enc)
}

// App returns the workspace's connected app with its secret, for redirectURI.
func (s *Service) App(conn model.SalesforceConnection, redirectURI string) (salesforce.App, error) {
	secret, err := s.open("secret", conn.WorkspaceID, conn.ConsumerSecretEnc)
	if err != nil {
		return salesforce.App{}, err
	}
	return salesforce.App{LoginHost: conn.LoginHost, ClientID: conn.ConsumerKey, ClientSecret: secret, RedirectURI: redirectURI}, nil
}

// Complete finishes the web server flow: exchange the code, read who signed in, store it all.
func (s *Service) Complete(ctx context.Context, workspaceID int64, redirectURI, code, verifier string) (salesforce.Identity, error) {
	conn, err := s.Store.SalesforceConnection(ctx, workspaceID)
	if err != nil {
		return salesforce.Identity{}, err
	}
	app, err := s.App(conn, redirectURI)
	if err != nil {
		return salesforce.Identity{}, err
	}
	tok, err := s.Client.ExchangeCode(ctx, app, code, verifier)
	if err != nil {
		return salesforce.Identity{}, err
	}
	return s.signedIn(ctx, workspaceID, model.SalesforceOAuth, tok, "", "")
}

// PasswordConnect signs in with the legacy username-password flow.
func (s *Service) PasswordConnect(ctx context.Context, workspaceID int64, username, password, securityToken string) (salesforce.Identity, error) {
	conn, err := s.Store.SalesforceConnection(ctx, workspaceID)
	if err != nil {
		return salesforce.Identity{}, err
	}
	app, err := s.App(conn, "")
	if err != nil {
		return salesforce.Identity{}, err
	}
	tok, err := s.Client.PasswordLogin(ctx, app, username, password, securityToken)
	if err != nil {
		return salesforce.Identity{}, err
	}
	return s.signedIn(ctx, workspaceID, model.SalesforcePassword, tok, username, password+securityToken)
}

func (s *Service) signedIn(ctx context.Context, workspaceID int64, method string, tok salesforce.Token, username, passwordAndToken string) (salesforce.Identity, error) {
	id, err := s.Client.Identity(ctx, tok)
	if err != nil {
		return id, err
	}
	previous, _ := s.Store.SalesforceConnection(ctx, workspaceID)
	t := model.SalesforceTokens{Method: method, PasswordUsername: username, InstanceURL: tok.InstanceURL, IdentityURL: tok.ID,
		Username: id.Username, DisplayName: id.DisplayName, OrgID: id.OrgID}
	if t.AccessTokenEnc, err = s.seal("access", workspaceID, tok.AccessToken); err != nil {
		return id, err
	}
	if t.RefreshTokenEnc, err = s.seal("refresh", workspaceID, tok.RefreshToken); err != nil {
		return id, err
	}
	if t.PasswordEnc, err = s.seal("password", workspaceID, passwordAndToken); err != nil {
		return id, err
	}
	if err := s.Store.SaveSalesforceTokens(ctx, workspaceID, t); err != nil {
		return id, err
	}
	s.revokePrevious(ctx, workspaceID, previous, tok.RefreshToken)
	return id, nil
}

// revokePrevious revokes the refresh token a new sign-in replaced: each one holds one of the
// user's five approvals of the app, and a forgotten one would knock out a live one later.
func (s *Service) revokePrevious(ctx context.Context, workspaceID int64, previous model.SalesforceConnection, current string) {
	old, err := s.open("refresh", workspaceID, previous.RefreshTokenEnc)
	if err != nil || old == "" || old == current {
		return
	}
	if err := s.Client.Revoke(ctx, previous.LoginHost, old); err != nil {
		s.log().Warn("Salesforce: revoking the replaced refresh token failed", "workspace", workspaceID, "cause", salesforce.Explain(err).Cause)
	}
}

// Session opens a REST session on the stored tokens. Refreshed tokens and their instance
// URL are stored as they come; API usage is recorded.
func (s *Service) Session(ctx context.Context, workspaceID int64) (*salesforce.Session, model.SalesforceConnection, error) {
	conn, err := s.Store.SalesforceConnection(ctx, workspaceID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !conn.Connected()) {
		return nil, conn, ErrNotConnected
	}
	if err != nil {
		return nil, conn, err
	}
	app, err := s.App(conn, "")
	if err != nil {
		return nil, conn, err
	}
	access, err := s.open("access", workspaceID, conn.AccessTokenEnc)
	if err != nil {
		return nil, conn, err
	}
	refresh, err := s.open("refresh", workspaceID, conn.RefreshTokenEnc)
	if err != nil {
		return nil, conn, err
	}
	sess := salesforce.NewSession(s.Client, app, conn.APIVersion, salesforce.Token{AccessToken: access, InstanceURL: conn.InstanceURL, ID: conn.IdentityURL}, refresh)
	if conn.AuthMethod != nil && *conn.AuthMethod == model.SalesforcePassword {
		sess.Renew = func(ctx context.Context) (salesforce.Token, error) {
			password, err := s.open("password", workspaceID, conn.PasswordEnc)
			if err != nil {
				return salesforce.Token{}, err
			}
			return s.Client.PasswordLogin(ctx, app, conn.PasswordUsername, password, "") // stored with the security token
		}
	}
	sess.OnToken = func(t salesforce.Token) {
		access, err := s.seal("access", workspaceID, t.AccessToken)
		if err != nil {
			return
		}
		refresh, err := s.seal("refresh", workspaceID, t.RefreshToken) // a rotated refresh token, or nil
		if err != nil {
			return
		}
		_ = s.Store.UpdateSalesforceAccess(context.WithoutCancel(ctx), workspaceID, access, refresh, t.InstanceURL)
	}
	sess.OnUsage = func(u salesforce.Usage) {
		_ = s.Store.SetSalesforceUsage(context.WithoutCancel(ctx), workspaceID, u.Used, u.Max)
	}
	return sess, conn, nil
}

// Check makes one cheap call (the Lead describe) and records the connection's health.
func (s *Service) Check(ctx context.Context, workspaceID int64) error {
	sess, _, err := s.Session(ctx, workspaceID)
	if err != nil {
		return err
	}
	_, err = sess.DescribeObject(ctx, "Lead")
	return s.Record(ctx, workspaceID, err)
}

// Record stores the outcome of a call: healthy, or the problem in plain words (and a pause
// when the org's API allowance is spent). It returns err.
func (s *Service) Record(ctx context.Context, workspaceID int64, err error) error {
	if err == nil {
		return s.Store.ClearSalesforceProblem(ctx, workspaceID)
	}
	p := salesforce.Explain(err)
	s.log().Warn("Salesforce call failed", "workspace", workspaceID, "code", p.Code, "cause", p.Cause)
	var until *time.Time
	if p.Pause {
		// The allowance is a rolling 24 hours: look again in an hour.
		t := s.Now().Add(time.Hour)
		until = &t
	}
	if serr := s.Store.SetSalesforceProblem(ctx, workspaceID, p.Code, p.Cause, p.Fix, until); serr != nil {
		return serr
	}
	return err
}

// Disconnect revokes the refresh token (or the access token) and forgets the sign-in. A
// revocation Salesforce refuses (already revoked) does not keep the tokens.
func (s *Service) Disconnect(ctx context.Context, workspaceID int64) error {
	conn, err := s.Store.SalesforceConnection(ctx, workspaceID)
	if err != nil {
		return err
	}
	token, _ := s.open("refresh", workspaceID, conn.RefreshTokenEnc)
	if token == "" {
		token, _ = s.open("access", workspaceID, conn.AccessTokenEnc)
	}
	if token != "" {
		var oe *salesforce.OAuthError
		if err := s.Client.Revoke(ctx, conn.LoginHost, token); err != nil && !errors.As(err, &oe) {
			return err // no answer: keep the tokens so the user can try again
		}
	}
	return s.Store.DisconnectSalesforce(ctx, workspaceID)
}
