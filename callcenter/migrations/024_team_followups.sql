-- Follow-ups (回访) for a team (#23): a time of day, a queue's pool, recurrence.
-- * due_time: the time of day in the centre's time zone; NULL means the
--   configured default (agent_panel.follow_up_time), so the rows planned
--   before this migration (a date only) fall due at that time of day;
-- * queue: the queue whose pool the follow-up belongs to; agent is NULL while
--   it waits in the pool and set (once, atomically) by the member who takes it;
-- * every_days: a recurring follow-up; when one is done the next one (linked
--   by previous_id, at most one) is planned every_days later, for the same
--   agent, or back into the same pool.
ALTER TABLE follow_ups
    ALTER COLUMN agent DROP NOT NULL,
    ADD COLUMN due_time    time,
    ADD COLUMN queue       text    CHECK (queue <> ''),
    ADD COLUMN every_days  integer CHECK (every_days BETWEEN 1 AND 365),
    ADD COLUMN previous_id bigint  UNIQUE REFERENCES follow_ups ON DELETE SET NULL,
    ADD COLUMN taken_at    timestamptz,
    ADD COLUMN done_by     text,
    ADD CONSTRAINT follow_ups_owner CHECK (agent IS NOT NULL OR queue IS NOT NULL);
CREATE INDEX follow_ups_pool_idx ON follow_ups (queue, due_on) WHERE status = 'open';
CREATE INDEX follow_ups_due_idx ON follow_ups (due_on) WHERE status = 'open';

-- the customer list: search by company, sort by company or last change
CREATE INDEX customers_company_idx ON customers (lower(company));
CREATE INDEX customers_updated_idx ON customers (updated_at DESC, id DESC);
