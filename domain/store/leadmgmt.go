package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/peregrine-scoring/peregrine/domain/leads"
	"github.com/peregrine-scoring/peregrine/domain/model"
)

// Lead entry paths and owner modes (lead_entry_rules).
const (
	PathManual      = "manual"
	PathAPI         = "api"
	PathTrackerForm = "tracker_form" // the website tracker's identifying forms
	PathSegment     = "segment"      // Segment's identify calls
	PathCurrents    = "currents"     // new people in Braze Currents

	OwnerNone   = "none"   // nobody owns the new lead
	OwnerUser   = "user"   // one user
	OwnerPool   = "pool"   // the next member of a distribution pool
	OwnerChoice = "choice" // whom the creator chooses (any owner)
)

// LeadStatus is one of the workspace's lead statuses.
type LeadStatus struct {
	ID        int64  `db:"id"`
	Name      string `db:"name"`
	Position  int    `db:"position"`
	IsDefault bool   `db:"is_default"`
}

// NamedID is a row with a name (a source, a pool).
type NamedID struct {
	ID   int64  `db:"id"`
	Name string `db:"name"`
}

// PoolMember is a member of a distribution pool, in pool order.
type PoolMember struct {
	PoolID   int64  `db:"pool_id"`
	UserID   int64  `db:"user_id"`
	Name     string `db:"name"`
	Email    string `db:"email"`
	Active   bool   `db:"active"`
	Role     string `db:"role"`
	Position int    `db:"position"`
}

// EntryRule is how an entry path creates leads.
type EntryRule struct {
	Path        string `db:"path"`
	Status      string `db:"status"`
	Source      string `db:"source"`
	OwnerMode   string `db:"owner_mode"`
	OwnerUserID *int64 `db:"owner_user_id"`
	PoolID      *int64 `db:"pool_id"`
}

// LeadSettings are a workspace's statuses, sources, pools (with members) and entry rules.
type LeadSettings struct {
	Statuses []LeadStatus
	Sources  []NamedID
	Pools    []NamedID
	Members  []PoolMember
	Rules    []EntryRule
	Owners   []model.User // active users a lead may be given to (sales and admins)
}

// Rule is the entry path's rule (a rule with defaults when none is stored).
func (ls LeadSettings) Rule(path string) EntryRule {
	for _, r := range ls.Rules {
		if r.Path == path {
			return r
		}
	}
	return EntryRule{Path: path, OwnerMode: OwnerChoice}
}

// ReadLeadSettings reads all of the workspace's lead settings.
func (s *Store) ReadLeadSettings(ctx context.Context, workspaceID int64) (LeadSettings, error) {
	var ls LeadSettings
	q := []struct {
		dst any
		sql string
	}{
		{&ls.Statuses, `SELECT id, name, position, is_default FROM lead_statuses WHERE workspace_id = $1 ORDER BY position, id`},
		{&ls.Sources, `SELECT id, name FROM lead_sources WHERE workspace_id = $1 ORDER BY name`},
		{&ls.Pools, `SELECT id, name FROM distribution_pools WHERE workspace_id = $1 ORDER BY name`},
		{&ls.Members, `SELECT m.pool_id, m.user_id, u.name, u.email, u.active, u.role, m.position FROM pool_members m
			JOIN users u ON u.workspace_id = m.workspace_id AND u.id = m.user_id WHERE m.workspace_id = $1 ORDER BY m.pool_id, m.position`},
		{&ls.Rules, `SELECT path, status, source, owner_mode, owner_user_id, pool_id FROM lead_entry_rules WHERE workspace_id = $1 ORDER BY path`},
		{&ls.Owners, `SELECT ` + userColumns + ` FROM users WHERE workspace_id = $1 AND active AND role IN ('sales', 'admin') ORDER BY name, id`},
	}
	for _, x := range q {
		if err := s.db.SelectContext(ctx, x.dst, x.sql, workspaceID); err != nil {
			return ls, fmt.Errorf("store: unable to read lead settings: %w", err)
		}
	}
	return ls, nil
}

// ErrNameTaken: another row of the workspace has the name.
var ErrNameTaken = errors.New("store: name taken")

