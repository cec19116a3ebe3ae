package sqlstore_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"tasktrack"
	"tasktrack/sqlstore"
	. "tasktrack/sqlstore/sqlstoretest"
)

// statusWorld is a database with an endpoint for task.status_changed, ann
// and a task of hers, on a clock that stands still.
type statusWorld struct {
	dsn  string
	db   *sqlstore.DB
	raw  *sql.DB
	ann  *tasktrack.User
	task *tasktrack.Task
}

func newStatusWorld(t *testing.T, e Engine) *statusWorld {
	t.Helper()
	w := &statusWorld{dsn: DSN(t, e)}
	w.db, w.raw = OpenDSN(t, w.dsn), Raw(t, w.dsn)
	w.db.Now = NewClock(t0).Now
	url := "https://hooks.example.com/tasks"
	if _, err := w.db.Webhooks.CreateWebhook(System, tasktrack.WebhookInput{URL: &url,
		Events: []string{tasktrack.EventTaskStatusChanged}}, tasktrack.NewWebhookSecret()); err != nil {
		t.Fatal(err)
	}
	w.ann = MustCreateUser(t, w.db, "ann", "user")
	w.task = MustCreateTask(t, w.db, w.ann, "shared", time.Hour)
	return w
}

// statusLog is what status changes of a task left: its task.status
// entries' details, oldest first, and its task.status_changed events'
// bodies as the sender sends them, in the order of their JSON (written at
// one instant, their ids order them at random).
type statusLog struct {
	entries []map[string]any
	events  []map[string]any
}

