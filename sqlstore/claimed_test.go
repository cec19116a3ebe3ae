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
// the end alike, and lists normally while nothing changed.
func TestFindTasksConfirmsAClaimedActor(t *testing.T) {
	changes := map[string]string{
		"deactivated":         "UPDATE users SET is_active = NOT is_active WHERE id = $1",
		"given a new version": "UPDATE users SET token_version = token_version + 1 WHERE id = $1",
		"given a new key":     "UPDATE users SET token_key = 'another' WHERE id = $1",
		"given a new role":    "UPDATE users SET role_id = 2 WHERE id = $1",
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
			for _, u := range []*tasktrack.User{busy, idle} {
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
		}
	})
}
