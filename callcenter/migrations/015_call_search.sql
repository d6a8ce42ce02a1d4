-- The supervisors' call search and violations pages (callcenter.console).
-- A partial number ('138*5678', '5678') is searched with LIKE on caller and
-- callee: trigram indexes make that fast where the server has pg_trgm (a
-- trusted extension in PostgreSQL 13+); without it (the embedded server) the
-- search still works, narrowed by the time range's index alone.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_trgm unavailable (%): number search without trigram indexes', SQLERRM;
END $$;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        CREATE INDEX calls_caller_trgm_idx ON calls USING gin (caller gin_trgm_ops);
        CREATE INDEX calls_callee_trgm_idx ON calls USING gin (callee gin_trgm_ops);
    END IF;
END $$;

-- the violations page lists a period's violations, newest first
CREATE INDEX violations_at_idx ON violations (at DESC);
