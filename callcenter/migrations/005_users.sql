-- Web users (one role each) and their server-side sessions.
CREATE TABLE users (
    username            text        PRIMARY KEY CHECK (username ~ '^[A-Za-z0-9_.@-]{1,64}$'),
    role                text        NOT NULL CHECK (role IN ('admin', 'supervisor', 'qa', 'agent')),
    agent               text,                   -- agent endpoint of an agent user, e.g. agent1001
    password_hash       text        NOT NULL,   -- argon2id
    language            text        CHECK (language IN ('zh', 'en')),  -- NULL: from the browser
    disabled            boolean     NOT NULL DEFAULT false,
    created_at          timestamptz NOT NULL DEFAULT now(),
    password_changed_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((role = 'agent') = (agent IS NOT NULL))
);
CREATE UNIQUE INDEX users_agent_idx ON users (agent) WHERE agent IS NOT NULL;

-- A session cookie holds a random token; only its SHA-256 is stored.
CREATE TABLE web_sessions (
    token_hash  bytea       PRIMARY KEY,
    username    text        NOT NULL REFERENCES users ON DELETE CASCADE ON UPDATE CASCADE,
    csrf_token  text        NOT NULL,
    remote      text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX web_sessions_user_idx ON web_sessions (username);
