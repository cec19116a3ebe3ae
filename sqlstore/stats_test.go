package sqlstore_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"tasktrack"
	"tasktrack/sqlstore"
	. "tasktrack/sqlstore/sqlstoretest"
)

// allTasks reads every task, page by page, as the system.
func allTasks(t *testing.T, db *sqlstore.DB) []*tasktrack.Task {
	t.Helper()
	var out []*tasktrack.Task
	for offset := 0; ; offset += tasktrack.MaxLimit {
		page, total, err := db.Tasks.FindTasks(System, tasktrack.TaskFilter{Page: tasktrack.Page{Limit: tasktrack.MaxLimit, Offset: offset}})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page...)
		if len(out) >= total {
			return out
		}
	}
}

// dashboardFromRows computes what the dashboard must say at now from the
// rows themselves: every task, and every user (or only one).
func dashboardFromRows(t *testing.T, db *sqlstore.DB, now time.Time, only *tasktrack.User) *tasktrack.Stats {
	t.Helper()
	users, _, err := db.Users.FindUsers(System, tasktrack.UserFilter{Page: tasktrack.Page{Limit: tasktrack.MaxLimit}})
	if err != nil {
		t.Fatal(err)
	}
	want := &tasktrack.Stats{GeneratedAt: now, Threshold: db.MissedThreshold, Window: db.MissedWindow}
	starts := tasktrack.StatsWeekStarts(now)
	first, end := starts[0], starts[len(starts)-1].AddDate(0, 0, 7)
	for _, w := range starts {
		want.Weeks = append(want.Weeks, tasktrack.WeekStats{WeekStart: w})
	}
	weekOf := func(at time.Time) *tasktrack.WeekStats {
		if at.Before(first) || !at.Before(end) {
			return nil
		}
		return &want.Weeks[int(at.Sub(first)/(7*24*time.Hour))]
	}
	people := map[int64]*tasktrack.PersonStats{}
	byID := map[int64]*tasktrack.User{}
	completed, onTime, missed := map[int64]int{}, map[int64]int{}, map[int64]int{}
	for _, u := range users {
		if only == nil || u.ID == only.ID {
			people[u.ID] = &tasktrack.PersonStats{ID: u.ID, Username: u.Username, Role: u.Role, IsActive: u.IsActive}
			byID[u.ID] = u
		}
	}
	for _, task := range allTasks(t, db) {
		p := people[task.AssignedTo]
		if p == nil {
			continue
		}
		switch task.Status {
		case tasktrack.StatusPending:
			want.Tasks.Pending++
		case tasktrack.StatusInProgress:
			want.Tasks.InProgress++
		case tasktrack.StatusCompleted:
			want.Tasks.Completed++
		case tasktrack.StatusMissed:
			want.Tasks.Missed++
		}
		if task.Status.Open() {
			p.Open++
			if !task.Deadline.Before(now) && !task.Deadline.After(now.Add(24*time.Hour)) {
				want.DueSoon++
			}
		}
		if task.Status == tasktrack.StatusCompleted && task.CompletedAt != nil {
			if w := weekOf(*task.CompletedAt); w != nil {
				w.Completed++
				completed[p.ID]++
				if !task.CompletedAt.After(task.Deadline) {
					w.CompletedOnTime++
					onTime[p.ID]++
				}
			}
		}
		if task.Status == tasktrack.StatusMissed {
			if w := weekOf(task.Deadline); w != nil {
				w.Missed++
				missed[p.ID]++
			}
			react := byID[p.ID].ReactivatedAt
			if !task.Deadline.Before(now.Add(-db.MissedWindow)) && !task.Deadline.After(now) &&
				(react == nil || task.Deadline.After(*react)) {
				p.MissedInWindow++
			}
		}
	}
	for id, p := range people {
		if n := completed[id] + missed[id]; n > 0 {
			rate := float64(onTime[id]) / float64(n)
			p.OnTimeRate = &rate
		}
		p.AtRisk = p.IsActive && p.Role != tasktrack.RoleAdmin && db.MissedThreshold > 1 && p.MissedInWindow >= db.MissedThreshold-1
		if only == nil {
			want.People = append(want.People, *p)
		} else {
			want.Me = p
		}
	}
	return want
}

