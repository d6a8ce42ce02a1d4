-- Queue callback (#23): a caller waiting in a queue pressed 1 to be called back.
-- One row per request: the original call (server, linkedid), the number to call, the
-- queue, when the caller joined it and at which position (their place in order), and
-- what became of it. Each attempt is a call the daemon originated with a linkedid it
-- chose (Originate ChannelId cc-cb-<id>-<n>), written here BEFORE the Originate leaves:
-- after a restart an attempt in 'dialling' is resolved from its call record, never sent
-- again (no doubled callback).
-- The original call is not abandoned: the tracker gives it the disposition
-- 'callback_requested' (the dialplan sets CALLBACK_REQUESTED, a VarSet it reads).
ALTER TABLE calls DROP CONSTRAINT IF EXISTS calls_disposition_check;
ALTER TABLE calls ADD CONSTRAINT calls_disposition_check CHECK (disposition IN (
    'answered', 'abandoned', 'timeout', 'no_agents', 'no_answer', 'busy', 'failed',
    'incomplete', 'callback_requested'));

CREATE TABLE callbacks (
    id                bigserial PRIMARY KEY,
    server            text        NOT NULL,
    linkedid          text        NOT NULL,
    queue             text        NOT NULL,
    number            text        NOT NULL,
    joined_at         timestamptz NOT NULL,
    position          integer     CHECK (position >= 1),
    requested_at      timestamptz NOT NULL DEFAULT now(),
    status            text        NOT NULL DEFAULT 'waiting'
                      CHECK (status IN ('waiting', 'dialling', 'reached', 'gave_up')),
    attempts          integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at   timestamptz NOT NULL DEFAULT now(),
    disposition       text,
    done_at           timestamptz,
    UNIQUE (server, linkedid)
);
CREATE INDEX callbacks_open_idx ON callbacks (queue, joined_at) WHERE status IN ('waiting', 'dialling');

CREATE TABLE callback_attempts (
    callback_id  bigint      NOT NULL REFERENCES callbacks (id) ON DELETE CASCADE,
    attempt      integer     NOT NULL CHECK (attempt >= 1),
    linkedid     text        NOT NULL UNIQUE,
    agent        text        NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    outcome      text        CHECK (outcome IN ('reached', 'no_answer', 'busy', 'agent_no_answer',
                                                'failed')),
    ended_at     timestamptz,
    PRIMARY KEY (callback_id, attempt)
);
