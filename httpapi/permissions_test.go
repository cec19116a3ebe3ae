package httpapi_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"tasktrack"
	. "tasktrack/sqlstore/sqlstoretest"
)

// The permission table of API.md, endpoint by endpoint and role by role,
// against a real server: every cell answers its exact status, an allowed
// write changes the database and a refused one changes nothing.

// permWho is who calls, and on whose resource.
type permWho int

const (
	permAdmin      permWho = iota // an admin, on another user's task or record
	permManager                   // a manager, on another user's task or record
	permUser                      // a user, on another user's task or record (or on none)
	permUserOwn                   // a user, on their own task or their own record
	permAnon                      // no credentials, on another user's task or record
	permManagerOwn                // a manager, on their own record
)

func (w permWho) String() string {
	return [...]string{"admin", "manager", "user", "user-own", "anonymous", "manager-own"}[w]
}

// permFixture is the fresh world of one cell of the table: a caller of the
// cell's role, another user, and the user, task and alert acted on.
type permFixture struct {
	ev      *env
	n       int
	who     permWho
	caller  *client // an anonymous client for permAnon
	other   *client // a user other than the caller
	owner   *client // whose task and record are acted on: the caller for permUserOwn and permManagerOwn, else other
	taskID  string  // a task assigned to owner, for rows that need one
	alertID string  // an alert about a missed task of owner, for rows that need one
	// webhookID is an endpoint, and attemptID a delivered attempt at it,
	// for the webhook rows.
	webhookID, attemptID string
}

func (f *permFixture) userPath(suffix string) string {
	return "/api/user/users/" + itoa(f.owner.user.ID) + "/" + suffix
}

func (f *permFixture) taskPath(suffix string) string {
	return "/api/task/tasks/" + f.taskID + "/" + suffix
}

// permRow is one row of API.md's tables.
type permRow struct {
	row    string // the row of API.md
	method string
	path   func(f *permFixture) string
	body   func(f *permFixture) any
	task   bool // the fixture needs a task
	alert  bool // the fixture needs an alert
	setup  func(t *testing.T, f *permFixture)
	// state reads from the database what the request would change; nil
	// for reads.
	state func(t *testing.T, f *permFixture) string
	// check inspects a successful answer.
	check  func(t *testing.T, f *permFixture, r *response)
	stream bool // a text/event-stream: only the status is read
	// ownerRole is the role of the other user, whose record is acted on;
	// empty for "user".
	ownerRole string
	want      map[permWho]int
}

func permFixedPath(p string) func(*permFixture) string { return func(*permFixture) string { return p } }

// permUserState is everything about the owner's record that a write could
// change, password hash and token version included.
func permUserState(t *testing.T, f *permFixture) string {
	t.Helper()
	u, err := f.ev.db.Sessions.AuthUser(context.Background(), f.owner.user.ID)
	if errors.Is(err, tasktrack.ErrNotFound) {
		return "absent"
	}
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%s|%s|%s|%s|%s|%v|%s|%s|%d|%s", u.Username, u.Email, u.FirstName, u.LastName, u.Role.Name,
		u.IsActive, permTime(u.DeactivatedAt), u.DeactivationReason, u.TokenVersion, u.PasswordHash)
}

// permTime shows an optional time.
func permTime(t *time.Time) string {
	if t == nil {
		return "null"
	}
	return t.Format(time.RFC3339Nano)
}

// permCallerState is the caller's own record (for /me/password/).
func permCallerState(t *testing.T, f *permFixture) string {
	t.Helper()
	if f.caller.user == nil {
		return "anonymous"
	}
	u, err := f.ev.db.Sessions.AuthUser(context.Background(), f.caller.user.ID)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%d|%s", u.TokenVersion, u.PasswordHash)
}

// permNotificationPath is the path that reads the owner's notification
// of the fixture's task.
func permNotificationPath(f *permFixture) string {
	list, _, _, err := f.ev.db.Notifications.FindNotifications(As(f.owner.user), tasktrack.NotificationFilter{})
	if err != nil || len(list) != 1 {
		f.ev.t.Fatalf("the owner's notifications: %v %v", list, err)
	}
	return "/api/notifications/" + list[0].ID + "/read/"
}

