-- Personal access tokens: only the SHA-256 of the secret (hex) is kept,
-- and the unique index on it finds a token, its id and its owner in one
-- read. Revoked tokens are kept (revoked_at) so that a script still using
-- one is told its token is no longer valid rather than counted as guessing.
CREATE TABLE personal_tokens (
    id           TEXT PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL,
    scopes       TEXT NOT NULL,  -- comma-separated: read,write,calendar
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    last_used_at INTEGER,
    revoked_at   INTEGER
);
CREATE UNIQUE INDEX personal_tokens_hash ON personal_tokens (token_hash);
CREATE INDEX personal_tokens_user ON personal_tokens (user_id, created_at);

-- One calendar feed per user. The secret is kept so that the person can
-- be shown their subscribe URL again; requests find it by its SHA-256, so
-- that the lookup's timing tells nothing of the secret.
CREATE TABLE calendar_feeds (
    user_id     INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret      TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX calendar_feeds_secret_hash ON calendar_feeds (secret_hash);
