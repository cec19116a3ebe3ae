package httpapi_test

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	. "tasktrack/sqlstore/sqlstoretest"
)

// Personal access tokens: making, listing and revoking them, what each
// scope opens, what no token opens, how they die, and the limit on
// guessing them.

// newPAT makes a personal access token as c and returns a client that
// sends it, and the token's id.
func (c *client) newPAT(name string, scopes ...string) (*client, string) {
	c.env.t.Helper()
	r := c.Do("POST", "/api/user/me/tokens/", map[string]any{"name": name, "scopes": scopes})
	if r.Status != 201 {
		c.env.t.Fatalf("create token %s: %d %s", name, r.Status, r.Body)
	}
	m := r.Object(c.env.t)
	return c.env.as(m["token"].(string), "", c.user), m["id"].(string)
}

// on returns a copy of c that talks to the server of env e.
func (c *client) on(e *env) *client {
	return e.as(c.Access, c.Refresh, c.user)
}

// wantJSON fails unless r has the status and, as JSON, the body want
// (an empty want: any body).
func wantJSON(t *testing.T, what string, r *response, status int, want string) {
	t.Helper()
	var got, exp any
	if err := json.Unmarshal(r.Body, &got); err != nil && want != "" {
		t.Errorf("%s: %d %q is not JSON", what, r.Status, r.Body)
		return
	}
	if want != "" {
		if err := json.Unmarshal([]byte(want), &exp); err != nil {
			t.Fatalf("%s: the test's want %q: %v", what, want, err)
		}
	}
	if r.Status != status || (want != "" && !reflect.DeepEqual(got, exp)) {
		t.Errorf("%s: %d %s, want %d %s", what, r.Status, r.Body, status, want)
	}
}

func scopeError(scope string) string {
	return `{"detail": "This token does not have the \"` + scope + `\" scope.", "code": "insufficient_scope"}`
}

const sessionError = `{"detail": "This needs a login session: sign in with your password. A personal access token cannot do it.", "code": "login_session_required"}`

// randomPAT is a well-formed token that matches none.
func randomPAT() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return "tt_pat_" + base64.RawURLEncoding.EncodeToString(b)
}

