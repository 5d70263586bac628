package handlers

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/peregrine-scoring/peregrine/domain/crmsync"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/outbound"
	"github.com/peregrine-scoring/peregrine/domain/salesforce"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/views"
)

// Session keys of the OAuth round trip: the state and the PKCE verifier live in the
// encrypted session cookie, so any web process can finish the flow.
const (
	keySalesforceState    = "sf_state"
	keySalesforceVerifier = "sf_verifier"
)

var apiVersion = regexp.MustCompile(`^v\d{2,3}\.0$`)

func (h *Handlers) salesforceCallbackURL(ws model.Workspace) string {
	return h.workspaceURL(ws) + "/salesforce/oauth2/callback"
}

// ShowSalesforcePage shows Integrations › Salesforce: status, setup steps, the connected app
// and both ways to sign in.
func (h *Handlers) ShowSalesforcePage(c echo.Context) error {
	return h.renderSalesforce(c, http.StatusOK, views.SalesforceView{})
}

func (h *Handlers) renderSalesforce(c echo.Context, status int, v views.SalesforceView) error {
	id := IdentityOf(c)
	conn, err := h.Store.SalesforceConnection(c.Request().Context(), id.Workspace.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if v.Host == "" {
			v.Host, v.Version = "production", salesforce.DefaultAPIVersion
		}
	case err != nil:
		return err
	default:
		v.Saved = true
		if v.Host == "" {
			v.Version, v.ConsumerKey = conn.APIVersion, conn.ConsumerKey
			switch conn.LoginHost {
			case salesforce.ProductionHost:
				v.Host = "production"
			case salesforce.SandboxHost:
				v.Host = "sandbox"
			default:
				v.Host, v.MyDomain = "mydomain", conn.LoginHost
			}
		}
		v.Connected = conn.Connected()
		v.Legacy = conn.AuthMethod != nil && *conn.AuthMethod == model.SalesforcePassword
		v.Username, v.OrgID, v.DisplayName, v.InstanceURL = conn.Username, conn.OrgID, conn.DisplayName, conn.InstanceURL
		if conn.ConnectedAt != nil {
			v.ConnectedAt = ago(*conn.ConnectedAt)
		}
		v.ProblemCode, v.ProblemCause, v.ProblemFix = conn.ProblemCode, conn.ProblemCause, conn.ProblemFix
		if conn.ProblemAt != nil {
			v.ProblemAt = ago(*conn.ProblemAt)
		}
		if conn.PausedUntil != nil {
			v.PausedUntil = views.FormatTimeIn(conn.PausedUntil, userLocation(c))
		}
		v.Share = conn.APISharePercent
		if conn.APIUsed != nil && conn.APIMax != nil && *conn.APIMax > 0 {
			v.APIUsed, v.APIMax = *conn.APIUsed, *conn.APIMax
			v.APIPercent = v.APIUsed * 100 / v.APIMax
			v.APIBudget = v.APIMax * v.Share / 100
		}
	}
	if v.Share == 0 {
		v.Share = 50
	}
	v.CallbackURL = h.salesforceCallbackURL(id.Workspace)
	v.Scopes = salesforce.Scopes
	return Render(c, status, views.SalesforcePage(h.chrome(c, "Salesforce", "integrations"), v))
}