// AddLeadStatus adds a status at the end of the list.
func (s *Store) AddLeadStatus(ctx context.Context, workspaceID int64, name string) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO lead_statuses (workspace_id, name, position)
		SELECT $1, $2, COALESCE(max(position), 0) + 1 FROM lead_statuses WHERE workspace_id = $1`, workspaceID, name)
	return nameErr(err, "add the status")
}

// ChangeLeadStatus moves a status up or down, makes it the default, or deletes it (the
// default cannot be deleted; leads keep the name they have).
func (s *Store) ChangeLeadStatus(ctx context.Context, workspaceID, id int64, action string) error {
	return s.InTx(ctx, func(tx *Tx) error {
		var st LeadStatus
		if err := tx.tx.GetContext(ctx, &st, `SELECT id, name, position, is_default FROM lead_statuses WHERE workspace_id = $1 AND id = $2 FOR UPDATE`,
			workspaceID, id); err != nil {
			return fmt.Errorf("store: unable to change the status: %w", notFound(err))
		}
		var err error
		switch action {
		case "default":
			if _, err = tx.tx.ExecContext(ctx, `UPDATE lead_statuses SET is_default = false WHERE workspace_id = $1 AND is_default`, workspaceID); err == nil {
				_, err = tx.tx.ExecContext(ctx, `UPDATE lead_statuses SET is_default = true WHERE workspace_id = $1 AND id = $2`, workspaceID, id)
			}
		case "up", "down":
			cmp, order := "<", "DESC"
			if action == "down" {
				cmp, order = ">", "ASC"
			}
			_, err = tx.tx.ExecContext(ctx, `WITH other AS (SELECT id, position FROM lead_statuses WHERE workspace_id = $1 AND position `+cmp+` $3
					ORDER BY position `+order+` LIMIT 1)
				UPDATE lead_statuses s SET position = CASE WHEN s.id = $2 THEN other.position ELSE $3 END
				FROM other WHERE s.workspace_id = $1 AND s.id IN ($2, other.id)`, workspaceID, id, st.Position)
		case "delete":
			if st.IsDefault {
				return ErrDefaultStatus
			}
			_, err = tx.tx.ExecContext(ctx, `DELETE FROM lead_statuses WHERE workspace_id = $1 AND id = $2`, workspaceID, id)
		default:
			return fmt.Errorf("store: unknown status action %q", action)
		}
		if err != nil {
			return fmt.Errorf("store: unable to change the status: %w", err)
		}
		return nil
	})
}

// ErrDefaultStatus: the default status cannot be deleted.
var ErrDefaultStatus = errors.New("store: the default status cannot be deleted")

// AddLeadSource adds a source (an existing name is kept as it is).
func (s *Store) AddLeadSource(ctx context.Context, workspaceID int64, name string) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO lead_sources (workspace_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING`, workspaceID, name)
	return nameErr(err, "add the source")
}

// DeleteLeadSource removes a source from the choices (leads keep the name they have).
func (s *Store) DeleteLeadSource(ctx context.Context, workspaceID, id int64) error {
	return s.one(ctx, `DELETE FROM lead_sources WHERE workspace_id = $1 AND id = $2`, "delete the source", workspaceID, id)
}

// SavePool creates (id 0) or renames a pool and sets its members in order (of the
// workspace's users; others are ignored). Its turn is kept, so the rotation goes on.
func (s *Store) SavePool(ctx context.Context, workspaceID, id int64, name string, members []int64) (int64, error) {
	err := s.InTx(ctx, func(tx *Tx) error {
		var err error
		if id == 0 {
			err = tx.tx.GetContext(ctx, &id, `INSERT INTO distribution_pools (workspace_id, name) VALUES ($1, $2) RETURNING id`, workspaceID, name)
		} else {
			err = tx.tx.GetContext(ctx, &id, `UPDATE distribution_pools SET name = $3 WHERE workspace_id = $1 AND id = $2 RETURNING id`, workspaceID, id, name)
		}
		if err != nil {
			return nameErr(notFound(err), "save the pool")
		}
		if _, err := tx.tx.ExecContext(ctx, `DELETE FROM pool_members WHERE workspace_id = $1 AND pool_id = $2`, workspaceID, id); err != nil {
			return fmt.Errorf("store: unable to save the pool: %w", err)
		}
		_, err = tx.tx.ExecContext(ctx, `INSERT INTO pool_members (workspace_id, pool_id, user_id, position)
			SELECT $1, $2, u.id, x.n FROM unnest($3::bigint[]) WITH ORDINALITY AS x(id, n)
			JOIN users u ON u.workspace_id = $1 AND u.id = x.id ON CONFLICT DO NOTHING`, workspaceID, id, pq.Array(members))
		if err != nil {
			return fmt.Errorf("store: unable to save the pool's members: %w", err)
		}
		return nil
	})
	return id, err
}

