// Package workspaces is the business of tenants and their people: sign-up, sign-in with
// throttling, invitations, roles and workspace settings.
package workspaces

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/auth"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/scoring"
	"github.com/peregrine-scoring/peregrine/domain/store"
)

// Login throttling: this many failures per email and client address within the window lock
// that pair out until the oldest failure leaves the window.
const (
	MaxLoginFailures   = 10
	LoginFailureWindow = 15 * time.Minute
)

// InvitationLifetime is how long an invitation link works.
const InvitationLifetime = 7 * 24 * time.Hour

var (
	// ErrBadCredentials means the email or password is wrong; which one is not said.
	ErrBadCredentials = errors.New("the email or password is not right")
	// ErrSignUpClosed means this server only admits people by invitation.
	ErrSignUpClosed = errors.New("sign-up is closed on this server; ask an admin of your workspace for an invitation")
	// ErrInvitationUnknown means the link does not match any invitation.
	ErrInvitationUnknown = errors.New("this invitation link is not valid; ask your admin for a new one")
	// ErrInvitationExpired means the link is older than seven days.
	ErrInvitationExpired = errors.New("this invitation has expired; ask your admin to invite you again")
	// ErrInvitationUsed means the link was already used or revoked.
	ErrInvitationUsed = errors.New("this invitation was already used or withdrawn; sign in, or ask your admin for a new one")
	// ErrNotFound means the user or item does not exist in this workspace.
	ErrNotFound = errors.New("not found in this workspace")
)

// ThrottledError says when a throttled client may try again.
type ThrottledError struct{ RetryAt time.Time }

func (e *ThrottledError) Error() string {
	return "too many failed sign-ins; try again after " + e.RetryAt.UTC().Format("15:04 MST")
}

// Service carries out the workspace use cases.
type Service struct {
	Store *store.Store
	// OpenSignup keeps sign-up open after the first workspace exists.
	OpenSignup bool
	Now        func() time.Time
}

// New returns a Service on st.
func New(st *store.Store, openSignup bool) *Service {
	return &Service{Store: st, OpenSignup: openSignup, Now: time.Now}
}

// SignUpInput is what the sign-up form asks.
type SignUpInput struct {
	WorkspaceName string
	Name          string
	Email         string
	Password      string
}

// SignUpOpen reports whether anyone may create a workspace now.
func (s *Service) SignUpOpen(ctx context.Context) (bool, error) {
	if s.OpenSignup {
		return true, nil
	}
	n, err := s.Store.CountWorkspaces(ctx)
	return n == 0, err
}

// SignUp creates a workspace and its first admin, if sign-up is open.
func (s *Service) SignUp(ctx context.Context, in SignUpInput) (model.Workspace, model.User, error) {
	open, err := s.SignUpOpen(ctx)
	if err != nil {
		return model.Workspace{}, model.User{}, err
	}
	if !open {
		return model.Workspace{}, model.User{}, ErrSignUpClosed
	}
	return s.CreateWorkspace(ctx, in)
}

// CreateWorkspace creates a workspace and its first admin whatever the sign-up policy: the
// operator's command-line path.
func (s *Service) CreateWorkspace(ctx context.Context, in SignUpInput) (model.Workspace, model.User, error) {
	in.WorkspaceName = strings.TrimSpace(in.WorkspaceName)
	in.Name = strings.TrimSpace(in.Name)
	in.Email = NormalizeEmail(in.Email)
	errs := FieldErrors{}
	checkName(errs, "workspace", in.WorkspaceName, "your company or team name")
	checkName(errs, "name", in.Name, "your name")
	checkEmail(errs, "email", in.Email)
	checkPassword(errs, "password", in.Password, in.Email, in.Name, in.WorkspaceName)
	if len(errs) == 0 {
		// One person, one sign-in: an email that already signs in somewhere would make the
		// login ambiguous. Teams add people by invitation instead.
		existing, err := s.Store.LoginCandidates(ctx, in.Email)
		if err != nil {
			return model.Workspace{}, model.User{}, err
		}
		if len(existing) > 0 {
			errs["email"] = "An account with this email already exists. Sign in instead, or use another email."
		}
	}
	if err := errs.orNil(); err != nil {
		return model.Workspace{}, model.User{}, err
	}
	hash, err := auth.HashPassword(in.Password)
	if err != nil {
		return model.Workspace{}, model.User{}, err
	}
	return s.Store.CreateWorkspaceWithAdmin(ctx,
		model.Workspace{Slug: Slugify(in.WorkspaceName), Name: in.WorkspaceName},
		model.User{Email: in.Email, Name: in.Name, PasswordHash: hash}, scoring.NewWorkspaceSeed())
}