func (w *statusWorld) log(t *testing.T, id string) statusLog {
	t.Helper()
	entries, _, err := w.db.Audit.FindAuditEntries(System, tasktrack.AuditFilter{Action: tasktrack.ActionTaskStatus, TargetID: id,
		Page: tasktrack.Page{Limit: tasktrack.MaxLimit}})
	if err != nil {
		t.Fatal(err)
	}
	var l statusLog
	for _, e := range slices.Backward(entries) {
		var d map[string]any
		if err := json.Unmarshal(e.Details, &d); err != nil {
			t.Fatal(err)
		}
		l.entries = append(l.entries, d)
	}
	rows, err := w.raw.Query(`SELECT payload FROM deliveries WHERE kind = 'webhook'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var payload string
		if err := rows.Scan(&payload); err != nil {
			t.Fatal(err)
		}
		raw, _, err := tasktrack.WebhookEventBody([]byte(payload))
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Fatal(err)
		}
		if body["type"] != tasktrack.EventTaskStatusChanged {
			t.Fatalf("a %s event", body["type"])
		}
		if body["data"].(map[string]any)["id"] == id {
			l.events = append(l.events, body)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(l.events, func(a, b map[string]any) int {
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		return strings.Compare(string(ja), string(jb))
	})
	return l
}

// Changes of one task's status racing each other, from two processes,
// each get their answer, and the log tells one story: each entry moves
// the task from where the one before left it, and each change has its
// event, with the task as it made it. (On PostgreSQL a change reads the
// task without a lock and writes only if it is still as read; changes in
// one process take turns, so the races are between the processes.)
func TestRacingStatusChangesOfOneTask(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		w := newStatusWorld(t, e)
		other := OpenDSN(t, w.dsn)
		other.Now = w.db.Now
		dbs := []*sqlstore.DB{w.db, other}
		statuses := []tasktrack.Status{tasktrack.StatusInProgress, tasktrack.StatusCompleted, tasktrack.StatusPending}
		const n = 48
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				want := statuses[i%3]
				got, err := dbs[i%2].Tasks.UpdateTaskStatus(As(w.ann), w.task.ID, want)
				if err != nil || got.ID != w.task.ID || got.Status != want {
					t.Errorf("change %d to %s: %+v, %v", i, want, got, err)
				}
			})
		}
		wg.Wait()
		final, err := w.db.Tasks.FindTaskByID(As(w.ann), w.task.ID)
		if err != nil {
			t.Fatal(err)
		}
		if (final.Status == tasktrack.StatusCompleted) != (final.CompletedAt != nil) {
			t.Errorf("final task %s, completed at %v", final.Status, final.CompletedAt)
		}
		l := w.log(t, w.task.ID)
		if len(l.entries) == 0 || len(l.events) != len(l.entries) {
			t.Fatalf("%d task.status entries and %d task.status_changed events", len(l.entries), len(l.events))
		}
		from := string(tasktrack.StatusPending)
		var to, events []string
		for _, d := range l.entries {
			if d["from"] != from || d["to"] == from {
				t.Fatalf("entries %v: a change from %v to %v after one to %s", l.entries, d["from"], d["to"], from)
			}
			from = d["to"].(string)
			to = append(to, from)
		}
		if from != string(final.Status) {
			t.Errorf("the last entry is to %s; the task is %s", from, final.Status)
		}
		for _, b := range l.events {
			events = append(events, b["data"].(map[string]any)["status"].(string))
		}
		slices.Sort(to)
		slices.Sort(events)
		if !slices.Equal(to, events) {
			t.Errorf("events to %q, entries to %q", events, to)
		}
	})
}

// A status change under the task's lock (where the one without keeps
// losing) answers, logs and announces exactly what the usual one does,
// and refuses what it refuses.
func TestStatusChangeUnderLockIsTheSame(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		w := newStatusWorld(t, e)
		bob := MustCreateUser(t, w.db, "bob", "user")
		other := MustCreateTask(t, w.db, w.ann, "shared", time.Hour)
		type answer struct {
			task *tasktrack.Task
			kind tasktrack.Kind
		}
		changes := []struct {
			as     *tasktrack.User
			status tasktrack.Status
		}{
			{w.ann, tasktrack.StatusInProgress}, {w.ann, tasktrack.StatusInProgress}, {w.ann, tasktrack.StatusCompleted},
			{w.ann, tasktrack.StatusMissed}, {w.ann, "done-ish"}, {bob, tasktrack.StatusPending}, {w.ann, tasktrack.StatusPending},
		}
		// The events the changes of the task to these statuses should
		// carry: the task as the change answered it, rendered in Go.
		var want []map[string]any
		run := func(id string, change func(context.Context, string, tasktrack.Status) (*tasktrack.Task, error)) []answer {
			var out []answer
			for i, c := range changes {
				got, err := change(As(c.as), id, c.status)
				if got != nil {
					if id == w.task.ID && (i == 0 || i == 2 || i == 6) {
						data, _ := json.Marshal(tasktrack.WebhookTaskData(got))
						raw, _ := json.Marshal(tasktrack.WebhookBody{Type: tasktrack.EventTaskStatusChanged,
							Timestamp: tasktrack.WebhookTime(got.UpdatedAt), Data: data})
						var body map[string]any
						if err := json.Unmarshal(raw, &body); err != nil {
							t.Fatal(err)
						}
						want = append(want, body)
					}
					cp := *got
					cp.ID = ""
					got = &cp
				}
				out = append(out, answer{got, tasktrack.ErrorKind(err)})
			}
			return out
		}
		usual := run(w.task.ID, w.db.Tasks.UpdateTaskStatus)
		locked := run(other.ID, w.db.Tasks.UpdateTaskStatusLocked)
		if !reflect.DeepEqual(usual, locked) {
			t.Errorf("answers differ:\nusual  %+v\nlocked %+v", usual, locked)
		}
		a := w.log(t, w.task.ID)
		if len(a.entries) != 3 || len(a.events) != 3 {
			t.Fatalf("%d entries and %d events, want 3 each", len(a.entries), len(a.events))
		}
		for _, e := range a.events {
			if !slices.ContainsFunc(want, func(x map[string]any) bool { return reflect.DeepEqual(x, e) }) {
				t.Errorf("event %v, want one of %v", e, want)
			}
		}
		b := w.log(t, other.ID)
		for _, body := range append(a.events, b.events...) {
			delete(body["data"].(map[string]any), "id")
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("logs differ:\nusual  %+v\nlocked %+v", a, b)
		}
	})
}

// A status change whose event has an endpoint wakes the outbox workers:
// this process's at once, and, on PostgreSQL, another's through the
// database's notification (unless the test PostgreSQL is a transaction
// pooler, where there is no session to LISTEN on; see
// TestPostgresListenReconnects).
func TestStatusChangeWakesOutbox(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		w := newStatusWorld(t, e)
		wait := func(what string, ch <-chan struct{}) {
			t.Helper()
			select {
			case <-ch:
			case <-time.After(30 * time.Second):
				t.Fatalf("no signal: %s", what)
			}
		}
		var other *sqlstore.DB
		if e == Postgres && !isPooled(w.dsn) {
			other = OpenDSN(t, w.dsn)
			ctx, stop := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				other.Listen(ctx)
				close(done)
			}()
			t.Cleanup(func() {
				stop()
				<-done
			})
			wait("listening", other.OutboxChanged()) // caught up once it listens
		}
		for _, st := range []tasktrack.Status{tasktrack.StatusInProgress, tasktrack.StatusCompleted} {
			select {
			case <-w.db.OutboxChanged():
			default:
			}
			if _, err := w.db.Tasks.UpdateTaskStatus(As(w.ann), w.task.ID, st); err != nil {
				t.Fatal(err)
			}
			wait("this process, "+string(st), w.db.OutboxChanged())
			if other != nil {
				wait("another process, "+string(st), other.OutboxChanged())
			}
		}
	})
}
