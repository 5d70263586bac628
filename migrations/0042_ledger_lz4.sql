-- A first scoring writes one score_passes row per lead of about 6 KB before compression (its
-- lines cover every activity the lead did), and PostgreSQL compresses every row over 2 KB
-- with pglz by default. pglz cost the ledger's writes a third of their PostgreSQL CPU: 20,000
-- passes of 31 lines covering 150 activities took 4.5 s of PostgreSQL CPU with pglz, 3.1 s
-- with lz4, whose rows came out the same size (1,895 against 1,989 bytes). Lead states over
-- 2 KB (leads with long histories) are compressed on every scoring pass too.
--
-- Only values written from now on use lz4; older ones stay readable as they are. A server
-- built without lz4 keeps pglz.
DO $$
DECLARE
    col record;
BEGIN
    FOR col IN
        SELECT c.relname AS tab, a.attname AS name
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        WHERE c.relname IN ('score_passes', 'lead_scoring_state') AND c.relkind = 'r'
          AND c.relnamespace = current_schema()::regnamespace
          AND a.attnum > 0 AND NOT a.attisdropped AND a.attstorage IN ('x', 'm')
    LOOP
        EXECUTE format('ALTER TABLE %I ALTER COLUMN %I SET COMPRESSION lz4', col.tab, col.name);
    END LOOP;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'lz4 is not available on this server: the ledger keeps pglz';
END
$$;
