// Package website manages what a workspace sets up for its website: tracked sites and their
// privacy settings, the snippet to paste, tracked links reps send to leads, and undoing an
// identification (unmerge). The tracker's hits themselves go through domain/ingest.
package website

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/scoring"
	"github.com/peregrine-scoring/peregrine/domain/store"
	"github.com/peregrine-scoring/peregrine/domain/tracker"
)

// Service keeps sites, links and identity links.
type Service struct {
	Store   *store.Store
	Scoring *scoring.Service
	Now     func() time.Time
}

// New makes a service.
func New(st *store.Store, sc *scoring.Service) *Service {
	return &Service{Store: st, Scoring: sc, Now: time.Now}
}

// SiteInput is a site as a person enters it.
type SiteInput struct {
	Name           string
	Origins        []string
	RequireConsent bool
	HonourDNT      bool
	ExcludedIPs    []string
	RetentionDays  int
	LinkDays       int
}

// InputError is a problem with what a person entered, worded for them, and the form field
// it is about.
type InputError struct{ Field, Message string }

func (e *InputError) Error() string { return e.Message }

func invalid(field, format string, args ...any) error {
	return &InputError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// check validates the input and returns the site to store.
func (in SiteInput) check(ws int64) (model.Site, error) {
	site := model.Site{WorkspaceID: ws, Name: strings.TrimSpace(in.Name), RequireConsent: in.RequireConsent,
		HonourDNT: in.HonourDNT, RetentionDays: in.RetentionDays, LinkDays: in.LinkDays, ExcludedIPs: []string{}}
	if site.Name == "" || utf8.RuneCountInString(site.Name) > 100 {
		return site, invalid("name", "Give the site a name of 1 to 100 characters, e.g. “Acme website”.")
	}
	for _, o := range in.Origins {
		if strings.TrimSpace(o) == "" {
			continue
		}
		norm, err := tracker.NormalizeOrigin(o)
		if err != nil {
			return site, invalid("origins", "%s", err.Error())
		}
		if !slices.Contains(site.Origins, norm) {
			site.Origins = append(site.Origins, norm)
		}
	}
	if len(site.Origins) == 0 || len(site.Origins) > 50 {
		return site, invalid("origins", "List the site's addresses (1 to 50), e.g. https://www.acme.com — hits from other origins are refused.")
	}
	if _, err := tracker.ParseExcludedIPs(in.ExcludedIPs); err != nil {
		return site, invalid("excluded_ips", "Excluded IPs: %s.", err.Error())
	}
	for _, ip := range in.ExcludedIPs {
		if ip = strings.TrimSpace(ip); ip != "" {
			site.ExcludedIPs = append(site.ExcludedIPs, ip)
		}
	}
	if site.RetentionDays == 0 {
		site.RetentionDays = 90
	}
	if site.LinkDays == 0 {
		site.LinkDays = 30
	}
	if site.RetentionDays < 1 || site.RetentionDays > 3650 {
		return site, invalid("retention_days", "Keep anonymous visitors' data 1 to 3650 days.")
	}
	if site.LinkDays < 1 || site.LinkDays > 3650 {
		return site, invalid("link_days", "Tracked links can last 1 to 3650 days.")
	}
	return site, nil
}

// CreateSite adds a site with a new public key.
func (s *Service) CreateSite(ctx context.Context, ws int64, in SiteInput) (model.Site, error) {
	site, err := in.check(ws)
	if err != nil {
		return site, err
	}
	if site.Key, err = tracker.NewSiteKey(ws); err != nil {
		return site, err
	}
	return s.Store.CreateSite(ctx, site)
}

// UpdateSite saves a site's settings.
func (s *Service) UpdateSite(ctx context.Context, ws, id int64, in SiteInput) (model.Site, error) {
	site, err := in.check(ws)
	if err != nil {
		return site, err
	}
	old, err := s.Store.SiteByID(ctx, ws, id)
	if err != nil {
		return site, err
	}
	site.ID, site.Key = old.ID, old.Key
	return site, s.Store.UpdateSite(ctx, site)
}

// Snippet is the tag to paste into every page of the site.
func Snippet(publicURL string, site model.Site) string {
	consent := ""
	if site.RequireConsent {
		consent = " data-require-consent"
	}
	return fmt.Sprintf(`<script src="%s/t.js" data-site="%s"%s defer></script>`, strings.TrimRight(publicURL, "/"), site.Key, consent)
}

// CreateLink makes a tracked link to a page of one of the workspace's sites for a lead.
func (s *Service) CreateLink(ctx context.Context, ws, leadID int64, target string, userID *int64) (model.TrackedLink, error) {
	u, err := url.Parse(strings.TrimSpace(target))
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return model.TrackedLink{}, invalid("target", "Enter the full address of a page on your site, e.g. https://www.acme.com/case-studies.")
	}
	site, ok, err := s.siteOf(ctx, ws, u)
	if err != nil {
		return model.TrackedLink{}, err
	}
	if !ok {
		return model.TrackedLink{}, invalid("target", "%s is not on one of your tracked sites; add its origin under Integrations › Website first.", u.Scheme+"://"+u.Host)
	}
	token, err := tracker.NewLinkToken(ws)
	if err != nil {
		return model.TrackedLink{}, err
	}
	u.Fragment = ""
	return s.Store.CreateTrackedLink(ctx, model.TrackedLink{WorkspaceID: ws, Token: token, LeadID: leadID, SiteID: site.ID,
		Target: u.String(), CreatedBy: userID, ExpiresAt: s.Now().Add(time.Duration(site.LinkDays) * 24 * time.Hour)})
}

