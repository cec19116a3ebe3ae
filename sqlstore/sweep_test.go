package sqlstore_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"tasktrack"
	"tasktrack/sqlstore"
	. "tasktrack/sqlstore/sqlstoretest"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// sweepDB opens a database on a clock at t0 with the given threshold and
// window.
func sweepDB(t *testing.T, e Engine, threshold int, window time.Duration) (*sqlstore.DB, *Clock) {
	t.Helper()
	db := Open(t, e)
	clock := NewClock(t0)
	db.Now = clock.Now
	db.MissedThreshold, db.MissedWindow = threshold, window
	return db, clock
}

func mustSweep(t *testing.T, db *sqlstore.DB) tasktrack.SweepResult {
	t.Helper()
	res, err := db.Sweeper.Sweep(context.Background())
	if err != nil {
		t.Fatalf("sweep: %v", err)
	}
	return res
}

func taskStatus(t *testing.T, db *sqlstore.DB, id string) *tasktrack.Task {
	t.Helper()
	task, err := db.Tasks.FindTaskByID(System, id)
	if err != nil {
		t.Fatal(err)
	}
	return task
}

func alertsOf(t *testing.T, db *sqlstore.DB, kind string) []*tasktrack.Alert {
	t.Helper()
	alerts, total, err := db.Alerts.FindAlerts(System, tasktrack.AlertFilter{Kind: kind, Page: tasktrack.Page{Limit: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	if total != len(alerts) {
		t.Fatalf("total %d, listed %d", total, len(alerts))
	}
	return alerts
}

func userActive(t *testing.T, db *sqlstore.DB, id int64) *tasktrack.User {
	t.Helper()
	u, err := db.Users.FindUserByID(System, id)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestSweepMarksOverdueOpenTasksOnly(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		db, clock := sweepDB(t, e, 5, 7*24*time.Hour)
		alice := MustCreateUser(t, db, "alice", "user")
		overduePending := MustCreateTask(t, db, alice, "pending, due soon", time.Hour)
		overdueInProgress := MustCreateTask(t, db, alice, "in progress, due soon", time.Hour)
		completed := MustCreateTask(t, db, alice, "completed, due soon", time.Hour)
		later := MustCreateTask(t, db, alice, "due later", 3*time.Hour)
		if _, err := db.Tasks.UpdateTaskStatus(As(alice), overdueInProgress.ID, tasktrack.StatusInProgress); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Tasks.UpdateTaskStatus(As(alice), completed.ID, tasktrack.StatusCompleted); err != nil {
			t.Fatal(err)
		}
		if res := mustSweep(t, db); res.TasksMissed != 0 {
			t.Fatalf("before any deadline: marked %d", res.TasksMissed)
		}
		// Exactly at the deadline the task is not yet overdue.
		clock.Add(time.Hour)
		if res := mustSweep(t, db); res.TasksMissed != 0 {
			t.Fatalf("at the deadline: marked %d, want 0", res.TasksMissed)
		}
		clock.Add(time.Microsecond)
		res := mustSweep(t, db)
		if res.TasksMissed != 2 || res.UsersDeactivated != 0 {
			t.Fatalf("sweep = %+v, want 2 missed, 0 deactivated", res)
		}
		for _, id := range []string{overduePending.ID, overdueInProgress.ID} {
			task := taskStatus(t, db, id)
			if task.Status != tasktrack.StatusMissed || task.MissedAt == nil || !task.MissedAt.Equal(clock.Now()) {
				t.Errorf("task %s: status %s missed_at %v, want missed at %v", task.Title, task.Status, task.MissedAt, clock.Now())
			}
		}
		if s := taskStatus(t, db, completed.ID).Status; s != tasktrack.StatusCompleted {
			t.Errorf("completed task became %s", s)
		}
		if s := taskStatus(t, db, later.ID).Status; s != tasktrack.StatusPending {
			t.Errorf("task due later became %s", s)
		}
		alerts := alertsOf(t, db, tasktrack.AlertTaskMissed)
		if len(alerts) != 2 {
			t.Fatalf("%d task_missed alerts, want 2", len(alerts))
		}
		for _, a := range alerts {
			if a.Task == nil || a.Task.Status != tasktrack.StatusMissed || a.UserID != alice.ID || a.Username != "alice" {
				t.Errorf("alert %+v does not embed the missed task of alice", a)
			}
		}
		// Idempotent: a second sweep changes nothing.
		if res := mustSweep(t, db); res.TasksMissed != 0 || res.UsersDeactivated != 0 {
			t.Fatalf("second sweep = %+v, want nothing", res)
		}
		if n := len(alertsOf(t, db, "")); n != 2 {
			t.Fatalf("after a second sweep %d alerts, want 2", n)
		}
		// Each miss is audited by the system.
		entries, _, err := db.Audit.FindAuditEntries(System, tasktrack.AuditFilter{Action: tasktrack.ActionTaskMissed})
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 2 || entries[0].ActorID != nil {
			t.Fatalf("audit task.missed: %d entries (actor %v), want 2 by the system", len(entries), entries[0].ActorID)
		}
	})
}

// missTasks creates n tasks for u due at t0+offsets and sweeps after them.
func missTasks(t *testing.T, db *sqlstore.DB, u *tasktrack.User, n int, due time.Duration) {
	t.Helper()
	for i := 0; i < n; i++ {
		MustCreateTask(t, db, u, "task", due)
	}
}

func TestSweepDeactivatesAtThreshold(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		db, clock := sweepDB(t, e, 3, 24*time.Hour)
		below := MustCreateUser(t, db, "below", "user")
		at := MustCreateUser(t, db, "at", "user")
		manager := MustCreateUser(t, db, "boss", "manager")
		admin := MustCreateUser(t, db, "root", "admin")
		missTasks(t, db, below, 2, time.Hour) // N-1
		missTasks(t, db, at, 3, time.Hour)    // N
		missTasks(t, db, manager, 3, time.Hour)
		missTasks(t, db, admin, 5, time.Hour) // admins are exempt
		clock.Add(2 * time.Hour)
		res := mustSweep(t, db)
		if res.TasksMissed != 13 || res.UsersDeactivated != 2 {
			t.Fatalf("sweep = %+v, want 13 missed and 2 deactivated", res)
		}
		for _, c := range []struct {
			u      *tasktrack.User
			active bool
		}{{below, true}, {at, false}, {manager, false}, {admin, true}} {
			u := userActive(t, db, c.u.ID)
			if u.IsActive != c.active {
				t.Errorf("%s active = %v, want %v", u.Username, u.IsActive, c.active)
			}
			if !c.active && (u.DeactivationReason != tasktrack.ReasonMissedDeadlines || u.DeactivatedAt == nil || !u.DeactivatedAt.Equal(clock.Now())) {
				t.Errorf("%s: reason %q at %v", u.Username, u.DeactivationReason, u.DeactivatedAt)
			}
		}
		alerts := alertsOf(t, db, tasktrack.AlertUserDeactivated)
		if len(alerts) != 2 {
			t.Fatalf("%d user_deactivated alerts, want 2", len(alerts))
		}
		for _, a := range alerts {
			if a.Task != nil {
				t.Errorf("user_deactivated alert carries a task")
			}
		}
		entries, _, err := db.Audit.FindAuditEntries(System, tasktrack.AuditFilter{Action: tasktrack.ActionUserDeactivate})
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 2 || entries[0].ActorID != nil || entries[1].ActorID != nil {
			t.Fatalf("want 2 deactivation entries by the system, got %d", len(entries))
		}
		if res := mustSweep(t, db); res.UsersDeactivated != 0 || res.TasksMissed != 0 {
			t.Fatalf("second sweep = %+v", res)
		}
		if n := len(alertsOf(t, db, tasktrack.AlertUserDeactivated)); n != 2 {
			t.Fatalf("second sweep made %d deactivation alerts, want 2", n)
		}
	})
}

