package store

import (
	"context"
	"fmt"
	"time"

	"github.com/lib/pq"

	"github.com/peregrine-scoring/peregrine/domain/model"
)

const siteColumns = `workspace_id, id, key, name, origins, require_consent, honour_dnt, excluded_ips, retention_days, link_days, created_at`

// CreateSite stores a new tracked site.
func (s *Store) CreateSite(ctx context.Context, site model.Site) (model.Site, error) {
	err := s.db.GetContext(ctx, &site, `
		INSERT INTO sites (workspace_id, key, name, origins, require_consent, honour_dnt, excluded_ips, retention_days, link_days)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING `+siteColumns,
		site.WorkspaceID, site.Key, site.Name, site.Origins, site.RequireConsent, site.HonourDNT, site.ExcludedIPs,
		site.RetentionDays, site.LinkDays)
	if err != nil {
		return site, fmt.Errorf("store: unable to create site: %w", err)
	}
	return site, nil
}

// UpdateSite saves a site's settings (its key never changes).
func (s *Store) UpdateSite(ctx context.Context, site model.Site) error {
	res, err := s.db.ExecContext(ctx, `UPDATE sites SET name = $3, origins = $4, require_consent = $5, honour_dnt = $6,
			excluded_ips = $7, retention_days = $8, link_days = $9
		WHERE workspace_id = $1 AND id = $2`,
		site.WorkspaceID, site.ID, site.Name, site.Origins, site.RequireConsent, site.HonourDNT, site.ExcludedIPs,
		site.RetentionDays, site.LinkDays)
	if err != nil {
		return fmt.Errorf("store: unable to save site: %w", err)
	}
	return expectOneRow(res)
}

