package httpapi_test

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"tasktrack"
	. "tasktrack/sqlstore/sqlstoretest"
)

// Every validation rule of API.md, with the exact DRF-shaped error body
// each one answers.

// valCase is one request and the exact answer it must get.
type valCase struct {
	name   string
	method string
	path   string
	body   any
	status int
	want   string // the exact body, without the final newline; "" for any
}

// valRun runs cases as c.
func valRun(t *testing.T, c *client, cases []valCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := c.Do(tc.method, tc.path, tc.body)
			if r.Status != tc.status || (tc.want != "" && r.String() != tc.want+"\n") {
				t.Fatalf("%s %s: %d %s\nwant %d %s", tc.method, tc.path, r.Status, r.Body, tc.status, tc.want)
			}
		})
	}
}

// valTime formats a time as a request would send it.
func valTime(t time.Time) string { return t.Format(time.RFC3339Nano) }

// valTimeFormat is the contract's time format: UTC, microseconds, Z.
var valTimeFormat = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$`)

func valUserExists(t *testing.T, ev *env, username string) bool {
	t.Helper()
	_, err := ev.db.Sessions.UserByUsername(context.Background(), username)
	return err == nil
}

func TestUserValidation(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ev := newEnv(t, e)
		alice := ev.newUser("alice", "user")
		long := strings.Repeat("a", 150)
		const (
			blank     = `{"username":["This field may not be blank."]}`
			tooLong   = `{"username":["Ensure this field has no more than 150 characters."]}`
			badChars  = `{"username":["Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."]}`
			taken     = `{"username":["A user with that username already exists."]}`
			scripts   = `{"username":["Enter a valid username. This value may not mix scripts."]}`
			short     = "This password is too short. It must contain at least 8 characters."
			numeric   = "This password is entirely numeric."
			similar   = "The password is too similar to the username."
			badEmail  = `{"email":["Enter a valid email address."]}`
			nulls     = "Null characters are not allowed."
			required  = "This field is required."
			notString = "Not a valid string."
		)
		create := func(name, username, password string, extra map[string]any, status int, want string) valCase {
			body := map[string]any{"username": username, "password": password}
			for k, v := range extra {
				body[k] = v
			}
			return valCase{name, "POST", "/api/user/users/", body, status, want}
		}
		cases := []valCase{
			create("empty username", "", "a-good-password", nil, 400, blank),
			create("151-character username", long+"b", "a-good-password", nil, 400, tooLong),
			create("150-character username", long, "a-good-password", nil, 201, ""),
			create("space in username", "bad name", "a-good-password", nil, 400, badChars),
			create("slash in username", "bad/name", "a-good-password", nil, 400, badChars),
			create("quote in username", `o'brien`, "a-good-password", nil, 400, badChars),
			create("every allowed character", "a.b@c+d-e_f9", "a-good-password", nil, 201, ""),
			create("letters of any script", "jürgen", "a-good-password", nil, 201, ""),
			create("username taken in another case", "ALICE", "a-good-password", nil, 400, taken),
			create("username taken in the same case", "alice", "a-good-password", nil, 400, taken),
			create("username taken in fullwidth letters", "ａｌｉｃｅ", "a-good-password", nil, 400, taken),
			create("admin in fullwidth letters", "ａｄｍｉｎ", "a-good-password", nil, 400, taken),
			create("admin in fullwidth capitals", "ＡＤＭＩＮ", "a-good-password", nil, 400, taken),
			create("admin with a capital", "Admin", "a-good-password", nil, 400, taken),
			create("admin with a Cyrillic a", "аdmin", "a-good-password", nil, 400, scripts),
			create("Latin with a Greek letter", "alicε", "a-good-password", nil, 400, scripts),
			create("Latin with an Arabic-Indic digit", "alice٣", "a-good-password", nil, 400, scripts),
			create("Cyrillic alone", "иван", "a-good-password", nil, 201, ""),
			create("Japanese: kanji and kana", "山田たろう", "a-good-password", nil, 201, ""),
			create("a ligature", "ﬁnn", "a-good-password", nil, 400, badChars),
			create("7-character password", "pw1", "abcdef1", nil, 400, `{"password":["`+short+`"]}`),
			create("8-character password", "pw2", "abcdefg1", nil, 201, ""),
			create("all-digit password", "pw3", "1234567890", nil, 400, `{"password":["`+numeric+`"]}`),
			create("short all-digit password", "pw4", "1234", nil, 400, `{"password":["`+short+`","`+numeric+`"]}`),
			create("password equal to the username", "carol-long-name", "carol-long-name", nil, 400, `{"password":["`+similar+`"]}`),
			create("password equal to the username in another case", "dave-long-name", "DAVE-LONG-NAME", nil, 400, `{"password":["`+similar+`"]}`),
			create("invalid email", "em1", "a-good-password", map[string]any{"email": "not-an-email"}, 400, badEmail),
			create("email without a domain dot", "em2", "a-good-password", map[string]any{"email": "a@localhost-only"}, 400, badEmail),
			create("email with a display name", "em3", "a-good-password", map[string]any{"email": "Em <em@example.com>"}, 400, badEmail),
			create("empty email", "em4", "a-good-password", map[string]any{"email": ""}, 201, ""),
			create("valid email", "em5", "a-good-password", map[string]any{"email": "em5@example.com"}, 201, ""),
			create("invalid role", "ro1", "a-good-password", map[string]any{"role": "boss"}, 400, `{"role":["\"boss\" is not a valid choice."]}`),
			create("role in another case", "ro2", "a-good-password", map[string]any{"role": "Admin"}, 400, `{"role":["\"Admin\" is not a valid choice."]}`),
			create("role as the object the API shows", "ro3", "a-good-password", map[string]any{"role": map[string]any{"id": 2, "name": "manager"}}, 201, ""),
			create("role not a string", "ro4", "a-good-password", map[string]any{"role": 1}, 400, `{"role":["`+notString+`"]}`),
			create("NUL in username", "nul\x00name", "a-good-password", nil, 400, `{"username":["`+nulls+`"]}`),
			create("NUL in password", "nul1", "a-good\x00password", nil, 400, `{"password":["`+nulls+`"]}`),
			create("NUL in first name", "nul2", "a-good-password", map[string]any{"first_name": "A\x00"}, 400, `{"first_name":["`+nulls+`"]}`),
			create("151-character first name", "fn1", "a-good-password", map[string]any{"first_name": long + "x"}, 400, `{"first_name":["Ensure this field has no more than 150 characters."]}`),
			{"username not a string", "POST", "/api/user/users/", map[string]any{"username": 5, "password": "a-good-password"}, 400, `{"username":["` + notString + `"]}`},
			{"username null", "POST", "/api/user/users/", map[string]any{"username": nil, "password": "a-good-password"}, 400, `{"username":["This field may not be null."]}`},
			{"nothing given", "POST", "/api/user/users/", map[string]any{}, 400, `{"password":["` + required + `"],"username":["` + required + `"]}`},
			{"every field wrong at once", "POST", "/api/user/users/", map[string]any{"username": "bad name", "password": "123", "email": "x", "role": "root"}, 400,
				`{"email":["Enter a valid email address."],"password":["` + short + `","` + numeric + `"],"role":["\"root\" is not a valid choice."],"username":["Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."]}`},
		}
		valRun(t, ev.admin, cases)
		// Nothing refused was created.
		for _, name := range []string{"", long + "b", "bad name", "pw1", "pw3", "carol-long-name", "em1", "ro1", "nul1", "fn1", "аdmin", "alicε", "alice٣", "ﬁnn"} {
			if valUserExists(t, ev, name) {
				t.Errorf("user %q was created", name)
			}
		}
		r := ev.admin.Do("GET", "/api/user/users/?search=em4", nil)
		if r.Status != 200 || !strings.Contains(r.String(), `"username":"em4","email":""`) {
			t.Errorf("user with empty email: %s", r.Body)
		}

		// The same rules hold wherever a password or an email is set.
		id := itoa(alice.user.ID)
		valRun(t, ev.admin, []valCase{
			{"update: short password", "PATCH", "/api/user/users/" + id + "/", map[string]any{"password": "abc"}, 400, `{"password":["` + short + `"]}`},
			{"update: password is the username", "PATCH", "/api/user/users/" + id + "/", map[string]any{"password": "Alice"}, 400, `{"password":["` + short + `","` + similar + `"]}`},
			{"update: invalid email", "PUT", "/api/user/users/" + id + "/", map[string]any{"email": "alice@"}, 400, badEmail},
			{"update: invalid role", "PATCH", "/api/user/users/" + id + "/", map[string]any{"role": "superuser"}, 400, `{"role":["\"superuser\" is not a valid choice."]}`},
			{"update: is_active not a boolean", "PATCH", "/api/user/users/" + id + "/", map[string]any{"is_active": "yes"}, 400, `{"is_active":["Must be a valid boolean."]}`},
			{"update: NUL in last name", "PATCH", "/api/user/users/" + id + "/", map[string]any{"last_name": "\x00"}, 400, `{"last_name":["` + nulls + `"]}`},
			{"reset: all digits", "POST", "/api/user/users/" + id + "/password/", map[string]any{"password": "12345678"}, 400, `{"password":["` + numeric + `"]}`},
			{"reset: missing", "POST", "/api/user/users/" + id + "/password/", map[string]any{}, 400, `{"password":["` + required + `"]}`},
			{"reset: not a string", "POST", "/api/user/users/" + id + "/password/", map[string]any{"password": 12345678}, 400, `{"password":["` + notString + `"]}`},
			{"update: empty email is fine", "PATCH", "/api/user/users/" + id + "/", map[string]any{"email": ""}, 200, ""},
		})
		u, err := ev.db.Sessions.AuthUser(context.Background(), alice.user.ID)
		if err != nil {
			t.Fatal(err)
		}
		if u.TokenVersion != alice.user.TokenVersion || u.PasswordHash != alice.user.PasswordHash || !u.IsActive || u.Role != tasktrack.RoleUser {
			t.Errorf("a refused update changed alice: %+v", u)
		}
		valRun(t, alice, []valCase{
			{"own: wrong old password", "POST", "/api/user/me/password/", map[string]any{"old_password": "wrong-password", "new_password": "a-new-password-1"}, 400,
				`{"old_password":["Your old password was entered incorrectly."]}`},
			{"own: new password is the username", "POST", "/api/user/me/password/", map[string]any{"old_password": userPassword("alice"), "new_password": "ALICE"}, 400,
				`{"new_password":["` + short + `","` + similar + `"]}`},
			{"own: new password all digits", "POST", "/api/user/me/password/", map[string]any{"old_password": userPassword("alice"), "new_password": "98765432"}, 400,
				`{"new_password":["` + numeric + `"]}`},
			{"own: missing fields", "POST", "/api/user/me/password/", map[string]any{}, 400,
				`{"new_password":["` + required + `"],"old_password":["` + required + `"]}`},
		})
		if r := alice.Do("GET", "/api/user/me/", nil); r.Status != 200 {
			t.Errorf("a refused password change revoked the token: %d", r.Status)
		}
	})
}

