package web_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/auth"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/store/pgtest"
	"github.com/peregrine-scoring/peregrine/handlers"
	"github.com/peregrine-scoring/peregrine/web/webtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const password = "a long test password"

type testServer struct{ *webtest.Server }

func newServer(t *testing.T, env map[string]string) testServer {
	return testServer{webtest.Start(t, env)}
}

// browser is an HTTP client with cookies that sends Sec-Fetch-Site like a real browser when
// fetchMetadata is set.
type browser struct {
	t             testing.TB
	base          string
	client        *http.Client
	fetchMetadata string
	headers       map[string]string
}

func (s testServer) browser(t testing.TB) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: s.URL, fetchMetadata: "same-origin", headers: map[string]string{},
		client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type response struct {
	status int
	body   string
	header http.Header
}

func (b *browser) do(method, path string, form url.Values) response {
	b.t.Helper()
	if form == nil {
		return b.send(method, path, "", nil)
	}
	return b.send(method, path, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
}

// send makes a request with a body of the given content type (none when empty).
func (b *browser) send(method, path, contentType string, body io.Reader) response {
	b.t.Helper()
	req, _ := http.NewRequest(method, b.base+path, body)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if b.fetchMetadata != "" {
		req.Header.Set("Sec-Fetch-Site", b.fetchMetadata)
	}
	for k, v := range b.headers {
		req.Header.Set(k, v)
	}
	res, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, body: string(raw), header: res.Header}
}

func (b *browser) get(path string) response                { return b.do(http.MethodGet, path, nil) }
func (b *browser) post(path string, f url.Values) response { return b.do(http.MethodPost, path, f) }

func (b *browser) sessionCookie() *http.Cookie {
	u, _ := url.Parse(b.base)
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == handlers.SessionName {
			return c
		}
	}
	return nil
}

var csrfField = regexp.MustCompile(`name="_csrf" value="([^"]*)"`)