// permNotificationState is the owner's unread count.
func permNotificationState(t *testing.T, f *permFixture) string {
	t.Helper()
	_, _, unread, err := f.ev.db.Notifications.FindNotifications(As(f.owner.user), tasktrack.NotificationFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(unread)
}

// permPreferencesState is the caller's timezone.
func permPreferencesState(t *testing.T, f *permFixture) string {
	t.Helper()
	if f.caller.user == nil {
		return "anonymous"
	}
	p, err := f.ev.db.Preferences.FindPreferences(As(f.caller.user))
	if err != nil {
		t.Fatal(err)
	}
	return p.Timezone
}

// permTaskState is the fixture's task as stored, or "absent".
func permTaskState(t *testing.T, f *permFixture) string {
	t.Helper()
	task, err := f.ev.db.Tasks.FindTaskByID(System, f.taskID)
	if errors.Is(err, tasktrack.ErrNotFound) {
		return "absent"
	}
	if err != nil {
		t.Fatal(err)
	}
	by := "-"
	if task.CreatedBy != nil {
		by = itoa(*task.CreatedBy)
	}
	return fmt.Sprintf("%s|%s|%s|%s|%s|%d|%s|%s|%s|%s|%s", task.ID, task.Title, task.Description, task.Deadline, task.Status,
		task.AssignedTo, by, task.UpdatedAt, permTime(task.CompletedAt), permTime(task.MissedAt), task.CreatedAt)
}

// permAlertState is whether and by whom the fixture's alert was
// acknowledged.
func permAlertState(t *testing.T, f *permFixture) string {
	t.Helper()
	alerts, _, err := f.ev.db.Alerts.FindAlerts(System, tasktrack.AlertFilter{Page: tasktrack.Page{Limit: tasktrack.MaxLimit}})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range alerts {
		if a.ID == f.alertID {
			by := "-"
			if a.AcknowledgedBy != nil {
				by = itoa(*a.AcknowledgedBy)
			}
			return permTime(a.AcknowledgedAt) + " by " + by
		}
	}
	t.Fatalf("alert %s not found", f.alertID)
	return ""
}

// permCount counts the tasks titled title and the users named
// username, as stored.
func permCount(t *testing.T, f *permFixture, title, username string) string {
	t.Helper()
	_, n, err := f.ev.db.Tasks.FindTasks(System, tasktrack.TaskFilter{Search: title, Page: tasktrack.Page{Limit: 1}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.ev.db.Sessions.UserByUsername(context.Background(), username)
	return fmt.Sprintf("tasks=%d user=%v", n, err == nil)
}

// permTaskIDs returns the ids of a task list.
func permTaskIDs(t *testing.T, r *response) []string {
	t.Helper()
	var tasks []struct {
		ID string `json:"id"`
	}
	r.Decode(t, &tasks)
	ids := make([]string, len(tasks))
	for i, task := range tasks {
		ids[i] = task.ID
	}
	return ids
}

// permAssignees returns the assignee of every task of a task list.
func permAssignees(t *testing.T, r *response) []int64 {
	t.Helper()
	var tasks []struct {
		AssignedTo int64 `json:"assigned_to"`
	}
	r.Decode(t, &tasks)
	out := make([]int64, len(tasks))
	for i, task := range tasks {
		out[i] = task.AssignedTo
	}
	return out
}

func permAllAndAnon(admin, manager, user int) map[permWho]int {
	return map[permWho]int{permAdmin: admin, permManager: manager, permUser: user, permAnon: 401}
}

// permRows mirrors API.md's tables row by row, in their order.
func permRows() []permRow {
	deadline := func(f *permFixture, in time.Duration) string {
		return f.ev.clock.Now().Add(in).Format(time.RFC3339Nano)
	}
	return []permRow{
		// Authentication: GET /api/user/me/ | any authenticated | 200 user
		{row: "GET /api/user/me/", method: "GET", path: permFixedPath("/api/user/me/"),
			want: permAllAndAnon(200, 200, 200),
			check: func(t *testing.T, f *permFixture, r *response) {
				if id := r.Object(t)["id"]; id != float64(f.caller.user.ID) {
					t.Errorf("me is %v, want %d", id, f.caller.user.ID)
				}
			}},
		// Roles: GET /api/user/roles/ | any authenticated | the three roles
		{row: "GET /api/user/roles/", method: "GET", path: permFixedPath("/api/user/roles/"),
			want: permAllAndAnon(200, 200, 200),
			check: func(t *testing.T, f *permFixture, r *response) {
				if got := strings.TrimSpace(r.String()); got != `[{"id":1,"name":"admin"},{"id":2,"name":"manager"},{"id":3,"name":"user"}]` {
					t.Errorf("roles: %s", got)
				}
			}},
		// Users: GET /api/user/users/ | 200 | 200 | 403
		{row: "GET /api/user/users/", method: "GET", path: permFixedPath("/api/user/users/?limit=1000"),
			want: permAllAndAnon(200, 200, 403),
			check: func(t *testing.T, f *permFixture, r *response) {
				var users []struct{ ID int64 }
				r.Decode(t, &users)
				if !slices.ContainsFunc(users, func(u struct{ ID int64 }) bool { return u.ID == f.other.user.ID }) {
					t.Errorf("the list lacks user %d", f.other.user.ID)
				}
			}},
		// Users: POST /api/user/users/ | 201 | 403 | 403
		{row: "POST /api/user/users/", method: "POST", path: permFixedPath("/api/user/users/"),
			body: func(f *permFixture) any {
				return map[string]string{"username": fmt.Sprintf("new%d", f.n), "password": "a-good-password", "role": "user"}
			},
			state: func(t *testing.T, f *permFixture) string { return permCount(t, f, "-", fmt.Sprintf("new%d", f.n)) },
			want:  permAllAndAnon(201, 403, 403)},
		// Users: GET /api/user/users/{id}/ | 200 | 200 | 403 (own: use /me/)
		{row: "GET /api/user/users/{id}/", method: "GET", path: func(f *permFixture) string { return f.userPath("") },
			want: map[permWho]int{permAdmin: 200, permManager: 200, permUser: 403, permUserOwn: 403, permAnon: 401},
			check: func(t *testing.T, f *permFixture, r *response) {
				if m := r.Object(t); m["id"] != float64(f.owner.user.ID) || m["username"] != f.owner.user.Username {
					t.Errorf("user: %v", m)
				}
			}},
		// Users: PUT /api/user/users/{id}/ | 200 | 403 | 403
		{row: "PUT /api/user/users/{id}/", method: "PUT", path: func(f *permFixture) string { return f.userPath("") },
			body:  func(*permFixture) any { return map[string]any{"first_name": "Changed", "email": "changed@example.com"} },
			state: permUserState,
			want:  map[permWho]int{permAdmin: 200, permManager: 403, permUser: 403, permUserOwn: 403, permAnon: 401}},
		// Users: PATCH /api/user/users/{id}/ | 200 | 403 | 403
		{row: "PATCH /api/user/users/{id}/", method: "PATCH", path: func(f *permFixture) string { return f.userPath("") },
			body:  func(*permFixture) any { return map[string]any{"last_name": "Changed"} },
			state: permUserState,
			want:  map[permWho]int{permAdmin: 200, permManager: 403, permUser: 403, permUserOwn: 403, permAnon: 401}},
		// Users: DELETE /api/user/users/{id}/ | 204 | 403 | 403
		{row: "DELETE /api/user/users/{id}/", method: "DELETE", path: func(f *permFixture) string { return f.userPath("") },
			state: permUserState,
			want:  map[permWho]int{permAdmin: 204, permManager: 403, permUser: 403, permUserOwn: 403, permAnon: 401}},
		// Users: POST /api/user/users/{id}/reactivate/ | 200 | 200 for a `user`, 403 for a manager or admin | 403
		permReactivateRow("user", permAllAndAnon(200, 200, 403)),
		permReactivateRow("manager", permAllAndAnon(200, 403, 403)),
		permReactivateRow("admin", permAllAndAnon(200, 403, 403)),
		// Users: POST /api/user/users/{id}/deactivate/ | 200 | 403 | 403
		{row: "POST /api/user/users/{id}/deactivate/", method: "POST", path: func(f *permFixture) string { return f.userPath("deactivate/") },
			state: permUserState,
			want:  map[permWho]int{permAdmin: 200, permManager: 403, permUser: 403, permUserOwn: 403, permAnon: 401},
			check: func(t *testing.T, f *permFixture, r *response) {
				if r.String() != `{"status":"User deactivated"}`+"\n" {
					t.Errorf("body %s", r.Body)
				}
			}},
		// Users: POST /api/user/users/{id}/password/ | 204 | 403 | 403
		{row: "POST /api/user/users/{id}/password/", method: "POST", path: func(f *permFixture) string { return f.userPath("password/") },
			body:  func(*permFixture) any { return map[string]string{"password": "reset-by-someone-1"} },
			state: permUserState,
			want:  map[permWho]int{permAdmin: 204, permManager: 403, permUser: 403, permUserOwn: 403, permAnon: 401}},
		// Users: GET /api/user/users/{id}/standing/ | 200 | 200 | 403 (as reading the user)
		{row: "GET /api/user/users/{id}/standing/", method: "GET", path: func(f *permFixture) string { return f.userPath("standing/") },
			want: map[permWho]int{permAdmin: 200, permManager: 200, permUser: 403, permUserOwn: 403, permAnon: 401},
			check: func(t *testing.T, f *permFixture, r *response) {
				if m := r.Object(t); m["missed_in_window"] != float64(0) || m["threshold"] != float64(5) {
					t.Errorf("standing: %v", m)
				}
			}},
		// Users: POST /api/user/me/password/ | 204 | 204 | 204
		{row: "POST /api/user/me/password/", method: "POST", path: permFixedPath("/api/user/me/password/"),
			body: func(f *permFixture) any {
				old := "anything"
				if f.caller.user != nil {
					old = userPassword(f.caller.user.Username)
				}
				return map[string]string{"old_password": old, "new_password": "my-new-password-2"}
			},
			state: permCallerState,
			want:  permAllAndAnon(204, 204, 204)},
		// Tasks: GET /api/task/tasks/ | all | all | own only
		{row: "GET /api/task/tasks/", method: "GET", path: permFixedPath("/api/task/tasks/?limit=1000"), task: true,
			want: map[permWho]int{permAdmin: 200, permManager: 200, permUser: 200, permUserOwn: 200, permAnon: 401},
			check: func(t *testing.T, f *permFixture, r *response) {
				ids := permTaskIDs(t, r)
				_, all, err := f.ev.db.Tasks.FindTasks(System, tasktrack.TaskFilter{Page: tasktrack.Page{Limit: 1}})
				if err != nil {
					t.Fatal(err)
				}
				switch f.who {
				case permAdmin, permManager:
					if r.Header.Get("X-Total-Count") != fmt.Sprint(all) || len(ids) != all || !slices.Contains(ids, f.taskID) {
						t.Errorf("sees %d of %d tasks (total %s), or not task %s", len(ids), all, r.Header.Get("X-Total-Count"), f.taskID)
					}
				default:
					for _, a := range permAssignees(t, r) {
						if a != f.caller.user.ID {
							t.Errorf("a user sees a task of user %d", a)
						}
					}
					if slices.Contains(ids, f.taskID) != (f.who == permUserOwn) {
						t.Errorf("own only: task %s listed %v", f.taskID, slices.Contains(ids, f.taskID))
					}
					if r.Header.Get("X-Total-Count") != fmt.Sprint(len(ids)) {
						t.Errorf("X-Total-Count %s, %d listed", r.Header.Get("X-Total-Count"), len(ids))
					}
				}
			}},
		// Tasks: POST /api/task/tasks/ | 201 | 201 | 403
		{row: "POST /api/task/tasks/", method: "POST", path: permFixedPath("/api/task/tasks/"),
			body: func(f *permFixture) any {
				return map[string]any{"title": fmt.Sprintf("created-%d", f.n), "deadline": deadline(f, time.Hour), "assigned_to": f.owner.user.ID}
			},
			state: func(t *testing.T, f *permFixture) string { return permCount(t, f, fmt.Sprintf("created-%d", f.n), "-") },
			want:  map[permWho]int{permAdmin: 201, permManager: 201, permUser: 403, permUserOwn: 403, permAnon: 401},
			check: func(t *testing.T, f *permFixture, r *response) {
				if m := r.Object(t); m["status"] != "pending" || m["created_by"] != float64(f.caller.user.ID) {
					t.Errorf("created: %v", m)
				}
			}},
		// Tasks: GET /api/task/tasks/{id}/ | 200 | 200 | own 200, other 404
		{row: "GET /api/task/tasks/{id}/", method: "GET", path: func(f *permFixture) string { return f.taskPath("") }, task: true,
			want: map[permWho]int{permAdmin: 200, permManager: 200, permUser: 404, permUserOwn: 200, permAnon: 401},
			check: func(t *testing.T, f *permFixture, r *response) {
				if id := r.Object(t)["id"]; id != f.taskID {
					t.Errorf("task %v, want %s", id, f.taskID)
				}
			}},
		// Tasks: PUT /api/task/tasks/{id}/ | 200 | 200 | 403
		{row: "PUT /api/task/tasks/{id}/", method: "PUT", path: func(f *permFixture) string { return f.taskPath("") }, task: true,
			body: func(f *permFixture) any {
				return map[string]any{"title": "Put", "description": "put", "deadline": deadline(f, 3*time.Hour),
					"assigned_to": f.owner.user.ID, "status": "in_progress"}
			},
			state: permTaskState,
			want:  map[permWho]int{permAdmin: 200, permManager: 200, permUser: 403, permUserOwn: 403, permAnon: 401}},
		// Tasks: PATCH /api/task/tasks/{id}/ | 200 | 200 | 403
		{row: "PATCH /api/task/tasks/{id}/", method: "PATCH", path: func(f *permFixture) string { return f.taskPath("") }, task: true,
			body:  func(*permFixture) any { return map[string]any{"title": "Patched"} },
			state: permTaskState,
			want:  map[permWho]int{permAdmin: 200, permManager: 200, permUser: 403, permUserOwn: 403, permAnon: 401}},
		// Tasks: DELETE /api/task/tasks/{id}/ | 204 | 204 | 403
		{row: "DELETE /api/task/tasks/{id}/", method: "DELETE", path: func(f *permFixture) string { return f.taskPath("") }, task: true,
			state: permTaskState,
			want:  map[permWho]int{permAdmin: 204, permManager: 204, permUser: 403, permUserOwn: 403, permAnon: 401}},
		// Tasks: PATCH /api/task/tasks/{id}/update_status/ | 200 | 200 | own 200, other 404
		{row: "PATCH /api/task/tasks/{id}/update_status/", method: "PATCH", path: func(f *permFixture) string { return f.taskPath("update_status/") }, task: true,
			body:  func(*permFixture) any { return map[string]string{"status": "in_progress"} },
			state: permTaskState,
			want:  map[permWho]int{permAdmin: 200, permManager: 200, permUser: 404, permUserOwn: 200, permAnon: 401},
			check: func(t *testing.T, f *permFixture, r *response) {
				if s := r.Object(t)["status"]; s != "in_progress" {
					t.Errorf("status %v", s)
				}
			}},
		// Tasks: GET /api/task/tasks/{id}/history/ | 200 | 200 | own 200, other 404 (whoever may see the task)
		{row: "GET /api/task/tasks/{id}/history/", method: "GET", path: func(f *permFixture) string { return f.taskPath("history/") }, task: true,
			want: map[permWho]int{permAdmin: 200, permManager: 200, permUser: 404, permUserOwn: 200, permAnon: 401},
			check: func(t *testing.T, f *permFixture, r *response) {
				var events []struct {
					Action   string `json:"action"`
					TargetID string `json:"target_id"`
				}
				r.Decode(t, &events)
				if len(events) != 1 || events[0].Action != "task.create" || events[0].TargetID != f.taskID {
					t.Errorf("history: %s", r.Body)
				}
			}},
		// Tasks: GET /api/task/tasks/missed/ | 200 | 200 | 403
		{row: "GET /api/task/tasks/missed/", method: "GET", path: permFixedPath("/api/task/tasks/missed/"), alert: true,
			want: permAllAndAnon(200, 200, 403),
			check: func(t *testing.T, f *permFixture, r *response) {
				if !slices.Contains(permTaskIDs(t, r), f.taskID) {
					t.Errorf("missed task %s not listed", f.taskID)
				}
			}},
		// Alerts: GET /api/alerts/ | admin, manager; user 403
		{row: "GET /api/alerts/", method: "GET", path: permFixedPath("/api/alerts/?limit=1000"), alert: true,
			want: permAllAndAnon(200, 200, 403),
			check: func(t *testing.T, f *permFixture, r *response) {
				if !strings.Contains(r.String(), `"id":"`+f.alertID+`"`) {
					t.Errorf("alert %s not listed", f.alertID)
				}
			}},
		// Alerts: POST /api/alerts/{id}/acknowledge/ | admin, manager; user 403
		{row: "POST /api/alerts/{id}/acknowledge/", method: "POST", path: func(f *permFixture) string { return "/api/alerts/" + f.alertID + "/acknowledge/" },
			alert: true, state: permAlertState,
			want: permAllAndAnon(200, 200, 403)},
		// Alerts: GET /api/alerts/stream/ | admin, manager; user 403
		{row: "GET /api/alerts/stream/", method: "GET", path: permFixedPath("/api/alerts/stream/"), stream: true,
			want: permAllAndAnon(200, 200, 403)},
		// Notifications: every user, their own
		{row: "GET /api/notifications/", method: "GET", path: permFixedPath("/api/notifications/"), task: true,
			want: permAllAndAnon(200, 200, 200),
			check: func(t *testing.T, f *permFixture, r *response) {
				// The fixture's task_assigned is the owner's alone.
				mine := f.who == permUserOwn
				if got := strings.Contains(r.String(), f.taskID); got != mine || r.Header.Get("X-Unread-Count") != map[bool]string{true: "1", false: "0"}[mine] {
					t.Errorf("listed the owner's notification: %v (unread %q), want %v", got, r.Header.Get("X-Unread-Count"), mine)
				}
			}},
		{row: "POST /api/notifications/{id}/read/", method: "POST", path: permNotificationPath, task: true, state: permNotificationState,
			want: map[permWho]int{permAdmin: 404, permManager: 404, permUser: 404, permUserOwn: 200, permAnon: 401}},
		{row: "POST /api/notifications/read-all/", method: "POST", path: permFixedPath("/api/notifications/read-all/"), task: true,
			want: map[permWho]int{permAdmin: 200, permManager: 200, permUser: 200, permUserOwn: 200, permAnon: 401},
			check: func(t *testing.T, f *permFixture, r *response) {
				want := map[bool]string{true: `{"marked":1}`, false: `{"marked":0}`}[f.who == permUserOwn] + "\n"
				if r.String() != want {
					t.Errorf("body %s, want %s", r.Body, want)
				}
			}},
		{row: "GET /api/notifications/stream/", method: "GET", path: permFixedPath("/api/notifications/stream/"), stream: true,
			want: permAllAndAnon(200, 200, 200)},
		{row: "GET /api/user/me/preferences/", method: "GET", path: permFixedPath("/api/user/me/preferences/"),
			want: permAllAndAnon(200, 200, 200)},
		{row: "PATCH /api/user/me/preferences/", method: "PATCH", path: permFixedPath("/api/user/me/preferences/"),
			body: func(*permFixture) any { return map[string]any{"timezone": "Europe/Paris"} }, state: permPreferencesState,
			want: permAllAndAnon(200, 200, 200)},
		// Audit log: GET /api/audit/ | admin only
		{row: "GET /api/audit/", method: "GET", path: permFixedPath("/api/audit/"),
			want: permAllAndAnon(200, 403, 403)},
		// Webhooks: /api/webhooks/ | admin only
		{row: "GET /api/webhooks/", method: "GET", path: permFixedPath("/api/webhooks/"), want: permAllAndAnon(200, 403, 403)},
		{row: "POST /api/webhooks/", method: "POST", path: permFixedPath("/api/webhooks/"),
			body: func(f *permFixture) any {
				return map[string]any{"url": fmt.Sprintf("http://127.0.0.1:9/%d", f.n), "events": []string{"*"}}
			}, state: permWebhookState, want: permAllAndAnon(201, 403, 403)},
		{row: "GET /api/webhooks/{id}/", method: "GET", path: permWebhookPath(""), setup: permWebhookSetup, want: permAllAndAnon(200, 403, 403)},
		{row: "PATCH /api/webhooks/{id}/", method: "PATCH", path: permWebhookPath(""), setup: permWebhookSetup,
			body: func(*permFixture) any { return map[string]any{"description": "changed"} }, state: permWebhookState,
			want: permAllAndAnon(200, 403, 403)},
		{row: "DELETE /api/webhooks/{id}/", method: "DELETE", path: permWebhookPath(""), setup: permWebhookSetup, state: permWebhookState,
			want: permAllAndAnon(204, 403, 403)},
		{row: "POST /api/webhooks/{id}/rotate-secret/", method: "POST", path: permWebhookPath("rotate-secret/"), setup: permWebhookSetup,
			state: permWebhookState, want: permAllAndAnon(200, 403, 403)},
		{row: "POST /api/webhooks/{id}/test/", method: "POST", path: permWebhookPath("test/"), setup: permWebhookSetup,
			state: permWebhookState, want: permAllAndAnon(202, 403, 403)},
		{row: "GET /api/webhooks/{id}/deliveries/", method: "GET", path: permWebhookPath("deliveries/"), setup: permWebhookSetup,
			want: permAllAndAnon(200, 403, 403)},
		{row: "POST /api/webhooks/{id}/deliveries/{delivery_id}/redeliver/", method: "POST",
			path: func(f *permFixture) string {
				return "/api/webhooks/" + f.webhookID + "/deliveries/" + f.attemptID + "/redeliver/"
			},
			setup: permWebhookSetup, state: permWebhookState, want: permAllAndAnon(202, 403, 403)},
		// Dashboard: GET /api/stats/ | admin, manager: everyone | user: only their own, without people
		{row: "GET /api/stats/", method: "GET", path: permFixedPath("/api/stats/"), task: true,
			want: map[permWho]int{permAdmin: 200, permManager: 200, permUser: 200, permUserOwn: 200, permAnon: 401},
			check: func(t *testing.T, f *permFixture, r *response) {
				m := r.Object(t)
				_, people := m["people"]
				team := f.who == permAdmin || f.who == permManager
				_, pending, err := f.ev.db.Tasks.FindTasks(System, tasktrack.TaskFilter{Statuses: []tasktrack.Status{tasktrack.StatusPending}})
				if err != nil {
					t.Fatal(err)
				}
				if !team {
					pending = map[bool]int{true: 1, false: 0}[f.who == permUserOwn] // the fixture's task alone, or none
				}
				if people != team || m["tasks"].(map[string]any)["pending"] != float64(pending) {
					t.Errorf("people listed %v, pending %v; want %v, %d", people, m["tasks"], team, pending)
				}
			}},
	}
}

// permReactivateRow is the reactivate row for a deactivated owner of
// the given role.
func permReactivateRow(ownerRole string, want map[permWho]int) permRow {
	article := "a "
	if ownerRole == "admin" {
		article = "an "
	}
	return permRow{row: "POST /api/user/users/{id}/reactivate/ (" + article + ownerRole + ")", method: "POST",
		path: func(f *permFixture) string { return f.userPath("reactivate/") },
		setup: func(t *testing.T, f *permFixture) {
			if r := f.ev.admin.Do("POST", f.userPath("deactivate/"), nil); r.Status != 200 {
				t.Fatalf("deactivate: %d %s", r.Status, r.Body)
			}
		},
		state: permUserState, ownerRole: ownerRole, want: want,
		check: func(t *testing.T, f *permFixture, r *response) {
			if r.String() != `{"status":"User reactivated"}`+"\n" {
				t.Errorf("body %s", r.Body)
			}
		}}
}

// newPermFixture makes the world of one cell.
func newPermFixture(t *testing.T, ev *env, n int, who permWho, row permRow) *permFixture {
	t.Helper()
	f := &permFixture{ev: ev, n: n, who: who}
	switch who {
	case permAdmin:
		f.caller = ev.newUser(fmt.Sprintf("adm%d", n), "admin")
	case permManager, permManagerOwn:
		f.caller = ev.newUser(fmt.Sprintf("mgr%d", n), "manager")
	case permUser, permUserOwn:
		f.caller = ev.newUser(fmt.Sprintf("usr%d", n), "user")
	case permAnon:
		f.caller = ev.anon()
	}
	ownerRole := row.ownerRole
	if ownerRole == "" {
		ownerRole = "user"
	}
	f.other = ev.newUser(fmt.Sprintf("oth%d", n), ownerRole)
	f.owner = f.other
	if who == permUserOwn || who == permManagerOwn {
		f.owner = f.caller
	}
	if row.task {
		f.taskID = ev.admin.newTask(f.owner, fmt.Sprintf("task %d", n), 2*time.Hour)
	}
	if row.alert {
		// A task missed by the sweep raises an alert.
		f.taskID = ev.admin.newTask(f.owner, fmt.Sprintf("missed %d", n), time.Second)
		ev.clock.Add(2 * time.Second)
		if _, err := ev.db.Sweeper.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
		alerts, _, err := ev.db.Alerts.FindAlerts(System, tasktrack.AlertFilter{Kind: tasktrack.AlertTaskMissed, Page: tasktrack.Page{Limit: tasktrack.MaxLimit}})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range alerts {
			if a.Task != nil && a.Task.ID == f.taskID {
				f.alertID = a.ID
			}
		}
		if f.alertID == "" {
			t.Fatalf("no alert for task %s", f.taskID)
		}
	}
	if row.setup != nil {
		row.setup(t, f)
	}
	return f
}

// permStream opens an event stream and answers its status, without
// waiting for events.
func permStream(t *testing.T, c *client, path string) *response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", c.env.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Access != "" {
		req.Header.Set("Authorization", "Bearer "+c.Access)
	}
	res, err := c.env.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		body, _ := io.ReadAll(res.Body)
		r := &response{Status: res.StatusCode, Header: res.Header, Body: body}
		checkAgainstSpec(t, req, nil, r)
		return r
	}
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("stream content type %q", ct)
	}
	line, err := bufio.NewReader(res.Body).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, ":") {
		t.Errorf("stream's first line %q: %v", line, err)
	}
	return &response{Status: res.StatusCode, Header: res.Header}
}

