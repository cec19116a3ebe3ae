-- Notifications, preferences, the at-risk warnings and the outbox. The
-- SQLite schema explains each table.
ALTER TABLE alerts DROP CONSTRAINT alerts_kind_check;
ALTER TABLE alerts ADD CONSTRAINT alerts_kind_check CHECK (kind IN ('task_missed', 'user_deactivated', 'user_at_risk'));
CREATE UNIQUE INDEX alerts_user_at_risk_once ON alerts (user_id, created_at) WHERE kind = 'user_at_risk';

CREATE TABLE notifications (
    seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id              UUID NOT NULL UNIQUE,
    user_id         BIGINT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('task_assigned', 'task_changed', 'task_reminder', 'task_missed', 'at_risk', 'reactivated')),
    task_id         UUID,
    message         TEXT NOT NULL,
    details         TEXT NOT NULL DEFAULT '{}',
    created_at      BIGINT NOT NULL,
    read_at         BIGINT,
    remind_lead     BIGINT,
    remind_deadline BIGINT
);
CREATE INDEX notifications_user ON notifications (user_id, seq);
CREATE INDEX notifications_unread ON notifications (user_id, seq) WHERE read_at IS NULL;
CREATE UNIQUE INDEX notifications_reminder_once ON notifications (task_id, remind_lead, remind_deadline) WHERE kind = 'task_reminder';
CREATE UNIQUE INDEX notifications_missed_once ON notifications (task_id, created_at) WHERE kind = 'task_missed';
CREATE UNIQUE INDEX notifications_at_risk_once ON notifications (user_id, created_at) WHERE kind = 'at_risk';

CREATE TABLE user_preferences (
    user_id             BIGINT PRIMARY KEY,
    email_task_assigned BOOLEAN NOT NULL DEFAULT TRUE,
    email_task_changed  BOOLEAN NOT NULL DEFAULT TRUE,
    email_task_reminder BOOLEAN NOT NULL DEFAULT TRUE,
    email_task_missed   BOOLEAN NOT NULL DEFAULT TRUE,
    email_at_risk       BOOLEAN NOT NULL DEFAULT TRUE,
    email_reactivated   BOOLEAN NOT NULL DEFAULT TRUE,
    alerts              TEXT NOT NULL DEFAULT 'each' CHECK (alerts IN ('off', 'each', 'daily')),
    timezone            TEXT NOT NULL DEFAULT 'UTC'
);

CREATE TABLE at_risk_warnings (
    user_id BIGINT PRIMARY KEY,
    since   BIGINT NOT NULL
);

CREATE TABLE digests (
    user_id    BIGINT NOT NULL,
    day        TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    alerts     INTEGER NOT NULL,
    PRIMARY KEY (user_id, day)
);

CREATE TABLE deliveries (
    id              UUID PRIMARY KEY,
    kind            TEXT NOT NULL,
    target          TEXT NOT NULL,
    user_id         BIGINT,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempt         INTEGER NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    lease_owner     TEXT,
    lease_until     BIGINT,
    last_error      TEXT,
    finished_at     BIGINT
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_pending_created ON deliveries (created_at) WHERE status = 'pending';
CREATE INDEX deliveries_finished ON deliveries (finished_at) WHERE status <> 'pending';