// show prints a person's standing with the rate's value.
func show(p *tasktrack.PersonStats) string {
	if p == nil {
		return "none"
	}
	rate := "none"
	if p.OnTimeRate != nil {
		rate = fmt.Sprintf("%.4f", *p.OnTimeRate)
	}
	return fmt.Sprintf("%s (id %d, %s, active %v): open %d, counted misses %d, at risk %v, on time %s",
		p.Username, p.ID, p.Role.Name, p.IsActive, p.Open, p.MissedInWindow, p.AtRisk, rate)
}

func samePerson(a, b tasktrack.PersonStats) bool {
	rate := (a.OnTimeRate == nil) == (b.OnTimeRate == nil) && (a.OnTimeRate == nil || *a.OnTimeRate == *b.OnTimeRate)
	a.OnTimeRate, b.OnTimeRate = nil, nil
	return rate && a == b
}

// checkDashboard compares the dashboard, as the manager sees it and as
// each of users sees it, with the figures computed from the rows.
func checkDashboard(t *testing.T, db *sqlstore.DB, when string, manager *tasktrack.User, users ...*tasktrack.User) *tasktrack.Stats {
	t.Helper()
	now := db.Now().UTC()
	var team *tasktrack.Stats
	for _, viewer := range append([]*tasktrack.User{manager}, users...) {
		got, err := db.Reports.Dashboard(As(viewer))
		if err != nil {
			t.Fatalf("%s: dashboard as %s: %v", when, viewer.Username, err)
		}
		var only *tasktrack.User
		if viewer != manager {
			only = viewer
		} else {
			team = got
		}
		want := dashboardFromRows(t, db, now, only)
		if !got.GeneratedAt.Equal(now) || got.Tasks != want.Tasks || got.DueSoon != want.DueSoon ||
			got.Threshold != want.Threshold || got.Window != want.Window {
			t.Errorf("%s, as %s: at %v tasks %+v due soon %d rule %d/%v; want at %v tasks %+v due soon %d rule %d/%v", when, viewer.Username,
				got.GeneratedAt, got.Tasks, got.DueSoon, got.Threshold, got.Window, now, want.Tasks, want.DueSoon, want.Threshold, want.Window)
		}
		if len(got.Weeks) != tasktrack.StatsWeeks {
			t.Fatalf("%s: %d weeks, want %d", when, len(got.Weeks), tasktrack.StatsWeeks)
		}
		for i := range got.Weeks {
			g, w := got.Weeks[i], want.Weeks[i]
			if !g.WeekStart.Equal(w.WeekStart) || g.Completed != w.Completed || g.CompletedOnTime != w.CompletedOnTime || g.Missed != w.Missed {
				t.Errorf("%s, as %s: week %d is %+v, want %+v", when, viewer.Username, i, g, w)
			}
		}
		if only != nil {
			if got.People != nil {
				t.Errorf("%s: %s sees %d people", when, viewer.Username, len(got.People))
			}
			if got.Me == nil || !samePerson(*got.Me, *want.Me) {
				t.Errorf("%s: %s's own standing is %s, want %s", when, viewer.Username, show(got.Me), show(want.Me))
			}
			continue
		}
		if len(got.People) != len(want.People) {
			t.Fatalf("%s: %d people, want %d", when, len(got.People), len(want.People))
		}
		for _, w := range want.People {
			i := slices.IndexFunc(got.People, func(p tasktrack.PersonStats) bool { return p.ID == w.ID })
			if i < 0 {
				t.Errorf("%s: %s is missing", when, w.Username)
			} else if !samePerson(got.People[i], w) {
				t.Errorf("%s: %s, want %s", when, show(&got.People[i]), show(&w))
			}
		}
		// Most at risk first.
		for i := 1; i < len(got.People); i++ {
			if got.People[i-1].MissedInWindow < got.People[i].MissedInWindow {
				t.Errorf("%s: people out of order: %s (%d) before %s (%d)", when, got.People[i-1].Username,
					got.People[i-1].MissedInWindow, got.People[i].Username, got.People[i].MissedInWindow)
			}
		}
		if got.Me == nil || got.Me.ID != viewer.ID {
			t.Errorf("%s: the manager's own standing is %s", when, show(got.Me))
		}
	}
	return team
}