func TestPermissionTable(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ev := newEnv(t, e)
		n := 0
		for _, row := range permRows() {
			for who := permAdmin; who <= permAnon; who++ {
				want, ok := row.want[who]
				if !ok {
					continue
				}
				n++
				t.Run(row.row+"/"+who.String(), func(t *testing.T) {
					f := newPermFixture(t, ev, n, who, row)
					before := ""
					if row.state != nil {
						before = row.state(t, f)
					}
					var r *response
					if row.stream {
						r = permStream(t, f.caller, row.path(f))
					} else {
						var body any
						if row.body != nil {
							body = row.body(f)
						}
						r = f.caller.Do(row.method, row.path(f), body)
					}
					if r.Status != want {
						t.Fatalf("%s %s as %s: %d %s; want %d", row.method, row.path(f), who, r.Status, r.Body, want)
					}
					if row.state != nil {
						after := row.state(t, f)
						if ok := want < 300; ok && after == before {
							t.Errorf("allowed, but nothing changed: %s", after)
						} else if !ok && after != before {
							t.Errorf("refused, but the database changed:\nbefore %s\nafter  %s", before, after)
						}
					}
					switch {
					case want == 401:
						if r.String() != `{"detail":"Authentication credentials were not provided."}`+"\n" || r.Header.Get("WWW-Authenticate") != `Bearer realm="api"` {
							t.Errorf("401: %s %v", r.Body, r.Header)
						}
					case want == 403:
						if r.String() != `{"detail":"You do not have permission to perform this action."}`+"\n" {
							t.Errorf("403: %s", r.Body)
						}
					case want == 404:
						if r.String() != `{"detail":"Not found."}`+"\n" {
							t.Errorf("404: %s", r.Body)
						}
					case want < 300 && row.check != nil:
						row.check(t, f, r)
					}
				})
			}
		}
	})
}

