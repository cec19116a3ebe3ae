package sqlstore

import (
	"context"
	"time"

	"tasktrack"
)

// BulkService loads users and tasks in bulk, without policy, for the demo
// and the benchmarks.
type BulkService struct{ db *DB }

// BulkUser is a user row for a bulk load.
type BulkUser struct {
	Username     string
	PasswordHash string
	Email        string
	FirstName    string
	LastName     string
	Role         tasktrack.Role
}

// BulkTask is a task row for a bulk load.
type BulkTask struct {
	Title       string
	Description string
	Deadline    time.Time
	Status      tasktrack.Status
	AssignedTo  int64
	CreatedBy   int64
	CreatedAt   time.Time
	// CompletedAt is when a completed task was completed; zero means
	// halfway between its creation and its deadline.
	CompletedAt time.Time
}

// InsertUsers creates users in one transaction, without policy, and
// returns their ids. Each username and email is checked as CreateUser
// checks them; the password comes hashed, and the names and role are
// taken as they are. A username taken fails the whole load (KindConflict).
func (s *BulkService) InsertUsers(ctx context.Context, users []BulkUser) (_ []int64, err error) {
	defer wrap(&err, "sqlstore.InsertUsers")
	for _, u := range users {
		errs := tasktrack.FieldErrors{}
		tasktrack.ValidateUsername(errs, u.Username)
		tasktrack.ValidateEmail(errs, u.Email)
		if err := errs.Err(); err != nil {
			return nil, err
		}
	}
	ids := make([]int64, 0, len(users))
	err = s.db.update(ctx, func(tx *Tx) error {
		for _, u := range users {
			var id int64
			if err := tx.queryRow(ctx, `INSERT INTO users (username, username_key, password, email, first_name, last_name, role_id, is_active, date_joined)
				VALUES (?, ?, ?, ?, ?, ?, ?, TRUE, ?) RETURNING id`,
				u.Username, usernameKey(u.Username), u.PasswordHash, u.Email, u.FirstName, u.LastName, u.Role.ID, micros(tx.now)).Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return tx.audit(ctx, nil, tasktrack.ActionBulkUsers, "user", "", map[string]any{"count": len(users)})
	})
	return ids, err
}

// bulkBatch is the number of rows per INSERT statement.
const bulkBatch = 400

// bulkChunk is the number of rows per transaction.
const bulkChunk = 50_000

// InsertTasks creates the tasks that next yields, in multi-row INSERTs, one
// transaction per chunk of rows, calling progress after each chunk with
// the count so far; memory stays flat however many there are. Each row's
// title, description and status are checked by the domain's validators;
// the assignee and creator must exist; deadlines may be in the past (that
// is what the sweep is for). Yielding rows in order of creation keeps the
// time-ordered ids appending to the primary key.
func (s *BulkService) InsertTasks(ctx context.Context, next func() (BulkTask, bool), progress func(done int)) (_ int, err error) {
	defer wrap(&err, "sqlstore.InsertTasks")
	row := "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	fullBatch := "INSERT INTO tasks (id, title, description, deadline, status, assigned_to, created_by, created_at, updated_at, completed_at) VALUES " +
		rowsQuery("", row, bulkBatch, "")
	done, more := 0, true
	for more {
		err := s.db.update(ctx, func(tx *Tx) error {
			for n := 0; n < bulkChunk && more; n += bulkBatch {
				args := make([]any, 0, 10*bulkBatch)
				rows := 0
				for rows < bulkBatch {
					var t BulkTask
					if t, more = next(); !more {
						break
					}
					errs := tasktrack.FieldErrors{}
					t.Title = tasktrack.NormalizeTitle(errs, t.Title)
					tasktrack.ValidateDescription(errs, t.Description)
					if !t.Status.Valid() {
						errs.Add("status", "not a valid status")
					}
					if err := errs.Err(); err != nil {
						return err
					}
					var completed any
					if t.Status == tasktrack.StatusCompleted {
						at := t.CompletedAt
						if at.IsZero() {
							at = t.CreatedAt.Add(t.Deadline.Sub(t.CreatedAt) / 2)
						}
						completed = micros(at)
					}
					ca := micros(t.CreatedAt)
					args = append(args, uuidV7At(t.CreatedAt.UnixMilli()).String(), t.Title, t.Description, micros(t.Deadline),
						string(t.Status), t.AssignedTo, t.CreatedBy, ca, ca, completed)
					rows++
				}
				if rows == 0 {
					break
				}
				q := fullBatch
				if rows < bulkBatch {
					q = q[:len(q)-(bulkBatch-rows)*(len(row)+2)]
				}
				if _, err := tx.exec(ctx, q, args...); err != nil {
					return err
				}
				done += rows
			}
			return nil
		})
		if err != nil {
			return done, err
		}
		if progress != nil {
			progress(done)
		}
	}
	err = s.db.update(ctx, func(tx *Tx) error {
		return tx.audit(ctx, nil, tasktrack.ActionBulkTasks, "task", "", map[string]any{"count": done})
	})
	return done, err
}
