package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"

	"tasktrack"
)

// What the sweep tells people, besides marking and deactivating: the
// at-risk warnings, the notifications of its misses, the reminders, and
// the emails of all of them. Set-based like the rest of the sweep; see
// Sweep for the order.

// warnAtRisk keeps the at-risk warnings: it forgets those of people whose
// counted misses (countedMisses, as for deactivation) dropped below N-1 or
// who were reactivated since, and warns the active non-admins who now have
// N-1 and are not warned yet, with a user_at_risk alert each. It runs
// after the deactivations, so that those left with N-1 or more have
// exactly N-1. A threshold of 1 leaves no room for a warning.
func (tx *Tx) warnAtRisk(ctx context.Context) (int, error) {
	n := tx.db.MissedThreshold - 1
	if n < 1 {
		return 0, nil
	}
	from, to := tx.db.missWindow(tx.now)
	if _, err := tx.exec(ctx, `DELETE FROM at_risk_warnings WHERE user_id IN (
			SELECT u.id FROM at_risk_warnings w JOIN users u ON u.id = w.user_id
			WHERE w.since < COALESCE(u.reactivated_at, -9223372036854775807) OR `+countedMisses("u")+` < ?)`,
		from, to, n); err != nil {
		return 0, err
	}
	// Evaluated for every active user, as the deactivation is: each count
	// is a range of the index of misses by assignee and deadline.
	res, err := tx.exec(ctx, `INSERT INTO at_risk_warnings (user_id, since)
		SELECT u.id, ? FROM users u
		WHERE u.is_active AND u.role_id <> ?
		AND NOT EXISTS (SELECT 1 FROM at_risk_warnings w WHERE w.user_id = u.id)
		AND `+countedMisses("u")+` >= ?`,
		micros(tx.now), tasktrack.RoleAdmin.ID, from, to, n)
	if err != nil {
		return 0, err
	}
	warned, err := res.RowsAffected()
	if err != nil || warned == 0 {
		return 0, err
	}
	_, err = tx.exec(ctx, `INSERT INTO alerts (id, kind, task_id, user_id, username, created_at)
		SELECT tt_uuid7(?), ?, NULL, u.id, u.username, w.since
		FROM at_risk_warnings w JOIN users u ON u.id = w.user_id
		WHERE w.since = ?
		ORDER BY u.id
		ON CONFLICT DO NOTHING`, tx.now.UnixMilli(), tasktrack.AlertUserAtRisk, micros(tx.now))
	return int(warned), err
}

// sweepNotices writes, at the end of a sweep, the emails of its alerts
// (those after alertsBefore) and the digests due, then, under the
// notifications lock, the notifications of the tasks it marked missed,
// the reminders due, and the at-risk warnings it made, with their emails.
func (tx *Tx) sweepNotices(ctx context.Context, res *tasktrack.SweepResult, alertsBefore int64) error {
	if err := tx.emailAlerts(ctx, alertsBefore); err != nil {
		return err
	}
	if tx.db.Email {
		if err := tx.scheduleDigests(ctx); err != nil {
			return err
		}
	}
	before, err := tx.lockNotifications(ctx)
	if err != nil {
		return err
	}
	now := micros(tx.now)
	counts := map[string]int{}
	count := func(kind string, r sql.Result) error {
		n, err := r.RowsAffected()
		counts[kind] += int(n)
		return err
	}
	if res.TasksMissed > 0 {
		pre, post := around(tasktrack.MissedMessage)
		r, err := tx.exec(ctx, `INSERT INTO notifications (id, user_id, kind, task_id, message, details, created_at)
			SELECT tt_uuid7(?), t.assigned_to, ?, t.id, CAST(? AS TEXT) || t.title || CAST(? AS TEXT), '{}', t.missed_at
			FROM tasks t WHERE t.status = 'missed' AND t.missed_at = ?
			ORDER BY t.id
			ON CONFLICT DO NOTHING`, tx.now.UnixMilli(), tasktrack.NotifyTaskMissed, pre, post, now)
		if err != nil {
			return err
		}
		if err := count(tasktrack.NotifyTaskMissed, r); err != nil {
			return err
		}
	}
	if r, err := tx.remind(ctx); err != nil {
		return err
	} else if r != nil {
		if err := count(tasktrack.NotifyTaskReminder, r); err != nil {
			return err
		}
		res.Reminders = counts[tasktrack.NotifyTaskReminder]
	}
	if res.UsersAtRisk > 0 {
		details, err := json.Marshal(map[string]any{"missed": tx.db.MissedThreshold - 1, "threshold": tx.db.MissedThreshold})
		if err != nil {
			return err
		}
		r, err := tx.exec(ctx, `INSERT INTO notifications (id, user_id, kind, task_id, message, details, created_at)
			SELECT tt_uuid7(?), w.user_id, ?, NULL, ?, ?, w.since
			FROM at_risk_warnings w WHERE w.since = ?
			ORDER BY w.user_id
			ON CONFLICT DO NOTHING`, tx.now.UnixMilli(), tasktrack.NotifyAtRisk,
			tasktrack.AtRiskMessage(tx.db.MissedThreshold-1, tx.db.MissedWindow), string(details), now)
		if err != nil {
			return err
		}
		if err := count(tasktrack.NotifyAtRisk, r); err != nil {
			return err
		}
	}
	return tx.notified(ctx, notesAfter(before), counts)
}

