-- Call records derived from the journal by the tracker (see callcenter/store/).
-- Every table is keyed by natural keys so replaying the same events twice
-- changes nothing; child rows are replaced per call in one transaction.
CREATE TABLE calls (
    server            text        NOT NULL,
    linkedid          text        NOT NULL,
    direction         text        NOT NULL CHECK (direction IN ('inbound', 'outbound', 'internal')),
    caller            text,
    caller_name       text,
    callee            text,
    queue             text,
    queues            text[]      NOT NULL DEFAULT '{}',
    agent             text,
    started_at        timestamptz NOT NULL,
    queue_joined_at   timestamptz,
    answered_at       timestamptz,
    ended_at          timestamptz,
    wait_s            double precision,
    talk_s            double precision,
    hold_s            double precision NOT NULL DEFAULT 0,
    hangup_by         text CHECK (hangup_by IN ('caller', 'agent', 'system')),
    hangup_cause      integer,
    disposition       text CHECK (disposition IN ('answered', 'abandoned', 'timeout', 'no_agents',
                                                  'no_answer', 'busy', 'failed', 'incomplete')),
    incomplete_reason text,
    recordings        text[]      NOT NULL DEFAULT '{}',
    PRIMARY KEY (server, linkedid)
);
CREATE INDEX calls_started_idx ON calls (started_at DESC);
CREATE INDEX calls_agent_idx ON calls (agent, started_at);
CREATE INDEX calls_queue_idx ON calls (queue, started_at);

CREATE TABLE ring_attempts (
    server      text        NOT NULL,
    linkedid    text        NOT NULL,
    idx         integer     NOT NULL,
    agent       text        NOT NULL,
    interface   text        NOT NULL,
    queue       text,
    channel     text,
    uniqueid    text,
    started_at  timestamptz NOT NULL,
    ended_at    timestamptz,
    ring_s      double precision,
    rings       integer,
    outcome     text CHECK (outcome IN ('answered', 'no_answer', 'caller_hangup', 'cancelled',
                                        'busy', 'unavailable')),
    within_rule boolean,
    PRIMARY KEY (server, linkedid, idx),
    FOREIGN KEY (server, linkedid) REFERENCES calls ON DELETE CASCADE
);
CREATE INDEX ring_attempts_agent_idx ON ring_attempts (agent, started_at);

CREATE TABLE transfers (
    server     text        NOT NULL,
    linkedid   text        NOT NULL,
    idx        integer     NOT NULL,
    type       text        NOT NULL CHECK (type IN ('blind', 'attended')),
    from_agent text        NOT NULL,
    to_agent   text,
    at         timestamptz NOT NULL,
    PRIMARY KEY (server, linkedid, idx),
    FOREIGN KEY (server, linkedid) REFERENCES calls ON DELETE CASCADE
);

CREATE TABLE violations (
    server     text        NOT NULL,
    linkedid   text        NOT NULL,
    idx        integer     NOT NULL,
    agent      text        NOT NULL,
    interface  text        NOT NULL,
    queue      text,
    ring_s     double precision NOT NULL,
    rings      integer     NOT NULL,
    deadline_s double precision NOT NULL,
    at         timestamptz NOT NULL,
    action     text        NOT NULL,
    result     text        NOT NULL,
    detail     text        NOT NULL DEFAULT '',
    PRIMARY KEY (server, linkedid, idx),
    FOREIGN KEY (server, linkedid) REFERENCES calls ON DELETE CASCADE
);
CREATE INDEX violations_agent_idx ON violations (agent, at);

-- Agents and queues: the latest state per queue member, and its history.
-- ``queue`` is '' for a state not tied to one queue.
CREATE TABLE agents (
    server     text        NOT NULL,
    interface  text        NOT NULL,
    agent      text        NOT NULL,
    name       text,
    state      text        NOT NULL,
    paused     boolean     NOT NULL,
    reason     text,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (server, interface)
);

CREATE TABLE queues (
    server     text        NOT NULL,
    name       text        NOT NULL,
    first_seen timestamptz NOT NULL,
    last_seen  timestamptz NOT NULL,
    PRIMARY KEY (server, name)
);

CREATE TABLE queue_members (
    server     text        NOT NULL,
    queue      text        NOT NULL,
    interface  text        NOT NULL,
    agent      text        NOT NULL,
    in_queue   boolean     NOT NULL,
    state      text        NOT NULL,
    paused     boolean     NOT NULL,
    reason     text,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (server, queue, interface)
);

CREATE TABLE agent_state_history (
    server    text        NOT NULL,
    interface text        NOT NULL,
    queue     text        NOT NULL DEFAULT '',
    at        timestamptz NOT NULL,
    agent     text        NOT NULL,
    state     text        NOT NULL,
    paused    boolean     NOT NULL,
    reason    text,
    in_queue  boolean     NOT NULL,
    PRIMARY KEY (server, interface, queue, at, state, paused)
);
CREATE INDEX agent_state_history_at_idx ON agent_state_history (at);
