package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"tasktrack"
)

// WebhookService is the webhook endpoints: their management, their
// attempts, and what the sender needs and records.
type WebhookService struct{ db *DB }

var (
	_ tasktrack.WebhookService = (*WebhookService)(nil)
	_ tasktrack.WebhookStore   = (*WebhookService)(nil)
)

// Webhook endpoints, the events written for them to the outbox, and the
// attempts the sender records. An event is a row of deliveries per
// subscribed endpoint, written in the transaction of its change: its id is
// the event's webhook-id, its payload the standard body, rendered in Go
// when the change is made (captured in SQL by the sweep's set-based
// statements, and by a status change's one statement on PostgreSQL, and
// rendered by the sender).

const webhookColumns = "w.id, w.url, w.events, w.format, w.description, w.is_active, w.created_at, w.disabled_reason"

func scanWebhook(s scanner) (*tasktrack.Webhook, error) {
	var (
		w       tasktrack.Webhook
		events  string
		created int64
		reason  sql.NullString
	)
	if err := s.Scan(&w.ID, &w.URL, &events, &w.Format, &w.Description, &w.IsActive, &created, &reason); err != nil {
		return nil, err
	}
	w.Events = splitEvents(events)
	w.CreatedAt = fromMicros(created)
	if reason.Valid {
		w.DisabledReason = &reason.String
	}
	return &w, nil
}

// joinEvents stores events between commas, so that one LIKE finds a
// subscriber on both engines (see the migration).
func joinEvents(events []string) string { return "," + strings.Join(events, ",") + "," }

func splitEvents(s string) []string {
	return strings.Split(strings.Trim(s, ","), ",")
}

func authorizeWebhooks(ctx context.Context) (*tasktrack.User, error) {
	actor := tasktrack.ActorFromContext(ctx)
	return actor, tasktrack.Authorize(actor, tasktrack.CanManageWebhooks)
}

// findWebhook is the endpoints' one finder: endpoint id through q, the
// reader pool or a transaction. An id that is not one is absent.
func findWebhook(ctx context.Context, q querier, id string) (*tasktrack.Webhook, error) {
	if !tasktrack.ValidID(id) {
		return nil, tasktrack.ErrNotFound
	}
	w, err := scanWebhook(q.queryRow(ctx, "SELECT "+webhookColumns+" FROM webhooks w WHERE w.id = ?", strings.ToLower(id)))
	if err == sql.ErrNoRows {
		return nil, tasktrack.ErrNotFound
	}
	return w, err
}

// FindWebhooks lists the endpoints, oldest first.
func (s *WebhookService) FindWebhooks(ctx context.Context, p tasktrack.Page) (_ []*tasktrack.Webhook, _ int, err error) {
	defer wrap(&err, "sqlstore.FindWebhooks")
	if _, err := authorizeWebhooks(ctx); err != nil {
		return nil, 0, err
	}
	var total int
	if err := s.db.queryRow(ctx, "SELECT count(*) FROM webhooks").Scan(&total); err != nil {
		return nil, 0, s.db.mapErr(err)
	}
	limit, offset := pageArgs(p)
	rows, err := s.db.query(ctx, "SELECT "+webhookColumns+" FROM webhooks w ORDER BY w.created_at, w.id LIMIT ? OFFSET ?", limit, offset)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := []*tasktrack.Webhook{}
	for rows.Next() {
		w, err := scanWebhook(rows)
		if err != nil {
			return nil, 0, s.db.mapErr(err)
		}
		out = append(out, w)
	}
	return out, total, s.db.mapErr(rows.Err())
}

// FindWebhook reads one endpoint.
func (s *WebhookService) FindWebhook(ctx context.Context, id string) (_ *tasktrack.Webhook, err error) {
	defer wrap(&err, "sqlstore.FindWebhook(%s)", id)
	if _, err := authorizeWebhooks(ctx); err != nil {
		return nil, err
	}
	w, err := findWebhook(ctx, s.db, id)
	if err != nil {
		return nil, s.db.mapErr(err)
	}
	return w, nil
}

