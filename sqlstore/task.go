package sqlstore

import (
	"context"
	"database/sql"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"tasktrack"
)

// TaskService is the tasks: finding, creating (in groups, see
// createQueue), changing and deleting them.
type TaskService struct{ db *DB }

var _ tasktrack.TaskService = (*TaskService)(nil)

const taskColumns = `t.id, t.title, t.description, t.deadline, t.status, t.assigned_to, a.username,
	t.created_by, t.created_at, t.updated_at, t.completed_at, t.missed_at`

const taskFrom = " FROM tasks t JOIN users a ON a.id = t.assigned_to"

// ownTaskColumns are taskColumns for a list of the caller's own tasks, whose
// assignee's name is the caller's, bound as the first parameter.
var ownTaskColumns = strings.Replace(taskColumns, "a.username", "CAST(? AS TEXT)", 1)

// taskRow is a task with what its row is scanned into and what its
// pointers point at, so that a task read is one allocation, not one per
// column passed to Scan (a page of 20 was 140 of them).
type taskRow struct {
	t                            tasktrack.Task
	deadline, created, updated   int64
	createdBy, completed, missed sql.NullInt64
	status                       string
	createdByV                   int64
	completedV, missedV          time.Time
}

func scanTask(s scanner) (*tasktrack.Task, error) {
	r := &taskRow{}
	t := &r.t
	err := s.Scan(&t.ID, &t.Title, &t.Description, &r.deadline, &r.status, &t.AssignedTo, &t.AssignedToUsername,
		&r.createdBy, &r.created, &r.updated, &r.completed, &r.missed)
	if err != nil {
		return nil, err
	}
	t.Status = tasktrack.Status(r.status)
	t.Deadline, t.CreatedAt, t.UpdatedAt = fromMicros(r.deadline), fromMicros(r.created), fromMicros(r.updated)
	if r.createdBy.Valid {
		r.createdByV = r.createdBy.Int64
		t.CreatedBy = &r.createdByV
	}
	if r.completed.Valid {
		r.completedV = fromMicros(r.completed.Int64)
		t.CompletedAt = &r.completedV
	}
	if r.missed.Valid {
		r.missedV = fromMicros(r.missed.Int64)
		t.MissedAt = &r.missedV
	}
	return t, nil
}

// findTask is the tasks' one finder: task id through q, the reader pool
// or a transaction, which locks the task (not its assignee) to change it.
// An id that is not one is absent.
// findTaskConfirming is findTask that, when actor is claimed, also
// confirms the actor (claimGuard) in the same statement, and answers
// ErrActorChanged when the stored user no longer matches.
func findTaskConfirming(ctx context.Context, q querier, id string, actor *tasktrack.User, claimed bool) (*tasktrack.Task, error) {
	if !tasktrack.ValidID(id) {
		return nil, tasktrack.ErrNotFound
	}
	cols, args, confirmed := taskColumns, []any{}, true
	var row scanner
	if claimed {
		guard, gargs := claimGuard(actor)
		cols, args = taskColumns+", "+guard, gargs
	}
	sel := "SELECT " + cols + taskFrom + " WHERE t.id = ?"
	if q.forUpdate() != "" {
		sel += " FOR UPDATE OF t"
	}
	row = q.queryRow(ctx, sel, append(args, strings.ToLower(id))...)
	if claimed {
		row = confirmingRow{row, &confirmed}
	}
	t, err := scanTask(row)
	switch {
	case err == sql.ErrNoRows:
		return nil, tasktrack.ErrNotFound
	case err != nil:
		return nil, err
	case !confirmed:
		return nil, tasktrack.ErrActorChanged
	}
	return t, nil
}

// confirmingRow scans a row whose last column is a claimed actor's
// guard (claimGuard) into confirmed.
type confirmingRow struct {
	row       scanner
	confirmed *bool
}

func (r confirmingRow) Scan(dest ...any) error {
	return r.row.Scan(append(dest, r.confirmed)...)
}

func findTask(ctx context.Context, q querier, id string) (*tasktrack.Task, error) {
	return findTaskConfirming(ctx, q, id, nil, false)
}

