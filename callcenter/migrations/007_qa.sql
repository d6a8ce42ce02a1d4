-- The QA monitoring sheet (呼叫质量监控表): sampled calls, the inspectors' work
-- queue, and the reviews with the agent's answer and a supervisor's resolution.
-- No foreign keys to calls/recordings: a review outlives a rebuilt call record.

-- One row per sampled call: a call is never sampled twice.
CREATE TABLE qa_samples (
    server     text        NOT NULL,
    linkedid   text        NOT NULL,
    week       text        NOT NULL,            -- ISO week in the centre's time zone, '2026-W48'
    agent      text        NOT NULL,
    reasons    text[]      NOT NULL,            -- random | ring_no_answer | complaint | long_hold | long_talk
    seed       bigint      NOT NULL,
    sampled_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (server, linkedid)
);
CREATE INDEX qa_samples_week_idx ON qa_samples (week, agent);

-- The work queue: a sampled call assigned to an inspector (several for calibration).
CREATE TABLE qa_assignments (
    id          bigserial   PRIMARY KEY,
    server      text        NOT NULL,
    linkedid    text        NOT NULL,
    inspector   text        NOT NULL,
    calibration boolean     NOT NULL DEFAULT false,
    assigned_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (server, linkedid, inspector),
    FOREIGN KEY (server, linkedid) REFERENCES qa_samples ON DELETE CASCADE
);
CREATE INDEX qa_assignments_inspector_idx ON qa_assignments (inspector, assigned_at);

-- A review keeps the form it was scored on (id, version, hash and the definition).
CREATE TABLE qa_reviews (
    id                 bigserial   PRIMARY KEY,
    assignment_id      bigint      NOT NULL UNIQUE REFERENCES qa_assignments ON DELETE RESTRICT,
    server             text        NOT NULL,
    linkedid           text        NOT NULL,
    inspector          text        NOT NULL,
    agent              text        NOT NULL,
    form_id            text        NOT NULL,
    form_version       integer     NOT NULL,
    form_hash          text        NOT NULL,
    form_definition    jsonb       NOT NULL,
    scores             jsonb       NOT NULL DEFAULT '{}',
    comment            text        NOT NULL DEFAULT '',
    total              double precision,
    raw_total          double precision,
    grade              text,
    fatal              boolean     NOT NULL DEFAULT false,
    status             text        NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'submitted')),
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    submitted_at       timestamptz,
    response           text        CHECK (response IN ('acknowledged', 'disputed')),
    response_comment   text        NOT NULL DEFAULT '',
    responded_at       timestamptz,
    resolution         text        CHECK (resolution IN ('upheld', 'changed')),
    resolution_comment text        NOT NULL DEFAULT '',
    resolved_by        text,
    resolved_at        timestamptz
);
CREATE INDEX qa_reviews_agent_idx ON qa_reviews (agent, submitted_at);
CREATE INDEX qa_reviews_call_idx ON qa_reviews (server, linkedid);

-- A submitted review is immutable: its score may change only in the update that
-- resolves a dispute; answers and resolutions are written once.
CREATE FUNCTION qa_reviews_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status = 'submitted' THEN
        IF NEW.status <> 'submitted'
           OR NEW.form_definition IS DISTINCT FROM OLD.form_definition
           OR NEW.inspector IS DISTINCT FROM OLD.inspector
           OR NEW.agent IS DISTINCT FROM OLD.agent THEN
            RAISE EXCEPTION 'qa review % is submitted and immutable', OLD.id;
        END IF;
        IF (NEW.scores IS DISTINCT FROM OLD.scores OR NEW.comment IS DISTINCT FROM OLD.comment
            OR NEW.total IS DISTINCT FROM OLD.total)
           AND NOT (OLD.response IS NOT DISTINCT FROM 'disputed' AND OLD.resolution IS NULL
                    AND NEW.resolution IS NOT DISTINCT FROM 'changed') THEN
            RAISE EXCEPTION 'qa review % is submitted: only a dispute resolution changes it', OLD.id;
        END IF;
        IF (OLD.response IS NOT NULL AND NEW.response IS DISTINCT FROM OLD.response)
           OR (OLD.resolution IS NOT NULL AND NEW.resolution IS DISTINCT FROM OLD.resolution) THEN
            RAISE EXCEPTION 'qa review %: answers and resolutions are final', OLD.id;
        END IF;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER qa_reviews_guard BEFORE UPDATE ON qa_reviews
    FOR EACH ROW EXECUTE FUNCTION qa_reviews_guard();
