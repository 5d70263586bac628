// Package salesforcetest is a fake Salesforce for tests, as strict as the real one where
// Peregrine depends on it (shared/docs/salesforce.md §8): the OAuth login host (authorize page
// with Allow and Deny, the token endpoint's three grants with Salesforce's error bodies,
// revocation, identity URL) and the data host (versions, bearer checks, describe with field-
// level security, Sforce-Limit-Info and the daily allowance, an org without API access).
package salesforcetest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// User is a Salesforce user who can sign in.
type User struct {
	ID, Username, Password, SecurityToken, Email, DisplayName string
}

// FieldSpec describes a field of an object; Hidden and ReadOnly play field-level security.
type FieldSpec struct {
	Name, Label, Type string
	Length            int
	Custom            bool
	Required          bool // not nillable and not defaulted on create
	IDLookup          bool
	ExternalID        bool
	Hidden            bool // invisible to the integration user: absent from describe, INVALID_FIELD
	ReadOnly          bool // visible but not createable/updateable
}

// Server is the fake. Exported fields are switches tests may flip between calls (under Lock).
type Server struct {
	*httptest.Server
	t testing.TB

	mu sync.Mutex
	// Connected app.
	ClientID, ClientSecret string
	RedirectURIs           []string
	Users                  []User
	OrgID                  string
	// Org switches.
	APIDisabled          bool // every data call: 403 API_DISABLED_FOR_ORG
	PasswordFlowDisabled bool // password grant: invalid_grant authentication failure
	DailyMax, Used       int  // Sforce-Limit-Info and REQUEST_LIMIT_EXCEEDED
	Objects              map[string][]FieldSpec

	recordSwitches
	// Writes counts records created or updated.
	Writes int

	records  map[string]*Record
	cursors  map[string][]map[string]any
	seq      int
	now      time.Time
	codes    map[string]*authCode
	access   map[string]string // access token → user id
	issuedBy map[string]string // access token → the refresh token it came from (revoked with it)
	refresh  map[string]string // refresh token → user id
	approved map[string][]string
	// TokenCalls counts token endpoint requests by grant type.
	TokenCalls map[string]int
}

type authCode struct {
	userID, redirectURI, challenge string
	issued                         time.Time
	used                           bool
}

