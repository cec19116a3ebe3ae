package httpapi_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"tasktrack"
	. "tasktrack/sqlstore/sqlstoretest"
)

// The task lists answer for the user their token names as this server
// last read them, confirmed in the statement that reads the list. A change
// made elsewhere (the store written directly, as another replica would)
// therefore shows at the very next list: a user deactivated, deleted,
// given a new password or a new role (each of which ends their tokens)
// gets 401. Each list is asked for twice before the change, so that the
// second already comes from the claimed user.
func TestClaimedListsSeeChangesMadeElsewhere(t *testing.T) {
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
		// after: the status of each list afterwards; total: the count of
		// the list of all tasks when it answers 200.
		after, afterMissed int
		total              int
	}{
		{"nothing changes", "user", func(*testing.T, *env, *client) {}, 200, 403, 2},
		{"deactivated elsewhere", "user", func(t *testing.T, ev *env, c *client) {
			if _, err := ev.db.Users.DeactivateUser(asAdmin(ev), c.user.ID); err != nil {
				t.Fatal(err)
			}
		}, 401, 401, 0},
		{"deleted elsewhere", "manager", func(t *testing.T, ev *env, c *client) {
			if err := ev.db.Users.DeleteUser(asAdmin(ev), c.user.ID); err != nil {
				t.Fatal(err)
			}
		}, 401, 401, 0},
		{"password changed elsewhere", "user", func(t *testing.T, ev *env, c *client) {
			pw := "another-password-42"
			if _, err := ev.db.Users.UpdateUser(asAdmin(ev), c.user.ID, tasktrack.UserUpdate{Password: &pw}); err != nil {
				t.Fatal(err)
			}
		}, 401, 401, 0},
		{"promoted elsewhere", "user", setRole("manager"), 401, 401, 0},
		{"demoted elsewhere", "manager", setRole("user"), 401, 401, 0},
	}
	Engines(t, func(t *testing.T, e Engine) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				ev := newEnv(t, e)
				ev.t = t
				caller := ev.newUser("carol", c.role)
				other := ev.newUser("olga", "user")
				if c.role == "user" {
					ev.admin.newTask(caller, "Carol's first", time.Hour)
					ev.admin.newTask(caller, "Carol's second", 2*time.Hour)
				}
				for i := range 3 {
					ev.admin.newTask(other, "Olga's "+strconv.Itoa(i), time.Hour)
				}
				lists := []string{"/api/task/tasks/", "/api/task/tasks/missed/", "/api/task/tasks/?limit=1&offset=50"}
				before := map[string]int{}
				for _, path := range lists {
					for range 2 {
						before[path] = caller.Do("GET", path, nil).Status
					}
				}
				c.change(t, ev, caller)
				r := caller.Do("GET", lists[0], nil)
				if c.after == 401 {
					wantJSON(t, "the list", r, 401, invalid)
					wantJSON(t, "the missed list", caller.Do("GET", lists[1], nil), 401, invalid)
					wantJSON(t, "a page past the end", caller.Do("GET", lists[2], nil), 401, invalid)
					return
				}
				if r.Status != c.after {
					t.Fatalf("the list: %d %s, want %d", r.Status, r.Body, c.after)
				}
				total := c.total
				if got := r.Header.Get("X-Total-Count"); got != strconv.Itoa(total) {
					t.Errorf("the list counts %s, want %d: %s", got, total, r.Body)
				}
				if r := caller.Do("GET", lists[1], nil); r.Status != c.afterMissed {
					t.Errorf("the missed list: %d %s, want %d (before the change: %d)", r.Status, r.Body, c.afterMissed, before[lists[1]])
				}
				if r := caller.Do("GET", lists[2], nil); r.Status != 200 || r.Header.Get("X-Total-Count") != strconv.Itoa(total) {
					t.Errorf("a page past the end: %d %s, count %s, want 200 and %d", r.Status, r.Body, r.Header.Get("X-Total-Count"), total)
				}
			})
		}
	})
}