func TestPersonalTokenLifecycle(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ev := newEnv(t, e)
		alice := ev.newUser("alice", "user")
		exp := t0.Add(90 * 24 * time.Hour)
		r := alice.Do("POST", "/api/user/me/tokens/", map[string]any{"name": "  CI deploy  ", "scopes": []string{"write", "read", "read"}, "expires_at": exp.Format(time.RFC3339)})
		if r.Status != 201 {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
		created := r.Object(t)
		secret, _ := created["token"].(string)
		id, _ := created["id"].(string)
		if !strings.HasPrefix(secret, "tt_pat_") || len(secret) != len("tt_pat_")+43 {
			t.Errorf("token %q: want tt_pat_ and 43 characters of base64", secret)
		}
		if _, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(secret, "tt_pat_")); err != nil {
			t.Errorf("token %q: %v", secret, err)
		}
		wantToken := fmt.Sprintf(`{"id": %q, "name": "CI deploy", "scopes": ["read", "write"], "created_at": "2026-03-02T09:00:00.000000Z",
			"expires_at": "2026-05-31T09:00:00.000000Z", "last_used_at": null}`, id)
		delete(created, "token")
		wantJSON(t, "create", &response{Status: r.Status, Body: mustJSON(t, created)}, 201, wantToken)

		// The secret is shown once: the list never holds it.
		ev.clock.Add(time.Second)
		_, second := alice.newPAT("calendar app", "calendar")
		r = alice.Do("GET", "/api/user/me/tokens/", nil)
		if r.Status != 200 || r.Header.Get("X-Total-Count") != "2" || strings.Contains(string(r.Body), secret) || strings.Contains(string(r.Body), `"token"`) {
			t.Fatalf("list: %d %v %s", r.Status, r.Header, r.Body)
		}
		var list []map[string]any
		r.Decode(t, &list)
		if len(list) != 2 || list[0]["id"] != second || list[1]["id"] != id {
			t.Fatalf("list, newest first: %s", r.Body)
		}
		if r := alice.Do("GET", "/api/user/me/tokens/?limit=1&offset=1", nil); r.Status != 200 || !strings.Contains(string(r.Body), id) || strings.Contains(string(r.Body), second) {
			t.Fatalf("second page: %d %s", r.Status, r.Body)
		}

		// Another person can neither see nor revoke it.
		bob := ev.newUser("bob", "user")
		wantJSON(t, "bob revokes alice's token", bob.Do("DELETE", "/api/user/me/tokens/"+id+"/", nil), 404, `{"detail": "Not found."}`)
		wantJSON(t, "bob lists alice's tokens", bob.Do("GET", "/api/user/users/"+itoa(alice.user.ID)+"/tokens/", nil), 403, `{"detail": "You do not have permission to perform this action."}`)
		wantJSON(t, "a token id that is not a UUID", alice.Do("DELETE", "/api/user/me/tokens/42/", nil), 404, `{"detail": "Not found."}`)

		wantJSON(t, "revoke", alice.Do("DELETE", "/api/user/me/tokens/"+id+"/", nil), 204, "")
		wantJSON(t, "revoke again", alice.Do("DELETE", "/api/user/me/tokens/"+id+"/", nil), 404, `{"detail": "Not found."}`)
		if r := alice.Do("GET", "/api/user/me/tokens/", nil); r.Header.Get("X-Total-Count") != "1" || strings.Contains(string(r.Body), id) {
			t.Fatalf("list after revoking: %s", r.Body)
		}

		// Admins see and revoke anyone's; managers do not.
		mgr := ev.newUser("maria", "manager")
		wantJSON(t, "a manager lists a user's tokens", mgr.Do("GET", "/api/user/users/"+itoa(alice.user.ID)+"/tokens/", nil), 403, `{"detail": "You do not have permission to perform this action."}`)
		wantJSON(t, "a manager revokes a user's token", mgr.Do("DELETE", "/api/user/users/"+itoa(alice.user.ID)+"/tokens/"+second+"/", nil), 403, `{"detail": "You do not have permission to perform this action."}`)
		if r := ev.admin.Do("GET", "/api/user/users/"+itoa(alice.user.ID)+"/tokens/", nil); r.Status != 200 || r.Header.Get("X-Total-Count") != "1" || !strings.Contains(string(r.Body), second) {
			t.Fatalf("admin lists: %d %s", r.Status, r.Body)
		}
		wantJSON(t, "admin lists a user who does not exist", ev.admin.Do("GET", "/api/user/users/999999/tokens/", nil), 404, `{"detail": "Not found."}`)
		wantJSON(t, "admin revokes another user's token under the wrong user", ev.admin.Do("DELETE", "/api/user/users/"+itoa(bob.user.ID)+"/tokens/"+second+"/", nil), 404, `{"detail": "Not found."}`)
		wantJSON(t, "admin revokes", ev.admin.Do("DELETE", "/api/user/users/"+itoa(alice.user.ID)+"/tokens/"+second+"/", nil), 204, "")

		// Every step is in the audit log.
		r = ev.admin.Do("GET", "/api/audit/?target_id="+second, nil)
		var entries []struct {
			Action  string
			Actor   struct{ Username string }
			Details map[string]any
		}
		r.Decode(t, &entries)
		if len(entries) != 2 || entries[0].Action != "token.revoke" || entries[0].Actor.Username != "admin" ||
			entries[1].Action != "token.create" || entries[1].Actor.Username != "alice" || entries[1].Details["name"] != "calendar app" {
			t.Fatalf("audit: %s", r.Body)
		}
	})
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPersonalTokenValidation(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ev := newEnv(t, e)
		cases := []struct {
			name   string
			body   string
			status int
			want   string
		}{
			{"nothing", `{}`, 400, `{"name": ["This field is required."], "scopes": ["This field is required."]}`},
			{"blank name", `{"name": "  ", "scopes": ["read"]}`, 400, `{"name": ["This field may not be blank."]}`},
			{"name of 101", `{"name": "` + strings.Repeat("é", 101) + `", "scopes": ["read"]}`, 400, `{"name": ["Ensure this field has no more than 100 characters."]}`},
			{"name not a string", `{"name": 7, "scopes": ["read"]}`, 400, `{"name": ["Not a valid string."]}`},
			{"no scopes", `{"name": "x", "scopes": []}`, 400, `{"scopes": ["Choose at least one scope: read, write or calendar."]}`},
			{"scopes a string", `{"name": "x", "scopes": "read"}`, 400, `{"scopes": ["Expected a list of items but got type \"str\"."]}`},
			{"scopes null", `{"name": "x", "scopes": null}`, 400, `{"scopes": ["Expected a list of items but got type \"null\"."]}`},
			{"a scope not a string", `{"name": "x", "scopes": [1]}`, 400, `{"scopes": ["Not a valid string."]}`},
			{"unknown scope", `{"name": "x", "scopes": ["read", "admin"]}`, 400, `{"scopes": ["\"admin\" is not a valid choice: read, write or calendar."]}`},
			{"many unknown scopes", `{"name": "x", "scopes": ["a", "b", "write", "c"]}`, 400,
				`{"scopes": ["\"a\" is not a valid choice: read, write or calendar.", "The \"write\" scope needs \"read\" as well."]}`},
			{"write without read", `{"name": "x", "scopes": ["write", "calendar"]}`, 400, `{"scopes": ["The \"write\" scope needs \"read\" as well."]}`},
			{"expiry now", `{"name": "x", "scopes": ["read"], "expires_at": "` + t0.Format(time.RFC3339) + `"}`, 400, `{"expires_at": ["The expiry must be in the future."]}`},
			{"expiry not a time", `{"name": "x", "scopes": ["read"], "expires_at": "tomorrow"}`, 400,
				`{"expires_at": ["Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."]}`},
			{"not JSON", `name=x`, 415, ``},
			{"name of 100", `{"name": "` + strings.Repeat("é", 100) + `", "scopes": ["calendar"]}`, 201, ``},
			{"expiry null", `{"name": "x", "scopes": ["read"], "expires_at": null}`, 201, ``},
			{"expiry with an offset", `{"name": "x", "scopes": ["read"], "expires_at": "` + t0.Add(time.Hour).In(time.FixedZone("", -5*3600)).Format(time.RFC3339) + `"}`, 201, ``},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				var headers []string
				if c.status == 415 {
					headers = []string{"Content-Type", "application/x-www-form-urlencoded"}
				}
				r := ev.admin.Do("POST", "/api/user/me/tokens/", c.body, headers...)
				if c.want != "" || r.Status != c.status {
					wantJSON(t, c.name, r, c.status, c.want)
				}
			})
		}
		r := ev.admin.Do("GET", "/api/user/me/tokens/", nil)
		var list []map[string]any
		r.Decode(t, &list)
		if len(list) != 3 || list[0]["expires_at"] != t0.Add(time.Hour).Format("2006-01-02T15:04:05.000000Z") || list[1]["expires_at"] != nil {
			t.Fatalf("made: %s", r.Body)
		}
	})
}