// New starts a fake with one connected app, one user, and standard Lead, Contact and Account
// fields.
func New(t testing.TB) *Server {
	s := &Server{t: t, ClientID: "3MVG9FAKECONSUMERKEY", ClientSecret: "FAKESECRET1234",
		OrgID: "00D5g00000FAKEOAA", DailyMax: 15000,
		Users: []User{{ID: "0055g00000FAKEUAA", Username: "integration@acme.example", Password: "Sales-force-pw1", SecurityToken: "TOKEN12345",
			Email: "integration@acme.example", DisplayName: "Integration User"}},
		Objects: map[string][]FieldSpec{
			"Lead":    standardLead(),
			"Contact": standardContact(),
			"Account": {{Name: "Id", Type: "id", Length: 18}, {Name: "Name", Type: "string", Length: 255, Required: true}, {Name: "Website", Type: "url", Length: 255}},
			"User":    standardUser(),
		},
		records: map[string]*Record{}, cursors: map[string][]map[string]any{}, now: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC),
		codes: map[string]*authCode{}, access: map[string]string{}, issuedBy: map[string]string{}, refresh: map[string]string{}, approved: map[string][]string{}, TokenCalls: map[string]int{},
	}
	for _, u := range s.Users {
		s.records[u.ID] = &Record{ID: u.ID, Object: "User", Modified: s.now,
			Fields: map[string]any{"Email": u.Email, "Name": u.DisplayName, "Username": u.Username, "IsActive": true}}
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// standardUser is the User object as an integration user reads it (it cannot write users).
func standardUser() []FieldSpec {
	return []FieldSpec{
		{Name: "Id", Type: "id", Length: 18},
		{Name: "Email", Type: "email", Length: 128, ReadOnly: true},
		{Name: "Name", Type: "string", Length: 121, ReadOnly: true},
		{Name: "Username", Type: "string", Length: 80, ReadOnly: true},
		{Name: "IsActive", Type: "boolean", ReadOnly: true},
	}
}

// AddUser adds a Salesforce user (one who owns records, not one who signs in here) and returns
// its id.
func (s *Server) AddUser(email, name string, active bool) string {
	return s.AddRecord("User", map[string]any{"Email": email, "Name": name, "Username": email, "IsActive": active})
}

func standardLead() []FieldSpec {
	return []FieldSpec{
		{Name: "Id", Type: "id", Length: 18},
		{Name: "FirstName", Type: "string", Length: 40},
		{Name: "LastName", Type: "string", Length: 80, Required: true},
		{Name: "Company", Type: "string", Length: 255, Required: true},
		{Name: "Email", Type: "email", Length: 80, IDLookup: true},
		{Name: "Title", Type: "string", Length: 128},
		{Name: "Country", Type: "string", Length: 80},
		{Name: "Industry", Type: "picklist", Length: 255},
		{Name: "NumberOfEmployees", Type: "int"},
		{Name: "LeadSource", Type: "picklist", Length: 255},
		{Name: "Status", Type: "picklist", Length: 255},
		{Name: "Rating", Type: "picklist", Length: 255},
		{Name: "Website", Type: "url", Length: 255},
		{Name: "OwnerId", Type: "reference", Length: 18},
		{Name: "IsConverted", Type: "boolean", ReadOnly: true},
		{Name: "ConvertedContactId", Type: "reference", Length: 18, ReadOnly: true},
		{Name: "LastModifiedDate", Type: "datetime", ReadOnly: true},
		{Name: "SystemModstamp", Type: "datetime", ReadOnly: true},
	}
}

func standardContact() []FieldSpec {
	return []FieldSpec{
		{Name: "Id", Type: "id", Length: 18},
		{Name: "FirstName", Type: "string", Length: 40},
		{Name: "LastName", Type: "string", Length: 80, Required: true},
		{Name: "Email", Type: "email", Length: 80, IDLookup: true},
		{Name: "Title", Type: "string", Length: 128},
		{Name: "AccountId", Type: "reference", Length: 18},
		{Name: "OwnerId", Type: "reference", Length: 18},
		{Name: "LastModifiedDate", Type: "datetime", ReadOnly: true},
		{Name: "SystemModstamp", Type: "datetime", ReadOnly: true},
	}
}

// Lock runs fn with the fake's state locked, for tests that flip switches.
func (s *Server) Lock(fn func(s *Server)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s)
}

// AddField adds (or replaces) a field of an object.
func (s *Server) AddField(object string, f FieldSpec) {
	s.Lock(func(s *Server) {
		fields := s.Objects[object]
		for i := range fields {
			if fields[i].Name == f.Name {
				fields[i] = f
				return
			}
		}
		s.Objects[object] = append(fields, f)
	})
}

// RevokeAll revokes every refresh and access token, as a user revoking the app does.
func (s *Server) RevokeAll() {
	s.Lock(func(s *Server) { s.refresh, s.access = map[string]string{}, map[string]string{} })
}

// ExpireAccessTokens ends every session: the next data call gets 401 INVALID_SESSION_ID.
func (s *Server) ExpireAccessTokens() { s.Lock(func(s *Server) { s.access = map[string]string{} }) }

// ChangePassword sets a new password and, as Salesforce does on a reset, a new security token.
func (s *Server) ChangePassword(password string) {
	s.Lock(func(s *Server) {
		s.Users[0].Password = password
		s.Users[0].SecurityToken = randomHex(5)
	})
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return strings.ToUpper(hex.EncodeToString(b))
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/services/oauth2/authorize":
		s.authorize(w, r)
	case r.URL.Path == "/services/oauth2/token":
		s.token(w, r)
	case r.URL.Path == "/services/oauth2/revoke":
		s.revoke(w, r)
	case strings.HasPrefix(r.URL.Path, "/id/"):
		s.identity(w, r)
	case r.URL.Path == "/services/data" || r.URL.Path == "/services/data/":
		writeJSON(w, http.StatusOK, []map[string]string{{"label": "Winter '25", "url": "/services/data/v62.0", "version": "62.0"},
			{"label": "Spring '25", "url": "/services/data/v63.0", "version": "63.0"}})
	case strings.HasPrefix(r.URL.Path, "/services/data/"):
		s.data(w, r)
	default:
		restError(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
	}
}

