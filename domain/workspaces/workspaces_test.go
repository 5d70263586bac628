package workspaces

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const goodPassword = "long enough password"

func newService(t *testing.T) (*Service, *time.Time) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	s := New(pgtest.NewStore(t), false)
	s.Now = func() time.Time { return now }
	return s, &now
}

func signUp(t *testing.T, s *Service) (model.Workspace, model.User) {
	t.Helper()
	ws, u, err := s.SignUp(context.Background(), SignUpInput{WorkspaceName: "Acme Corp", Name: "Ada", Email: " Ada@Acme.com ", Password: goodPassword})
	if err != nil {
		t.Fatal(err)
	}
	return ws, u
}

func TestSignUpValidation(t *testing.T) {
	s, _ := newService(t)
	ctx := context.Background()
	cases := []struct {
		in    SignUpInput
		field string
	}{
		{SignUpInput{WorkspaceName: "", Name: "A", Email: "a@b.co", Password: goodPassword}, "workspace"},
		{SignUpInput{WorkspaceName: "W", Name: strings.Repeat("x", 201), Email: "a@b.co", Password: goodPassword}, "name"},
		{SignUpInput{WorkspaceName: "W", Name: "A", Email: "not-an-email", Password: goodPassword}, "email"},
		{SignUpInput{WorkspaceName: "W", Name: "A", Email: "a@localhost", Password: goodPassword}, "email"},
		{SignUpInput{WorkspaceName: "W", Name: "A", Email: "Ann <a@b.co>", Password: goodPassword}, "email"},
		{SignUpInput{WorkspaceName: "W", Name: "A", Email: "a@b.co", Password: "short"}, "password"},
	}
	for _, c := range cases {
		_, _, err := s.SignUp(ctx, c.in)
		var fe FieldErrors
		if !errors.As(err, &fe) || fe[c.field] == "" {
			t.Errorf("%+v: err = %v, want a message on %s", c.in, err, c.field)
		}
	}
	if n, _ := s.Store.CountWorkspaces(ctx); n != 0 {
		t.Fatalf("invalid sign-ups created %d workspaces", n)
	}
	// 200 characters is the limit, not beyond.
	if _, _, err := s.SignUp(ctx, SignUpInput{WorkspaceName: strings.Repeat("w", 200), Name: "A", Email: "a@b.co", Password: goodPassword}); err != nil {
		t.Fatalf("200-character name rejected: %v", err)
	}
}

func TestSignUpClosesAfterFirstWorkspace(t *testing.T) {
	s, _ := newService(t)
	ctx := context.Background()
	ws, u := signUp(t, s)
	if ws.Slug != "acme-corp" || u.Email != "ada@acme.com" || u.Role != model.RoleAdmin {
		t.Fatalf("ws=%+v user=%+v", ws, u)
	}
	_, _, err := s.SignUp(ctx, SignUpInput{WorkspaceName: "Other", Name: "B", Email: "b@b.co", Password: goodPassword})
	if !errors.Is(err, ErrSignUpClosed) {
		t.Fatalf("second sign-up: %v", err)
	}
	s.OpenSignup = true
	if _, _, err := s.SignUp(ctx, SignUpInput{WorkspaceName: "Other", Name: "B", Email: "b@b.co", Password: goodPassword}); err != nil {
		t.Fatalf("open sign-up: %v", err)
	}
}

func TestLoginAndThrottle(t *testing.T) {
	s, now := newService(t)
	ctx := context.Background()
	_, u := signUp(t, s)
	got, err := s.Login(ctx, "ADA@acme.com", goodPassword, "10.0.0.1")
	if err != nil || got.ID != u.ID {
		t.Fatalf("login: %v", err)
	}
	for i := 0; i < MaxLoginFailures; i++ {
		if _, err := s.Login(ctx, "ada@acme.com", "wrong password!", "10.0.0.1"); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("failure %d: %v", i, err)
		}
		*now = now.Add(time.Second)
	}
	_, err = s.Login(ctx, "ada@acme.com", goodPassword, "10.0.0.1")
	var th *ThrottledError
	if !errors.As(err, &th) {
		t.Fatalf("11th attempt: %v, want throttled", err)
	}
	if want := time.Date(2026, 11, 21, 12, 15, 0, 0, time.UTC); !th.RetryAt.Equal(want) {
		t.Fatalf("retry at %v, want %v", th.RetryAt, want)
	}
	// Another address is not locked out by someone else's guessing.
	if _, err := s.Login(ctx, "ada@acme.com", goodPassword, "10.0.0.2"); err != nil {
		t.Fatalf("other IP: %v", err)
	}
	*now = now.Add(LoginFailureWindow)
	if _, err := s.Login(ctx, "ada@acme.com", goodPassword, "10.0.0.1"); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	if _, err := s.Login(ctx, "nobody@acme.com", goodPassword, "10.0.0.1"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("unknown email: %v", err)
	}
}