// Every scope against every class of endpoint, with an admin's token so
// that the role never decides.
func TestPersonalTokenScopes(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ev := newEnv(t, e)
		alice := ev.newUser("alice", "user")
		taskID := ev.admin.newTask(alice, "Scoped", 48*time.Hour)
		const (
			read     = "read"
			write    = "write"
			calendar = "calendar"
			session  = "session" // no token, whatever its scopes
			none     = ""        // the token is not a credential here
		)
		rows := []struct {
			class, method, path string
			body                any
			need                string
			status              int // when the token may
		}{
			{"read", "GET", "/api/task/tasks/", nil, read, 200},
			{"read", "GET", "/api/user/me/", nil, read, 200},
			{"read", "GET", "/api/task/tasks/" + taskID + "/", nil, read, 200},
			{"write", "PATCH", "/api/task/tasks/" + taskID + "/update_status/", map[string]string{"status": "in_progress"}, write, 200},
			{"write", "POST", "/api/task/tasks/", map[string]any{"title": "By token", "deadline": t0.Add(time.Hour).Format(time.RFC3339), "assigned_to": alice.user.ID}, write, 201},
			{"write", "PATCH", "/api/user/users/" + itoa(alice.user.ID) + "/", map[string]string{"first_name": "Alice"}, write, 200},
			{"token management", "GET", "/api/user/me/tokens/", nil, read, 200},
			{"token management", "GET", "/api/user/users/" + itoa(alice.user.ID) + "/tokens/", nil, read, 200},
			{"token management", "DELETE", "/api/user/me/tokens/0193c2d4-5e6f-7a81-9b2c-3d4e5f607182/", nil, write, 404},
			{"token management", "POST", "/api/user/me/tokens/", map[string]any{"name": "more", "scopes": []string{"read"}}, session, 0},
			{"password", "POST", "/api/user/me/password/", map[string]string{"old_password": adminPassword, "new_password": "taken-over-42"}, session, 0},
			{"password", "POST", "/api/user/users/" + itoa(alice.user.ID) + "/password/", map[string]string{"password": "taken-over-42"}, session, 0},
			{"password", "PATCH", "/api/user/users/" + itoa(alice.user.ID) + "/", map[string]string{"password": "taken-over-42"}, write + "+" + session, 0},
			{"token refresh", "POST", "/api/token/refresh/", map[string]string{"refresh": ev.admin.Refresh}, session, 0},
			{"logout", "POST", "/api/token/logout/", map[string]string{"refresh": ev.admin.Refresh}, session, 0},
			{"calendar", "GET", "/api/calendar/", nil, calendar, 200},
			{"calendar", "POST", "/api/calendar/rotate/", nil, calendar, 200},
			{"calendar", "GET", "/api/calendar/not-a-secret/tasks.ics", nil, none, 404},
		}
		scopeSets := [][]string{{read}, {read, write}, {calendar}, {read, write, calendar}}
		for _, scopes := range scopeSets {
			pat, _ := ev.admin.newPAT(strings.Join(scopes, "+"), scopes...)
			for _, row := range rows {
				what := fmt.Sprintf("%v: %s %s %s", scopes, row.class, row.method, row.path)
				r := pat.Do(row.method, row.path, row.body)
				switch {
				case row.need == session:
					wantJSON(t, what, r, 403, sessionError)
				case row.need == write+"+"+session && slices.Contains(scopes, write):
					wantJSON(t, what, r, 403, sessionError)
				case row.need == write+"+"+session:
					wantJSON(t, what, r, 403, scopeError(write))
				case row.need == none || slices.Contains(scopes, row.need):
					if r.Status != row.status {
						t.Errorf("%s: %d %s, want %d", what, r.Status, r.Body, row.status)
					}
				default:
					wantJSON(t, what, r, 403, scopeError(row.need))
				}
			}
		}
		// Nothing refused changed anything: the password is the same, and
		// the admin's session still refreshes.
		ev.login("admin", adminPassword)
		ev.login("alice", userPassword("alice"))
		if r := ev.anon().Do("POST", "/api/token/refresh/", map[string]string{"refresh": ev.admin.Refresh}); r.Status != 200 {
			t.Fatalf("the admin's refresh token after the refused refreshes and logouts: %d %s", r.Status, r.Body)
		}
		// A token in place of the refresh token is no refresh token.
		pat, _ := ev.admin.newPAT("as refresh", read, write)
		for _, path := range []string{"/api/token/refresh/", "/api/token/logout/"} {
			wantJSON(t, "a token as the refresh token of "+path, ev.anon().Do("POST", path, map[string]string{"refresh": pat.Access}), 403, sessionError)
		}
	})
}

