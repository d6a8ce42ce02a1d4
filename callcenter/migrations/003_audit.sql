-- The audit log: who did what to which object, when and from where.
-- Append-only: the application never updates or deletes a row (MISSION.md:
-- every access to monitoring data is traceable).
CREATE TABLE audit_log (
    id       bigserial   PRIMARY KEY,
    at       timestamptz NOT NULL DEFAULT now(),
    actor    text        NOT NULL,            -- a username, or 'system' / 'cli'
    action   text        NOT NULL,            -- snake_case verb, e.g. login_failed, recording_played
    object   text        NOT NULL DEFAULT '', -- e.g. 'call:pbx1/1795348139.12', 'user:alice'
    remote   text        NOT NULL DEFAULT '', -- client address, '' for the CLI
    details  jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at_idx ON audit_log (at DESC);
CREATE INDEX audit_log_object_idx ON audit_log (object, at DESC);
CREATE INDEX audit_log_actor_idx ON audit_log (actor, at DESC);
