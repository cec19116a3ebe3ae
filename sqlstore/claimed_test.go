package sqlstore_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"tasktrack"
	. "tasktrack/sqlstore/sqlstoretest"
)

// A list asked for by a claimed actor (the user as an earlier request read
// them) confirms that user in the statement that reads it, and answers
// ErrActorChanged when any of what the claim stands on has changed since:
// whether the user is active, their token version and key, role and
// username. It does so for a page of tasks, an empty list and a page past
// the end alike, and lists normally while nothing changed; so do a status
// change (confirmed as the task is read) and a creation (as the batch
// reads its assignees), which then write nothing.
func TestFindTasksConfirmsAClaimedActor(t *testing.T) {
	changes := map[string]string{
		"deactivated":         "UPDATE users SET is_active = NOT is_active WHERE id = $1",
		"given a new version": "UPDATE users SET token_version = token_version + 1 WHERE id = $1",
		"given a new key":     "UPDATE users SET token_key = 'another' WHERE id = $1",
		"given a new role":    "UPDATE users SET role_id = 1 WHERE id = $1",
		"renamed":             "UPDATE users SET username = username || 'x', username_key = username_key || 'x' WHERE id = $1",
	}
	Engines(t, func(t *testing.T, e Engine) {
		dsn := DSN(t, e)
		db := OpenDSN(t, dsn)
		raw := Raw(t, dsn)
		i := 0
		for name, change := range changes {
			i++
			busy := MustCreateUser(t, db, "busy"+strconv.Itoa(i), "user")
			idle := MustCreateUser(t, db, "idle"+strconv.Itoa(i), "user")
			MustCreateTask(t, db, busy, "One", time.Hour)
			MustCreateTask(t, db, busy, "Two", 2*time.Hour)
			lists := []struct {
				what  string
				actor *tasktrack.User
				f     tasktrack.TaskFilter
				n     int
			}{
				{"a page", busy, tasktrack.TaskFilter{}, 2},
				{"a page past the end", busy, tasktrack.TaskFilter{Page: tasktrack.Page{Limit: 1, Offset: 5}}, 0},
				{"an empty list", idle, tasktrack.TaskFilter{}, 0},
			}
			for _, l := range lists {
				ctx := tasktrack.NewContextWithClaimedActor(context.Background(), l.actor)
				tasks, total, err := db.Tasks.FindTasks(ctx, l.f)
				if err != nil || len(tasks) != l.n || (l.actor == busy && total != 2) {
					t.Fatalf("%s, unchanged: %d tasks of %d, %v", l.what, len(tasks), total, err)
				}
			}
			mgr := MustCreateUser(t, db, "mgr"+strconv.Itoa(i), "manager")
			own := MustCreateTask(t, db, busy, "Three", 3*time.Hour)
			claimedBy := func(u *tasktrack.User) context.Context {
				return tasktrack.NewContextWithClaimedActor(context.Background(), u)
			}
			if _, err := db.Tasks.UpdateTaskStatus(claimedBy(busy), own.ID, tasktrack.StatusInProgress); err != nil {
				t.Fatalf("status, unchanged: %v", err)
			}
			in := tasktrack.TaskCreate{Title: "Made", Deadline: time.Now().Add(time.Hour), AssignedTo: idle.ID}
			if _, err := db.Tasks.CreateTask(claimedBy(mgr), in); err != nil {
				t.Fatalf("create, unchanged: %v", err)
			}
			for _, u := range []*tasktrack.User{busy, idle, mgr} {
				if _, err := raw.Exec(change, u.ID); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
			}
			for _, l := range lists {
				ctx := tasktrack.NewContextWithClaimedActor(context.Background(), l.actor)
				if tasks, _, err := db.Tasks.FindTasks(ctx, l.f); !errors.Is(err, tasktrack.ErrActorChanged) {
					t.Errorf("%s, %s: %d tasks, %v; want ErrActorChanged", l.what, name, len(tasks), err)
				}
			}
			if _, err := db.Tasks.UpdateTaskStatus(claimedBy(busy), own.ID, tasktrack.StatusCompleted); !errors.Is(err, tasktrack.ErrActorChanged) {
				t.Errorf("status, %s: %v; want ErrActorChanged", name, err)
			}
			if got, err := db.Tasks.FindTaskByID(As(mgr), own.ID); err != nil || got.Status != tasktrack.StatusInProgress {
				t.Errorf("status, %s: the refused change was written: %v %v", name, got, err)
			}
			if _, err := db.Tasks.CreateTask(claimedBy(mgr), in); !errors.Is(err, tasktrack.ErrActorChanged) {
				t.Errorf("create, %s: %v; want ErrActorChanged", name, err)
			}
			if _, n, err := db.Tasks.FindTasks(As(MustCreateUser(t, db, "admin"+strconv.Itoa(i), "admin")), tasktrack.TaskFilter{AssignedTo: &idle.ID}); err != nil || n != 1 {
				t.Errorf("create, %s: %d tasks of the idle user, want 1 (the refused creation was written?): %v", name, n, err)
			}
		}
	})
}
