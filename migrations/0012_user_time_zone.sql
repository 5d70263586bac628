-- The time zone a person reads times in; empty: their browser's.
ALTER TABLE users ADD COLUMN time_zone text NOT NULL DEFAULT '';
