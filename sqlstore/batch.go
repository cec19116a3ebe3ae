package sqlstore

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"tasktrack"
)

// groupCommit groups writes of one kind that arrive together into one
// write transaction: group commit. With one writer at a time, every write
// otherwise pays a whole commit for a handful of rows; sharing it costs the
// first one nothing and the others a wait they would have spent queueing
// for the writer anyway. Each write is answered only after the transaction
// holding it has committed, so the durability promise holds.
//
// There is no goroutine of its own: the first caller to find the queue idle
// leads, writes one batch, answers it, and hands the lead to the oldest
// caller still waiting, whose write is then in the next batch.
type groupCommit[R grouped] struct {
	mu      sync.Mutex
	pending []R
	leading bool
	// write writes a batch in tx. A member that is refused for its own
	// sake (not found, forbidden, invalid) gets that error as its own and
	// must have written nothing; an error returned fails the whole batch.
	write func(ctx context.Context, tx *Tx, batch []R) error
	// order, when set, is the order the batch is written in, so that
	// batches on two replicas take their locks in one order.
	order func(a, b R) int
}

// maxBatch bounds a batch, so that one transaction stays short.
const maxBatch = 64

// member is what every grouped write carries.
type member struct {
	ctx  context.Context // the caller's: its personal access token, for the audit
	err  error
	done chan struct{} // closed once the write is answered
	lead chan struct{} // closed when this caller is to lead the next batch
}

func (m *member) base() *member { return m }

type grouped interface{ base() *member }

// submit queues r, leads batches while it is its turn, and returns r's
// own error or its batch's once r is answered.
func (q *groupCommit[R]) submit(db *DB, ctx context.Context, r R) error {
	m := r.base()
	m.ctx, m.done, m.lead = ctx, make(chan struct{}), make(chan struct{})
	q.mu.Lock()
	q.pending = append(q.pending, r)
	lead := !q.leading
	q.leading = true
	q.mu.Unlock()
	if lead {
		q.runBatch(db)
	}
	leadCh := m.lead
	for {
		select {
		case <-m.done:
			return m.err
		case <-leadCh:
			leadCh = nil // led once; r is in that batch
			q.runBatch(db)
		}
	}
}

// runBatch writes the oldest pending writes in one transaction, answers
// them, and passes the lead on (or gives it up when nothing waits).
func (q *groupCommit[R]) runBatch(db *DB) {
	q.mu.Lock()
	n := min(len(q.pending), maxBatch)
	batch := q.pending[:n:n]
	q.pending = q.pending[n:]
	q.mu.Unlock()

	// The batch outlives any one caller's request: none of them may cancel
	// the others' writes. A bound on its time stops a batch waiting on a
	// server that stopped answering (PostgreSQL); SQLite's writer waits on
	// nothing but its busy timeout, and a context that cannot end spares
	// the driver a watcher per statement.
	ctx, cancel := context.WithoutCancel(batch[0].base().ctx), context.CancelFunc(func() {})
	if db.dialect.roundTrips() {
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
	}
	ordered := batch
	if q.order != nil {
		ordered = slices.Clone(batch)
		slices.SortStableFunc(ordered, q.order)
	}
	err := db.update(ctx, func(tx *Tx) error {
		for _, r := range ordered {
			r.base().err = nil
		}
		return q.write(ctx, tx, ordered)
	})
	cancel()
	for _, r := range batch {
		m := r.base()
		if err != nil && m.err == nil {
			// Rolled back with the batch; a member refused for its own
			// sake keeps its answer, as it wrote nothing anyway.
			m.err = err
		}
		close(m.done)
	}

	q.mu.Lock()
	if len(q.pending) > 0 {
		close(q.pending[0].base().lead)
	} else {
		q.leading = false
	}
	q.mu.Unlock()
}

// createReq is a task creation waiting for its batch.
type createReq struct {
	member
	actor *tasktrack.User
	// claimed: actor is claimed, to be confirmed as the assignees are
	// read.
	claimed bool
	in      tasktrack.TaskCreate
	task    *tasktrack.Task
}

