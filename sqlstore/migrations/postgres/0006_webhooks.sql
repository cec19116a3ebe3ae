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
    created_at       BIGINT NOT NULL,
    disabled_reason  TEXT,
    secret           TEXT NOT NULL,
    old_secret       TEXT,
    old_secret_until BIGINT,
    failing_since    BIGINT,
    failures         INTEGER NOT NULL DEFAULT 0
);

-- One row per attempt, for the deliveries log. Its status is read from
-- the delivery (see sqlstore/webhook.go): an attempt that failed is
-- "retrying" while its delivery will be tried again, "failed" after.
CREATE TABLE webhook_attempts (
    id              TEXT PRIMARY KEY,
    webhook_id      TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    delivery_id     UUID NOT NULL,
    event_type      TEXT NOT NULL,
    attempt         BIGINT NOT NULL,
    ok              BOOLEAN NOT NULL,
    response_status INTEGER,
    response_body   TEXT NOT NULL DEFAULT '',
    error           TEXT,
    duration_ms     BIGINT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX webhook_attempts_log ON webhook_attempts (webhook_id, created_at);
-- A delivery's pending rows, found to drop them when the endpoint goes.
CREATE INDEX deliveries_target ON deliveries (target) WHERE status = 'pending';

-- Alerts gain webhook_disabled, which names an endpoint (webhook_id,
-- webhook_url) rather than a person (user_id 0, username '').
ALTER TABLE alerts DROP CONSTRAINT alerts_kind_check;
ALTER TABLE alerts ADD CONSTRAINT alerts_kind_check CHECK (kind IN ('task_missed', 'user_deactivated', 'user_at_risk', 'webhook_disabled'));
ALTER TABLE alerts ADD COLUMN webhook_id TEXT;
ALTER TABLE alerts ADD COLUMN webhook_url TEXT;
