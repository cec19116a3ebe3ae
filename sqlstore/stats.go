package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"slices"
	"strings"
	"time"

	"tasktrack"
)

// ReportService is the dashboard and the exports.
type ReportService struct{ db *DB }

var _ tasktrack.ReportService = (*ReportService)(nil)

// weekOf is SQL for the start of the ISO week of the time in col, as the
// tallies of 0004_stats.sql key them.
func weekOf(col string) string {
	return col + " - ((" + col + " - 345600000000) % 604800000000 + 604800000000) % 604800000000"
}

// snapshot is a read-only transaction: every query in it sees the database
// as of one moment, so that the dashboard's figures agree with each other.
type snapshot struct {
	tx *sql.Tx
	db *DB
}

// readSnapshot begins a snapshot. SQLite reads in a transaction from one
// WAL snapshot anyway (and ignores the level); PostgreSQL needs
// REPEATABLE READ for it.
func (db *DB) readSnapshot(ctx context.Context) (*snapshot, error) {
	tx, err := db.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead})
	if err != nil {
		return nil, db.mapErr(err)
	}
	return &snapshot{tx: tx, db: db}, nil
}

func (s *snapshot) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	q = s.db.dialect.rebind(q)
	if st := s.db.readStmts.get(ctx, q); st != nil {
		return s.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return s.tx.QueryContext(ctx, q, args...)
}

func (s *snapshot) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	q = s.db.dialect.rebind(q)
	if st := s.db.readStmts.get(ctx, q); st != nil {
		return s.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return s.tx.QueryRowContext(ctx, q, args...)
}

// Dashboard answers the dashboard from the tallies of 0004_stats.sql and the
// sweep's own count of misses: managers and admins get everyone's figures
// and every person's standing, a user their own figures only.
func (s *ReportService) Dashboard(ctx context.Context) (_ *tasktrack.Stats, err error) {
	defer wrap(&err, "sqlstore.Dashboard")
	actor := tasktrack.ActorFromContext(ctx)
	team := tasktrack.Allowed(actor, tasktrack.CanSeeTeamStats)
	now := s.db.now()
	weeks := tasktrack.StatsWeekStarts(now)
	first, end := micros(weeks[0]), micros(weeks[len(weeks)-1].AddDate(0, 0, 7))
	st := &tasktrack.Stats{GeneratedAt: now, Threshold: s.db.MissedThreshold, Window: s.db.MissedWindow}

	// The figures of one user, or of everyone.
	mine, args := "", []any{}
	if !team {
		mine, args = " AND user_id = ?", []any{actor.ID}
	}
	snap, err := s.db.readSnapshot(ctx)
	if err != nil {
		return nil, err
	}
	defer snap.tx.Rollback()

	rows, err := snap.query(ctx, "SELECT status, sum(n) FROM user_task_counts WHERE true"+mine+" GROUP BY status", args...)
	if err != nil {
		return nil, s.db.mapErr(err)
	}
	err = scanAll(rows, func() error {
		var (
			status string
			n      int
		)
		if err := rows.Scan(&status, &n); err != nil {
			return err
		}
		switch tasktrack.Status(status) {
		case tasktrack.StatusPending:
			st.Tasks.Pending = n
		case tasktrack.StatusInProgress:
			st.Tasks.InProgress = n
		case tasktrack.StatusCompleted:
			st.Tasks.Completed = n
		case tasktrack.StatusMissed:
			st.Tasks.Missed = n
		}
		return nil
	})
	if err != nil {
		return nil, s.db.mapErr(err)
	}

	due := "SELECT count(*) FROM tasks WHERE status IN ('pending', 'in_progress') AND deadline >= ? AND deadline <= ?"
	dueArgs := []any{micros(now), micros(now.Add(tasktrack.DueSoonWithin))}
	if !team {
		due += " AND assigned_to = ?"
		dueArgs = append(dueArgs, actor.ID)
	}
	if err := snap.queryRow(ctx, due, dueArgs...).Scan(&st.DueSoon); err != nil {
		return nil, s.db.mapErr(err)
	}

	st.Weeks = make([]tasktrack.WeekStats, len(weeks))
	byWeek := map[int64]*tasktrack.WeekStats{}
	for i, w := range weeks {
		st.Weeks[i].WeekStart = w
		byWeek[micros(w)] = &st.Weeks[i]
	}
	rows, err = snap.query(ctx, `SELECT week, sum(completed), sum(on_time), sum(missed) FROM user_week_counts
		WHERE week >= ? AND week < ?`+mine+` GROUP BY week`, append([]any{first, end}, args...)...)
	if err != nil {
		return nil, s.db.mapErr(err)
	}
	err = scanAll(rows, func() error {
		var (
			week int64
			w    tasktrack.WeekStats
		)
		if err := rows.Scan(&week, &w.Completed, &w.CompletedOnTime, &w.Missed); err != nil {
			return err
		}
		if b := byWeek[week]; b != nil {
			b.Completed, b.CompletedOnTime, b.Missed = w.Completed, w.CompletedOnTime, w.Missed
		}
		return nil
	})
	if err != nil {
		return nil, s.db.mapErr(err)
	}

	people, err := s.db.people(ctx, snap, now, first, end, team, actor)
	if err != nil {
		return nil, s.db.mapErr(err)
	}
	if team {
		st.People = people
	}
	if actor != nil {
		for i := range people {
			if people[i].ID == actor.ID {
				me := people[i]
				st.Me = &me
			}
		}
	}
	return st, nil
}

