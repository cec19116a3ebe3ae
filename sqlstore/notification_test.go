package sqlstore_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"tasktrack"
	"tasktrack/sqlstore"
	. "tasktrack/sqlstore/sqlstoretest"
)

// inbox returns u's notifications, oldest first, as "kind: message".
func inbox(t *testing.T, db *sqlstore.DB, u *tasktrack.User) []string {
	t.Helper()
	list, total, _, err := db.Notifications.FindNotifications(As(u), tasktrack.NotificationFilter{Page: tasktrack.Page{Limit: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	if total != len(list) {
		t.Fatalf("total %d, listed %d", total, len(list))
	}
	out := []string{}
	for i := len(list) - 1; i >= 0; i-- {
		out = append(out, list[i].Kind+": "+list[i].Message)
	}
	return out
}

func wantInbox(t *testing.T, db *sqlstore.DB, u *tasktrack.User, want ...string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	if got := inbox(t, db, u); !slices.Equal(got, want) {
		t.Errorf("%s's inbox:\n got %q\nwant %q", u.Username, got, want)
	}
}

// Each kind reaches the person concerned and nobody else, and never for
// their own action.
func TestNotificationsForThePersonConcerned(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		db, clock := sweepDB(t, e, 5, 7*24*time.Hour)
		db.Reminders = nil
		maria := MustCreateUser(t, db, "maria", "manager")
		sam := MustCreateUser(t, db, "sam", "user")
		kim := MustCreateUser(t, db, "kim", "user")
		admin := MustCreateUser(t, db, "root", "admin")
		ctx := As(maria)

		report, err := db.Tasks.CreateTask(ctx, tasktrack.TaskCreate{Title: "Report", Deadline: clock.Now().Add(3 * time.Hour), AssignedTo: sam.ID})
		if err != nil {
			t.Fatal(err)
		}
		own, err := db.Tasks.CreateTask(ctx, tasktrack.TaskCreate{Title: "Own", Deadline: clock.Now().Add(3 * time.Hour), AssignedTo: maria.ID})
		if err != nil {
			t.Fatal(err)
		}
		title, desc, deadline := "Q3 report", "numbers", clock.Now().Add(2*time.Hour)
		if _, err := db.Tasks.UpdateTask(ctx, report.ID, tasktrack.TaskUpdate{Title: &title, Deadline: &deadline}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Tasks.UpdateTask(ctx, report.ID, tasktrack.TaskUpdate{Description: &desc}); err != nil {
			t.Fatal(err)
		}
		// A status change by a manager, and the assignee's own: nothing.
		inProgress := tasktrack.StatusInProgress
		if _, err := db.Tasks.UpdateTask(ctx, report.ID, tasktrack.TaskUpdate{Status: &inProgress}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Tasks.UpdateTaskStatus(As(sam), report.ID, tasktrack.StatusPending); err != nil {
			t.Fatal(err)
		}
		// Her own task changed by herself: nothing; reassigned to kim:
		// kim is told she has it, nobody else anything.
		if _, err := db.Tasks.UpdateTask(ctx, own.ID, tasktrack.TaskUpdate{Title: &title}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Tasks.UpdateTask(ctx, own.ID, tasktrack.TaskUpdate{Title: &desc, AssignedTo: &kim.ID}); err != nil {
			t.Fatal(err)
		}
		// The system's creation (no actor) is someone else's.
		MustCreateTask(t, db, kim, "Backup", 5*time.Hour)
		clock.Add(6 * time.Hour)
		if res := mustSweep(t, db); res.TasksMissed != 3 {
			t.Fatalf("sweep: %+v", res)
		}
		if _, err := db.Users.DeactivateUser(As(admin), sam.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Users.ReactivateUser(ctx, sam.ID); err != nil {
			t.Fatal(err)
		}
		// Reactivated through an update of the user, by an admin.
		if _, err := db.Users.DeactivateUser(As(admin), kim.ID); err != nil {
			t.Fatal(err)
		}
		active := true
		if _, err := db.Users.UpdateUser(As(admin), kim.ID, tasktrack.UserUpdate{IsActive: &active}); err != nil {
			t.Fatal(err)
		}

		wantInbox(t, db, sam,
			`task_assigned: "Report" was assigned to you by maria`,
			`task_changed: maria changed the title and deadline of "Q3 report"`,
			`task_changed: maria changed the description of "Q3 report"`,
			`task_missed: "Q3 report" was marked missed: its deadline passed`,
			`reactivated: Your account was reactivated by maria`)
		wantInbox(t, db, kim,
			`task_assigned: "numbers" was assigned to you by maria`,
			`task_assigned: "Backup" was assigned to you`,
			`task_missed: "numbers" was marked missed: its deadline passed`,
			`task_missed: "Backup" was marked missed: its deadline passed`,
			`reactivated: Your account was reactivated by root`)
		wantInbox(t, db, maria)
		wantInbox(t, db, admin)

		// The task embedded is the task as it is now, and its details say
		// what happened.
		list, _, unread, err := db.Notifications.FindNotifications(As(sam), tasktrack.NotificationFilter{Kind: tasktrack.NotifyTaskChanged})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || unread != 5 || list[1].Task == nil || list[1].Task.ID != report.ID || list[1].Task.Status != tasktrack.StatusMissed ||
			string(list[1].Details) != `{"by":"maria","changed":["title","deadline"]}` {
			t.Fatalf("task_changed: %d listed, %d unread, first %+v details %s", len(list), unread, list[1].Task, list[1].Details)
		}
		// The former assignee no longer sees the task it was about.
		list, _, _, err = db.Notifications.FindNotifications(As(maria), tasktrack.NotificationFilter{})
		if err != nil || len(list) != 0 {
			t.Fatalf("maria: %v %v", list, err)
		}
	})
}

// The inbox: own only, filters, read and read-all.
func TestInbox(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		db, clock := sweepDB(t, e, 5, 7*24*time.Hour)
		maria := MustCreateUser(t, db, "maria", "manager")
		sam := MustCreateUser(t, db, "sam", "user")
		kim := MustCreateUser(t, db, "kim", "user")
		for i := range 3 {
			if _, err := db.Tasks.CreateTask(As(maria), tasktrack.TaskCreate{Title: fmt.Sprint("T", i), Deadline: clock.Now().Add(time.Hour), AssignedTo: sam.ID}); err != nil {
				t.Fatal(err)
			}
		}
		MustCreateTask(t, db, kim, "kim's", time.Hour)
		list, total, unread, err := db.Notifications.FindNotifications(As(sam), tasktrack.NotificationFilter{Page: tasktrack.Page{Limit: 2}})
		if err != nil {
			t.Fatal(err)
		}
		if total != 3 || unread != 3 || len(list) != 2 || !strings.Contains(list[0].Message, "T2") || !strings.Contains(list[1].Message, "T1") {
			t.Fatalf("page 1: total %d unread %d %d listed", total, unread, len(list))
		}
		clock.Add(time.Minute)
		read, err := db.Notifications.ReadNotification(As(sam), strings.ToUpper(list[1].ID))
		if err != nil || read.ReadAt == nil || !read.ReadAt.Equal(clock.Now()) {
			t.Fatalf("read: %+v %v", read, err)
		}
		clock.Add(time.Minute)
		again, err := db.Notifications.ReadNotification(As(sam), list[1].ID)
		if err != nil || !again.ReadAt.Equal(*read.ReadAt) {
			t.Fatalf("read again: %v %v, want the first time kept", again.ReadAt, err)
		}
		for _, c := range []struct {
			who *tasktrack.User
			id  string
		}{{kim, list[1].ID}, {maria, list[0].ID}, {sam, "not-an-id"}, {sam, "01900000-0000-7000-8000-000000000000"}} {
			if _, err := db.Notifications.ReadNotification(As(c.who), c.id); tasktrack.ErrorKind(err) != tasktrack.KindNotFound {
				t.Errorf("%s reads %s: %v, want not found", c.who.Username, c.id, err)
			}
		}
		yes, no := true, false
		for _, c := range []struct {
			f            tasktrack.NotificationFilter
			total, count int
		}{
			{tasktrack.NotificationFilter{Unread: &yes}, 2, 2},
			{tasktrack.NotificationFilter{Unread: &no}, 1, 1},
			{tasktrack.NotificationFilter{Kind: tasktrack.NotifyTaskReminder}, 0, 0},
			{tasktrack.NotificationFilter{Page: tasktrack.Page{Offset: 5}}, 3, 0},
		} {
			list, total, unread, err := db.Notifications.FindNotifications(As(sam), c.f)
			if err != nil || total != c.total || len(list) != c.count || unread != 2 {
				t.Errorf("%+v: total %d, %d listed, %d unread, %v", c.f, total, len(list), unread, err)
			}
		}
		if n, err := db.Notifications.ReadAllNotifications(As(sam)); err != nil || n != 2 {
			t.Fatalf("read all: %d %v", n, err)
		}
		if n, err := db.Notifications.ReadAllNotifications(As(sam)); err != nil || n != 0 {
			t.Fatalf("read all again: %d %v", n, err)
		}
		if _, _, unread, _ := db.Notifications.FindNotifications(As(kim), tasktrack.NotificationFilter{}); unread != 1 {
			t.Fatalf("kim's unread %d: sam's read-all touched it", unread)
		}
		if _, _, _, err := db.Notifications.FindNotifications(System, tasktrack.NotificationFilter{}); tasktrack.ErrorKind(err) != tasktrack.KindUnauthenticated {
			t.Fatalf("the system's inbox: %v", err)
		}
	})
}

// remindersOf lists the reminders in u's inbox as "title lead".
func remindersOf(t *testing.T, db *sqlstore.DB, u *tasktrack.User) []string {
	t.Helper()
	list, _, _, err := db.Notifications.FindNotifications(As(u), tasktrack.NotificationFilter{Kind: tasktrack.NotifyTaskReminder, Page: tasktrack.Page{Limit: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for i := len(list) - 1; i >= 0; i-- {
		out = append(out, list[i].Message+" "+string(list[i].Details))
	}
	return out
}

func TestReminders(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		db, clock := sweepDB(t, e, 5, 7*24*time.Hour)
		sam := MustCreateUser(t, db, "sam", "user")
		gone := MustCreateUser(t, db, "gone", "user")
		report := MustCreateTask(t, db, sam, "Report", 30*time.Hour)
		MustCreateTask(t, db, sam, "Soon", 30*time.Minute)
		done := MustCreateTask(t, db, sam, "Done", 30*time.Minute)
		MustCreateTask(t, db, sam, "Missed", time.Minute)
		MustCreateTask(t, db, gone, "Paused", 30*time.Minute)
		if _, err := db.Tasks.UpdateTaskStatus(As(sam), done.ID, tasktrack.StatusCompleted); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Users.DeactivateUser(System, gone.ID); err != nil {
			t.Fatal(err)
		}
		clock.Add(2 * time.Minute) // Missed is now missed.
		res := mustSweep(t, db)
		if res.TasksMissed != 1 || res.Reminders != 1 {
			t.Fatalf("first sweep: %+v, want 1 missed and 1 reminder", res)
		}
		// Soon, created 30 minutes before its deadline: the 1-hour
		// reminder only, never the 24-hour one, and due within the hour,
		// not in it.
		want := []string{`"Soon" is due within 1 hour {"lead":"1h"}`}
		check := func(when string) {
			t.Helper()
			if got := remindersOf(t, db, sam); !slices.Equal(got, want) {
				t.Errorf("%s:\n got %q\nwant %q", when, got, want)
			}
		}
		check("first sweep")
		// Report: 24 hours before its deadline, then 1 hour before, each
		// once however many sweeps run in between.
		clock.Set(report.Deadline.Add(-24*time.Hour - time.Microsecond))
		mustSweep(t, db)
		check("just before 24h")
		clock.Add(time.Microsecond)
		mustSweep(t, db)
		mustSweep(t, db)
		want = append(want, `"Report" is due in 24 hours {"lead":"24h"}`)
		check("at 24h")
		clock.Set(report.Deadline.Add(-time.Hour))
		mustSweep(t, db)
		mustSweep(t, db)
		want = append(want, `"Report" is due in 1 hour {"lead":"1h"}`)
		check("at 1h")
		// At the deadline the task is no longer due "in" anything.
		clock.Set(report.Deadline)
		if res := mustSweep(t, db); res.Reminders != 0 {
			t.Fatalf("at the deadline: %+v", res)
		}
		// A deadline moved gives fresh reminders for the new one.
		moved := report.Deadline.Add(48 * time.Hour)
		if _, err := db.Tasks.UpdateTask(System, report.ID, tasktrack.TaskUpdate{Deadline: &moved}); err != nil {
			t.Fatal(err)
		}
		clock.Set(moved.Add(-23 * time.Hour))
		mustSweep(t, db)
		want = append(want, `"Report" is due in 24 hours {"lead":"24h"}`)
		check("moved")
		if got := remindersOf(t, db, gone); len(got) != 0 {
			t.Errorf("a deactivated assignee was reminded: %q", got)
		}
	})
}

// A reminder says "due within" its lead for a task last changed when its
// deadline was already less than the lead away, and "due in" it for one
// that was not, to the microsecond, whenever the sweep runs.
func TestReminderWordsAtTheLead(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		db, clock := sweepDB(t, e, 5, 7*24*time.Hour)
		sam := MustCreateUser(t, db, "sam", "user")
		for _, c := range []struct {
			title string
			in    time.Duration // the deadline, from the task's creation
		}{
			{"Edge", 24 * time.Hour},                    // made exactly 24 hours before
			{"Inside", 24*time.Hour - time.Microsecond}, // made a microsecond inside them
			{"Later", 2 * time.Hour},
			{"Hour", 64 * time.Minute}, // made before the hour's lead
			{"Soon", 30 * time.Minute},
		} {
			MustCreateTask(t, db, sam, c.title, c.in)
		}
		// Four minutes later: Hour is due in exactly an hour, the others
		// inside their leads.
		clock.Add(4 * time.Minute)
		if res := mustSweep(t, db); res.Reminders != 5 {
			t.Fatalf("sweep: %+v, want 5 reminders", res)
		}
		got := remindersOf(t, db, sam)
		slices.Sort(got)
		want := []string{
			`"Edge" is due in 24 hours {"lead":"24h"}`,
			`"Hour" is due in 1 hour {"lead":"1h"}`,
			`"Inside" is due within 24 hours {"lead":"24h"}`,
			`"Later" is due within 24 hours {"lead":"24h"}`,
			`"Soon" is due within 1 hour {"lead":"1h"}`,
		}
		if !slices.Equal(got, want) {
			t.Errorf("reminders:\n got %q\nwant %q", got, want)
		}
	})
}

// Reminders off (an empty --reminders): none at all.
func TestRemindersOff(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		db, _ := sweepDB(t, e, 5, 7*24*time.Hour)
		db.Reminders = nil
		sam := MustCreateUser(t, db, "sam", "user")
		MustCreateTask(t, db, sam, "Soon", 30*time.Minute)
		if res := mustSweep(t, db); res.Reminders != 0 {
			t.Fatalf("sweep: %+v", res)
		}
		if got := remindersOf(t, db, sam); len(got) != 0 {
			t.Fatalf("reminded: %q", got)
		}
	})
}

