-- Call recordings: one row per file MixMonitor announced for a call.
-- No foreign key to calls: call rows are derived data (`callcenter rebuild`
-- deletes and rewrites them) while a recording row and its file are kept
-- for the retention period.
CREATE TABLE recordings (
    server          text        NOT NULL,
    linkedid        text        NOT NULL,
    file_name       text        NOT NULL,            -- base name MixMonitor announced
    status          text        NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'ready', 'empty', 'missing', 'corrupt', 'purged')),
    source_path     text        NOT NULL DEFAULT '', -- the path as Asterisk announced it
    path            text,                            -- relative to recordings.store_dir
    format          text,                            -- wav, wav49, gsm, ulaw, alaw, ogg, mp3, ...
    duration_s      double precision,
    size_bytes      bigint,
    sha256          text,
    short           boolean     NOT NULL DEFAULT false,
    legal_hold      boolean     NOT NULL DEFAULT false,
    attempts        integer     NOT NULL DEFAULT 0,
    detail          text        NOT NULL DEFAULT '',
    queue           text,                            -- the call's queue (retention per queue)
    call_started_at timestamptz NOT NULL,            -- retention counts from here
    talk_s          double precision,                -- the call's talk time (short flag)
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (server, linkedid, file_name)
);
CREATE INDEX recordings_status_idx ON recordings (status, call_started_at);
