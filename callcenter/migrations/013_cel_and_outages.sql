-- Asterisk's own Channel Event Logging (cel_pgsql, part of Asterisk 22), written by
-- the PBX itself into this database whether the daemon runs or not: the table
-- documented for cel_pgsql (cel_pgsql reads the columns at load and fills the ones
-- it knows; with usegmtime = yes, eventtime is UTC). The daemon only reads it, to
-- complete the calls of a stretch it did not see (a gap below).
CREATE TABLE IF NOT EXISTS cel (
    id          serial PRIMARY KEY,
    eventtype   varchar(30)  NOT NULL,
    eventtime   timestamp    NOT NULL,
    userdeftype varchar(255) NOT NULL DEFAULT '',
    cid_name    varchar(80)  NOT NULL DEFAULT '',
    cid_num     varchar(80)  NOT NULL DEFAULT '',
    cid_ani     varchar(80)  NOT NULL DEFAULT '',
    cid_rdnis   varchar(80)  NOT NULL DEFAULT '',
    cid_dnid    varchar(80)  NOT NULL DEFAULT '',
    exten       varchar(80)  NOT NULL DEFAULT '',
    context     varchar(80)  NOT NULL DEFAULT '',
    channame    varchar(80)  NOT NULL DEFAULT '',
    appname     varchar(80)  NOT NULL DEFAULT '',
    appdata     varchar(512) NOT NULL DEFAULT '',
    amaflags    integer      NOT NULL DEFAULT 0,
    accountcode varchar(20)  NOT NULL DEFAULT '',
    peeraccount varchar(20)  NOT NULL DEFAULT '',
    uniqueid    varchar(150) NOT NULL DEFAULT '',
    linkedid    varchar(150) NOT NULL DEFAULT '',
    userfield   varchar(255) NOT NULL DEFAULT '',
    peer        varchar(80)  NOT NULL DEFAULT '',
    extra       text         NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS cel_eventtime_idx ON cel (eventtime);
CREATE INDEX IF NOT EXISTS cel_linkedid_idx ON cel (linkedid);

-- Outages: a stretch of a server's events the daemon did not receive (the AMI link
-- was down, or the daemon was not running). lost_at / resumed_at are the daemon's
-- clock (the last entry received before, the link's return); pbx_started_at is set
-- when the PBX restarted within it (FullyBooted Uptime). filled_at: when its calls
-- were completed from CEL (filled_calls of them; fill_note says what was or was not).
ALTER TABLE journal_gaps
    ADD COLUMN lost_at        timestamptz,
    ADD COLUMN resumed_at     timestamptz,
    ADD COLUMN pbx_started_at timestamptz,
    ADD COLUMN filled_at      timestamptz,
    ADD COLUMN filled_calls   integer,
    ADD COLUMN fill_note      text;
CREATE UNIQUE INDEX journal_gaps_outage_idx ON journal_gaps (server, kind, lost_at)
    WHERE lost_at IS NOT NULL;
CREATE INDEX journal_gaps_unfilled_idx ON journal_gaps (server) WHERE lost_at IS NOT NULL
    AND filled_at IS NULL;