// Each role tries every action above its rights, directly and through
// side doors: fields an endpoint does not own, its own record, other
// people's task ids, and the status only the system sets. Nothing of it
// may change the database.
func TestPrivilegeEscalation(t *testing.T) {
	const missedOnly = `{"status":["Status \"missed\" is set by the system only."]}` + "\n"
	const forbidden = `{"detail":"You do not have permission to perform this action."}` + "\n"
	const notFound = `{"detail":"Not found."}` + "\n"
	cases := []struct {
		name   string
		who    permWho
		method string
		path   func(f *permFixture) string
		body   func(f *permFixture) any
		task   bool
		status int
		want   string // the exact body; "" for any
		state  func(t *testing.T, f *permFixture) string
	}{
		// Users: their own record.
		{"user sets is_active on own record", permUserOwn, "PATCH", func(f *permFixture) string { return f.userPath("") },
			func(*permFixture) any { return map[string]any{"is_active": false} }, false, 403, forbidden, permUserState},
		{"user sets own role by PUT", permUserOwn, "PUT", func(f *permFixture) string { return f.userPath("") },
			func(*permFixture) any { return map[string]any{"role": "admin"} }, false, 403, forbidden, permUserState},
		{"user sets own password through the admin reset", permUserOwn, "POST", func(f *permFixture) string { return f.userPath("password/") },
			func(*permFixture) any { return map[string]any{"password": "a-new-password-1"} }, false, 403, forbidden, permUserState},
		{"user reactivates self", permUserOwn, "POST", func(f *permFixture) string { return f.userPath("reactivate/") },
			nil, false, 403, forbidden, permUserState},
		{"user patches /me/", permUserOwn, "PATCH", permFixedPath("/api/user/me/"),
			func(*permFixture) any { return map[string]any{"role": "admin", "is_active": true} }, false, 405, `{"detail":"Method \"PATCH\" not allowed."}` + "\n", permUserState},
		{"user puts /me/", permUserOwn, "PUT", permFixedPath("/api/user/me/"),
			func(*permFixture) any { return map[string]any{"role": "admin"} }, false, 405, `{"detail":"Method \"PUT\" not allowed."}` + "\n", permUserState},
		{"user creates an admin", permUser, "POST", permFixedPath("/api/user/users/"),
			func(f *permFixture) any {
				return map[string]any{"username": fmt.Sprintf("boss%d", f.n), "password": "a-good-password", "role": "admin"}
			}, false, 403, forbidden, func(t *testing.T, f *permFixture) string { return permCount(t, f, "-", fmt.Sprintf("boss%d", f.n)) }},
		// Managers: above the manager's rights.
		{"manager promotes self by PATCH", permManagerOwn, "PATCH", func(f *permFixture) string { return f.userPath("") },
			func(*permFixture) any { return map[string]any{"role": "admin"} }, false, 403, forbidden, permUserState},
		{"manager promotes self by PUT", permManagerOwn, "PUT", func(f *permFixture) string { return f.userPath("") },
			func(*permFixture) any { return map[string]any{"role": "admin", "is_active": true} }, false, 403, forbidden, permUserState},
		{"manager creates an admin", permManager, "POST", permFixedPath("/api/user/users/"),
			func(f *permFixture) any {
				return map[string]any{"username": fmt.Sprintf("boss%d", f.n), "password": "a-good-password", "role": "admin"}
			}, false, 403, forbidden, func(t *testing.T, f *permFixture) string { return permCount(t, f, "-", fmt.Sprintf("boss%d", f.n)) }},
		{"manager deactivates a user through update", permManager, "PATCH", func(f *permFixture) string { return f.userPath("") },
			func(*permFixture) any { return map[string]any{"is_active": false} }, false, 403, forbidden, permUserState},
		{"manager resets a password through update", permManager, "PATCH", func(f *permFixture) string { return f.userPath("") },
			func(*permFixture) any { return map[string]any{"password": "taken-over-123"} }, false, 403, forbidden, permUserState},
		{"manager reads the audit log", permManager, "GET", permFixedPath("/api/audit/?actor=1"), nil, false, 403, forbidden, nil},
		// update_status changes the status only.
		{"user reassigns through update_status", permUserOwn, "PATCH", func(f *permFixture) string { return f.taskPath("update_status/") },
			func(f *permFixture) any { return map[string]any{"assigned_to": f.other.user.ID} }, true, 400, `{"status":["This field is required."]}` + "\n", permTaskState},
		// Missed is the system's.
		{"user sets missed by update_status", permUserOwn, "PATCH", func(f *permFixture) string { return f.taskPath("update_status/") },
			func(*permFixture) any { return map[string]any{"status": "missed"} }, true, 400, missedOnly, permTaskState},
		{"manager sets missed by update_status", permManager, "PATCH", func(f *permFixture) string { return f.taskPath("update_status/") },
			func(*permFixture) any { return map[string]any{"status": "missed"} }, true, 400, missedOnly, permTaskState},
		{"admin sets missed by update_status", permAdmin, "PATCH", func(f *permFixture) string { return f.taskPath("update_status/") },
			func(*permFixture) any { return map[string]any{"status": "missed"} }, true, 400, missedOnly, permTaskState},
		{"manager sets missed by PATCH", permManager, "PATCH", func(f *permFixture) string { return f.taskPath("") },
			func(*permFixture) any { return map[string]any{"status": "missed"} }, true, 400, missedOnly, permTaskState},
		{"admin sets missed by PUT", permAdmin, "PUT", func(f *permFixture) string { return f.taskPath("") },
			func(f *permFixture) any {
				return map[string]any{"title": "t", "deadline": f.ev.clock.Now().Add(time.Hour).Format(time.RFC3339), "assigned_to": f.owner.user.ID, "status": "missed"}
			}, true, 400, missedOnly, permTaskState},
		{"user sets missed by PATCH", permUserOwn, "PATCH", func(f *permFixture) string { return f.taskPath("") },
			func(*permFixture) any { return map[string]any{"status": "missed"} }, true, 403, forbidden, permTaskState},
		// A user on other people's task ids, in every task endpoint.
		{"user reads another's task", permUser, "GET", func(f *permFixture) string { return f.taskPath("") }, nil, true, 404, notFound, nil},
		{"user puts another's task", permUser, "PUT", func(f *permFixture) string { return f.taskPath("") },
			func(f *permFixture) any {
				return map[string]any{"title": "mine", "deadline": f.ev.clock.Now().Add(time.Hour).Format(time.RFC3339), "assigned_to": f.caller.user.ID}
			}, true, 403, forbidden, permTaskState},
		{"user takes another's task by PATCH", permUser, "PATCH", func(f *permFixture) string { return f.taskPath("") },
			func(f *permFixture) any { return map[string]any{"assigned_to": f.caller.user.ID} }, true, 403, forbidden, permTaskState},
		{"user deletes another's task", permUser, "DELETE", func(f *permFixture) string { return f.taskPath("") }, nil, true, 403, forbidden, permTaskState},
		{"user completes another's task", permUser, "PATCH", func(f *permFixture) string { return f.taskPath("update_status/") },
			func(*permFixture) any { return map[string]any{"status": "completed"} }, true, 404, notFound, permTaskState},
		{"user sets missed on another's task", permUser, "PATCH", func(f *permFixture) string { return f.taskPath("update_status/") },
			func(*permFixture) any { return map[string]any{"status": "missed"} }, true, 404, notFound, permTaskState},
		{"user probes another's task with a bad body", permUser, "PATCH", func(f *permFixture) string { return f.taskPath("update_status/") },
			func(*permFixture) any { return map[string]any{} }, true, 404, notFound, permTaskState},
		{"user claims another's task through update_status", permUser, "PATCH", func(f *permFixture) string { return f.taskPath("update_status/") },
			func(f *permFixture) any {
				return map[string]any{"status": "in_progress", "assigned_to": f.caller.user.ID}
			}, true, 404, notFound, permTaskState},
		{"user lists another's tasks", permUser, "GET", func(f *permFixture) string { return "/api/task/tasks/?assigned_to=" + itoa(f.other.user.ID) },
			nil, true, 200, "[]\n", nil},
		{"user searches another's tasks", permUser, "GET", func(f *permFixture) string { return "/api/task/tasks/?search=task" },
			nil, true, 200, "[]\n", nil},
		{"user lists missed tasks", permUser, "GET", permFixedPath("/api/task/tasks/missed/"), nil, true, 403, forbidden, nil},
		{"user creates a task for self", permUser, "POST", permFixedPath("/api/task/tasks/"),
			func(f *permFixture) any {
				return map[string]any{"title": fmt.Sprintf("self-%d", f.n), "deadline": f.ev.clock.Now().Add(time.Hour).Format(time.RFC3339), "assigned_to": f.caller.user.ID}
			}, false, 403, forbidden, func(t *testing.T, f *permFixture) string { return permCount(t, f, fmt.Sprintf("self-%d", f.n), "-") }},
	}
	Engines(t, func(t *testing.T, e Engine) {
		ev := newEnv(t, e)
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				f := newPermFixture(t, ev, 1000+i, c.who, permRow{task: c.task})
				before := ""
				if c.state != nil {
					before = c.state(t, f)
				}
				var body any
				if c.body != nil {
					body = c.body(f)
				}
				r := f.caller.Do(c.method, c.path(f), body)
				if r.Status != c.status || (c.want != "" && r.String() != c.want) {
					t.Fatalf("%s %s: %d %s; want %d %s", c.method, c.path(f), r.Status, r.Body, c.status, c.want)
				}
				if c.state != nil {
					if after := c.state(t, f); after != before {
						t.Errorf("the database changed:\nbefore %s\nafter  %s", before, after)
					}
				}
			})
		}

		// The assignee's update_status with every other field of the task
		// in the body changes the status and nothing else.
		t.Run("update_status changes the status only", func(t *testing.T) {
			f := newPermFixture(t, ev, 2000, permUserOwn, permRow{task: true})
			before, err := ev.db.Tasks.FindTaskByID(System, f.taskID)
			if err != nil {
				t.Fatal(err)
			}
			r := f.caller.Do("PATCH", f.taskPath("update_status/"), map[string]any{
				"status": "in_progress", "title": "hijacked", "description": "hijacked", "assigned_to": f.other.user.ID,
				"deadline": ev.clock.Now().Add(30 * 24 * time.Hour).Format(time.RFC3339), "created_by": f.caller.user.ID,
				"completed_at": ev.clock.Now().Format(time.RFC3339), "id": "0193a000-0000-7000-8000-000000000000",
			})
			if r.Status != 200 {
				t.Fatalf("update_status: %d %s", r.Status, r.Body)
			}
			after, err := ev.db.Tasks.FindTaskByID(System, f.taskID)
			if err != nil {
				t.Fatal(err)
			}
			if after.Status != tasktrack.StatusInProgress || after.Title != before.Title || after.Description != before.Description ||
				after.AssignedTo != before.AssignedTo || !after.Deadline.Equal(before.Deadline) || *after.CreatedBy != *before.CreatedBy ||
				after.CompletedAt != nil || after.ID != before.ID {
				t.Errorf("before %+v\nafter %+v", before, after)
			}
			// The other user still cannot see it.
			if r := f.other.Do("GET", f.taskPath(""), nil); r.Status != 404 {
				t.Errorf("the other user sees the task: %d", r.Status)
			}
		})

		// A user's own password change cannot carry a role, an active flag
		// or a new username with it.
		t.Run("own password change changes only the password", func(t *testing.T) {
			f := newPermFixture(t, ev, 2001, permUserOwn, permRow{})
			r := f.caller.Do("POST", "/api/user/me/password/", map[string]any{
				"old_password": userPassword(f.caller.user.Username), "new_password": "a-brand-new-pass",
				"role": "admin", "is_active": false, "username": "root", "email": "x@example.com",
			})
			if r.Status != 204 {
				t.Fatalf("change password: %d %s", r.Status, r.Body)
			}
			u, err := ev.db.Sessions.AuthUser(context.Background(), f.caller.user.ID)
			if err != nil {
				t.Fatal(err)
			}
			if u.Role != tasktrack.RoleUser || !u.IsActive || u.Username != f.caller.user.Username || u.Email != "" {
				t.Errorf("after own password change: %+v", u)
			}
			again := ev.login(f.caller.user.Username, "a-brand-new-pass")
			if r := again.Do("GET", "/api/user/users/", nil); r.Status != 403 {
				t.Errorf("still a user: %d", r.Status)
			}
		})

		// Managers may not touch an admin at all.
		t.Run("manager against an admin", func(t *testing.T) {
			f := newPermFixture(t, ev, 2002, permManager, permRow{})
			victim := ev.newUser("victim-admin", "admin")
			path := "/api/user/users/" + itoa(victim.user.ID) + "/"
			for _, a := range []struct{ method, path string }{
				{"PATCH", path}, {"PUT", path}, {"DELETE", path}, {"POST", path + "deactivate/"}, {"POST", path + "password/"},
			} {
				if r := f.caller.Do(a.method, a.path, map[string]any{"role": "user", "is_active": false, "password": "taken-over-123"}); r.Status != 403 {
					t.Errorf("%s %s: %d %s", a.method, a.path, r.Status, r.Body)
				}
			}
			if r := victim.Do("GET", "/api/audit/", nil); r.Status != 200 {
				t.Errorf("the admin lost their rights: %d %s", r.Status, r.Body)
			}
		})

		// A manager cannot bring back a deactivated admin, who could then
		// read the audit log, nor a deactivated fellow manager.
		for i, role := range []string{"admin", "manager"} {
			t.Run("manager reactivates a deactivated "+role, func(t *testing.T) {
				f := newPermFixture(t, ev, 2003+i, permManager, permRow{ownerRole: role})
				if r := ev.admin.Do("POST", f.userPath("deactivate/"), nil); r.Status != 200 {
					t.Fatalf("deactivate: %d %s", r.Status, r.Body)
				}
				before := permUserState(t, f)
				if r := f.caller.Do("POST", f.userPath("reactivate/"), nil); r.Status != 403 || r.String() != forbidden {
					t.Fatalf("reactivate: %d %s; want 403 %s", r.Status, r.Body, forbidden)
				}
				if after := permUserState(t, f); after != before {
					t.Errorf("the database changed:\nbefore %s\nafter  %s", before, after)
				}
				if r := f.owner.Do("GET", "/api/user/me/", nil); r.Status != 401 {
					t.Errorf("the deactivated %s's token works again: %d %s", role, r.Status, r.Body)
				}
				r := ev.anon().Do("POST", "/api/token/", map[string]string{"username": f.owner.user.Username, "password": userPassword(f.owner.user.Username)})
				if r.Status != 401 {
					t.Errorf("the deactivated %s signs in: %d %s", role, r.Status, r.Body)
				}
			})
		}
	})
}

