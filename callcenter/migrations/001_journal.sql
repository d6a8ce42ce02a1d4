-- The append-only event journal: the AMI events that matter, per server, in
-- arrival order. ``seq`` is the arrival time in microseconds, made strictly
-- increasing per server by the writer, so a replayed capture gets the same
-- keys every time (ON CONFLICT DO NOTHING keeps the journal idempotent).
-- kind: 'frame' (an AMI event or response), 'sent' (an action we sent; secrets
-- removed), 'resync' (the set of linkedids Asterisk still had on reconnect).
CREATE TABLE journal (
    server      text        NOT NULL,
    seq         bigint      NOT NULL,
    kind        text        NOT NULL DEFAULT 'frame'
                CHECK (kind IN ('frame', 'sent', 'resync')),
    received_at timestamptz NOT NULL,
    event_time  timestamptz NOT NULL,
    event       text        NOT NULL,
    linkedid    text,
    frame       jsonb       NOT NULL,
    PRIMARY KEY (server, seq)
);
CREATE INDEX journal_time_idx ON journal (event_time);
CREATE INDEX journal_linkedid_idx ON journal (server, linkedid);