// FindTaskByID returns a task the caller may see.
func (s *TaskService) FindTaskByID(ctx context.Context, id string) (_ *tasktrack.Task, err error) {
	defer wrap(&err, "sqlstore.FindTaskByID(%s)", id)
	t, err := findTask(ctx, s.db, id)
	if err != nil {
		return nil, s.db.mapErr(err)
	}
	if !tasktrack.CanSeeTask(tasktrack.ActorFromContext(ctx), t) {
		return nil, tasktrack.ErrNotFound
	}
	return t, nil
}

var taskOrderBy = map[string]string{
	"deadline":    "t.deadline, t.id",
	"-deadline":   "t.deadline DESC, t.id DESC",
	"created_at":  "t.created_at, t.id",
	"-created_at": "t.created_at DESC, t.id DESC",
	"title":       "t.title, t.id",
	"-title":      "t.title DESC, t.id DESC",
}

// taskList is the query of a task list: its conditions and order, and
// whether it may hold everyone's tasks.
type taskList struct {
	actor *tasktrack.User
	w     where
	order string
	all   bool
}

// newTaskList builds the query of the tasks the actor may see through
// filter f: all of them for managers and admins, their own for users.
func newTaskList(actor *tasktrack.User, f tasktrack.TaskFilter) (*taskList, error) {
	if f.MissedOnly {
		if err := tasktrack.Authorize(actor, tasktrack.CanListMissed); err != nil {
			return nil, err
		}
	}
	l := &taskList{actor: actor, all: tasktrack.Allowed(actor, tasktrack.CanListAllTasks)}
	w := &l.w
	if !l.all {
		w.add("t.assigned_to = ?", actor.ID)
	}
	if f.MissedOnly {
		w.add("t.status = 'missed'")
	}
	if len(f.Statuses) > 0 {
		ph := marks(len(f.Statuses))
		for _, s := range f.Statuses {
			w.args = append(w.args, string(s))
		}
		w.conds = append(w.conds, "t.status IN ("+ph+")")
	}
	if f.AssignedTo != nil {
		w.add("t.assigned_to = ?", *f.AssignedTo)
	}
	if f.DeadlineBefore != nil {
		w.add("t.deadline <= ?", micros(*f.DeadlineBefore))
	}
	if f.DeadlineAfter != nil {
		w.add("t.deadline >= ?", micros(*f.DeadlineAfter))
	}
	if f.Search != "" {
		// The assignee's username matches too; a user's own tasks all
		// carry the user's own name, so no join is needed for them.
		p := likePattern(f.Search)
		who, name := "lower(a.username)", []any{}
		if !l.all {
			who, name = "lower(CAST(? AS TEXT))", []any{actor.Username}
		}
		w.add(`(lower(t.title) LIKE ? ESCAPE '\' OR lower(t.description) LIKE ? ESCAPE '\' OR `+who+` LIKE ? ESCAPE '\')`,
			append(append([]any{p, p}, name...), p)...)
	}
	l.order = taskOrderBy[f.Ordering]
	if l.order == "" {
		l.order = taskOrderBy["deadline"]
	}
	if f.MissedOnly && f.Ordering == "" {
		l.order = "t.missed_at DESC, t.id DESC"
	}
	return l, nil
}

// selectSQL is the list's query, in order, without a page.
func (l *taskList) selectSQL() (string, []any) {
	if !l.all {
		// A user's own tasks all carry the user's own name: no join.
		return "SELECT " + ownTaskColumns + " FROM tasks t" + l.w.String() + " ORDER BY " + l.order,
			append([]any{l.actor.Username}, l.w.args...)
	}
	return "SELECT " + taskColumns + taskFrom + l.w.String() + " ORDER BY " + l.order, slices.Clip(l.w.args)
}

