package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"modernc.org/sqlite"

	"tasktrack"
)

// OutboxService is the worker's side of the outbox: claiming due
// deliveries, recording their outcomes, counting and purging them.
type OutboxService struct{ db *DB }

var _ tasktrack.OutboxStore = (*OutboxService)(nil)

// The outbox is the deliveries table: every email (and, later, webhook
// call) is a row written in the transaction of the change that caused it,
// with its payload captured then, and delivered by the worker of any serve
// process (package outbox). The emails of the sweep are written set-based,
// like the rest of the sweep, so their payloads are JSON built in SQL by
// json_build_object: PostgreSQL's own, and on SQLite the function below.

func init() {
	sqlite.MustRegisterDeterministicScalarFunction("json_build_object", -1, jsonBuildObject)
}

// jsonBuildObject is PostgreSQL's json_build_object(key, value, ...) for
// SQLite: keys are text; NULL is null, numbers are numbers, and text and
// blobs are strings (SQLite's booleans are numbers, as its TRUE is 1).
//
// Its text is what encoding/json makes of the map of the pairs (keys in
// order, the last of equal keys kept, its escaping), written directly: a
// sweep calls it once per email, a hundred thousand times. Values that
// plain ASCII does not spell go through encoding/json itself.
func jsonBuildObject(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	if len(args)%2 != 0 {
		return nil, fmt.Errorf("json_build_object: %d arguments, want pairs", len(args))
	}
	type pair struct {
		key   string
		value driver.Value
	}
	var buf [16]pair
	pairs := buf[:0]
	for i := 0; i < len(args); i += 2 {
		key, ok := args[i].(string)
		if !ok {
			return nil, fmt.Errorf("json_build_object: key %d is %T, not text", i/2+1, args[i])
		}
		pairs = append(pairs, pair{key, args[i+1]})
	}
	// Stable, so that of equal keys the last given is last.
	slices.SortStableFunc(pairs, func(a, b pair) int { return strings.Compare(a.key, b.key) })
	b := make([]byte, 0, 512)
	b = append(b, '{')
	for i, p := range pairs {
		if i+1 < len(pairs) && pairs[i+1].key == p.key {
			continue
		}
		if len(b) > 1 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendJSON(b, p.key); err != nil {
			return nil, err
		}
		b = append(b, ':')
		switch v := p.value.(type) {
		case nil:
			b = append(b, "null"...)
		case int64:
			b = strconv.AppendInt(b, v, 10)
		case []byte:
			b, err = appendJSON(b, string(v))
		default:
			b, err = appendJSON(b, v)
		}
		if err != nil {
			return nil, err
		}
	}
	b = append(b, '}')
	return string(b), nil
}

// appendJSON appends v as encoding/json writes it: a string of printable
// ASCII that needs no escape as it is, anything else by encoding/json.
func appendJSON(b []byte, v any) ([]byte, error) {
	if s, ok := v.(string); ok && plainJSON(s) {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"'), nil
	}
	j, err := json.Marshal(v)
	return append(b, j...), err
}

// plainJSON reports whether encoding/json writes s unescaped.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c >= 0x7f, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}

// greeting is whom an email to the user in the row named u greets.
func greeting(u string) string {
	return `CASE WHEN ` + u + `.first_name <> '' THEN ` + u + `.first_name ELSE ` + u + `.username END`
}

// emailTask is the payload's part about the task in the row named t.
const emailTask = `'task_id', t.id, 'task_title', t.title, 'task_deadline_us', t.deadline, 'task_status', t.status`

// wantsEmail is whether the user of preferences p wants an email of the
// notification n: yes unless they said no.
const wantsEmail = `COALESCE(CASE n.kind
	WHEN '` + tasktrack.NotifyTaskAssigned + `' THEN p.email_task_assigned WHEN '` + tasktrack.NotifyTaskChanged + `' THEN p.email_task_changed
	WHEN '` + tasktrack.NotifyTaskReminder + `' THEN p.email_task_reminder WHEN '` + tasktrack.NotifyTaskMissed + `' THEN p.email_task_missed
	WHEN '` + tasktrack.NotifyAtRisk + `' THEN p.email_at_risk WHEN '` + tasktrack.NotifyReactivated + `' THEN p.email_reactivated END, TRUE)`