func TestInvitationFlow(t *testing.T) {
	s, now := newService(t)
	ctx := context.Background()
	ws, admin := signUp(t, s)

	var fe FieldErrors
	if _, _, err := s.Invite(ctx, ws.ID, admin, "ada@acme.com", model.RoleSales); !errors.As(err, &fe) || fe["email"] == "" {
		t.Fatalf("inviting a member: %v", err)
	}
	if _, _, err := s.Invite(ctx, ws.ID, admin, "x@acme.com", "owner"); !errors.As(err, &fe) || fe["role"] == "" {
		t.Fatalf("bad role: %v", err)
	}
	token, _, err := s.Invite(ctx, ws.ID, admin, "Sam@Acme.com", model.RoleSales)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Invitation(ctx, ws.Slug, token+"x"); !errors.Is(err, ErrInvitationUnknown) {
		t.Fatalf("unknown token: %v", err)
	}
	if _, _, err := s.Invitation(ctx, "nope", token); !errors.Is(err, ErrInvitationUnknown) {
		t.Fatalf("unknown workspace: %v", err)
	}
	if _, err := s.AcceptInvitation(ctx, ws.Slug, token, "Sam", "short"); !errors.As(err, &fe) || fe["password"] == "" {
		t.Fatalf("short password: %v", err)
	}
	u, err := s.AcceptInvitation(ctx, ws.Slug, token, "Sam", goodPassword)
	if err != nil || u.Role != model.RoleSales || u.Email != "sam@acme.com" {
		t.Fatalf("accept: %+v %v", u, err)
	}
	if _, err := s.AcceptInvitation(ctx, ws.Slug, token, "Sam", goodPassword); !errors.Is(err, ErrInvitationUsed) {
		t.Fatalf("reuse: %v", err)
	}

	late, _, _ := s.Invite(ctx, ws.ID, admin, "late@acme.com", model.RoleMarketer)
	*now = now.Add(InvitationLifetime)
	if _, err := s.AcceptInvitation(ctx, ws.Slug, late, "Late", goodPassword); !errors.Is(err, ErrInvitationExpired) {
		t.Fatalf("expired: %v", err)
	}
}

func TestRolesAndDeactivation(t *testing.T) {
	s, _ := newService(t)
	ctx := context.Background()
	ws, admin := signUp(t, s)
	if err := s.ChangeRole(ctx, ws.ID, admin.ID, model.RoleSales); !errors.Is(err, ErrLastAdmin) {
		t.Fatalf("demote last admin: %v", err)
	}
	if err := s.SetActive(ctx, ws.ID, admin, admin.ID, false); !errors.Is(err, ErrSelf) {
		t.Fatalf("self-deactivate: %v", err)
	}
	if err := s.ChangeRole(ctx, ws.ID, 9999, model.RoleSales); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown user: %v", err)
	}
	token, _, _ := s.Invite(ctx, ws.ID, admin, "m@acme.com", model.RoleMarketer)
	m, err := s.AcceptInvitation(ctx, ws.Slug, token, "Mia", goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetActive(ctx, ws.ID, admin, m.ID, false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Login(ctx, "m@acme.com", goodPassword, "1.1.1.1"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("deactivated login: %v", err)
	}
}

func TestUpdateSettings(t *testing.T) {
	s, _ := newService(t)
	ctx := context.Background()
	ws, _ := signUp(t, s)
	var fe FieldErrors
	for _, bad := range []string{"ftp://x.com", "peregrine.example.com", "https://", "https://u:p@x.com"} {
		if err := s.UpdateSettings(ctx, ws.ID, "Acme", bad); !errors.As(err, &fe) || fe["public_url"] == "" {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if err := s.UpdateSettings(ctx, ws.ID, "Acme Inc", "https://scoring.acme.com/"); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Store.WorkspaceByID(ctx, ws.ID)
	if got.Name != "Acme Inc" || got.PublicURL != "https://scoring.acme.com" {
		t.Fatalf("saved %+v", got)
	}
}

func TestSlugify(t *testing.T) {
	for in, want := range map[string]string{"Acme Corp": "acme-corp", "  Ünïcode!! ": "unicode", "Zürich AG": "zurich-ag", "東京": "workspace", "***": "workspace", "a--b": "a-b"} {
		if got := Slugify(in); got != want {
			t.Errorf("Slugify(%q) = %q, want %q", in, got, want)
		}
	}
}
