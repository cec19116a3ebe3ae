package sqlstore

import (
	"context"
	"database/sql"
	"strings"

	"tasktrack"
)

// AlertService is the alerts the sweep and the webhooks raise: listing,
// acknowledging, and following them by their position.
type AlertService struct{ db *DB }

var _ tasktrack.AlertService = (*AlertService)(nil)

// The alert columns, with the task (if any) and its assignee's name.
const alertColumns = `al.seq, al.id, al.kind, al.user_id, al.username, al.created_at, al.acknowledged_at,
	al.acknowledged_by, al.acknowledged_by_username, ` + taskColumns + `, al.webhook_id, al.webhook_url`

const alertFrom = ` FROM alerts al LEFT JOIN tasks t ON t.id = al.task_id LEFT JOIN users a ON a.id = t.assigned_to`

func scanAlert(s scanner) (*tasktrack.Alert, error) {
	var (
		al              tasktrack.Alert
		created         int64
		ackAt, ackBy    sql.NullInt64
		ackName         sql.NullString
		task            nullTask
		hookID, hookURL sql.NullString
	)
	dest := []any{&al.Seq, &al.ID, &al.Kind, &al.UserID, &al.Username, &created, &ackAt, &ackBy, &ackName}
	dest = append(append(dest, task.dest()...), &hookID, &hookURL)
	if err := s.Scan(dest...); err != nil {
		return nil, err
	}
	al.WebhookID, al.WebhookURL = hookID.String, hookURL.String
	al.CreatedAt, al.AcknowledgedAt, al.AcknowledgedBy, al.AcknowledgedByUsername = fromMicros(created), timePtr(ackAt), int64Ptr(ackBy), ackName.String
	al.Task = task.task()
	return &al, nil
}

func (db *DB) scanAlerts(rows *sql.Rows) ([]*tasktrack.Alert, error) {
	defer rows.Close()
	out := []*tasktrack.Alert{}
	for rows.Next() {
		al, err := scanAlert(rows)
		if err != nil {
			return nil, db.mapErr(err)
		}
		out = append(out, al)
	}
	return out, db.mapErr(rows.Err())
}

// findAlert is the alerts' one finder: alert id through q, the reader
// pool or a transaction. An id that is not one is absent.
func findAlert(ctx context.Context, q querier, id string) (*tasktrack.Alert, error) {
	if !tasktrack.ValidID(id) {
		return nil, tasktrack.ErrNotFound
	}
	al, err := scanAlert(q.queryRow(ctx, "SELECT "+alertColumns+alertFrom+" WHERE al.id = ?", strings.ToLower(id)))
	if err == sql.ErrNoRows {
		return nil, tasktrack.ErrNotFound
	}
	return al, err
}

// FindAlerts lists alerts, newest first.
func (s *AlertService) FindAlerts(ctx context.Context, f tasktrack.AlertFilter) (_ []*tasktrack.Alert, _ int, err error) {
	defer wrap(&err, "sqlstore.FindAlerts")
	if err := tasktrack.Authorize(tasktrack.ActorFromContext(ctx), tasktrack.CanListAlerts); err != nil {
		return nil, 0, err
	}
	var w where
	if !tasktrack.SeesAlertKind(tasktrack.ActorFromContext(ctx), tasktrack.AlertWebhookDisabled) {
		w.add("al.kind <> ?", tasktrack.AlertWebhookDisabled)
	}
	if f.Kind != "" {
		w.add("al.kind = ?", f.Kind)
	}
	if f.Acknowledged != nil {
		if *f.Acknowledged {
			w.add("al.acknowledged_at IS NOT NULL")
		} else {
			w.add("al.acknowledged_at IS NULL")
		}
	}
	if f.Since != nil {
		w.add("al.created_at >= ?", micros(*f.Since))
	}
	var total int
	if err := s.db.queryRow(ctx, "SELECT count(*) FROM alerts al"+w.String(), w.args...).Scan(&total); err != nil {
		return nil, 0, s.db.mapErr(err)
	}
	limit, offset := pageArgs(f.Page)
	rows, err := s.db.query(ctx, "SELECT "+alertColumns+alertFrom+w.String()+" ORDER BY al.seq DESC LIMIT ? OFFSET ?", append(w.args, limit, offset)...)
	if err != nil {
		return nil, 0, err
	}
	out, err := s.db.scanAlerts(rows)
	return out, total, err
}

// AcknowledgeAlert marks an alert seen; a second acknowledgement keeps the
// first.
func (s *AlertService) AcknowledgeAlert(ctx context.Context, id string) (_ *tasktrack.Alert, err error) {
	defer wrap(&err, "sqlstore.AcknowledgeAlert(%s)", id)
	actor := tasktrack.ActorFromContext(ctx)
	if err := tasktrack.Authorize(actor, tasktrack.CanAcknowledgeAlert); err != nil {
		return nil, err
	}
	if !tasktrack.ValidID(id) {
		return nil, tasktrack.ErrNotFound
	}
	id = strings.ToLower(id)
	var al *tasktrack.Alert
	err = s.db.update(ctx, func(tx *Tx) error {
		var byID, byName any
		if actor != nil {
			byID, byName = actor.ID, actor.Username
		}
		res, err := tx.exec(ctx, `UPDATE alerts SET acknowledged_at = ?, acknowledged_by = ?, acknowledged_by_username = ?
			WHERE id = ? AND acknowledged_at IS NULL`, micros(tx.now), byID, byName, id)
		if err != nil {
			return err
		}
		if al, err = findAlert(ctx, tx, id); err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		if err := tx.alertEvent(ctx, tasktrack.EventAlertAcknowledged, al); err != nil {
			return err
		}
		return tx.audit(ctx, actor, tasktrack.ActionAlertAcknowledge, "alert", id, map[string]any{"kind": al.Kind})
	})
	return al, err
}

// AlertSeq returns the commit position of the alert id.
func (s *AlertService) AlertSeq(ctx context.Context, id string) (_ int64, err error) {
	defer wrap(&err, "sqlstore.AlertSeq(%s)", id)
	al, err := findAlert(ctx, s.db, id)
	if err != nil {
		return 0, s.db.mapErr(err)
	}
	return al.Seq, nil
}

// AlertsAfter returns alerts committed after seq, oldest first. Alerts are
// only created by the sweep, which is serialized across processes, so the
// order of seq is the order of commits and no alert can appear behind a
// position a reader has passed.
func (s *AlertService) AlertsAfter(ctx context.Context, seq int64, limit int) (_ []*tasktrack.Alert, err error) {
	defer wrap(&err, "sqlstore.AlertsAfter")
	rows, err := s.db.query(ctx, "SELECT "+alertColumns+alertFrom+" WHERE al.seq > ? ORDER BY al.seq LIMIT ?", seq, limit)
	if err != nil {
		return nil, err
	}
	return s.db.scanAlerts(rows)
}

// LastAlertSeq returns the newest alert's position.
func (s *AlertService) LastAlertSeq(ctx context.Context) (_ int64, err error) {
	defer wrap(&err, "sqlstore.LastAlertSeq")
	seq, err := lastAlertSeq(ctx, s.db)
	return seq, s.db.mapErr(err)
}

// lastAlertSeq reads the newest alert's position through q: the reader
// pool, or the sweep's transaction.
func lastAlertSeq(ctx context.Context, q querier) (int64, error) {
	var seq sql.NullInt64
	err := q.queryRow(ctx, "SELECT max(seq) FROM alerts").Scan(&seq)
	return seq.Int64, err
}
