-- Report rollups (callcenter.reports.rollup): the figures of every local day
-- that is over, built on demand by the report code from the calls tables with
-- the same SQL as a report over raw rows (callcenter.reports.sql), and rebuilt
-- when something changes on that day.
--
-- * report_days: the local days (centre's time zone) whose rollup rows exist;
--   deleting a day deletes its rows (cascade).
-- * report_call_hours / report_agent_days / report_agent_time_days: the
--   additive sums of callcenter.metrics (CallFigures, AgentFigures) as JSON,
--   per (day, hour, queue), (day, queue, agent) and (day, agent). Only ENDED
--   calls are rolled up: open calls and today's calls are always read raw.
-- * report_rollup_state: the time zone and thresholds the rows were built
--   with; a change of web.timezone / service_level_s / short_abandon_s
--   empties the rollup (rebuilt by the next reports).
-- * report_dirty: time ranges (whole UTC hours) touched since the last refresh, written by
--   statement triggers on calls (the store replaces a call's ring attempts,
--   transfers and violations together with its row, so the calls trigger
--   covers them) and agent_state_history (a new fact changes the agent's time
--   from it to the agent's next fact). A refresh deletes the rollup days these
--   ranges overlap, then builds the missing days of the period asked for.
CREATE TABLE report_rollup_state (
    id              boolean PRIMARY KEY DEFAULT true CHECK (id),
    tz              text    NOT NULL,
    service_level_s double precision NOT NULL,
    short_abandon_s double precision NOT NULL
);

CREATE TABLE report_days (
    day      date        PRIMARY KEY,
    built_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE report_call_hours (
    day     date    NOT NULL REFERENCES report_days ON DELETE CASCADE,
    hour    integer NOT NULL,
    queue   text    NOT NULL,
    figures jsonb   NOT NULL,
    PRIMARY KEY (day, hour, queue)
);

CREATE TABLE report_agent_days (
    day     date  NOT NULL REFERENCES report_days ON DELETE CASCADE,
    queue   text  NOT NULL,
    agent   text  NOT NULL,
    figures jsonb NOT NULL,
    PRIMARY KEY (day, queue, agent)
);
CREATE INDEX report_agent_days_agent_idx ON report_agent_days (agent, day);

CREATE TABLE report_agent_time_days (
    day     date  NOT NULL REFERENCES report_days ON DELETE CASCADE,
    agent   text  NOT NULL,
    figures jsonb NOT NULL,
    PRIMARY KEY (day, agent)
);

CREATE TABLE report_dirty (
    from_at timestamptz NOT NULL,
    to_at   timestamptz NOT NULL,
    PRIMARY KEY (from_at, to_at)
);

-- open calls are read raw on every report: keep them at hand
CREATE INDEX calls_open_idx ON calls (started_at) WHERE ended_at IS NULL;
-- the last state of each agent before a period starts
CREATE INDEX agent_state_history_agent_idx ON agent_state_history (agent, at);

CREATE FUNCTION report_calls_dirty() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO report_dirty
        SELECT DISTINCT date_trunc('hour', started_at), date_trunc('hour', started_at) + interval '1 hour'
        FROM new_rows ON CONFLICT DO NOTHING;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO report_dirty
        SELECT DISTINCT date_trunc('hour', started_at), date_trunc('hour', started_at) + interval '1 hour'
        FROM old_rows ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER report_calls_insert AFTER INSERT ON calls
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION report_calls_dirty();
CREATE TRIGGER report_calls_update AFTER UPDATE ON calls
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION report_calls_dirty();
CREATE TRIGGER report_calls_delete AFTER DELETE ON calls
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION report_calls_dirty();

CREATE FUNCTION report_states_dirty() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- per agent and hour: from the hour to the agent's next fact after its last one there
    INSERT INTO report_dirty
    SELECT DISTINCT g.hour, coalesce((SELECT min(h.at) FROM agent_state_history h
                                      WHERE h.agent = g.agent AND h.at > g.last_at), 'infinity')
    FROM (SELECT agent, date_trunc('hour', at) AS hour, max(at) AS last_at
          FROM changed GROUP BY 1, 2) g
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

CREATE TRIGGER report_states_insert AFTER INSERT ON agent_state_history
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION report_states_dirty();
CREATE TRIGGER report_states_delete AFTER DELETE ON agent_state_history
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION report_states_dirty();