// people returns the standing of every user (or of the actor alone unless
// team), most at risk first: by counted misses, then by on-time rate
// (none last), then by name.
func (db *DB) people(ctx context.Context, snap *snapshot, now time.Time, first, end int64, team bool, actor *tasktrack.User) ([]tasktrack.PersonStats, error) {
	from, to := db.missWindow(now)
	q := `SELECT u.id, u.username, u.role_id, u.is_active, COALESCE(o.n, 0),
			COALESCE(w.completed, 0), COALESCE(w.on_time, 0), COALESCE(w.missed, 0), ` + countedMisses("u") + `
		FROM users u
		LEFT JOIN (SELECT user_id, sum(n) AS n FROM user_task_counts
			WHERE status IN ('pending', 'in_progress') GROUP BY user_id) AS o ON o.user_id = u.id
		LEFT JOIN (SELECT user_id, sum(completed) AS completed, sum(on_time) AS on_time, sum(missed) AS missed
			FROM user_week_counts WHERE week >= ? AND week < ? GROUP BY user_id) AS w ON w.user_id = u.id`
	args := []any{from, to, first, end}
	if !team {
		q += " WHERE u.id = ?"
		args = append(args, actor.ID)
	}
	rows, err := snap.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	people := []tasktrack.PersonStats{}
	err = scanAll(rows, func() error {
		var (
			p                         tasktrack.PersonStats
			roleID                    int
			completed, onTime, missed int
		)
		if err := rows.Scan(&p.ID, &p.Username, &roleID, &p.IsActive, &p.Open, &completed, &onTime, &missed, &p.MissedInWindow); err != nil {
			return err
		}
		p.Role, _ = tasktrack.RoleByID(roleID)
		// Admins are never deactivated, and the inactive already are.
		p.AtRisk = p.IsActive && p.Role != tasktrack.RoleAdmin && tasktrack.AtRisk(p.MissedInWindow, db.MissedThreshold)
		if completed+missed > 0 {
			rate := float64(onTime) / float64(completed+missed)
			p.OnTimeRate = &rate
		}
		people = append(people, p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(people, func(a, b tasktrack.PersonStats) int {
		if c := cmp.Compare(b.MissedInWindow, a.MissedInWindow); c != 0 {
			return c
		}
		switch {
		case a.OnTimeRate != nil && b.OnTimeRate != nil:
			if c := cmp.Compare(*a.OnTimeRate, *b.OnTimeRate); c != 0 {
				return c
			}
		case a.OnTimeRate != nil:
			return -1
		case b.OnTimeRate != nil:
			return 1
		}
		return cmp.Or(strings.Compare(a.Username, b.Username), cmp.Compare(a.ID, b.ID))
	})
	return people, nil
}

// scanAll calls scan for each row, and closes rows.
func scanAll(rows *sql.Rows, scan func() error) error {
	defer rows.Close()
	for rows.Next() {
		if err := scan(); err != nil {
			return err
		}
	}
	return rows.Err()
}

// ExportTasks streams the tasks of a list, in the list's order: one query
// read row by row, so that memory stays flat however many there are.
func (s *ReportService) ExportTasks(ctx context.Context, f tasktrack.TaskFilter, fn func(*tasktrack.Task) error) (err error) {
	defer wrap(&err, "sqlstore.ExportTasks")
	l, err := newTaskList(tasktrack.ActorFromContext(ctx), f)
	if err != nil {
		return err
	}
	q, args := l.selectSQL()
	rows, err := s.db.query(ctx, q, args...)
	if err != nil {
		return err
	}
	return s.db.mapErr(scanAll(rows, func() error {
		t, err := scanTask(rows)
		if err != nil {
			return err
		}
		return fn(t)
	}))
}

// ExportAuditEntries streams the audit entries a filter selects, newest
// first, as ExportTasks does.
func (s *ReportService) ExportAuditEntries(ctx context.Context, f tasktrack.AuditFilter, fn func(*tasktrack.AuditEntry) error) (err error) {
	defer wrap(&err, "sqlstore.ExportAuditEntries")
	if err := tasktrack.Authorize(tasktrack.ActorFromContext(ctx), tasktrack.CanReadAudit); err != nil {
		return err
	}
	w := auditWhere(f)
	rows, err := s.db.query(ctx, auditSelect+w.String()+" ORDER BY id DESC", w.args...)
	if err != nil {
		return err
	}
	return s.db.mapErr(scanAll(rows, func() error {
		e, err := scanAuditEntry(rows)
		if err != nil {
			return err
		}
		return fn(e)
	}))
}
