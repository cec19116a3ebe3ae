-- Users: an id is never given twice (AUTOINCREMENT), and every account has
-- a random token key, made with it, that its tokens carry. SQLite cannot
-- add AUTOINCREMENT to a table, so the table is rebuilt the way SQLite's
-- documentation lays out: the migration runner turns foreign key
-- enforcement off for it (else dropping the old table would cascade) and
-- runs PRAGMA foreign_key_check before it commits. After this file the
-- runner sets username_key to each name's PRECIS form (rekeyUsernames in
-- migrate.go), which SQL cannot compute.
CREATE TABLE users_new (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    username            TEXT NOT NULL,
    username_key        TEXT NOT NULL,  -- PRECIS UsernameCaseMapped form, unique
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
    token_version       INTEGER NOT NULL DEFAULT 1,
    token_key           TEXT NOT NULL DEFAULT (hex(randomblob(16)))
);
INSERT INTO users_new (id, username, username_key, password, email, first_name, last_name, role_id, is_active,
    date_joined, deactivated_at, deactivation_reason, reactivated_at, reactivated_by, token_version)
SELECT id, username, username_key, password, email, first_name, last_name, role_id, is_active,
    date_joined, deactivated_at, deactivation_reason, reactivated_at, reactivated_by, token_version
FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
CREATE UNIQUE INDEX users_username_key ON users (username_key);
CREATE INDEX users_active_admins ON users (role_id) WHERE is_active;
-- The next id follows the largest ever given: a user deleted before this
-- migration left an entry in the audit log.
INSERT INTO sqlite_sequence (name, seq)
SELECT 'users', 0 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'users');
UPDATE sqlite_sequence SET seq = max(seq,
    COALESCE((SELECT max(id) FROM users), 0),
    COALESCE((SELECT max(CAST(target_id AS INTEGER)) FROM audit_log WHERE action = 'user.delete'), 0))
WHERE name = 'users';

-- A task_missed alert records the deadline it is for, and there is one per
-- task and deadline: a task missed again for the same deadline raises none.
-- Existing alerts learn their deadline where the task still has it (a
-- deadline moved since an alert is after that alert); of several such
-- alerts of one task, the first.
ALTER TABLE alerts ADD COLUMN deadline INTEGER;
UPDATE alerts SET deadline = (SELECT t.deadline FROM tasks t WHERE t.id = alerts.task_id)
WHERE seq IN (
    SELECT min(a.seq) FROM alerts a JOIN tasks t ON t.id = a.task_id
    WHERE a.kind = 'task_missed' AND t.deadline < a.created_at
    GROUP BY a.task_id);
DROP INDEX alerts_task_missed_once;
CREATE UNIQUE INDEX alerts_task_missed_once ON alerts (task_id, deadline) WHERE kind = 'task_missed';