func mustStatus(t *testing.T, db *sqlstore.DB, actor *tasktrack.User, id string, s tasktrack.Status) {
	t.Helper()
	if _, err := db.Tasks.UpdateTaskStatus(As(actor), id, s); err != nil {
		t.Fatalf("%s sets %s: %v", actor.Username, s, err)
	}
}

func mustUpdate(t *testing.T, db *sqlstore.DB, actor *tasktrack.User, id string, in tasktrack.TaskUpdate) {
	t.Helper()
	if _, err := db.Tasks.UpdateTask(As(actor), id, in); err != nil {
		t.Fatalf("update %s: %v", id, err)
	}
}

// createAt creates a task for u due at a given moment.
func createAt(t *testing.T, db *sqlstore.DB, u *tasktrack.User, title string, deadline time.Time) *tasktrack.Task {
	t.Helper()
	return MustCreateTask(t, db, u, title, deadline.Sub(db.Now()))
}

// The weeks fall on ISO weeks in UTC: a task completed on Sunday at 23:59
// belongs to the week before one completed at Monday 00:00, and a miss to
// the week of its deadline. A task completed after its deadline is not on
// time; weeks without anything are present. Every figure matches the rows,
// through every kind of change.
func TestDashboardWeeks(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		db, clock := sweepDB(t, e, 99, 7*24*time.Hour)
		day := func(y int, m time.Month, d, h, min, s, us int) time.Time {
			return time.Date(y, m, d, h, min, s, us*1000, time.UTC)
		}
		clock.Set(day(2025, 12, 1, 9, 0, 0, 0))
		boss := MustCreateUser(t, db, "boss", "manager")
		ann := MustCreateUser(t, db, "ann", "user")
		bob := MustCreateUser(t, db, "bob", "user")
		cat := MustCreateUser(t, db, "cat", "user")
		dan := MustCreateUser(t, db, "dan", "user")
		MustCreateUser(t, db, "root", "admin")
		checkDashboard(t, db, "empty", boss, ann)

		// Long before the twelve weeks.
		old := MustCreateTask(t, db, ann, "old", 48*time.Hour)
		clock.Add(24 * time.Hour)
		mustStatus(t, db, ann, old.ID, tasktrack.StatusCompleted)

		clock.Set(day(2026, 3, 6, 12, 0, 0, 0)) // a Friday
		a1 := createAt(t, db, ann, "a1", day(2026, 3, 9, 10, 0, 0, 0))
		a2 := createAt(t, db, ann, "a2", day(2026, 3, 9, 10, 0, 0, 0))
		b1 := createAt(t, db, bob, "b1", day(2026, 3, 8, 23, 58, 0, 0))
		createAt(t, db, cat, "c1", day(2026, 3, 8, 23, 59, 59, 999999)) // Sunday's last microsecond
		c2 := createAt(t, db, cat, "c2", day(2026, 3, 9, 0, 0, 0, 0))   // Monday's first
		d1 := createAt(t, db, dan, "d1", day(2026, 3, 17, 12, 0, 0, 0))
		createAt(t, db, dan, "d2", day(2026, 3, 19, 11, 0, 0, 0))
		createAt(t, db, dan, "d3", day(2026, 3, 19, 12, 0, 0, 0)) // exactly 24 h after the final now
		createAt(t, db, dan, "d4", day(2026, 3, 19, 12, 0, 0, 1)) // just after
		checkDashboard(t, db, "after creates", boss, ann, dan)

		clock.Set(day(2026, 3, 8, 23, 59, 0, 0)) // Sunday 23:59
		mustStatus(t, db, ann, a1.ID, tasktrack.StatusCompleted)
		clock.Set(day(2026, 3, 9, 0, 0, 0, 0)) // Monday 00:00
		mustStatus(t, db, ann, a2.ID, tasktrack.StatusCompleted)
		mustStatus(t, db, boss, b1.ID, tasktrack.StatusCompleted) // two minutes late
		clock.Add(30 * time.Second)
		if res := mustSweep(t, db); res.TasksMissed != 2 {
			t.Fatalf("the sweep missed %d tasks, want 2", res.TasksMissed)
		}
		clock.Set(day(2026, 3, 10, 9, 0, 0, 0))
		mustStatus(t, db, dan, d1.ID, tasktrack.StatusCompleted)
		mustStatus(t, db, dan, d1.ID, tasktrack.StatusInProgress) // no longer completed
		checkDashboard(t, db, "after completions and misses", boss, ann, bob, cat, dan)

		clock.Set(day(2026, 3, 18, 12, 0, 0, 0)) // a Wednesday
		got := checkDashboard(t, db, "twelve weeks on", boss, ann, bob, cat, dan)
		// The same, spelled out.
		want := map[string]tasktrack.WeekStats{
			"2026-03-02": {Completed: 1, CompletedOnTime: 1, Missed: 1},
			"2026-03-09": {Completed: 2, CompletedOnTime: 1, Missed: 1},
		}
		if first := got.Weeks[0].WeekStart; !first.Equal(day(2025, 12, 29, 0, 0, 0, 0)) {
			t.Errorf("the first week starts %v, want Monday 2025-12-29", first)
		}
		for i, w := range got.Weeks {
			key := w.WeekStart.Format(time.DateOnly)
			if w.WeekStart.Weekday() != time.Monday || w.WeekStart.Hour() != 0 || (i > 0 && w.WeekStart.Sub(got.Weeks[i-1].WeekStart) != 7*24*time.Hour) {
				t.Errorf("week %d starts %v", i, w.WeekStart)
			}
			x := want[key]
			if w.Completed != x.Completed || w.CompletedOnTime != x.CompletedOnTime || w.Missed != x.Missed {
				t.Errorf("week of %s: %+v, want %+v", key, w, x)
			}
		}
		if got.DueSoon != 2 || got.Tasks != (tasktrack.TaskCounts{Pending: 3, InProgress: 1, Completed: 4, Missed: 2}) {
			t.Errorf("due soon %d, tasks %+v", got.DueSoon, got.Tasks)
		}

		// Every kind of change moves the tallies.
		tasks := allTasks(t, db)
		c1 := tasks[slices.IndexFunc(tasks, func(x *tasktrack.Task) bool { return x.Title == "c1" })]
		mustUpdate(t, db, boss, c1.ID, tasktrack.TaskUpdate{AssignedTo: &dan.ID})
		checkDashboard(t, db, "after moving a miss to another person", boss, cat, dan)
		later := clock.Now().Add(72 * time.Hour)
		mustUpdate(t, db, boss, b1.ID, tasktrack.TaskUpdate{Deadline: &later})
		checkDashboard(t, db, "after a late completion's deadline moved past it", boss, bob)
		mustUpdate(t, db, boss, c2.ID, tasktrack.TaskUpdate{Deadline: &later})
		checkDashboard(t, db, "after re-opening a miss", boss, cat)
		mustUpdate(t, db, boss, a2.ID, tasktrack.TaskUpdate{AssignedTo: &bob.ID})
		checkDashboard(t, db, "after moving a completion to another person", boss, ann, bob)
		if err := db.Tasks.DeleteTask(As(boss), a1.ID); err != nil {
			t.Fatal(err)
		}
		checkDashboard(t, db, "after deleting a completion", boss, ann)
		n := 0
		statuses := []tasktrack.Status{tasktrack.StatusPending, tasktrack.StatusInProgress, tasktrack.StatusCompleted, tasktrack.StatusMissed}
		_, err := db.Bulk.InsertTasks(System, func() (sqlstore.BulkTask, bool) {
			n++
			return sqlstore.BulkTask{Title: "bulk", Deadline: clock.Now().Add(time.Duration(n-20) * 7 * time.Hour), Status: statuses[n%4],
				AssignedTo: []int64{ann.ID, bob.ID, cat.ID}[n%3], CreatedBy: boss.ID, CreatedAt: clock.Now().Add(-40 * 24 * time.Hour)}, n <= 40
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		checkDashboard(t, db, "after a bulk load", boss, ann, bob, cat)
		// The sweep marks pending and in-progress tasks of several people.
		for i, u := range []*tasktrack.User{ann, ann, bob, dan} {
			task := MustCreateTask(t, db, u, "due", time.Duration(i+1)*time.Minute)
			if i%2 == 0 {
				mustStatus(t, db, u, task.ID, tasktrack.StatusInProgress)
			}
		}
		clock.Add(time.Hour)
		mustSweep(t, db)
		checkDashboard(t, db, "after a second sweep", boss, ann, bob, cat, dan)
	})
}