func TestTaskCreateValidation(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ev := newEnv(t, e)
		boss := ev.newUser("boss", "manager")
		alice := ev.newUser("alice", "user")
		gone := ev.newUser("gone", "user")
		if r := ev.admin.Do("POST", "/api/user/users/"+itoa(gone.user.ID)+"/deactivate/", nil); r.Status != 200 {
			t.Fatalf("deactivate: %d %s", r.Status, r.Body)
		}
		now := ev.clock.Now()
		future := valTime(now.Add(time.Hour))
		task := func(name string, fields map[string]any, status int, want string) valCase {
			body := map[string]any{"title": "A task", "deadline": future, "assigned_to": alice.user.ID}
			for k, v := range fields {
				if v == nil {
					delete(body, k)
				} else {
					body[k] = v
				}
			}
			return valCase{name, "POST", "/api/task/tasks/", body, status, want}
		}
		const (
			blank    = `{"title":["This field may not be blank."]}`
			tooLong  = `{"title":["Ensure this field has no more than 100 characters."]}`
			past     = `{"deadline":["Deadline must be in the future."]}`
			required = "This field is required."
			badTime  = `{"deadline":["Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."]}`
		)
		valRun(t, boss, []valCase{
			task("empty title", map[string]any{"title": ""}, 400, blank),
			task("blank title after trimming", map[string]any{"title": " \t\n "}, 400, blank),
			task("101-character title", map[string]any{"title": strings.Repeat("t", 101)}, 400, tooLong),
			task("101 characters of another script", map[string]any{"title": strings.Repeat("é", 101)}, 400, tooLong),
			task("description of 10,001 characters", map[string]any{"description": strings.Repeat("d", 10001)}, 400,
				`{"description":["Ensure this field has no more than 10000 characters."]}`),
			task("deadline in the past", map[string]any{"deadline": valTime(now.Add(-time.Second))}, 400, past),
			task("deadline now", map[string]any{"deadline": valTime(now)}, 400, past),
			task("deadline now, in another offset", map[string]any{"deadline": now.In(time.FixedZone("", 5*3600)).Format(time.RFC3339)}, 400, past),
			task("deadline not a time", map[string]any{"deadline": "tomorrow"}, 400, badTime),
			task("deadline a number", map[string]any{"deadline": 1893456000}, 400, `{"deadline":["Not a valid string."]}`),
			task("nonexistent assignee", map[string]any{"assigned_to": 999999}, 400, `{"assigned_to":["Invalid pk \"999999\" - object does not exist."]}`),
			task("inactive assignee", map[string]any{"assigned_to": gone.user.ID}, 400, `{"assigned_to":["This user is not active."]}`),
			task("assignee not an integer", map[string]any{"assigned_to": "alice"}, 400, `{"assigned_to":["A valid integer is required."]}`),
			task("assignee a fraction", map[string]any{"assigned_to": 1.5}, 400, `{"assigned_to":["A valid integer is required."]}`),
			task("assignee a boolean", map[string]any{"assigned_to": true}, 400, `{"assigned_to":["A valid integer is required."]}`),
			task("title not a string", map[string]any{"title": 5}, 400, `{"title":["Not a valid string."]}`),
			task("title a list", map[string]any{"title": []string{"a"}}, 400, `{"title":["Not a valid string."]}`),
			task("NUL in title", map[string]any{"title": "a\x00b"}, 400, `{"title":["Null characters are not allowed."]}`),
			task("NUL in description", map[string]any{"description": "\x00"}, 400, `{"description":["Null characters are not allowed."]}`),
			task("missing fields", map[string]any{"title": nil, "deadline": nil, "assigned_to": nil}, 400,
				`{"assigned_to":["`+required+`"],"deadline":["`+required+`"],"title":["`+required+`"]}`),
			{"title JSON null", "POST", "/api/task/tasks/", `{"title":null,"deadline":"` + future + `","assigned_to":` + itoa(alice.user.ID) + `}`, 400,
				`{"title":["This field may not be null."]}`},
			{"body not an object", "POST", "/api/task/tasks/", `"a task"`, 400, `{"non_field_errors":["Invalid data. Expected a dictionary, but got str."]}`},
		})
		_, n, err := ev.db.Tasks.FindTasks(System, tasktrack.TaskFilter{Page: tasktrack.Page{Limit: 1}})
		if err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%d tasks stored by refused requests", n)
		}

		// What is accepted, and how it is answered.
		accepted := []struct {
			name         string
			fields       map[string]any
			title, descr string // as answered and stored
			deadline     string // as answered; future for an hour from now
			assignedTo   int64  // 0 for alice
		}{
			{"title trimmed on save", map[string]any{"title": "  Padded title \n"}, "Padded title", "", future, 0},
			{"100-character title", map[string]any{"title": strings.Repeat("t", 100)}, strings.Repeat("t", 100), "", future, 0},
			{"100 characters of another script", map[string]any{"title": strings.Repeat("é", 100)}, strings.Repeat("é", 100), "", future, 0},
			{"100 characters with spaces around", map[string]any{"title": "   " + strings.Repeat("x", 100) + "   "}, strings.Repeat("x", 100), "", future, 0},
			{"description of 10,000 characters", map[string]any{"description": strings.Repeat("d", 10000)}, "A task", strings.Repeat("d", 10000), future, 0},
			{"naive deadline read as UTC", map[string]any{"deadline": "2026-03-02T12:00:00"}, "A task", "", "2026-03-02T12:00:00.000000Z", 0},
			{"deadline with an offset", map[string]any{"deadline": "2026-03-02T13:30:00.123456+02:00"}, "A task", "", "2026-03-02T11:30:00.123456Z", 0},
			{"deadline with a negative offset", map[string]any{"deadline": "2026-03-02T09:15:00-05:00"}, "A task", "", "2026-03-02T14:15:00.000000Z", 0},
			{"deadline in nanoseconds", map[string]any{"deadline": "2026-03-03T00:00:00.123456789Z"}, "A task", "", "2026-03-03T00:00:00.123456Z", 0},
			{"deadline without seconds", map[string]any{"deadline": "2026-03-04T08:30"}, "A task", "", "2026-03-04T08:30:00.000000Z", 0},
			{"assignee as a string of digits", map[string]any{"assigned_to": itoa(boss.user.ID)}, "A task", "", future, boss.user.ID},
			{"status and read-only fields ignored", map[string]any{"status": "completed", "id": "x", "created_by": 1, "completed_at": future}, "A task", "", future, 0},
		}
		for _, a := range accepted {
			t.Run(a.name, func(t *testing.T) {
				body := map[string]any{"title": "A task", "deadline": future, "assigned_to": alice.user.ID}
				for k, v := range a.fields {
					body[k] = v
				}
				r := boss.Do("POST", "/api/task/tasks/", body)
				if r.Status != 201 {
					t.Fatalf("%d %s", r.Status, r.Body)
				}
				m := r.Object(t)
				wantDeadline := a.deadline
				if wantDeadline == future {
					wantDeadline = now.Add(time.Hour).Format("2006-01-02T15:04:05.000000Z")
				}
				wantAssignee := a.assignedTo
				if wantAssignee == 0 {
					wantAssignee = alice.user.ID
				}
				if m["title"] != a.title || m["deadline"] != wantDeadline || m["assigned_to"] != float64(wantAssignee) ||
					m["status"] != "pending" || m["completed_at"] != nil || m["missed_at"] != nil || m["created_by"] != float64(boss.user.ID) {
					t.Errorf("answered %v", m)
				}
				if m["description"] != a.descr {
					t.Errorf("description of %d characters", len(m["description"].(string)))
				}
				for _, k := range []string{"deadline", "created_at", "updated_at"} {
					if s, _ := m[k].(string); !valTimeFormat.MatchString(s) {
						t.Errorf("%s %q is not UTC with microseconds and Z", k, s)
					}
				}
				stored, err := ev.db.Tasks.FindTaskByID(System, m["id"].(string))
				if err != nil {
					t.Fatal(err)
				}
				if stored.Title != a.title || stored.Deadline.Format("2006-01-02T15:04:05.000000Z") != wantDeadline {
					t.Errorf("stored %q %s", stored.Title, stored.Deadline)
				}
			})
		}
	})
}

