package views

import (
	"strconv"
	"strings"
	"unicode"

	"github.com/a-h/templ"
)

// Count writes a number people read with thousands separators: 12,480.
func Count(n int) string { return count(n) }

// count writes a number people read with thousands separators: 12,480.
func count(n int) string {
	s := strconv.Itoa(n)
	sign := ""
	if n < 0 {
		sign, s = "-", s[1:]
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return sign + s
}

// initials makes the avatar letters from a person's name.
func initials(name string) string {
	var out []rune
	for _, w := range strings.Fields(name) {
		for _, r := range w {
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				out = append(out, unicode.ToUpper(r))
				break
			}
		}
		if len(out) == 2 {
			break
		}
	}
	if len(out) == 0 {
		return "?"
	}
	return string(out)
}

func i64(n int64) string { return strconv.FormatInt(n, 10) }

func keyHint(v BrazeView) string {
	if v.KeyMasked != "" {
		return "Saved key: " + v.KeyMasked + ". Leave empty to keep it."
	}
	return ""
}

func keyPlaceholder(v BrazeView) string {
	if v.KeyMasked != "" {
		return v.KeyMasked
	}
	return "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
}

// barWidth maps a percentage to one of 21 width classes (CSP forbids inline styles).
func barWidth(percent int) string {
	percent = max(0, min(100, percent))
	return "w" + strconv.Itoa((percent+2)/5*5)
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func typeLabel(t string) string {
	switch t {
	case "number":
		return "Number"
	case "boolean":
		return "Yes / no"
	case "date":
		return "Date"
	}
	return "Text"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func secretHint(saved bool) string {
	if saved {
		return "Saved and encrypted. Leave empty to keep it."
	}
	return "Stored encrypted; never shown again."
}

func customObject(object string) string {
	if object == "Lead" || object == "Contact" {
		return ""
	}
	return object
}

func hasOption(options []FilterOption, value string) bool {
	for _, o := range options {
		if o.Value == value {
			return true
		}
	}
	return false
}

func runURL(id int64, failed bool) string {
	u := "/integrations/salesforce/log?run=" + i64(id)
	if failed {
		u += "&failed=1"
	}
	return u
}

// sortedAttrs marks the column a table is sorted by (descending: lists put the most first).
func sortedAttrs(sorted bool) templ.Attributes {
	if sorted {
		return templ.Attributes{"aria-sort": "descending"}
	}
	return templ.Attributes{}
}

// accountTitle names an account: its company name when known, else its domain.
func accountTitle(name, domain string) string {
	if n := strings.TrimSpace(name); n != "" && !strings.EqualFold(n, domain) {
		return n
	}
	return domain
}

func itoa(n int) string { return strconv.Itoa(n) }

// errorID names a field's error message after its input: e-<name> for the input f-<name>.
func errorID(inputID string) string { return "e-" + strings.TrimPrefix(inputID, "f-") }