// FindTasks lists the tasks the caller may see: all of them for managers
// and admins, their own for users.
func (s *TaskService) FindTasks(ctx context.Context, f tasktrack.TaskFilter) (_ []*tasktrack.Task, _ int, err error) {
	defer wrap(&err, "sqlstore.FindTasks")
	l, err := newTaskList(tasktrack.ActorFromContext(ctx), f)
	if err != nil {
		return nil, 0, err
	}
	if !l.all && f.Search == "" {
		// A person's own tasks, by an index of theirs: a short read.
		ctx = s.db.dialect.shortRead(ctx)
	}
	cq, cargs := countSQL(s.db.dialect, &l.w, f, l.all)
	q, args := l.selectSQL()
	// A claimed actor is confirmed by the statement that counts, in its
	// snapshot: the count's row carries the guard's verdict.
	total, confirmed, claimed := 0, true, tasktrack.ActorClaimed(ctx)
	var guard string
	var gargs []any
	if claimed {
		guard, gargs = claimGuard(l.actor)
	}
	counted := func() error { // the count alone, and the verdict
		if !claimed {
			return s.db.queryRow(ctx, cq, cargs...).Scan(&total)
		}
		return s.db.queryRow(ctx, "SELECT ("+cq+"), "+guard, append(slices.Clip(cargs), gargs...)...).Scan(&total, &confirmed)
	}
	limit, offset := pageArgs(f.Page)
	tasks := []*tasktrack.Task{}
	var withCount *countedRow // the page's rows carry the count (and the verdict)
	if s.db.dialect.roundTrips() {
		// The count rides on the page as a first column, an uncorrelated
		// subquery run once: one round trip rather than two, and the
		// count and the page read from one snapshot.
		head, hargs := "SELECT ("+cq+"), ", slices.Clip(cargs)
		var verdict *bool
		if claimed {
			head, hargs, verdict = "SELECT ("+cq+"), "+guard+", ", append(hargs, gargs...), &confirmed
		}
		q, args = head+strings.TrimPrefix(q, "SELECT "), append(hargs, args...)
		withCount = &countedRow{total: &total, confirmed: verdict}
	} else {
		// In process, two statements cost less than a count column on
		// every row of the page.
		if err := counted(); err != nil {
			return nil, 0, s.db.mapErr(err)
		}
		if !confirmed {
			return nil, 0, tasktrack.ErrActorChanged
		}
		if total == 0 || offset >= total {
			return tasks, total, nil
		}
	}
	err = s.db.dialect.each(ctx, s.db, q+" LIMIT ? OFFSET ?", append(args, limit, offset), func(r scanner) error {
		if withCount != nil {
			withCount.rows, r = r, withCount
		}
		t, err := scanTask(r)
		if err == nil {
			tasks = append(tasks, t)
		}
		return err
	})
	if err != nil {
		return nil, 0, s.db.mapErr(err)
	}
	if len(tasks) == 0 && s.db.dialect.roundTrips() && (offset > 0 || claimed) {
		// An empty page carries no count, nor the guard's verdict: ask
		// for them alone.
		err = counted()
	}
	if err == nil && !confirmed {
		return nil, 0, tasktrack.ErrActorChanged
	}
	return tasks, total, s.db.mapErr(err)
}

// countedRow scans a row of a list whose first column is the count of the
// whole list into total, and the rest into what its caller asks.
type countedRow struct {
	rows  scanner
	total *int
	// confirmed, when not nil, takes the second column: the verdict of a
	// claimed actor's guard.
	confirmed *bool
	dest      []any
}

func (r *countedRow) Scan(dest ...any) error {
	r.dest = append(r.dest[:0], r.total)
	if r.confirmed != nil {
		r.dest = append(r.dest, r.confirmed)
	}
	r.dest = append(r.dest, dest...)
	return r.rows.Scan(r.dest...)
}

// countSQL is the query that counts the tasks a list selects. A list of
// all tasks filtered by status alone (or not at all) reads the per-status
// counters where the engine keeps them, instead of counting a table that
// may hold millions.
func countSQL(d dialect, w *where, f tasktrack.TaskFilter, all bool) (string, []any) {
	byStatusOnly := all && f.AssignedTo == nil && f.DeadlineBefore == nil && f.DeadlineAfter == nil &&
		f.Search == "" && !(f.MissedOnly && len(f.Statuses) > 0)
	if d.keepsTaskCounts() && byStatusOnly {
		q := "SELECT COALESCE(sum(n), 0) FROM task_counts"
		var args []any
		statuses := f.Statuses
		if f.MissedOnly {
			statuses = []tasktrack.Status{tasktrack.StatusMissed}
		}
		if len(statuses) > 0 {
			q += " WHERE status IN (" + marks(len(statuses)) + ")"
			for _, st := range statuses {
				args = append(args, string(st))
			}
		}
		return q, args
	}
	from := " FROM tasks t"
	if all && f.Search != "" {
		from = taskFrom // the search reads the assignee's name
	}
	return "SELECT count(*)" + from + w.String(), slices.Clip(w.args)
}

