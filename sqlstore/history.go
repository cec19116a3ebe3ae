package sqlstore

import (
	"context"
	"encoding/json"
	"strings"

	"tasktrack"
)

// TaskHistory lists the audit entries about a task the caller may see,
// oldest first, each with the username of the person it assigned the task
// to. Entries keep the actor's name as it was; assignees are named as they
// are now (the audit log stores their ids).
func (s *AuditService) TaskHistory(ctx context.Context, taskID string, p tasktrack.Page) (_ []*tasktrack.TaskEvent, _ int, err error) {
	defer wrap(&err, "sqlstore.TaskHistory(%s)", taskID)
	t, err := s.db.Tasks.FindTaskByID(ctx, taskID)
	if err != nil {
		return nil, 0, err
	}
	var total int
	if err := s.db.queryRow(ctx, "SELECT count(*) FROM audit_log WHERE target_id = ? AND target_type = 'task'", t.ID).Scan(&total); err != nil {
		return nil, 0, s.db.mapErr(err)
	}
	limit, offset := pageArgs(p)
	rows, err := s.db.query(ctx, auditSelect+" WHERE target_id = ? AND target_type = 'task' ORDER BY id LIMIT ? OFFSET ?", t.ID, limit, offset)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := []*tasktrack.TaskEvent{}
	var ids []any
	for rows.Next() {
		e, err := scanAuditEntry(rows)
		if err != nil {
			return nil, 0, s.db.mapErr(err)
		}
		ev := &tasktrack.TaskEvent{AuditEntry: *e}
		var d struct {
			AssignedTo *int64 `json:"assigned_to"`
		}
		if json.Unmarshal(e.Details, &d) == nil && d.AssignedTo != nil {
			ev.AssigneeID = d.AssignedTo
			ids = append(ids, *d.AssignedTo)
		}
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, s.db.mapErr(err)
	}
	names, err := s.db.usernames(ctx, ids)
	if err != nil {
		return nil, 0, err
	}
	for _, ev := range out {
		if ev.AssigneeID != nil {
			ev.AssigneeUsername = names[*ev.AssigneeID]
		}
	}
	return out, total, nil
}

// usernames maps user ids to their usernames; ids of users that are gone
// are left out.
func (db *DB) usernames(ctx context.Context, ids []any) (map[int64]string, error) {
	names := map[int64]string{}
	if len(ids) == 0 {
		return names, nil
	}
	rows, err := db.query(ctx, "SELECT id, username FROM users WHERE id IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ")+")", ids...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id   int64
			name string
		)
		if err := rows.Scan(&id, &name); err != nil {
			return nil, db.mapErr(err)
		}
		names[id] = name
	}
	return names, db.mapErr(rows.Err())
}

// UserStanding counts a user's misses as the sweep does: missed tasks whose
// deadlines fall in [now - window, now] and after the last reactivation.
func (s *UserService) UserStanding(ctx context.Context, id int64) (_ *tasktrack.Standing, err error) {
	defer wrap(&err, "sqlstore.UserStanding(%d)", id)
	u, err := s.FindUserByID(ctx, id)
	if err != nil {
		return nil, err
	}
	now := s.db.now()
	st := &tasktrack.Standing{Threshold: s.db.MissedThreshold, Window: s.db.MissedWindow, CountedSince: now.Add(-s.db.MissedWindow)}
	if u.IsAdmin() {
		st.Threshold = 0
	}
	if u.ReactivatedAt != nil && !u.ReactivatedAt.Before(st.CountedSince) {
		st.CountedSince = *u.ReactivatedAt
	}
	// The sweep's own count (countedMisses), for this one user.
	from, to := s.db.missWindow(now)
	err = s.db.queryRow(ctx, `SELECT `+countedMisses("u")+` FROM users u WHERE u.id = ?`, from, to, id).Scan(&st.MissedInWindow)
	return st, s.db.mapErr(err)
}