// Sweeps racing in many processes remind once per (task, lead, deadline).
func TestRemindersOnceAcrossConcurrentSweeps(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		dsn := DSN(t, e)
		clock := NewClock(t0)
		var dbs []*sqlstore.DB
		for range 4 {
			db := OpenDSN(t, dsn)
			db.Now = clock.Now
			dbs = append(dbs, db)
		}
		sam := MustCreateUser(t, dbs[0], "sam", "user")
		for i := range 20 {
			MustCreateTask(t, dbs[0], sam, fmt.Sprint("task ", i), time.Duration(30+i)*time.Minute)
		}
		var wg sync.WaitGroup
		reminded := make([]int, len(dbs)*3)
		for i := range reminded {
			wg.Go(func() {
				res, err := dbs[i%len(dbs)].Sweeper.Sweep(context.Background())
				if err != nil {
					t.Error(err)
				}
				reminded[i] = res.Reminders
			})
		}
		wg.Wait()
		sum := 0
		for _, n := range reminded {
			sum += n
		}
		if got := len(remindersOf(t, dbs[0], sam)); got != 20 || sum != 20 {
			t.Fatalf("%d reminders in the inbox, sweeps report %d; want 20", got, sum)
		}
	})
}

// atRisk lists u's at_risk notifications and the user_at_risk alerts
// about u.
func atRisk(t *testing.T, db *sqlstore.DB, u *tasktrack.User) (notes, alerts int) {
	t.Helper()
	_, notes, _, err := db.Notifications.FindNotifications(As(u), tasktrack.NotificationFilter{Kind: tasktrack.NotifyAtRisk})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range alertsOf(t, db, tasktrack.AlertUserAtRisk) {
		if a.UserID == u.ID {
			alerts++
		}
	}
	return notes, alerts
}