// DeletePool removes a pool (entry rules that used it then own leads by nobody).
func (s *Store) DeletePool(ctx context.Context, workspaceID, id int64) error {
	return s.one(ctx, `DELETE FROM distribution_pools WHERE workspace_id = $1 AND id = $2`, "delete the pool", workspaceID, id)
}

// SaveEntryRule stores an entry path's rule.
func (s *Store) SaveEntryRule(ctx context.Context, workspaceID int64, r EntryRule) error {
	if _, err := s.db.ExecContext(ctx, `INSERT INTO lead_entry_rules (workspace_id, path, status, source, owner_mode, owner_user_id, pool_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (workspace_id, path) DO UPDATE SET status = EXCLUDED.status, source = EXCLUDED.source, owner_mode = EXCLUDED.owner_mode,
			owner_user_id = EXCLUDED.owner_user_id, pool_id = EXCLUDED.pool_id`,
		workspaceID, r.Path, r.Status, r.Source, r.OwnerMode, r.OwnerUserID, r.PoolID); err != nil {
		return fmt.Errorf("store: unable to save the entry rule: %w", err)
	}
	return nil
}

// NewLead is a lead a person or a script creates.
type NewLead struct {
	Email, FirstName, LastName, Title, Company, Phone string
	Status, Source                                    string
	OwnerUserID                                       int64 // 0: none, unless PoolID
	PoolID                                            int64 // the owner is the pool's next member
	ByUserID                                          int64 // 0: a script
	ByName                                            string
	Path                                              string
}

// ErrLeadExists: the workspace has a lead with that email.
var ErrLeadExists = errors.New("store: a lead with this email exists")

// ErrPoolEmpty: the pool has no active member to give the lead to.
var ErrPoolEmpty = errors.New("store: the pool has no active member")

// AddLead creates a lead with its status, source and owner — a pool's next member in
// strict round robin, the pool's turn advanced in this transaction — and logs it. It returns
// the lead's id and its owner (0: none).
func (s *Store) AddLead(ctx context.Context, workspaceID int64, n NewLead) (int64, int64, error) {
	var leadID, owner int64
	err := s.InTx(ctx, func(tx *Tx) error {
		accounts, err := tx.UpsertAccounts(ctx, workspaceID, nonEmpty(leads.CompanyDomain(n.Email)))
		if err != nil {
			return err
		}
		var account *int64
		if id, ok := accounts[leads.CompanyDomain(n.Email)]; ok {
			account = &id
		}
		owner = n.OwnerUserID
		via := ""
		if n.PoolID != 0 {
			var pool string
			if owner, pool, err = tx.nextPoolMember(ctx, workspaceID, n.PoolID); err != nil {
				return err
			}
			via = " (round robin of " + pool + ")"
		}
		var ownerName, ownerEmail string
		if owner != 0 {
			if err := tx.tx.QueryRowxContext(ctx, `SELECT name, email FROM users WHERE workspace_id = $1 AND id = $2 AND active`, workspaceID, owner).
				Scan(&ownerName, &ownerEmail); err != nil {
				return fmt.Errorf("store: the owner is not an active user: %w", notFound(err))
			}
		}
		err = tx.tx.GetContext(ctx, &leadID, `INSERT INTO leads (workspace_id, email, first_name, last_name, title, company, phone, status,
				lead_source, owner_user_id, owner_name, owner_email, account_id, pool_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULLIF($10, 0), $11, lower($12), $13, NULLIF($14, 0))
			ON CONFLICT (workspace_id, email) DO NOTHING RETURNING id`,
			workspaceID, n.Email, n.FirstName, n.LastName, n.Title, n.Company, n.Phone, n.Status, n.Source, owner, ownerName, ownerEmail, account, n.PoolID)
		if notFound(err) == ErrNotFound {
			return ErrLeadExists
		}
		if err != nil {
			return fmt.Errorf("store: unable to create the lead: %w", err)
		}
		detail := "Created (" + n.Path + "): status " + orDash(n.Status) + ", source " + orDash(n.Source) + ", owner " + orDash(ownerName) + via
		return tx.logLeadChange(ctx, workspaceID, leadID, "created", detail, n.ByUserID, n.ByName)
	})
	return leadID, owner, err
}

