package workspaces

import (
	"maps"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/peregrine-scoring/peregrine/domain/auth"
)

// MaxNameLength bounds names of people and workspaces.
const MaxNameLength = 200

// FieldErrors maps a form field to a message a person can act on.
type FieldErrors map[string]string

func (f FieldErrors) Error() string {
	parts := make([]string, 0, len(f))
	for _, k := range slices.Sorted(maps.Keys(f)) {
		parts = append(parts, k+": "+f[k])
	}
	return strings.Join(parts, "; ")
}

func (f FieldErrors) orNil() error {
	if len(f) == 0 {
		return nil
	}
	return f
}

// NormalizeEmail trims and lower-cases an email address.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// CheckEmail validates an email address typed into a form (field "email"); nil when valid.
func CheckEmail(email string) error {
	errs := FieldErrors{}
	checkEmail(errs, "email", email)
	return errs.orNil()
}

func checkEmail(errs FieldErrors, field, email string) {
	switch {
	case email == "":
		errs[field] = "Enter an email address."
	case len(email) > 254:
		errs[field] = "An email address can be at most 254 characters."
	default:
		addr, err := mail.ParseAddress(email)
		at := strings.LastIndex(email, "@")
		if err != nil || addr.Address != email || at < 1 || !strings.Contains(email[at+1:], ".") {
			errs[field] = "Enter a valid email address, like name@company.com."
		}
	}
}

func checkName(errs FieldErrors, field, name, what string) {
	switch {
	case name == "":
		errs[field] = "Enter " + what + "."
	case utf8.RuneCountInString(name) > MaxNameLength:
		errs[field] = "Keep it to 200 characters or fewer."
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		errs[field] = "Remove the control characters."
	}
}

// checkPassword refuses a new password that is short, over-long, only spaces, or guessable
// (common, or made of the person's own details given as inputs).
func checkPassword(errs FieldErrors, field, password string, inputs ...string) {
	if problem := auth.PasswordProblem(password, inputs...); problem != "" {
		errs[field] = problem
	}
}

// CheckPublicURL validates the address people use to reach Peregrine. Empty is allowed.
func CheckPublicURL(raw string) (string, string) {
	raw = strings.TrimRight(strings.TrimSpace(raw), "/")
	if raw == "" {
		return "", ""
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return raw, "Enter a full address starting with https://, like https://peregrine.example.com."
	}
	if len(raw) > 500 {
		return raw, "Keep the address to 500 characters or fewer."
	}
	return raw, ""
}

// Slugify turns a workspace name into a short URL-safe name.
func Slugify(name string) string {
	var b strings.Builder
	dash := false
	// Decompose accented letters so "Zürich" becomes "zurich" rather than "z-rich".
	for _, r := range norm.NFD.String(strings.ToLower(name)) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			b.WriteRune(r)
			dash = false
		case b.Len() > 0 && !dash:
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= 40 {
			break
		}
	}
	s := strings.Trim(b.String(), "-")
	if s == "" {
		return "workspace"
	}
	return s
}
