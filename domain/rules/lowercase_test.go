package rules

import (
	"strings"
	"testing"
)

// TestLowercaseRemembersWhatItLowered: Of equals strings.ToLower for ASCII, non-ASCII and
// mixed texts, with and without a memory, and remembers only texts with a capital or non-ASCII.
func TestLowercaseRemembersWhatItLowered(t *testing.T) {
	texts := []string{"", "pricing", "Q2 Webinar", "users.messages.email.Open", "ÉCOLE Zürich", "straße", "İstanbul", "ǅ", "abc\xff"}
	for _, m := range []Lowercase{nil, {}} {
		for pass := 0; pass < 2; pass++ {
			for _, s := range texts {
				if got, want := m.Of(s), strings.ToLower(s); got != want {
					t.Fatalf("Of(%q) = %q, want %q", s, got, want)
				}
			}
		}
	}
	m := Lowercase{}
	for _, s := range texts {
		m.Of(s)
	}
	if _, ok := m["pricing"]; ok || len(m) != 7 {
		t.Fatalf("remembered %d texts (%v); want the 7 with a capital or non-ASCII", len(m), m)
	}
}
