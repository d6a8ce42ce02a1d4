-- The append-only event journal: AMI events that matter, per server, in order.
CREATE TABLE journal (
    server      text        NOT NULL,
    seq         bigint      NOT NULL,
    received_at timestamptz NOT NULL,
    event_time  timestamptz NOT NULL,
    event       text        NOT NULL,
    linkedid    text,
    frame       jsonb       NOT NULL,
    PRIMARY KEY (server, seq)
);
CREATE INDEX journal_time_idx ON journal (event_time);
CREATE INDEX journal_linkedid_idx ON journal (server, linkedid);
