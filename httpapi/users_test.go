package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"tasktrack"
	. "tasktrack/sqlstore/sqlstoretest"
)

// The user rules that guard the system as a whole: the last admin, no
// cascading deletes, tokens that die with the user's rights, and one audit
// entry for every change.

const usrLastAdmin = `{"detail":"This is the last active admin; make another admin first."}` + "\n"

// usrState is the stored role and active flag of a user, or "absent".
func usrState(t *testing.T, ev *env, id int64) string {
	t.Helper()
	u, err := ev.db.Sessions.AuthUser(context.Background(), id)
	if errors.Is(err, tasktrack.ErrNotFound) {
		return "absent"
	}
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%s active=%v", u.Role.Name, u.IsActive)
}

func TestLastAdminGuard(t *testing.T) {
	actions := []struct {
		name   string
		method string
		suffix string
		body   any
		status int
		after  string // the target's state after the action succeeds
	}{
		{"demote by PATCH", "PATCH", "", map[string]any{"role": "manager"}, 200, "manager active=true"},
		{"demote by PUT", "PUT", "", map[string]any{"role": "user"}, 200, "user active=true"},
		{"deactivate", "POST", "deactivate/", nil, 200, "admin active=false"},
		{"deactivate by PATCH", "PATCH", "", map[string]any{"is_active": false}, 200, "admin active=false"},
		{"delete", "DELETE", "", nil, 204, "absent"},
	}
	Engines(t, func(t *testing.T, e Engine) {
		for _, a := range actions {
			t.Run(a.name, func(t *testing.T) {
				ev := newEnv(t, e)
				admin := ev.admin.user.ID
				path := func(id int64) string { return "/api/user/users/" + itoa(id) + "/" + a.suffix }

				// The only admin.
				r := ev.admin.Do(a.method, path(admin), a.body)
				if r.Status != 409 || r.String() != usrLastAdmin {
					t.Fatalf("the only admin: %d %s", r.Status, r.Body)
				}
				if got := usrState(t, ev, admin); got != "admin active=true" {
					t.Fatalf("refused, but the admin is now %s", got)
				}

				// A second admin who is inactive does not count.
				second := ev.newUser("second", "admin")
				if r := ev.admin.Do("POST", "/api/user/users/"+itoa(second.user.ID)+"/deactivate/", nil); r.Status != 200 {
					t.Fatalf("deactivate the second admin: %d %s", r.Status, r.Body)
				}
				r = ev.admin.Do(a.method, path(admin), a.body)
				if r.Status != 409 || r.String() != usrLastAdmin {
					t.Fatalf("with an inactive second admin: %d %s", r.Status, r.Body)
				}
				if got := usrState(t, ev, admin); got != "admin active=true" {
					t.Fatalf("refused, but the admin is now %s", got)
				}

				// With a second active admin it works.
				if r := ev.admin.Do("POST", "/api/user/users/"+itoa(second.user.ID)+"/reactivate/", nil); r.Status != 200 {
					t.Fatalf("reactivate the second admin: %d %s", r.Status, r.Body)
				}
				second = ev.login("second", userPassword("second"))
				r = second.Do(a.method, path(admin), a.body)
				if r.Status != a.status {
					t.Fatalf("with a second admin: %d %s", r.Status, r.Body)
				}
				if got := usrState(t, ev, admin); got != a.after {
					t.Errorf("after: %s, want %s", got, a.after)
				}
				// Now the second is the last one.
				r = second.Do(a.method, path(second.user.ID), a.body)
				if r.Status != 409 || r.String() != usrLastAdmin {
					t.Errorf("the second, now last: %d %s", r.Status, r.Body)
				}
				if got := usrState(t, ev, second.user.ID); got != "admin active=true" {
					t.Errorf("refused, but the second admin is now %s", got)
				}
			})
		}
	})
}

