package tracker

import (
	"regexp"
	"strings"

	"github.com/peregrine-scoring/peregrine/domain/events"
)

// Form is what the script reports of a submitted form: hints about its purpose and a
// description of its fields. Values are sent only for fields that may hold the email (never
// for password, card or hidden fields); everything else the visitor typed stays in the page.
type Form struct {
	ID     string  `json:"id,omitempty"`
	Name   string  `json:"name,omitempty"`
	Action string  `json:"action,omitempty"`
	Submit string  `json:"submit,omitempty"` // the submit button's text
	Fields []Field `json:"fields,omitempty"`
}

// Field describes one control of a form.
type Field struct {
	Type         string `json:"t,omitempty"` // input type, or select / textarea
	Name         string `json:"n,omitempty"`
	ID           string `json:"i,omitempty"`
	Autocomplete string `json:"a,omitempty"`
	Value        string `json:"v,omitempty"` // only for email candidates
}

// Form types the hints are sorted into (shown in activity names, tested by rules).
const (
	FormDemo       = "demo request"
	FormContact    = "contact"
	FormNewsletter = "newsletter"
	FormDownload   = "download"
	FormWebinar    = "webinar registration"
	FormQuote      = "quote request"
	FormSignup     = "sign-up"
	FormLogin      = "login"
	FormCheckout   = "checkout"
	FormSearch     = "search"
)

// FormResult is what a submission means.
type FormResult struct {
	Type  string // one of the Form* types, or "" when the hints say nothing
	Email string // the address entered, cleaned; "" when none
	// Identifies says the submission tells who the visitor is. Login and checkout forms never
	// do: a shared computer's login or a gift order's address is not the visitor.
	Identifies bool
}

var (
	emailName   = regexp.MustCompile(`(?i)e-?mail`)
	cardField   = regexp.MustCompile(`(?i)(^|[^a-z])(card|cc-?(num|number|exp|csc)|cvc|cvv|iban|expir)`)
	signupHint  = regexp.MustCompile(`(?i)sign[ _-]?up|regist|create[ _-]?(an[ _-]?)?account|join|free[ _-]?trial|get[ _-]?started|trial`)
	searchField = regexp.MustCompile(`(?i)^(q|s|query|search|keywords?)$`)
	// Purposes in the order they are tested: the first that matches the hints wins.
	purposes = []struct {
		kind string
		re   *regexp.Regexp
	}{
		{FormDemo, regexp.MustCompile(`(?i)demo`)},
		{FormWebinar, regexp.MustCompile(`(?i)webinar`)},
		{FormQuote, regexp.MustCompile(`(?i)quote|pricing[ _-]?request|request[ _-]?pricing`)},
		{FormDownload, regexp.MustCompile(`(?i)download|white[ _-]?paper|e-?book|report|guide|gated|case[ _-]?stud`)},
		{FormNewsletter, regexp.MustCompile(`(?i)newsletter|subscri|mailing[ _-]?list|updates`)},
		{FormSignup, signupHint},
		{FormContact, regexp.MustCompile(`(?i)contact|enquir|inquir|get[ _-]?in[ _-]?touch|talk[ _-]?to|message|sales`)},
	}
)

// AnalyzeForm decides what kind of form was submitted and which email it carries.
func AnalyzeForm(f Form) FormResult {
	var res FormResult
	passwords, newPassword, search, card := 0, false, 0, false
	for _, fd := range f.Fields {
		t := strings.ToLower(fd.Type)
		auto := strings.ToLower(fd.Autocomplete)
		switch {
		case t == "password":
			passwords++
			newPassword = newPassword || auto == "new-password"
		case strings.HasPrefix(auto, "cc-") || cardField.MatchString(fd.Name) || cardField.MatchString(fd.ID):
			card = true
		case t == "search" || searchField.MatchString(fd.Name):
			search++
		}
	}
	hints := strings.Join([]string{f.ID, f.Name, f.Action, f.Submit}, " ")
	switch {
	case card:
		res.Type = FormCheckout
	case passwords > 0 && !(newPassword || passwords > 1 || signupHint.MatchString(hints)):
		res.Type = FormLogin
	case passwords > 0:
		res.Type = FormSignup
	case search > 0 && len(visibleFields(f.Fields)) <= 2 && !emailPresent(f.Fields):
		res.Type = FormSearch
	default:
		for _, p := range purposes {
			if p.re.MatchString(hints) {
				res.Type = p.kind
				break
			}
		}
	}
	res.Email = pickEmail(f.Fields)
	res.Identifies = res.Email != "" && res.Type != FormLogin && res.Type != FormCheckout && res.Type != FormSearch
	return res
}

// pickEmail finds the address entered: the first email input, else a text field named like
// an email. Hidden, password and card fields are never read.
func pickEmail(fields []Field) string {
	for pass := 0; pass < 2; pass++ {
		for _, fd := range fields {
			t := strings.ToLower(fd.Type)
			if t == "hidden" || t == "password" || strings.HasPrefix(strings.ToLower(fd.Autocomplete), "cc-") {
				continue
			}
			candidate := t == "email"
			if pass == 1 {
				candidate = (t == "" || t == "text") && (emailName.MatchString(fd.Name) || emailName.MatchString(fd.ID) || strings.EqualFold(fd.Autocomplete, "email"))
			}
			if candidate {
				if e := events.CleanEmail(fd.Value); e != "" {
					return e
				}
			}
		}
	}
	return ""
}

func emailPresent(fields []Field) bool { return pickEmail(fields) != "" }

func visibleFields(fields []Field) []Field {
	var out []Field
	for _, f := range fields {
		switch strings.ToLower(f.Type) {
		case "hidden", "submit", "button", "reset", "image":
		default:
			out = append(out, f)
		}
	}
	return out
}
