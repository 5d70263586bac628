package tracker

import (
	"crypto/rand"
	"encoding/base64"
	"strconv"
	"strings"
)

// Site keys and tracked-link tokens name their workspace ("ps_<workspace id, base 36>_…",
// "<workspace id, base 36>-…"), so the collect endpoint and /l/ find their rows inside one
// workspace without a cross-tenant lookup.
const siteKeyPrefix = "ps_"

func randomText(n int) (string, error) {
	raw := make([]byte, n)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(raw), nil
}

// NewSiteKey makes a public site key for a workspace.
func NewSiteKey(workspaceID int64) (string, error) {
	random, err := randomText(15)
	return siteKeyPrefix + strconv.FormatInt(workspaceID, 36) + "_" + random, err
}

// SiteWorkspace reads the workspace a site key names (0 when it names none).
func SiteWorkspace(key string) int64 {
	rest, ok := strings.CutPrefix(key, siteKeyPrefix)
	if !ok {
		return 0
	}
	ws, random, ok := strings.Cut(rest, "_")
	if !ok || random == "" {
		return 0
	}
	return parseWorkspace(ws)
}

// NewLinkToken makes a tracked link's short token (72 random bits).
func NewLinkToken(workspaceID int64) (string, error) {
	random, err := randomText(9)
	return strconv.FormatInt(workspaceID, 36) + "-" + random, err
}

// LinkWorkspace reads the workspace a link token names (0 when it names none).
func LinkWorkspace(token string) int64 {
	ws, rest, ok := strings.Cut(token, "-")
	if !ok || len(rest) != 12 {
		return 0
	}
	return parseWorkspace(ws)
}

func parseWorkspace(s string) int64 {
	id, err := strconv.ParseInt(s, 36, 64)
	if err != nil || id <= 0 || len(s) > 12 {
		return 0
	}
	return id
}
