package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"

	"tasktrack"
)

// NotificationService is the inbox: a person's notifications, reading
// them, and following them by their position.
type NotificationService struct{ db *DB }

var _ tasktrack.NotificationService = (*NotificationService)(nil)

// Notifications are written by many kinds of transaction (task creations,
// updates, reactivations, the sweep), on many replicas. For a stream to
// follow a person's notifications by their seq without skipping one, seq
// order must be commit order: every transaction that writes notifications
// takes one lock (lockNotifications, an advisory transaction lock on
// PostgreSQL; SQLite's single writer serializes them anyway) as its last
// step before inserting them, and holds it until it commits. Nothing it
// does while holding the lock waits for another lock (the tables it writes
// then have no foreign keys), so the lock cannot take part in a deadlock,
// and it is held for the inserts and the commit only.
const lockNotifications int64 = 0x7461736b_0010

// The PostgreSQL channels that wake other processes: new notifications
// (their event streams) and new deliveries (their outbox workers).
const (
	notificationsChannel = "tasktrack_notifications"
	outboxChannel        = "tasktrack_outbox"
)

// signals are the in-process wake-ups of event streams and outbox
// workers, signalled after a local commit and by LISTEN/NOTIFY.
type signals struct {
	notifications chan struct{}
	outbox        chan struct{}
}