func TestDeleteUserDoesNotCascade(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ev := newEnv(t, e)
		boss := ev.newUser("boss", "manager")
		alice := ev.newUser("alice", "user")
		bob := ev.newUser("bob", "user")
		first := boss.newTask(alice, "First", time.Hour)
		second := boss.newTask(alice, "Second", 2*time.Hour)
		path := "/api/user/users/" + itoa(alice.user.ID) + "/"
		taskExists := func(id string) bool {
			_, err := ev.db.Tasks.FindTaskByID(System, id)
			return err == nil
		}

		r := ev.admin.Do("DELETE", path, nil)
		if r.Status != 409 || r.String() != `{"detail":"This user still has 2 task(s): reassign or delete their tasks first, or deactivate the user."}`+"\n" {
			t.Fatalf("delete a user with tasks: %d %s", r.Status, r.Body)
		}
		if usrState(t, ev, alice.user.ID) != "user active=true" || !taskExists(first) || !taskExists(second) {
			t.Fatal("a refused delete removed something")
		}
		if r := alice.Do("GET", "/api/user/me/", nil); r.Status != 200 {
			t.Errorf("a refused delete revoked the token: %d", r.Status)
		}
		// A completed task still counts.
		if r := alice.Do("PATCH", "/api/task/tasks/"+first+"/update_status/", map[string]string{"status": "completed"}); r.Status != 200 {
			t.Fatalf("complete: %d", r.Status)
		}
		if r := boss.Do("DELETE", "/api/task/tasks/"+first+"/", nil); r.Status != 204 {
			t.Fatalf("delete task: %d %s", r.Status, r.Body)
		}
		r = ev.admin.Do("DELETE", path, nil)
		if r.Status != 409 || !strings.Contains(r.String(), "still has 1 task(s)") {
			t.Fatalf("with one task left: %d %s", r.Status, r.Body)
		}
		// Once the last task is reassigned, the user can go.
		if r := boss.Do("PATCH", "/api/task/tasks/"+second+"/", map[string]any{"assigned_to": bob.user.ID}); r.Status != 200 {
			t.Fatalf("reassign: %d %s", r.Status, r.Body)
		}
		if r := ev.admin.Do("DELETE", path, nil); r.Status != 204 || len(r.Body) != 0 {
			t.Fatalf("delete a user without tasks: %d %s", r.Status, r.Body)
		}
		if usrState(t, ev, alice.user.ID) != "absent" || !taskExists(second) {
			t.Fatal("after the delete")
		}
		if r := ev.admin.Do("GET", path, nil); r.Status != 404 {
			t.Errorf("deleted user: %d", r.Status)
		}
		if r := ev.admin.Do("DELETE", path, nil); r.Status != 404 {
			t.Errorf("delete twice: %d", r.Status)
		}

		// Deleting the creator of tasks keeps the tasks; they lose only
		// their creator.
		creator := ev.newUser("creator", "manager")
		made := creator.newTask(bob, "Made by creator", time.Hour)
		if r := ev.admin.Do("DELETE", "/api/user/users/"+itoa(creator.user.ID)+"/", nil); r.Status != 204 {
			t.Fatalf("delete the creator: %d %s", r.Status, r.Body)
		}
		r = bob.Do("GET", "/api/task/tasks/"+made+"/", nil)
		if m := r.Object(t); r.Status != 200 || m["created_by"] != nil || m["title"] != "Made by creator" {
			t.Errorf("a task of a deleted creator: %d %s", r.Status, r.Body)
		}
	})
}