// checkAssignee checks that id names an active user.
func (tx *Tx) checkAssignee(ctx context.Context, id int64) (string, error) {
	var a assignee
	err := tx.queryRow(ctx, "SELECT username, is_active FROM users WHERE id = ?", id).Scan(&a.username, &a.active)
	if err == sql.ErrNoRows {
		return "", assigneeError(id, a, false)
	}
	if err != nil {
		return "", err
	}
	return a.username, assigneeError(id, a, true)
}

// assigneeError answers a task's assignee that is absent (found false) or
// inactive as invalid.
func assigneeError(id int64, a assignee, found bool) error {
	switch {
	case !found:
		return tasktrack.Invalid("assigned_to", `Invalid pk "`+itoa(id)+`" - object does not exist.`)
	case !a.active:
		return tasktrack.Invalid("assigned_to", "This user is not active.")
	}
	return nil
}

// CreateTask creates a pending task. Creations that arrive together share
// one write transaction (see createQueue); each is answered only after the
// transaction holding it has committed.
func (s *TaskService) CreateTask(ctx context.Context, in tasktrack.TaskCreate) (_ *tasktrack.Task, err error) {
	defer wrap(&err, "sqlstore.CreateTask")
	actor := tasktrack.ActorFromContext(ctx)
	if err := tasktrack.Authorize(actor, tasktrack.CanCreateTask); err != nil {
		return nil, err
	}
	errs := tasktrack.FieldErrors{}
	in.Title = tasktrack.NormalizeTitle(errs, in.Title)
	tasktrack.ValidateDescription(errs, in.Description)
	tasktrack.ValidateDeadline(errs, in.Deadline, s.db.now())
	if err := errs.Err(); err != nil {
		return nil, err
	}
	r := &createReq{actor: actor, claimed: tasktrack.ActorClaimed(ctx), in: in}
	if err := s.db.creates.submit(s.db, ctx, r); err != nil {
		return nil, err
	}
	return r.task, nil
}

func (tx *Tx) saveTask(ctx context.Context, t *tasktrack.Task) error {
	_, err := tx.exec(ctx, `UPDATE tasks SET title = ?, description = ?, deadline = ?, status = ?, assigned_to = ?,
		updated_at = ?, completed_at = ?, missed_at = ? WHERE id = ?`,
		t.Title, t.Description, micros(t.Deadline), string(t.Status), t.AssignedTo,
		micros(t.UpdatedAt), nullMicros(t.CompletedAt), nullMicros(t.MissedAt), t.ID)
	return err
}

