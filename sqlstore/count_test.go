package sqlstore_test

import (
	"testing"
	"time"

	"tasktrack"
	"tasktrack/sqlstore"
	. "tasktrack/sqlstore/sqlstoretest"
)

// The totals of lists filtered by status alone (which SQLite answers from
// counters kept by triggers) match the rows the lists hold, through
// creates, status changes, re-opening, deletes, bulk loads and sweeps.
func TestTaskTotalsFollowChanges(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		db, clock := sweepDB(t, e, 99, time.Hour)
		boss := MustCreateUser(t, db, "boss", "manager")
		ann := MustCreateUser(t, db, "ann", "user")
		check := func(when string) {
			t.Helper()
			filters := [][]tasktrack.Status{nil, {tasktrack.StatusPending}, {tasktrack.StatusInProgress, tasktrack.StatusCompleted}, {tasktrack.StatusMissed}}
			for _, st := range filters {
				for _, missedOnly := range []bool{false, true} {
					f := tasktrack.TaskFilter{Statuses: st, MissedOnly: missedOnly, Page: tasktrack.Page{Limit: 1000}}
					tasks, total, err := db.Tasks.FindTasks(As(boss), f)
					if err != nil {
						t.Fatal(err)
					}
					if total != len(tasks) {
						t.Errorf("%s: statuses %v missed-only %v: total %d, %d listed", when, st, missedOnly, total, len(tasks))
					}
				}
			}
		}
		check("empty")
		var ids []string
		for i := 0; i < 6; i++ {
			ids = append(ids, MustCreateTask(t, db, ann, "t", time.Duration(i+1)*time.Hour).ID)
		}
		check("after creates")
		if _, err := db.Tasks.UpdateTaskStatus(As(ann), ids[0], tasktrack.StatusInProgress); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Tasks.UpdateTaskStatus(As(ann), ids[1], tasktrack.StatusCompleted); err != nil {
			t.Fatal(err)
		}
		check("after status changes")
		clock.Add(3*time.Hour + time.Minute)
		mustSweep(t, db)
		check("after a sweep")
		later := clock.Now().Add(time.Hour)
		if _, err := db.Tasks.UpdateTask(As(boss), ids[2], tasktrack.TaskUpdate{Deadline: &later}); err != nil {
			t.Fatal(err)
		}
		check("after re-opening")
		if err := db.Tasks.DeleteTask(As(boss), ids[3]); err != nil {
			t.Fatal(err)
		}
		check("after a delete")
		n := 0
		_, err := db.Bulk.InsertTasks(System, func() (sqlstore.BulkTask, bool) {
			n++
			return sqlstore.BulkTask{Title: "bulk", Deadline: clock.Now().Add(time.Hour), Status: tasktrack.StatusPending,
				AssignedTo: ann.ID, CreatedBy: boss.ID, CreatedAt: clock.Now()}, n <= 25
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		check("after a bulk load")
	})
}