// A token acts with its owner's role: write does not let a user do what
// users may not.
func TestUserTokenCannotCreateTasks(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ev := newEnv(t, e)
		alice := ev.newUser("alice", "user")
		bob := ev.newUser("bob", "user")
		own := ev.admin.newTask(alice, "Hers", 48*time.Hour)
		other := ev.admin.newTask(bob, "His", 48*time.Hour)
		pat, _ := alice.newPAT("everything", "read", "write", "calendar")
		wantJSON(t, "create a task", pat.Do("POST", "/api/task/tasks/", map[string]any{"title": "x", "deadline": t0.Add(time.Hour).Format(time.RFC3339), "assigned_to": alice.user.ID}),
			403, `{"detail": "You do not have permission to perform this action."}`)
		wantJSON(t, "list users", pat.Do("GET", "/api/user/users/", nil), 403, `{"detail": "You do not have permission to perform this action."}`)
		wantJSON(t, "another's task", pat.Do("GET", "/api/task/tasks/"+other+"/", nil), 404, `{"detail": "Not found."}`)
		if r := pat.Do("PATCH", "/api/task/tasks/"+own+"/update_status/", map[string]string{"status": "completed"}); r.Status != 200 {
			t.Fatalf("her own task's status: %d %s", r.Status, r.Body)
		}
		if r := pat.Do("GET", "/api/task/tasks/", nil); r.Status != 200 || r.Header.Get("X-Total-Count") != "1" {
			t.Fatalf("her list: %d %s", r.Status, r.Body)
		}
	})
}

