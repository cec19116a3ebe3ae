-- Notifications, preferences, the at-risk warnings and the outbox.

-- Alerts gain user_at_risk. SQLite cannot change a CHECK constraint in
-- place: the table is rebuilt, keeping its AUTOINCREMENT counter, so that
-- no seq an event stream has passed is ever handed out again.
CREATE TABLE alerts_new (
    seq                      INTEGER PRIMARY KEY AUTOINCREMENT,
    id                       TEXT NOT NULL UNIQUE,
    kind                     TEXT NOT NULL CHECK (kind IN ('task_missed', 'user_deactivated', 'user_at_risk')),
    task_id                  TEXT REFERENCES tasks (id) ON DELETE CASCADE,
    user_id                  INTEGER NOT NULL,
    username                 TEXT NOT NULL,
    created_at               INTEGER NOT NULL,
    acknowledged_at          INTEGER,
    acknowledged_by          INTEGER,
    acknowledged_by_username TEXT,
    -- A task_missed alert's deadline: one alert per task and deadline
    -- (0003_accounts_and_misses.sql).
    deadline                 INTEGER
);
INSERT INTO alerts_new (seq, id, kind, task_id, user_id, username, created_at, acknowledged_at, acknowledged_by, acknowledged_by_username, deadline)
    SELECT seq, id, kind, task_id, user_id, username, created_at, acknowledged_at, acknowledged_by, acknowledged_by_username, deadline FROM alerts;
DELETE FROM sqlite_sequence WHERE name = 'alerts_new';
INSERT INTO sqlite_sequence (name, seq) SELECT 'alerts_new', seq FROM sqlite_sequence WHERE name = 'alerts';
DROP TABLE alerts;
ALTER TABLE alerts_new RENAME TO alerts;
CREATE UNIQUE INDEX alerts_task_missed_once ON alerts (task_id, deadline) WHERE kind = 'task_missed';
CREATE UNIQUE INDEX alerts_user_deactivated_once ON alerts (user_id, created_at) WHERE kind = 'user_deactivated';
CREATE UNIQUE INDEX alerts_user_at_risk_once ON alerts (user_id, created_at) WHERE kind = 'user_at_risk';
CREATE INDEX alerts_created_at ON alerts (created_at);

-- What happened to a person's own work. seq is the commit order (see
-- sqlstore/notification.go); remind_lead and remind_deadline (both in
-- microseconds) say which reminder a task_reminder is. No foreign keys:
-- a notification outlives its task (its message still says what
-- happened), and the rows of a deleted user are deleted with the user.
CREATE TABLE notifications (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL UNIQUE,
    user_id         INTEGER NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('task_assigned', 'task_changed', 'task_reminder', 'task_missed', 'at_risk', 'reactivated')),
    task_id         TEXT,
    message         TEXT NOT NULL,
    details         TEXT NOT NULL DEFAULT '{}',
    created_at      INTEGER NOT NULL,
    read_at         INTEGER,
    remind_lead     INTEGER,
    remind_deadline INTEGER
);
-- A person's inbox, newest first, and its unread part.
CREATE INDEX notifications_user ON notifications (user_id, seq);
CREATE INDEX notifications_unread ON notifications (user_id, seq) WHERE read_at IS NULL;
-- One reminder per (task, lead, deadline), however many sweeps run.
CREATE UNIQUE INDEX notifications_reminder_once ON notifications (task_id, remind_lead, remind_deadline) WHERE kind = 'task_reminder';
-- The sweep's notifications, like its alerts, exist once however many
-- sweeps run.
CREATE UNIQUE INDEX notifications_missed_once ON notifications (task_id, created_at) WHERE kind = 'task_missed';
CREATE UNIQUE INDEX notifications_at_risk_once ON notifications (user_id, created_at) WHERE kind = 'at_risk';

-- A person's choices; no row means the defaults.
CREATE TABLE user_preferences (
    user_id             INTEGER PRIMARY KEY,
    email_task_assigned BOOLEAN NOT NULL DEFAULT TRUE,
    email_task_changed  BOOLEAN NOT NULL DEFAULT TRUE,
    email_task_reminder BOOLEAN NOT NULL DEFAULT TRUE,
    email_task_missed   BOOLEAN NOT NULL DEFAULT TRUE,
    email_at_risk       BOOLEAN NOT NULL DEFAULT TRUE,
    email_reactivated   BOOLEAN NOT NULL DEFAULT TRUE,
    alerts              TEXT NOT NULL DEFAULT 'each' CHECK (alerts IN ('off', 'each', 'daily')),
    timezone            TEXT NOT NULL DEFAULT 'UTC'
);

-- The people warned that one more miss deactivates them, since when: a
-- row is the current crossing of N-1, removed when their count drops
-- below it or they are reactivated.
CREATE TABLE at_risk_warnings (
    user_id INTEGER PRIMARY KEY,
    since   INTEGER NOT NULL
);

-- The daily digests decided, one per person and local day, sent or not
-- (none is sent for a day without alerts).
CREATE TABLE digests (
    user_id    INTEGER NOT NULL,
    day        TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    alerts     INTEGER NOT NULL,
    PRIMARY KEY (user_id, day)
);

-- The outbox: every outside effect (an email; later a webhook call),
-- written in the transaction of the change that caused it and delivered
-- by the worker of any serve process. payload is captured when the row is
-- written. While a worker holds a row, lease_owner names it and
-- next_attempt_at is the lease's expiry, after which the row is due again.
CREATE TABLE deliveries (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,
    target          TEXT NOT NULL,
    user_id         INTEGER,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempt         INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    lease_owner     TEXT,
    lease_until     INTEGER,
    last_error      TEXT,
    finished_at     INTEGER
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_pending_created ON deliveries (created_at) WHERE status = 'pending';
CREATE INDEX deliveries_finished ON deliveries (finished_at) WHERE status <> 'pending';
