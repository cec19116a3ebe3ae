package httpapi_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	. "tasktrack/sqlstore/sqlstoretest"
)

// historyLines reads a history page as "action by actor (assignee) details".
func historyLines(t *testing.T, r *response) []string {
	t.Helper()
	if r.Status != 200 {
		t.Fatalf("history: %d %s", r.Status, r.Body)
	}
	var events []struct {
		Action string `json:"action"`
		Actor  *struct{ Username string }
		Assign *struct{ Username string } `json:"assignee"`
		Detail map[string]any             `json:"details"`
	}
	r.Decode(t, &events)
	out := make([]string, len(events))
	for i, e := range events {
		actor, assignee := "system", "-"
		if e.Actor != nil {
			actor = e.Actor.Username
		}
		if e.Assign != nil {
			assignee = e.Assign.Username
		}
		keys := make([]string, 0, len(e.Detail))
		for _, k := range []string{"assigned_to", "deadline", "description", "from", "title", "to"} {
			if v, ok := e.Detail[k]; ok && k != "deadline" && k != "assigned_to" {
				keys = append(keys, fmt.Sprintf("%s=%v", k, v))
			} else if ok {
				keys = append(keys, k)
			}
		}
		out[i] = fmt.Sprintf("%s by %s (%s) %s", e.Action, actor, assignee, strings.Join(keys, ","))
	}
	return out
}

// A task's history: who created it, assigned it, moved it and changed
// its deadline, and that the sweep missed it, by name, oldest first, for
// whoever may see the task.
func TestTaskHistory(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ev := newEnv(t, e)
		maria := ev.newUser("maria", "manager")
		alice := ev.newUser("alice", "user")
		bob := ev.newUser("bob", "user")
		id := maria.newTask(alice, "Report", 2*time.Hour)
		path := "/api/task/tasks/" + id + "/history/"

		if r := maria.Do("PATCH", "/api/task/tasks/"+id+"/", map[string]any{
			"deadline": ev.clock.Now().Add(3 * time.Hour).Format(time.RFC3339), "assigned_to": bob.user.ID,
		}); r.Status != 200 {
			t.Fatalf("reassign: %d %s", r.Status, r.Body)
		}
		if r := bob.Do("PATCH", "/api/task/tasks/"+id+"/update_status/", map[string]string{"status": "in_progress"}); r.Status != 200 {
			t.Fatalf("status: %d %s", r.Status, r.Body)
		}
		ev.clock.Add(4 * time.Hour)
		if _, err := ev.db.Sweeper.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
		// Hours on, everyone signs in afresh.
		maria, bob = ev.login("maria", userPassword("maria")), ev.login("bob", userPassword("bob"))
		alice = ev.login("alice", userPassword("alice"))
		ev.admin = ev.login("admin", adminPassword)
		if r := maria.Do("PATCH", "/api/task/tasks/"+id+"/", map[string]any{
			"deadline": ev.clock.Now().Add(time.Hour).Format(time.RFC3339), "title": "Report, again",
		}); r.Status != 200 {
			t.Fatalf("reopen: %d %s", r.Status, r.Body)
		}
		want := []string{
			"task.create by maria (alice) assigned_to,deadline,title=Report",
			"task.update by maria (bob) assigned_to,deadline",
			"task.status by bob (-) from=pending,to=in_progress",
			"task.missed by system (-) to=missed",
			"task.update by maria (-) deadline,title=Report, again",
			"task.reopen by maria (-) from=missed,to=pending",
		}
		for _, c := range []*client{maria, ev.admin, bob} {
			got := historyLines(t, c.Do("GET", path, nil))
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("history as %s:\n%s\nwant\n%s", c.user.Username, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		}

		// Pages, oldest first.
		r := maria.Do("GET", path+"?limit=2&offset=2", nil)
		if got := historyLines(t, r); strings.Join(got, "\n") != strings.Join(want[2:4], "\n") || r.Header.Get("X-Total-Count") != "6" ||
			!strings.Contains(r.Header.Get("Link"), `rel="next"`) || !strings.Contains(r.Header.Get("Link"), `rel="prev"`) {
			t.Errorf("page 2: %v, total %s, Link %s", got, r.Header.Get("X-Total-Count"), r.Header.Get("Link"))
		}
		wantBody(t, "bad limit", maria.Do("GET", path+"?limit=0", nil), 400, `{"limit":["Enter a whole number from 1 to 1000."]}`)

		// The task is no longer alice's: its history is not hers to see.
		wantBody(t, "former assignee", alice.Do("GET", path, nil), 404, `{"detail":"Not found."}`)
		for _, p := range []string{"/api/task/tasks/0193a5b2-7c4e-7d21-9f3a-2b6c8e1d4f50/history/", "/api/task/tasks/nope/history/"} {
			wantBody(t, p, maria.Do("GET", p, nil), 404, `{"detail":"Not found."}`)
		}

		// An assignee who is gone can no longer be named.
		if r := ev.admin.Do("DELETE", "/api/user/users/"+itoa(alice.user.ID)+"/", nil); r.Status != 204 {
			t.Fatalf("delete alice: %d %s", r.Status, r.Body)
		}
		if got := historyLines(t, maria.Do("GET", path+"?limit=1", nil)); len(got) != 1 || got[0] != "task.create by maria (-) assigned_to,deadline,title=Report" {
			t.Errorf("after alice was deleted: %v", got)
		}
	})
}

