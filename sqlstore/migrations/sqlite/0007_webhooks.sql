-- Webhooks: the endpoints that receive events, and the attempts at their
-- deliveries (the deliveries themselves are rows of the outbox, kind
-- 'webhook', whose target is the endpoint's id).

-- events is the subscribed names between commas (",task.created,ping,"),
-- or ",*,": a subscription test is one LIKE on both engines. secret signs;
-- old_secret signs beside it until old_secret_until, after a rotation.
-- failing_since and failures count the failed attempts since the last
-- success, to disable an endpoint that has failed long enough.
CREATE TABLE webhooks (
    id               TEXT PRIMARY KEY,
    url              TEXT NOT NULL,
    events           TEXT NOT NULL,
    format           TEXT NOT NULL CHECK (format IN ('standard', 'slack', 'discord')),
    description      TEXT NOT NULL DEFAULT '',
    is_active        BOOLEAN NOT NULL DEFAULT TRUE,
    created_at       INTEGER NOT NULL,
    disabled_reason  TEXT,
    secret           TEXT NOT NULL,
    old_secret       TEXT,
    old_secret_until INTEGER,
    failing_since    INTEGER,
    failures         INTEGER NOT NULL DEFAULT 0
);

-- One row per attempt, for the deliveries log. Its status is read from
-- the delivery (see sqlstore/webhook.go): an attempt that failed is
-- "retrying" while its delivery will be tried again, "failed" after.
CREATE TABLE webhook_attempts (
    id              TEXT PRIMARY KEY,
    webhook_id      TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    delivery_id     TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    attempt         INTEGER NOT NULL,
    ok              BOOLEAN NOT NULL,
    response_status INTEGER,
    response_body   TEXT NOT NULL DEFAULT '',
    error           TEXT,
    duration_ms     INTEGER NOT NULL,
    created_at      INTEGER NOT NULL
);
CREATE INDEX webhook_attempts_log ON webhook_attempts (webhook_id, created_at);
-- A delivery's pending rows, found to drop them when the endpoint goes.
CREATE INDEX deliveries_target ON deliveries (target) WHERE status = 'pending';

-- Alerts gain webhook_disabled, which names an endpoint (webhook_id,
-- webhook_url) rather than a person (user_id 0, username ''). The table is
-- rebuilt as in 0005_notifications.sql, keeping its AUTOINCREMENT counter.
CREATE TABLE alerts_new (
    seq                      INTEGER PRIMARY KEY AUTOINCREMENT,
    id                       TEXT NOT NULL UNIQUE,
    kind                     TEXT NOT NULL CHECK (kind IN ('task_missed', 'user_deactivated', 'user_at_risk', 'webhook_disabled')),
    task_id                  TEXT REFERENCES tasks (id) ON DELETE CASCADE,
    user_id                  INTEGER NOT NULL,
    username                 TEXT NOT NULL,
    created_at               INTEGER NOT NULL,
    acknowledged_at          INTEGER,
    acknowledged_by          INTEGER,
    acknowledged_by_username TEXT,
    deadline                 INTEGER,
    webhook_id               TEXT,
    webhook_url              TEXT
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