// DeleteSite removes a site; its visitors' data stays until retention removes it.
func (s *Store) DeleteSite(ctx context.Context, workspaceID, siteID int64) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM sites WHERE workspace_id = $1 AND id = $2`, workspaceID, siteID)
	if err != nil {
		return fmt.Errorf("store: unable to delete site: %w", err)
	}
	return expectOneRow(res)
}

// ListSites lists the workspace's sites, oldest first.
func (s *Store) ListSites(ctx context.Context, workspaceID int64) ([]model.Site, error) {
	var out []model.Site
	err := s.db.SelectContext(ctx, &out, `SELECT `+siteColumns+` FROM sites WHERE workspace_id = $1 ORDER BY id`, workspaceID)
	if err != nil {
		return nil, fmt.Errorf("store: unable to list sites: %w", err)
	}
	return out, nil
}

// SiteByID loads one site of the workspace.
func (s *Store) SiteByID(ctx context.Context, workspaceID, siteID int64) (model.Site, error) {
	var site model.Site
	err := s.db.GetContext(ctx, &site, `SELECT `+siteColumns+` FROM sites WHERE workspace_id = $1 AND id = $2`, workspaceID, siteID)
	if err != nil {
		return site, fmt.Errorf("store: unable to load site: %w", notFound(err))
	}
	return site, nil
}

// SiteByKey loads the site behind a public key (the key names its workspace).
func (s *Store) SiteByKey(ctx context.Context, workspaceID int64, key string) (model.Site, error) {
	var site model.Site
	err := s.db.GetContext(ctx, &site, `SELECT `+siteColumns+`, EXISTS (SELECT 1 FROM integration_switches sw
			WHERE sw.workspace_id = sites.workspace_id AND sw.part = '`+PartWebsite+`') AS paused
		FROM sites WHERE workspace_id = $1 AND key = $2`, workspaceID, key)
	if err != nil {
		return site, fmt.Errorf("store: unable to load site: %w", notFound(err))
	}
	return site, nil
}

// OriginsSeen lists the last hit per origin of the workspace's sites.
func (s *Store) OriginsSeen(ctx context.Context, workspaceID int64) ([]model.OriginSeen, error) {
	var out []model.OriginSeen
	err := s.db.SelectContext(ctx, &out, `SELECT site_id, origin, last_hit_at, hits FROM site_origins_seen
		WHERE workspace_id = $1 ORDER BY site_id, origin`, workspaceID)
	if err != nil {
		return nil, fmt.Errorf("store: unable to list origins seen: %w", err)
	}
	return out, nil
}

// NoteOriginHits moves the installation check: hits per site and origin, with the last time.
func (t *Tx) NoteOriginHits(ctx context.Context, workspaceID int64, hits []model.OriginSeen) error {
	if len(hits) == 0 {
		return nil
	}
	sites, origins, lasts, counts := make([]int64, len(hits)), make([]string, len(hits)), make([]time.Time, len(hits)), make([]int64, len(hits))
	for i, h := range hits {
		sites[i], origins[i], lasts[i], counts[i] = h.SiteID, h.Origin, h.LastHitAt, h.Hits
	}
	_, err := t.tx.ExecContext(ctx, `
		INSERT INTO site_origins_seen (workspace_id, site_id, origin, last_hit_at, hits)
		SELECT $1, x.s, x.o, x.l, x.n FROM unnest($2::bigint[], $3::text[], $4::timestamptz[], $5::bigint[]) AS x(s, o, l, n)
		WHERE EXISTS (SELECT 1 FROM sites WHERE workspace_id = $1 AND id = x.s)
		ORDER BY x.s, x.o
		ON CONFLICT (workspace_id, site_id, origin) DO UPDATE SET
			last_hit_at = GREATEST(site_origins_seen.last_hit_at, EXCLUDED.last_hit_at),
			hits = site_origins_seen.hits + EXCLUDED.hits`,
		workspaceID, pq.Array(sites), pq.Array(origins), pq.Array(lasts), pq.Array(counts))
	if err != nil {
		return fmt.Errorf("store: unable to note origin hits: %w", err)
	}
	return nil
}

const linkColumns = `workspace_id, id, token, lead_id, site_id, target, created_by, created_at, expires_at, clicks, last_click_at`

// CreateTrackedLink stores a rep's tracked link.
func (s *Store) CreateTrackedLink(ctx context.Context, l model.TrackedLink) (model.TrackedLink, error) {
	err := s.db.GetContext(ctx, &l, `
		INSERT INTO tracked_links (workspace_id, token, lead_id, site_id, target, created_by, expires_at)
		SELECT $1, $2, $3, $4, $5, $6, $7 WHERE EXISTS (SELECT 1 FROM leads WHERE workspace_id = $1 AND id = $3)
		RETURNING `+linkColumns, l.WorkspaceID, l.Token, l.LeadID, l.SiteID, l.Target, l.CreatedBy, l.ExpiresAt)
	if err != nil {
		return l, fmt.Errorf("store: unable to create tracked link: %w", notFound(err))
	}
	return l, nil
}

// TrackedLinksOfLead lists a lead's tracked links, newest first.
func (s *Store) TrackedLinksOfLead(ctx context.Context, workspaceID, leadID int64) ([]model.TrackedLink, error) {
	var out []model.TrackedLink
	err := s.db.SelectContext(ctx, &out, `SELECT `+linkColumns+` FROM tracked_links
		WHERE workspace_id = $1 AND lead_id = $2 ORDER BY created_at DESC, id DESC`, workspaceID, leadID)
	if err != nil {
		return nil, fmt.Errorf("store: unable to list tracked links: %w", err)
	}
	return out, nil
}

// TrackedLinkByToken loads a tracked link by its token.
func (s *Store) TrackedLinkByToken(ctx context.Context, workspaceID int64, token string) (model.TrackedLink, error) {
	var l model.TrackedLink
	err := s.db.GetContext(ctx, &l, `SELECT `+linkColumns+` FROM tracked_links WHERE workspace_id = $1 AND token = $2`, workspaceID, token)
	if err != nil {
		return l, fmt.Errorf("store: unable to load tracked link: %w", notFound(err))
	}
	return l, nil
}

// CountLinkClick counts an opening of a tracked link.
func (s *Store) CountLinkClick(ctx context.Context, workspaceID, linkID int64) error {
	_, err := s.db.ExecContext(ctx, `UPDATE tracked_links SET clicks = clicks + 1, last_click_at = now()
		WHERE workspace_id = $1 AND id = $2`, workspaceID, linkID)
	if err != nil {
		return fmt.Errorf("store: unable to count a link click: %w", err)
	}
	return nil
}

// LinkedLead finds the lead of an unexpired tracked link (0 when none), within processing.
func (t *Tx) LinkedLead(ctx context.Context, workspaceID int64, token string) (int64, error) {
	var ids []int64
	err := t.tx.SelectContext(ctx, &ids, `SELECT lead_id FROM tracked_links
		WHERE workspace_id = $1 AND token = $2 AND expires_at > now()`, workspaceID, token)
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	return ids[0], nil
}