// authorize shows the approval page on GET and answers the buttons on POST.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if r.Method == http.MethodPost {
		r.ParseForm()
		q = r.PostForm
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	redirect := q.Get("redirect_uri")
	if q.Get("client_id") != s.ClientID {
		// Salesforce shows this on its own page rather than redirecting to an unknown app.
		errorPage(w, "error=invalid_client_id&error_description=client%20identifier%20invalid")
		return
	}
	if redirect == "" {
		errorPage(w, "error=redirect_uri_missing&error_description=redirect_uri%20must%20be%20provided")
		return
	}
	if !slices.Contains(s.RedirectURIs, redirect) {
		errorPage(w, "error=redirect_uri_mismatch&error_description=redirect_uri%20must%20match%20configuration")
		return
	}
	back := func(params url.Values) {
		params.Set("state", q.Get("state"))
		http.Redirect(w, r, redirect+"?"+params.Encode(), http.StatusFound)
	}
	if q.Get("response_type") != "code" {
		back(url.Values{"error": {"unsupported_response_type"}, "error_description": {"response type not supported"}})
		return
	}
	for _, sc := range strings.Fields(q.Get("scope")) {
		if !slices.Contains([]string{"api", "id", "refresh_token", "offline_access", "full", "web", "openid", "profile", "email"}, sc) {
			back(url.Values{"error": {"invalid_scope"}, "error_description": {"the requested scope is not allowed"}})
			return
		}
	}
	if r.Method == http.MethodGet {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		hidden := ""
		for _, k := range []string{"client_id", "redirect_uri", "state", "scope", "code_challenge", "response_type"} {
			hidden += fmt.Sprintf(`<input type="hidden" name="%s" value="%s">`, k, html.EscapeString(q.Get(k)))
		}
		fmt.Fprintf(w, `<!doctype html><title>Allow Access?</title><h1>Allow Access?</h1>
<p>Peregrine is asking to access your Salesforce data as %s.</p>
<form method="post" action="/services/oauth2/authorize">%s
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button></form>`, html.EscapeString(s.Users[0].Username), hidden)
		return
	}
	if q.Get("decision") != "allow" {
		back(url.Values{"error": {"access_denied"}, "error_description": {"end-user denied authorization"}})
		return
	}
	code := "aPrx" + randomHex(16) + "=="
	s.codes[code] = &authCode{userID: s.Users[0].ID, redirectURI: redirect, challenge: q.Get("code_challenge"), issued: time.Now()}
	back(url.Values{"code": {code}})
}

func errorPage(w http.ResponseWriter, text string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusBadRequest)
	fmt.Fprintf(w, "<!doctype html><title>Error</title><p>%s</p>", html.EscapeString(text))
}

func oauthError(w http.ResponseWriter, code, description string) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": code, "error_description": description})
}