func TestTaskUpdateValidation(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ev := newEnv(t, e)
		boss := ev.newUser("boss", "manager")
		alice := ev.newUser("alice", "user")
		bob := ev.newUser("bob", "user")
		gone := ev.newUser("gone", "user")
		if r := ev.admin.Do("POST", "/api/user/users/"+itoa(gone.user.ID)+"/deactivate/", nil); r.Status != 200 {
			t.Fatalf("deactivate: %d %s", r.Status, r.Body)
		}
		// A task whose deadline has passed (but not yet swept), and one
		// still open.
		overdue := boss.newTask(alice, "Overdue", time.Minute)
		open := boss.newTask(alice, "Open", time.Hour)
		stored := func(id string) *tasktrack.Task {
			t.Helper()
			task, err := ev.db.Tasks.FindTaskByID(System, id)
			if err != nil {
				t.Fatal(err)
			}
			return task
		}
		overdueDeadline := stored(overdue).Deadline
		ev.clock.Add(2 * time.Minute)
		now := ev.clock.Now()
		p := func(id string) string { return "/api/task/tasks/" + id + "/" }
		const past = `{"deadline":["Deadline must be in the future."]}`
		valRun(t, boss, []valCase{
			{"changed deadline in the past", "PATCH", p(open), map[string]any{"deadline": valTime(now.Add(-time.Second))}, 400, past},
			{"changed deadline now", "PATCH", p(open), map[string]any{"deadline": valTime(now)}, 400, past},
			{"changed deadline of an overdue task still in the past", "PATCH", p(overdue), map[string]any{"deadline": valTime(overdueDeadline.Add(time.Second))}, 400, past},
			{"put: changed deadline in the past", "PUT", p(open), map[string]any{"title": "Open", "deadline": valTime(now.Add(-time.Hour)), "assigned_to": alice.user.ID}, 400, past},
			{"new assignee inactive", "PATCH", p(open), map[string]any{"assigned_to": gone.user.ID}, 400, `{"assigned_to":["This user is not active."]}`},
			{"new assignee nonexistent", "PATCH", p(open), map[string]any{"assigned_to": 424242}, 400, `{"assigned_to":["Invalid pk \"424242\" - object does not exist."]}`},
			{"blank title", "PATCH", p(open), map[string]any{"title": "   "}, 400, `{"title":["This field may not be blank."]}`},
			{"101-character title", "PATCH", p(open), map[string]any{"title": strings.Repeat("x", 101)}, 400, `{"title":["Ensure this field has no more than 100 characters."]}`},
			{"description of 10,001 characters", "PATCH", p(open), map[string]any{"description": strings.Repeat("x", 10001)}, 400, `{"description":["Ensure this field has no more than 10000 characters."]}`},
			{"unknown status", "PATCH", p(open), map[string]any{"status": "done"}, 400, `{"status":["\"done\" is not a valid choice."]}`},
			{"put without the required fields", "PUT", p(open), map[string]any{"description": "x"}, 400,
				`{"assigned_to":["This field is required."],"deadline":["This field is required."],"title":["This field is required."]}`},
			{"assignee not an integer", "PATCH", p(open), map[string]any{"assigned_to": []int{1}}, 400, `{"assigned_to":["A valid integer is required."]}`},
			{"NUL in title", "PATCH", p(open), map[string]any{"title": "\x00"}, 400, `{"title":["Null characters are not allowed."]}`},
		})
		if got := stored(open); got.Title != "Open" || got.AssignedTo != alice.user.ID || got.Status != tasktrack.StatusPending || got.Description != "about Open" {
			t.Errorf("a refused update changed the task: %+v", got)
		}

		// An unchanged past deadline is accepted, in any offset.
		r := boss.Do("PATCH", p(overdue), map[string]any{"deadline": overdueDeadline.In(time.FixedZone("", -3*3600)).Format(time.RFC3339Nano), "title": "Renamed"})
		if r.Status != 200 || r.Object(t)["title"] != "Renamed" {
			t.Fatalf("unchanged past deadline: %d %s", r.Status, r.Body)
		}
		r = boss.Do("PUT", p(overdue), map[string]any{"title": "Put again", "deadline": valTime(overdueDeadline), "assigned_to": alice.user.ID})
		if r.Status != 200 || r.Object(t)["title"] != "Put again" {
			t.Fatalf("put with the unchanged past deadline: %d %s", r.Status, r.Body)
		}
		// A changed future deadline, a new active assignee and the trimmed
		// title are saved.
		deadline := now.Add(48 * time.Hour)
		r = boss.Do("PATCH", p(open), map[string]any{"deadline": valTime(deadline), "assigned_to": bob.user.ID, "title": "  Moved  "})
		if r.Status != 200 {
			t.Fatalf("valid update: %d %s", r.Status, r.Body)
		}
		if m := r.Object(t); m["title"] != "Moved" || m["assigned_to"] != float64(bob.user.ID) || m["assigned_to_username"] != "bob" ||
			m["deadline"] != deadline.Format("2006-01-02T15:04:05.000000Z") {
			t.Errorf("after update: %v", m)
		}
		// An unchanged assignee who became inactive does not block other
		// changes.
		if r := ev.admin.Do("POST", "/api/user/users/"+itoa(bob.user.ID)+"/deactivate/", nil); r.Status != 200 {
			t.Fatalf("deactivate bob: %d", r.Status)
		}
		if r := boss.Do("PATCH", p(open), map[string]any{"assigned_to": bob.user.ID, "description": "still bob's"}); r.Status != 200 {
			t.Errorf("unchanged inactive assignee: %d %s", r.Status, r.Body)
		}
		// Status through PATCH: completed sets completed_at, leaving it
		// clears it.
		r = boss.Do("PATCH", p(open), map[string]any{"status": "completed"})
		if m := r.Object(t); r.Status != 200 || m["completed_at"] != now.Format("2006-01-02T15:04:05.000000Z") {
			t.Errorf("complete by PATCH: %d %s", r.Status, r.Body)
		}
		r = boss.Do("PATCH", p(open), map[string]any{"status": "pending"})
		if m := r.Object(t); r.Status != 200 || m["completed_at"] != nil || m["status"] != "pending" {
			t.Errorf("reopen by PATCH: %d %s", r.Status, r.Body)
		}
		// Moving the deadline of a missed task into the future re-opens it.
		if _, err := ev.db.Sweeper.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := stored(overdue); got.Status != tasktrack.StatusMissed {
			t.Fatalf("after the sweep: %s", got.Status)
		}
		r = boss.Do("PATCH", p(overdue), map[string]any{"deadline": valTime(now.Add(time.Hour))})
		if m := r.Object(t); r.Status != 200 || m["status"] != "pending" || m["missed_at"] != nil {
			t.Errorf("re-open: %d %s", r.Status, r.Body)
		}
	})
}

