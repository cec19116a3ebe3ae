package sqlstore

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"tasktrack"
)

// ImportService writes what was read from the Django original.
type ImportService struct{ db *DB }

// ImportOptions tune ImportDjango.
type ImportOptions struct {
	// Merge imports into a database that already holds data, skipping
	// what is already there; without it such a database is refused.
	Merge bool
	// DryRun does everything in the transaction, then rolls it back.
	DryRun bool
	// Details are added to the audit entry (counts from the reading).
	Details map[string]any
	// Progress is called after each batch of rows written, with "users"
	// or "tasks", the rows done and the total.
	Progress func(stage string, done, total int)
}

// ImportResult is what ImportDjango wrote, or would write in a dry run.
type ImportResult struct {
	UsersImported int
	TasksImported int
	Notes         []tasktrack.ImportNote
}

// Skipped counts the users and tasks left out.
func (r *ImportResult) Skipped() (users, tasks int) {
	for _, n := range r.Notes {
		switch {
		case !n.Skipped:
		case n.Target == "user":
			users++
		default:
			tasks++
		}
	}
	return users, tasks
}

// ImportPresent is the detail of a row skipped because the database holds
// it already.
const ImportPresent = "already in the database"

// errDryRun ends a dry run's transaction.
var errDryRun = &tasktrack.Error{Kind: tasktrack.KindInternal, Message: "dry run"}