// The dashboard's misses in the window and its at-risk mark follow the
// sweep's own count: window edges, reactivation, admins and inactive people.
// Whom the sweep then deactivates is exactly whom the dashboard counted at
// the threshold.
func TestDashboardCountsMissesAsTheSweep(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		db, clock := sweepDB(t, e, 99, 10*time.Hour)
		boss := MustCreateUser(t, db, "boss", "manager")
		root := MustCreateUser(t, db, "root", "admin")
		edge := MustCreateUser(t, db, "edge", "user")       // misses at T-10h and T-9h: 2
		outside := MustCreateUser(t, db, "outside", "user") // T-10h-1µs and T-9h: 1
		back := MustCreateUser(t, db, "back", "user")       // reactivated at T-9h+1µs: misses at T-9h and then do not count, T-8h does
		three := MustCreateUser(t, db, "three", "user")     // 3: at the threshold
		lead := MustCreateUser(t, db, "lead", "manager")    // managers count too: 3
		gone := MustCreateUser(t, db, "gone", "user")       // deactivated by hand: 2, never at risk
		T := t0.Add(20 * time.Hour)
		reactivation := T.Add(-9*time.Hour + time.Microsecond)
		at := func(d time.Duration) time.Duration { return T.Add(d).Sub(clock.Now()) }
		for _, m := range []struct {
			u   *tasktrack.User
			due []time.Duration
		}{
			{edge, []time.Duration{-10 * time.Hour, -9 * time.Hour}},
			{outside, []time.Duration{-10*time.Hour - time.Microsecond, -9 * time.Hour}},
			{back, []time.Duration{-9 * time.Hour, reactivation.Sub(T), -8 * time.Hour}},
			{three, []time.Duration{-7 * time.Hour, -6 * time.Hour, -time.Microsecond}},
			{lead, []time.Duration{-5 * time.Hour, -4 * time.Hour, -2 * time.Microsecond}},
			{gone, []time.Duration{-3 * time.Hour, -2 * time.Hour}},
			{root, []time.Duration{-3 * time.Hour, -2 * time.Hour, -time.Hour}},
		} {
			for _, d := range m.due {
				MustCreateTask(t, db, m.u, "miss", at(d))
			}
		}
		// Miss what is due by the reactivation, then deactivate "back"
		// and reactivate it; deactivate "gone" by hand; miss the rest.
		clock.Set(reactivation)
		mustSweep(t, db)
		for _, id := range []int64{back.ID, gone.ID} {
			if _, err := db.Users.DeactivateUser(System, id); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.Users.ReactivateUser(As(boss), back.ID); err != nil {
			t.Fatal(err)
		}
		clock.Set(T)
		mustSweep(t, db)

		db.MissedThreshold = 3
		st := checkDashboard(t, db, "at T", boss, edge, back, three)
		want := map[string]struct {
			missed int
			atRisk bool
		}{
			"edge": {2, true}, "outside": {1, false}, "back": {1, false}, "three": {3, true}, "lead": {3, true},
			"gone": {2, false}, "root": {3, false}, "boss": {0, false},
		}
		for _, p := range st.People {
			if w := want[p.Username]; p.MissedInWindow != w.missed || p.AtRisk != w.atRisk {
				t.Errorf("%s: %d counted misses, at risk %v; want %d, %v", p.Username, p.MissedInWindow, p.AtRisk, w.missed, w.atRisk)
			}
		}
		// The sweep at the same moment deactivates the active non-admins
		// the dashboard counted at the threshold, and no one else.
		res := mustSweep(t, db)
		if res.TasksMissed != 0 {
			t.Fatalf("the sweep at T marked %d tasks", res.TasksMissed)
		}
		deactivated := 0
		for _, p := range st.People {
			shouldGo := p.IsActive && p.Role != tasktrack.RoleAdmin && p.MissedInWindow >= db.MissedThreshold
			if shouldGo {
				deactivated++
			}
			if u := userActive(t, db, p.ID); p.IsActive && u.IsActive == shouldGo {
				t.Errorf("%s: active %v after the sweep, with %d counted misses", p.Username, u.IsActive, p.MissedInWindow)
			}
		}
		if deactivated != 2 || res.UsersDeactivated != deactivated {
			t.Errorf("the sweep deactivated %d, the dashboard counted %d at the threshold, want 2", res.UsersDeactivated, deactivated)
		}
		after := checkDashboard(t, db, "after the sweep", boss)
		for _, p := range after.People {
			if (p.Username == "three" || p.Username == "lead") && (p.IsActive || p.AtRisk) {
				t.Errorf("%s after deactivation: active %v, at risk %v", p.Username, p.IsActive, p.AtRisk)
			}
		}
		// A threshold of 1 leaves no room for a warning.
		db.MissedThreshold = 1
		for _, p := range checkDashboard(t, db, "threshold 1", boss).People {
			if p.AtRisk {
				t.Errorf("%s at risk under a threshold of 1", p.Username)
			}
		}
	})
}

