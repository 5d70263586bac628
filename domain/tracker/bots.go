package tracker

import (
	_ "embed"
	"encoding/json"
	"regexp"
	"strings"
	"sync"
)

// crawlerList is npm's crawler-user-agents (MIT, see crawlers/LICENSE), vendored unchanged;
// `make update-crawlers` refreshes it.
//
//go:embed crawlers/crawler-user-agents.json
var crawlerList []byte

// crawlerPattern is one entry of the list.
type crawlerPattern struct {
	Pattern   string   `json:"pattern"`
	Instances []string `json:"instances"`
}

// crawlerMatcher tests user agents against the list: patterns that are plain text (most of
// them) are substring checks; the rest are one combined regular expression. Results are
// cached per user agent, since a site's traffic repeats a few hundred agents.
type crawlerMatcher struct {
	literals []string
	combined *regexp.Regexp

	mu    sync.Mutex
	cache map[string]bool
}

// maxCachedAgents bounds the cache; it is emptied when full (agents come back quickly).
const maxCachedAgents = 20000

var crawlers = sync.OnceValue(func() *crawlerMatcher {
	var list []crawlerPattern
	if err := json.Unmarshal(crawlerList, &list); err != nil {
		panic("tracker: the vendored crawler list does not decode: " + err.Error())
	}
	return newCrawlerMatcher(list)
})

func newCrawlerMatcher(list []crawlerPattern) *crawlerMatcher {
	m := &crawlerMatcher{cache: map[string]bool{}}
	var rest []string
	for _, p := range list {
		re, err := regexp.Compile(p.Pattern)
		if err != nil {
			continue // written for another engine; the list's own tests keep these rare
		}
		if lit, complete := re.LiteralPrefix(); complete {
			m.literals = append(m.literals, lit)
			continue
		}
		rest = append(rest, "(?:"+p.Pattern+")")
	}
	m.combined = regexp.MustCompile(strings.Join(rest, "|"))
	return m
}

func (m *crawlerMatcher) match(ua string) bool {
	m.mu.Lock()
	hit, ok := m.cache[ua]
	m.mu.Unlock()
	if ok {
		return hit
	}
	hit = m.matchUncached(ua)
	m.mu.Lock()
	if len(m.cache) >= maxCachedAgents {
		clear(m.cache)
	}
	m.cache[ua] = hit
	m.mu.Unlock()
	return hit
}

func (m *crawlerMatcher) matchUncached(ua string) bool {
	for _, lit := range m.literals {
		if strings.Contains(ua, lit) {
			return true
		}
	}
	return m.combined.MatchString(ua)
}

// IsCrawler tells whether a user agent is a known crawler, bot, monitor or headless browser.
// An empty user agent counts as a bot: every browser sends one.
func IsCrawler(ua string) bool {
	if strings.TrimSpace(ua) == "" {
		return true
	}
	return crawlers().match(ua)
}