// ImportDjango writes users and tasks read from the Django original, with
// their ids, in one transaction: all of it or nothing. Into a database
// that holds users or tasks it refuses, unless opt.Merge; then it skips
// users and tasks whose ids exist already (a user only when the username
// matches too, else the user is reported as taken), users whose username
// is taken by another user, and tasks whose assignee is not in the
// database; a task whose creator is not gets none. A second merge of the
// same data changes nothing: when nothing is imported, no audit entry is
// written either. Otherwise one import.django entry, by the system,
// records the counts.
func (s *ImportService) ImportDjango(ctx context.Context, users []*tasktrack.User, tasks []*tasktrack.Task, opt ImportOptions) (_ *ImportResult, err error) {
	defer wrap(&err, "sqlstore.ImportDjango")
	if err := checkImport(users, tasks); err != nil {
		return nil, err
	}
	res := &ImportResult{}
	err = s.db.update(ctx, func(tx *Tx) error {
		if err := s.db.dialect.lock(ctx, tx, lockUsers); err != nil {
			return err
		}
		var nUsers, nTasks int
		if err := tx.queryRow(ctx, "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM tasks)").Scan(&nUsers, &nTasks); err != nil {
			return err
		}
		if (nUsers > 0 || nTasks > 0) && !opt.Merge {
			return tasktrack.Errorf(tasktrack.KindConflict,
				"The database already holds %d user(s) and %d task(s).", nUsers, nTasks)
		}
		present, err := tx.importUsers(ctx, users, opt, res)
		if err != nil {
			return err
		}
		if err := tx.importTasks(ctx, tasks, present, opt, res); err != nil {
			return err
		}
		if res.UsersImported > 0 {
			if err := tx.recountLegacyHashes(ctx); err != nil {
				return err
			}
		}
		if res.UsersImported == 0 && res.TasksImported == 0 {
			if opt.DryRun {
				return errDryRun
			}
			return nil
		}
		su, st := res.Skipped()
		details := map[string]any{
			"users": res.UsersImported, "tasks": res.TasksImported,
			"users_skipped": su, "tasks_skipped": st, "merge": opt.Merge,
		}
		for k, v := range opt.Details {
			details[k] = v
		}
		if err := tx.audit(ctx, nil, tasktrack.ActionImportDjango, "import", "", details); err != nil {
			return err
		}
		if opt.DryRun {
			return errDryRun
		}
		if res.UsersImported > 0 {
			// New users' ids follow the imported ones, but never go back,
			// which would give a deleted user's id again.
			return s.db.dialect.followIDs(ctx, tx)
		}
		return nil
	})
	if err == errDryRun {
		err = nil
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

// checkImport checks what the database's constraints would refuse, so that
// the refusal names the rows.
func checkImport(users []*tasktrack.User, tasks []*tasktrack.Task) error {
	keys := map[string][]string{}
	ids := map[int64]bool{}
	for _, u := range users {
		if _, ok := tasktrack.RoleByID(u.Role.ID); !ok || u.ID <= 0 {
			return tasktrack.Errorf(tasktrack.KindInvalid, "user %d %q: bad id or role", u.ID, u.Username)
		}
		if ids[u.ID] {
			return tasktrack.Errorf(tasktrack.KindInvalid, "user id %d appears twice", u.ID)
		}
		ids[u.ID] = true
		k := usernameKey(u.Username)
		keys[k] = append(keys[k], fmt.Sprintf("%q (id %d)", u.Username, u.ID))
	}
	if clashes := usernameClashes(keys); len(clashes) > 0 {
		return tasktrack.Errorf(tasktrack.KindConflict, "Usernames equal but for case or width: %s.", strings.Join(clashes, "; "))
	}
	seen := map[string]bool{}
	for _, t := range tasks {
		if !tasktrack.ValidID(t.ID) || t.ID != strings.ToLower(t.ID) || !t.Status.Valid() {
			return tasktrack.Errorf(tasktrack.KindInvalid, "task %q: bad id or status", t.ID)
		}
		if seen[t.ID] {
			return tasktrack.Errorf(tasktrack.KindInvalid, "task id %s appears twice", t.ID)
		}
		seen[t.ID] = true
	}
	return nil
}

// usernameClashes lists, sorted, the names (as "%q (id %d)") of each key
// that more than one user has.
func usernameClashes(byKey map[string][]string) []string {
	var clashes []string
	for _, names := range byKey {
		if len(names) > 1 {
			clashes = append(clashes, strings.Join(names, " and "))
		}
	}
	sort.Strings(clashes)
	return clashes
}

// importUsers writes the users that are not in the database yet and
// returns the ids tasks may refer to: the users written, and those found
// already there under the same id and username.
func (tx *Tx) importUsers(ctx context.Context, users []*tasktrack.User, opt ImportOptions, res *ImportResult) (map[int64]bool, error) {
	type existing struct{ username, key string }
	byID := map[int64]existing{}
	byKey := map[string]int64{}
	rows, err := tx.query(ctx, "SELECT id, username, username_key FROM users")
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var (
			id int64
			e  existing
		)
		if err := rows.Scan(&id, &e.username, &e.key); err != nil {
			rows.Close()
			return nil, err
		}
		byID[id], byKey[e.key] = e, id
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}

	present := map[int64]bool{}
	var write []*tasktrack.User
	for _, u := range users {
		id, key := itoa(u.ID), usernameKey(u.Username)
		skip := func(detail string) {
			res.Notes = append(res.Notes, tasktrack.ImportNote{Target: "user", ID: id, Name: u.Username, Detail: detail, Skipped: true})
		}
		if e, ok := byID[u.ID]; ok {
			if e.key == key {
				present[u.ID] = true
				skip(ImportPresent)
			} else {
				skip(fmt.Sprintf("id %d is taken by user %q; not imported", u.ID, e.username))
			}
			continue
		}
		if other, ok := byKey[key]; ok {
			skip(fmt.Sprintf("username taken by user %q (id %d); not imported", byID[other].username, other))
			continue
		}
		present[u.ID] = true
		write = append(write, u)
	}

	const cols = 12
	row := "(" + marks(cols) + ")"
	for b := 0; b < len(write); b += bulkBatch {
		part := write[b:min(b+bulkBatch, len(write))]
		args := make([]any, 0, cols*len(part))
		for _, u := range part {
			var reason any
			if u.DeactivationReason != "" {
				reason = u.DeactivationReason
			}
			args = append(args, u.ID, u.Username, usernameKey(u.Username), u.PasswordHash, u.Email, u.FirstName, u.LastName,
				u.Role.ID, u.IsActive, micros(u.DateJoined), nullMicros(u.DeactivatedAt), reason)
		}
		if _, err := tx.exec(ctx, `INSERT INTO users (id, username, username_key, password, email, first_name, last_name,
			role_id, is_active, date_joined, deactivated_at, deactivation_reason) VALUES `+
			rowsQuery("", row, len(part), ""), args...); err != nil {
			return nil, err
		}
		res.UsersImported += len(part)
		if opt.Progress != nil {
			opt.Progress("users", b+len(part), len(write))
		}
	}
	return present, nil
}

// importTasks writes the tasks whose assignee is present; a task whose id
// exists already is left as it is.
func (tx *Tx) importTasks(ctx context.Context, tasks []*tasktrack.Task, present map[int64]bool, opt ImportOptions, res *ImportResult) error {
	var write []*tasktrack.Task
	for _, t := range tasks {
		if !present[t.AssignedTo] {
			res.Notes = append(res.Notes, tasktrack.ImportNote{Target: "task", ID: t.ID, Name: t.Title, Skipped: true,
				Detail: fmt.Sprintf("assignee %d is not in the database; not imported", t.AssignedTo)})
			continue
		}
		write = append(write, t)
	}
	const cols = 11
	row := "(" + marks(cols) + ")"
	for b := 0; b < len(write); b += bulkBatch {
		part := write[b:min(b+bulkBatch, len(write))]
		args := make([]any, 0, cols*len(part))
		var cleared []tasktrack.ImportNote
		for _, t := range part {
			var creator any
			if t.CreatedBy != nil {
				if present[*t.CreatedBy] {
					creator = *t.CreatedBy
				} else {
					cleared = append(cleared, tasktrack.ImportNote{Target: "task", ID: t.ID, Name: t.Title,
						Detail: fmt.Sprintf("creator %d is not in the database; imported without a creator", *t.CreatedBy)})
				}
			}
			args = append(args, t.ID, t.Title, t.Description, micros(t.Deadline), string(t.Status), t.AssignedTo, creator,
				micros(t.CreatedAt), micros(t.UpdatedAt), nullMicros(t.CompletedAt), nullMicros(t.MissedAt))
		}
		rows, err := tx.query(ctx, `INSERT INTO tasks (id, title, description, deadline, status, assigned_to, created_by,
			created_at, updated_at, completed_at, missed_at) VALUES `+
			rowsQuery("", row, len(part), "")+" ON CONFLICT (id) DO NOTHING RETURNING id", args...)
		if err != nil {
			return err
		}
		written := map[string]bool{}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			written[strings.ToLower(id)] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, t := range part {
			if !written[t.ID] {
				res.Notes = append(res.Notes, tasktrack.ImportNote{Target: "task", ID: t.ID, Name: t.Title, Detail: ImportPresent, Skipped: true})
			}
		}
		for _, n := range cleared {
			if written[n.ID] {
				res.Notes = append(res.Notes, n)
			}
		}
		res.TasksImported += len(written)
		if opt.Progress != nil {
			opt.Progress("tasks", b+len(part), len(write))
		}
	}
	return nil
}