// newCreateQueue groups task creations. In assignee order, every batch
// takes the locks of the per-user tally rows its creations change
// (0003_stats.sql) in one order, so that batches on two replicas never
// deadlock on them.
func newCreateQueue() *groupCommit[*createReq] {
	return &groupCommit[*createReq]{
		write: func(ctx context.Context, tx *Tx, batch []*createReq) error {
			if err := tx.insertTasks(ctx, batch); err != nil {
				return err
			}
			return tx.notifyCreated(ctx, batch)
		},
		order: func(a, b *createReq) int { return cmp.Compare(a.in.AssignedTo, b.in.AssignedTo) },
	}
}

// statusReq is a status change waiting for its batch.
type statusReq struct {
	member
	actor *tasktrack.User
	// claimed: actor is claimed, to be confirmed as the task is read.
	claimed bool
	id      string
	status  tasktrack.Status
	task    *tasktrack.Task
}

// newStatusQueue groups status changes (on SQLite; see UpdateTaskStatus).
func newStatusQueue() *groupCommit[*statusReq] {
	return &groupCommit[*statusReq]{
		write: func(ctx context.Context, tx *Tx, batch []*statusReq) error {
			for _, r := range batch {
				// Each change's audit entry names the personal access token
				// of its own request, not of the batch's first.
				rctx := tasktrack.NewContextWithToken(ctx, tasktrack.TokenFromContext(r.ctx))
				r.task, r.err = tx.setStatus(rctx, r.actor, r.claimed, r.id, r.status)
				if r.err != nil && tasktrack.ErrorKind(r.err) == tasktrack.KindInternal {
					return r.err
				}
			}
			return nil
		},
	}
}

// insertTasks writes the tasks of a batch of creations with their audit
// entries and webhook events: one read of the assignees and one insert each
// into tasks, the audit log and the outbox for the whole batch, rather than
// four statements a creation. A creation whose assignee is absent or
// inactive is answered invalid (r.err) and writes nothing; the others get
// their task (r.task).
func (tx *Tx) insertTasks(ctx context.Context, reqs []*createReq) error {
	assignees, err := tx.findAssignees(ctx, reqs)
	if err != nil {
		return err
	}
	made := make([]*createReq, 0, len(reqs))
	for _, r := range reqs {
		if r.claimed && !assignees[r.actor.ID].confirms(r.actor) {
			r.err = tasktrack.ErrActorChanged
			continue
		}
		a, ok := assignees[r.in.AssignedTo]
		if r.err = assigneeError(r.in.AssignedTo, a, ok); r.err == nil {
			r.task = &tasktrack.Task{
				ID: uuidV7At(tx.now.UnixMilli()).String(), Title: r.in.Title, Description: r.in.Description,
				Deadline: r.in.Deadline.UTC().Truncate(time.Microsecond), Status: tasktrack.StatusPending,
				AssignedTo: r.in.AssignedTo, AssignedToUsername: a.username, CreatedBy: actorID(r.actor),
				CreatedAt: tx.now, UpdatedAt: tx.now,
			}
			made = append(made, r)
		}
	}
	if len(made) == 0 {
		return nil
	}
	n := len(made)
	taskArgs := make([]any, 0, 9*n)
	for _, r := range made {
		t := r.task
		taskArgs = append(taskArgs, t.ID, t.Title, t.Description, micros(t.Deadline), string(t.Status), t.AssignedTo,
			nullInt(t.CreatedBy), micros(tx.now), micros(tx.now))
	}
	var auditRows []any
	for _, r := range made {
		t := r.task
		// Each entry names the personal access token of its own request,
		// not of the batch's first.
		if auditRows, err = auditArgs(r.ctx, auditRows, tx.now, r.actor, tasktrack.ActionTaskCreate, "task", t.ID, map[string]any{
			"title": t.Title, "assigned_to": t.AssignedTo, "deadline": t.Deadline}); err != nil {
			return err
		}
	}
	// The task.created events: every endpoint subscribed gets each
	// task's event as a delivery of its own.
	eventArgs := append(make([]any, 0, 3+n), tx.now.UnixMilli(), micros(tx.now), micros(tx.now))
	for _, r := range made {
		body, err := webhookBody(tasktrack.EventTaskCreated, tx.now, tasktrack.WebhookTaskData(r.task))
		if err != nil {
			return err
		}
		eventArgs = append(eventArgs, body)
	}
	if tx.db.dialect.chainsWrites() {
		return tx.insertTasksChained(ctx, n, taskArgs, auditRows, eventArgs)
	}
	if _, err := tx.execRows(ctx, tasksInsert, tasksRow, n, "", 0, taskArgs...); err != nil {
		return err
	}
	if _, err := tx.execRows(ctx, auditInsert, auditRow, n, "", 0, auditRows...); err != nil {
		return err
	}
	res, err := tx.execRows(ctx, eventsInsert, "(?)", n, eventsJoin, 3, eventArgs...)
	if err != nil {
		return err
	}
	return tx.delivered(ctx, res)
}

