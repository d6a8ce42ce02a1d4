-- The journal, partitioned by month: a journal that grows for years stays cheap to
-- write, `rebuild --since` reads only the months it needs, and retention drops whole
-- months (`[database] journal_retention_months`, `callcenter journal prune`).
--
-- Partitioned on ``seq`` (the arrival time in µs since 1970 UTC): the primary key
-- (server, seq) already holds the partition key, so ON CONFLICT (server, seq) DO NOTHING
-- keeps the journal idempotent as before. One partition per UTC month, named
-- journal_yYYYYmMM, holds seq in [the month's first µs, the next month's). Inserts never
-- fail for a missing month: journal_default takes whatever no month holds, and
-- journal_add_month (run here for every month present, the current and the next one, and
-- by the daemon's journal maintenance every day ahead of time) creates a month, moving
-- into it any of its rows that the default partition took meanwhile.
ALTER TABLE journal RENAME TO journal_unpartitioned;
ALTER INDEX journal_pkey RENAME TO journal_unpartitioned_pkey;
DROP INDEX journal_linkedid_idx;
DROP INDEX journal_time_brin;

-- the same columns, defaults and checks as before (frame json since migration 010)
CREATE TABLE journal (LIKE journal_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
    PARTITION BY RANGE (seq);
ALTER TABLE journal ADD PRIMARY KEY (server, seq);
CREATE INDEX journal_linkedid_idx ON journal (server, linkedid);
CREATE INDEX journal_time_brin ON journal USING brin (event_time);
CREATE TABLE journal_default PARTITION OF journal DEFAULT;

-- The seq of an instant (µs since 1970 UTC), as the writer's SeqClock counts.
CREATE FUNCTION journal_seq_of(at timestamptz) RETURNS bigint
    LANGUAGE sql IMMUTABLE STRICT
    AS $$ SELECT (extract(epoch FROM at) * 1000000)::bigint $$;

-- The partition of the UTC month holding ``at``, created if missing (its rows moved out
-- of journal_default first); returns its name. Safe to run from several daemons at once.
CREATE FUNCTION journal_add_month(at timestamptz) RETURNS text
    LANGUAGE plpgsql AS $$
DECLARE
    month_start timestamptz := date_trunc('month', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    name text := to_char(month_start AT TIME ZONE 'UTC', '"journal_y"YYYY"m"MM');
    lo bigint := journal_seq_of(month_start);
    hi bigint := journal_seq_of(month_start + interval '1 month');
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('callcenter.journal_partitions'));
    IF to_regclass(name) IS NOT NULL THEN
        RETURN name;
    END IF;
    -- no row of this month may reach the default partition between the move and the attach
    LOCK TABLE journal_default IN ACCESS EXCLUSIVE MODE;
    EXECUTE format('CREATE TABLE %I (LIKE journal INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                   name);
    EXECUTE format('WITH moved AS (DELETE FROM journal_default WHERE seq >= %s AND seq < %s'
                   ' RETURNING *) INSERT INTO %I SELECT * FROM moved', lo, hi, name);
    EXECUTE format('ALTER TABLE journal ATTACH PARTITION %I FOR VALUES FROM (%s) TO (%s)',
                   name, lo, hi);
    RETURN name;
END $$;

SELECT journal_add_month(m)
FROM (SELECT DISTINCT date_trunc('month', to_timestamp(seq / 1000000) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS m
      FROM journal_unpartitioned WHERE seq >= 0
      UNION SELECT now() UNION SELECT now() + interval '1 month') AS months;

INSERT INTO journal SELECT * FROM journal_unpartitioned;
DROP TABLE journal_unpartitioned;

-- Months of the journal dropped or detached by retention. The journal starts at the
-- highest ``until_seq`` here: calls that began before it keep their stored records, and
-- `rebuild` leaves them as they are (their entries are gone).
CREATE TABLE journal_pruned (
    partition   text        PRIMARY KEY,
    from_seq    bigint      NOT NULL,
    until_seq   bigint      NOT NULL,
    action      text        NOT NULL CHECK (action IN ('drop', 'detach')),
    pruned_at   timestamptz NOT NULL
);
