package httpapi_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"tasktrack"
	. "tasktrack/sqlstore/sqlstoretest"
)

// The task lists, a status change and a creation answer for the user
// their token names as this server last read them, confirmed in the
// statement that reads the list or the task (or the batch's assignees). A
// change made elsewhere (the store written directly, as another replica
// would) therefore shows at the very next request: a user deactivated,
// deleted, given a new password or a new role (each of which ends their
// tokens) gets 401, and nothing is written. Each request is made before
// the change too, so that the server has the user to claim.
func TestClaimedRequestsSeeChangesMadeElsewhere(t *testing.T) {
	asAdmin := func(ev *env) context.Context {
		return tasktrack.NewContextWithActor(context.Background(), ev.admin.user)
	}
	setRole := func(role string) func(*testing.T, *env, *client) {
		return func(t *testing.T, ev *env, c *client) {
			if _, err := ev.db.Users.UpdateUser(asAdmin(ev), c.user.ID, tasktrack.UserUpdate{Role: &role}); err != nil {
				t.Fatal(err)
			}
		}
	}
	const invalid = `{"detail": "Given token not valid for any token type", "code": "token_not_valid"}`
	cases := []struct {
		name   string
		role   string // the caller's role before the change
		change func(t *testing.T, ev *env, c *client)
		ends   bool // the change ends the caller's tokens
	}{
		{"nothing changes, a user", "user", func(*testing.T, *env, *client) {}, false},
		{"nothing changes, a manager", "manager", func(*testing.T, *env, *client) {}, false},
		{"deactivated elsewhere", "user", func(t *testing.T, ev *env, c *client) {
			if _, err := ev.db.Users.DeactivateUser(asAdmin(ev), c.user.ID); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"deleted elsewhere", "manager", func(t *testing.T, ev *env, c *client) {
			if err := ev.db.Users.DeleteUser(asAdmin(ev), c.user.ID); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"password changed elsewhere", "manager", func(t *testing.T, ev *env, c *client) {
			pw := "another-password-42"
			if _, err := ev.db.Users.UpdateUser(asAdmin(ev), c.user.ID, tasktrack.UserUpdate{Password: &pw}); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"promoted elsewhere", "user", setRole("manager"), true},
		{"demoted elsewhere", "manager", setRole("user"), true},
	}
	Engines(t, func(t *testing.T, e Engine) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				ev := newEnv(t, e)
				ev.t = t
				caller := ev.newUser("carol", c.role)
				other := ev.newUser("olga", "user")
				owner := other
				if c.role == "user" {
					owner = caller
				}
				mine := ev.admin.newTask(owner, "First", time.Hour)
				ev.admin.newTask(owner, "Second", 2*time.Hour)
				ev.admin.newTask(other, "Olga's", time.Hour)
				lists := []string{"/api/task/tasks/", "/api/task/tasks/missed/", "/api/task/tasks/?limit=1&offset=50"}
				status := func(st string) *response {
					return caller.Do("PATCH", "/api/task/tasks/"+mine+"/update_status/", map[string]any{"status": st})
				}
				create := func() *response {
					return caller.Do("POST", "/api/task/tasks/", map[string]any{"title": "Made by carol", "description": "",
						"deadline": ev.clock.Now().Add(time.Hour).UTC().Format(time.RFC3339), "assigned_to": other.user.ID})
				}
				before := map[string]int{}
				for range 2 {
					for _, path := range lists {
						before[path] = caller.Do("GET", path, nil).Status
					}
					before["status"] = status("in_progress").Status
					before["create"] = create().Status
				}
				total := func() string {
					return ev.admin.Do("GET", "/api/task/tasks/", nil).Header.Get("X-Total-Count")
				}
				tasksBefore := total()
				c.change(t, ev, caller)
				if c.ends {
					wantJSON(t, "the list", caller.Do("GET", lists[0], nil), 401, invalid)
					wantJSON(t, "the missed list", caller.Do("GET", lists[1], nil), 401, invalid)
					wantJSON(t, "a page past the end", caller.Do("GET", lists[2], nil), 401, invalid)
					wantJSON(t, "a status change", status("completed"), 401, invalid)
					wantJSON(t, "a creation", create(), 401, invalid)
					if r := ev.admin.Do("GET", "/api/task/tasks/"+mine+"/", nil); r.Object(t)["status"] != "in_progress" {
						t.Errorf("the refused status change was written: %s", r.Body)
					}
					if got := total(); got != tasksBefore {
						t.Errorf("the refused creation was written: %s tasks, were %s", got, tasksBefore)
					}
					return
				}
				for _, path := range lists {
					if r := caller.Do("GET", path, nil); r.Status != before[path] {
						t.Errorf("%s: %d %s, was %d", path, r.Status, r.Body, before[path])
					}
				}
				if r := status("completed"); r.Status != before["status"] {
					t.Errorf("the status change: %d %s, was %d", r.Status, r.Body, before["status"])
				}
				if r := create(); r.Status != before["create"] {
					t.Errorf("the creation: %d %s, was %d", r.Status, r.Body, before["create"])
				}
			})
		}
	})
}

