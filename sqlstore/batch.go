package sqlstore

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"tasktrack"
)

// createQueue groups task creations that arrive together into one write
// transaction: group commit. With one writer at a time, every creation
// otherwise pays a whole commit for a handful of rows; sharing it costs the
// first one nothing and the others a wait they would have spent queueing
// for the writer anyway. Each creation is answered only after the
// transaction holding it has committed, so the durability promise holds.
//
// There is no goroutine of its own: the first caller to find the queue idle
// leads, writes one batch, answers it, and hands the lead to the oldest
// caller still waiting, whose creation is then in the next batch.
type createQueue struct {
	mu      sync.Mutex
	pending []*createReq
	leading bool
}

// maxCreateBatch bounds a batch, so that one transaction stays short.
const maxCreateBatch = 64

type createReq struct {
	ctx   context.Context
	actor *tasktrack.User
	in    tasktrack.TaskCreate
	task  *tasktrack.Task
	err   error
	done  chan struct{} // closed once task or err is set
	lead  chan struct{} // closed when this caller is to lead the next batch
}

func (q *createQueue) submit(db *DB, ctx context.Context, actor *tasktrack.User, in tasktrack.TaskCreate) (*tasktrack.Task, error) {
	r := &createReq{ctx: ctx, actor: actor, in: in, done: make(chan struct{}), lead: make(chan struct{})}
	q.mu.Lock()
	q.pending = append(q.pending, r)
	lead := !q.leading
	q.leading = true
	q.mu.Unlock()
	if lead {
		q.runBatch(db)
	}
	leadCh := r.lead
	for {
		select {
		case <-r.done:
			return r.task, r.err
		case <-leadCh:
			leadCh = nil // led once; r is in that batch
			q.runBatch(db)
		}
	}
}

// runBatch writes the oldest pending creations in one transaction, answers
// them, and passes the lead on (or gives it up when nothing waits).
func (q *createQueue) runBatch(db *DB) {
	q.mu.Lock()
	n := min(len(q.pending), maxCreateBatch)
	batch := q.pending[:n:n]
	q.pending = q.pending[n:]
	q.mu.Unlock()

	// The batch outlives any one caller's request: none of them may cancel
	// the others' creations.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(batch[0].ctx), 30*time.Second)
	// In assignee order, every batch takes the locks of the per-user tally
	// rows its creations change (0003_stats.sql) in one order, so that
	// batches on two replicas never deadlock on them.
	ordered := slices.Clone(batch)
	slices.SortStableFunc(ordered, func(a, b *createReq) int { return cmp.Compare(a.in.AssignedTo, b.in.AssignedTo) })
	err := db.update(ctx, func(tx *Tx) error {
		for _, r := range ordered {
			// Each creation's audit entry names the personal access
			// token of its own request, not of the batch's first.
			r.task, r.err = tx.insertTask(tasktrack.NewContextWithToken(ctx, tasktrack.TokenFromContext(r.ctx)), r.actor, r.in)
			if r.err != nil && tasktrack.ErrorKind(r.err) != tasktrack.KindInvalid {
				// Not this creation's own fault (the checks before its
				// writes answer invalid): the whole batch fails.
				return r.err
			}
		}
		return tx.notifyCreated(ctx, ordered)
	})
	cancel()
	for _, r := range batch {
		if err != nil && tasktrack.ErrorKind(r.err) != tasktrack.KindInvalid {
			// Rolled back with the batch; an invalid creation keeps its own
			// answer, as it would have written nothing anyway.
			r.task, r.err = nil, err
		}
		close(r.done)
	}

	q.mu.Lock()
	if len(q.pending) > 0 {
		close(q.pending[0].lead)
	} else {
		q.leading = false
	}
	q.mu.Unlock()
}