// A user's standing counts misses as the sweep does: deadlines within the
// window and after the last reactivation.
func TestUserStanding(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ev := newEnv(t, e)
		maria := ev.newUser("maria", "manager")
		alice := ev.newUser("alice", "user")
		maria.newTask(alice, "first", time.Hour)
		maria.newTask(alice, "second", 2*time.Hour)
		maria.newTask(alice, "open", 30*24*time.Hour)
		path := "/api/user/users/" + itoa(alice.user.ID) + "/standing/"
		standing := func(what string, missed int, since time.Time) {
			t.Helper()
			maria = ev.login("maria", userPassword("maria")) // the clock moves by hours
			want := fmt.Sprintf(`{"missed_in_window":%d,"threshold":5,"window_seconds":604800,"counted_since":"%s"}`,
				missed, since.UTC().Format("2006-01-02T15:04:05.000000Z"))
			wantBody(t, what, maria.Do("GET", path, nil), 200, want)
		}
		standing("no misses", 0, ev.clock.Now().Add(-7*24*time.Hour))

		ev.clock.Add(3 * time.Hour)
		if _, err := ev.db.Sweeper.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
		standing("two misses", 2, ev.clock.Now().Add(-7*24*time.Hour))
		// The first deadline (t0+1h) is the window's first instant, then
		// out of it.
		ev.clock.Set(t0.Add(7*24*time.Hour + time.Hour))
		standing("the first at the window's edge", 2, t0.Add(time.Hour))
		ev.clock.Add(time.Microsecond)
		standing("the first out of the window", 1, t0.Add(time.Hour+time.Microsecond))

		// A reactivation starts the count afresh.
		ev.clock.Set(t0.Add(4 * time.Hour))
		ev.admin, maria = ev.login("admin", adminPassword), ev.login("maria", userPassword("maria"))
		if r := ev.admin.Do("POST", "/api/user/users/"+itoa(alice.user.ID)+"/deactivate/", nil); r.Status != 200 {
			t.Fatalf("deactivate: %d %s", r.Status, r.Body)
		}
		if r := maria.Do("POST", "/api/user/users/"+itoa(alice.user.ID)+"/reactivate/", nil); r.Status != 200 {
			t.Fatalf("reactivate: %d %s", r.Status, r.Body)
		}
		reactivated := ev.clock.Now()
		ev.clock.Add(time.Hour)
		standing("after reactivation", 0, reactivated)

		// Admins are never deactivated by the sweep.
		wantBody(t, "admin", maria.Do("GET", "/api/user/users/"+itoa(ev.admin.user.ID)+"/standing/", nil), 200,
			fmt.Sprintf(`{"missed_in_window":0,"threshold":null,"window_seconds":604800,"counted_since":"%s"}`,
				ev.clock.Now().Add(-7*24*time.Hour).Format("2006-01-02T15:04:05.000000Z")))
		wantBody(t, "unknown user", maria.Do("GET", "/api/user/users/999999/standing/", nil), 404, `{"detail":"Not found."}`)
	})
}

// Search matches the assignee's username as well as the title and
// description, in every list, and counts what it lists.
func TestTaskSearchMatchesAssignee(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ev := newEnv(t, e)
		maria := ev.newUser("maria", "manager")
		dana := ev.newUser("dana", "user")
		erik := ev.newUser("erik", "user")
		maria.newTask(dana, "Inventory", time.Hour)
		maria.newTask(erik, "Plan the Danube trip", 2*time.Hour)
		maria.newTask(erik, "Report", 3*time.Hour)
		cases := []struct {
			who    *client
			search string
			want   string
		}{
			{maria, "dan", "Inventory,Plan the Danube trip"},
			{maria, "DANA", "Inventory"},
			{maria, "erik", "Plan the Danube trip,Report"},
			{maria, "ri", "Plan the Danube trip,Report"},
			{maria, "nobody", ""},
			{dana, "dan", "Inventory"},
			{dana, "erik", ""},
			{erik, "dan", "Plan the Danube trip"},
			{erik, "erik", "Plan the Danube trip,Report"},
			{erik, "er%", ""},
		}
		for _, c := range cases {
			r := c.who.Do("GET", "/api/task/tasks/?search="+url.QueryEscape(c.search), nil)
			var tasks []struct{ Title string }
			r.Decode(t, &tasks)
			titles := make([]string, len(tasks))
			for i, task := range tasks {
				titles[i] = task.Title
			}
			if got := strings.Join(titles, ","); got != c.want || r.Header.Get("X-Total-Count") != fmt.Sprint(len(tasks)) {
				t.Errorf("%s searching %q: %q (total %s), want %q", c.who.user.Username, c.search, got, r.Header.Get("X-Total-Count"), c.want)
			}
		}
	})
}