// The at-risk warning at the edges: N-2 counted misses, N-1, N; a miss
// leaving the window; reactivation; thresholds 1 and 2.
func TestAtRisk(t *testing.T) {
	type step struct {
		what  string
		do    func(t *testing.T, db *sqlstore.DB, clock *Clock, u *tasktrack.User)
		warns int // at_risk notifications (and alerts) so far
	}
	miss := func(n int) func(*testing.T, *sqlstore.DB, *Clock, *tasktrack.User) {
		return func(t *testing.T, db *sqlstore.DB, clock *Clock, u *tasktrack.User) {
			missTasks(t, db, u, n, time.Minute)
			clock.Add(2 * time.Minute)
		}
	}
	wait := func(d time.Duration) func(*testing.T, *sqlstore.DB, *Clock, *tasktrack.User) {
		return func(_ *testing.T, _ *sqlstore.DB, clock *Clock, _ *tasktrack.User) { clock.Add(d) }
	}
	reactivate := func(t *testing.T, db *sqlstore.DB, clock *Clock, u *tasktrack.User) {
		if _, err := db.Users.ReactivateUser(System, u.ID); err != nil {
			t.Fatal(err)
		}
		clock.Add(time.Minute)
	}
	cases := []struct {
		name      string
		threshold int
		steps     []step
	}{
		{"N-2, N-1, N", 4, []step{
			{"N-2", miss(2), 0},
			{"N-1", miss(1), 1},
			{"still N-1", wait(time.Minute), 1},
			{"N deactivates without another warning", miss(1), 1},
		}},
		{"straight past N-1", 4, []step{
			{"N at once", miss(4), 0},
		}},
		{"a miss leaving the window", 4, []step{
			{"N-1", miss(3), 1},
			// The window is 10 hours: the misses leave it.
			{"below N-1", wait(10 * time.Hour), 1},
			{"N-1 again", miss(3), 2},
		}},
		{"reactivation", 3, []step{
			{"N-1", miss(2), 1},
			{"N", miss(1), 1},
			// Never seen below N-1 by a sweep: the reactivation alone
			// ends the warning.
			{"reactivated, and N-1 again before a sweep", func(t *testing.T, db *sqlstore.DB, clock *Clock, u *tasktrack.User) {
				reactivate(t, db, clock, u)
				miss(2)(t, db, clock, u)
			}, 2},
		}},
		{"threshold 2", 2, []step{
			{"one miss", miss(1), 1},
		}},
		{"threshold 1", 1, []step{
			{"deactivated at once", miss(1), 0},
		}},
	}
	Engines(t, func(t *testing.T, e Engine) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				db, clock := sweepDB(t, e, c.threshold, 10*time.Hour)
				db.Reminders = nil
				sam := MustCreateUser(t, db, "sam", "user")
				admin := MustCreateUser(t, db, "root", "admin")
				for _, s := range c.steps {
					s.do(t, db, clock, sam)
					missTasks(t, db, admin, c.threshold, time.Minute) // admins are never at risk
					clock.Add(2 * time.Minute)
					res := mustSweep(t, db)
					notes, alerts := atRisk(t, db, sam)
					if notes != s.warns || alerts != s.warns {
						t.Fatalf("%s: %d at_risk notifications and %d alerts, want %d (sweep %+v)", s.what, notes, alerts, s.warns, res)
					}
				}
				if n, a := atRisk(t, db, admin); n != 0 || a != 0 {
					t.Errorf("admin warned: %d %d", n, a)
				}
			})
		}
	})
}

// The at_risk notification says what it means.
func TestAtRiskMessage(t *testing.T) {
	db, clock := sweepDB(t, SQLite, 5, 7*24*time.Hour)
	sam := MustCreateUser(t, db, "sam", "user")
	missTasks(t, db, sam, 4, time.Minute)
	clock.Add(time.Hour)
	if res := mustSweep(t, db); res.UsersAtRisk != 1 {
		t.Fatalf("sweep: %+v", res)
	}
	list, _, _, err := db.Notifications.FindNotifications(As(sam), tasktrack.NotificationFilter{Kind: tasktrack.NotifyAtRisk})
	if err != nil || len(list) != 1 {
		t.Fatalf("%v %v", list, err)
	}
	n := list[0]
	if n.Message != "You have missed 4 deadlines in the last 7 days; one more deactivates your account" ||
		string(n.Details) != `{"missed":4,"threshold":5}` || n.Task != nil {
		t.Fatalf("at_risk: %q %s %v", n.Message, n.Details, n.Task)
	}
}