func TestSweepWindowEdges(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		db, clock := sweepDB(t, e, 2, 10*time.Hour)
		edge := MustCreateUser(t, db, "edge", "user")
		outside := MustCreateUser(t, db, "outside", "user")
		// edge: deadlines at t0+1h and t0+2h; outside: t0+1h-1µs and t0+2h.
		MustCreateTask(t, db, edge, "a", time.Hour)
		MustCreateTask(t, db, edge, "b", 2*time.Hour)
		MustCreateTask(t, db, outside, "a", time.Hour-time.Microsecond)
		MustCreateTask(t, db, outside, "b", 2*time.Hour)
		// Miss them all now, while both are inside the window...
		db.MissedThreshold = 99
		clock.Add(3 * time.Hour)
		mustSweep(t, db)
		// ...then count at T = t0+11h: the window [T-10h, T] starts at
		// t0+1h exactly, which counts; t0+1h-1µs does not.
		db.MissedThreshold = 2
		clock.Set(t0.Add(11 * time.Hour))
		if res := mustSweep(t, db); res.UsersDeactivated != 1 {
			t.Fatalf("deactivated %d, want 1", res.UsersDeactivated)
		}
		if userActive(t, db, edge.ID).IsActive {
			t.Error("a miss exactly at the window's start did not count")
		}
		if !userActive(t, db, outside.ID).IsActive {
			t.Error("a miss before the window counted")
		}
	})
}