// webhookAudit is what an endpoint's audit entries say: never its secret.
func webhookAudit(w *tasktrack.Webhook) map[string]any {
	return map[string]any{"url": w.URL, "events": w.Events, "format": w.Format, "is_active": w.IsActive}
}

// CreateWebhook stores an endpoint.
func (s *WebhookService) CreateWebhook(ctx context.Context, in tasktrack.WebhookInput, secret string) (_ *tasktrack.Webhook, err error) {
	defer wrap(&err, "sqlstore.CreateWebhook")
	actor, err := authorizeWebhooks(ctx)
	if err != nil {
		return nil, err
	}
	errs := tasktrack.FieldErrors{}
	if in.URL == nil {
		errs.Add("url", "This field is required.")
	}
	if in.Events == nil {
		errs.Add("events", "This field is required.")
	}
	tasktrack.ValidateWebhook(errs, in)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	w := &tasktrack.Webhook{URL: *in.URL, Events: tasktrack.NormalizeEvents(in.Events), Format: tasktrack.FormatStandard, IsActive: true}
	if in.Format != nil {
		w.Format = *in.Format
	}
	if in.Description != nil {
		w.Description = *in.Description
	}
	if in.IsActive != nil {
		w.IsActive = *in.IsActive
	}
	err = s.db.update(ctx, func(tx *Tx) error {
		w.ID, w.CreatedAt = uuidV7At(tx.now.UnixMilli()).String(), tx.now
		if _, err := tx.exec(ctx, `INSERT INTO webhooks (id, url, events, format, description, is_active, created_at, secret)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, w.ID, w.URL, joinEvents(w.Events), w.Format, w.Description, w.IsActive,
			micros(tx.now), secret); err != nil {
			return err
		}
		return tx.audit(ctx, actor, tasktrack.ActionWebhookCreate, "webhook", w.ID, webhookAudit(w))
	})
	if err != nil {
		return nil, err
	}
	return w, nil
}

// UpdateWebhook changes the fields given. Turning an endpoint on clears
// the reason it was turned off, and its run of failures.
func (s *WebhookService) UpdateWebhook(ctx context.Context, id string, in tasktrack.WebhookInput) (_ *tasktrack.Webhook, err error) {
	defer wrap(&err, "sqlstore.UpdateWebhook(%s)", id)
	actor, err := authorizeWebhooks(ctx)
	if err != nil {
		return nil, err
	}
	errs := tasktrack.FieldErrors{}
	tasktrack.ValidateWebhook(errs, in)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	var w *tasktrack.Webhook
	err = s.db.update(ctx, func(tx *Tx) error {
		if w, err = findWebhook(ctx, tx, id); err != nil {
			return err
		}
		if in.URL != nil {
			w.URL = *in.URL
		}
		if in.Events != nil {
			w.Events = tasktrack.NormalizeEvents(in.Events)
		}
		if in.Format != nil {
			w.Format = *in.Format
		}
		if in.Description != nil {
			w.Description = *in.Description
		}
		if in.IsActive != nil {
			if *in.IsActive && !w.IsActive {
				w.DisabledReason = nil
			}
			w.IsActive = *in.IsActive
		}
		if _, err := tx.exec(ctx, `UPDATE webhooks SET url = ?, events = ?, format = ?, description = ?, is_active = ?,
			disabled_reason = ?, failing_since = CASE WHEN ? THEN NULL ELSE failing_since END,
			failures = CASE WHEN ? THEN 0 ELSE failures END WHERE id = ?`,
			w.URL, joinEvents(w.Events), w.Format, w.Description, w.IsActive, w.DisabledReason,
			w.DisabledReason == nil && w.IsActive, w.DisabledReason == nil && w.IsActive, w.ID); err != nil {
			return err
		}
		return tx.audit(ctx, actor, tasktrack.ActionWebhookUpdate, "webhook", w.ID, webhookAudit(w))
	})
	if err != nil {
		return nil, err
	}
	return w, nil
}

// DeleteWebhook deletes an endpoint, its attempts, and its pending
// deliveries; those delivered or failed stay until purged.
func (s *WebhookService) DeleteWebhook(ctx context.Context, id string) (err error) {
	defer wrap(&err, "sqlstore.DeleteWebhook(%s)", id)
	actor, err := authorizeWebhooks(ctx)
	if err != nil {
		return err
	}
	return s.db.update(ctx, func(tx *Tx) error {
		w, err := findWebhook(ctx, tx, id)
		if err != nil {
			return err
		}
		if _, err := tx.exec(ctx, "DELETE FROM deliveries WHERE target = ? AND kind = 'webhook' AND status = 'pending'", w.ID); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, "DELETE FROM webhook_attempts WHERE webhook_id = ?", w.ID); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, "DELETE FROM webhooks WHERE id = ?", w.ID); err != nil {
			return err
		}
		return tx.audit(ctx, actor, tasktrack.ActionWebhookDelete, "webhook", w.ID, webhookAudit(w))
	})
}

// RotateWebhookSecret makes secret the endpoint's, keeping the old one
// signing for the grace period.
func (s *WebhookService) RotateWebhookSecret(ctx context.Context, id, secret string) (_ *tasktrack.Webhook, err error) {
	defer wrap(&err, "sqlstore.RotateWebhookSecret(%s)", id)
	actor, err := authorizeWebhooks(ctx)
	if err != nil {
		return nil, err
	}
	var w *tasktrack.Webhook
	err = s.db.update(ctx, func(tx *Tx) error {
		if w, err = findWebhook(ctx, tx, id); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `UPDATE webhooks SET old_secret = secret, old_secret_until = ?, secret = ? WHERE id = ?`,
			micros(tx.now.Add(tasktrack.WebhookRotationGrace)), secret, w.ID); err != nil {
			return err
		}
		return tx.audit(ctx, actor, tasktrack.ActionWebhookRotate, "webhook", w.ID, map[string]any{"url": w.URL})
	})
	if err != nil {
		return nil, err
	}
	return w, nil
}

// PingWebhook writes a ping to one endpoint, subscribed to it or not.
func (s *WebhookService) PingWebhook(ctx context.Context, id string) (err error) {
	defer wrap(&err, "sqlstore.PingWebhook(%s)", id)
	if _, err := authorizeWebhooks(ctx); err != nil {
		return err
	}
	return s.db.update(ctx, func(tx *Tx) error {
		w, err := findWebhook(ctx, tx, id)
		if err != nil {
			return err
		}
		body, err := webhookBody(tasktrack.EventPing, tx.now, map[string]any{"webhook_id": w.ID})
		if err != nil {
			return err
		}
		res, err := tx.exec(ctx, `INSERT INTO deliveries (id, kind, target, payload, created_at, next_attempt_at)
			VALUES (?, 'webhook', ?, ?, ?, ?)`, uuidV7At(tx.now.UnixMilli()).String(), w.ID, body, micros(tx.now), micros(tx.now))
		if err != nil {
			return err
		}
		return tx.delivered(ctx, res)
	})
}

func webhookBody(event string, at time.Time, data any) (string, error) {
	b, err := json.Marshal(data)
	if err != nil {
		return "", err
	}
	body, err := json.Marshal(tasktrack.WebhookBody{Type: event, Timestamp: tasktrack.WebhookTime(at), Data: b})
	return string(body), err
}

// subscribed is the condition that endpoint w receives event. The event's
// name is written into the statement rather than bound: SQLite prepares a
// LIKE with a bound pattern again at every run (its plan may depend on the
// pattern), which cost a status change a tenth of its CPU. Names are the
// domain's constants, checked here, so nothing a client sent is spliced.
func subscribed(event string) string {
	if !slices.Contains(tasktrack.WebhookEvents, event) {
		panic("sqlstore: unknown webhook event " + event)
	}
	return `(w.events LIKE '%,` + event + `,%' OR w.events = ',*,')`
}

// webhookEvent writes event, about data, to every active endpoint
// subscribed to it, in the transaction of the change. Each endpoint's copy
// is a delivery of its own, whose id is the webhook-id that endpoint sees.
func (tx *Tx) webhookEvent(ctx context.Context, event string, data map[string]any) error {
	body, err := webhookBody(event, tx.now, data)
	if err != nil {
		return err
	}
	res, err := tx.exec(ctx, `INSERT INTO deliveries (id, kind, target, payload, created_at, next_attempt_at)
		SELECT tt_uuid7(?), 'webhook', w.id, ?, ?, ?
		FROM webhooks w WHERE w.is_active AND `+subscribed(event),
		tx.now.UnixMilli(), body, micros(tx.now), micros(tx.now))
	if err != nil {
		return err
	}
	return tx.delivered(ctx, res)
}

// taskEventCapture is the statement that writes event about the task of
// t, a row source of at most one row with the tasks' columns (none: no
// event), to every active endpoint subscribed to it. The task is captured
// as the sweep captures it (captureTask), in SQL: nothing is rendered
// unless an endpoint takes the event, and the sender renders the same
// standard body (tasktrack.WebhookEventBody). Its arguments are
// taskEventCaptureArgs.
func taskEventCapture(event string) string {
	return `INSERT INTO deliveries (id, kind, target, payload, created_at, next_attempt_at)
		SELECT tt_uuid7(?), 'webhook', w.id, json_build_object('type', CAST(? AS TEXT), 'at_us', CAST(? AS BIGINT), ` + captureTask + `), ?, ?
		FROM t, (VALUES (CAST(? AS TEXT))) AS u (username), webhooks w WHERE w.is_active AND ` + subscribed(event)
}

// taskEventCaptureArgs are the arguments of taskEventCapture for event at
// time at about task nt (its assignee's name, as read with it).
func taskEventCaptureArgs(event string, at time.Time, nt *tasktrack.Task) []any {
	return []any{at.UnixMilli(), event, micros(at), micros(at), micros(at), nt.AssignedToUsername}
}

// taskEvent writes a task event with the task as it now is.
func (tx *Tx) taskEvent(ctx context.Context, event string, t *tasktrack.Task) error {
	return tx.webhookEvent(ctx, event, tasktrack.WebhookTaskData(t))
}

// userEvent writes a user event with the user as it now is.
func (tx *Tx) userEvent(ctx context.Context, event string, u *tasktrack.User) error {
	return tx.webhookEvent(ctx, event, tasktrack.WebhookUserData(u))
}

// alertEvent writes an alert event with the alert as it now is.
func (tx *Tx) alertEvent(ctx context.Context, event string, a *tasktrack.Alert) error {
	return tx.webhookEvent(ctx, event, tasktrack.WebhookAlertData(a))
}

// attemptStatus is an attempt's status as the log shows it: a failed
// attempt is "failed" once its delivery is given up and it was the last,
// "retrying" otherwise.
const attemptStatus = `CASE WHEN a.ok THEN 'delivered'
	WHEN d.status = 'failed' AND d.attempt = a.attempt THEN 'failed'
	WHEN d.id IS NULL THEN 'failed'
	ELSE 'retrying' END`

const attemptsFrom = ` FROM webhook_attempts a LEFT JOIN deliveries d ON d.id = a.delivery_id WHERE a.webhook_id = ?`

// FindWebhookAttempts lists an endpoint's attempts, newest first.
func (s *WebhookService) FindWebhookAttempts(ctx context.Context, id, status string, p tasktrack.Page) (_ []*tasktrack.WebhookAttempt, _ int, err error) {
	defer wrap(&err, "sqlstore.FindWebhookAttempts(%s)", id)
	if _, err := authorizeWebhooks(ctx); err != nil {
		return nil, 0, err
	}
	w, err := findWebhook(ctx, s.db, id)
	if err != nil {
		return nil, 0, s.db.mapErr(err)
	}
	inner := `SELECT a.id, a.delivery_id, a.event_type, a.attempt, ` + attemptStatus + ` AS status, a.response_status, a.error,
		a.duration_ms, a.created_at,
		CASE WHEN NOT a.ok AND d.status = 'pending' AND d.attempt = a.attempt THEN d.next_attempt_at END AS next_at` + attemptsFrom
	args := []any{w.ID}
	filter := ""
	if status != "" {
		filter = " WHERE x.status = ?"
		args = append(args, status)
	}
	var total int
	if err := s.db.queryRow(ctx, "SELECT count(*) FROM ("+inner+") x"+filter, args...).Scan(&total); err != nil {
		return nil, 0, s.db.mapErr(err)
	}
	limit, offset := pageArgs(p)
	rows, err := s.db.query(ctx, "SELECT x.* FROM ("+inner+") x"+filter+" ORDER BY x.created_at DESC, x.id DESC LIMIT ? OFFSET ?",
		append(args, limit, offset)...)
	if err != nil {
		return nil, 0, s.db.mapErr(err)
	}
	defer rows.Close()
	out := []*tasktrack.WebhookAttempt{}
	for rows.Next() {
		var (
			a        tasktrack.WebhookAttempt
			code     sql.NullInt64
			msg      sql.NullString
			created  int64
			nextAtUS sql.NullInt64
		)
		if err := rows.Scan(&a.ID, &a.EventID, &a.EventType, &a.Attempt, &a.Status, &code, &msg, &a.DurationMS, &created, &nextAtUS); err != nil {
			return nil, 0, s.db.mapErr(err)
		}
		if code.Valid {
			c := int(code.Int64)
			a.ResponseStatus = &c
		}
		if msg.Valid {
			a.Error = &msg.String
		}
		a.CreatedAt, a.NextAttemptAt = fromMicros(created), timePtr(nextAtUS)
		out = append(out, &a)
	}
	return out, total, s.db.mapErr(rows.Err())
}

// RedeliverWebhook makes the delivery of an attempt due again at once,
// keeping its id (the webhook-id) and counting attempts on.
func (s *WebhookService) RedeliverWebhook(ctx context.Context, id, attemptID string) (err error) {
	defer wrap(&err, "sqlstore.RedeliverWebhook(%s)", id)
	if _, err := authorizeWebhooks(ctx); err != nil {
		return err
	}
	return s.db.update(ctx, func(tx *Tx) error {
		w, err := findWebhook(ctx, tx, id)
		if err != nil {
			return err
		}
		var deliveryID string
		err = tx.queryRow(ctx, "SELECT delivery_id FROM webhook_attempts WHERE id = ? AND webhook_id = ?", attemptID, w.ID).Scan(&deliveryID)
		if err == sql.ErrNoRows {
			return tasktrack.ErrNotFound
		}
		if err != nil {
			return err
		}
		res, err := tx.exec(ctx, `UPDATE deliveries SET status = 'pending', next_attempt_at = ?, created_at = ?, finished_at = NULL,
			lease_owner = NULL, lease_until = NULL WHERE id = ? AND status <> 'pending'`, micros(tx.now), micros(tx.now), deliveryID)
		if err != nil {
			return err
		}
		return tx.delivered(ctx, res)
	})
}

// WebhookTarget loads what the sender needs of an endpoint.
func (s *WebhookService) WebhookTarget(ctx context.Context, id string) (_ *tasktrack.WebhookTarget, err error) {
	defer wrap(&err, "sqlstore.WebhookTarget(%s)", id)
	if !tasktrack.ValidID(id) {
		return nil, tasktrack.ErrNotFound
	}
	var (
		t        tasktrack.WebhookTarget
		secret   string
		old      sql.NullString
		oldUntil sql.NullInt64
	)
	err = s.db.queryRow(ctx, "SELECT id, url, format, is_active, secret, old_secret, old_secret_until FROM webhooks WHERE id = ?", strings.ToLower(id)).
		Scan(&t.ID, &t.URL, &t.Format, &t.IsActive, &secret, &old, &oldUntil)
	if err == sql.ErrNoRows {
		return nil, tasktrack.ErrNotFound
	}
	if err != nil {
		return nil, s.db.mapErr(err)
	}
	t.Secrets = []string{secret}
	if old.Valid && oldUntil.Valid && oldUntil.Int64 > micros(s.db.now()) {
		t.Secrets = append(t.Secrets, old.String)
	}
	return &t, nil
}

// Endpoint health: an endpoint whose attempts have all failed for
// webhookDisableAfter, webhookDisableFailures or more of them, is turned
// off.
const (
	webhookDisableAfter    = 24 * time.Hour
	webhookDisableFailures = 10
)

// RecordWebhookAttempt records an attempt and keeps the endpoint's run of
// failures; a run long enough turns the endpoint off with an audit entry.
func (s *WebhookService) RecordWebhookAttempt(ctx context.Context, r tasktrack.WebhookAttemptRecord) (err error) {
	defer wrap(&err, "sqlstore.RecordWebhookAttempt(%s)", r.WebhookID)
	return s.db.update(ctx, func(tx *Tx) error {
		if r.OK {
			// A record of a success only: one that may turn the
			// endpoint off, with its alert and audit entry, waits for
			// the disk.
			if err := s.db.dialect.lazyCommit(ctx, tx); err != nil {
				return err
			}
		}
		res, err := tx.exec(ctx, attemptsInsert+" SELECT "+marks(attemptColumns)+" FROM webhooks WHERE id = ?",
			append(attemptArgs(nil, r, tx.now), r.WebhookID)...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		if r.OK {
			return tx.endFailureRuns(ctx, []any{r.WebhookID})
		}
		if _, err := tx.exec(ctx, `UPDATE webhooks SET failing_since = COALESCE(failing_since, ?), failures = failures + 1 WHERE id = ?`,
			micros(tx.now), r.WebhookID); err != nil {
			return err
		}
		reason := "Every delivery failed for 24 hours; the last error: " + r.Error
		res, err = tx.exec(ctx, `UPDATE webhooks SET is_active = FALSE, disabled_reason = ?
			WHERE id = ? AND is_active AND failures >= ? AND failing_since <= ?`,
			reason, r.WebhookID, webhookDisableFailures, micros(tx.now.Add(-webhookDisableAfter)))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		// Alerts are read in the order of seq (see AlertsAfter): taking the
		// sweep's lock keeps this one from committing behind a sweep's.
		if err := tx.db.dialect.lock(ctx, tx, lockSweep); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `INSERT INTO alerts (id, kind, task_id, user_id, username, created_at, webhook_id, webhook_url)
			SELECT ?, 'webhook_disabled', NULL, 0, '', ?, id, url FROM webhooks WHERE id = ?`,
			uuidV7At(tx.now.UnixMilli()).String(), micros(tx.now), r.WebhookID); err != nil {
			return err
		}
		if err := tx.notifyOnce(ctx, alertsChannel); err != nil {
			return err
		}
		db := tx.db
		tx.committed = append(tx.committed, db.signalAlerts)
		return tx.audit(ctx, nil, tasktrack.ActionWebhookDisabled, "webhook", r.WebhookID, map[string]any{"reason": reason})
	})
}

// recordWebhookSuccesses writes the attempt records ds carry, in the
// transaction that marks them delivered (DeliveriesSucceeded): one insert
// for all of them, and the failure runs of their endpoints ended. It
// locks their endpoints after the deliveries, in DeleteWebhook's order, so
// that an endpoint deleted meanwhile either waits for this transaction or
// is already gone, and its attempts are left out.
func (tx *Tx) recordWebhookSuccesses(ctx context.Context, ds []*tasktrack.Delivery) error {
	var ids []any // of the endpoints, once each
	for _, d := range ds {
		if r := d.WebhookAttempt; r != nil && !slices.Contains(ids, any(r.WebhookID)) {
			ids = append(ids, r.WebhookID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	rows, err := tx.query(ctx, "SELECT id FROM webhooks WHERE id IN ("+marks(len(ids))+")"+tx.db.dialect.forUpdate(), ids...)
	if err != nil {
		return err
	}
	var live []any
	err = eachRow(rows, func(r scanner) error {
		var id string
		err := r.Scan(&id)
		live = append(live, id)
		return err
	})
	rows.Close()
	if err != nil || len(live) == 0 {
		return err
	}
	var args []any
	n := 0
	for _, d := range ds {
		if r := d.WebhookAttempt; r != nil && slices.Contains(live, any(r.WebhookID)) {
			args = attemptArgs(args, *r, tx.now)
			n++
		}
	}
	if _, err := tx.execRows(ctx, attemptsInsert+" VALUES ", attemptRow, n, "", 0, args...); err != nil {
		return err
	}
	return tx.endFailureRuns(ctx, live)
}

// The insert of webhook attempts, rows of attemptArgs.
const (
	attemptsInsert = `INSERT INTO webhook_attempts (id, webhook_id, delivery_id, event_type, attempt, ok, response_status,
		response_body, error, duration_ms, created_at)`
	attemptColumns = 11
	attemptRow     = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

// attemptArgs appends to args the values of r's row in webhook_attempts:
// at its own time, or now when it has none.
func attemptArgs(args []any, r tasktrack.WebhookAttemptRecord, now time.Time) []any {
	at := r.At
	if at.IsZero() {
		at = now
	}
	var code, msg any
	if r.ResponseStatus != 0 {
		code = r.ResponseStatus
	}
	if r.Error != "" {
		msg = r.Error
	}
	return append(args, uuidV7At(at.UnixMilli()).String(), r.WebhookID, r.DeliveryID, r.EventType, r.Attempt, r.OK, code,
		r.ResponseBody, msg, r.Duration.Milliseconds(), micros(at))
}

// endFailureRuns ends the runs of failures of the endpoints ids: an
// attempt of each went through.
func (tx *Tx) endFailureRuns(ctx context.Context, ids []any) error {
	_, err := tx.exec(ctx, "UPDATE webhooks SET failing_since = NULL, failures = 0 WHERE id IN ("+marks(len(ids))+") AND failures > 0", ids...)
	return err
}

// taskChangeEvents writes the events of a task's change from old to nt.
func (tx *Tx) taskChangeEvents(ctx context.Context, old, nt *tasktrack.Task) error {
	for _, event := range changeEvents(old, nt) {
		if err := tx.taskEvent(ctx, event, nt); err != nil {
			return err
		}
	}
	return nil
}

// changeEvents are the events of a task's change from old to nt:
// task.status_changed for its status, task.updated for anything else.
func changeEvents(old, nt *tasktrack.Task) []string {
	var events []string
	if nt.Status != old.Status {
		events = append(events, tasktrack.EventTaskStatusChanged)
	}
	o, n := *old, *nt
	o.Status, o.CompletedAt, o.MissedAt, o.UpdatedAt = n.Status, n.CompletedAt, n.MissedAt, n.UpdatedAt
	if o != n {
		events = append(events, tasktrack.EventTaskUpdated)
	}
	return events
}

// Captured columns of the sweep's events, and of a status change's
// (taskEventCapture; see tasktrack.WebhookEventBody): of the task t and
// its assignee u, and of the user u.
const (
	captureTask = `'id', t.id, 'title', t.title, 'description', t.description, 'deadline_us', t.deadline, 'status', t.status,
		'assigned_to', t.assigned_to, 'assigned_to_username', u.username, 'created_by', t.created_by, 'created_us', t.created_at,
		'updated_us', t.updated_at, 'completed_us', t.completed_at, 'missed_us', t.missed_at`
	captureUser = `'user_id', u.id, 'username', u.username, 'email', u.email, 'first_name', u.first_name, 'last_name', u.last_name,
		'role_id', u.role_id, 'is_active', u.is_active, 'joined_us', u.date_joined, 'deactivated_us', u.deactivated_at,
		'deactivation_reason', u.deactivation_reason`
)

// sweepWebhooks writes the events of a sweep: its misses, reminders,
// deactivations and at-risk warnings, each kind one INSERT ... SELECT of
// the rows the sweep made at its time, joined to the endpoints subscribed.
func (tx *Tx) sweepWebhooks(ctx context.Context) error {
	var n int
	if err := tx.queryRow(ctx, "SELECT count(*) FROM webhooks WHERE is_active").Scan(&n); err != nil || n == 0 {
		return err
	}
	now := micros(tx.now)
	events := []struct{ event, capture, tables, where string }{
		{tasktrack.EventTaskMissed, captureTask, `tasks t JOIN users u ON u.id = t.assigned_to`, `t.status = 'missed' AND t.missed_at = ?`},
		{tasktrack.EventTaskReminder, captureTask, `notifications n JOIN tasks t ON t.id = n.task_id JOIN users u ON u.id = t.assigned_to`,
			`n.kind = 'task_reminder' AND n.created_at = ?`},
		{tasktrack.EventUserDeactivated, captureUser, `users u`,
			`NOT u.is_active AND u.deactivated_at = ? AND u.deactivation_reason = 'missed_deadlines'`},
		{tasktrack.EventUserAtRisk, captureUser, `at_risk_warnings r JOIN users u ON u.id = r.user_id`, `r.since = ?`},
	}
	for _, e := range events {
		res, err := tx.exec(ctx, `INSERT INTO deliveries (id, kind, target, payload, created_at, next_attempt_at)
			SELECT tt_uuid7(?), 'webhook', w.id, json_build_object('type', CAST(? AS TEXT), 'at_us', CAST(? AS BIGINT), `+e.capture+`), ?, ?
			FROM `+e.tables+` JOIN webhooks w ON w.is_active AND (w.events LIKE ? OR w.events = ',*,')
			WHERE `+e.where, tx.now.UnixMilli(), e.event, now, now, now, "%,"+e.event+",%", now)
		if err != nil {
			return err
		}
		if err := tx.delivered(ctx, res); err != nil {
			return err
		}
	}
	return nil
}

// WebhookHealth counts the endpoints that are on and off, and those on
// whose last attempt failed.
func (s *WebhookService) WebhookHealth(ctx context.Context) (active, disabled, failing int, err error) {
	defer wrap(&err, "sqlstore.WebhookHealth")
	err = s.db.queryRow(ctx, `SELECT
		COALESCE(SUM(CASE WHEN is_active THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN is_active THEN 0 ELSE 1 END), 0),
		COALESCE(SUM(CASE WHEN is_active AND failures > 0 THEN 1 ELSE 0 END), 0) FROM webhooks`).Scan(&active, &disabled, &failing)
	return active, disabled, failing, s.db.mapErr(err)
}

// userActiveEvent writes user.reactivated or user.deactivated for an
// update that turned u on or off.
func (tx *Tx) userActiveEvent(ctx context.Context, u *tasktrack.User) error {
	if u.IsActive {
		return tx.userEvent(ctx, tasktrack.EventUserReactivated, u)
	}
	return tx.userEvent(ctx, tasktrack.EventUserDeactivated, u)
}