// A user's tokens stop working on their next request when the user is
// deactivated (by hand or by the sweep), deleted, or has their password or
// role changed, on every replica: the check is made against the database,
// not against the memory of the process that made the change.
func TestTokensRevokedOnEveryReplica(t *testing.T) {
	triggers := []struct {
		name string
		// act revokes victim's rights; it may use ev.admin and victim.
		act func(t *testing.T, ev, replica *env, victim *client) *response
		// status is what act answers.
		status int
		// password signs the victim in again afterwards; "" when they may not.
		password func(victim *client) string
	}{
		{"deactivation", func(t *testing.T, ev, _ *env, v *client) *response {
			return ev.admin.Do("POST", "/api/user/users/"+itoa(v.user.ID)+"/deactivate/", nil)
		}, 200, nil},
		{"deactivation by update", func(t *testing.T, ev, _ *env, v *client) *response {
			return ev.admin.Do("PATCH", "/api/user/users/"+itoa(v.user.ID)+"/", map[string]any{"is_active": false})
		}, 200, nil},
		{"deactivation by the sweep", func(t *testing.T, ev, replica *env, v *client) *response {
			for i := range 5 {
				ev.admin.newTask(v, fmt.Sprintf("due %d", i), time.Minute)
			}
			ev.clock.Add(2 * time.Minute)
			replica.clock.Add(2 * time.Minute)
			res, err := ev.db.Sweeper.Sweep(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if res.UsersDeactivated != 1 {
				t.Fatalf("sweep: %+v", res)
			}
			return &response{Status: 200}
		}, 200, nil},
		{"deletion", func(t *testing.T, ev, _ *env, v *client) *response {
			return ev.admin.Do("DELETE", "/api/user/users/"+itoa(v.user.ID)+"/", nil)
		}, 204, nil},
		{"password reset by an admin", func(t *testing.T, ev, _ *env, v *client) *response {
			return ev.admin.Do("POST", "/api/user/users/"+itoa(v.user.ID)+"/password/", map[string]any{"password": "reset-by-admin-1"})
		}, 204, func(*client) string { return "reset-by-admin-1" }},
		{"password set by update", func(t *testing.T, ev, _ *env, v *client) *response {
			return ev.admin.Do("PATCH", "/api/user/users/"+itoa(v.user.ID)+"/", map[string]any{"password": "set-by-admin-22"})
		}, 200, func(*client) string { return "set-by-admin-22" }},
		{"own password change", func(t *testing.T, ev, _ *env, v *client) *response {
			return v.Do("POST", "/api/user/me/password/", map[string]any{"old_password": userPassword(v.user.Username), "new_password": "changed-by-self-3"})
		}, 204, func(*client) string { return "changed-by-self-3" }},
		{"role change", func(t *testing.T, ev, _ *env, v *client) *response {
			return ev.admin.Do("PATCH", "/api/user/users/"+itoa(v.user.ID)+"/", map[string]any{"role": "user"})
		}, 200, func(v *client) string { return userPassword(v.user.Username) }},
		{"role change by PUT", func(t *testing.T, ev, _ *env, v *client) *response {
			return ev.admin.Do("PUT", "/api/user/users/"+itoa(v.user.ID)+"/", map[string]any{"role": "admin"})
		}, 200, func(v *client) string { return userPassword(v.user.Username) }},
	}
	Engines(t, func(t *testing.T, e Engine) {
		dsn := DSN(t, e)
		ev := newEnvOn(t, e, dsn)
		// Another server with its own store, auth service and memory,
		// over the same database and secret: a second replica.
		replica := newEnvOn(t, e, dsn)
		on := func(c *client, where *env) *client {
			return where.as(c.Access, c.Refresh, c.user)
		}
		for i, tr := range triggers {
			t.Run(tr.name, func(t *testing.T) {
				name := fmt.Sprintf("victim%d", i)
				victim := ev.newUser(name, "manager")
				other := ev.login(name, userPassword(name)) // a second session
				for _, c := range []*client{victim, other, on(victim, replica)} {
					if r := c.Do("GET", "/api/task/tasks/", nil); r.Status != 200 {
						t.Fatalf("before: %d %s", r.Status, r.Body)
					}
				}
				if r := tr.act(t, ev, replica, victim); r.Status != tr.status {
					t.Fatalf("%s: %d %s", tr.name, r.Status, r.Body)
				}
				for what, c := range map[string]*client{"the token": victim, "another session": other,
					"the token on another replica": on(victim, replica), "another session on another replica": on(other, replica)} {
					r := c.Do("GET", "/api/user/me/", nil)
					if r.Status != 401 || r.Header.Get("WWW-Authenticate") != `Bearer realm="api"` {
						t.Errorf("%s: %d %s", what, r.Status, r.Body)
						continue
					}
					if code := r.Object(t)["code"]; code != "token_not_valid" {
						t.Errorf("%s: code %v in %s", what, code, r.Body)
					}
					if r := c.Do("POST", "/api/token/refresh/", map[string]string{"refresh": c.Refresh}); r.Status != 401 {
						t.Errorf("%s: refresh %d %s", what, r.Status, r.Body)
					}
				}
				// Whoever may still sign in gets working tokens again.
				if tr.password != nil {
					again := replica.login(name, tr.password(victim))
					if r := again.Do("GET", "/api/user/me/", nil); r.Status != 200 {
						t.Errorf("signed in again: %d", r.Status)
					}
				} else if r := replica.anon().Do("POST", "/api/token/", map[string]string{"username": name, "password": userPassword(name)}); r.Status != 401 {
					t.Errorf("signs in after %s: %d", tr.name, r.Status)
				}
			})
		}
		// Changes that take no rights away leave the tokens alone.
		t.Run("other changes keep the token", func(t *testing.T) {
			victim := ev.newUser("keeper", "manager")
			id := itoa(victim.user.ID)
			for _, body := range []map[string]any{
				{"first_name": "Kee", "last_name": "Per", "email": "keeper@example.com"},
				{"role": "manager"},
				{"is_active": true},
			} {
				if r := ev.admin.Do("PATCH", "/api/user/users/"+id+"/", body); r.Status != 200 {
					t.Fatalf("update %v: %d %s", body, r.Status, r.Body)
				}
			}
			if r := ev.admin.Do("POST", "/api/user/users/"+id+"/reactivate/", nil); r.Status != 400 {
				t.Fatalf("reactivate an active user: %d %s", r.Status, r.Body)
			}
			for _, c := range []*client{victim, on(victim, replica)} {
				if r := c.Do("GET", "/api/user/me/", nil); r.Status != 200 {
					t.Errorf("after changes that take no rights: %d %s", r.Status, r.Body)
				}
			}
		})
		// A manager demoted to user keeps no manager rights through an old
		// token, on any replica.
		t.Run("a demoted manager's old token", func(t *testing.T) {
			boss := ev.newUser("demoted", "manager")
			alice := ev.newUser("worker", "user")
			if r := ev.admin.Do("PATCH", "/api/user/users/"+itoa(boss.user.ID)+"/", map[string]any{"role": "user"}); r.Status != 200 {
				t.Fatalf("demote: %d", r.Status)
			}
			body := map[string]any{"title": "Still boss?", "deadline": ev.clock.Now().Add(time.Hour).Format(time.RFC3339), "assigned_to": alice.user.ID}
			for _, c := range []*client{boss, on(boss, replica)} {
				if r := c.Do("POST", "/api/task/tasks/", body); r.Status != 401 {
					t.Errorf("create a task with the old token: %d %s", r.Status, r.Body)
				}
			}
			if r := ev.login("demoted", userPassword("demoted")).Do("POST", "/api/task/tasks/", body); r.Status != 403 {
				t.Errorf("create a task as a user: %d %s", r.Status, r.Body)
			}
		})
	})
}

// usrAudit is an audit entry as the API answers it.
type usrAudit struct {
	ID    int64 `json:"id"`
	Actor *struct {
		ID       int64  `json:"id"`
		Username string `json:"username"`
	} `json:"actor"`
	Action     string          `json:"action"`
	TargetType string          `json:"target_type"`
	TargetID   *string         `json:"target_id"`
	Details    json.RawMessage `json:"details"`
	At         string          `json:"at"`
}

// usrAuditList reads GET /api/audit/?query as admin.
func usrAuditList(t *testing.T, ev *env, query string) ([]usrAudit, string) {
	t.Helper()
	r := ev.admin.Do("GET", "/api/audit/?"+query, nil)
	if r.Status != 200 {
		t.Fatalf("audit ?%s: %d %s", query, r.Status, r.Body)
	}
	var entries []usrAudit
	r.Decode(t, &entries)
	return entries, r.Header.Get("X-Total-Count")
}

func usrAuditIDs(entries []usrAudit) []int64 {
	ids := make([]int64, len(entries))
	for i, e := range entries {
		ids[i] = e.ID
	}
	return ids
}

// Every change in API.md's audit list writes exactly one entry, with the
// right action, actor and target, found by each filter; a refused or empty
// change writes none.
func TestAuditEntries(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ev := newEnv(t, e)
		boss := ev.newUser("boss", "manager")
		alice := ev.newUser("alice", "user")
		carol := ev.newUser("carol", "user")
		var task, doomed, soon string
		var dave int64
		admin := ev.admin
		uid := func(c *client) string { return itoa(c.user.ID) }
		steps := []struct {
			name    string
			setup   func(t *testing.T) // before the entries are counted
			act     func(t *testing.T) *response
			status  int
			action  string        // "" when nothing may be written
			actor   *client       // nil for no actor
			target  func() string // the target id; "" for none
			typ     string
			details string // the exact details; "" for any
		}{
			{"login", nil, func(t *testing.T) *response {
				return ev.anon().Do("POST", "/api/token/", map[string]string{"username": "alice", "password": userPassword("alice")})
			}, 200, "auth.login", alice, func() string { return uid(alice) }, "user", ""},
			{"failed login", nil, func(t *testing.T) *response {
				return ev.anon().Do("POST", "/api/token/", map[string]string{"username": "alice", "password": "wrong-password"})
			}, 401, "auth.login_failed", nil, func() string { return uid(alice) }, "user", ""},
			{"failed login of an unknown user", nil, func(t *testing.T) *response {
				return ev.anon().Do("POST", "/api/token/", map[string]string{"username": "nobody", "password": "wrong-password"})
			}, 401, "auth.login_failed", nil, func() string { return "" }, "user", ""},
			{"user create", nil, func(t *testing.T) *response {
				r := admin.Do("POST", "/api/user/users/", map[string]string{"username": "dave", "password": "dave-password-1"})
				if r.Status == 201 {
					dave = int64(r.Object(t)["id"].(float64))
				}
				return r
			}, 201, "user.create", admin, func() string { return itoa(dave) }, "user", `{"role":"user","username":"dave"}`},
			{"user update", nil, func(t *testing.T) *response {
				return admin.Do("PATCH", "/api/user/users/"+uid(carol)+"/", map[string]any{"first_name": "Carol"})
			}, 200, "user.update", admin, func() string { return uid(carol) }, "user", `{"first_name":"Carol"}`},
			{"role change", nil, func(t *testing.T) *response {
				return admin.Do("PATCH", "/api/user/users/"+uid(carol)+"/", map[string]any{"role": "manager"})
			}, 200, "user.role", admin, func() string { return uid(carol) }, "user", `{"from":"user","to":"manager"}`},
			{"deactivate", nil, func(t *testing.T) *response {
				return admin.Do("POST", "/api/user/users/"+uid(carol)+"/deactivate/", nil)
			}, 200, "user.deactivate", admin, func() string { return uid(carol) }, "user", `{"reason":"manual"}`},
			{"refused reactivation of a manager by a manager", nil, func(t *testing.T) *response {
				return boss.Do("POST", "/api/user/users/"+uid(carol)+"/reactivate/", nil)
			}, 403, "", nil, nil, "", ""},
			{"role change back", nil, func(t *testing.T) *response {
				return admin.Do("PATCH", "/api/user/users/"+uid(carol)+"/", map[string]any{"role": "user"})
			}, 200, "user.role", admin, func() string { return uid(carol) }, "user", `{"from":"manager","to":"user"}`},
			{"reactivate by a manager", nil, func(t *testing.T) *response {
				return boss.Do("POST", "/api/user/users/"+uid(carol)+"/reactivate/", nil)
			}, 200, "user.reactivate", boss, func() string { return uid(carol) }, "user", ""},
			{"deactivate by update", nil, func(t *testing.T) *response {
				return admin.Do("PATCH", "/api/user/users/"+uid(carol)+"/", map[string]any{"is_active": false})
			}, 200, "user.deactivate", admin, func() string { return uid(carol) }, "user", `{"reason":"manual"}`},
			{"reactivate by update", nil, func(t *testing.T) *response {
				return admin.Do("PATCH", "/api/user/users/"+uid(carol)+"/", map[string]any{"is_active": true})
			}, 200, "user.reactivate", admin, func() string { return uid(carol) }, "user", ""},
			{"password reset", nil, func(t *testing.T) *response {
				return admin.Do("POST", "/api/user/users/"+uid(carol)+"/password/", map[string]any{"password": "carol-reset-pass"})
			}, 204, "user.password", admin, func() string { return uid(carol) }, "user", `{"by":"admin"}`},
			{"password set by update", nil, func(t *testing.T) *response {
				return admin.Do("PATCH", "/api/user/users/"+uid(carol)+"/", map[string]any{"password": userPassword("carol")})
			}, 200, "user.password", admin, func() string { return uid(carol) }, "user", `{"by":"admin"}`},
			{"own password change", func(t *testing.T) {
				carol = ev.login("carol", userPassword("carol"))
			}, func(t *testing.T) *response {
				return carol.Do("POST", "/api/user/me/password/", map[string]any{"old_password": userPassword("carol"), "new_password": "carol-own-pass-9"})
			}, 204, "user.password", carol, func() string { return uid(carol) }, "user", `{"by":"self"}`},
			{"task create", nil, func(t *testing.T) *response {
				r := boss.Do("POST", "/api/task/tasks/", map[string]any{"title": "Audited", "deadline": ev.clock.Now().Add(time.Hour).Format(time.RFC3339), "assigned_to": alice.user.ID})
				if r.Status == 201 {
					task = r.Object(t)["id"].(string)
				}
				return r
			}, 201, "task.create", boss, func() string { return task }, "task", ""},
			{"task update", nil, func(t *testing.T) *response {
				return boss.Do("PATCH", "/api/task/tasks/"+task+"/", map[string]any{"title": "Audited again"})
			}, 200, "task.update", boss, func() string { return task }, "task", `{"title":"Audited again"}`},
			{"status by the assignee", nil, func(t *testing.T) *response {
				return alice.Do("PATCH", "/api/task/tasks/"+task+"/update_status/", map[string]any{"status": "in_progress"})
			}, 200, "task.status", alice, func() string { return task }, "task", `{"from":"pending","to":"in_progress"}`},
			{"status by PATCH", nil, func(t *testing.T) *response {
				return boss.Do("PATCH", "/api/task/tasks/"+task+"/", map[string]any{"status": "completed"})
			}, 200, "task.status", boss, func() string { return task }, "task", `{"from":"in_progress","to":"completed"}`},
			{"task delete", func(t *testing.T) {
				doomed = boss.newTask(alice, "Doomed", time.Hour)
			}, func(t *testing.T) *response {
				return boss.Do("DELETE", "/api/task/tasks/"+doomed+"/", nil)
			}, 204, "task.delete", boss, func() string { return doomed }, "task", ""},
			{"user delete", nil, func(t *testing.T) *response {
				return admin.Do("DELETE", "/api/user/users/"+itoa(dave)+"/", nil)
			}, 204, "user.delete", admin, func() string { return itoa(dave) }, "user", `{"username":"dave"}`},
			{"missed by the sweep", func(t *testing.T) {
				soon = boss.newTask(alice, "Soon", time.Second)
			}, func(t *testing.T) *response {
				ev.clock.Add(2 * time.Second)
				if _, err := ev.db.Sweeper.Sweep(context.Background()); err != nil {
					t.Fatal(err)
				}
				return &response{Status: 200}
			}, 200, "task.missed", nil, func() string { return soon }, "task", `{"to":"missed"}`},
			// Refused and empty changes write nothing.
			{"refused status change", nil, func(t *testing.T) *response {
				return alice.Do("PATCH", "/api/task/tasks/"+soon+"/update_status/", map[string]any{"status": "completed"})
			}, 409, "", nil, nil, "", ""},
			{"refused user create", nil, func(t *testing.T) *response {
				return boss.Do("POST", "/api/user/users/", map[string]string{"username": "eve", "password": "eve-password-1"})
			}, 403, "", nil, nil, "", ""},
			{"invalid task update", nil, func(t *testing.T) *response {
				return boss.Do("PATCH", "/api/task/tasks/"+task+"/", map[string]any{"title": ""})
			}, 400, "", nil, nil, "", ""},
			{"update that changes nothing", nil, func(t *testing.T) *response {
				return boss.Do("PATCH", "/api/task/tasks/"+task+"/", map[string]any{"title": "Audited again"})
			}, 200, "", nil, nil, "", ""},
			{"same status again", nil, func(t *testing.T) *response {
				return boss.Do("PATCH", "/api/task/tasks/"+task+"/update_status/", map[string]any{"status": "completed"})
			}, 200, "", nil, nil, "", ""},
		}
		for _, s := range steps {
			t.Run(s.name, func(t *testing.T) {
				if s.setup != nil {
					s.setup(t)
				}
				_, before := usrAuditList(t, ev, "limit=1")
				if r := s.act(t); r.Status != s.status {
					t.Fatalf("%d %s", r.Status, r.Body)
				}
				newest, after := usrAuditList(t, ev, "limit=1")
				var b, a int
				fmt.Sscan(before, &b)
				fmt.Sscan(after, &a)
				if s.action == "" {
					if a != b {
						t.Fatalf("%d entries written: %s", a-b, newest[0].Action)
					}
					return
				}
				if a-b != 1 {
					t.Fatalf("%d entries written, want 1", a-b)
				}
				got := newest[0]
				target := s.target()
				if got.Action != s.action || got.TargetType != s.typ {
					t.Errorf("entry %s on %s, want %s on %s", got.Action, got.TargetType, s.action, s.typ)
				}
				if (got.TargetID == nil) != (target == "") || (got.TargetID != nil && *got.TargetID != target) {
					t.Errorf("target %v, want %q", got.TargetID, target)
				}
				if s.actor == nil && got.Actor != nil {
					t.Errorf("actor %+v, want none", *got.Actor)
				}
				if s.actor != nil && (got.Actor == nil || got.Actor.ID != s.actor.user.ID || got.Actor.Username != s.actor.user.Username) {
					t.Errorf("actor %+v, want %s", got.Actor, s.actor.user.Username)
				}
				if s.details != "" && string(got.Details) != s.details {
					t.Errorf("details %s, want %s", got.Details, s.details)
				}
				if got.At != ev.clock.Now().Format("2006-01-02T15:04:05.000000Z") {
					t.Errorf("at %s, want %s", got.At, ev.clock.Now())
				}
				for _, secret := range []string{"carol-reset-pass", "carol-own-pass-9", "dave-password-1", "wrong-password", userPassword("alice")} {
					if strings.Contains(string(got.Details), secret) {
						t.Errorf("details hold a password: %s", got.Details)
					}
				}
				// Every filter finds it.
				queries := []string{"action=" + s.action, "action=" + s.action + "&limit=1000"}
				if target != "" {
					queries = append(queries, "target_id="+target+"&limit=1000", "action="+s.action+"&target_id="+target)
				}
				if s.actor != nil {
					queries = append(queries, "actor="+itoa(s.actor.user.ID)+"&limit=1000", "actor="+itoa(s.actor.user.ID)+"&action="+s.action)
				}
				for _, q := range queries {
					entries, total := usrAuditList(t, ev, q)
					if !slices.Contains(usrAuditIDs(entries), got.ID) {
						t.Errorf("?%s does not find entry %d", q, got.ID)
					}
					if total != fmt.Sprint(len(entries)) && strings.Contains(q, "limit=1000") {
						t.Errorf("?%s: X-Total-Count %s for %d entries", q, total, len(entries))
					}
					for _, en := range entries {
						if strings.Contains(q, "action=") && en.Action != s.action ||
							strings.Contains(q, "target_id=") && (en.TargetID == nil || *en.TargetID != target) ||
							strings.Contains(q, "actor=") && (en.Actor == nil || en.Actor.ID != s.actor.user.ID) {
							t.Errorf("?%s answers entry %+v", q, en)
						}
					}
				}
			})
		}
		// The list is newest first, and the same entry is counted once per
		// change: alice's status changes on the task are exactly one.
		entries, total := usrAuditList(t, ev, "action=task.status&target_id="+task+"&actor="+itoa(alice.user.ID))
		if total != "1" || len(entries) != 1 {
			t.Errorf("alice's status entries on the task: %s", total)
		}
		all, _ := usrAuditList(t, ev, "limit=1000")
		if !slices.IsSortedFunc(all, func(a, b usrAudit) int { return int(b.ID - a.ID) }) {
			t.Error("the audit log is not newest first")
		}
	})
}