func TestUpdateStatusRules(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ev := newEnv(t, e)
		boss := ev.newUser("boss", "manager")
		alice := ev.newUser("alice", "user")
		id := boss.newTask(alice, "Soon due", 2*time.Minute)
		later := boss.newTask(alice, "Later", time.Hour)
		path := "/api/task/tasks/" + id + "/update_status/"
		status := func(id string) *tasktrack.Task {
			t.Helper()
			task, err := ev.db.Tasks.FindTaskByID(System, id)
			if err != nil {
				t.Fatal(err)
			}
			return task
		}
		for _, c := range []*client{alice, boss, ev.admin} {
			valRun(t, c, []valCase{
				{c.user.Username + ": missed", "PATCH", path, map[string]any{"status": "missed"}, 400, `{"status":["Status \"missed\" is set by the system only."]}`},
				{c.user.Username + ": unknown", "PATCH", path, map[string]any{"status": "done"}, 400, `{"status":["\"done\" is not a valid choice."]}`},
				{c.user.Username + ": wrong case", "PATCH", path, map[string]any{"status": "Completed"}, 400, `{"status":["\"Completed\" is not a valid choice."]}`},
				{c.user.Username + ": missing", "PATCH", path, map[string]any{}, 400, `{"status":["This field is required."]}`},
				{c.user.Username + ": not a string", "PATCH", path, map[string]any{"status": 2}, 400, `{"status":["Not a valid string."]}`},
				{c.user.Username + ": NUL", "PATCH", path, map[string]any{"status": "pending\x00"}, 400, `{"status":["Null characters are not allowed."]}`},
			})
		}
		if got := status(id); got.Status != tasktrack.StatusPending {
			t.Fatalf("refused changes moved the task to %s", got.Status)
		}

		// completed sets completed_at; leaving completed clears it.
		ev.clock.Add(30 * time.Second)
		done := ev.clock.Now().Format("2006-01-02T15:04:05.000000Z")
		r := alice.Do("PATCH", path, map[string]any{"status": "completed"})
		if m := r.Object(t); r.Status != 200 || m["status"] != "completed" || m["completed_at"] != done || m["updated_at"] != done {
			t.Fatalf("complete: %d %s", r.Status, r.Body)
		}
		if got := status(id); got.CompletedAt == nil || got.CompletedAt.Format("2006-01-02T15:04:05.000000Z") != done {
			t.Errorf("stored completed_at %v", got.CompletedAt)
		}
		r = alice.Do("PATCH", path, map[string]any{"status": "completed"})
		if m := r.Object(t); r.Status != 200 || m["completed_at"] != done {
			t.Errorf("completed again keeps completed_at: %d %s", r.Status, r.Body)
		}
		r = alice.Do("PATCH", path, map[string]any{"status": "in_progress"})
		if m := r.Object(t); r.Status != 200 || m["status"] != "in_progress" || m["completed_at"] != nil {
			t.Fatalf("leave completed: %d %s", r.Status, r.Body)
		}
		if got := status(id); got.CompletedAt != nil {
			t.Errorf("stored completed_at %v after leaving completed", got.CompletedAt)
		}

		// Past the deadline, not yet swept: the assignee gets 409 and
		// nothing changes; a manager may still change it.
		ev.clock.Add(2 * time.Minute)
		const passed = `{"detail":"The deadline of this task has passed; its status can no longer be changed."}`
		valRun(t, alice, []valCase{
			{"assignee after the deadline", "PATCH", path, map[string]any{"status": "completed"}, 409, passed},
			{"assignee after the deadline, same status", "PATCH", path, map[string]any{"status": "in_progress"}, 409, passed},
			{"assignee on an open task meanwhile", "PATCH", "/api/task/tasks/" + later + "/update_status/", map[string]any{"status": "in_progress"}, 200, ""},
		})
		if got := status(id); got.Status != tasktrack.StatusInProgress || got.CompletedAt != nil {
			t.Errorf("a refused change moved the task: %s", got.Status)
		}
		if r := boss.Do("PATCH", path, map[string]any{"status": "pending"}); r.Status != 200 || r.Object(t)["status"] != "pending" {
			t.Errorf("manager after the deadline: %d %s", r.Status, r.Body)
		}

		// After a sweep the task is missed: 409 for the assignee.
		if _, err := ev.db.Sweeper.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := status(id); got.Status != tasktrack.StatusMissed || got.MissedAt == nil {
			t.Fatalf("after the sweep: %s %v", got.Status, got.MissedAt)
		}
		valRun(t, alice, []valCase{
			{"assignee on a missed task", "PATCH", path, map[string]any{"status": "completed"}, 409, `{"detail":"This task was missed; its status can no longer be changed."}`},
			{"assignee sets missed on a missed task", "PATCH", path, map[string]any{"status": "missed"}, 400, `{"status":["Status \"missed\" is set by the system only."]}`},
		})
		if got := status(id); got.Status != tasktrack.StatusMissed {
			t.Errorf("a refused change moved the missed task to %s", got.Status)
		}

		// Managers and admins neither: only a deadline in the future
		// re-opens a missed task, so it is never missed twice for one
		// deadline.
		const reopenFirst = `{"detail":"This task was missed; move its deadline into the future to re-open it."}`
		task := "/api/task/tasks/" + id + "/"
		deadline := valTime(status(id).Deadline)
		for _, c := range []*client{boss, ev.admin} {
			valRun(t, c, []valCase{
				{c.user.Username + ": status of a missed task", "PATCH", path, map[string]any{"status": "pending"}, 409, reopenFirst},
				{c.user.Username + ": update with a status", "PATCH", task, map[string]any{"status": "in_progress", "title": "Renamed"}, 409, reopenFirst},
				{c.user.Username + ": full update with a status", "PUT", task, map[string]any{"title": "Renamed", "description": "", "deadline": deadline, "status": "completed", "assigned_to": alice.user.ID}, 409, reopenFirst},
			})
		}
		if got := status(id); got.Status != tasktrack.StatusMissed || got.Title != "Soon due" {
			t.Errorf("a refused change moved the missed task: %s %q", got.Status, got.Title)
		}
		valRun(t, boss, []valCase{
			{"manager: update without a status", "PATCH", task, map[string]any{"title": "Renamed"}, 200, ""},
			{"manager: a new deadline and a status", "PATCH", task, map[string]any{"deadline": valTime(ev.clock.Now().Add(time.Hour)), "status": "in_progress"}, 200, ""},
		})
		if got := status(id); got.Status != tasktrack.StatusInProgress || got.MissedAt != nil || got.Title != "Renamed" {
			t.Errorf("re-opened: %s %v %q", got.Status, got.MissedAt, got.Title)
		}
	})
}