func signUp(t *testing.T, b *browser, email string) {
	t.Helper()
	r := b.post("/signup", url.Values{"workspace": {"Acme"}, "name": {"Ada Admin"}, "email": {email}, "password": {password}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/leads" {
		t.Fatalf("sign-up: %d %s", r.status, r.body)
	}
}

// acmeAndGlobex starts a server where Ada signed up Acme in the browser returned, beside a
// second workspace, Globex, whose admin is Bo.
func acmeAndGlobex(t *testing.T) (s testServer, ada *browser, acme, globex model.Workspace, bo model.User) {
	t.Helper()
	s = newServer(t, map[string]string{"PEREGRINE_OPEN_SIGNUP": "true"})
	ctx := context.Background()
	ada = s.browser(t)
	signUp(t, ada, "ada@acme.example")
	acme, err := s.Store.WorkspaceBySlug(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	globex, bo, err = s.Store.CreateWorkspaceWithAdmin(ctx, model.Workspace{Slug: "globex", Name: "Globex"},
		model.User{Email: "bo@globex.example", Name: "Bo", PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	return s, ada, acme, globex, bo
}

var inviteLinkField = regexp.MustCompile(`id="invite-link" type="text" readonly value="([^"]+)"`)

// invite creates an invitation as admin and returns the link the page shows once.
func invite(t *testing.T, admin *browser, email, role string) *url.URL {
	t.Helper()
	r := admin.post("/settings/users/invite", url.Values{"email": {email}, "role": {role}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("invite: %d %.500s", r.status, r.body)
	}
	r = admin.get("/settings/users")
	m := inviteLinkField.FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("no invitation link shown:\n%.2000s", r.body)
	}
	u, err := url.Parse(html.UnescapeString(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func assertStatus(t *testing.T, r response, want int) {
	t.Helper()
	if r.status != want {
		t.Fatalf("status %d, want %d; body:\n%.600s", r.status, want, r.body)
	}
}

func TestFirstVisitShowsCreateYourWorkspace(t *testing.T) {
	s := newServer(t, nil)
	b := s.browser(t)
	r := b.get("/")
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/signup" {
		t.Fatalf("/ -> %d %s", r.status, r.header.Get("Location"))
	}
	r = b.get("/signup")
	assertStatus(t, r, http.StatusOK)
	if !strings.Contains(r.body, "Create your workspace") {
		t.Fatal("sign-up page lacks its heading")
	}
}

func TestCrossSitePostIsRejected(t *testing.T) {
	s := newServer(t, nil)
	b := s.browser(t)
	b.fetchMetadata = "cross-site"
	r := b.post("/signup", url.Values{"workspace": {"Evil"}, "name": {"E"}, "email": {"e@evil.com"}, "password": {password}})
	assertStatus(t, r, http.StatusForbidden)
	if n, _ := s.Store.CountWorkspaces(context.Background()); n != 0 {
		t.Fatal("cross-site sign-up created a workspace")
	}
	r = b.post("/login", url.Values{"email": {"e@evil.com"}, "password": {password}})
	assertStatus(t, r, http.StatusForbidden)
}

// TestSameSitePostIsRejected: a form posted from a sibling subdomain is refused even with a
// token matching the token cookie (which that subdomain could have planted).
func TestSameSitePostIsRejected(t *testing.T) {
	s := newServer(t, nil)
	b := s.browser(t)
	b.fetchMetadata = ""
	page := b.get("/signup")
	token := csrfField.FindStringSubmatch(page.body)[1]
	b.fetchMetadata = "same-site"
	r := b.post("/signup", url.Values{"workspace": {"Evil"}, "name": {"E"}, "email": {"e@evil.com"}, "password": {password}, "_csrf": {token}})
	assertStatus(t, r, http.StatusForbidden)
	if !strings.Contains(r.body, "sent from another site") {
		t.Fatalf("no explanation: %.500s", r.body)
	}
	if n, _ := s.Store.CountWorkspaces(context.Background()); n != 0 {
		t.Fatal("a same-site sign-up created a workspace")
	}
	// Same-origin and top-level navigation stay allowed.
	b.fetchMetadata = "same-origin"
	assertStatus(t, b.post("/signup", url.Values{"workspace": {"Acme"}, "name": {"Ada"}, "email": {"ada@acme.com"}, "password": {password}}), http.StatusSeeOther)
}

func TestTokenFallbackForClientsWithoutFetchMetadata(t *testing.T) {
	s := newServer(t, nil)
	b := s.browser(t)
	b.fetchMetadata = ""
	form := url.Values{"workspace": {"Acme"}, "name": {"Ada"}, "email": {"ada@acme.com"}, "password": {password}}
	assertStatus(t, b.post("/signup", form), http.StatusForbidden)
	form.Set("_csrf", "forged")
	assertStatus(t, b.post("/signup", form), http.StatusForbidden)

	page := b.get("/signup")
	m := csrfField.FindStringSubmatch(page.body)
	if m == nil || m[1] == "" {
		t.Fatal("no CSRF token in the form")
	}
	form.Set("_csrf", m[1])
	r := b.post("/signup", form)
	if r.status != http.StatusSeeOther {
		t.Fatalf("sign-up with token: %d %.300s", r.status, r.body)
	}
}

func TestWrongPasswordSetsNoSession(t *testing.T) {
	s := newServer(t, nil)
	signUp(t, s.browser(t), "ada@acme.com")
	b := s.browser(t)
	r := b.post("/login", url.Values{"email": {"ada@acme.com"}, "password": {"not the password"}})
	assertStatus(t, r, http.StatusUnauthorized)
	if !strings.Contains(r.body, "do not match") || !strings.Contains(r.body, `value="ada@acme.com"`) {
		t.Fatal("login error lacks message or keeps no email")
	}
	if c := b.sessionCookie(); c != nil {
		t.Fatalf("session cookie set after failed login: %v", c)
	}
	for _, sc := range r.header.Values("Set-Cookie") {
		if strings.HasPrefix(sc, handlers.SessionName) {
			t.Fatalf("Set-Cookie for session on failure: %s", sc)
		}
	}
	assertStatus(t, b.get("/leads"), http.StatusSeeOther)

	r = b.post("/login", url.Values{"email": {"ADA@acme.com"}, "password": {password}, "next": {"/settings/users"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/settings/users" {
		t.Fatalf("login: %d %s", r.status, r.header.Get("Location"))
	}
	assertStatus(t, b.get("/leads"), http.StatusOK)
}

func TestLoginRedirectStaysOnSite(t *testing.T) {
	s := newServer(t, nil)
	signUp(t, s.browser(t), "ada@acme.com")
	b := s.browser(t)
	r := b.post("/login", url.Values{"email": {"ada@acme.com"}, "password": {password}, "next": {"//evil.example.com/x"}})
	if r.header.Get("Location") != "/" {
		t.Fatalf("open redirect to %q", r.header.Get("Location"))
	}
}

func TestSessionCookieFlags(t *testing.T) {
	for _, tc := range []struct {
		publicURL string
		secure    bool
	}{{"", false}, {"https://peregrine.example.com", true}} {
		s := newServer(t, map[string]string{"PEREGRINE_PUBLIC_URL": tc.publicURL})
		b := s.browser(t)
		r := b.post("/signup", url.Values{"workspace": {"Acme"}, "name": {"Ada"}, "email": {"ada@acme.com"}, "password": {password}})
		var cookie string
		for _, sc := range r.header.Values("Set-Cookie") {
			if strings.HasPrefix(sc, handlers.SessionName+"=") {
				cookie = sc
			}
		}
		if !strings.Contains(cookie, "HttpOnly") || !strings.Contains(cookie, "SameSite=Lax") {
			t.Fatalf("cookie flags: %q", cookie)
		}
		if strings.Contains(cookie, "Secure") != tc.secure {
			t.Fatalf("public URL %q: cookie %q, want Secure=%v", tc.publicURL, cookie, tc.secure)
		}
	}
}

func TestLoginThrottle(t *testing.T) {
	s := newServer(t, nil)
	signUp(t, s.browser(t), "ada@acme.com")
	b := s.browser(t)
	for i := 0; i < 10; i++ {
		// A spoofed X-Forwarded-For must not give each guess a fresh address.
		b.headers["X-Forwarded-For"] = "203.0.113." + string(rune('1'+i%9))
		assertStatus(t, b.post("/login", url.Values{"email": {"ada@acme.com"}, "password": {"wrong password " + string(rune('a'+i))}}), http.StatusUnauthorized)
	}
	r := b.post("/login", url.Values{"email": {"ada@acme.com"}, "password": {password}})
	assertStatus(t, r, http.StatusTooManyRequests)
	if ra := r.header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Fatalf("Retry-After = %q", ra)
	}
	if !strings.Contains(r.body, "try again in 15 minutes") {
		t.Fatalf("throttle message: %.800s", r.body)
	}
	if b.sessionCookie() != nil {
		t.Fatal("throttled login signed in")
	}
}

func TestSalesRoleIsForbiddenFromSettings(t *testing.T) {
	s := newServer(t, nil)
	admin := s.browser(t)
	signUp(t, admin, "ada@acme.com")
	link := invite(t, admin, "sam@acme.com", "sales")
	if again := admin.get("/settings/users"); strings.Contains(again.body, link.Path) {
		t.Fatal("invitation link shown twice")
	}
	if link.Host != strings.TrimPrefix(s.URL, "http://") {
		t.Fatalf("invitation link %s does not point at the server %s", link, s.URL)
	}

	sales := s.browser(t)
	assertStatus(t, sales.get(link.Path), http.StatusOK)
	r := sales.post(link.Path, url.Values{"name": {"Sam Sales"}, "password": {password}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("join: %d %.500s", r.status, r.body)
	}
	assertStatus(t, sales.get("/leads"), http.StatusOK)
	for _, path := range []string{"/settings/users", "/settings/workspace"} {
		r := sales.get(path)
		assertStatus(t, r, http.StatusForbidden)
		if !strings.Contains(r.body, "have access") {
			t.Fatalf("403 page not friendly: %.500s", r.body)
		}
	}
	assertStatus(t, sales.post("/settings/users/invite", url.Values{"email": {"x@acme.com"}, "role": {"admin"}}), http.StatusForbidden)
	leads := sales.get("/leads")
	if strings.Contains(leads.body, `href="/settings/users"`) {
		t.Fatal("sales sees a link to settings")
	}
}

func TestSignUpBadInputKeepsInputAndCreatesNothing(t *testing.T) {
	s := newServer(t, nil)
	b := s.browser(t)
	long := strings.Repeat("n", 201)
	r := b.post("/signup", url.Values{"workspace": {"Acme <b>"}, "name": {long}, "email": {"ada@"}, "password": {"short"}})
	assertStatus(t, r, http.StatusUnprocessableEntity)
	for _, want := range []string{`value="Acme &lt;b&gt;"`, "200 characters or fewer", "valid email", "at least 12 characters", `value="ada@"`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("response lacks %q", want)
		}
	}
	if n, _ := s.Store.CountWorkspaces(context.Background()); n != 0 {
		t.Fatal("invalid sign-up created a workspace")
	}
}

func TestSignUpClosedAfterFirstWorkspace(t *testing.T) {
	s := newServer(t, nil)
	signUp(t, s.browser(t), "ada@acme.com")
	b := s.browser(t)
	assertStatus(t, b.get("/signup"), http.StatusForbidden)
	assertStatus(t, b.post("/signup", url.Values{"workspace": {"B"}, "name": {"B"}, "email": {"b@b.com"}, "password": {password}}), http.StatusForbidden)
	if r := b.get("/"); r.header.Get("Location") != "/login" {
		t.Fatalf("/ -> %s", r.header.Get("Location"))
	}

	open := newServer(t, map[string]string{"PEREGRINE_OPEN_SIGNUP": "true"})
	signUp(t, open.browser(t), "ada@acme.com")
	signUp(t, open.browser(t), "bob@other.com")
	// The same email cannot create a second account.
	r := open.browser(t).post("/signup", url.Values{"workspace": {"C"}, "name": {"A"}, "email": {"ada@acme.com"}, "password": {password}})
	assertStatus(t, r, http.StatusUnprocessableEntity)
}

func TestInvitationErrors(t *testing.T) {
	s := newServer(t, nil)
	admin := s.browser(t)
	signUp(t, admin, "ada@acme.com")
	ctx := context.Background()
	ws, _ := s.Store.WorkspaceBySlug(ctx, "acme")
	owner, _ := s.Store.UserByEmail(ctx, ws.ID, "ada@acme.com")

	b := s.browser(t)
	assertStatus(t, b.get("/join/acme/not-a-token"), http.StatusNotFound)
	assertStatus(t, b.post("/join/acme/not-a-token", url.Values{"name": {"X"}, "password": {password}}), http.StatusNotFound)

	token, hash, _ := auth.NewToken()
	if _, err := s.Store.CreateInvitation(ctx, model.Invitation{WorkspaceID: ws.ID, Email: "late@acme.com", Role: model.RoleSales,
		TokenHash: hash, InvitedBy: owner.ID, ExpiresAt: time.Now().Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	r := b.get("/join/acme/" + token)
	assertStatus(t, r, http.StatusGone)
	if !strings.Contains(r.body, "expired") {
		t.Fatal("expired invitation not explained")
	}
	assertStatus(t, b.post("/join/acme/"+token, url.Values{"name": {"Late"}, "password": {password}}), http.StatusGone)
	if _, err := s.Store.UserByEmail(ctx, ws.ID, "late@acme.com"); err == nil {
		t.Fatal("expired invitation created a user")
	}

	// Inviting an existing member, or with a bad email, comes back with the input.
	r = admin.post("/settings/users/invite", url.Values{"email": {"ada@acme.com"}, "role": {"sales"}})
	assertStatus(t, r, http.StatusUnprocessableEntity)
	if !strings.Contains(r.body, "already a member") {
		t.Fatal("duplicate member not explained")
	}
	r = admin.post("/settings/users/invite", url.Values{"email": {"nope"}, "role": {"sales"}})
	assertStatus(t, r, http.StatusUnprocessableEntity)
	if !strings.Contains(r.body, `value="nope"`) {
		t.Fatal("input lost")
	}
}

func TestDeactivatedUserLosesSession(t *testing.T) {
	s := newServer(t, nil)
	admin := s.browser(t)
	signUp(t, admin, "ada@acme.com")
	link := invite(t, admin, "mia@acme.com", "marketer")
	mia := s.browser(t)
	assertStatus(t, mia.post(link.Path, url.Values{"name": {"Mia"}, "password": {password}}), http.StatusSeeOther)
	assertStatus(t, mia.get("/leads"), http.StatusOK)

	ctx := context.Background()
	ws, _ := s.Store.WorkspaceBySlug(ctx, "acme")
	u, _ := s.Store.UserByEmail(ctx, ws.ID, "mia@acme.com")
	assertStatus(t, admin.post("/settings/users/"+itoa(u.ID)+"/deactivate", nil), http.StatusSeeOther)
	assertStatus(t, mia.get("/leads"), http.StatusSeeOther)

	// The last admin cannot demote themselves.
	self, _ := s.Store.UserByEmail(ctx, ws.ID, "ada@acme.com")
	admin.post("/settings/users/"+itoa(self.ID)+"/role", url.Values{"role": {"sales"}})
	if r := admin.get("/settings/users"); !strings.Contains(r.body, "at least one active admin") {
		t.Fatalf("last-admin error not shown")
	}
	// Another workspace's user id is not found here.
	assertStatus(t, admin.post("/settings/users/999999/role", url.Values{"role": {"sales"}}), http.StatusNotFound)
}

func TestUserDataIsEscaped(t *testing.T) {
	s := newServer(t, nil)
	b := s.browser(t)
	r := b.post("/signup", url.Values{"workspace": {"<script>alert(1)</script>"}, "name": {"<img src=x>"}, "email": {"ada@acme.com"}, "password": {password}})
	assertStatus(t, r, http.StatusSeeOther)
	page := b.get("/leads")
	if strings.Contains(page.body, "<script>alert(1)") || strings.Contains(page.body, "<img src=x>") {
		t.Fatal("user data rendered as HTML")
	}
	if !strings.Contains(page.body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Fatal("workspace name missing")
	}
}

func TestWorkspaceSettings(t *testing.T) {
	s := newServer(t, nil)
	b := s.browser(t)
	signUp(t, b, "ada@acme.com")
	r := b.post("/settings/workspace", url.Values{"name": {""}, "public_url": {"not a url"}})
	assertStatus(t, r, http.StatusUnprocessableEntity)
	if !strings.Contains(r.body, `value="not a url"`) {
		t.Fatal("input lost")
	}
	assertStatus(t, b.post("/settings/workspace", url.Values{"name": {"Acme Inc"}, "public_url": {"https://scoring.acme.com"}}), http.StatusSeeOther)
	if link := invite(t, b, "sam@acme.com", "sales"); link.Host != "scoring.acme.com" || link.Scheme != "https" {
		t.Fatalf("invitation link %s does not use the workspace's public URL", link)
	}
}

func TestProbesAndErrorPages(t *testing.T) {
	s := newServer(t, nil)
	b := s.browser(t)
	assertStatus(t, b.get("/healthz"), http.StatusOK)
	r := b.get("/readyz")
	assertStatus(t, r, http.StatusOK)
	if r.header.Get("X-Request-Id") == "" {
		t.Fatal("no request id")
	}
	r = b.get("/no/such/page")
	assertStatus(t, r, http.StatusNotFound)
	if !strings.Contains(r.body, "Page not found") {
		t.Fatal("404 page not friendly")
	}
	assertStatus(t, b.get("/static/css/app.css"), http.StatusOK)
	assertStatus(t, b.get("/settings/users"), http.StatusSeeOther)

	// Signed in, the 404 page leads back to the leads.
	signUp(t, b, "ada@acme.com")
	r = b.get("/no/such/page")
	assertStatus(t, r, http.StatusNotFound)
	if !strings.Contains(r.body, "Back to Home") || !strings.Contains(r.body, `<nav class="nav" aria-label="Main">`) {
		t.Fatal("signed-in 404 page does not lead back to the leads within the app's navigation")
	}
	if r = s.browser(t).get("/no/such/page"); strings.Contains(r.body, `aria-label="Main"`) {
		t.Fatal("a signed-out 404 shows the app's navigation")
	}
	// An error on a page the app routes (an unknown rule) keeps the navigation too.
	if r = b.get("/rules/999999"); !strings.Contains(r.body, `aria-label="Main"`) {
		t.Fatalf("a 404 inside the app lost its navigation")
	}
}

func TestReadyzFailsWithoutDatabase(t *testing.T) {
	s := newServer(t, nil)
	s.Store.Close()
	assertStatus(t, s.browser(t).get("/readyz"), http.StatusServiceUnavailable)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
