-- Active/standby: each PBX ([[servers]] entry) is owned by one callcenter instance at a
-- time. A lease is a row with a heartbeat: its owner renews it every takeover_s / 3; once
-- expires_at has passed, any instance may take it, which raises `epoch` (the fencing
-- token). Every write of an owner checks, in its transaction and under a share lock of
-- the lease row, that the epoch is still its own: a paused-then-resumed old owner can
-- neither journal nor store calls of that PBX. Times are PostgreSQL's (one clock).
CREATE TABLE ha_instances (
    instance    text PRIMARY KEY,
    host        text NOT NULL,
    pid         integer NOT NULL,
    started_at  timestamptz NOT NULL,
    seen_at     timestamptz NOT NULL
);
CREATE TABLE ha_leases (
    server      text PRIMARY KEY,
    owner       text NOT NULL,
    epoch       bigint NOT NULL,
    acquired_at timestamptz NOT NULL,
    renewed_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL
);
