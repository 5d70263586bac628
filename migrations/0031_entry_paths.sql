-- Leads that arrive by themselves get their entry path's status, source and owner too: the
-- website tracker's forms, Segment's identify calls and Braze Currents' new people (the open
-- API's events follow the 'api' rule).
ALTER TABLE lead_entry_rules DROP CONSTRAINT lead_entry_rules_path_check,
    ADD CONSTRAINT lead_entry_rules_path_check CHECK (path IN ('manual', 'api', 'tracker_form', 'segment', 'currents'));
INSERT INTO lead_entry_rules (workspace_id, path, status, source, owner_mode)
    SELECT w.id, p.path, 'New', p.source, 'none' FROM workspaces w,
        (VALUES ('tracker_form', 'Website'), ('segment', 'Segment'), ('currents', 'Braze')) AS p(path, source)
    ON CONFLICT DO NOTHING;