// Exports hold what the list holds, in its order, whole; a user's hold
// their own tasks only, and the missed list and the audit log stay theirs
// who may read them.
func TestExports(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		db, clock := sweepDB(t, e, 99, 7*24*time.Hour)
		boss := MustCreateUser(t, db, "boss", "manager")
		ann := MustCreateUser(t, db, "ann", "user")
		bob := MustCreateUser(t, db, "bob", "user")
		for i := 0; i < 30; i++ {
			u := []*tasktrack.User{ann, bob}[i%2]
			task := MustCreateTask(t, db, u, []string{"Report", "review", "Budget"}[i%3], time.Duration(i%7+1)*time.Hour)
			if i%5 == 0 {
				mustStatus(t, db, u, task.ID, tasktrack.StatusCompleted)
			}
			clock.Add(time.Second)
		}
		clock.Add(3*time.Hour + 30*time.Minute)
		mustSweep(t, db)
		ids := func(tasks []*tasktrack.Task) []string {
			var out []string
			for _, t := range tasks {
				out = append(out, t.ID+" "+t.AssignedToUsername)
			}
			return out
		}
		after := clock.Now().Add(-2 * time.Hour)
		filters := []tasktrack.TaskFilter{
			{},
			{Ordering: "-title"},
			{Ordering: "-created_at", Statuses: []tasktrack.Status{tasktrack.StatusPending, tasktrack.StatusCompleted}},
			{Search: "RE", DeadlineAfter: &after},
			{AssignedTo: &bob.ID, Ordering: "title"},
			{MissedOnly: true},
			{MissedOnly: true, Ordering: "deadline"},
		}
		for _, viewer := range []*tasktrack.User{boss, ann} {
			for i, f := range filters {
				var exported []*tasktrack.Task
				err := db.Reports.ExportTasks(As(viewer), f, func(t *tasktrack.Task) error {
					exported = append(exported, t)
					return nil
				})
				if f.MissedOnly && viewer == ann {
					if tasktrack.ErrorKind(err) != tasktrack.KindForbidden {
						t.Errorf("filter %d: a user exports the missed list: %v", i, err)
					}
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				f.Page = tasktrack.Page{Limit: 1000}
				listed, total, err := db.Tasks.FindTasks(As(viewer), f)
				if err != nil {
					t.Fatal(err)
				}
				if (total == 0 && viewer == boss) || !slices.Equal(ids(exported), ids(listed)) {
					t.Errorf("as %s, filter %d: exported %v, listed %v", viewer.Username, i, ids(exported), ids(listed))
				}
				for _, task := range exported {
					if viewer == ann && task.AssignedTo != ann.ID {
						t.Errorf("ann's export holds %s's task", task.AssignedToUsername)
					}
				}
			}
		}
		// A page's limit and offset do not narrow an export.
		n := 0
		if err := db.Reports.ExportTasks(As(boss), tasktrack.TaskFilter{Page: tasktrack.Page{Limit: 5, Offset: 3}}, func(*tasktrack.Task) error { n++; return nil }); err != nil || n != 30 {
			t.Errorf("export with a page: %d tasks, %v", n, err)
		}
		// An error from the callback stops the export and comes back.
		stop := &tasktrack.Error{Kind: tasktrack.KindInvalid, Message: "stop"}
		n = 0
		if err := db.Reports.ExportTasks(As(boss), tasktrack.TaskFilter{}, func(*tasktrack.Task) error { n++; return stop }); err != stop || n != 1 {
			t.Errorf("stopped export: %d tasks, %v", n, err)
		}

		audit := func(ctx context.Context, f tasktrack.AuditFilter) ([]int64, error) {
			var out []int64
			err := db.Reports.ExportAuditEntries(ctx, f, func(e *tasktrack.AuditEntry) error {
				out = append(out, e.ID)
				return nil
			})
			return out, err
		}
		for _, f := range []tasktrack.AuditFilter{{}, {Action: tasktrack.ActionTaskStatus}, {ActorID: &ann.ID}} {
			got, err := audit(System, f)
			if err != nil {
				t.Fatal(err)
			}
			f.Page = tasktrack.Page{Limit: 1000}
			entries, _, err := db.Audit.FindAuditEntries(System, f)
			if err != nil {
				t.Fatal(err)
			}
			var want []int64
			for _, e := range entries {
				want = append(want, e.ID)
			}
			if len(want) == 0 || !slices.Equal(got, want) {
				t.Errorf("audit export %+v: %v, want %v", f, got, want)
			}
		}
		for _, u := range []*tasktrack.User{boss, ann} {
			if _, err := audit(As(u), tasktrack.AuditFilter{}); tasktrack.ErrorKind(err) != tasktrack.KindForbidden {
				t.Errorf("%s exports the audit log: %v", u.Username, err)
			}
		}
	})
}