func newSignals() signals {
	return signals{notifications: make(chan struct{}, 1), outbox: make(chan struct{}, 1)}
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// note is a notification about to be written.
type note struct {
	userID  int64
	kind    string
	taskID  string // "" for none
	message string
	details map[string]any
}

// notify writes notes, and the emails that carry them, as the last step of
// a transaction (see lockNotifications).
func (tx *Tx) notify(ctx context.Context, notes []note) error {
	if len(notes) == 0 {
		return nil
	}
	// The lock alone: the rows' seqs come back from the insert itself.
	if err := tx.db.dialect.lock(ctx, tx, lockNotifications); err != nil {
		return err
	}
	var err error
	counts := map[string]int{}
	args := make([]any, 0, 7*len(notes))
	for _, n := range notes {
		details := []byte("{}")
		if len(n.details) > 0 {
			if details, err = json.Marshal(n.details); err != nil {
				return err
			}
		}
		var task any
		if n.taskID != "" {
			task = n.taskID
		}
		args = append(args, uuidV7At(tx.now.UnixMilli()).String(), n.userID, n.kind, task, n.message, string(details), micros(tx.now))
		counts[n.kind]++
	}
	if tx.db.dialect.chainsWrites() {
		return tx.notifyChained(ctx, args, len(notes), counts)
	}
	// One statement for the batch; rows take their seq in the order given.
	seqs := make([]any, 0, len(notes))
	err = tx.queryRows(ctx, notificationsInsert, notificationsRow, len(notes), " RETURNING seq", 0, func(rows *sql.Rows) error {
		var seq int64
		err := rows.Scan(&seq)
		seqs = append(seqs, seq)
		return err
	}, args...)
	if err != nil {
		return err
	}
	// Named by their seqs, not as "after the newest before": a planner
	// without fresh statistics of notifications (PostgreSQL, until it
	// analyzes a growing table) guessed a third of the table for the range
	// and joined it to every task by a hash of the whole tasks table.
	return tx.notified(ctx, notesIn(seqs), counts)
}

// notifyChained writes the n notifications of args and their emails as
// one statement where writes chain (PostgreSQL), with the NOTIFYs of the
// streams and (when it wrote an email) of the outbox: one round trip
// instead of four. The emails are made from the statement's own rows
// (RETURNING), which the notifications table does not show it.
func (tx *Tx) notifyChained(ctx context.Context, args []any, n int, counts map[string]int) error {
	q := "WITH nn AS (" + rowsQuery(notificationsInsert, notificationsRow, n,
		" RETURNING seq, user_id, kind, task_id, message, remind_lead") + ")"
	mailed := "0"
	if tx.db.Email {
		q += ",\n\te AS (" + emailNotificationsSQL("nn", "TRUE") + " RETURNING 1)"
		mailed = notifyIfAny(outboxChannel, "e")
		args = append(args, tx.emailNotificationsArgs()...)
	}
	// The streams' NOTIFY: nn has rows.
	q += "\n\tSELECT " + mailed + " FROM (SELECT pg_notify('" + notificationsChannel + "', '')) s"
	var delivered int64
	if err := tx.queryRow(ctx, q, args...).Scan(&delivered); err != nil {
		return err
	}
	tx.sentNotify(notificationsChannel)
	tx.wroteDeliveries(delivered > 0)
	tx.afterNotified(counts)
	return nil
}

// The insert of notes: rows of notify's arguments.
const (
	notificationsInsert = `INSERT INTO notifications (id, user_id, kind, task_id, message, details, created_at) VALUES `
	notificationsRow    = "(?, ?, ?, ?, ?, ?, ?)"
)

// notes names the notifications whose emails notified writes: a condition
// on the notifications n and its arguments.
type notes struct {
	where string
	args  []any
}

// notesIn is the notifications of the seqs given.
func notesIn(seqs []any) notes {
	seqs = padded(seqs)
	return notes{"n.seq IN (" + marks(len(seqs)) + ")", seqs}
}

// notesAfter is every notification after seq before (the sweep's).
func notesAfter(before int64) notes { return notes{"n.seq > ?", []any{before}} }

// lockNotifications takes the lock that keeps notifications in commit
// order and returns the newest seq before this transaction's: every
// notification after it is this transaction's own.
func (tx *Tx) lockNotifications(ctx context.Context) (int64, error) {
	if err := tx.db.dialect.lock(ctx, tx, lockNotifications); err != nil {
		return 0, err
	}
	return lastNotificationSeq(ctx, tx)
}

// notified finishes what notify and the sweep began: the emails of the
// notifications which, the wake-ups of streams and workers
// everywhere, and the counts for metrics once committed.
func (tx *Tx) notified(ctx context.Context, which notes, counts map[string]int) error {
	total := 0
	for _, n := range counts {
		total += n
	}
	if total == 0 {
		return nil
	}
	if err := tx.emailNotifications(ctx, which); err != nil {
		return err
	}
	if err := tx.notifyOnce(ctx, notificationsChannel); err != nil {
		return err
	}
	tx.afterNotified(counts)
	return nil
}

// afterNotified has the commit of notifications wake the streams and
// workers of this process and count them for metrics.
func (tx *Tx) afterNotified(counts map[string]int) {
	db := tx.db
	tx.committed = append(tx.committed, func() {
		signal(db.signals.notifications)
		if db.OnNotifications != nil {
			for kind, n := range counts {
				db.OnNotifications(kind, n)
			}
		}
	})
}

// notifyCreated notifies the assignees of the tasks a batch of creations
// made for them by someone else.
func (tx *Tx) notifyCreated(ctx context.Context, reqs []*createReq) error {
	var notes []note
	for _, r := range reqs {
		if r.err == nil && !isActor(r.actor, r.task.AssignedTo) {
			notes = append(notes, assignedNote(r.actor, r.task))
		}
	}
	return tx.notify(ctx, notes)
}

func assignedNote(actor *tasktrack.User, t *tasktrack.Task) note {
	by := actorName(actor)
	return note{userID: t.AssignedTo, kind: tasktrack.NotifyTaskAssigned, taskID: t.ID,
		message: tasktrack.AssignedMessage(t.Title, by), details: byDetails(by)}
}

// notifyChanged notifies the person concerned by an update of a task by
// someone else: a new assignee that they have it, the assignee that its
// title, description or deadline changed.
func (tx *Tx) notifyChanged(ctx context.Context, actor *tasktrack.User, old, t *tasktrack.Task) error {
	if isActor(actor, t.AssignedTo) {
		return nil
	}
	if t.AssignedTo != old.AssignedTo {
		return tx.notify(ctx, []note{assignedNote(actor, t)})
	}
	var fields []string
	if t.Title != old.Title {
		fields = append(fields, "title")
	}
	if t.Description != old.Description {
		fields = append(fields, "description")
	}
	if !t.Deadline.Equal(old.Deadline) {
		fields = append(fields, "deadline")
	}
	if len(fields) == 0 {
		return nil
	}
	by := actorName(actor)
	details := byDetails(by)
	details["changed"] = fields
	return tx.notify(ctx, []note{{userID: t.AssignedTo, kind: tasktrack.NotifyTaskChanged, taskID: t.ID,
		message: tasktrack.ChangedMessage(t.Title, by, fields), details: details}})
}

// notifyReactivated tells a person that someone reactivated them.
func (tx *Tx) notifyReactivated(ctx context.Context, actor *tasktrack.User, u *tasktrack.User) error {
	if isActor(actor, u.ID) {
		return nil
	}
	by := actorName(actor)
	return tx.notify(ctx, []note{{userID: u.ID, kind: tasktrack.NotifyReactivated,
		message: tasktrack.ReactivatedMessage(by), details: byDetails(by)}})
}

// isActor reports whether the person id is the one acting: nobody is
// notified of their own actions. The system (nil) is nobody.
func isActor(actor *tasktrack.User, id int64) bool { return actor != nil && actor.ID == id }

func actorName(actor *tasktrack.User) string {
	if actor == nil {
		return ""
	}
	return actor.Username
}

func byDetails(by string) map[string]any {
	if by == "" {
		return map[string]any{}
	}
	return map[string]any{"by": by}
}

// forgetUser deletes what belongs to a user being deleted: their inbox,
// preferences and warnings.
func (tx *Tx) forgetUser(ctx context.Context, id int64) error {
	for _, table := range []string{"notifications", "user_preferences", "at_risk_warnings", "digests"} {
		if _, err := tx.exec(ctx, "DELETE FROM "+table+" WHERE user_id = ?", id); err != nil {
			return err
		}
	}
	return nil
}

// ---- the inbox ----

// The notification columns, with the task (if any) as it is now.
const notificationColumns = `n.seq, n.id, n.user_id, n.kind, n.message, n.details, n.created_at, n.read_at, ` + taskColumns

const notificationFrom = ` FROM notifications n LEFT JOIN tasks t ON t.id = n.task_id LEFT JOIN users a ON a.id = t.assigned_to`

// scanNotification reads a row of notificationColumns; the task is left
// out unless actor may see it (a task reassigned since is no longer a
// user's to read).
func scanNotification(s scanner, actor *tasktrack.User) (*tasktrack.Notification, error) {
	var (
		n       tasktrack.Notification
		details string
		created int64
		readAt  sql.NullInt64
		task    nullTask
	)
	dest := append([]any{&n.Seq, &n.ID, &n.UserID, &n.Kind, &n.Message, &details, &created, &readAt}, task.dest()...)
	if err := s.Scan(dest...); err != nil {
		return nil, err
	}
	n.Details, n.CreatedAt, n.ReadAt = json.RawMessage(details), fromMicros(created), timePtr(readAt)
	if t := task.task(); t != nil && tasktrack.CanSeeTask(actor, t) {
		n.Task = t
	}
	return &n, nil
}

// nullTask scans the taskColumns of an outer join.
type nullTask struct {
	id, title, desc, status, assignee   sql.NullString
	deadline, assignedTo, createdBy     sql.NullInt64
	created, updated, completed, missed sql.NullInt64
}

func (n *nullTask) dest() []any {
	return []any{&n.id, &n.title, &n.desc, &n.deadline, &n.status, &n.assignedTo, &n.assignee,
		&n.createdBy, &n.created, &n.updated, &n.completed, &n.missed}
}

func (n *nullTask) task() *tasktrack.Task {
	if !n.id.Valid {
		return nil
	}
	return &tasktrack.Task{
		ID: n.id.String, Title: n.title.String, Description: n.desc.String, Deadline: fromMicros(n.deadline.Int64),
		Status: tasktrack.Status(n.status.String), AssignedTo: n.assignedTo.Int64, AssignedToUsername: n.assignee.String,
		CreatedBy: int64Ptr(n.createdBy), CreatedAt: fromMicros(n.created.Int64), UpdatedAt: fromMicros(n.updated.Int64),
		CompletedAt: timePtr(n.completed), MissedAt: timePtr(n.missed),
	}
}

func (db *DB) scanNotifications(rows *sql.Rows, actor *tasktrack.User) ([]*tasktrack.Notification, error) {
	defer rows.Close()
	out := []*tasktrack.Notification{}
	for rows.Next() {
		n, err := scanNotification(rows, actor)
		if err != nil {
			return nil, db.mapErr(err)
		}
		out = append(out, n)
	}
	return out, db.mapErr(rows.Err())
}

// inboxOwner returns the acting user, who may read their own inbox.
func inboxOwner(ctx context.Context) (*tasktrack.User, error) {
	actor := tasktrack.ActorFromContext(ctx)
	if actor == nil {
		return nil, tasktrack.ErrNotAuthenticated
	}
	return actor, tasktrack.Authorize(actor, tasktrack.CanUseInbox)
}

// findNotification is the notifications' one finder: notification id of
// the actor's inbox (anyone else's is absent), through q, the reader pool
// or a transaction.
func findNotification(ctx context.Context, q querier, actor *tasktrack.User, id string) (*tasktrack.Notification, error) {
	if !tasktrack.ValidID(id) {
		return nil, tasktrack.ErrNotFound
	}
	n, err := scanNotification(q.queryRow(ctx, "SELECT "+notificationColumns+notificationFrom+" WHERE n.id = ? AND n.user_id = ?",
		strings.ToLower(id), actor.ID), actor)
	if err == sql.ErrNoRows {
		return nil, tasktrack.ErrNotFound
	}
	return n, err
}

// FindNotifications lists the actor's notifications, newest first.
func (s *NotificationService) FindNotifications(ctx context.Context, f tasktrack.NotificationFilter) (_ []*tasktrack.Notification, _ int, _ int, err error) {
	defer wrap(&err, "sqlstore.FindNotifications")
	actor, err := inboxOwner(ctx)
	if err != nil {
		return nil, 0, 0, err
	}
	var w where
	w.add("n.user_id = ?", actor.ID)
	if f.Unread != nil {
		if *f.Unread {
			w.add("n.read_at IS NULL")
		} else {
			w.add("n.read_at IS NOT NULL")
		}
	}
	if f.Kind != "" {
		w.add("n.kind = ?", f.Kind)
	}
	var total, unread int
	if err := s.db.queryRow(ctx, "SELECT count(*) FROM notifications n"+w.String(), w.args...).Scan(&total); err != nil {
		return nil, 0, 0, s.db.mapErr(err)
	}
	if err := s.db.queryRow(ctx, "SELECT count(*) FROM notifications WHERE user_id = ? AND read_at IS NULL", actor.ID).Scan(&unread); err != nil {
		return nil, 0, 0, s.db.mapErr(err)
	}
	limit, offset := pageArgs(f.Page)
	if total == 0 || offset >= total {
		return []*tasktrack.Notification{}, total, unread, nil
	}
	rows, err := s.db.query(ctx, "SELECT "+notificationColumns+notificationFrom+w.String()+" ORDER BY n.seq DESC LIMIT ? OFFSET ?",
		append(w.args, limit, offset)...)
	if err != nil {
		return nil, 0, 0, err
	}
	out, err := s.db.scanNotifications(rows, actor)
	return out, total, unread, err
}

// ReadNotification marks one of the actor's notifications read; reading
// it again keeps the first time. Anyone else's is absent.
func (s *NotificationService) ReadNotification(ctx context.Context, id string) (_ *tasktrack.Notification, err error) {
	defer wrap(&err, "sqlstore.ReadNotification(%s)", id)
	actor, err := inboxOwner(ctx)
	if err != nil {
		return nil, err
	}
	if !tasktrack.ValidID(id) {
		return nil, tasktrack.ErrNotFound
	}
	id = strings.ToLower(id)
	var n *tasktrack.Notification
	err = s.db.update(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, "UPDATE notifications SET read_at = ? WHERE id = ? AND user_id = ? AND read_at IS NULL",
			micros(tx.now), id, actor.ID); err != nil {
			return err
		}
		var err error
		n, err = findNotification(ctx, tx, actor, id)
		return err
	})
	return n, err
}

