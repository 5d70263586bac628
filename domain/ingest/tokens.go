// Package ingest is the path of an event: the acceptor stores a batch durably before the
// endpoint acknowledges it; processor workers turn stored events into leads and activities;
// the resolver asks Braze who id-only users are. Read this package to follow an event.
package ingest

import (
	"context"
	"crypto/subtle"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/peregrine-scoring/peregrine/domain/auth"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/store"
)

// Tokens look like pgc_<workspace id, base 36>_<43 random characters>: the token alone names
// its workspace, and the lookup stays inside that workspace's rows. Braze accepts the
// characters (RFC 6750 allows _ and -).
const tokenPrefix = "pgc_"

// ErrUnauthorized means a missing, unknown or revoked token.
var ErrUnauthorized = errors.New("missing, unknown or revoked API token")

// AuthError carries the workspace a bad token named, when it named one, for the status panel;
// Expired tells an expired token from an unknown or revoked one.
type AuthError struct {
	WorkspaceID int64
	Expired     bool
}

func (e *AuthError) Error() string { return ErrUnauthorized.Error() }
func (e *AuthError) Unwrap() error { return ErrUnauthorized }

// CreateToken makes a Currents or Segment token for the workspace and returns it once; only its hash is kept.
func CreateToken(ctx context.Context, st *store.Store, workspaceID int64, kind, label string, createdBy *int64) (string, model.APIToken, error) {
	label = strings.TrimSpace(label)
	if label == "" || utf8.RuneCountInString(label) > 100 {
		return "", model.APIToken{}, errors.New("give the token a label of 1 to 100 characters, e.g. “Braze production”")
	}
	if kind != model.TokenKindCurrents && kind != model.TokenKindSegment {
		return "", model.APIToken{}, errors.New("unknown token kind " + strconv.Quote(kind) + "; the kinds are currents and segment")
	}
	token, err := newToken(workspaceID)
	if err != nil {
		return "", model.APIToken{}, err
	}
	t, err := st.CreateAPIToken(ctx, model.APIToken{WorkspaceID: workspaceID, Kind: kind, Label: label,
		TokenHash: auth.HashToken(token), Hint: token[len(token)-4:], CreatedBy: createdBy})
	return token, t, err
}

// Authenticate finds the active token of the given kind behind a bearer value.
func Authenticate(ctx context.Context, st *store.Store, bearer, kind string) (model.APIToken, error) {
	rest, ok := strings.CutPrefix(bearer, tokenPrefix)
	if !ok {
		return model.APIToken{}, &AuthError{}
	}
	wsPart, _, ok := strings.Cut(rest, "_")
	workspaceID, err := strconv.ParseInt(wsPart, 36, 64)
	if !ok || err != nil || workspaceID <= 0 {
		return model.APIToken{}, &AuthError{}
	}
	hash := auth.HashToken(bearer)
	t, err := st.APITokenByHash(ctx, workspaceID, hash)
	if errors.Is(err, store.ErrNotFound) {
		if _, werr := st.WorkspaceByID(ctx, workspaceID); werr != nil {
			return t, &AuthError{}
		}
		return t, &AuthError{WorkspaceID: workspaceID}
	}
	if err != nil {
		return t, err
	}
	if subtle.ConstantTimeCompare(t.TokenHash, hash) != 1 || t.RevokedAt != nil || t.Kind != kind {
		return t, &AuthError{WorkspaceID: workspaceID}
	}
	if t.ExpiresAt != nil && !time.Now().Before(*t.ExpiresAt) {
		return t, &AuthError{WorkspaceID: workspaceID, Expired: true}
	}
	return t, nil
}

// APITokenSpec is what an open-API token is made with.
type APITokenSpec struct {
	Label     string
	Scopes    []string
	Expires   *time.Time // nil: never
	CreatedBy *int64
	// ActsFor limits the token to what that user may see (nil: every lead).
	ActsFor *int64
}

// CreateAPIToken makes an open-API token with scopes, an optional expiry and an optional user
// it acts for, returned once. The error says what to fix.
func CreateAPIToken(ctx context.Context, st *store.Store, workspaceID int64, spec APITokenSpec) (string, model.APIToken, error) {
	label, scopes, expires := strings.TrimSpace(spec.Label), spec.Scopes, spec.Expires
	if label == "" || utf8.RuneCountInString(label) > 100 {
		return "", model.APIToken{}, errors.New("give the token a label of 1 to 100 characters, e.g. “CRM sync”")
	}
	if len(scopes) == 0 {
		return "", model.APIToken{}, errors.New("choose at least one scope")
	}
	seen := map[string]bool{}
	var clean []string
	for _, sc := range scopes {
		if !slices.Contains(model.Scopes, sc) {
			return "", model.APIToken{}, errors.New("unknown scope " + strconv.Quote(sc) + "; the scopes are " + strings.Join(model.Scopes, ", "))
		}
		if !seen[sc] {
			seen[sc] = true
			clean = append(clean, sc)
		}
	}
	if expires != nil && !expires.After(time.Now()) {
		return "", model.APIToken{}, errors.New("the expiry must be in the future")
	}
	if spec.ActsFor != nil {
		u, err := st.UserByID(ctx, workspaceID, *spec.ActsFor)
		if err != nil || !u.Active {
			return "", model.APIToken{}, errors.New("the user a token acts for must be an active user of the workspace")
		}
		if !u.Role.Can(model.PermManageMarketing) && (slices.Contains(clean, model.ScopeRulesRead) || slices.Contains(clean, model.ScopeRulesWrite)) {
			return "", model.APIToken{}, errors.New("a token acting for a sales user cannot have the rules scopes (sales users do not manage rules)")
		}
	}
	token, err := newToken(workspaceID)
	if err != nil {
		return "", model.APIToken{}, err
	}
	t, err := st.CreateAPIToken(ctx, model.APIToken{WorkspaceID: workspaceID, Kind: model.TokenKindAPI, Label: label,
		TokenHash: auth.HashToken(token), Hint: token[len(token)-4:], CreatedBy: spec.CreatedBy, Scopes: clean, ExpiresAt: expires, ActsFor: spec.ActsFor})
	return token, t, err
}

// newToken makes a token naming its workspace.
func newToken(workspaceID int64) (string, error) {
	random, _, err := auth.NewToken()
	if err != nil {
		return "", err
	}
	return tokenPrefix + strconv.FormatInt(workspaceID, 36) + "_" + random, nil
}
