package auth

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn"
)

// MinPasswordScore is the zxcvbn score a password needs (0–4): 3 means about 10^8 guesses or
// more, out of reach of online guessing and slow against Argon2id offline.
const MinPasswordScore = 3

// strengthPrefix bounds the part of a password the estimator reads: its cost grows with
// length, and a password longer than this is long enough.
const strengthPrefix = 100

// PasswordProblem says what is wrong with a new password, or "" when it may be used. It
// refuses short and over-long passwords, passwords of only spaces, and guessable ones —
// Dropbox's zxcvbn estimator (through trustelem/zxcvbn), which knows the 30,000 most common
// passwords, names, English words, dates, repeats, sequences, keyboard walks and l33t, and
// the person's own details given as inputs (email, name, workspace).
func PasswordProblem(password string, inputs ...string) string {
	n := utf8.RuneCountInString(password)
	switch {
	case n < MinPasswordLength:
		return "Use at least 12 characters; a few words in a row make a good password."
	case len(password) > MaxPasswordLength:
		return "Use at most 1024 characters."
	case strings.TrimFunc(password, unicode.IsSpace) == "":
		return "A password of only spaces is easy to guess. Use a few words you will remember."
	case !utf8.ValidString(password) || strings.ContainsRune(password, 0):
		return "The password holds characters that cannot be typed. Use letters, digits, spaces or punctuation."
	}
	var personal []string
	for _, in := range inputs {
		in = strings.ToLower(strings.TrimSpace(in))
		if in == "" {
			continue
		}
		personal = append(personal, in)
		local, domain, ok := strings.Cut(in, "@")
		if ok {
			personal = append(personal, local, domain, strings.Split(domain, ".")[0])
		}
		personal = append(personal, strings.Fields(in)...)
	}
	words := append([]string{"peregrine", "password", "passwort", "motdepasse"}, personal...)
	if madeOf(password, personal) {
		return "This password is made of your own name, email or workspace. Add words that have nothing to do with you."
	}
	if madeOf(password, words) {
		return tooEasy
	}
	prefix := password
	if utf8.RuneCountInString(prefix) > strengthPrefix {
		prefix = string([]rune(prefix)[:strengthPrefix])
	}
	if zxcvbn.PasswordStrength(prefix, words).Score < MinPasswordScore {
		return tooEasy
	}
	return ""
}

const tooEasy = "This password is too easy to guess: it is common, or made of your own details, a name, a date or a pattern. A few unrelated words in a row make a strong one."

// madeOf reports whether the password's letters, lowercased and without digits, spaces or
// punctuation, are nothing but the given words one after another ("AdaLovelace1990" of
// "ada" and "lovelace"): a guesser tries a person's own details first.
func madeOf(password string, words []string) bool {
	var letters []rune
	for _, r := range strings.ToLower(password) {
		if unicode.IsLetter(r) {
			letters = append(letters, r)
		}
	}
	if len(letters) == 0 {
		return false
	}
	var known [][]rune
	for _, w := range words {
		var wl []rune
		for _, r := range w {
			if unicode.IsLetter(r) {
				wl = append(wl, r)
			}
		}
		if len(wl) >= 2 {
			known = append(known, wl)
		}
	}
	// reach[i]: the first i letters split into known words.
	reach := make([]bool, len(letters)+1)
	reach[0] = true
	for i := 0; i < len(letters); i++ {
		if !reach[i] {
			continue
		}
		for _, w := range known {
			if i+len(w) <= len(letters) && string(letters[i:i+len(w)]) == string(w) {
				reach[i+len(w)] = true
			}
		}
	}
	return reach[len(letters)]
}