// valSeed makes six tasks whose orders differ by every sort key; it
// returns their ids by letter.
func valSeed(t *testing.T, ev *env, boss, alice, bob *client) map[string]string {
	t.Helper()
	seed := []struct {
		key, title, descr string
		in                time.Duration
		assignee          *client
		status            string
	}{
		{"A", "bravo report", "Quarterly numbers", 3 * time.Hour, alice, ""},
		{"B", "alpha plan", "Contains the WORD Needle", time.Hour, bob, "in_progress"},
		{"C", "charlie", "", 2 * time.Hour, alice, "completed"},
		{"D", "delta needle", "x", 4 * time.Hour, bob, ""},
		{"E", "echo", "100% done_ish", 5 * time.Hour, alice, ""},
		{"F", "foxtrot", "same deadline as echo", 5 * time.Hour, bob, ""},
	}
	ids := map[string]string{}
	base := ev.clock.Now()
	for _, s := range seed {
		r := boss.Do("POST", "/api/task/tasks/", map[string]any{"title": s.title, "description": s.descr,
			"deadline": valTime(base.Add(s.in)), "assigned_to": s.assignee.user.ID})
		if r.Status != 201 {
			t.Fatalf("seed %s: %d %s", s.key, r.Status, r.Body)
		}
		ids[s.key] = r.Object(t)["id"].(string)
		if s.status != "" {
			if r := boss.Do("PATCH", "/api/task/tasks/"+ids[s.key]+"/update_status/", map[string]string{"status": s.status}); r.Status != 200 {
				t.Fatalf("seed status: %d %s", r.Status, r.Body)
			}
		}
		ev.clock.Add(time.Second)
	}
	return ids
}

