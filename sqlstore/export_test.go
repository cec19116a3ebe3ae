package sqlstore

import (
	"context"

	"tasktrack"
)

// TokenByHash is the query that authenticates a personal access token.
const TokenByHash = tokenByHash

// QueryPlan returns SQLite's plan of q, one step a line, for tests that
// hold a query to its indexes.
func (db *DB) QueryPlan(ctx context.Context, q string, args ...any) ([]string, error) {
	rows, err := db.reader.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			return nil, err
		}
		plan = append(plan, detail)
	}
	return plan, rows.Err()
}

// CreateQueue reports the task creations waiting for the next batch, and
// whether a batch is being written.
func (s *TaskService) CreateQueue() (pending int, leading bool) {
	s.db.creates.mu.Lock()
	defer s.db.creates.mu.Unlock()
	return len(s.db.creates.pending), s.db.creates.leading
}

// SynchronousCommit reports PostgreSQL's synchronous_commit inside a write
// transaction, made lazy (lazyCommit) or not, and after it on the same
// connection.
func (db *DB) SynchronousCommit(ctx context.Context, lazy bool) (inside, after string, err error) {
	conn, err := db.writer.Conn(ctx)
	if err != nil {
		return "", "", err
	}
	defer conn.Close()
	err = db.updateOn(ctx, conn.BeginTx, func(tx *Tx) error {
		if lazy {
			if err := db.dialect.lazyCommit(ctx, tx); err != nil {
				return err
			}
		}
		return tx.queryRow(ctx, "SELECT current_setting('synchronous_commit')").Scan(&inside)
	})
	if err != nil {
		return "", "", err
	}
	return inside, after, conn.QueryRowContext(ctx, "SELECT current_setting('synchronous_commit')").Scan(&after)
}

// UpdateTaskStatusLocked changes a task's status the way UpdateTaskStatus
// does when its tries without a lock keep losing (on PostgreSQL), or
// where status changes are neither grouped nor chained: in a transaction
// of its own that reads the task under its lock.
func (s *TaskService) UpdateTaskStatusLocked(ctx context.Context, id string, status tasktrack.Status) (t *tasktrack.Task, err error) {
	err = s.db.update(ctx, func(tx *Tx) error {
		t, err = tx.setStatus(ctx, tasktrack.ActorFromContext(ctx), tasktrack.ActorClaimed(ctx), id, status)
		return err
	})
	return t, err
}