// nextPoolMember takes the pool's turn (UPDATE … RETURNING: concurrent creations queue on the
// pool's row) and returns the active member whose turn it is, in member order, skipping
// removed and deactivated members.
func (t *Tx) nextPoolMember(ctx context.Context, workspaceID, poolID int64) (int64, string, error) {
	var user int64
	var pool string
	err := t.tx.QueryRowxContext(ctx, `WITH turn AS (
			UPDATE distribution_pools SET next_turn = next_turn + 1 WHERE workspace_id = $1 AND id = $2 RETURNING next_turn - 1 AS t, name),
		members AS (
			SELECT m.user_id, row_number() OVER (ORDER BY m.position, m.user_id) - 1 AS i, count(*) OVER () AS n
			FROM pool_members m JOIN users u ON u.workspace_id = m.workspace_id AND u.id = m.user_id AND u.active AND u.role IN ('sales', 'admin')
			WHERE m.workspace_id = $1 AND m.pool_id = $2)
		SELECT m.user_id, turn.name FROM turn JOIN members m ON m.i = turn.t % m.n`, workspaceID, poolID).Scan(&user, &pool)
	if notFound(err) == ErrNotFound {
		return 0, "", ErrPoolEmpty
	}
	if err != nil {
		return 0, "", fmt.Errorf("store: unable to take the pool's turn: %w", err)
	}
	return user, pool, nil
}

// ChangeLeadOwnerStatus sets a lead's status and/or owner (nil: unchanged; owner 0: nobody),
// logging each change with who made it.
func (s *Store) ChangeLeadOwnerStatus(ctx context.Context, workspaceID, leadID int64, status *string, owner *int64, byUserID int64, byName string) error {
	return s.InTx(ctx, func(tx *Tx) error {
		var cur struct {
			Status string `db:"status"`
			Owner  string `db:"owner_name"`
			UserID *int64 `db:"owner_user_id"`
		}
		if err := tx.tx.GetContext(ctx, &cur, `SELECT status, owner_name, owner_user_id FROM leads WHERE workspace_id = $1 AND id = $2 FOR UPDATE`,
			workspaceID, leadID); err != nil {
			return fmt.Errorf("store: unable to change the lead: %w", notFound(err))
		}
		if status != nil && *status != cur.Status {
			if _, err := tx.tx.ExecContext(ctx, `UPDATE leads SET status = $3, updated_at = now() WHERE workspace_id = $1 AND id = $2`,
				workspaceID, leadID, *status); err != nil {
				return fmt.Errorf("store: unable to change the status: %w", err)
			}
			if err := scoreAgain(ctx, tx.tx, `l.workspace_id = $1 AND l.id = $2`, workspaceID, leadID); err != nil {
				return err
			}
			if err := tx.logLeadChange(ctx, workspaceID, leadID, "status", "Status: "+orDash(cur.Status)+" → "+*status, byUserID, byName); err != nil {
				return err
			}
		}
		if owner != nil && (cur.UserID == nil || *cur.UserID != *owner) {
			var name, email string
			if *owner != 0 {
				if err := tx.tx.QueryRowxContext(ctx, `SELECT name, email FROM users WHERE workspace_id = $1 AND id = $2 AND active`, workspaceID, *owner).
					Scan(&name, &email); err != nil {
					return fmt.Errorf("store: the owner is not an active user: %w", notFound(err))
				}
			}
			if _, err := tx.tx.ExecContext(ctx, `UPDATE leads SET owner_user_id = NULLIF($3, 0), owner_name = $4, owner_email = $5, updated_at = now()
				WHERE workspace_id = $1 AND id = $2`, workspaceID, leadID, *owner, name, email); err != nil {
				return fmt.Errorf("store: unable to change the owner: %w", err)
			}
			if err := tx.logLeadChange(ctx, workspaceID, leadID, "owner", "Owner: "+orDash(cur.Owner)+" → "+orDash(name), byUserID, byName); err != nil {
				return err
			}
		}
		return tx.EnqueueSalesforce(ctx, workspaceID, []int64{leadID})
	})
}