func TestReactivationStartsCountAfresh(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		db, clock := sweepDB(t, e, 2, 24*time.Hour)
		bob := MustCreateUser(t, db, "bob", "user")
		boss := MustCreateUser(t, db, "boss", "manager")
		missTasks(t, db, bob, 2, time.Hour)
		clock.Add(2 * time.Hour)
		if res := mustSweep(t, db); res.UsersDeactivated != 1 {
			t.Fatalf("deactivated %d, want 1", res.UsersDeactivated)
		}
		if _, err := db.Users.ReactivateUser(As(boss), bob.ID); err != nil {
			t.Fatal(err)
		}
		u := userActive(t, db, bob.ID)
		if !u.IsActive || u.ReactivatedAt == nil || !u.ReactivatedAt.Equal(clock.Now()) || u.ReactivatedBy == nil || *u.ReactivatedBy != boss.ID {
			t.Fatalf("after reactivation: %+v", u)
		}
		if u.DeactivatedAt != nil || u.DeactivationReason != "" {
			t.Fatalf("reactivation kept the deactivation: %v %q", u.DeactivatedAt, u.DeactivationReason)
		}
		// The same misses never count again.
		clock.Add(time.Minute)
		if res := mustSweep(t, db); res.UsersDeactivated != 0 {
			t.Fatal("the next sweep deactivated the user again for the same misses")
		}
		// One new miss is not enough; two are.
		MustCreateTask(t, db, bob, "new 1", time.Hour)
		clock.Add(2 * time.Hour)
		if res := mustSweep(t, db); res.UsersDeactivated != 0 {
			t.Fatal("one new miss deactivated the user")
		}
		MustCreateTask(t, db, bob, "new 2", time.Hour)
		clock.Add(2 * time.Hour)
		if res := mustSweep(t, db); res.UsersDeactivated != 1 {
			t.Fatal("two new misses did not deactivate the user")
		}
	})
}

func TestReopenByNewDeadline(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		db, clock := sweepDB(t, e, 5, 24*time.Hour)
		bob := MustCreateUser(t, db, "bob", "user")
		boss := MustCreateUser(t, db, "boss", "manager")
		task := MustCreateTask(t, db, bob, "late", time.Hour)
		clock.Add(2 * time.Hour)
		mustSweep(t, db)
		// A deadline still in the past is refused.
		past := clock.Now().Add(-time.Minute)
		if _, err := db.Tasks.UpdateTask(As(boss), task.ID, tasktrack.TaskUpdate{Deadline: &past}); tasktrack.ErrorKind(err) != tasktrack.KindInvalid {
			t.Fatalf("past deadline: err %v, want invalid", err)
		}
		future := clock.Now().Add(time.Hour)
		got, err := db.Tasks.UpdateTask(As(boss), task.ID, tasktrack.TaskUpdate{Deadline: &future})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != tasktrack.StatusPending || got.MissedAt != nil {
			t.Fatalf("re-opened task: status %s missed_at %v", got.Status, got.MissedAt)
		}
		entries, _, _ := db.Audit.FindAuditEntries(System, tasktrack.AuditFilter{Action: tasktrack.ActionTaskReopen})
		if len(entries) != 1 || entries[0].ActorID == nil || *entries[0].ActorID != boss.ID {
			t.Fatalf("want one task.reopen entry by the manager, got %d", len(entries))
		}
		// Missed again later: a second, distinct alert.
		clock.Add(2 * time.Hour)
		if res := mustSweep(t, db); res.TasksMissed != 1 {
			t.Fatalf("re-opened task not missed again: %+v", res)
		}
		if n := len(alertsOf(t, db, tasktrack.AlertTaskMissed)); n != 2 {
			t.Fatalf("%d alerts, want 2 (one per miss)", n)
		}
	})
}

func TestConcurrentSweepsActOnce(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		dsn := DSN(t, e)
		first := OpenDSN(t, dsn)
		clock := NewClock(t0)
		first.Now = clock.Now
		users := make([]*tasktrack.User, 4)
		for i := range users {
			users[i] = MustCreateUser(t, first, "u"+string(rune('a'+i)), "user")
			missTasks(t, first, users[i], 6, time.Hour)
		}
		clock.Add(2 * time.Hour)
		// Several stores on the same database, as separate processes
		// would be, sweeping at the same moment.
		stores := []*sqlstore.DB{first}
		for i := 0; i < 3; i++ {
			db := OpenDSN(t, dsn)
			db.Now = clock.Now
			stores = append(stores, db)
		}
		var wg sync.WaitGroup
		results := make([]tasktrack.SweepResult, 8)
		errs := make([]error, 8)
		for i := range results {
			wg.Go(func() { results[i], errs[i] = stores[i%len(stores)].Sweeper.Sweep(context.Background()) })
		}
		wg.Wait()
		missed, deactivated := 0, 0
		for i, err := range errs {
			if err != nil {
				t.Fatalf("sweep %d: %v", i, err)
			}
			missed += results[i].TasksMissed
			deactivated += results[i].UsersDeactivated
		}
		if missed != 24 || deactivated != 4 {
			t.Fatalf("sweeps marked %d and deactivated %d in all, want 24 and 4", missed, deactivated)
		}
		if n := len(alertsOf(t, first, tasktrack.AlertTaskMissed)); n != 24 {
			t.Fatalf("%d task_missed alerts, want 24", n)
		}
		if n := len(alertsOf(t, first, tasktrack.AlertUserDeactivated)); n != 4 {
			t.Fatalf("%d user_deactivated alerts, want 4", n)
		}
	})
}