// Changes made through a token are the owner's, and their audit entries
// name the token.
func TestPersonalTokenAudit(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ev := newEnv(t, e)
		mgr := ev.newUser("maria", "manager")
		alice := ev.newUser("alice", "user")
		pat, tokenID := mgr.newPAT("script", "read", "write")
		byToken := pat.newTask(alice, "By token", time.Hour)
		bySession := mgr.newTask(alice, "By session", time.Hour)
		if r := pat.Do("PATCH", "/api/task/tasks/"+bySession+"/update_status/", map[string]string{"status": "in_progress"}); r.Status != 200 {
			t.Fatalf("status by token: %d %s", r.Status, r.Body)
		}
		type entry struct {
			Action   string
			TargetID string `json:"target_id"`
			Actor    struct {
				ID       int64
				Username string
			}
			Details map[string]any
		}
		var entries []entry
		ev.admin.Do("GET", "/api/audit/?actor="+itoa(mgr.user.ID), nil).Decode(t, &entries)
		got := map[string]entry{}
		for _, en := range entries {
			got[en.Action+" "+en.TargetID] = en
		}
		for key, wantToken := range map[string]bool{
			"task.create " + byToken: true, "task.create " + bySession: false, "task.status " + bySession: true,
		} {
			en, ok := got[key]
			if !ok {
				t.Errorf("%s: no entry in %v", key, entries)
				continue
			}
			if en.Actor.ID != mgr.user.ID {
				t.Errorf("%s: actor %v", key, en.Actor)
			}
			if id, has := en.Details["token_id"]; has != wantToken || (wantToken && id != tokenID) {
				t.Errorf("%s: details %v, want token_id %v: %v", key, en.Details, wantToken, tokenID)
			}
		}
	})
}

