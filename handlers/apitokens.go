package handlers

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/peregrine-scoring/peregrine/domain/ingest"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/views"
)

// scopeLabels say what each scope allows.
var scopeLabels = map[string]string{
	model.ScopeEventsWrite:  "send events",
	model.ScopeLeadsRead:    "read leads and their activities",
	model.ScopeLeadsWrite:   "change leads' profile, owner and status",
	model.ScopeAccountsRead: "read accounts",
	model.ScopeRulesRead:    "read scoring rules",
	model.ScopeRulesWrite:   "create, change and delete scoring rules",
}

// ShowAPITokensPage is Settings › API tokens (admins).
func (h *Handlers) ShowAPITokensPage(c echo.Context) error {
	return h.renderAPITokens(c, http.StatusOK, views.APITokensView{})
}

func (h *Handlers) renderAPITokens(c echo.Context, status int, v views.APITokensView) error {
	ctx := c.Request().Context()
	ws := IdentityOf(c).Workspace.ID
	tokens, err := h.Store.ListAPITokens(ctx, ws, model.TokenKindAPI)
	if err != nil {
		return err
	}
	loc := userLocation(c)
	now := time.Now()
	for _, t := range tokens {
		row := views.APITokenRow{TokenRow: views.TokenRow{ID: t.ID, Label: t.Label, Hint: t.Hint, Created: ago(t.CreatedAt), LastUsed: "never",
			Revoked: t.RevokedAt != nil}, Scopes: t.Scopes, Expires: "never"}
		if t.LastUsedAt != nil {
			row.LastUsed = ago(*t.LastUsedAt)
		}
		if t.ExpiresAt != nil {
			row.Expires, row.Expired = views.FormatTimeIn(t.ExpiresAt, loc), !now.Before(*t.ExpiresAt)
			if row.Expired {
				row.Expires += " (expired)"
			}
		}
		v.Tokens = append(v.Tokens, row)
	}
	chosen := map[string]bool{}
	for _, s := range v.Scopes {
		chosen[s.Value] = s.Selected
	}
	v.Scopes = nil
	for _, s := range model.Scopes {
		v.Scopes = append(v.Scopes, views.Option{Value: s, Label: scopeLabels[s], Selected: chosen[s]})
	}
	if v.NewToken == "" {
		v.NewToken = h.takeValue(c, keyNewToken)
	}
	users, err := h.Store.ListUsers(ctx, ws)
	if err != nil {
		return err
	}
	names := map[int64]string{}
	for _, u := range users {
		names[u.ID] = u.Name
		if u.Active {
			v.Users = append(v.Users, views.Option{Value: strconv.FormatInt(u.ID, 10), Label: u.Name + " (" + u.Role.Label() + ")", Selected: v.ActsFor == strconv.FormatInt(u.ID, 10)})
		}
	}
	for i, t := range tokens {
		if t.ActsFor != nil {
			v.Tokens[i].ActsFor = names[*t.ActsFor]
		}
	}
	return Render(c, status, views.APITokensPage(h.chrome(c, "API tokens", "settings-api-tokens"), v))
}

// CreateAPIToken makes an open-API token from the form, shown once.
func (h *Handlers) CreateAPIToken(c echo.Context) error {
	id := IdentityOf(c)
	form, _ := c.FormParams()
	label, scopes, expires := strings.TrimSpace(form.Get("label")), form["scopes"], strings.TrimSpace(form.Get("expires"))
	v := views.APITokensView{Label: label, Expires: expires, Errors: views.FormErrors{}}
	for _, s := range scopes {
		v.Scopes = append(v.Scopes, views.Option{Value: s, Selected: true})
	}
	var until *time.Time
	if expires != "" {
		day, err := time.ParseInLocation(time.DateOnly, expires, userLocation(c))
		if err != nil {
			v.Errors["expires"] = "Pick a day, or leave it empty for a token that does not expire."
		} else {
			end := day.AddDate(0, 0, 1) // works through the whole day
			until = &end
		}
	}
	spec := ingest.APITokenSpec{Label: label, Scopes: scopes, Expires: until, CreatedBy: &id.User.ID}
	if v.ActsFor = form.Get("acts_for"); v.ActsFor != "" {
		user, err := strconv.ParseInt(v.ActsFor, 10, 64)
		if err != nil {
			v.Errors["acts_for"] = "Choose a user from the list."
		}
		spec.ActsFor = &user
	}
	if len(v.Errors) == 0 {
		token, _, err := ingest.CreateAPIToken(c.Request().Context(), h.Store, id.Workspace.ID, spec)
		if err == nil {
			h.putValue(c, keyNewToken, token)
			h.flash(c, "success", "API token “"+label+"” created. Copy it now: it is shown only once.")
			return redirect(c, "/settings/api-tokens")
		}
		switch msg := err.Error(); {
		case strings.Contains(msg, "label"):
			v.Errors["label"] = capitalize(msg) + "."
		case strings.Contains(msg, "scope"):
			v.Errors["scopes"] = capitalize(msg) + "."
		case strings.Contains(msg, "expiry"):
			v.Errors["expires"] = capitalize(msg) + "."
		case strings.Contains(msg, "acting for") || strings.Contains(msg, "acts for"):
			v.Errors["acts_for"] = capitalize(msg) + "."
		default:
			return err
		}
	}
	return h.renderAPITokens(c, http.StatusUnprocessableEntity, v)
}

// RevokeAPIToken stops an open-API token at once.
func (h *Handlers) RevokeAPIToken(c echo.Context) error {
	return h.revokeMachineToken(c, model.TokenKindAPI, "/settings/api-tokens", "API token revoked: requests with it now get 401.")
}