func (s *Service) siteOf(ctx context.Context, ws int64, u *url.URL) (model.Site, bool, error) {
	sites, err := s.Store.ListSites(ctx, ws)
	if err != nil {
		return model.Site{}, false, err
	}
	origin, err := tracker.NormalizeOrigin(u.Scheme + "://" + u.Host)
	if err != nil {
		return model.Site{}, false, nil
	}
	for _, site := range sites {
		if slices.Contains(site.Origins, origin) {
			return site, true, nil
		}
	}
	return model.Site{}, false, nil
}

// Destination is where /l/<token> sends the browser, and whether the open counts as the
// lead's click.
type Destination struct {
	URL   string
	Click bool
	Link  model.TrackedLink
}

// Follow decides where a tracked link leads: its target with pgr_l (the tracker identifies
// the browser with it), or — for an expired link, or a target no longer on the site — the
// site's home. Never anywhere else. ErrNotFound when the token names nothing.
func (s *Service) Follow(ctx context.Context, token string, staff bool) (Destination, error) {
	ws := tracker.LinkWorkspace(token)
	if ws == 0 {
		return Destination{}, store.ErrNotFound
	}
	link, err := s.Store.TrackedLinkByToken(ctx, ws, token)
	if errors.Is(err, store.ErrNotFound) {
		return s.homeOf(ctx, ws)
	}
	if err != nil {
		return Destination{}, err
	}
	site, err := s.Store.SiteByID(ctx, ws, link.SiteID)
	if err != nil {
		return Destination{}, err
	}
	home := site.Origins[0] + "/"
	u, err := url.Parse(link.Target)
	if err != nil {
		return Destination{URL: home}, nil
	}
	if origin, err := tracker.NormalizeOrigin(u.Scheme + "://" + u.Host); err != nil || !slices.Contains(site.Origins, origin) {
		return Destination{URL: home}, nil
	}
	if !link.ExpiresAt.After(s.Now()) {
		return Destination{URL: home}, nil
	}
	if staff {
		// The rep checking their own link: their browser must not become the lead.
		return Destination{URL: u.String(), Link: link}, nil
	}
	q := u.Query()
	q.Set("pgr_l", token)
	u.RawQuery = q.Encode()
	return Destination{URL: u.String(), Click: true, Link: link}, nil
}

// homeOf sends a token the workspace does not know (mistyped, or its link deleted) to the
// home of the workspace's first site; ErrNotFound when it has none.
func (s *Service) homeOf(ctx context.Context, ws int64) (Destination, error) {
	sites, err := s.Store.ListSites(ctx, ws)
	if err != nil {
		return Destination{}, err
	}
	if len(sites) == 0 {
		return Destination{}, store.ErrNotFound
	}
	return Destination{URL: sites[0].Origins[0] + "/"}, nil
}

// ErrLinkUndone means the identity link does not exist or was undone already.
var ErrLinkUndone = errors.New("this identification was already undone")

// Unmerge undoes an identification: the browser's activities go back to where they were (the
// person it belonged to before, or anonymous), both leads are scored again in the same
// transaction, and the pair is never linked again automatically. It returns the lead the
// activities went back to (0: anonymous).
func (s *Service) Unmerge(ctx context.Context, ws, linkID int64, userID *int64) (int64, error) {
	var back int64
	err := s.Store.InTx(ctx, func(tx *store.Tx) error {
		link, to, err := tx.UndoIdentityLink(ctx, ws, linkID, userID)
		if errors.Is(err, store.ErrNotFound) {
			return ErrLinkUndone
		}
		if err != nil {
			return err
		}
		back = to
		leads := []int64{link.LeadID}
		if to != 0 {
			leads = append(leads, to)
		}
		slices.Sort(leads)
		return s.Scoring.ScoreLeads(ctx, tx, ws, leads)
	})
	return back, err
}
