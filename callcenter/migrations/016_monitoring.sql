-- Live listen / whisper / barge (issue 19): a supervisor's softphone endpoint, and every
-- monitoring session of a call (ChanSpy through an Originate to that phone).
ALTER TABLE users ADD COLUMN softphone text
    CHECK (softphone ~ '^[A-Za-z0-9_.-]{1,64}$');  -- a PJSIP endpoint, e.g. supervisor2001

CREATE TABLE monitoring_sessions (
    id            bigserial   PRIMARY KEY,
    server        text        NOT NULL,
    spy_linkedid  text        NOT NULL,   -- the spy leg's own linkedid (Originate ChannelId)
    linkedid      text,                   -- the spied call; NULL until ChanSpy names it
    supervisor    text,                   -- the web user who started it; NULL: not from the web
    endpoint      text        NOT NULL DEFAULT '',
    mode          text        CHECK (mode IN ('listen', 'whisper', 'barge')),
    status        text        NOT NULL DEFAULT 'ringing'
                              CHECK (status IN ('ringing', 'active', 'ended', 'failed')),
    outcome       text        NOT NULL DEFAULT '',  -- ended | no_answer | busy | failed | too_late
    detail        text        NOT NULL DEFAULT '',
    requested_at  timestamptz,
    started_at    timestamptz,
    ended_at      timestamptz,
    stopped_by    text,
    UNIQUE (server, spy_linkedid)
);
CREATE INDEX monitoring_sessions_call_idx ON monitoring_sessions (server, linkedid);