// remind writes the reminders due at the sweep's time T: an open task of
// an active person whose deadline D has T < D <= T + L gets one for the
// smallest such lead L, once per (task, lead, deadline). With the leads
// L1 < L2 < ... each task due within the largest falls in exactly one
// window (T + L(i-1), T + Li], so one statement joins the open tasks due
// soon (a range of their partial index) to the windows. A task created
// 30 minutes before its deadline thus gets the 1-hour reminder and never
// the 24-hour one, and it says "due within 1 hour" (reminderWithin: the
// task was already inside the lead when it was last changed), where a task
// reminded as the lead passes is "due in 1 hour"; a moved deadline is a
// new key, with reminders of its own.
func (tx *Tx) remind(ctx context.Context) (sql.Result, error) {
	leads := tx.db.Reminders
	if len(leads) == 0 {
		return nil, nil
	}
	now := micros(tx.now)
	args := []any{tx.now.UnixMilli(), tasktrack.NotifyTaskReminder, now}
	var windows []string
	low := now
	for _, lead := range leads {
		high := now + lead.Microseconds()
		pre, post := around(func(title string) string { return tasktrack.ReminderMessage(title, lead) })
		wpre, wpost := around(func(title string) string { return tasktrack.ReminderWithinMessage(title, lead) })
		details, err := json.Marshal(map[string]string{"lead": tasktrack.LeadLabel(lead)})
		if err != nil {
			return nil, err
		}
		windows = append(windows, `SELECT CAST(? AS BIGINT) AS lo, CAST(? AS BIGINT) AS hi, CAST(? AS BIGINT) AS lead,
			CAST(? AS TEXT) AS pre, CAST(? AS TEXT) AS post, CAST(? AS TEXT) AS wpre, CAST(? AS TEXT) AS wpost,
			CAST(? AS TEXT) AS details`)
		args = append(args, low, high, lead.Microseconds(), pre, post, wpre, wpost, string(details))
		low = high
	}
	args = append(args, now, low)
	// The kind in NOT EXISTS stays in the text, not a parameter: the
	// planners match a partial index (notifications_reminder_once) only
	// against a predicate they can read.
	return tx.exec(ctx, `INSERT INTO notifications (id, user_id, kind, task_id, message, details, created_at, remind_lead, remind_deadline)
		SELECT tt_uuid7(?), t.assigned_to, ?, t.id,
			CASE WHEN `+reminderWithin("l.lead")+` THEN l.wpre || t.title || l.wpost ELSE l.pre || t.title || l.post END,
			l.details, ?, l.lead, t.deadline
		FROM tasks t
		JOIN (`+strings.Join(windows, " UNION ALL ")+`) l ON t.deadline > l.lo AND t.deadline <= l.hi
		JOIN users u ON u.id = t.assigned_to
		WHERE t.status IN ('pending', 'in_progress') AND t.deadline > ? AND t.deadline <= ? AND u.is_active
		AND NOT EXISTS (SELECT 1 FROM notifications r WHERE r.kind = '`+tasktrack.NotifyTaskReminder+`'
			AND r.task_id = t.id AND r.remind_lead = l.lead AND r.remind_deadline = t.deadline)
		ORDER BY t.id
		ON CONFLICT DO NOTHING`, args...)
}

// reminderWithin is whether a reminder of the task t at lead (a window's
// l.lead, or a notification's n.remind_lead) says "due within" rather than
// "due in" (tasktrack.ReminderWithinMessage): the task was last changed
// when its deadline was already less than lead away.
func reminderWithin(lead string) string { return "t.updated_at > t.deadline - " + lead }

// around splits a message made from a title into the words before and
// after it, for SQL to put each task's title between: the words live
// once, in the domain.
func around(message func(title string) string) (pre, post string) {
	const mark = "\x00"
	pre, post, _ = strings.Cut(message(mark), mark)
	return pre, post
}
