package handlers

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/gob"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/sessions"

	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/secrets"
	"github.com/peregrine-scoring/peregrine/domain/store"
)

// SessionStore keeps signed-in sessions in PostgreSQL for gorilla/sessions: the cookie holds
// only the workspace id and a random token, the table its keyed hash, the user and the
// session's values (sealed). Deleting the row — sign-out, "sign out everywhere", a password,
// role or activity change — ends the session at its next request, wherever the cookie is.
//
// Only signed-in sessions are stored: a visitor's values live for their request alone, so
// bots cannot fill the table.
type SessionStore struct {
	Store   *store.Store
	Box     *secrets.Box
	HashKey []byte // keys the token hash: a copy of the table cannot be turned into cookies
	Log     *slog.Logger
	// Idle ends a session unused this long; Lifetime ends any session this long after sign-in.
	Idle, Lifetime time.Duration
	// Cookie holds the cookie's attributes (Path, Secure, HttpOnly, SameSite).
	Cookie sessions.Options
}

// sessionRow is the stored session behind a *sessions.Session, kept in its Values under a key
// no form or handler uses; it is never written into the session's data.
type sessionRow struct{}

// touchEvery is how stale last_seen_at may get before a request updates it (one write per
// session per few minutes, not per request).
const touchEvery = 5 * time.Minute

// Get returns the request's session, loading it once per request.
func (st *SessionStore) Get(r *http.Request, name string) (*sessions.Session, error) {
	return sessions.GetRegistry(r).Get(st, name)
}

// New loads the session the request's cookie names, or starts an empty one.
func (st *SessionStore) New(r *http.Request, name string) (*sessions.Session, error) {
	s := sessions.NewSession(st, name)
	opts := st.Cookie
	s.Options, s.IsNew = &opts, true
	c, err := r.Cookie(name)
	if err != nil {
		return s, nil
	}
	ws, token, ok := parseSessionCookie(c.Value)
	if !ok {
		return s, nil
	}
	row, err := st.Store.SessionByToken(r.Context(), ws, st.hash(token))
	if errors.Is(err, store.ErrNotFound) {
		return s, nil
	}
	if err != nil {
		return s, err
	}
	if err := st.decode(row, s.Values); err != nil {
		st.Log.Warn("a session's values could not be read; they are dropped", "err", err)
	}
	s.Values[keyUserID], s.Values[keyWorkspaceID], s.Values[sessionRow{}] = row.UserID, row.WorkspaceID, row.ID
	s.ID, s.IsNew = c.Value, false
	if time.Since(row.LastSeenAt) > touchEvery {
		err = st.Store.TouchSession(r.Context(), row.WorkspaceID, row.ID, st.expiry(row.CreatedAt), clip(r.UserAgent(), 300), clip(clientIP(r), 64))
	}
	return s, err
}

// Save stores the session's values; a session without a user is deleted with its cookie. A
// session marked new (IsNew, as signing in does) gets a new row and token: the token a
// browser held before signing in never becomes a signed-in one.
func (st *SessionStore) Save(r *http.Request, w http.ResponseWriter, s *sessions.Session) error {
	ctx := r.Context()
	uid, _ := s.Values[keyUserID].(int64)
	wid, _ := s.Values[keyWorkspaceID].(int64)
	if uid == 0 || wid == 0 || s.Options.MaxAge < 0 {
		if err := st.end(ctx, s.ID); err != nil {
			return err
		}
		if s.ID != "" || hasCookie(r, s.Name()) {
			http.SetCookie(w, sessions.NewCookie(s.Name(), "", &sessions.Options{Path: st.Cookie.Path, MaxAge: -1,
				Secure: st.Cookie.Secure, HttpOnly: true, SameSite: st.Cookie.SameSite}))
		}
		s.ID = ""
		delete(s.Values, sessionRow{})
		return nil
	}
	data, err := st.encode(wid, s.Values)
	if err != nil {
		return err
	}
	if rowID, ok := s.Values[sessionRow{}].(int64); ok && !s.IsNew {
		return st.Store.SaveSessionData(ctx, wid, rowID, data)
	}
	if err := st.end(ctx, s.ID); err != nil {
		return err
	}
	token, err := newSessionToken()
	if err != nil {
		return err
	}
	now := time.Now()
	rowID, err := st.Store.NewSession(ctx, model.Session{WorkspaceID: wid, UserID: uid, TokenHash: st.hash(token), Data: data,
		ExpiresAt: st.expiry(now), UserAgent: clip(r.UserAgent(), 300), IP: clip(clientIP(r), 64)})
	if err != nil {
		return err
	}
	s.ID, s.IsNew, s.Values[sessionRow{}] = strconv.FormatInt(wid, 10)+"."+token, false, rowID
	opts := st.Cookie
	opts.MaxAge = int(st.Lifetime.Seconds())
	http.SetCookie(w, sessions.NewCookie(s.Name(), s.ID, &opts))
	return nil
}