// valKeys maps the ids of a list back to the seed's letters.
func valKeys(t *testing.T, ids map[string]string, r *response) string {
	t.Helper()
	var out []string
	for _, id := range permTaskIDs(t, r) {
		for k, v := range ids {
			if v == id {
				out = append(out, k)
			}
		}
	}
	return strings.Join(out, "")
}

func TestTaskListFilters(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ev := newEnv(t, e)
		boss := ev.newUser("boss", "manager")
		alice := ev.newUser("alice", "user")
		bob := ev.newUser("bob", "user")
		base := ev.clock.Now()
		ids := valSeed(t, ev, boss, alice, bob)
		at := func(d time.Duration) string { return url.QueryEscape(valTime(base.Add(d))) }
		cases := []struct {
			name  string
			query string
			as    *client
			want  string // the seed letters, in order
		}{
			{"default ordering is deadline, ties by id", "", boss, "BCADEF"},
			{"ordering=deadline", "ordering=deadline", boss, "BCADEF"},
			{"ordering=-deadline", "ordering=-deadline", boss, "FEDACB"},
			{"ordering=created_at", "ordering=created_at", boss, "ABCDEF"},
			{"ordering=-created_at", "ordering=-created_at", boss, "FEDCBA"},
			{"ordering=title", "ordering=title", boss, "BACDEF"},
			{"ordering=-title", "ordering=-title", boss, "FEDCAB"},
			{"one status", "status=pending", boss, "ADEF"},
			{"a comma list of statuses", "status=pending,completed", boss, "CADEF"},
			{"a comma list with spaces", "status=in_progress,%20completed", boss, "BC"},
			{"missed: none yet", "status=missed", boss, ""},
			{"assigned_to", "assigned_to=" + itoa(alice.user.ID), boss, "CAE"},
			{"assigned_to with status", "assigned_to=" + itoa(bob.user.ID) + "&status=pending", boss, "DF"},
			{"deadline_before is inclusive", "deadline_before=" + at(2*time.Hour), boss, "BC"},
			{"deadline_after is inclusive", "deadline_after=" + at(4*time.Hour), boss, "DEF"},
			{"deadline range", "deadline_after=" + at(2*time.Hour) + "&deadline_before=" + at(3*time.Hour), boss, "CA"},
			{"deadline with an offset", "deadline_before=" + url.QueryEscape(base.Add(time.Hour).In(time.FixedZone("", 2*3600)).Format(time.RFC3339)), boss, "B"},
			{"deadline with an unescaped plus", "deadline_before=" + base.Add(time.Hour).In(time.FixedZone("", 2*3600)).Format(time.RFC3339), boss, "B"},
			{"search in titles", "search=needle", boss, "BD"},
			{"search ignores case", "search=NEEDLE", boss, "BD"},
			{"search in descriptions, ignoring case", "search=word", boss, "B"},
			{"search title case-insensitively", "search=ALPHA", boss, "B"},
			{"search a percent sign literally", "search=" + url.QueryEscape("100%"), boss, "E"},
			{"search an underscore literally", "search=_", boss, "E"},
			{"search with no match", "search=zulu", boss, ""},
			{"a user's filters apply within their own", "search=needle", alice, ""},
			{"a user's list with ordering", "ordering=-title", alice, "ECA"},
			{"a user asking for another's tasks", "assigned_to=" + itoa(bob.user.ID), alice, ""},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := c.as.Do("GET", "/api/task/tasks/?"+c.query, nil)
				if r.Status != 200 {
					t.Fatalf("%d %s", r.Status, r.Body)
				}
				if got := valKeys(t, ids, r); got != c.want {
					t.Errorf("?%s: %q, want %q", c.query, got, c.want)
				}
				if r.Header.Get("X-Total-Count") != fmt.Sprint(len(c.want)) {
					t.Errorf("X-Total-Count %s, want %d", r.Header.Get("X-Total-Count"), len(c.want))
				}
			})
		}
		// Case is ignored in every script, not only in ASCII.
		ids["G"] = boss.newTask(alice, "Éclair recipe", 10*time.Hour)
		if r := boss.Do("PATCH", "/api/task/tasks/"+ids["G"]+"/", map[string]any{"description": "ÜBER GUT"}); r.Status != 200 {
			t.Fatalf("describe G: %d %s", r.Status, r.Body)
		}
		for _, q := range []string{"éclair", "ÉCLAIR", "über", "Über gut"} {
			r := boss.Do("GET", "/api/task/tasks/?search="+url.QueryEscape(q), nil)
			if got := valKeys(t, ids, r); r.Status != 200 || got != "G" {
				t.Errorf("search=%s: %d %q, want G", q, r.Status, got)
			}
		}
		valRun(t, boss, []valCase{
			{"bad ordering", "GET", "/api/task/tasks/?ordering=secret", nil, 400,
				`{"ordering":["Select a valid choice. secret is not one of the available choices: deadline, -deadline, created_at, -created_at, title, -title."]}`},
			{"ordering by a column not offered", "GET", "/api/task/tasks/?ordering=status", nil, 400,
				`{"ordering":["Select a valid choice. status is not one of the available choices: deadline, -deadline, created_at, -created_at, title, -title."]}`},
			{"bad status", "GET", "/api/task/tasks/?status=pending,done", nil, 400, `{"status":["Select a valid choice. done is not one of the available choices."]}`},
			{"bad assigned_to", "GET", "/api/task/tasks/?assigned_to=alice", nil, 400, `{"assigned_to":["Enter a whole number."]}`},
			{"bad deadline_before", "GET", "/api/task/tasks/?deadline_before=yesterday", nil, 400, `{"deadline_before":["Enter a valid date/time."]}`},
			{"bad deadline_after", "GET", "/api/task/tasks/?deadline_after=2026-13-01", nil, 400, `{"deadline_after":["Enter a valid date/time."]}`},
			{"NUL in search", "GET", "/api/task/tasks/?search=a%00b", nil, 400, `{"search":["Null characters are not allowed."]}`},
			{"several bad values at once", "GET", "/api/task/tasks/?ordering=x&limit=0", nil, 400,
				`{"limit":["Enter a whole number from 1 to 1000."],"ordering":["Select a valid choice. x is not one of the available choices: deadline, -deadline, created_at, -created_at, title, -title."]}`},
			{"missed: bad ordering", "GET", "/api/task/tasks/missed/?ordering=missed_at", nil, 400, ""},
		})

		// missed/ takes the same filters: most recently missed first
		// unless ordering says otherwise.
		ev.clock.Add(90 * time.Minute) // past B's deadline
		if _, err := ev.db.Sweeper.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
		ev.clock.Add(2 * time.Hour) // past A's (C is completed)
		if _, err := ev.db.Sweeper.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
		// Access tokens are short-lived: sign in again after moving time.
		boss = ev.login("boss", userPassword("boss"))
		for _, c := range []struct{ query, want string }{
			{"", "AB"},
			{"ordering=deadline", "BA"},
			{"ordering=-title", "AB"},
			{"ordering=title", "BA"},
			{"assigned_to=" + itoa(alice.user.ID), "A"},
			{"search=PLAN", "B"},
			{"status=pending", ""},
		} {
			r := boss.Do("GET", "/api/task/tasks/missed/?"+c.query, nil)
			if got := valKeys(t, ids, r); r.Status != 200 || got != c.want {
				t.Errorf("missed/?%s: %d %q, want %q", c.query, r.Status, got, c.want)
			}
		}
	})
}