// Revocation, expiry, deactivation and deletion each refuse the token's
// very next request, on this server and on another over the same
// database.
func TestPersonalTokenEnds(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		dsn := DSN(t, e)
		ev := newEnvOn(t, e, dsn)
		replica := newEnvOn(t, e, dsn)
		triggers := []struct {
			name string
			act  func(t *testing.T, owner *client, tokenID string)
		}{
			{"revoked by its owner", func(t *testing.T, owner *client, id string) {
				wantJSON(t, "revoke", owner.Do("DELETE", "/api/user/me/tokens/"+id+"/", nil), 204, "")
			}},
			{"revoked by an admin on the other replica", func(t *testing.T, owner *client, id string) {
				wantJSON(t, "revoke", replica.admin.Do("DELETE", "/api/user/users/"+itoa(owner.user.ID)+"/tokens/"+id+"/", nil), 204, "")
			}},
			{"owner deactivated on the other replica", func(t *testing.T, owner *client, id string) {
				wantJSON(t, "deactivate", replica.admin.Do("POST", "/api/user/users/"+itoa(owner.user.ID)+"/deactivate/", nil), 200, `{"status": "User deactivated"}`)
			}},
			{"owner deleted", func(t *testing.T, owner *client, id string) {
				wantJSON(t, "delete", ev.admin.Do("DELETE", "/api/user/users/"+itoa(owner.user.ID)+"/", nil), 204, "")
			}},
			// Last: moving the clocks ends the admins' sessions too.
			{"expired", func(t *testing.T, owner *client, id string) {
				ev.clock.Add(2 * time.Hour)
				replica.clock.Add(2 * time.Hour)
			}},
		}
		for i, tr := range triggers {
			t.Run(tr.name, func(t *testing.T) {
				owner := ev.newUser(fmt.Sprintf("owner%d", i), "manager")
				r := owner.Do("POST", "/api/user/me/tokens/", map[string]any{"name": "ci", "scopes": []string{"read", "write"},
					"expires_at": ev.clock.Now().Add(time.Hour).Format(time.RFC3339Nano)})
				if r.Status != 201 {
					t.Fatalf("create: %d %s", r.Status, r.Body)
				}
				m := r.Object(t)
				pat := ev.as(m["token"].(string), "", owner.user)
				for _, c := range []*client{pat, pat.on(replica)} {
					if r := c.Do("GET", "/api/user/me/", nil); r.Status != 200 {
						t.Fatalf("before: %d %s", r.Status, r.Body)
					}
				}
				tr.act(t, owner, m["id"].(string))
				for what, c := range map[string]*client{"here": pat, "on the other replica": pat.on(replica)} {
					r := c.Do("GET", "/api/user/me/", nil)
					wantJSON(t, what, r, 401, `{"detail": "Given token not valid for any token type", "code": "token_not_valid"}`)
					if r.Header.Get("WWW-Authenticate") != `Bearer realm="api"` {
						t.Errorf("%s: WWW-Authenticate %q", what, r.Header.Get("WWW-Authenticate"))
					}
				}
			})
		}
	})
}

// A deactivation ends a token for good: reactivating its owner does not
// bring it back, and it leaves the owner's list.
func TestPersonalTokenStaysDeadAfterReactivation(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ev := newEnv(t, e)
		alice := ev.newUser("alice", "user")
		pat, _ := alice.newPAT("old", "read")
		wantJSON(t, "deactivate", ev.admin.Do("POST", "/api/user/users/"+itoa(alice.user.ID)+"/deactivate/", nil), 200, `{"status": "User deactivated"}`)
		ev.clock.Add(time.Minute)
		wantJSON(t, "reactivate", ev.admin.Do("POST", "/api/user/users/"+itoa(alice.user.ID)+"/reactivate/", nil), 200, `{"status": "User reactivated"}`)
		wantJSON(t, "the old token", pat.Do("GET", "/api/user/me/", nil), 401, `{"detail": "Given token not valid for any token type", "code": "token_not_valid"}`)
		alice = ev.login("alice", userPassword("alice"))
		if r := alice.Do("GET", "/api/user/me/tokens/", nil); r.Status != 200 || r.Header.Get("X-Total-Count") != "0" {
			t.Fatalf("list after reactivation: %d %s", r.Status, r.Body)
		}
		ev.clock.Add(time.Second)
		fresh, _ := alice.newPAT("new", "read")
		if r := fresh.Do("GET", "/api/user/me/", nil); r.Status != 200 {
			t.Fatalf("a token made after reactivation: %d %s", r.Status, r.Body)
		}
	})
}