// emailNotifications writes the emails of the notifications which (all of
// them this transaction's; see lockNotifications), to those who have an
// address and want them.
func (tx *Tx) emailNotifications(ctx context.Context, which notes) error {
	if !tx.db.Email {
		return nil
	}
	res, err := tx.exec(ctx, emailNotificationsSQL("notifications", which.where), append(tx.emailNotificationsArgs(), which.args...)...)
	if err != nil {
		return err
	}
	return tx.delivered(ctx, res)
}

// emailNotificationsSQL is the statement of emailNotifications over the
// notifications of from (a table, or a statement's own rows) that meet
// where; its arguments begin with emailNotificationsArgs.
func emailNotificationsSQL(from, where string) string {
	return `INSERT INTO deliveries (id, kind, target, user_id, payload, created_at, next_attempt_at)
		SELECT tt_uuid7(?), 'email', u.email, u.id,
			json_build_object('template', 'notification', 'name', ` + greeting("u") + `, 'timezone', COALESCE(p.timezone, 'UTC'),
				'kind', n.kind, 'message', n.message, 'lead_us', n.remind_lead,
				'within', CASE WHEN ` + reminderWithin("n.remind_lead") + ` THEN 1 ELSE 0 END, ` + emailTask + `),
			?, ?
		FROM ` + from + ` n JOIN users u ON u.id = n.user_id
		LEFT JOIN user_preferences p ON p.user_id = n.user_id
		LEFT JOIN tasks t ON t.id = n.task_id
		WHERE ` + where + ` AND u.email <> '' AND ` + wantsEmail + `
		ORDER BY n.seq`
}

func (tx *Tx) emailNotificationsArgs() []any {
	return []any{tx.now.UnixMilli(), micros(tx.now), micros(tx.now)}
}

// alertBurst is how many alerts one sweep may raise and still be emailed
// one by one. A sweep that raises more (the first after an import, or
// after a long outage, can raise a hundred thousand) sends those who want
// an email per alert one email listing them instead: a hundred managers
// would otherwise get ten million emails, and the outbox hold them.
const alertBurst = 20

// emailAlerts writes an email of each alert after seq before (the
// sweep's, which alone makes alerts) to each active manager and admin
// with an address who wants one per alert, but the person it is about;
// or, past alertBurst, one email of them all to each.
func (tx *Tx) emailAlerts(ctx context.Context, before int64) error {
	if !tx.db.Email {
		return nil
	}
	var n int
	if err := tx.queryRow(ctx, "SELECT count(*) FROM alerts WHERE seq > ?", before).Scan(&n); err != nil || n == 0 {
		return err
	}
	if n > alertBurst {
		return tx.emailAlertBurst(ctx, before, n)
	}
	res, err := tx.exec(ctx, `INSERT INTO deliveries (id, kind, target, user_id, payload, created_at, next_attempt_at)
		SELECT tt_uuid7(?), 'email', m.email, m.id,
			json_build_object('template', 'alert', 'name', `+greeting("m")+`, 'timezone', COALESCE(p.timezone, 'UTC'),
				'kind', al.kind, 'about_id', al.user_id, 'about_username', al.username, `+emailTask+`),
			?, ?
		FROM alerts al JOIN users m ON m.is_active AND m.role_id IN (?, ?) AND m.email <> '' AND m.id <> al.user_id
		LEFT JOIN user_preferences p ON p.user_id = m.id
		LEFT JOIN tasks t ON t.id = al.task_id
		WHERE al.seq > ? AND COALESCE(p.alerts, ?) = ?
		ORDER BY al.seq, m.id`, tx.now.UnixMilli(), micros(tx.now), micros(tx.now), tasktrack.RoleAdmin.ID, tasktrack.RoleManager.ID,
		before, tasktrack.AlertMailEach, tasktrack.AlertMailEach)
	if err != nil {
		return err
	}
	return tx.delivered(ctx, res)
}

// delivered wakes the outbox workers everywhere if res wrote deliveries.
func (tx *Tx) delivered(ctx context.Context, res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil || n == 0 {
		return err
	}
	if err := tx.notifyOnce(ctx, outboxChannel); err != nil {
		return err
	}
	tx.committed = append(tx.committed, tx.db.signalOutbox)
	return nil
}