// Login checks the credentials of a person at clientIP. When the email belongs to several
// workspaces, the one whose password matches wins; among several matches, the one used last.
func (s *Service) Login(ctx context.Context, email, password, clientIP string) (model.User, error) {
	email = NormalizeEmail(email)
	key := email + "|" + clientIP
	now := s.Now()
	n, oldest, err := s.Store.LoginFailuresSince(ctx, key, now.Add(-LoginFailureWindow))
	if err != nil {
		return model.User{}, err
	}
	if n >= MaxLoginFailures {
		return model.User{}, &ThrottledError{RetryAt: oldest.Add(LoginFailureWindow)}
	}
	if email == "" || password == "" || len(password) > auth.MaxPasswordLength {
		return model.User{}, ErrBadCredentials
	}
	candidates, err := s.Store.LoginCandidates(ctx, email)
	if err != nil {
		return model.User{}, err
	}
	if len(candidates) == 0 {
		auth.BurnPasswordCheck(password)
	}
	for _, u := range candidates {
		ok, err := auth.VerifyPassword(u.PasswordHash, password)
		if err != nil {
			return model.User{}, fmt.Errorf("user %d: %w", u.ID, err)
		}
		if ok {
			if err := s.Store.ClearLoginFailures(ctx, key); err != nil {
				return model.User{}, err
			}
			if err := s.Store.RecordLogin(ctx, u.WorkspaceID, u.ID); err != nil {
				return model.User{}, err
			}
			return u, nil
		}
	}
	if err := s.Store.RecordLoginFailure(ctx, key, now); err != nil {
		return model.User{}, err
	}
	return model.User{}, ErrBadCredentials
}

// Invite creates an invitation and returns its token, which is shown once and never stored.
func (s *Service) Invite(ctx context.Context, workspaceID int64, inviter model.User, email string, role model.Role) (string, model.Invitation, error) {
	email = NormalizeEmail(email)
	errs := FieldErrors{}
	checkEmail(errs, "email", email)
	if !role.Valid() {
		errs["role"] = "Choose a role: admin, marketer or sales."
	}
	if len(errs) == 0 {
		if u, err := s.Store.UserByEmail(ctx, workspaceID, email); err == nil {
			if u.Active {
				errs["email"] = u.Name + " is already a member of this workspace."
			} else {
				errs["email"] = u.Name + " has a deactivated account here; reactivate it in the list below instead."
			}
		} else if !errors.Is(err, store.ErrNotFound) {
			return "", model.Invitation{}, err
		}
	}
	if err := errs.orNil(); err != nil {
		return "", model.Invitation{}, err
	}
	token, hash, err := auth.NewToken()
	if err != nil {
		return "", model.Invitation{}, err
	}
	inv, err := s.Store.CreateInvitation(ctx, model.Invitation{
		WorkspaceID: workspaceID, Email: email, Role: role, TokenHash: hash,
		InvitedBy: inviter.ID, ExpiresAt: s.Now().Add(InvitationLifetime),
	})
	return token, inv, err
}

// Invitation finds the pending invitation behind a link.
func (s *Service) Invitation(ctx context.Context, slug, token string) (model.Workspace, model.Invitation, error) {
	ws, err := s.Store.WorkspaceBySlug(ctx, slug)
	if errors.Is(err, store.ErrNotFound) {
		return ws, model.Invitation{}, ErrInvitationUnknown
	}
	if err != nil {
		return ws, model.Invitation{}, err
	}
	inv, err := s.Store.InvitationByTokenHash(ctx, ws.ID, auth.HashToken(token))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return ws, inv, ErrInvitationUnknown
	case err != nil:
		return ws, inv, err
	case inv.AcceptedAt != nil || inv.RevokedAt != nil:
		return ws, inv, ErrInvitationUsed
	case !s.Now().Before(inv.ExpiresAt):
		return ws, inv, ErrInvitationExpired
	}
	return ws, inv, nil
}

