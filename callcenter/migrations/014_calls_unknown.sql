-- The parts of a call that were not observed (issue 18: "unknown is not zero"):
-- start, wait, answer, agent, ring_attempts, talk, hold, end (callcenter.calls.evidence).
-- A figure that depends on one is NULL: wait_s, talk_s, and now hold_s too.
ALTER TABLE calls ADD COLUMN unknown text[] NOT NULL DEFAULT '{}';
ALTER TABLE calls ALTER COLUMN hold_s DROP NOT NULL;

-- Calls closed before 014 because their end was not seen: their ended_at is only the
-- latest moment known, so their talk, hold and (unanswered) wait are unknown, not figures.
UPDATE calls SET
    unknown = CASE WHEN answered_at IS NULL THEN '{wait,talk,hold,end}'::text[]
                   WHEN talk_ended_at IS NOT NULL AND talk_ended_at < ended_at
                       THEN '{hold,end}'::text[]
                   ELSE '{talk,hold,end}'::text[] END,
    wait_s = CASE WHEN answered_at IS NULL THEN NULL ELSE wait_s END,
    talk_s = CASE WHEN answered_at IS NOT NULL AND talk_ended_at IS NOT NULL
                       AND talk_ended_at < ended_at THEN talk_s END,
    hold_s = NULL,
    talk_ended_at = CASE WHEN talk_ended_at < ended_at THEN talk_ended_at END
WHERE disposition = 'incomplete' AND incomplete_reason LIKE 'its end was not seen%';

-- The report rollups count calls with unknown parts apart from now on: rebuild them.
DELETE FROM report_days;
