package httpapi_test

import (
	"bufio"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"tasktrack"
	. "tasktrack/sqlstore/sqlstoretest"
)

// An event stream ends when its caller's credentials do, and sends nothing
// after: a manager whose stream is open is deactivated, deleted or demoted,
// or their token expires, and then the sweep raises an alert. Changes made
// through this server end the stream at once; changes made elsewhere (the
// store written directly, as another replica would) are caught before the
// next write.
func TestStreamEndsWithCredentials(t *testing.T) {
	asAdmin := func(ev *env) context.Context {
		return tasktrack.NewContextWithActor(context.Background(), ev.admin.user)
	}
	cases := []struct {
		name   string
		change func(t *testing.T, ev *env, mgr *client)
		// atOnce: the stream ends before the sweep.
		atOnce bool
		// alert: the stream delivers the sweep's alert (nothing changed).
		alert bool
	}{
		{"nothing changes", func(*testing.T, *env, *client) {}, false, true},
		{"deactivated through the API", func(t *testing.T, ev *env, mgr *client) {
			if r := ev.admin.Do("POST", "/api/user/users/"+itoa(mgr.user.ID)+"/deactivate/", nil); r.Status != 200 {
				t.Fatalf("deactivate: %d %s", r.Status, r.Body)
			}
		}, true, false},
		{"demoted through the API", func(t *testing.T, ev *env, mgr *client) {
			if r := ev.admin.Do("PATCH", "/api/user/users/"+itoa(mgr.user.ID)+"/", map[string]any{"role": "user"}); r.Status != 200 {
				t.Fatalf("demote: %d %s", r.Status, r.Body)
			}
		}, true, false},
		{"deactivated elsewhere", func(t *testing.T, ev *env, mgr *client) {
			if _, err := ev.db.Users.DeactivateUser(asAdmin(ev), mgr.user.ID); err != nil {
				t.Fatal(err)
			}
		}, false, false},
		{"deleted elsewhere", func(t *testing.T, ev *env, mgr *client) {
			if err := ev.db.Users.DeleteUser(asAdmin(ev), mgr.user.ID); err != nil {
				t.Fatal(err)
			}
		}, false, false},
		{"demoted elsewhere", func(t *testing.T, ev *env, mgr *client) {
			role := "user"
			if _, err := ev.db.Users.UpdateUser(asAdmin(ev), mgr.user.ID, tasktrack.UserUpdate{Role: &role}); err != nil {
				t.Fatal(err)
			}
		}, false, false},
		{"token expired", func(t *testing.T, ev *env, mgr *client) {
			ev.clock.Add(5*time.Minute + time.Second)
		}, false, false},
	}
	Engines(t, func(t *testing.T, e Engine) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				ev := newEnv(t, e)
				ev.t = t
				mgr := ev.newUser("maria", "manager")
				worker := ev.newUser("sam", "user")
				taskID := ev.admin.newTask(worker, "Due soon", time.Minute)
				st := openEventStream(t, mgr, "/api/alerts/stream/", "")

				c.change(t, ev, mgr)
				if c.atOnce {
					st.wantEnd(t)
				}
				ev.clock.Add(2 * time.Minute)
				if res, err := ev.db.Sweeper.Sweep(context.Background()); err != nil || res.TasksMissed != 1 {
					t.Fatalf("sweep: %+v %v", res, err)
				}
				if c.alert {
					if data := st.wantAlert(t); !strings.Contains(data, taskID) {
						t.Errorf("alert about another task: %s", data)
					}
					return
				}
				st.wantEnd(t)
			})
		}
	})
}

// An idle stream ends when its token expires, without waiting for an
// alert or a heartbeat.
func TestStreamEndsAtTokenExpiry(t *testing.T) {
	ev := newEnv(t, SQLite)
	mgr := ev.newUser("maria", "manager")
	// The token, issued now for 5 minutes, has 50 ms left.
	ev.clock.Add(5*time.Minute - 50*time.Millisecond)
	st := openEventStream(t, mgr, "/api/alerts/stream/", "")
	st.wantEnd(t)
}

// testStream is an open event stream whose lines arrive on lines, closed
// when the server ends the stream.
type testStream struct {
	lines chan string
}

// A manager's alert stream passes over the alerts only admins see: more of
// them in a row than one read returns (100) must not stop it, and the
// next alert a manager may see still arrives.
func TestStreamPassesAlertsTheCallerMayNotSee(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		dsn := DSN(t, e)
		ev := newEnvOn(t, e, dsn)
		mgr := ev.newUser("maria", "manager")
		worker := ev.newUser("sam", "user")
		st := openEventStream(t, mgr, "/api/alerts/stream/", "")
		raw := Raw(t, dsn)
		// As many webhook_disabled alerts as one and a half reads.
		for i := range 150 {
			id, err := uuid.NewV7()
			if err != nil {
				t.Fatal(err)
			}
			q := `INSERT INTO alerts (id, kind, user_id, username, created_at, webhook_id, webhook_url)
				VALUES ($1, 'webhook_disabled', $2, 'admin', $3, $4, 'http://127.0.0.1:9/hook')`
			if _, err := raw.Exec(q, id.String(), ev.admin.user.ID, int64(1000+i), id.String()); err != nil {
				t.Fatal(err)
			}
		}
		ev.admin.newTask(worker, "Report", time.Minute)
		ev.clock.Add(2 * time.Minute)
		if res, err := ev.db.Sweeper.Sweep(context.Background()); err != nil || res.TasksMissed != 1 {
			t.Fatalf("sweep: %+v %v", res, err)
		}
		if data := st.wantAlert(t); !strings.Contains(data, `"kind":"task_missed"`) {
			t.Fatalf("the manager's stream sent %s", data)
		}
	})
}

// openEventStream opens the event stream at path as c, resuming after
// lastID when set, and waits for its first comment; it is closed at the
// end of the test.
func openEventStream(t *testing.T, c *client, path, lastID string) *testStream {
	t.Helper()
	res := c.Stream(t, path, "Last-Event-ID", lastID)
	if res.StatusCode != 200 {
		t.Fatalf("stream: %d", res.StatusCode)
	}
	ctx := res.Request.Context()
	st := &testStream{lines: make(chan string, 100)}
	go func() {
		defer res.Body.Close()
		defer close(st.lines)
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			select {
			case st.lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
	}()
	if line := st.next(t); !strings.HasPrefix(line, ": connected") {
		t.Fatalf("stream's first line %q", line)
	}
	return st
}

// next returns the next line, failing the test if none comes within 10 s
// or the stream has ended.
func (st *testStream) next(t *testing.T) string {
	t.Helper()
	select {
	case line, ok := <-st.lines:
		if !ok {
			t.Fatal("the stream ended")
		}
		return line
	case <-time.After(10 * time.Second):
		t.Fatal("no line on the stream within 10 s")
		return ""
	}
}

// wantAlert waits for an alert event and returns its data.
func (st *testStream) wantAlert(t *testing.T) string {
	t.Helper()
	for {
		if line := st.next(t); line == "event: alert" {
			for {
				if data, ok := strings.CutPrefix(st.next(t), "data: "); ok {
					return data
				}
			}
		}
	}
}

// wantEnd waits for the server to end the stream, failing the test if an
// event arrives first or the stream is still open after 10 s.
func (st *testStream) wantEnd(t *testing.T) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case line, ok := <-st.lines:
			if !ok {
				return
			}
			if strings.HasPrefix(line, "event:") {
				t.Fatalf("%q was sent after the caller's credentials ended", line)
			}
		case <-deadline:
			t.Fatal("the stream is still open 10 s after the caller's credentials ended")
		}
	}
}
