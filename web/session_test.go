package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/peregrine-scoring/peregrine/domain/store/pgtest"
	"github.com/peregrine-scoring/peregrine/handlers"
)

// copyOf is another browser holding a copy of b's session cookie, as a thief would.
func (b *browser) copyOf(s testServer) *browser {
	c := b.sessionCookie()
	if c == nil {
		b.t.Fatal("no session cookie to copy")
	}
	thief := s.browser(b.t)
	u, _ := url.Parse(s.URL)
	thief.client.Jar.SetCookies(u, []*http.Cookie{{Name: c.Name, Value: c.Value, Path: "/"}})
	return thief
}

// signedIn reports whether the browser's session still works.
func (b *browser) signedIn() bool {
	b.t.Helper()
	r := b.get("/profile")
	switch {
	case r.status == http.StatusOK:
		return true
	case r.status == http.StatusSeeOther && strings.HasPrefix(r.header.Get("Location"), "/login"):
		return false
	}
	b.t.Fatalf("GET /profile: %d", r.status)
	return false
}

func (s testServer) signIn(t *testing.T, email, pw string) *browser {
	t.Helper()
	b := s.browser(t)
	if r := b.post("/login", url.Values{"email": {email}, "password": {pw}}); r.status != http.StatusSeeOther {
		t.Fatalf("sign-in of %s: %d", email, r.status)
	}
	return b
}

var sessionCookieShape = regexp.MustCompile(`^[0-9]+\.[A-Za-z0-9_-]{43}$`)