func TestPagination(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ev := newEnv(t, e)
		alice := ev.newUser("alice", "user")
		const n = 105
		var ids []string
		for i := range n {
			task := MustCreateTask(t, ev.db, alice.user, fmt.Sprintf("task %03d", i), time.Duration(i+1)*time.Minute)
			ids = append(ids, task.ID)
		}
		link := func(query string, rel string) string { return "</api/task/tasks/?" + query + `>; rel="` + rel + `"` }
		cases := []struct {
			query      string
			from, to   int // the slice of ids answered
			link       string
			totalCount string
		}{
			{"", 0, 100, link("limit=100&offset=100", "next"), "105"},
			{"limit=1000", 0, 105, "", "105"},
			{"limit=105", 0, 105, "", "105"},
			{"limit=104", 0, 104, link("limit=104&offset=104", "next"), "105"},
			{"limit=10&offset=20", 20, 30, link("limit=10&offset=30", "next") + ", " + link("limit=10&offset=10", "prev"), "105"},
			{"limit=10&offset=5", 5, 15, link("limit=10&offset=15", "next") + ", " + link("limit=10&offset=0", "prev"), "105"},
			{"offset=100&limit=10", 100, 105, link("limit=10&offset=90", "prev"), "105"},
			{"offset=3", 3, 103, link("limit=100&offset=103", "next") + ", " + link("limit=100&offset=0", "prev"), "105"},
			{"offset=105", 105, 105, link("limit=100&offset=5", "prev"), "105"},
			{"offset=500&limit=5", 105, 105, link("limit=5&offset=495", "prev"), "105"},
			{"limit=1&ordering=-deadline", 104, 105, link("limit=1&offset=1&ordering=-deadline", "next"), "105"},
			{"search=task+00&limit=5", 0, 5, link("limit=5&offset=5&search=task+00", "next"), "10"},
		}
		for _, c := range cases {
			t.Run("?"+c.query, func(t *testing.T) {
				r := alice.Do("GET", "/api/task/tasks/?"+c.query, nil)
				if r.Status != 200 {
					t.Fatalf("%d %s", r.Status, r.Body)
				}
				got := permTaskIDs(t, r)
				want := ids[c.from:c.to]
				if strings.Contains(c.query, "-deadline") {
					want = []string{ids[n-1]}
				}
				if !slices.Equal(got, want) {
					t.Errorf("answered %d tasks, want ids[%d:%d]", len(got), c.from, c.to)
				}
				if r.Header.Get("X-Total-Count") != c.totalCount {
					t.Errorf("X-Total-Count %q, want %s", r.Header.Get("X-Total-Count"), c.totalCount)
				}
				if l := r.Header.Get("Link"); l != c.link {
					t.Errorf("Link %q\nwant %q", l, c.link)
				}
			})
		}
		valRun(t, alice, []valCase{
			{"limit over the maximum", "GET", "/api/task/tasks/?limit=1001", nil, 400, `{"limit":["Enter a whole number from 1 to 1000."]}`},
			{"limit 0", "GET", "/api/task/tasks/?limit=0", nil, 400, `{"limit":["Enter a whole number from 1 to 1000."]}`},
			{"limit negative", "GET", "/api/task/tasks/?limit=-5", nil, 400, `{"limit":["Enter a whole number from 1 to 1000."]}`},
			{"limit not a number", "GET", "/api/task/tasks/?limit=ten", nil, 400, `{"limit":["Enter a whole number from 1 to 1000."]}`},
			{"offset negative", "GET", "/api/task/tasks/?offset=-1", nil, 400, `{"offset":["Enter a whole number, 0 or more."]}`},
			{"offset not a number", "GET", "/api/task/tasks/?offset=1.5", nil, 400, `{"offset":["Enter a whole number, 0 or more."]}`},
		})
		// Every list is paginated the same way.
		for _, path := range []string{"/api/user/users/", "/api/user/roles/", "/api/audit/", "/api/task/tasks/missed/", "/api/alerts/"} {
			r := ev.admin.Do("GET", path+"?limit=1", nil)
			total := r.Header.Get("X-Total-Count")
			if r.Status != 200 || total == "" {
				t.Errorf("%s: %d, X-Total-Count %q", path, r.Status, total)
				continue
			}
			next := strings.Contains(r.Header.Get("Link"), `rel="next"`)
			if next != (total != "0" && total != "1") {
				t.Errorf("%s: total %s, Link %q", path, total, r.Header.Get("Link"))
			}
			if r := ev.admin.Do("GET", path+"?limit=1001", nil); r.Status != 400 || r.String() != `{"limit":["Enter a whole number from 1 to 1000."]}`+"\n" {
				t.Errorf("%s?limit=1001: %d %s", path, r.Status, r.Body)
			}
		}
	})
}