// SessionRowID is the stored id of the request's session (0 when not signed in), to mark
// "this browser" in the list of sessions.
func SessionRowID(s *sessions.Session) int64 {
	id, _ := s.Values[sessionRow{}].(int64)
	return id
}

// end deletes the session a cookie value names, if any.
func (st *SessionStore) end(ctx context.Context, cookieValue string) error {
	ws, token, ok := parseSessionCookie(cookieValue)
	if !ok {
		return nil
	}
	return st.Store.EndSessionByToken(ctx, ws, st.hash(token))
}

// expiry is when a session used now ends: after Idle without use, and never later than
// Lifetime after it began.
func (st *SessionStore) expiry(created time.Time) time.Time {
	idle := time.Now().Add(st.Idle)
	if hard := created.Add(st.Lifetime); hard.Before(idle) {
		return hard
	}
	return idle
}

func (st *SessionStore) hash(token string) []byte {
	m := hmac.New(sha256.New, st.HashKey)
	m.Write([]byte(token))
	return m.Sum(nil)
}

func sealContext(workspaceID int64) string {
	return fmt.Sprintf("peregrine session data %d", workspaceID)
}

// encode seals the session's values, without the user and row it belongs to (those are the
// row's columns, the only authority on who is signed in).
func (st *SessionStore) encode(workspaceID int64, values map[interface{}]interface{}) ([]byte, error) {
	kept := make(map[interface{}]interface{}, len(values))
	for k, v := range values {
		switch k {
		case keyUserID, keyWorkspaceID, sessionRow{}:
		default:
			kept[k] = v
		}
	}
	if len(kept) == 0 {
		return nil, nil
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(kept); err != nil {
		return nil, fmt.Errorf("session: unable to encode values: %w", err)
	}
	return st.Box.Seal(buf.Bytes(), sealContext(workspaceID))
}

func (st *SessionStore) decode(row model.Session, into map[interface{}]interface{}) error {
	if len(row.Data) == 0 {
		return nil
	}
	plain, err := st.Box.Open(row.Data, sealContext(row.WorkspaceID))
	if err != nil {
		return err
	}
	return gob.NewDecoder(bytes.NewReader(plain)).Decode(&into)
}

// parseSessionCookie splits "<workspace id>.<token>".
func parseSessionCookie(v string) (int64, string, bool) {
	wsText, token, ok := strings.Cut(v, ".")
	ws, err := strconv.ParseInt(wsText, 10, 64)
	if !ok || err != nil || ws <= 0 || len(token) != sessionTokenLength {
		return 0, "", false
	}
	return ws, token, true
}

// sessionTokenLength is the length of a token: 32 random bytes, base64url without padding.
const sessionTokenLength = 43

func newSessionToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("session: no randomness: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func hasCookie(r *http.Request, name string) bool {
	_, err := r.Cookie(name)
	return err == nil
}

type clientIPKey struct{}

// withClientIP keeps the client address echo worked out (trusting only configured proxies)
// for the session store, which sees the plain *http.Request.
func withClientIP(r *http.Request, ip string) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), clientIPKey{}, ip))
}

// clientIP is the client's address, to label a session for its owner.
func clientIP(r *http.Request) string {
	if ip, ok := r.Context().Value(clientIPKey{}).(string); ok {
		return ip
	}
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i > 0 {
		host = host[:i]
	}
	return strings.Trim(host, "[]")
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
