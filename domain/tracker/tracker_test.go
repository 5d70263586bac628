package tracker

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// Every sample user agent the vendored list carries is recognised by the pattern set as we
// compile it (literal patterns as substring checks, the rest as one expression).
func TestEveryListedCrawlerInstanceIsRecognised(t *testing.T) {
	var list []crawlerPattern
	if err := json.Unmarshal(crawlerList, &list); err != nil {
		t.Fatal(err)
	}
	m := newCrawlerMatcher(list)
	n := 0
	for _, p := range list {
		for _, ua := range p.Instances {
			n++
			if !m.matchUncached(ua) {
				t.Errorf("pattern %q: instance not recognised: %s", p.Pattern, ua)
			}
		}
	}
	if n < 1000 {
		t.Fatalf("only %d instances in the list: is the vendored file complete?", n)
	}
}

func TestBrowsersAreNotCrawlers(t *testing.T) {
	for _, ua := range []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
		"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
	} {
		if IsCrawler(ua) {
			t.Errorf("a browser taken for a crawler: %s", ua)
		}
	}
	for _, ua := range []string{"", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
		"curl/8.5.0", "python-requests/2.32.3"} {
		if !IsCrawler(ua) {
			t.Errorf("not recognised as automated: %q", ua)
		}
	}
}

func TestDecodeAndActivityNames(t *testing.T) {
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	body := `{"s":"ps_1_x","v":"abcdefghijklmnop","e":"ABCDEFGHIJKLMNOP","t":"page","ti":"Pricing — Acme",
		"u":"https://www.acme.com/pricing?utm_source=news&braze_id=123&pgr_l=1-abcdefghijkl#plans","r":"https://google.com/","nv":true}`
	h, err := Decode([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	h.Received = now
	a, ok := Activity(h)
	if !ok || a.Name != "[Website] Visited Pricing — Acme (/pricing)" || a.URL != "https://www.acme.com/pricing?utm_source=news" {
		t.Fatalf("page view: %v %q %q", ok, a.Name, a.URL)
	}
	var props map[string]any
	json.Unmarshal(a.Properties, &props)
	if props["path"] != "/pricing" || props["utm_source"] != "news" || props["visit_start"] != true || props["referrer"] != "https://google.com/" {
		t.Fatalf("properties %v", props)
	}
	if !a.OccurredAt.Equal(now) {
		t.Fatalf("no browser time: the arrival time stands, got %v", a.OccurredAt)
	}
	h.Type, h.Duration = TypeLeave, 5000
	if _, ok := Activity(h); ok {
		t.Fatal("5 seconds on a page made an activity")
	}
	h.Duration = 95000
	if a, _ := Activity(h); a.Name != "[Website] Read Pricing — Acme (/pricing)" || !strings.Contains(string(a.Properties), `"time_on_page":95`) {
		t.Fatalf("leave: %q %s", a.Name, a.Properties)
	}
	h.Type, h.Form = TypeForm, &Form{ID: "demo", Fields: []Field{{Type: "email", Name: "email", Value: "a@b.example"}}}
	if a, _ := Activity(h); a.Name != "[Website] Submitted the demo request form on /pricing" {
		t.Fatalf("form: %q", a.Name)
	}
	if a := LinkClickActivity(h); a.Name != "[Sales email] Clicked a tracked link to /pricing" || a.Source != SourceSalesEmail {
		t.Fatalf("link click: %q", a.Name)
	}
	for _, bad := range []string{`{"s":"k","v":"short","e":"ABCDEFGHIJKLMNOP","t":"page","u":"https://a.example/"}`,
		`{"s":"k","v":"abcdefghijklmnop","e":"ABCDEFGHIJKLMNOP","t":"page","u":"javascript:alert(1)"}`,
		`{"s":"k","v":"abcdefghijklmnop","e":"ABCDEFGHIJKLMNOP","t":"track","u":"https://a.example/"}`,
		`{"s":"k","v":"abcdefghijklmnop","e":"ABCDEFGHIJKLMNOP","t":"identify","u":"https://a.example/","id":{}}`,
		`{"s":"k","v":"abcdefghijklmnop","e":"ABCDEFGHIJKLMNOP","t":"page","u":"https://a.example/","p":[1]}`} {
		if _, err := Decode([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

func TestBrowserClockIsTrustedOnlyWhenClose(t *testing.T) {
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	h := Hit{Received: now, At: now.Add(-time.Hour).UnixMilli()}
	if !h.OccurredAt().Equal(now.Add(-time.Hour)) {
		t.Fatal("an hour-old hit (resent from sessionStorage) lost its time")
	}
	h.At = now.AddDate(1, 0, 0).UnixMilli()
	if !h.OccurredAt().Equal(now) {
		t.Fatal("a clock a year ahead was believed")
	}
}

func TestOriginsAndRanges(t *testing.T) {
	for in, want := range map[string]string{"https://WWW.Acme.com": "https://www.acme.com", "https://acme.com:443/": "https://acme.com",
		"http://localhost:8080": "http://localhost:8080"} {
		if got, err := NormalizeOrigin(in); err != nil || got != want {
			t.Errorf("%s → %q %v, want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"www.acme.com", "https://acme.com/pricing", "ftp://acme.com", "https://*.acme.com", "https://user@acme.com"} {
		if _, err := NormalizeOrigin(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
	ranges, err := ParseExcludedIPs([]string{"203.0.113.0/24", "2001:db8::1", " "})
	if err != nil || len(ranges) != 2 {
		t.Fatalf("%v %v", ranges, err)
	}
	s := Site{ExcludedIPs: ranges}
	if !s.excluded("203.0.113.77") || !s.excluded("::ffff:203.0.113.5") || !s.excluded("2001:db8::1") || s.excluded("198.51.100.1") {
		t.Fatal("excluded ranges misread")
	}
	if _, err := ParseExcludedIPs([]string{"office"}); err == nil {
		t.Fatal("accepted a word as an IP")
	}
}

func TestKeysNameTheirWorkspace(t *testing.T) {
	key, _ := NewSiteKey(12345)
	token, _ := NewLinkToken(12345)
	if SiteWorkspace(key) != 12345 || LinkWorkspace(token) != 12345 {
		t.Fatalf("%s → %d, %s → %d", key, SiteWorkspace(key), token, LinkWorkspace(token))
	}
	for _, bad := range []string{"", "ps_", "ps_zz", "ps_-1_x", "x_1_y"} {
		if SiteWorkspace(bad) != 0 {
			t.Errorf("site key %q named a workspace", bad)
		}
	}
	if LinkWorkspace("1-short") != 0 || LinkWorkspace("nodash") != 0 {
		t.Error("malformed tokens named a workspace")
	}
}