// SaveSalesforceApp stores the login host, API version and connected app.
func (h *Handlers) SaveSalesforceApp(c echo.Context) error {
	id := IdentityOf(c)
	ctx := c.Request().Context()
	v := views.SalesforceView{Host: c.FormValue("host"), MyDomain: strings.TrimSpace(c.FormValue("my_domain")),
		Version: strings.TrimSpace(c.FormValue("api_version")), ConsumerKey: strings.TrimSpace(c.FormValue("consumer_key")), Errors: views.FormErrors{}}
	secret := strings.TrimSpace(c.FormValue("consumer_secret"))
	var host string
	switch v.Host {
	case "production":
		host = salesforce.ProductionHost
	case "sandbox":
		host = salesforce.SandboxHost
	case "mydomain":
		var err error
		if host, err = salesforce.CheckLoginHost(v.MyDomain, h.Outbound); err != nil {
			v.Errors["my_domain"] = err.Error()
		}
	default:
		v.Errors["host"] = "Choose Production, Sandbox or your My Domain."
	}
	if !apiVersion.MatchString(v.Version) {
		v.Errors["api_version"] = "Enter an API version like v62.0."
	}
	if v.ConsumerKey == "" || len(v.ConsumerKey) > 255 || strings.ContainsAny(v.ConsumerKey, " \t\r\n") {
		v.Errors["consumer_key"] = "Paste the consumer key of your connected app (App Manager › your app › View › Consumer Key)."
	}
	_, err := h.Store.SalesforceConnection(ctx, id.Workspace.ID)
	hasSecret := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if (secret == "" && !hasSecret) || len(secret) > 255 || strings.ContainsAny(secret, " \t\r\n") {
		v.Errors["consumer_secret"] = "Paste the consumer secret shown next to the consumer key."
	}
	if len(v.Errors) > 0 {
		return h.renderSalesforce(c, http.StatusUnprocessableEntity, v)
	}
	if err := h.Salesforce.SaveApp(ctx, id.Workspace.ID, host, v.Version, v.ConsumerKey, secret); err != nil {
		return err
	}
	h.flash(c, "success", "Saved. Now connect with Salesforce.")
	return redirect(c, "/integrations/salesforce")
}

// ConnectSalesforce starts the web server flow: state and PKCE, then off to Salesforce.
func (h *Handlers) ConnectSalesforce(c echo.Context) error {
	id := IdentityOf(c)
	conn, err := h.Store.SalesforceConnection(c.Request().Context(), id.Workspace.ID)
	if errors.Is(err, store.ErrNotFound) {
		h.flash(c, "error", "Save your connected app's consumer key and secret first.")
		return redirect(c, "/integrations/salesforce")
	}
	if err != nil {
		return err
	}
	app, err := h.Salesforce.App(conn, h.salesforceCallbackURL(id.Workspace))
	if err != nil {
		return err
	}
	// A login host saved when the operator allowed other hosts is not followed once they no
	// longer are: neither this browser nor the server is sent there.
	if err := h.Outbound.Check(outbound.Salesforce, app.LoginHost); err != nil {
		h.flash(c, "error", err.Error())
		return redirect(c, "/integrations/salesforce")
	}
	state := randomToken()
	verifier, challenge := salesforce.NewPKCE()
	s := h.session(c)
	s.Values[keySalesforceState], s.Values[keySalesforceVerifier] = state, verifier
	if err := s.Save(c.Request(), c.Response()); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, app.AuthorizeURL(state, challenge))
}

func randomToken() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// SalesforceCallback finishes the web server flow.
func (h *Handlers) SalesforceCallback(c echo.Context) error {
	id := IdentityOf(c)
	ctx := c.Request().Context()
	state, verifier := h.takeValue(c, keySalesforceState), h.takeValue(c, keySalesforceVerifier)
	q := c.QueryParams()
	if state == "" || q.Get("state") != state {
		h.flash(c, "error", "This sign-in did not start here or has expired. Press “Connect with Salesforce” again.")
		return redirect(c, "/integrations/salesforce")
	}
	if e := q.Get("error"); e != "" {
		msg := "Salesforce did not connect: " + e + " " + q.Get("error_description") + "."
		if e == "access_denied" || e == "access-denied" {
			msg = "You declined access in Salesforce, so nothing was connected."
		}
		h.flash(c, "error", msg)
		return redirect(c, "/integrations/salesforce")
	}
	who, err := h.Salesforce.Complete(ctx, id.Workspace.ID, h.salesforceCallbackURL(id.Workspace), q.Get("code"), verifier)
	if err != nil {
		p := salesforce.Explain(err)
		h.flash(c, "error", p.Cause+" "+p.Fix)
		return redirect(c, "/integrations/salesforce")
	}
	h.flashConnected(c, who.Username, "")
	return redirect(c, "/integrations/salesforce")
}

// flashConnected tests the new connection with one API call and says how it went: signed
// in is not connected when the org refuses its API.
func (h *Handlers) flashConnected(c echo.Context, username, how string) {
	if err := h.Salesforce.Check(c.Request().Context(), IdentityOf(c).Workspace.ID); err != nil {
		p := salesforce.Explain(err)
		h.flash(c, "error", fmt.Sprintf("Signed in to Salesforce as %s%s, but its API refuses Peregrine: %s %s", username, how, p.Cause, p.Fix))
		return
	}
	h.flash(c, "success", fmt.Sprintf("Connected to Salesforce as %s%s.", username, how))
}