// Writers on several replicas change the same people's tallies at once:
// batches of creations in different orders, status changes and sweeps.
// None may deadlock on the tally rows, and the tallies stay exact.
func TestTalliesUnderConcurrentWriters(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		dsn := DSN(t, e)
		clock := NewClock(t0)
		var stores []*sqlstore.DB
		for range 3 {
			db := OpenDSN(t, dsn)
			db.Now = clock.Now
			db.MissedThreshold = 99
			stores = append(stores, db)
		}
		db := stores[0]
		boss := MustCreateUser(t, db, "boss", "manager")
		var people []*tasktrack.User
		for i := range 6 {
			people = append(people, MustCreateUser(t, db, fmt.Sprintf("p%d", i), "user"))
		}
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			errs []error
			ids  []string
		)
		fail := func(err error) {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}
		for w := range 12 {
			wg.Go(func() {
				s := stores[w%len(stores)]
				for i := range 25 {
					// Every writer walks the people in its own order.
					u := people[(w*5+i*(w%5+1))%len(people)]
					task, err := s.Tasks.CreateTask(As(boss), tasktrack.TaskCreate{Title: "t", Deadline: clock.Now().Add(time.Duration(i%3+1) * time.Minute), AssignedTo: u.ID})
					if err != nil {
						fail(err)
						return
					}
					// A sweep may have missed it in between: that is a conflict.
					if i%4 == 0 {
						if _, err := s.Tasks.UpdateTaskStatus(As(boss), task.ID, tasktrack.StatusCompleted); err != nil && tasktrack.ErrorKind(err) != tasktrack.KindConflict {
							fail(err)
							return
						}
					}
					mu.Lock()
					ids = append(ids, task.ID)
					mu.Unlock()
				}
			})
		}
		wg.Go(func() {
			for i := range 20 {
				if i == 10 {
					clock.Add(2 * time.Minute)
				}
				if _, err := stores[i%len(stores)].Sweeper.Sweep(context.Background()); err != nil {
					fail(err)
					return
				}
			}
		})
		wg.Wait()
		for _, err := range errs {
			t.Error(err)
		}
		if len(ids) != 12*25 {
			t.Fatalf("%d tasks created, want %d", len(ids), 12*25)
		}
		checkDashboard(t, db, "after concurrent writers", boss, people...)
	})
}