// The statements of a batch of creations: its tasks, their audit entries
// and their task.created events (rows of one column, the event's body,
// after three leading arguments).
const (
	tasksInsert = `INSERT INTO tasks (id, title, description, deadline, status, assigned_to, created_by, created_at, updated_at)
		VALUES `
	tasksRow     = "(?, ?, ?, ?, ?, ?, ?, ?, ?)"
	eventsInsert = `INSERT INTO deliveries (id, kind, target, payload, created_at, next_attempt_at)
		SELECT tt_uuid7(?), 'webhook', w.id, e.column1, ?, ?
		FROM (VALUES `
)

var eventsJoin = `) AS e JOIN webhooks w ON w.is_active AND ` + subscribed(tasktrack.EventTaskCreated)

// insertTasksChained writes the n tasks of a batch, their audit entries
// and their events as one statement where writes chain (PostgreSQL): one
// round trip instead of four, the last of them the NOTIFY of the outbox
// when an event was written.
func (tx *Tx) insertTasksChained(ctx context.Context, n int, taskArgs, auditRows, eventArgs []any) error {
	args := make([]any, 0, len(taskArgs)+len(auditRows)+len(eventArgs))
	args = append(append(append(args, taskArgs...), auditRows...), eventArgs...)
	var delivered int64
	q := "WITH t AS (" + rowsQuery(tasksInsert, tasksRow, n, "") + "),\n\ta AS (" + rowsQuery(auditInsert, auditRow, n, "") +
		"),\n\te AS (" + rowsQuery(eventsInsert, "(?)", n, eventsJoin+" RETURNING 1") + ")\n\tSELECT " + notifyIfAny(outboxChannel, "e")
	if err := tx.queryRow(ctx, q, args...).Scan(&delivered); err != nil {
		return err
	}
	tx.wroteDeliveries(delivered > 0)
	return nil
}

// assignee is a user as a batch of creations reads them: as the
// assignee of some, and as the claimed creator of others.
type assignee struct {
	username     string
	active       bool
	tokenVersion int64
	tokenKey     string
	roleID       int
}

// confirms reports whether the claimed actor u is still the user as read
// (claimGuard's check, made on the row).
func (a assignee) confirms(u *tasktrack.User) bool {
	return a.active && a.tokenVersion == u.TokenVersion && a.tokenKey == u.TokenKey &&
		a.roleID == u.Role.ID && a.username == u.Username
}

// findAssignees reads the assignees of a batch of creations, and the
// creators of those whose creator is claimed, by id. A user absent from
// the map does not exist.
func (tx *Tx) findAssignees(ctx context.Context, reqs []*createReq) (map[int64]assignee, error) {
	ids := make([]any, 0, len(reqs))
	seen := make(map[int64]assignee, len(reqs))
	add := func(id int64) {
		if _, dup := seen[id]; !dup {
			seen[id] = assignee{}
			ids = append(ids, id)
		}
	}
	for _, r := range reqs {
		add(r.in.AssignedTo)
		if r.claimed {
			add(r.actor.ID)
		}
	}
	clear(seen)
	ids = padded(ids)
	rows, err := tx.query(ctx, "SELECT id, username, is_active, token_version, token_key, role_id FROM users WHERE id IN ("+marks(len(ids))+")", ids...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id int64
			a  assignee
		)
		if err := rows.Scan(&id, &a.username, &a.active, &a.tokenVersion, &a.tokenKey, &a.roleID); err != nil {
			return nil, err
		}
		seen[id] = a
	}
	return seen, rows.Err()
}