// ReadAllNotifications marks all of the actor's unread notifications read.
func (s *NotificationService) ReadAllNotifications(ctx context.Context) (_ int, err error) {
	defer wrap(&err, "sqlstore.ReadAllNotifications")
	actor, err := inboxOwner(ctx)
	if err != nil {
		return 0, err
	}
	var n int64
	err = s.db.update(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, "UPDATE notifications SET read_at = ? WHERE user_id = ? AND read_at IS NULL", micros(tx.now), actor.ID)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// NotificationSeq returns the commit position of one of the actor's
// notifications.
func (s *NotificationService) NotificationSeq(ctx context.Context, id string) (_ int64, err error) {
	defer wrap(&err, "sqlstore.NotificationSeq(%s)", id)
	actor, err := inboxOwner(ctx)
	if err != nil {
		return 0, err
	}
	n, err := findNotification(ctx, s.db, actor, id)
	if err != nil {
		return 0, s.db.mapErr(err)
	}
	return n.Seq, nil
}

// NotificationsAfter returns the actor's notifications committed after
// seq, oldest first; seq order is commit order (see lockNotifications).
func (s *NotificationService) NotificationsAfter(ctx context.Context, seq int64, limit int) (_ []*tasktrack.Notification, err error) {
	defer wrap(&err, "sqlstore.NotificationsAfter")
	actor, err := inboxOwner(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.query(ctx, "SELECT "+notificationColumns+notificationFrom+" WHERE n.user_id = ? AND n.seq > ? ORDER BY n.seq LIMIT ?",
		actor.ID, seq, limit)
	if err != nil {
		return nil, err
	}
	return s.db.scanNotifications(rows, actor)
}

// LastNotificationSeq returns the newest notification's position.
func (s *NotificationService) LastNotificationSeq(ctx context.Context) (_ int64, err error) {
	defer wrap(&err, "sqlstore.LastNotificationSeq")
	seq, err := lastNotificationSeq(ctx, s.db)
	return seq, s.db.mapErr(err)
}

// lastNotificationSeq reads the newest notification's position through q:
// the reader pool, or a transaction holding lockNotifications.
func lastNotificationSeq(ctx context.Context, q querier) (int64, error) {
	var seq sql.NullInt64
	err := q.queryRow(ctx, "SELECT max(seq) FROM notifications").Scan(&seq)
	return seq.Int64, err
}