// LeadChange is a logged change of a lead.
type LeadChange struct {
	Kind      string    `db:"kind"`
	Detail    string    `db:"detail"`
	ByName    string    `db:"by_name"`
	CreatedAt time.Time `db:"created_at"`
}

// LeadChanges lists a lead's logged changes, newest first.
func (s *Store) LeadChanges(ctx context.Context, workspaceID, leadID int64) ([]LeadChange, error) {
	var out []LeadChange
	if err := s.db.SelectContext(ctx, &out, `SELECT kind, detail, by_name, created_at FROM lead_changes
		WHERE workspace_id = $1 AND lead_id = $2 ORDER BY created_at DESC, id DESC LIMIT 50`, workspaceID, leadID); err != nil {
		return nil, fmt.Errorf("store: unable to read the lead's changes: %w", err)
	}
	return out, nil
}

func (t *Tx) logLeadChange(ctx context.Context, workspaceID, leadID int64, kind, detail string, by int64, byName string) error {
	var byID any
	if by != 0 {
		byID = by
	}
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO lead_changes (workspace_id, lead_id, kind, detail, by_user_id, by_name) VALUES ($1, $2, $3, $4, $5, $6)`,
		workspaceID, leadID, kind, detail, byID, byName); err != nil {
		return fmt.Errorf("store: unable to log the change: %w", err)
	}
	return nil
}

// seedLeadSettings gives a new workspace the usual statuses, sources and entry rules.
func seedLeadSettings(ctx context.Context, tx *sqlx.Tx, workspaceID int64) error {
	for _, q := range []string{
		`INSERT INTO lead_statuses (workspace_id, name, position, is_default) SELECT $1, s.name, s.position, s.position = 1
			FROM (VALUES ('New', 1), ('Working', 2), ('Qualified', 3), ('Unqualified', 4), ('Converted', 5)) AS s(name, position)`,
		`INSERT INTO lead_sources (workspace_id, name) SELECT $1, s.name FROM (VALUES ('Braze'), ('Website'), ('Segment'), ('API'), ('Manual'), ('Chat')) AS s(name)`,
		`INSERT INTO lead_entry_rules (workspace_id, path, status, source, owner_mode) SELECT $1, p.path, 'New', p.source, p.mode
			FROM (VALUES ('manual', 'Manual', 'choice'), ('api', 'API', 'choice'), ('tracker_form', 'Website', 'none'),
				('segment', 'Segment', 'none'), ('currents', 'Braze', 'none')) AS p(path, source, mode)`,
	} {
		if _, err := tx.ExecContext(ctx, q, workspaceID); err != nil {
			return fmt.Errorf("store: unable to seed lead settings: %w", err)
		}
	}
	return nil
}

func nameErr(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrNotFound):
		return err
	case isUniqueViolation(err):
		return ErrNameTaken
	}
	return fmt.Errorf("store: unable to %s: %w", what, err)
}

func nonEmpty(s ...string) []string {
	var out []string
	for _, x := range s {
		if strings.TrimSpace(x) != "" {
			out = append(out, x)
		}
	}
	return out
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// ApplyEntryRules gives the leads this transaction created — rows whose created_at is the
// transaction's start — their entry path's status, source and owner (a pool's next member in
// turn; "choice" means nobody here: no person is creating them). Leads that existed before
// are left as they are. paths maps each new lead's email to its path.
func (t *Tx) ApplyEntryRules(ctx context.Context, workspaceID int64, paths map[string]string) error {
	if len(paths) == 0 {
		return nil
	}
	emails := make([]string, 0, len(paths))
	for e := range paths {
		emails = append(emails, e)
	}
	var fresh []struct {
		ID    int64  `db:"id"`
		Email string `db:"email"`
	}
	if err := t.tx.SelectContext(ctx, &fresh, `SELECT id, email FROM leads WHERE workspace_id = $1 AND email = ANY($2) AND created_at = now()
		AND status = '' AND lead_source = '' AND owner_user_id IS NULL ORDER BY id`, workspaceID, pq.Array(emails)); err != nil {
		return fmt.Errorf("store: unable to find new leads: %w", err)
	}
	if len(fresh) == 0 {
		return nil
	}
	var rules []EntryRule
	if err := t.tx.SelectContext(ctx, &rules, `SELECT path, status, source, owner_mode, owner_user_id, pool_id FROM lead_entry_rules
		WHERE workspace_id = $1`, workspaceID); err != nil {
		return fmt.Errorf("store: unable to read entry rules: %w", err)
	}
	byPath := map[string]EntryRule{}
	for _, r := range rules {
		byPath[r.Path] = r
	}
	var ids, owners []int64
	var statuses, sources, used []string
	var pools []sql.NullInt64
	for _, l := range fresh {
		r, ok := byPath[paths[l.Email]]
		if !ok {
			continue
		}
		var owner int64
		switch {
		case r.OwnerMode == OwnerUser && r.OwnerUserID != nil:
			owner = *r.OwnerUserID
		case r.OwnerMode == OwnerPool && r.PoolID != nil:
			var err error
			if owner, _, err = t.nextPoolMember(ctx, workspaceID, *r.PoolID); err != nil && !errors.Is(err, ErrPoolEmpty) {
				return err
			}
		}
		var pool sql.NullInt64
		if r.OwnerMode == OwnerPool && r.PoolID != nil {
			pool = sql.NullInt64{Int64: *r.PoolID, Valid: true}
		}
		ids, owners, pools = append(ids, l.ID), append(owners, owner), append(pools, pool)
		statuses, sources, used = append(statuses, r.Status), append(sources, r.Source), append(used, r.Path)
	}
	return t.enterLeads(ctx, workspaceID, ids, statuses, sources, owners, pools, used)
}

// enterLeads writes the entry rules' outcome for new leads (one row each, in id order) and
// logs their creation: two statements for the whole batch, since a batch of first-time
// contacts (a new Braze workspace's first events) brings a thousand at once.
func (t *Tx) enterLeads(ctx context.Context, workspaceID int64, ids []int64, statuses, sources []string, owners []int64, pools []sql.NullInt64, paths []string) error {
	if len(ids) == 0 {
		return nil
	}
	var owned []struct {
		ID    int64  `db:"id"`
		Owner string `db:"owner_name"`
	}
	if err := t.tx.SelectContext(ctx, &owned, `UPDATE leads l SET status = x.status, lead_source = x.source, owner_user_id = u.id,
			owner_name = COALESCE(u.name, ''), owner_email = COALESCE(lower(u.email), ''), pool_id = x.pool
		FROM unnest($2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::bigint[]) AS x(id, status, source, owner, pool)
			LEFT JOIN users u ON u.workspace_id = $1 AND u.id = x.owner AND u.active
		WHERE l.workspace_id = $1 AND l.id = x.id RETURNING l.id, l.owner_name`,
		workspaceID, pq.Array(ids), pq.Array(statuses), pq.Array(sources), pq.Array(owners), pq.Array(pools)); err != nil {
		return fmt.Errorf("store: unable to apply the entry rules: %w", err)
	}
	ownerOf := make(map[int64]string, len(owned))
	for _, o := range owned {
		ownerOf[o.ID] = o.Owner
	}
	details, by := make([]string, len(ids)), make([]string, len(ids))
	for i, id := range ids {
		details[i] = "Created (" + paths[i] + "): status " + orDash(statuses[i]) + ", source " + orDash(sources[i]) + ", owner " + orDash(ownerOf[id])
		by[i] = pathNames[paths[i]]
	}
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO lead_changes (workspace_id, lead_id, kind, detail, by_name)
		SELECT $1, x.id, 'created', x.detail, x.by FROM unnest($2::bigint[], $3::text[], $4::text[]) AS x(id, detail, by)`,
		workspaceID, pq.Array(ids), pq.Array(details), pq.Array(by)); err != nil {
		return fmt.Errorf("store: unable to log the new leads: %w", err)
	}
	return nil
}

// pathNames name who created a lead on each automatic path, in its history.
var pathNames = map[string]string{PathTrackerForm: "the website tracker", PathSegment: "Segment", PathCurrents: "Braze Currents", PathAPI: "the open API"}