// Strings with NUL characters and values of the wrong JSON type answer
// 400 on their field, on every endpoint that reads a body or a query.
func TestBodyTypesAndNulls(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ev := newEnv(t, e)
		alice := ev.newUser("alice", "user")
		id := ev.admin.newTask(alice, "Typed", time.Hour)
		const (
			nulls     = "Null characters are not allowed."
			notString = "Not a valid string."
		)
		valRun(t, ev.admin, []valCase{
			{"login: NUL in username", "POST", "/api/token/", map[string]any{"username": "ad\x00min", "password": "x"}, 400, `{"username":["` + nulls + `"]}`},
			{"login: password a number", "POST", "/api/token/", map[string]any{"username": "admin", "password": 12345678}, 400, `{"password":["` + notString + `"]}`},
			{"refresh: token an object", "POST", "/api/token/refresh/", map[string]any{"refresh": map[string]any{}}, 400, `{"refresh":["` + notString + `"]}`},
			{"create user: email a boolean", "POST", "/api/user/users/", map[string]any{"username": "x1", "password": "a-good-password", "email": true}, 400, `{"email":["` + notString + `"]}`},
			{"create user: NUL in email", "POST", "/api/user/users/", map[string]any{"username": "x2", "password": "a-good-password", "email": "a\x00@example.com"}, 400, `{"email":["` + nulls + `"]}`},
			{"update user: is_active a string", "PATCH", "/api/user/users/" + itoa(alice.user.ID) + "/", map[string]any{"is_active": "false"}, 400, `{"is_active":["Must be a valid boolean."]}`},
			{"update user: is_active null", "PATCH", "/api/user/users/" + itoa(alice.user.ID) + "/", map[string]any{"is_active": nil}, 400, `{"is_active":["Must be a valid boolean."]}`},
			{"update task: deadline a list", "PATCH", "/api/task/tasks/" + id + "/", map[string]any{"deadline": []string{"2030-01-01T00:00:00Z"}}, 400, `{"deadline":["` + notString + `"]}`},
			{"update task: NUL in description", "PATCH", "/api/task/tasks/" + id + "/", map[string]any{"description": "a\x00"}, 400, `{"description":["` + nulls + `"]}`},
			{"update task: status a boolean", "PATCH", "/api/task/tasks/" + id + "/", map[string]any{"status": true}, 400, `{"status":["` + notString + `"]}`},
			{"update task: assigned_to an object", "PUT", "/api/task/tasks/" + id + "/", map[string]any{"title": "t", "deadline": "2030-01-01T00:00:00Z", "assigned_to": map[string]any{"id": 1}}, 400, `{"assigned_to":["A valid integer is required."]}`},
			{"update task: assigned_to too large", "PATCH", "/api/task/tasks/" + id + "/", map[string]any{"assigned_to": 1e30}, 400, `{"assigned_to":["A valid integer is required."]}`},
			{"own password: old a number", "POST", "/api/user/me/password/", map[string]any{"old_password": 1, "new_password": "a-new-password"}, 400, `{"old_password":["` + notString + `"]}`},
			{"audit: NUL in action", "GET", "/api/audit/?action=user%00", nil, 400, `{"action":["` + nulls + `"]}`},
			{"audit: actor not a number", "GET", "/api/audit/?actor=admin", nil, 400, `{"actor":["Enter a whole number."]}`},
			{"users: NUL in search", "GET", "/api/user/users/?search=%00", nil, 400, `{"search":["` + nulls + `"]}`},
			{"users: bad is_active", "GET", "/api/user/users/?is_active=maybe", nil, 400, `{"is_active":["Enter true or false."]}`},
			{"alerts: bad acknowledged", "GET", "/api/alerts/?acknowledged=perhaps", nil, 400, `{"acknowledged":["Enter true or false."]}`},
			{"alerts: bad since", "GET", "/api/alerts/?since=now", nil, 400, `{"since":["Enter a valid date/time."]}`},
		})
		if valUserExists(t, ev, "x1") || valUserExists(t, ev, "x2") {
			t.Error("a refused user was created")
		}
		task, err := ev.db.Tasks.FindTaskByID(System, id)
		if err != nil {
			t.Fatal(err)
		}
		if task.Title != "Typed" || task.Description != "about Typed" || task.Status != tasktrack.StatusPending {
			t.Errorf("a refused update changed the task: %+v", task)
		}
	})
}
