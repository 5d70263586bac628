package workspaces

import (
	"context"
	"errors"
	"time"

	"github.com/peregrine-scoring/peregrine/domain/auth"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/store"
)

// PasswordResetLifetime is how long a password-reset link works.
const PasswordResetLifetime = time.Hour

// MaxResetsPerHour bounds the reset links one account is sent in an hour, whoever asks: a
// stranger typing someone's address cannot fill their inbox.
const MaxResetsPerHour = 3

var (
	// ErrResetUnknown means the link matches no password reset.
	ErrResetUnknown = errors.New("this password-reset link is not valid; ask for a new one")
	// ErrResetUsed means the link was used, or a newer one was, or it is past its hour.
	ErrResetUsed = errors.New("this password-reset link was used already or has expired (links work once, for one hour); ask for a new one")
)

// ResetLink is a password-reset link to mail to an account's holder.
type ResetLink struct {
	User      model.User
	Workspace model.Workspace
	Token     string
}

// RequestPasswordReset makes a single-use link for each active account with the email and
// hands it to send inside the transaction that stores it (send queues the mail, so link and
// mail exist together or not at all). Whether any account exists is never told: callers
// answer the same either way. Only an address that is not one is an error.
func (s *Service) RequestPasswordReset(ctx context.Context, email string, send func(tx *store.Tx, link ResetLink) error) error {
	email = NormalizeEmail(email)
	errs := FieldErrors{}
	checkEmail(errs, "email", email)
	if err := errs.orNil(); err != nil {
		return err
	}
	accounts, err := s.Store.LoginCandidates(ctx, email)
	if err != nil {
		return err
	}
	now := s.Now()
	for _, u := range accounts {
		n, err := s.Store.PasswordResetsSince(ctx, u.WorkspaceID, u.ID, now.Add(-time.Hour))
		if err != nil {
			return err
		}
		if n >= MaxResetsPerHour {
			continue
		}
		ws, err := s.Store.WorkspaceByID(ctx, u.WorkspaceID)
		if err != nil {
			return err
		}
		token, hash, err := auth.NewToken()
		if err != nil {
			return err
		}
		err = s.Store.InTx(ctx, func(tx *store.Tx) error {
			if err := tx.CreatePasswordReset(ctx, model.PasswordReset{WorkspaceID: u.WorkspaceID, UserID: u.ID, TokenHash: hash,
				ExpiresAt: now.Add(PasswordResetLifetime)}); err != nil {
				return err
			}
			return send(tx, ResetLink{User: u, Workspace: ws, Token: token})
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// PasswordReset finds the account behind a reset link that still works.
func (s *Service) PasswordReset(ctx context.Context, slug, token string) (model.Workspace, model.PasswordReset, error) {
	ws, err := s.Store.WorkspaceBySlug(ctx, slug)
	if errors.Is(err, store.ErrNotFound) {
		return ws, model.PasswordReset{}, ErrResetUnknown
	}
	if err != nil {
		return ws, model.PasswordReset{}, err
	}
	r, err := s.Store.PasswordResetByTokenHash(ctx, ws.ID, auth.HashToken(token))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return ws, r, ErrResetUnknown
	case err != nil:
		return ws, r, err
	case r.UsedAt != nil || !r.ExpiresAt.After(s.Now()):
		return ws, r, ErrResetUsed
	}
	return ws, r, nil
}

// ResetPassword sets a new password through a reset link, checked like any new password. The
// link and the account's other links stop working, and every session of the account ends.
func (s *Service) ResetPassword(ctx context.Context, slug, token, password string) (model.User, error) {
	ws, r, err := s.PasswordReset(ctx, slug, token)
	if err != nil {
		return model.User{}, err
	}
	u, err := s.Store.UserByID(ctx, ws.ID, r.UserID)
	if err != nil {
		return model.User{}, mapUserErr(err)
	}
	errs := FieldErrors{}
	checkPassword(errs, "password", password, u.Email, u.Name)
	if err := errs.orNil(); err != nil {
		return model.User{}, err
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		return model.User{}, err
	}
	u, err = s.Store.UsePasswordReset(ctx, ws.ID, r.ID, hash, s.Now())
	if errors.Is(err, store.ErrNotFound) {
		return model.User{}, ErrResetUsed
	}
	return u, err
}
