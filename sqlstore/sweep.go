package sqlstore

import (
	"context"
	"time"

	"tasktrack"
)

// SweepService runs the sweep.
type SweepService struct{ db *DB }

var _ tasktrack.Sweeper = (*SweepService)(nil)

// sweptDetails is the audit details of a deactivation by the sweep.
const sweptDetails = `{"reason":"` + tasktrack.ReasonMissedDeadlines + `"}`

// Sweep enforces deadlines at the current time, in one transaction of
// set-based statements whose cost grows with what changes, not with the
// table:
//
//  1. open tasks whose deadline has passed become missed, each with one
//     audit entry and one task_missed alert, unless the task already had
//     one for that deadline;
//  2. active non-admin users with at least MissedThreshold missed tasks
//     whose deadlines fall in the window (and after their last
//     reactivation) are deactivated, each with one user_deactivated alert
//     and one audit entry by the system;
//  3. those left with MissedThreshold-1 are warned once per crossing
//     (warnAtRisk), with a user_at_risk alert;
//  4. the notices (reminder.go): the emails of the alerts, the daily
//     digests due, and, last, the notifications of the misses, the
//     reminders due and the warnings, with their emails.
//
// Every statement only touches rows not yet changed, so a second sweep, or
// one racing in another process, changes nothing twice; on PostgreSQL an
// advisory lock also makes concurrent sweeps take turns.
func (s *SweepService) Sweep(ctx context.Context) (_ tasktrack.SweepResult, err error) {
	defer wrap(&err, "sqlstore.Sweep")
	start := time.Now()
	var (
		res    tasktrack.SweepResult
		phases []any
	)
	err = s.db.update(ctx, func(tx *Tx) error {
		if err := s.db.dialect.lock(ctx, tx, lockSweep); err != nil {
			return err
		}
		// The lock may have waited for another sweep: act at the time it
		// was taken.
		tx.now = s.db.now()
		now := micros(tx.now)
		res = tasktrack.SweepResult{At: tx.now}
		alertsBefore, err := lastAlertSeq(ctx, tx)
		if err != nil {
			return err
		}
		phase := time.Now()
		lap := func(name string) {
			phases = append(phases, name, time.Since(phase).Round(time.Microsecond))
			phase = time.Now()
		}
		if s.db.dialect.keepsTaskCounts() {
			// SQLite's row triggers leave the counters of the tasks about
			// to be marked to the sweep, which moves them in a few grouped
			// statements rather than once per task.
			if err := tx.moveCountsToMissed(ctx, now); err != nil {
				return err
			}
			if err := tx.moveTalliesToMissed(ctx, now); err != nil {
				return err
			}
			lap("counts")
		}
		// On SQLite, OR IGNORE: no row of this UPDATE can break a
		// constraint (the status is valid, the times are set), and without
		// a clause that may abort it (its triggers have none either; see
		// 0008_sweep_without_statement_journal.sql) SQLite keeps no
		// statement journal, a copy of every page the UPDATE changes.
		mark := "UPDATE"
		if s.db.dialect.keepsTaskCounts() {
			mark = "UPDATE OR IGNORE"
		}
		r, err := tx.exec(ctx, mark+` tasks SET status = 'missed', missed_at = ?, updated_at = ?
			WHERE status IN ('pending', 'in_progress') AND deadline < ?`, now, now, now)
		if err != nil {
			return err
		}
		n, err := r.RowsAffected()
		if err != nil {
			return err
		}
		res.TasksMissed = int(n)
		lap("mark")
		if n > 0 {
			// One alert per task and deadline (alerts_task_missed_once): a
			// task missed again without a new deadline raises none.
			if _, err := tx.exec(ctx, `INSERT INTO alerts (id, kind, task_id, user_id, username, created_at, deadline)
				SELECT tt_uuid7(?), ?, t.id, t.assigned_to, u.username, t.missed_at, t.deadline
				FROM tasks t JOIN users u ON u.id = t.assigned_to
				WHERE t.status = 'missed' AND t.missed_at = ?
				ORDER BY t.id
				ON CONFLICT DO NOTHING`, tx.now.UnixMilli(), tasktrack.AlertTaskMissed, now); err != nil {
				return err
			}
			lap("alerts")
			if _, err := tx.exec(ctx, `INSERT INTO audit_log (at, actor_id, actor_username, action, target_type, target_id, details)
				SELECT ?, NULL, NULL, ?, 'task', CAST(t.id AS TEXT), '{"to":"missed"}'
				FROM tasks t WHERE t.status = 'missed' AND t.missed_at = ?`, now, tasktrack.ActionTaskMissed, now); err != nil {
				return err
			}
			lap("audit")
		}
		// Deactivate users with too many counted misses.
		from, to := s.db.missWindow(tx.now)
		r, err = tx.exec(ctx, `UPDATE users SET is_active = FALSE, deactivated_at = ?, deactivation_reason = ?,
				token_version = token_version + 1
			WHERE is_active AND role_id <> ? AND `+countedMisses("users")+` >= ?`,
			now, tasktrack.ReasonMissedDeadlines, tasktrack.RoleAdmin.ID, from, to, s.db.MissedThreshold)
		if err != nil {
			return err
		}
		if n, err = r.RowsAffected(); err != nil {
			return err
		}
		res.UsersDeactivated = int(n)
		lap("deactivate")
		if n > 0 {
			if _, err := tx.exec(ctx, `INSERT INTO alerts (id, kind, task_id, user_id, username, created_at)
				SELECT tt_uuid7(?), ?, NULL, id, username, deactivated_at
				FROM users WHERE NOT is_active AND deactivated_at = ? AND deactivation_reason = ?
				ORDER BY id
				ON CONFLICT DO NOTHING`, tx.now.UnixMilli(), tasktrack.AlertUserDeactivated, now, tasktrack.ReasonMissedDeadlines); err != nil {
				return err
			}
			if _, err := tx.exec(ctx, `INSERT INTO audit_log (at, actor_id, actor_username, action, target_type, target_id, details)
				SELECT ?, NULL, NULL, ?, 'user', CAST(id AS TEXT), ?
				FROM users WHERE NOT is_active AND deactivated_at = ? AND deactivation_reason = ?`,
				now, tasktrack.ActionUserDeactivate, sweptDetails, now, tasktrack.ReasonMissedDeadlines); err != nil {
				return err
			}
		}
		if res.UsersAtRisk, err = tx.warnAtRisk(ctx); err != nil {
			return err
		}
		lap("atrisk")
		if err := tx.sweepNotices(ctx, &res, alertsBefore); err != nil {
			return err
		}
		if err := tx.sweepWebhooks(ctx); err != nil {
			return err
		}
		lap("notices")
		if res.TasksMissed > 0 || res.UsersDeactivated > 0 || res.UsersAtRisk > 0 {
			return tx.notifyOnce(ctx, alertsChannel)
		}
		return nil
	})
	res.Duration = time.Since(start)
	if err != nil {
		s.db.Logger.Error("sweep failed", "err", err, "duration", res.Duration)
		return res, err
	}
	s.db.Logger.Info("sweep", append([]any{"tasks_missed", res.TasksMissed, "users_deactivated", res.UsersDeactivated,
		"users_at_risk", res.UsersAtRisk, "reminders", res.Reminders, "duration", res.Duration}, phases...)...)
	if res.TasksMissed > 0 || res.UsersDeactivated > 0 || res.UsersAtRisk > 0 {
		s.db.signalAlerts()
	}
	return res, nil
}

