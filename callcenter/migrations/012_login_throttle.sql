-- Sign-in throttling (callcenter/store/logins.py): attempts counted per user and per
-- client address in a fixed window, before the password is verified, so that neither
-- concurrency nor a restart lets more verifications through than the limit.
-- scope 'user': key is the username as typed; scope 'address': the client's IPv4
-- address or IPv6 /64. A failed or in-flight attempt stays counted until the window
-- ends; a success deletes the user's row and gives the address its attempt back.
CREATE TABLE login_throttle (
    scope         text        NOT NULL CHECK (scope IN ('user', 'address')),
    key           text        NOT NULL,
    attempts      integer     NOT NULL CHECK (attempts >= 0),
    window_start  timestamptz NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX login_throttle_window_idx ON login_throttle (window_start);