// TestSweepRaisesOneAlertPerDeadline: a task that is open again past the
// same deadline (set back by hand in the database, or by a manager before
// a missed task's status was locked) is marked missed again, but raises no
// second task_missed alert; a new deadline missed raises a new one.
func TestSweepRaisesOneAlertPerDeadline(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		dsn := DSN(t, e)
		db := OpenDSN(t, dsn)
		clock := NewClock(t0)
		db.Now = clock.Now
		bob := MustCreateUser(t, db, "bob", "user")
		boss := MustCreateUser(t, db, "boss", "manager")
		task := MustCreateTask(t, db, bob, "late", time.Hour)
		clock.Add(2 * time.Hour)
		mustSweep(t, db)
		if _, err := Raw(t, dsn).Exec("UPDATE tasks SET status = 'pending', missed_at = NULL WHERE id = $1", task.ID); err != nil {
			t.Fatal(err)
		}
		clock.Add(time.Minute)
		if res := mustSweep(t, db); res.TasksMissed != 1 {
			t.Fatalf("the task open again was not marked missed: %+v", res)
		}
		if n := len(alertsOf(t, db, tasktrack.AlertTaskMissed)); n != 1 {
			t.Fatalf("%d task_missed alerts for one deadline, want 1", n)
		}
		future := clock.Now().Add(time.Hour)
		if _, err := db.Tasks.UpdateTask(As(boss), task.ID, tasktrack.TaskUpdate{Deadline: &future}); err != nil {
			t.Fatal(err)
		}
		clock.Add(2 * time.Hour)
		mustSweep(t, db)
		if n := len(alertsOf(t, db, tasktrack.AlertTaskMissed)); n != 2 {
			t.Fatalf("%d task_missed alerts after a new deadline was missed, want 2", n)
		}
	})
}

// TestMissedStatusChangesOnlyByDeadline: no one sets a missed task's status
// (409, the task unchanged) unless the deadline moves into the future,
// which re-opens it first.
func TestMissedStatusChangesOnlyByDeadline(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		db, clock := sweepDB(t, e, 5, 24*time.Hour)
		bob := MustCreateUser(t, db, "bob", "user")
		boss := MustCreateUser(t, db, "boss", "manager")
		admin := MustCreateUser(t, db, "root", "admin")
		task := MustCreateTask(t, db, bob, "late", time.Hour)
		clock.Add(2 * time.Hour)
		mustSweep(t, db)
		pending, title := tasktrack.StatusPending, "renamed"
		for _, c := range []struct {
			name   string
			change func() error
		}{
			{"manager, status", func() error { _, err := db.Tasks.UpdateTaskStatus(As(boss), task.ID, pending); return err }},
			{"admin, status", func() error { _, err := db.Tasks.UpdateTaskStatus(As(admin), task.ID, pending); return err }},
			{"manager, update with a status", func() error {
				_, err := db.Tasks.UpdateTask(As(boss), task.ID, tasktrack.TaskUpdate{Status: &pending, Title: &title})
				return err
			}},
		} {
			if err := c.change(); err != tasktrack.ErrMissedStatus {
				t.Errorf("%s: err %v, want %v", c.name, err, tasktrack.ErrMissedStatus)
			}
		}
		if got := taskStatus(t, db, task.ID); got.Status != tasktrack.StatusMissed || got.Title != "late" {
			t.Fatalf("a refused change moved the task: %s %q", got.Status, got.Title)
		}
		inProgress, future := tasktrack.StatusInProgress, clock.Now().Add(time.Hour)
		got, err := db.Tasks.UpdateTask(As(boss), task.ID, tasktrack.TaskUpdate{Deadline: &future, Status: &inProgress})
		if err != nil || got.Status != tasktrack.StatusInProgress || got.MissedAt != nil {
			t.Fatalf("a new deadline with a status: %+v, %v", got, err)
		}
	})
}
