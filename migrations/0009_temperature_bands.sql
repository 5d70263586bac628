-- Temperature bands are shares of a workspace's active leads, hottest first (rest cold).
ALTER TABLE workspaces ADD COLUMN temperature_bands jsonb NOT NULL DEFAULT '{"hot": 10, "warm": 20, "neutral": 30}';

-- The heat scale holds each band's floor (time-free units) instead of fixed percentiles.
ALTER TABLE heat_scales RENAME COLUMN p95 TO hot_floor;
ALTER TABLE heat_scales RENAME COLUMN p80 TO warm_floor;
ALTER TABLE heat_scales RENAME COLUMN p50 TO neutral_floor;
-- Recompute at once with the new meaning.
UPDATE heat_scales SET computed_at = '2000-01-01';