// token is the token endpoint: authorization_code, refresh_token and password grants.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		oauthError(w, "invalid_request", "must use HTTP POST with form-encoded parameters")
		return
	}
	r.ParseForm()
	f := r.PostForm
	s.mu.Lock()
	defer s.mu.Unlock()
	s.TokenCalls[f.Get("grant_type")]++
	clientID, secret := f.Get("client_id"), f.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		clientID, secret = u, p
	}
	if clientID != s.ClientID {
		oauthError(w, "invalid_client_id", "client identifier invalid")
		return
	}
	if secret != s.ClientSecret {
		oauthError(w, "invalid_client", "invalid client credentials")
		return
	}
	switch f.Get("grant_type") {
	case "authorization_code":
		c := s.codes[f.Get("code")]
		if c == nil || c.used || time.Since(c.issued) > 15*time.Minute {
			oauthError(w, "invalid_grant", "expired authorization code")
			return
		}
		c.used = true
		if f.Get("redirect_uri") != c.redirectURI {
			oauthError(w, "invalid_grant", "redirect_uri mismatch")
			return
		}
		if c.challenge != "" {
			v := f.Get("code_verifier")
			if v == "" {
				oauthError(w, "invalid_grant", "invalid code verifier")
				return
			}
			sum := sha256.Sum256([]byte(v))
			if base64.RawURLEncoding.EncodeToString(sum[:]) != c.challenge {
				oauthError(w, "invalid_request", "code_challenge does not match the code_verifier")
				return
			}
		}
		s.issue(w, c.userID, true, "")
	case "refresh_token":
		user, ok := s.refresh[f.Get("refresh_token")]
		if !ok {
			oauthError(w, "invalid_grant", "expired access/refresh token")
			return
		}
		s.issue(w, user, false, f.Get("refresh_token"))
	case "password":
		u := s.Users[0]
		if s.PasswordFlowDisabled || f.Get("username") != u.Username || f.Get("password") != u.Password+u.SecurityToken {
			oauthError(w, "invalid_grant", "authentication failure")
			return
		}
		s.issue(w, u.ID, false, "")
	default:
		oauthError(w, "unsupported_grant_type", "grant type not supported")
	}
}

// issue answers a token; withRefresh adds a refresh token, and a user's sixth approval
// revokes the oldest of their refresh tokens, as Salesforce does. from is the refresh token
// a refresh used: revoking it revokes the access tokens it gave.
func (s *Server) issue(w http.ResponseWriter, userID string, withRefresh bool, from string) {
	access := s.OrgID + "!" + randomHex(24)
	s.access[access] = userID
	s.issuedBy[access] = from
	body := map[string]string{"access_token": access, "instance_url": s.URL, "id": s.URL + "/id/" + s.OrgID + "/" + userID,
		"token_type": "Bearer", "issued_at": strconv.FormatInt(time.Now().UnixMilli(), 10), "signature": "ZmFrZQ==", "scope": "api id refresh_token offline_access"}
	if withRefresh {
		rt := "5Aep861" + randomHex(20)
		s.refresh[rt] = userID
		s.issuedBy[access] = rt
		s.approved[userID] = append(s.approved[userID], rt)
		if len(s.approved[userID]) > 5 {
			delete(s.refresh, s.approved[userID][0])
			s.approved[userID] = s.approved[userID][1:]
		}
		body["refresh_token"] = rt
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	token := r.PostForm.Get("token")
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.refresh[token]; ok {
		delete(s.refresh, token)
		for a, from := range s.issuedBy {
			if from == token {
				delete(s.access, a)
			}
		}
		w.WriteHeader(http.StatusOK)
		return
	}
	if _, ok := s.access[token]; ok {
		delete(s.access, token)
		w.WriteHeader(http.StatusOK)
		return
	}
	oauthError(w, "invalid_token", "the token is invalid or was already revoked")
}

// Revoked reports whether a refresh token no longer works.
func (s *Server) Revoked(refreshToken string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.refresh[refreshToken]
	return !ok
}

// IssuedTokens lists the access and refresh tokens in force (for tests that look for them
// where they must not be, such as logs).
func (s *Server) IssuedTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for t := range s.access {
		out = append(out, t)
	}
	for t := range s.refresh {
		out = append(out, t)
	}
	return out
}

func (s *Server) bearer(r *http.Request) (string, bool) {
	token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	user, ok := s.access[token]
	return user, ok
}

func (s *Server) identity(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	user, ok := s.bearer(r)
	if !ok {
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, "Bad_OAuth_Token")
		return
	}
	for _, u := range s.Users {
		if u.ID == user {
			writeJSON(w, http.StatusOK, map[string]any{"user_id": u.ID, "organization_id": s.OrgID, "username": u.Username,
				"display_name": u.DisplayName, "email": u.Email, "active": true})
			return
		}
	}
	w.WriteHeader(http.StatusNotFound)
}

var versionPath = regexp.MustCompile(`^/services/data/v(\d+)\.(\d+)(/.*)?$`)

