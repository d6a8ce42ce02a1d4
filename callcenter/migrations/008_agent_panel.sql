-- The agent panel: customers and their phone numbers, call notes (the inbound /
-- outbound record sheets), complaints with a response deadline, follow-ups
-- (回访) and the calls placed for them. Phone numbers are stored normalised
-- (callcenter.agentpanel.numbers: domestic digits, '+CC...' abroad).
CREATE TABLE customers (
    id         bigserial   PRIMARY KEY,
    name       text        NOT NULL CHECK (name <> ''),
    company    text        NOT NULL DEFAULT '',
    notes      text        NOT NULL DEFAULT '',
    created_by text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_by text        NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX customers_name_idx ON customers (lower(name));

-- one number belongs to one customer, so a caller ID finds at most one
CREATE TABLE customer_phones (
    number      text   PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customers ON DELETE CASCADE,
    label       text   NOT NULL DEFAULT ''
);
CREATE INDEX customer_phones_customer_idx ON customer_phones (customer_id);

-- one note per call and agent; (server, linkedid) names a row of calls, which
-- is derived data (rebuilt from the journal), hence no foreign key
CREATE TABLE call_notes (
    id           bigserial   PRIMARY KEY,
    server       text        NOT NULL,
    linkedid     text        NOT NULL,
    agent        text        NOT NULL,
    customer_id  bigint      REFERENCES customers ON DELETE SET NULL,
    category     text        NOT NULL,
    content      text        NOT NULL DEFAULT '',
    result       text        NOT NULL DEFAULT '',
    follow_up_on date,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (server, linkedid, agent)
);
CREATE INDEX call_notes_customer_idx ON call_notes (customer_id, created_at DESC);
CREATE INDEX call_notes_agent_idx ON call_notes (agent, created_at DESC);

CREATE TABLE complaints (
    id          bigserial   PRIMARY KEY,
    note_id     bigint      NOT NULL UNIQUE REFERENCES call_notes ON DELETE CASCADE,
    opened_at   timestamptz NOT NULL DEFAULT now(),
    due_at      timestamptz NOT NULL,
    status      text        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'answered', 'closed')),
    response    text        NOT NULL DEFAULT '',
    answered_by text,
    answered_at timestamptz
);
CREATE INDEX complaints_open_idx ON complaints (due_at) WHERE status = 'open';

CREATE TABLE follow_ups (
    id          bigserial   PRIMARY KEY,
    agent       text        NOT NULL,
    number      text        NOT NULL,
    customer_id bigint      REFERENCES customers ON DELETE SET NULL,
    note_id     bigint      UNIQUE REFERENCES call_notes ON DELETE SET NULL,
    due_on      date        NOT NULL,
    purpose     text        NOT NULL DEFAULT '',
    status      text        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done', 'cancelled')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    done_at     timestamptz
);
CREATE INDEX follow_ups_agent_idx ON follow_ups (agent, status, due_on);

-- each click-to-call of a follow-up; linkedid is filled in once the outbound
-- call it produced is found in calls (same agent, same number, just after)
CREATE TABLE follow_up_calls (
    id           bigserial   PRIMARY KEY,
    follow_up_id bigint      NOT NULL REFERENCES follow_ups ON DELETE CASCADE,
    server       text        NOT NULL,
    agent        text        NOT NULL,
    number       text        NOT NULL,
    dialled      text        NOT NULL,            -- the Exten sent (outside-line prefix + number)
    requested_at timestamptz NOT NULL DEFAULT now(),
    action_id    text        NOT NULL,
    ok           boolean     NOT NULL,
    message      text        NOT NULL DEFAULT '',
    linkedid     text
);
CREATE INDEX follow_up_calls_follow_up_idx ON follow_up_calls (follow_up_id, requested_at);