// permWebhookSetup makes the cell's endpoint and a delivered ping to it.
func permWebhookSetup(t *testing.T, f *permFixture) {
	t.Helper()
	ctx := context.Background()
	url := fmt.Sprintf("http://127.0.0.1:9/%d", f.n)
	w, err := f.ev.db.Webhooks.CreateWebhook(System, tasktrack.WebhookInput{URL: &url, Events: []string{"*"}}, tasktrack.NewWebhookSecret())
	if err != nil {
		t.Fatal(err)
	}
	f.webhookID = w.ID
	if err := f.ev.db.Webhooks.PingWebhook(System, w.ID); err != nil {
		t.Fatal(err)
	}
	ds, err := f.ev.db.Outbox.ClaimDeliveries(ctx, "perm", []string{tasktrack.DeliveryWebhook}, 100, time.Minute, tasktrack.DeliveryRoom{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if d.Target == w.ID {
			if err := f.ev.db.Webhooks.RecordWebhookAttempt(ctx, tasktrack.WebhookAttemptRecord{WebhookID: w.ID, DeliveryID: d.ID,
				EventType: tasktrack.EventPing, Attempt: d.Attempt, OK: true, ResponseStatus: 200}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := f.ev.db.Outbox.DeliveriesSucceeded(ctx, ds); err != nil {
		t.Fatal(err)
	}
	attempts, _, err := f.ev.db.Webhooks.FindWebhookAttempts(System, w.ID, "", tasktrack.Page{})
	if err != nil || len(attempts) != 1 {
		t.Fatalf("attempts %v: %v", attempts, err)
	}
	f.attemptID = attempts[0].ID
}

func permWebhookPath(suffix string) func(*permFixture) string {
	return func(f *permFixture) string { return "/api/webhooks/" + f.webhookID + "/" + suffix }
}

// permWebhookState is every endpoint with its signing secrets, and the
// webhook deliveries waiting.
func permWebhookState(t *testing.T, f *permFixture) string {
	t.Helper()
	ctx := context.Background()
	hooks, _, err := f.ev.db.Webhooks.FindWebhooks(System, tasktrack.Page{Limit: tasktrack.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, w := range hooks {
		target, err := f.ev.db.Webhooks.WebhookTarget(ctx, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s|%s|%v|%s|%s|%v|%v\n", w.ID, w.URL, w.Events, w.Format, w.Description, w.IsActive, target.Secrets)
	}
	pending, _, err := f.ev.db.Outbox.OutboxStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "pending %d", pending[tasktrack.DeliveryWebhook])
	return b.String()
}
