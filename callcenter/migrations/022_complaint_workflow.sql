-- The complaint workflow (#22): registered -> under investigation -> answered to the
-- customer -> the customer's verdict -> closed, or reopened and escalated to a supervisor
-- (and round again). The states and their transitions live in callcenter.complaints.workflow;
-- every step is a row of complaint_events (and an audit_log entry).
--
-- A complaint no longer needs a note: a supervisor or an agent registers one by hand
-- (customer, number, linked call optional, reason).
ALTER TABLE complaints ALTER COLUMN note_id DROP NOT NULL;
ALTER TABLE complaints DROP CONSTRAINT complaints_status_check;
DROP INDEX complaints_open_idx;

-- existing rows move into the new states: open -> registered, answered and closed stay
UPDATE complaints SET status = 'registered' WHERE status = 'open';
ALTER TABLE complaints
    ALTER COLUMN status SET DEFAULT 'registered',
    ADD CONSTRAINT complaints_status_check
        CHECK (status IN ('registered', 'investigating', 'answered', 'escalated', 'closed')),
    ADD COLUMN reason            text CHECK (reason <> ''),       -- null: not given yet
    ADD COLUMN customer_id       bigint REFERENCES customers ON DELETE SET NULL,
    ADD COLUMN number            text,                            -- normalised, null: unknown
    ADD COLUMN server            text,                            -- the linked call, if any
    ADD COLUMN linkedid          text,
    ADD COLUMN agent             text,                            -- agent of the linked call / note
    ADD COLUMN responsible_agent text,                            -- found responsible, if any
    ADD COLUMN investigation     text NOT NULL DEFAULT '',
    ADD COLUMN verdict           text CHECK (verdict IN ('satisfied', 'not_satisfied')),
    ADD COLUMN verdict_source    text CHECK (verdict_source IN ('follow_up_call', 'survey')),
    ADD COLUMN verdict_at        timestamptz,
    ADD COLUMN escalated_to      text,                            -- a supervisor's username
    ADD COLUMN round             integer NOT NULL DEFAULT 1 CHECK (round >= 1),
    ADD COLUMN first_due_at      timestamptz,                     -- the first round's deadline (null: due_at)
    ADD COLUMN registered_by     text,
    ADD COLUMN closed_at         timestamptz,
    ADD CHECK ((server IS NULL) = (linkedid IS NULL));

UPDATE complaints k SET first_due_at = k.due_at, agent = n.agent, server = n.server,
    linkedid = n.linkedid, customer_id = n.customer_id, registered_by = n.agent,
    closed_at = CASE WHEN k.status = 'closed' THEN k.answered_at END,
    number = (SELECT CASE WHEN c.direction = 'inbound' THEN c.caller END FROM calls c
              WHERE c.server = n.server AND c.linkedid = n.linkedid)
FROM call_notes n WHERE n.id = k.note_id;

CREATE INDEX complaints_pending_idx ON complaints (due_at)
    WHERE status IN ('registered', 'investigating', 'escalated');
CREATE INDEX complaints_opened_idx ON complaints (opened_at);
CREATE INDEX complaints_call_idx ON complaints (server, linkedid);

-- Every step of a complaint, timed: who moved it from which state to which, and what
-- they wrote (the answer, the investigation record, the verdict).
CREATE TABLE complaint_events (
    id           bigserial   PRIMARY KEY,
    complaint_id bigint      NOT NULL REFERENCES complaints ON DELETE CASCADE,
    at           timestamptz NOT NULL DEFAULT now(),
    actor        text        NOT NULL,
    action       text        NOT NULL,
    from_state   text,
    to_state     text        NOT NULL,
    text         text        NOT NULL DEFAULT '',
    verdict      text        CHECK (verdict IN ('satisfied', 'not_satisfied')),
    details      jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX complaint_events_complaint_idx ON complaint_events (complaint_id, at, id);
CREATE INDEX complaint_events_verdict_idx ON complaint_events (at) WHERE verdict IS NOT NULL;

-- The evidence: calls linked to a complaint (their recordings and notes come with them).
CREATE TABLE complaint_calls (
    complaint_id bigint      NOT NULL REFERENCES complaints ON DELETE CASCADE,
    server       text        NOT NULL,
    linkedid     text        NOT NULL,
    added_by     text        NOT NULL,
    added_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (complaint_id, server, linkedid)
);

-- the existing complaints' history as far as it is known
INSERT INTO complaint_events (complaint_id, at, actor, action, from_state, to_state)
SELECT id, opened_at, coalesce(registered_by, 'system'), 'register', NULL, 'registered'
FROM complaints;
INSERT INTO complaint_events (complaint_id, at, actor, action, from_state, to_state, text)
SELECT id, answered_at, coalesce(answered_by, 'system'), 'answer', 'registered', status, response
FROM complaints WHERE status IN ('answered', 'closed') AND answered_at IS NOT NULL;
INSERT INTO complaint_calls (complaint_id, server, linkedid, added_by, added_at)
SELECT id, server, linkedid, coalesce(registered_by, 'system'), opened_at
FROM complaints WHERE server IS NOT NULL;