// data serves the REST API: version checks, bearer, allowance, then the resource.
func (s *Server) data(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := versionPath.FindStringSubmatch(r.URL.Path)
	if m == nil {
		restError(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	if major, _ := strconv.Atoi(m[1]); major < 31 {
		w.WriteHeader(http.StatusGone)
		writeJSONBody(w, []map[string]string{{"errorCode": "GONE", "message": "The requested API version has been retired."}})
		return
	}
	if _, ok := s.bearer(r); !ok {
		restError(w, http.StatusUnauthorized, "INVALID_SESSION_ID", "Session expired or invalid")
		return
	}
	if s.APIDisabled {
		restError(w, http.StatusForbidden, "API_DISABLED_FOR_ORG", "The REST API is not enabled for this Organization.")
		return
	}
	if s.UnavailableNext > 0 {
		s.UnavailableNext--
		restError(w, http.StatusServiceUnavailable, "SERVER_UNAVAILABLE", "Server temporarily unavailable.")
		return
	}
	if s.Used >= s.DailyMax {
		w.Header().Set("Sforce-Limit-Info", fmt.Sprintf("api-usage=%d/%d", s.Used, s.DailyMax))
		restError(w, http.StatusForbidden, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
		return
	}
	s.Used++
	w.Header().Set("Sforce-Limit-Info", fmt.Sprintf("api-usage=%d/%d", s.Used, s.DailyMax))
	rest := m[3]
	if s.dataRecords(w, r, "v"+m[1]+"."+m[2], rest) {
		return
	}
	switch {
	case r.Method == http.MethodGet && strings.HasPrefix(rest, "/sobjects/") && strings.HasSuffix(rest, "/describe"):
		s.describe(w, strings.TrimSuffix(strings.TrimPrefix(rest, "/sobjects/"), "/describe"))
	case r.Method == http.MethodGet && rest == "/limits":
		writeJSON(w, http.StatusOK, map[string]any{"DailyApiRequests": map[string]int{"Max": s.DailyMax, "Remaining": s.DailyMax - s.Used}})
	default:
		restError(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
	}
}

func (s *Server) describe(w http.ResponseWriter, object string) {
	fields, ok := s.Objects[object]
	if !ok {
		restError(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	var out []map[string]any
	for _, f := range fields {
		if f.Hidden {
			continue // field-level security: the integration user cannot see it
		}
		writable := !f.ReadOnly && f.Type != "id"
		label := f.Label
		if label == "" {
			label = f.Name
		}
		out = append(out, map[string]any{"name": f.Name, "label": label, "type": f.Type, "length": f.Length, "custom": f.Custom,
			"createable": writable, "updateable": writable, "nillable": !f.Required && f.Type != "boolean", "idLookup": f.IDLookup || f.Type == "id",
			"externalId": f.ExternalID, "defaultedOnCreate": f.Type == "boolean", "unique": false, "filterable": true, "sortable": true})
	}
	writeJSON(w, http.StatusOK, map[string]any{"name": object, "label": object, "custom": strings.HasSuffix(object, "__c"),
		"createable": true, "updateable": true, "queryable": true, "fields": out})
}

func restError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, []map[string]any{{"errorCode": code, "message": message}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	writeJSONBody(w, v)
}

func writeJSONBody(w http.ResponseWriter, v any) { json.NewEncoder(w).Encode(v) }

// Approve plays the browser on the approval page: it opens authorizeURL, presses Allow (or
// Deny) and returns the query Salesforce sends to the callback.
func Approve(t testing.TB, authorizeURL string, allow bool) url.Values {
	t.Helper()
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noFollow.Get(authorizeURL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("authorize page: HTTP %d", res.StatusCode)
	}
	u, _ := url.Parse(authorizeURL)
	form := u.Query()
	form.Set("decision", map[bool]string{true: "allow", false: "deny"}[allow])
	res, err = noFollow.PostForm(u.Scheme+"://"+u.Host+u.Path, form)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil || res.StatusCode != http.StatusFound {
		t.Fatalf("no redirect to the callback: HTTP %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	return loc.Query()
}
