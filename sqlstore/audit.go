package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"strconv"
	"time"

	"tasktrack"
)

// AuditService reads the audit log: all of it, and a task's history.
type AuditService struct{ db *DB }

var _ tasktrack.AuditService = (*AuditService)(nil)

func itoa(id int64) string { return strconv.FormatInt(id, 10) }

// audit writes one audit entry in the transaction of the change it records.
// A nil actor is the system.
func (tx *Tx) audit(ctx context.Context, actor *tasktrack.User, action, targetType, targetID string, details any) error {
	args, err := auditArgs(ctx, nil, tx.now, actor, action, targetType, targetID, details)
	if err != nil {
		return err
	}
	_, err = tx.exec(ctx, auditInsert+auditRow, args...)
	return err
}

const (
	auditInto    = "INSERT INTO audit_log (at, actor_id, actor_username, action, target_type, target_id, details)"
	auditColumns = 7
	auditInsert  = auditInto + " VALUES "
	auditRow     = "(?, ?, ?, ?, ?, ?, ?)"
)

// auditArgs appends to args the values of one audit entry's row, at the
// time at: its details as JSON, with the id of the request's personal
// access token (from ctx) when there is one.
func auditArgs(ctx context.Context, args []any, at time.Time, actor *tasktrack.User, action, targetType, targetID string, details any) ([]any, error) {
	b, err := json.Marshal(details)
	if err != nil {
		return nil, err
	}
	if t := tasktrack.TokenFromContext(ctx); t != nil {
		if b, err = withTokenID(b, t.ID); err != nil {
			return nil, err
		}
	}
	var id, name any
	if actor != nil {
		id, name = actor.ID, actor.Username
	}
	return append(args, micros(at), id, name, action, targetType, targetID, string(b)), nil
}

// auditSelect reads audit entries for scanAuditEntry.
const auditSelect = "SELECT id, at, actor_id, actor_username, action, target_type, target_id, details FROM audit_log"

func auditWhere(f tasktrack.AuditFilter) *where {
	var w where
	if f.Action != "" {
		w.add("action = ?", f.Action)
	}
	if f.ActorID != nil {
		w.add("actor_id = ?", *f.ActorID)
	}
	if f.TargetID != "" {
		w.add("target_id = ?", f.TargetID)
	}
	return &w
}

func scanAuditEntry(s scanner) (*tasktrack.AuditEntry, error) {
	var (
		e       tasktrack.AuditEntry
		at      int64
		actor   sql.NullInt64
		name    sql.NullString
		details string
	)
	if err := s.Scan(&e.ID, &at, &actor, &name, &e.Action, &e.TargetType, &e.TargetID, &details); err != nil {
		return nil, err
	}
	e.At, e.ActorID, e.ActorUsername, e.Details = fromMicros(at), int64Ptr(actor), name.String, json.RawMessage(details)
	return &e, nil
}

// FindAuditEntries lists the audit log, newest first.
func (s *AuditService) FindAuditEntries(ctx context.Context, f tasktrack.AuditFilter) (_ []*tasktrack.AuditEntry, _ int, err error) {
	defer wrap(&err, "sqlstore.FindAuditEntries")
	if err := tasktrack.Authorize(tasktrack.ActorFromContext(ctx), tasktrack.CanReadAudit); err != nil {
		return nil, 0, err
	}
	w := auditWhere(f)
	var total int
	if err := s.db.queryRow(ctx, "SELECT count(*) FROM audit_log"+w.String(), w.args...).Scan(&total); err != nil {
		return nil, 0, s.db.mapErr(err)
	}
	limit, offset := pageArgs(f.Page)
	rows, err := s.db.query(ctx, auditSelect+w.String()+" ORDER BY id DESC LIMIT ? OFFSET ?", append(w.args, limit, offset)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []*tasktrack.AuditEntry
	for rows.Next() {
		e, err := scanAuditEntry(rows)
		if err != nil {
			return nil, 0, s.db.mapErr(err)
		}
		out = append(out, e)
	}
	return out, total, s.db.mapErr(rows.Err())
}

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
	rows, err := db.query(ctx, "SELECT id, username FROM users WHERE id IN ("+marks(len(ids))+")", ids...)
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
