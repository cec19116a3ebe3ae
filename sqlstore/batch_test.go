package sqlstore_test

import (
	"encoding/json"
	"strconv"
	"sync"
	"testing"
	"time"

	"tasktrack"
	. "tasktrack/sqlstore/sqlstoretest"
)

// Creations racing each other share transactions, and each gets its own
// answer: the valid ones are created once with their audit entries, the
// ones naming an inactive or absent assignee are refused and write nothing.
// Each assignee is notified once per task.
func TestConcurrentCreatesGetTheirOwnAnswers(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		db, _ := sweepDB(t, e, 5, time.Hour)
		boss := MustCreateUser(t, db, "boss", "manager")
		ann := MustCreateUser(t, db, "ann", "user")
		gone := MustCreateUser(t, db, "gone", "user")
		if _, err := db.Users.DeactivateUser(System, gone.ID); err != nil {
			t.Fatal(err)
		}
		const n = 60
		tasks := make([]*tasktrack.Task, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Go(func() {
				assignee := ann.ID
				switch i % 3 {
				case 1:
					assignee = gone.ID
				case 2:
					assignee = 99999
				}
				tasks[i], errs[i] = db.Tasks.CreateTask(As(boss), tasktrack.TaskCreate{
					Title: "task " + string(rune('A'+i%26)), Deadline: db.Now().Add(time.Hour), AssignedTo: assignee})
			})
		}
		wg.Wait()
		ids := map[string]bool{}
		for i := 0; i < n; i++ {
			if i%3 == 0 {
				if errs[i] != nil || tasks[i] == nil || tasks[i].AssignedTo != ann.ID {
					t.Fatalf("create %d: %v %+v", i, errs[i], tasks[i])
				}
				ids[tasks[i].ID] = true
				continue
			}
			if tasktrack.ErrorKind(errs[i]) != tasktrack.KindInvalid || tasks[i] != nil {
				t.Fatalf("create %d for a bad assignee: %v %+v", i, errs[i], tasks[i])
			}
		}
		if len(ids) != n/3 {
			t.Fatalf("%d distinct ids, want %d", len(ids), n/3)
		}
		list, total, err := db.Tasks.FindTasks(As(boss), tasktrack.TaskFilter{Page: tasktrack.Page{Limit: 1000}})
		if err != nil {
			t.Fatal(err)
		}
		if total != n/3 || len(list) != n/3 {
			t.Fatalf("%d tasks stored (total %d), want %d", len(list), total, n/3)
		}
		entries, _, err := db.Audit.FindAuditEntries(System, tasktrack.AuditFilter{Action: tasktrack.ActionTaskCreate, Page: tasktrack.Page{Limit: 1000}})
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != n/3 {
			t.Fatalf("%d task.create entries, want %d", len(entries), n/3)
		}
		for _, e := range entries {
			if !ids[e.TargetID] || e.ActorID == nil || *e.ActorID != boss.ID {
				t.Fatalf("audit entry %+v", e)
			}
		}
		notes, total, _, err := db.Notifications.FindNotifications(As(ann), tasktrack.NotificationFilter{Page: tasktrack.Page{Limit: 1000}})
		if err != nil {
			t.Fatal(err)
		}
		if total != n/3 || len(notes) != n/3 {
			t.Fatalf("ann has %d notifications (total %d), want %d", len(notes), total, n/3)
		}
		notified := map[string]bool{}
		for _, nt := range notes {
			if nt.Kind != tasktrack.NotifyTaskAssigned || nt.Task == nil || !ids[nt.Task.ID] || notified[nt.Task.ID] {
				t.Fatalf("notification %+v", nt)
			}
			notified[nt.Task.ID] = true
		}
	})
}

// Status changes racing each other (grouped into shared transactions on
// SQLite) each get their own answer: the permitted ones are applied once
// with their audit entries, naming the request's own personal access
// token; a change of someone else's task, of an absent task or to an
// unknown status is refused and writes nothing.
func TestConcurrentStatusChangesGetTheirOwnAnswers(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		db, _ := sweepDB(t, e, 5, time.Hour)
		ann := MustCreateUser(t, db, "ann", "user")
		bob := MustCreateUser(t, db, "bob", "user")
		const n = 60
		mine := make([]*tasktrack.Task, n)
		for i := range mine {
			mine[i] = MustCreateTask(t, db, ann, "mine", time.Hour)
		}
		theirs := MustCreateTask(t, db, bob, "theirs", time.Hour)
		got := make([]*tasktrack.Task, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				ctx := tasktrack.NewContextWithToken(As(ann), &tasktrack.PersonalToken{ID: "token-" + strconv.Itoa(i)})
				id, status := mine[i].ID, tasktrack.StatusInProgress
				switch i % 4 {
				case 1:
					id = theirs.ID
				case 2:
					id = "01930000-0000-7000-8000-000000000000"
				case 3:
					status = "done-ish"
				}
				got[i], errs[i] = db.Tasks.UpdateTaskStatus(ctx, id, status)
			})
		}
		wg.Wait()
		changed := map[string]string{} // task id -> token id of the change
		for i := range n {
			if i%4 == 0 {
				if errs[i] != nil || got[i] == nil || got[i].ID != mine[i].ID || got[i].Status != tasktrack.StatusInProgress {
					t.Fatalf("change %d: %v %+v", i, errs[i], got[i])
				}
				changed[mine[i].ID] = "token-" + strconv.Itoa(i)
				continue
			}
			want := tasktrack.KindNotFound
			if i%4 == 3 {
				want = tasktrack.KindInvalid
			}
			if tasktrack.ErrorKind(errs[i]) != want || got[i] != nil {
				t.Fatalf("change %d: %v %+v, want an error of kind %v", i, errs[i], got[i], want)
			}
		}
		for i, task := range mine {
			now, err := db.Tasks.FindTaskByID(As(ann), task.ID)
			if err != nil {
				t.Fatal(err)
			}
			if want := map[bool]tasktrack.Status{true: tasktrack.StatusInProgress, false: tasktrack.StatusPending}[i%4 == 0]; now.Status != want {
				t.Fatalf("task %d is %s, want %s", i, now.Status, want)
			}
		}
		if now, err := db.Tasks.FindTaskByID(As(bob), theirs.ID); err != nil || now.Status != tasktrack.StatusPending {
			t.Fatalf("bob's task: %v %+v", err, now)
		}
		entries, _, err := db.Audit.FindAuditEntries(System, tasktrack.AuditFilter{Action: tasktrack.ActionTaskStatus, Page: tasktrack.Page{Limit: 1000}})
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != len(changed) {
			t.Fatalf("%d task.status entries, want %d", len(entries), len(changed))
		}
		for _, e := range entries {
			var d struct {
				TokenID string `json:"token_id"`
			}
			if err := json.Unmarshal(e.Details, &d); err != nil || d.TokenID != changed[e.TargetID] {
				t.Fatalf("entry for %s names token %q (%v), want %q", e.TargetID, d.TokenID, err, changed[e.TargetID])
			}
		}
	})
}