// ConnectSalesforcePassword signs in with the legacy username-password flow.
func (h *Handlers) ConnectSalesforcePassword(c echo.Context) error {
	id := IdentityOf(c)
	ctx := c.Request().Context()
	v := views.SalesforceView{Errors: views.FormErrors{}, PasswordUsername: strings.TrimSpace(c.FormValue("username")), LegacyOpen: true}
	password, token := c.FormValue("password"), strings.TrimSpace(c.FormValue("security_token"))
	if v.PasswordUsername == "" || !strings.Contains(v.PasswordUsername, "@") {
		v.Errors["username"] = "Enter the Salesforce username (it looks like an email)."
	}
	if password == "" {
		v.Errors["password"] = "Enter the password."
	}
	if len(v.Errors) > 0 {
		return h.renderSalesforce(c, http.StatusUnprocessableEntity, v)
	}
	who, err := h.Salesforce.PasswordConnect(ctx, id.Workspace.ID, v.PasswordUsername, password, token)
	if errors.Is(err, store.ErrNotFound) {
		v.Errors["username"] = "Save your connected app's consumer key and secret first."
		return h.renderSalesforce(c, http.StatusUnprocessableEntity, v)
	}
	if err != nil {
		p := salesforce.Explain(err)
		v.Errors["password"] = p.Cause + " " + p.Fix
		return h.renderSalesforce(c, http.StatusUnprocessableEntity, v)
	}
	h.flashConnected(c, who.Username, " (legacy sign-in)")
	return redirect(c, "/integrations/salesforce")
}

// CheckSalesforce tests the connection now.
func (h *Handlers) CheckSalesforce(c echo.Context) error {
	err := h.Salesforce.Check(c.Request().Context(), IdentityOf(c).Workspace.ID)
	switch {
	case errors.Is(err, crmsync.ErrNotConnected):
		h.flash(c, "error", "Connect with Salesforce first.")
	case err != nil:
		p := salesforce.Explain(err)
		h.flash(c, "error", p.Cause+" "+p.Fix)
	default:
		h.flash(c, "success", "Salesforce answers: the connection works.")
	}
	return redirect(c, "/integrations/salesforce")
}

// DisconnectSalesforce revokes Peregrine's token and forgets the sign-in.
func (h *Handlers) DisconnectSalesforce(c echo.Context) error {
	err := h.Salesforce.Disconnect(c.Request().Context(), IdentityOf(c).Workspace.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		p := salesforce.Explain(err)
		h.flash(c, "error", "Salesforce could not be told to revoke the token: "+p.Cause+" Nothing was changed; try again.")
		return redirect(c, "/integrations/salesforce")
	}
	h.flash(c, "success", "Disconnected. Peregrine's token was revoked in Salesforce.")
	return redirect(c, "/integrations/salesforce")
}

// SaveSalesforceShare sets the share of the daily API allowance Peregrine may use.
func (h *Handlers) SaveSalesforceShare(c echo.Context) error {
	var share int
	if _, err := fmt.Sscan(c.FormValue("share"), &share); err != nil || share < 1 || share > 100 {
		h.flash(c, "error", "Enter a share of 1 to 100 percent.")
		return redirect(c, "/integrations/salesforce")
	}
	ctx, ws := c.Request().Context(), IdentityOf(c).Workspace.ID
	err := h.Store.SetSalesforceShare(ctx, ws, share)
	if errors.Is(err, store.ErrNotFound) {
		h.flash(c, "error", "Save your connected app first.")
		return redirect(c, "/integrations/salesforce")
	}
	if err != nil {
		return err
	}
	// A pause for the old share ends now: the next push learns whether the new one allows more.
	if conn, err := h.Store.SalesforceConnection(ctx, ws); err == nil && conn.ProblemCode == "budget" {
		if err := h.Store.ClearSalesforceProblem(ctx, ws); err != nil {
			return err
		}
	}
	h.flash(c, "success", fmt.Sprintf("Peregrine will use at most %d%% of the daily API allowance.", share))
	return redirect(c, "/integrations/salesforce")
}
