package auth

import (
	"strings"
	"testing"
)

func TestPasswordProblem(t *testing.T) {
	me := []string{"ada.lovelace@acme.example", "Ada Lovelace", "Acme Robotics"}
	refused := []string{
		"short pw", "password1234", "            ", "\t\t\t\t\t\t\t\t\t\t\t\t", "  \u00a0         ", "aaaaaaaaaaaa",
		"qwertyuiop12", "123456789012", "iloveyou2024", "letmein12345", "Password1234", "p@ssw0rd1234",
		"Peregrine2026", "ada.lovelace1", "acmeacmeacme", "AdaLovelace1990", "acmerobotics1",
		"bad\x00password nul", strings.Repeat("x", MaxPasswordLength+1),
	}
	for _, p := range refused {
		if PasswordProblem(p, me...) == "" {
			t.Errorf("%q accepted", p)
		}
	}
	accepted := []string{"correct horse battery staple", "a long test password", "Tr0ub4dor&3xyz", "mo's long password 9",
		"vélo rouge sous la pluie", "Ada likes quiet trains at 6", strings.Repeat("long but varied text ", 60)[:1000]}
	for _, p := range accepted {
		if problem := PasswordProblem(p, me...); problem != "" {
			t.Errorf("%q refused: %s", p, problem)
		}
	}
	if msg := PasswordProblem("            "); !strings.Contains(msg, "only spaces") {
		t.Errorf("all-whitespace message: %q", msg)
	}
}