// countedMisses is the one definition of the misses that count towards a
// user's deactivation at a time T: their missed tasks whose deadline falls
// in [T - MissedWindow, T] and after their last reactivation. It is SQL
// for the count of the user in the row named u (a table or its alias);
// its parameters are the window (missWindow). The sweep deactivates a user
// at MissedThreshold of them; the dashboard shows them, and who is one
// away (stats.go). Each user's count is a range of the index of misses by
// assignee and deadline, never a lookup per miss.
func countedMisses(u string) string {
	return `(SELECT count(*) FROM tasks t WHERE t.assigned_to = ` + u + `.id AND t.status = 'missed'
		AND t.deadline >= ? AND t.deadline <= ? AND t.deadline > COALESCE(` + u + `.reactivated_at, -9223372036854775807))`
}

// missWindow is the window of countedMisses at now, in microseconds.
func (db *DB) missWindow(now time.Time) (from, to int64) {
	return micros(now) - db.MissedWindow.Microseconds(), micros(now)
}

// moveCountsToMissed moves the per-status counters for the open tasks due
// before now, which the sweep is about to mark missed (the counters'
// trigger leaves that move to the sweep; see 0002_task_counts.sql).
func (tx *Tx) moveCountsToMissed(ctx context.Context, now int64) error {
	_, err := tx.exec(ctx, `UPDATE task_counts SET n = n + CASE status
			WHEN 'missed' THEN o.pending + o.in_progress
			WHEN 'pending' THEN -o.pending
			ELSE -o.in_progress END
		FROM (SELECT count(*) FILTER (WHERE status = 'pending') AS pending,
		             count(*) FILTER (WHERE status = 'in_progress') AS in_progress
		      FROM tasks WHERE status IN ('pending', 'in_progress') AND deadline < ?) AS o
		WHERE task_counts.status IN ('missed', 'pending', 'in_progress')`, now)
	return err
}

// moveTalliesToMissed moves the dashboard's tallies for the open tasks due
// before now, which the sweep is about to mark missed: for each assignee,
// out of pending and in progress into missed, and into the week of the
// deadline (see 0004_stats.sql, whose triggers leave that move here).
func (tx *Tx) moveTalliesToMissed(ctx context.Context, now int64) error {
	_, err := tx.exec(ctx, `WITH o AS (
			SELECT assigned_to, status, count(*) AS n FROM tasks
			WHERE status IN ('pending', 'in_progress') AND deadline < ? GROUP BY assigned_to, status)
		INSERT INTO user_task_counts (user_id, status, n)
		SELECT assigned_to, status, -n FROM o
		UNION ALL
		SELECT assigned_to, 'missed', sum(n) FROM o WHERE true GROUP BY assigned_to
		ON CONFLICT (user_id, status) DO UPDATE SET n = n + excluded.n`, now)
	if err != nil {
		return err
	}
	_, err = tx.exec(ctx, `INSERT INTO user_week_counts (week, user_id, completed, on_time, missed)
		SELECT `+weekOf("deadline")+`, assigned_to, 0, 0, count(*) FROM tasks
		WHERE status IN ('pending', 'in_progress') AND deadline < ? GROUP BY 1, 2
		ON CONFLICT (week, user_id) DO UPDATE SET missed = missed + excluded.missed`, now)
	return err
}