// A role change narrows what a token may do at its next request; the token
// itself lives on (unlike the owner's JWTs, which the change ends).
func TestPersonalTokenFollowsRole(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		dsn := DSN(t, e)
		ev := newEnvOn(t, e, dsn)
		replica := newEnvOn(t, e, dsn)
		mgr := ev.newUser("maria", "manager")
		alice := ev.newUser("alice", "user")
		pat, _ := mgr.newPAT("script", "read", "write")
		pat.newTask(alice, "Before", time.Hour)
		if r := pat.Do("GET", "/api/task/tasks/", nil); r.Status != 200 || r.Header.Get("X-Total-Count") != "1" {
			t.Fatalf("a manager's list: %d %s", r.Status, r.Body)
		}
		wantJSON(t, "demote", replica.admin.Do("PATCH", "/api/user/users/"+itoa(mgr.user.ID)+"/", map[string]string{"role": "user"}), 200, "")
		for what, c := range map[string]*client{"here": pat, "on the other replica": pat.on(replica)} {
			wantJSON(t, what+": create", c.Do("POST", "/api/task/tasks/", map[string]any{"title": "After", "deadline": t0.Add(time.Hour).Format(time.RFC3339), "assigned_to": alice.user.ID}),
				403, `{"detail": "You do not have permission to perform this action."}`)
			if r := c.Do("GET", "/api/task/tasks/", nil); r.Status != 200 || r.Header.Get("X-Total-Count") != "0" {
				t.Errorf("%s: a user's list: %d %s", what, r.Status, r.Body)
			}
			wantJSON(t, what+": missed", c.Do("GET", "/api/task/tasks/missed/", nil), 403, `{"detail": "You do not have permission to perform this action."}`)
		}
	})
}

// A token's use is recorded at most once a minute, however often it is
// used, on however many replicas.
func TestPersonalTokenLastUsed(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		dsn := DSN(t, e)
		ev := newEnvOn(t, e, dsn)
		replica := newEnvOn(t, e, dsn)
		alice := ev.newUser("alice", "user")
		pat, _ := alice.newPAT("script", "read")
		lastUsed := func() any {
			t.Helper()
			var list []map[string]any
			alice.Do("GET", "/api/user/me/tokens/", nil).Decode(t, &list)
			return list[0]["last_used_at"]
		}
		if got := lastUsed(); got != nil {
			t.Fatalf("before any use: %v", got)
		}
		stamp := func(d time.Duration) string { return t0.Add(d).Format("2006-01-02T15:04:05.000000Z") }
		steps := []struct {
			at   time.Duration
			on   *env
			want string
		}{
			{0, ev, stamp(0)},
			{10 * time.Second, ev, stamp(0)},
			{59 * time.Second, replica, stamp(0)},
			{60 * time.Second, replica, stamp(60 * time.Second)},
			{90 * time.Second, ev, stamp(60 * time.Second)},
			{121 * time.Second, ev, stamp(121 * time.Second)},
		}
		for _, s := range steps {
			ev.clock.Set(t0.Add(s.at))
			replica.clock.Set(t0.Add(s.at))
			for range 3 {
				if r := pat.on(s.on).Do("GET", "/api/user/me/", nil); r.Status != 200 {
					t.Fatalf("at %v: %d %s", s.at, r.Status, r.Body)
				}
			}
			if got := lastUsed(); got != s.want {
				t.Errorf("after uses at %v: last_used_at %v, want %s", s.at, got, s.want)
			}
		}
	})
}