// AcceptInvitation creates the invited person's account.
func (s *Service) AcceptInvitation(ctx context.Context, slug, token, name, password string) (model.User, error) {
	ws, inv, err := s.Invitation(ctx, slug, token)
	if err != nil {
		return model.User{}, err
	}
	name = strings.TrimSpace(name)
	errs := FieldErrors{}
	checkName(errs, "name", name, "your name")
	checkPassword(errs, "password", password, inv.Email, name, ws.Name, ws.Slug)
	if err := errs.orNil(); err != nil {
		return model.User{}, err
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		return model.User{}, err
	}
	u, err := s.Store.AcceptInvitation(ctx, ws.ID, inv.TokenHash, model.User{Name: name, PasswordHash: hash}, s.Now())
	switch {
	case errors.Is(err, store.ErrInvitationUsed):
		return u, ErrInvitationUsed
	case errors.Is(err, store.ErrInvitationExpired):
		return u, ErrInvitationExpired
	case errors.Is(err, store.ErrDuplicate):
		return u, FieldErrors{"name": inv.Email + " already has an account in this workspace; sign in instead."}
	}
	return u, err
}

// RevokeInvitation withdraws a pending invitation.
func (s *Service) RevokeInvitation(ctx context.Context, workspaceID, invitationID int64) error {
	err := s.Store.RevokeInvitation(ctx, workspaceID, invitationID)
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotFound
	}
	return err
}

// ErrLastAdmin keeps a workspace administrable.
var ErrLastAdmin = errors.New("a workspace needs at least one active admin; make someone else admin first")

// ErrSelf stops admins from locking themselves out by accident.
var ErrSelf = errors.New("you cannot deactivate your own account")

// ChangeRole gives a user another role.
func (s *Service) ChangeRole(ctx context.Context, workspaceID, userID int64, role model.Role) error {
	if !role.Valid() {
		return FieldErrors{"role": "Choose a role: admin, marketer or sales."}
	}
	return mapUserErr(s.Store.SetUserRole(ctx, workspaceID, userID, role))
}

// SetActive deactivates or reactivates a user. A deactivated user's sessions stop working at
// their next request.
func (s *Service) SetActive(ctx context.Context, workspaceID int64, actor model.User, userID int64, active bool) error {
	if !active && actor.ID == userID {
		return ErrSelf
	}
	return mapUserErr(s.Store.SetUserActive(ctx, workspaceID, userID, active))
}

func mapUserErr(err error) error {
	switch {
	case errors.Is(err, store.ErrLastAdmin):
		return ErrLastAdmin
	case errors.Is(err, store.ErrNotFound):
		return ErrNotFound
	}
	return err
}

// UpdateSettings changes the workspace's name and public URL.
func (s *Service) UpdateSettings(ctx context.Context, workspaceID int64, name, publicURL string) error {
	name = strings.TrimSpace(name)
	errs := FieldErrors{}
	checkName(errs, "name", name, "a workspace name")
	publicURL, msg := CheckPublicURL(publicURL)
	if msg != "" {
		errs["public_url"] = msg
	}
	if err := errs.orNil(); err != nil {
		return err
	}
	return s.Store.UpdateWorkspace(ctx, workspaceID, name, publicURL)
}

// ChangePassword sets a new password for u after checking the current one, and ends every
// session of u (the caller signs the browser that asked in again). Wrong current passwords
// are throttled like sign-ins, so a borrowed session cannot be used to guess the password.
func (s *Service) ChangePassword(ctx context.Context, u model.User, current, next string) error {
	key := fmt.Sprintf("password-change|%d|%d", u.WorkspaceID, u.ID)
	now := s.Now()
	n, oldest, err := s.Store.LoginFailuresSince(ctx, key, now.Add(-LoginFailureWindow))
	if err != nil {
		return err
	}
	if n >= MaxLoginFailures {
		return &ThrottledError{RetryAt: oldest.Add(LoginFailureWindow)}
	}
	errs := FieldErrors{}
	ok := false
	if current != "" && len(current) <= auth.MaxPasswordLength {
		if ok, err = auth.VerifyPassword(u.PasswordHash, current); err != nil {
			return err
		}
	}
	if !ok {
		errs["current_password"] = "That is not your current password."
		if err := s.Store.RecordLoginFailure(ctx, key, now); err != nil {
			return err
		}
	}
	checkPassword(errs, "new_password", next, u.Email, u.Name)
	if errs["new_password"] == "" && next == current {
		errs["new_password"] = "Choose a password different from the current one."
	}
	if err := errs.orNil(); err != nil {
		return err
	}
	hash, err := auth.HashPassword(next)
	if err != nil {
		return err
	}
	if err := s.Store.ClearLoginFailures(ctx, key); err != nil {
		return err
	}
	return mapUserErr(s.Store.SetUserPassword(ctx, u.WorkspaceID, u.ID, hash))
}
