package leads

import "testing"

func TestCompanyDomain(t *testing.T) {
	for email, want := range map[string]string{
		"anna@acme.example.com": "acme.example.com",
		"Bob@Globex.COM":        "globex.com",
		"x@gmail.com":           "",
		"y@outlook.com":         "",
		"z@icloud.com":          "",
		"w@yahoo.co.uk":         "",
		"broken":                "",
		"a@":                    "",
	} {
		if got := CompanyDomain(email); got != want {
			t.Errorf("%s: %q, want %q", email, got, want)
		}
	}
}
