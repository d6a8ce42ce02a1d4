-- Stretches of a server's journal that were not kept. The store records one
-- row when it had to drop entries (database unreachable, spool disk failing,
-- memory bound reached): exactly which sequence range of which server. Later
-- kinds (a daemon restart, an AMI link outage) use the same table.
CREATE TABLE journal_gaps (
    id          bigserial PRIMARY KEY,
    server      text NOT NULL,
    kind        text NOT NULL,           -- 'store_dropped' | ...
    first_seq   bigint,                  -- journal seq range not kept (NULL: none known)
    last_seq    bigint,
    items       integer NOT NULL,        -- entries (or call / state rows) not kept
    what        text NOT NULL,           -- 'journal' | 'calls' | 'states'
    reason      text NOT NULL,
    noted_at    timestamptz NOT NULL,
    UNIQUE (server, what, first_seq, last_seq, noted_at)
);
CREATE INDEX journal_gaps_server_idx ON journal_gaps (server, first_seq);
