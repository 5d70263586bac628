-- Data access: a workspace lets its sales users see every lead ('all', the default) or only
-- the leads they own plus the unassigned leads of the pools they belong to ('own').
ALTER TABLE workspaces ADD COLUMN sales_access text NOT NULL DEFAULT 'all' CHECK (sales_access IN ('all', 'own'));

-- The pool that gave a lead its owner: when the lead has no owner (the pool had nobody
-- active, or the owner was taken away), the pool's members may see it and pick it up.
ALTER TABLE leads ADD COLUMN pool_id bigint;

-- A restricted sales user's lists read their own leads by owner email (Peregrine owners and
-- Salesforce-pulled owners alike) and their pools' unassigned leads.
CREATE INDEX leads_owner_email ON leads (workspace_id, lower(owner_email)) WHERE owner_email <> '';
CREATE INDEX leads_pool_unassigned ON leads (workspace_id, pool_id) WHERE owner_email = '' AND pool_id IS NOT NULL;

-- An API token may act for a user: it then sees only what that user may see.
ALTER TABLE api_tokens ADD COLUMN acts_for_user_id bigint;