// wroteDeliveries is delivered for a statement that, when it wrote any
// deliveries, sent the outbox's NOTIFY itself (chained writes).
func (tx *Tx) wroteDeliveries(wrote bool) {
	if !wrote {
		return
	}
	tx.sentNotify(outboxChannel)
	tx.committed = append(tx.committed, tx.db.signalOutbox)
}

// signalOutbox wakes this process's outbox worker: deliveries were
// committed.
func (db *DB) signalOutbox() { signal(db.signals.outbox) }

// maxDigestAlerts bounds the alerts one digest lists.
const maxDigestAlerts = 200

// scheduleDigests writes the daily digests that are due: for each active
// manager and admin with an address who chose daily, once per local day,
// at the first sweep after DigestHour in their timezone, the alerts of the
// day before (from the previous DigestHour) still unacknowledged. A day
// without any is recorded too, so that no digest is sent later that day.
// It is a loop over the few people who chose daily, not over tasks: their
// days begin at different moments, which SQL does not know.
func (tx *Tx) scheduleDigests(ctx context.Context) error {
	type reader struct {
		id              int64
		email, name, tz string
		at, from        time.Time
		day             string
	}
	rows, err := tx.query(ctx, `SELECT u.id, u.email, `+greeting("u")+`, p.timezone
		FROM user_preferences p JOIN users u ON u.id = p.user_id
		WHERE p.alerts = ? AND u.is_active AND u.role_id IN (?, ?) AND u.email <> ''
		ORDER BY u.id`, tasktrack.AlertMailDaily, tasktrack.RoleAdmin.ID, tasktrack.RoleManager.ID)
	if err != nil {
		return err
	}
	var due []reader
	for rows.Next() {
		var r reader
		if err := rows.Scan(&r.id, &r.email, &r.name, &r.tz); err != nil {
			rows.Close()
			return err
		}
		due = append(due, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, r := range due {
		loc, err := tasktrack.LoadTimezone(r.tz)
		if err != nil {
			loc = time.UTC
		}
		local := tx.now.In(loc)
		r.at = time.Date(local.Year(), local.Month(), local.Day(), tasktrack.DigestHour, 0, 0, 0, loc)
		if local.Before(r.at) {
			continue
		}
		r.from = time.Date(local.Year(), local.Month(), local.Day()-1, tasktrack.DigestHour, 0, 0, 0, loc)
		r.day = r.at.Format(time.DateOnly)
		res, err := tx.exec(ctx, "INSERT INTO digests (user_id, day, created_at, alerts) VALUES (?, ?, ?, 0) ON CONFLICT DO NOTHING",
			r.id, r.day, micros(tx.now))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err != nil {
				return err
			}
			continue
		}
		if err := tx.writeDigest(ctx, r.id, r.email, r.name, r.tz, r.day, r.from, r.at); err != nil {
			return err
		}
	}
	return nil
}

// writeDigest writes the digest of the alerts made in [from, to) and not
// acknowledged, if there are any.
func (tx *Tx) writeDigest(ctx context.Context, userID int64, email, name, tz, day string, from, to time.Time) error {
	const where = " WHERE al.created_at >= ? AND al.created_at < ? AND al.acknowledged_at IS NULL AND al.kind <> 'webhook_disabled'"
	var total int
	if err := tx.queryRow(ctx, "SELECT count(*) FROM alerts al"+where, micros(from), micros(to)).Scan(&total); err != nil || total == 0 {
		return err
	}
	alerts, err := tx.digestAlerts(ctx, where, micros(from), micros(to))
	if err != nil {
		return err
	}
	if _, err := tx.exec(ctx, "UPDATE digests SET alerts = ? WHERE user_id = ? AND day = ?", total, userID, day); err != nil {
		return err
	}
	return tx.writeDigestEmail(ctx, userID, email, tasktrack.EmailPayload{Template: tasktrack.EmailDigest, Name: name, Timezone: tz,
		Day: day, Alerts: alerts, More: total - len(alerts)})
}

// emailAlertBurst writes, to each active manager and admin with an
// address who wants an email per alert, one email of the n alerts after
// seq before, listing the first maxDigestAlerts: a loop over those
// people, who are few.
func (tx *Tx) emailAlertBurst(ctx context.Context, before int64, n int) error {
	alerts, err := tx.digestAlerts(ctx, " WHERE al.seq > ?", before)
	if err != nil {
		return err
	}
	type reader struct {
		id              int64
		email, name, tz string
	}
	rows, err := tx.query(ctx, `SELECT m.id, m.email, `+greeting("m")+`, COALESCE(p.timezone, 'UTC')
		FROM users m LEFT JOIN user_preferences p ON p.user_id = m.id
		WHERE m.is_active AND m.role_id IN (?, ?) AND m.email <> '' AND COALESCE(p.alerts, ?) = ?
		ORDER BY m.id`, tasktrack.RoleAdmin.ID, tasktrack.RoleManager.ID, tasktrack.AlertMailEach, tasktrack.AlertMailEach)
	if err != nil {
		return err
	}
	var readers []reader
	for rows.Next() {
		var r reader
		if err := rows.Scan(&r.id, &r.email, &r.name, &r.tz); err != nil {
			rows.Close()
			return err
		}
		readers = append(readers, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, r := range readers {
		loc, err := tasktrack.LoadTimezone(r.tz)
		if err != nil {
			loc = time.UTC
		}
		if err := tx.writeDigestEmail(ctx, r.id, r.email, tasktrack.EmailPayload{Template: tasktrack.EmailDigest, Name: r.name,
			Timezone: r.tz, Day: tx.now.In(loc).Format(time.DateOnly), Alerts: alerts, More: n - len(alerts)}); err != nil {
			return err
		}
	}
	return nil
}

// digestAlerts reads, for a digest, the first maxDigestAlerts alerts of
// a condition on the alerts named al, oldest first.
func (tx *Tx) digestAlerts(ctx context.Context, where string, args ...any) ([]tasktrack.EmailPayload, error) {
	rows, err := tx.query(ctx, `SELECT al.kind, al.user_id, al.username, t.id, t.title, t.deadline, t.status
		FROM alerts al LEFT JOIN tasks t ON t.id = al.task_id`+where+`
		ORDER BY al.seq LIMIT ?`, append(args, maxDigestAlerts)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var alerts []tasktrack.EmailPayload
	for rows.Next() {
		var (
			a                  tasktrack.EmailPayload
			tID, title, status sql.NullString
			deadline           sql.NullInt64
		)
		if err := rows.Scan(&a.Kind, &a.AboutID, &a.AboutUsername, &tID, &title, &deadline, &status); err != nil {
			return nil, err
		}
		a.TaskID, a.TaskTitle, a.TaskDeadlineMicros, a.TaskStatus = tID.String, title.String, deadline.Int64, status.String
		alerts = append(alerts, a)
	}
	return alerts, rows.Err()
}

// writeDigestEmail writes the email of a digest.
func (tx *Tx) writeDigestEmail(ctx context.Context, userID int64, email string, p tasktrack.EmailPayload) error {
	payload, err := json.Marshal(p)
	if err != nil {
		return err
	}
	res, err := tx.exec(ctx, `INSERT INTO deliveries (id, kind, target, user_id, payload, created_at, next_attempt_at)
		VALUES (?, 'email', ?, ?, ?, ?, ?)`,
		uuidV7At(tx.now.UnixMilli()).String(), email, userID, string(payload), micros(tx.now), micros(tx.now))
	if err != nil {
		return err
	}
	return tx.delivered(ctx, res)
}

// ---- the worker's side ----

// skipLocked makes a claim's SELECT pass over rows another transaction
// has locked (PostgreSQL); on SQLite the single writer serializes claims.
func (db *DB) skipLocked() string {
	if db.dialect.forUpdate() == "" {
		return ""
	}
	return " FOR UPDATE SKIP LOCKED"
}

const deliveryColumns = "id, kind, target, user_id, payload, attempt, created_at"

// ClaimDeliveries leases due deliveries to owner, keeping to room: the
// targets without room are left out of the search, so that a slow one's
// backlog never hides the rows behind it, and of the rows found (a few
// times limit, read without a lock) those of a target beyond its room are
// left as they were, their attempt not counted. The rows chosen are then
// taken if still due and not locked by another replica's claim.
func (s *OutboxService) ClaimDeliveries(ctx context.Context, owner string, kinds []string, limit int, lease time.Duration,
	room tasktrack.DeliveryRoom) (_ []*tasktrack.Delivery, err error) {
	defer wrap(&err, "sqlstore.ClaimDeliveries")
	if len(kinds) == 0 || limit <= 0 {
		return nil, nil
	}
	var out []*tasktrack.Delivery
	err = s.db.update(ctx, func(tx *Tx) error {
		now, until := micros(tx.now), micros(tx.now.Add(lease))
		args := []any{now}
		for _, k := range kinds {
			args = append(args, k)
		}
		var skip strings.Builder
		for _, t := range room.Full() {
			skip.WriteString(" AND NOT (kind = ? AND target = ?)")
			args = append(args, t.Kind, t.Target)
		}
		args = append(args, 4*limit)
		rows, err := tx.query(ctx, `SELECT id, kind, target FROM deliveries WHERE status = 'pending' AND next_attempt_at <= ?
			AND kind IN (`+marks(len(kinds))+`)`+skip.String()+`
			ORDER BY next_attempt_at LIMIT ?`, args...)
		if err != nil {
			return err
		}
		taken := map[tasktrack.DeliveryTarget]int{}
		ids := []any{owner, until, until}
		for rows.Next() && len(ids) < 3+limit {
			var (
				id string
				t  tasktrack.DeliveryTarget
			)
			if err := rows.Scan(&id, &t.Kind, &t.Target); err != nil {
				rows.Close()
				return err
			}
			if left, bounded := room.Left(t); bounded && taken[t] >= left {
				continue
			}
			taken[t]++
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(ids) == 3 {
			return err
		}
		rows, err = tx.query(ctx, `UPDATE deliveries SET lease_owner = ?, lease_until = ?, next_attempt_at = ?, attempt = attempt + 1
			WHERE id IN (SELECT id FROM deliveries WHERE id IN (`+marks(len(ids)-3)+`)
				AND status = 'pending' AND next_attempt_at <= ?`+s.db.skipLocked()+`)
			RETURNING `+deliveryColumns, append(ids, now)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				d       tasktrack.Delivery
				userID  sql.NullInt64
				payload string
				created int64
			)
			if err := rows.Scan(&d.ID, &d.Kind, &d.Target, &userID, &payload, &d.Attempt, &created); err != nil {
				return err
			}
			d.UserID, d.Payload, d.CreatedAt = int64Ptr(userID), json.RawMessage(payload), fromMicros(created)
			out = append(out, &d)
		}
		return rows.Err()
	})
	return out, err
}

// DeliveriesSucceeded records deliveries made, in one transaction. It
// holds whoever claimed a row last: the message has gone, and must not go
// again.
func (s *OutboxService) DeliveriesSucceeded(ctx context.Context, ds []*tasktrack.Delivery) (err error) {
	defer wrap(&err, "sqlstore.DeliveriesSucceeded")
	if len(ds) == 0 {
		return nil
	}
	return s.db.update(ctx, func(tx *Tx) error {
		if err := s.db.dialect.lazyCommit(ctx, tx); err != nil {
			return err
		}
		args := []any{micros(tx.now), micros(tx.now)}
		for _, d := range ds {
			args = append(args, d.ID)
		}
		if _, err := tx.exec(ctx, `UPDATE deliveries SET status = 'delivered', finished_at = ?, lease_owner = NULL, lease_until = NULL,
			next_attempt_at = ?, last_error = NULL
			WHERE id IN (`+marks(len(ds))+`) AND status = 'pending'`, args...); err != nil {
			return err
		}
		return tx.recordWebhookSuccesses(ctx, ds)
	})
}

// ReleaseDeliveries hands back deliveries claimed and not attempted.
func (s *OutboxService) ReleaseDeliveries(ctx context.Context, ds []*tasktrack.Delivery, owner string) (err error) {
	defer wrap(&err, "sqlstore.ReleaseDeliveries")
	return s.updateHeld(ctx, ds, owner, "lease_owner = NULL, lease_until = NULL, next_attempt_at = ?, attempt = attempt - 1",
		func(now time.Time) []any { return []any{micros(now)} })
}

// RenewDeliveries extends owner's leases on those of ds it still holds.
// Like the other bookkeeping it commits without waiting for the disk on
// PostgreSQL: a renewal lost in a crash only shortens a lease whose
// holder is gone with it.
func (s *OutboxService) RenewDeliveries(ctx context.Context, ds []*tasktrack.Delivery, owner string, lease time.Duration) (err error) {
	defer wrap(&err, "sqlstore.RenewDeliveries")
	return s.updateHeld(ctx, ds, owner, "lease_until = ?, next_attempt_at = ?", func(now time.Time) []any {
		until := micros(now.Add(lease))
		return []any{until, until}
	})
}

// updateHeld sets, in one lazily committed transaction, the columns of set
// (with the arguments setArgs gives at the transaction's time) on those
// of ds that owner still holds.
func (s *OutboxService) updateHeld(ctx context.Context, ds []*tasktrack.Delivery, owner, set string, setArgs func(now time.Time) []any) error {
	if len(ds) == 0 {
		return nil
	}
	return s.db.update(ctx, func(tx *Tx) error {
		if err := s.db.dialect.lazyCommit(ctx, tx); err != nil {
			return err
		}
		args := setArgs(tx.now)
		for _, d := range ds {
			args = append(args, d.ID)
		}
		_, err := tx.exec(ctx, `UPDATE deliveries SET `+set+`
			WHERE id IN (`+marks(len(ds))+`) AND status = 'pending' AND lease_owner = ?`,
			append(args, owner)...)
		return err
	})
}

// RetryDelivery makes a delivery due again after delay.
func (s *OutboxService) RetryDelivery(ctx context.Context, d *tasktrack.Delivery, owner string, delay time.Duration, reason string) (err error) {
	defer wrap(&err, "sqlstore.RetryDelivery")
	return s.db.update(ctx, func(tx *Tx) error {
		if err := s.db.dialect.lazyCommit(ctx, tx); err != nil {
			return err
		}
		_, err := tx.exec(ctx, `UPDATE deliveries SET next_attempt_at = ?, lease_owner = NULL, lease_until = NULL, last_error = ?
			WHERE id = ? AND status = 'pending' AND lease_owner = ?`, micros(tx.now.Add(delay)), reason, d.ID, owner)
		return err
	})
}

// FailDelivery gives a delivery up and writes its audit entry.
func (s *OutboxService) FailDelivery(ctx context.Context, d *tasktrack.Delivery, owner, reason, action string, details map[string]any) (err error) {
	defer wrap(&err, "sqlstore.FailDelivery")
	return s.db.update(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, `UPDATE deliveries SET status = 'failed', finished_at = ?, lease_owner = NULL, lease_until = NULL,
			last_error = ? WHERE id = ? AND status = 'pending' AND lease_owner = ?`, micros(tx.now), reason, d.ID, owner)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		target := ""
		if d.UserID != nil {
			target = itoa(*d.UserID)
		}
		return tx.audit(ctx, nil, action, "user", target, details)
	})
}

// OutboxStats counts the waiting deliveries by kind and finds the oldest.
func (s *OutboxService) OutboxStats(ctx context.Context) (_ map[string]int, _ time.Time, err error) {
	defer wrap(&err, "sqlstore.OutboxStats")
	rows, err := s.db.query(ctx, "SELECT kind, count(*), min(created_at) FROM deliveries WHERE status = 'pending' GROUP BY kind")
	if err != nil {
		return nil, time.Time{}, err
	}
	defer rows.Close()
	pending := map[string]int{}
	var oldest time.Time
	for rows.Next() {
		var (
			kind  string
			n     int
			first int64
		)
		if err := rows.Scan(&kind, &n, &first); err != nil {
			return nil, time.Time{}, s.db.mapErr(err)
		}
		pending[kind] = n
		if t := fromMicros(first); oldest.IsZero() || t.Before(oldest) {
			oldest = t
		}
	}
	return pending, oldest, s.db.mapErr(rows.Err())
}

// PurgeDeliveries deletes the deliveries finished (delivered or given up)
// more than keep ago, and says how many.
func (s *OutboxService) PurgeDeliveries(ctx context.Context, keep time.Duration) (_ int, err error) {
	defer wrap(&err, "sqlstore.PurgeDeliveries")
	var n int64
	err = s.db.update(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, "DELETE FROM deliveries WHERE status <> 'pending' AND finished_at < ?", micros(tx.now.Add(-keep)))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}