// TestSessionRevocation: a session cookie copied before sign-out, a password change, a role
// change or a deactivation is refused afterwards; "Sign out everywhere" ends every session
// of the person; a single other device can be signed out; the cookie holds only a random id.
func TestSessionRevocation(t *testing.T) {
	s, ada, acme, _, _ := acmeAndGlobex(t)
	ctx := context.Background()
	if v := ada.sessionCookie().Value; !sessionCookieShape.MatchString(v) || !strings.HasPrefix(v, strconv.FormatInt(acme.ID, 10)+".") {
		t.Fatalf("the session cookie is not a workspace id and a random token: %q", v)
	}

	t.Run("sign-out", func(t *testing.T) {
		b := s.signIn(t, "ada@acme.example", password)
		thief := b.copyOf(s)
		if !thief.signedIn() {
			t.Fatal("the copied cookie does not work before sign-out: the test proves nothing")
		}
		assertStatus(t, b.post("/logout", url.Values{}), http.StatusSeeOther)
		if thief.signedIn() || b.signedIn() {
			t.Fatal("a copy of a signed-out session still works")
		}
		if r := b.get("/login?signed_out=1"); !strings.Contains(r.body, "You are signed out.") {
			t.Fatal("the sign-in page does not say the person signed out")
		}
	})

	t.Run("password change", func(t *testing.T) {
		b := s.signIn(t, "ada@acme.example", password)
		other := s.signIn(t, "ada@acme.example", password)
		thief := b.copyOf(s)
		r := b.post("/profile/password", url.Values{"current_password": {"wrong current password"}, "new_password": {"quiet trains at dawn 42"}})
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "not your current password") || !thief.signedIn() {
			t.Fatalf("a wrong current password: %d, or sessions ended anyway", r.status)
		}
		r = b.post("/profile/password", url.Values{"current_password": {password}, "new_password": {"password1234"}})
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "too easy to guess") {
			t.Fatalf("a common new password: %d", r.status)
		}
		assertStatus(t, b.post("/profile/password", url.Values{"current_password": {password}, "new_password": {"quiet trains at dawn 42"}}), http.StatusSeeOther)
		if !b.signedIn() {
			t.Fatal("the browser that changed the password was signed out")
		}
		if thief.signedIn() || other.signedIn() {
			t.Fatal("a session from before the password change still works")
		}
		if b.sessionCookie().Value == thief.sessionCookie().Value {
			t.Fatal("the session token was not replaced")
		}
		s.signIn(t, "ada@acme.example", "quiet trains at dawn 42")
		// Back to the shared test password for the cases below.
		assertStatus(t, b.post("/profile/password", url.Values{"current_password": {"quiet trains at dawn 42"}, "new_password": {password}}), http.StatusSeeOther)
	})

	if ada.signedIn() {
		t.Fatal("the password change left the first session signed in")
	}
	ada = s.signIn(t, "ada@acme.example", password)
	link := invite(t, ada, "mo@acme.example", "marketer")
	mo := s.browser(t)
	assertStatus(t, mo.post(link.Path, url.Values{"name": {"Mo Marketer"}, "password": {"mo plants tomatoes in june"}}), http.StatusSeeOther)
	var moID int64
	s.DB.QueryRow(`SELECT id FROM users WHERE email = 'mo@acme.example'`).Scan(&moID)
	userPath := "/settings/users/" + strconv.FormatInt(moID, 10)

	t.Run("role change", func(t *testing.T) {
		b := s.signIn(t, "mo@acme.example", "mo plants tomatoes in june")
		thief := b.copyOf(s)
		assertStatus(t, ada.post(userPath+"/role", url.Values{"role": {"sales"}}), http.StatusSeeOther)
		if thief.signedIn() || b.signedIn() {
			t.Fatal("a session from before a role change still works")
		}
		if !ada.signedIn() {
			t.Fatal("the admin who changed the role was signed out")
		}
	})

	t.Run("deactivation", func(t *testing.T) {
		b := s.signIn(t, "mo@acme.example", "mo plants tomatoes in june")
		thief := b.copyOf(s)
		assertStatus(t, ada.post(userPath+"/deactivate", url.Values{}), http.StatusSeeOther)
		if thief.signedIn() || b.signedIn() {
			t.Fatal("a session of a deactivated user still works")
		}
		assertStatus(t, ada.post(userPath+"/activate", url.Values{}), http.StatusSeeOther)
		if thief.signedIn() {
			t.Fatal("reactivating the user revived an old session")
		}
	})

	t.Run("one other device", func(t *testing.T) {
		here := s.signIn(t, "ada@acme.example", password)
		there := s.signIn(t, "ada@acme.example", password)
		page := here.get("/profile").body
		if strings.Count(page, "This device") != 1 || !strings.Contains(page, `id="session-list"`) {
			t.Fatalf("the session list does not mark this device once:\n%.3000s", page)
		}
		var thereID, moSession int64
		s.DB.QueryRow(`SELECT id FROM user_sessions WHERE workspace_id = $1 ORDER BY id DESC LIMIT 1`, acme.ID).Scan(&thereID)
		if !strings.Contains(page, "/profile/sessions/"+strconv.FormatInt(thereID, 10)+"/end") {
			t.Fatal("the other device has no sign-out button")
		}
		mine := s.signIn(t, "mo@acme.example", "mo plants tomatoes in june")
		s.DB.QueryRow(`SELECT id FROM user_sessions WHERE workspace_id = $1 AND user_id = $2`, acme.ID, moID).Scan(&moSession)
		assertStatus(t, here.post("/profile/sessions/"+strconv.FormatInt(moSession, 10)+"/end", url.Values{}), http.StatusNotFound)
		if !mine.signedIn() {
			t.Fatal("Ada ended Mo's session")
		}
		assertStatus(t, here.post("/profile/sessions/"+strconv.FormatInt(thereID, 10)+"/end", url.Values{}), http.StatusSeeOther)
		if there.signedIn() || !here.signedIn() {
			t.Fatal("ending the other device's session did not end just that one")
		}
		assertStatus(t, here.post("/profile/sessions/nope/end", url.Values{}), http.StatusBadRequest)
	})

	t.Run("sign out everywhere", func(t *testing.T) {
		phone, laptop := s.signIn(t, "ada@acme.example", password), s.signIn(t, "ada@acme.example", password)
		thief := phone.copyOf(s)
		r := laptop.post("/profile/sessions/end-all", url.Values{})
		if r.status != http.StatusSeeOther || r.header.Get("Location") != "/login?signed_out=everywhere" {
			t.Fatalf("sign out everywhere: %d %s", r.status, r.header.Get("Location"))
		}
		if phone.signedIn() || laptop.signedIn() || thief.signedIn() || ada.signedIn() {
			t.Fatal("a session survived signing out everywhere")
		}
		if n := pgtest.Count(t, s.DB, `SELECT count(*) FROM user_sessions WHERE workspace_id = $1 AND user_id = (SELECT id FROM users WHERE email = 'ada@acme.example')`, acme.ID); n != 0 {
			t.Fatalf("%d of Ada's sessions remain stored", n)
		}
		if !strings.Contains(laptop.get("/login?signed_out=everywhere").body, "signed out on every device") {
			t.Fatal("the sign-in page does not say so")
		}
	})

	t.Run("expiry and fixation", func(t *testing.T) {
		b := s.signIn(t, "ada@acme.example", password)
		pgtest.Exec(t, s.DB, `UPDATE user_sessions SET expires_at = now() - interval '1 second'`)
		if b.signedIn() {
			t.Fatal("an expired session works")
		}
		if n, err := s.Store.DeleteExpiredSessions(ctx); err != nil || n == 0 {
			t.Fatalf("the sweep deleted %d expired sessions (%v)", n, err)
		}
		planted := s.browser(t)
		u, _ := url.Parse(s.URL)
		fixed := strconv.FormatInt(acme.ID, 10) + "." + strings.Repeat("A", 43)
		planted.client.Jar.SetCookies(u, []*http.Cookie{{Name: handlers.SessionName, Value: fixed, Path: "/"}})
		planted.post("/login", url.Values{"email": {"ada@acme.example"}, "password": {password}})
		if planted.sessionCookie().Value == fixed || !planted.signedIn() {
			t.Fatal("signing in kept a token the browser had before")
		}
	})
}
