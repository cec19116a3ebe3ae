-- Times are Unix microseconds (INTEGER); task and alert ids are UUID text.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE users (
    id                  INTEGER PRIMARY KEY,
    username            TEXT NOT NULL,
    username_key        TEXT NOT NULL,  -- lower-cased username, unique
    password            TEXT NOT NULL,
    email               TEXT NOT NULL DEFAULT '',
    first_name          TEXT NOT NULL DEFAULT '',
    last_name           TEXT NOT NULL DEFAULT '',
    role_id             INTEGER NOT NULL CHECK (role_id IN (1, 2, 3)),
    is_active           BOOLEAN NOT NULL DEFAULT TRUE,
    date_joined         INTEGER NOT NULL,
    deactivated_at      INTEGER,
    deactivation_reason TEXT,
    reactivated_at      INTEGER,
    reactivated_by      INTEGER,
    token_version       INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX users_username_key ON users (username_key);
CREATE INDEX users_active_admins ON users (role_id) WHERE is_active;

CREATE TABLE tasks (
    id           TEXT PRIMARY KEY,
    title        TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    deadline     INTEGER NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'in_progress', 'completed', 'missed')),
    assigned_to  INTEGER NOT NULL REFERENCES users (id),
    created_by   INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    completed_at INTEGER,
    missed_at    INTEGER
);
-- A user's tasks by deadline (their list, and the delete guard).
CREATE INDEX tasks_assignee_deadline ON tasks (assigned_to, deadline, id);
-- Everyone's tasks by deadline (a manager's default list).
CREATE INDEX tasks_deadline ON tasks (deadline, id);
CREATE INDEX tasks_created_at ON tasks (created_at, id);
-- No index on created_by: it serves only the rare deletion of a creator
-- (ON DELETE SET NULL scans), and every task write would pay for it.
-- The sweep's overdue set: open tasks only, by deadline.
CREATE INDEX tasks_open_deadline ON tasks (deadline, status) WHERE status IN ('pending', 'in_progress');
-- The missed list, most recently missed first, and the sweep's alerts.
CREATE INDEX tasks_missed_at ON tasks (missed_at, id) WHERE status = 'missed';
-- The sweep's count of misses in the window, by assignee (covering).
CREATE INDEX tasks_missed_deadline ON tasks (deadline, assigned_to) WHERE status = 'missed';

CREATE TABLE alerts (
    seq                      INTEGER PRIMARY KEY AUTOINCREMENT,
    id                       TEXT NOT NULL UNIQUE,
    kind                     TEXT NOT NULL CHECK (kind IN ('task_missed', 'user_deactivated')),
    task_id                  TEXT REFERENCES tasks (id) ON DELETE CASCADE,
    user_id                  INTEGER NOT NULL,
    username                 TEXT NOT NULL,
    created_at               INTEGER NOT NULL,
    acknowledged_at          INTEGER,
    acknowledged_by          INTEGER,
    acknowledged_by_username TEXT
);
-- One alert per miss and per deactivation, however many sweeps run.
CREATE UNIQUE INDEX alerts_task_missed_once ON alerts (task_id, created_at) WHERE kind = 'task_missed';
CREATE UNIQUE INDEX alerts_user_deactivated_once ON alerts (user_id, created_at) WHERE kind = 'user_deactivated';
CREATE INDEX alerts_created_at ON alerts (created_at);

-- Audit entries are never deleted, so the rowid alone gives increasing ids
-- (AUTOINCREMENT would write its counter page on every change).
CREATE TABLE audit_log (
    id             INTEGER PRIMARY KEY,
    at             INTEGER NOT NULL,
    actor_id       INTEGER,
    actor_username TEXT,
    action         TEXT NOT NULL,
    target_type    TEXT NOT NULL,
    target_id      TEXT NOT NULL,
    details        TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_action ON audit_log (action, id);
CREATE INDEX audit_log_actor ON audit_log (actor_id, id);
CREATE INDEX audit_log_target ON audit_log (target_id, id);

CREATE TABLE refresh_tokens (
    token_hash    TEXT PRIMARY KEY,
    family_id     TEXT NOT NULL,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_version INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    used_at       INTEGER,
    revoked_at    INTEGER
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);