// Guessing tokens is limited like guessing passwords: wrong tokens count
// as failed logins of the address, and an address over the limit gets 429
// for every token until it recovers, the right one included.
func TestPersonalTokenGuessing(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ev := newEnv(t, e)
		alice := ev.newUser("alice", "user")
		pat, _ := alice.newPAT("script", "read")
		guesser := pat.via("127.0.0.7")
		first429 := 0
		for i := 1; i <= 50; i++ {
			guess := randomPAT()
			if i%10 == 0 {
				guess = "tt_pat_short" // malformed ones count too
			}
			guesser.Access = guess
			r := guesser.Do("GET", "/api/task/tasks/", nil)
			if r.Status == 429 {
				first429 = i
				wantJSON(t, "limited", r, 429, `{"detail": "Too many failed authentication attempts. Try again later."}`)
				if r.Header.Get("Retry-After") == "" {
					t.Error("429 without Retry-After")
				}
				break
			}
			wantJSON(t, fmt.Sprintf("guess %d", i), r, 401, `{"detail": "Given token not valid for any token type", "code": "token_not_valid"}`)
		}
		if first429 == 0 || first429 >= 50 {
			t.Fatalf("the first 429 came at guess %d, want before the 50th", first429)
		}
		guesser.Access = pat.Access
		if r := guesser.Do("GET", "/api/task/tasks/", nil); r.Status != 429 {
			t.Errorf("the right token from the limited address: %d %s", r.Status, r.Body)
		}
		if r := pat.via("127.0.0.8").Do("GET", "/api/task/tasks/", nil); r.Status != 200 {
			t.Errorf("the right token from another address: %d %s", r.Status, r.Body)
		}
		if r := alice.via("127.0.0.7").Do("GET", "/api/task/tasks/", nil); r.Status != 200 {
			t.Errorf("a login session from the limited address: %d %s", r.Status, r.Body)
		}
		// The address recovers with time.
		ev.clock.Add(10 * time.Minute)
		if r := guesser.Do("GET", "/api/task/tasks/", nil); r.Status != 200 {
			t.Errorf("the right token after the limit's period: %d %s", r.Status, r.Body)
		}
		// A revoked token is no guess: a script still sending one does not
		// lock out its address.
		alice = ev.login("alice", userPassword("alice"))
		old, id := alice.newPAT("forgotten", "read")
		wantJSON(t, "revoke", alice.Do("DELETE", "/api/user/me/tokens/"+id+"/", nil), 204, "")
		old = old.via("127.0.0.9")
		for i := range 30 {
			if r := old.Do("GET", "/api/task/tasks/", nil); r.Status != 401 {
				t.Fatalf("revoked token, use %d: %d %s", i+1, r.Status, r.Body)
			}
		}
		if r := pat.via("127.0.0.9").Do("GET", "/api/task/tasks/", nil); r.Status != 200 {
			t.Errorf("after a revoked token's uses, the address: %d %s", r.Status, r.Body)
		}
	})
}

// An alert stream opened with a token lives as long as the token.
func TestPersonalTokenStream(t *testing.T) {
	ev := newEnv(t, SQLite)
	mgr := ev.newUser("maria", "manager")
	pat, id := mgr.newPAT("dashboard", "read")
	st := openEventStream(t, pat, "/api/alerts/stream/", "")
	wantJSON(t, "revoke", mgr.Do("DELETE", "/api/user/me/tokens/"+id+"/", nil), 204, "")
	st.wantEnd(t)

	r := mgr.Do("POST", "/api/user/me/tokens/", map[string]any{"name": "short", "scopes": []string{"read"}, "expires_at": t0.Add(time.Hour).Format(time.RFC3339)})
	short := ev.as(r.Object(t)["token"].(string), "", mgr.user)
	ev.clock.Add(time.Hour - 50*time.Millisecond)
	openEventStream(t, short, "/api/alerts/stream/", "").wantEnd(t)
}