// UpdateTask changes a task's fields (admins and managers).
func (s *TaskService) UpdateTask(ctx context.Context, id string, in tasktrack.TaskUpdate) (_ *tasktrack.Task, err error) {
	defer wrap(&err, "sqlstore.UpdateTask(%s)", id)
	actor := tasktrack.ActorFromContext(ctx)
	if err := tasktrack.Authorize(actor, tasktrack.CanUpdateTask); err != nil {
		return nil, err
	}
	errs := tasktrack.FieldErrors{}
	if in.Title != nil {
		t := tasktrack.NormalizeTitle(errs, *in.Title)
		in.Title = &t
	}
	if in.Description != nil {
		tasktrack.ValidateDescription(errs, *in.Description)
	}
	if in.Status != nil {
		tasktrack.ValidateSettableStatus(errs, *in.Status)
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	var t *tasktrack.Task
	err = s.db.update(ctx, func(tx *Tx) error {
		old, err := findTask(ctx, tx, id)
		if err != nil {
			return err
		}
		nt := *old
		changed := map[string]any{}
		if in.Title != nil && *in.Title != old.Title {
			nt.Title, changed["title"] = *in.Title, *in.Title
		}
		if in.Description != nil && *in.Description != old.Description {
			nt.Description, changed["description"] = *in.Description, *in.Description
		}
		reopen := false
		if in.Deadline != nil {
			d := in.Deadline.UTC().Truncate(time.Microsecond)
			if !d.Equal(old.Deadline) {
				tasktrack.ValidateDeadline(errs, d, tx.now)
				nt.Deadline, changed["deadline"] = d, d
				reopen = old.Status == tasktrack.StatusMissed && d.After(tx.now)
			}
		}
		if in.AssignedTo != nil && *in.AssignedTo != old.AssignedTo {
			name, err := tx.checkAssignee(ctx, *in.AssignedTo)
			if err != nil {
				return err
			}
			nt.AssignedTo, nt.AssignedToUsername, changed["assigned_to"] = *in.AssignedTo, name, *in.AssignedTo
		}
		if err := errs.Err(); err != nil {
			return err
		}
		if old.Status == tasktrack.StatusMissed && !reopen && in.Status != nil {
			return tasktrack.ErrMissedStatus
		}
		if reopen {
			nt.SetStatus(tasktrack.StatusPending, tx.now)
		}
		if in.Status != nil && *in.Status != nt.Status {
			nt.SetStatus(*in.Status, tx.now)
		}
		if len(changed) == 0 && nt.Status == old.Status {
			t = old
			return nil
		}
		nt.UpdatedAt = tx.now
		if err := tx.saveTask(ctx, &nt); err != nil {
			return err
		}
		if len(changed) > 0 {
			if err := tx.audit(ctx, actor, tasktrack.ActionTaskUpdate, "task", nt.ID, changed); err != nil {
				return err
			}
		}
		if nt.Status != old.Status {
			action := tasktrack.ActionTaskStatus
			if reopen {
				action = tasktrack.ActionTaskReopen
			}
			if err := tx.audit(ctx, actor, action, "task", nt.ID, map[string]any{"from": old.Status, "to": nt.Status}); err != nil {
				return err
			}
		}
		t = &nt
		if err := tx.taskChangeEvents(ctx, old, &nt); err != nil {
			return err
		}
		return tx.notifyChanged(ctx, actor, old, &nt)
	})
	return t, err
}

// DeleteTask deletes a task (admins and managers).
func (s *TaskService) DeleteTask(ctx context.Context, id string) (err error) {
	defer wrap(&err, "sqlstore.DeleteTask(%s)", id)
	actor := tasktrack.ActorFromContext(ctx)
	if err := tasktrack.Authorize(actor, tasktrack.CanDeleteTask); err != nil {
		return err
	}
	return s.db.update(ctx, func(tx *Tx) error {
		t, err := findTask(ctx, tx, id)
		if err != nil {
			return err
		}
		if _, err := tx.exec(ctx, "DELETE FROM tasks WHERE id = ?", t.ID); err != nil {
			return err
		}
		if err := tx.taskEvent(ctx, tasktrack.EventTaskDeleted, t); err != nil {
			return err
		}
		return tx.audit(ctx, actor, tasktrack.ActionTaskDelete, "task", t.ID, map[string]any{"title": t.Title, "assigned_to": t.AssignedTo})
	})
}

// UpdateTaskStatus changes a task's status and nothing else.
func (s *TaskService) UpdateTaskStatus(ctx context.Context, id string, status tasktrack.Status) (_ *tasktrack.Task, err error) {
	defer wrap(&err, "sqlstore.UpdateTaskStatus(%s)", id)
	actor := tasktrack.ActorFromContext(ctx)
	if actor == nil {
		return nil, tasktrack.ErrNotAuthenticated
	}
	claimed := tasktrack.ActorClaimed(ctx)
	if s.db.dialect.groupsWrites() {
		r := &statusReq{actor: actor, claimed: claimed, id: id, status: status}
		if err := s.db.statuses.submit(s.db, ctx, r); err != nil {
			return nil, err
		}
		return r.task, nil
	}
	if s.db.dialect.chainsWrites() {
		return s.db.changeStatus(ctx, actor, claimed, id, status)
	}
	var t *tasktrack.Task
	err = s.db.update(ctx, func(tx *Tx) (err error) {
		t, err = tx.setStatus(ctx, actor, claimed, id, status)
		return err
	})
	return t, err
}

// statusChange reads task id through q and decides actor's change of its
// status at now: the task as it is (old) and as it is to be (nt; old
// itself when it already has that status). A claimed actor is confirmed
// by the statement that reads the task. Its errors come before anything
// is written.
func statusChange(ctx context.Context, q querier, actor *tasktrack.User, claimed bool, id string, status tasktrack.Status, now time.Time) (old, nt *tasktrack.Task, err error) {
	old, err = findTaskConfirming(ctx, q, id, actor, claimed)
	if err != nil {
		return nil, nil, err
	}
	if !tasktrack.CanSeeTask(actor, old) {
		return nil, nil, tasktrack.ErrNotFound
	}
	errs := tasktrack.FieldErrors{}
	tasktrack.ValidateSettableStatus(errs, status)
	if err := errs.Err(); err != nil {
		return nil, nil, err
	}
	if err := tasktrack.AuthorizeStatusChange(actor, old, !old.Deadline.After(now)); err != nil {
		return nil, nil, err
	}
	if status == old.Status {
		return old, old, nil
	}
	n := *old
	n.SetStatus(status, now)
	n.UpdatedAt = now
	return old, &n, nil
}

// setStatus changes a task's status in tx, where the task cannot change
// between its read and its write (the read locks it; SQLite has one
// writer). Its errors other than internal ones come before anything is
// written.
func (tx *Tx) setStatus(ctx context.Context, actor *tasktrack.User, claimed bool, id string, status tasktrack.Status) (*tasktrack.Task, error) {
	old, nt, err := statusChange(ctx, tx, actor, claimed, id, status, tx.now)
	if err != nil || nt == old {
		return nt, err
	}
	if tx.db.dialect.chainsWrites() {
		// The task is locked: the statement's guard holds.
		_, delivered, err := runStatusWrite(ctx, tx.queryRow, actor, old, nt, tx.now)
		tx.wroteDeliveries(delivered)
		return nt, err
	}
	if _, err := tx.exec(ctx, "UPDATE tasks SET status = ?, completed_at = ?, missed_at = ?, updated_at = ? WHERE id = ?",
		string(nt.Status), nullMicros(nt.CompletedAt), nullMicros(nt.MissedAt), micros(tx.now), nt.ID); err != nil {
		return nil, err
	}
	if err := tx.taskChangeEvents(ctx, old, nt); err != nil {
		return nil, err
	}
	return nt, tx.audit(ctx, actor, tasktrack.ActionTaskStatus, "task", nt.ID, statusAudit(old, nt))
}

func statusAudit(old, nt *tasktrack.Task) map[string]any {
	return map[string]any{"from": old.Status, "to": nt.Status}
}

// statusTries bounds the tries of changeStatus without the task's row
// lock.
const statusTries = 3

// keyLocks are locks by key, made as they are needed and dropped once
// nobody holds or waits for them.
type keyLocks struct {
	mu    sync.Mutex
	locks map[string]*keyLock
}

type keyLock struct {
	ch   chan struct{} // holds a value while the lock is held
	refs int           // its holder and waiters
}

// lock takes the lock of key, or gives up when ctx ends; unlock lets it
// go.
func (k *keyLocks) lock(ctx context.Context, key string) (unlock func(), err error) {
	k.mu.Lock()
	l := k.locks[key]
	if l == nil {
		if k.locks == nil {
			k.locks = map[string]*keyLock{}
		}
		l = &keyLock{ch: make(chan struct{}, 1)}
		k.locks[key] = l
	}
	l.refs++
	k.mu.Unlock()
	release := func() {
		k.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
	select {
	case l.ch <- struct{}{}:
		return func() { <-l.ch; release() }, nil
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
}

// changeStatus changes a task's status where writes chain (PostgreSQL):
// it reads the task without a lock, decides, and writes the change as one
// statement that commits by itself and applies only if the task is still
// as it was read (statusWrite). That is two round trips rather than
// BEGIN, a locking read, three writes and COMMIT, and the rows it changes
// (the task's, the assignee's tallies) stay locked only for the statement
// and its commit, not across round trips.
//
// Changes of one task in this process take turns (db.changing) from
// before their read, holding no connection while they wait, rather than
// read alike and all but one find their write refused. One that loses a
// race all the same (to another process, or another use case) reads and
// decides again, as if it had come after; after statusTries it reads
// under the task's row lock (setStatus), so that it cannot lose forever.
func (db *DB) changeStatus(ctx context.Context, actor *tasktrack.User, claimed bool, id string, status tasktrack.Status) (*tasktrack.Task, error) {
	unlock, err := db.changing.lock(ctx, strings.ToLower(id))
	if err != nil {
		return nil, db.mapErr(err)
	}
	defer unlock()
	for range statusTries {
		now := db.now()
		old, nt, err := statusChange(ctx, db, actor, claimed, id, status, now)
		if err != nil || nt == old {
			return nt, db.mapErr(err)
		}
		changed, delivered, err := runStatusWrite(ctx, func(ctx context.Context, q string, args ...any) *sql.Row {
			return db.writer.QueryRowContext(ctx, db.dialect.rebind(q), args...)
		}, actor, old, nt, now)
		if err != nil {
			return nil, db.mapErr(err)
		}
		if delivered {
			db.signalOutbox()
		}
		if changed {
			return nt, nil
		}
	}
	var t *tasktrack.Task
	err = db.update(ctx, func(tx *Tx) (err error) {
		t, err = tx.setStatus(ctx, actor, claimed, id, status)
		return err
	})
	return t, err
}

// statusWrite is the one statement, where writes chain (see chainsWrites),
// of the change of a task's status from old to nt at now, and its
// arguments: the task's UPDATE, guarded by the task being still as old in
// every column, and what follows from it only if it happened (WITH clauses
// that select from it): its webhook events, captured from the task as
// updated (taskEventCapture), and its audit entry. Its one row
// (scanStatusWrite) says whether the task changed, and whether the events
// had endpoints, whose workers it then notifies as the outbox's writes do
// (Tx.delivered).
func statusWrite(ctx context.Context, actor *tasktrack.User, old, nt *tasktrack.Task, now time.Time) (string, []any, error) {
	args := make([]any, 0, 32)
	args = append(args, string(nt.Status), nullMicros(nt.CompletedAt), nullMicros(nt.MissedAt), micros(now),
		old.ID, old.Title, old.Description, micros(old.Deadline), string(old.Status), old.AssignedTo,
		nullInt(old.CreatedBy), micros(old.CreatedAt), micros(old.UpdatedAt), nullMicros(old.CompletedAt), nullMicros(old.MissedAt))
	events := changeEvents(old, nt)
	for _, event := range events {
		args = append(args, taskEventCaptureArgs(event, now, nt)...)
	}
	args, err := auditArgs(ctx, args, now, actor, tasktrack.ActionTaskStatus, "task", nt.ID, statusAudit(old, nt))
	if err != nil {
		return "", nil, err
	}
	return statusWriteSQL(events), args, nil
}

// statusWriteSQLs are the texts of statusWrite by their events, joined by
// spaces.
var statusWriteSQLs sync.Map

func statusWriteSQL(events []string) string {
	key := strings.Join(events, " ")
	if q, ok := statusWriteSQLs.Load(key); ok {
		return q.(string)
	}
	var b strings.Builder
	b.WriteString(`WITH t AS (UPDATE tasks SET status = ?, completed_at = ?, missed_at = ?, updated_at = ?
		WHERE id = ? AND title = ? AND description = ? AND deadline = ? AND status = ? AND assigned_to = ?
		AND created_by IS NOT DISTINCT FROM ? AND created_at = ? AND updated_at = ?
		AND completed_at IS NOT DISTINCT FROM ? AND missed_at IS NOT DISTINCT FROM ?
		RETURNING id, title, description, deadline, status, assigned_to, created_by, created_at, updated_at, completed_at, missed_at)`)
	for i, event := range events {
		b.WriteString(",\n\te" + strconv.Itoa(i) + " AS (" + taskEventCapture(event) + " RETURNING 1)")
	}
	b.WriteString(",\n\ta AS (" + auditInto + " SELECT " + marks(auditColumns) + " FROM t)\n\tSELECT (SELECT count(*) FROM t), ")
	if len(events) == 0 {
		b.WriteString("0")
	} else {
		sel := make([]string, len(events))
		for i := range events {
			sel[i] = "SELECT 1 FROM e" + strconv.Itoa(i)
		}
		b.WriteString(notifyIfAny(outboxChannel, "("+strings.Join(sel, " UNION ALL ")+") e"))
	}
	q, _ := statusWriteSQLs.LoadOrStore(key, b.String())
	return q.(string)
}

// runStatusWrite runs the statusWrite of a change from old to nt at now
// through queryRow, and reads its row: whether the task changed, and
// whether deliveries were written (delivered is false on an error).
func runStatusWrite(ctx context.Context, queryRow func(context.Context, string, ...any) *sql.Row,
	actor *tasktrack.User, old, nt *tasktrack.Task, now time.Time) (changed, delivered bool, err error) {
	q, args, err := statusWrite(ctx, actor, old, nt, now)
	if err != nil {
		return false, false, err
	}
	var c, d int64
	if err := queryRow(ctx, q, args...).Scan(&c, &d); err != nil {
		return false, false, err
	}
	return c > 0, d > 0, nil
}
