-- The version since which a score rule matches the same activities and shares its points out
-- the same way: its conditions, its score, "per" and cap unchanged. An edit of the points,
-- the expiry or the half-life keeps it, and a lead's stored contributions of the rule are then
-- re-priced instead of its matching activities being read again. Existing rules start at
-- their current version: states computed before it read, as they did.
ALTER TABLE rules ADD COLUMN match_version integer NOT NULL DEFAULT 1;
UPDATE rules SET match_version = version;