// When the claimed user turns out out of date but the token still holds
// (here the username changed in the store, which the API never does), the
// request is answered as if authenticated in full: on the user as stored
// now, with the body it was sent. So is a request refused for its body.
func TestClaimedRequestsRetriedOnTheStoredUser(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		dsn := DSN(t, e)
		ev := newEnvOn(t, e, dsn)
		mgr := ev.newUser("maria", "manager")
		worker := ev.newUser("sam", "user")
		id := ev.admin.newTask(worker, "First", time.Hour)
		create := func(title string) *response {
			return mgr.Do("POST", "/api/task/tasks/", map[string]any{"title": title, "description": "",
				"deadline": ev.clock.Now().Add(time.Hour).UTC().Format(time.RFC3339), "assigned_to": worker.user.ID})
		}
		for range 2 {
			worker.Do("GET", "/api/task/tasks/", nil)
			create("Warm")
		}
		for _, u := range []*client{mgr, worker} {
			if _, err := Raw(t, dsn).Exec("UPDATE users SET username = username || '2', username_key = username_key || '2' WHERE id = $1", u.user.ID); err != nil {
				t.Fatal(err)
			}
		}
		r := worker.Do("GET", "/api/task/tasks/", nil)
		if r.Status != 200 || !strings.Contains(string(r.Body), `"assigned_to_username":"sam2"`) || strings.Contains(string(r.Body), `"sam"`) {
			t.Errorf("the list after the rename: %d %s", r.Status, r.Body)
		}
		r = worker.Do("PATCH", "/api/task/tasks/"+id+"/update_status/", map[string]any{"status": "in_progress"})
		if r.Status != 200 || r.Object(t)["status"] != "in_progress" {
			t.Errorf("the status change after the rename: %d %s", r.Status, r.Body)
		}
		r = create("After the rename")
		if r.Status != 201 || r.Object(t)["title"] != "After the rename" {
			t.Fatalf("the creation after the rename: %d %s", r.Status, r.Body)
		}
		// The audit entry names the user as stored now.
		entries := ev.admin.Do("GET", "/api/audit/?action=task.create&limit=1", nil)
		if !strings.Contains(string(entries.Body), `"maria2"`) {
			t.Errorf("the creation's audit entry: %s", entries.Body)
		}
		// Refused for the body, claimed or not: the same answer, from the
		// same body read again.
		for range 2 {
			wantJSON(t, "a bad status", worker.Do("PATCH", "/api/task/tasks/"+id+"/update_status/", map[string]any{"status": "bogus"}), 400,
				`{"status": ["\"bogus\" is not a valid choice."]}`)
			wantJSON(t, "a bad creation", mgr.Do("POST", "/api/task/tasks/", map[string]any{"title": "", "deadline": "soon", "assigned_to": worker.user.ID}), 400, "")
		}
		if got := ev.admin.Do("GET", "/api/task/tasks/?limit=1", nil).Header.Get("X-Total-Count"); got != strconv.Itoa(4) {
			t.Errorf("%s tasks, want 4 (1 + 2 warm + 1)", got)
		}
	})
}
