package tasktrack_test

import (
	"fmt"
	"testing"

	"tasktrack"
)

// The permission table of API.md, row by row: which roles may do what.
// Rows whose answer depends on the data (a user's own task) are checked
// by TestOwnTasks; every cell is also checked through HTTP on both engines
// in httpapi/permissions_test.go.
func TestPermissionTable(t *testing.T) {
	const A, M, U = "admin", "manager", "user"
	rows := []struct {
		row     string
		action  tasktrack.Action
		allowed []string
	}{
		{"GET /api/user/users/", tasktrack.CanListUsers, []string{A, M}},
		{"POST /api/user/users/", tasktrack.CanCreateUser, []string{A}},
		{"GET /api/user/users/{id}/", tasktrack.CanReadUser, []string{A, M}},
		{"PUT, PATCH /api/user/users/{id}/", tasktrack.CanUpdateUser, []string{A}},
		{"DELETE /api/user/users/{id}/", tasktrack.CanDeleteUser, []string{A}},
		{"POST /api/user/users/{id}/reactivate/", tasktrack.CanReactivateUser, []string{A, M}},
		{"POST /api/user/users/{id}/deactivate/", tasktrack.CanDeactivateUser, []string{A}},
		{"POST /api/user/users/{id}/password/", tasktrack.CanSetUserPassword, []string{A}},
		{"GET /api/task/tasks/ (all)", tasktrack.CanListAllTasks, []string{A, M}},
		{"POST /api/task/tasks/", tasktrack.CanCreateTask, []string{A, M}},
		{"GET /api/task/tasks/{id}/ (any)", tasktrack.CanSeeAnyTask, []string{A, M}},
		{"PUT, PATCH /api/task/tasks/{id}/", tasktrack.CanUpdateTask, []string{A, M}},
		{"DELETE /api/task/tasks/{id}/", tasktrack.CanDeleteTask, []string{A, M}},
		{"PATCH /api/task/tasks/{id}/update_status/ (any)", tasktrack.CanUpdateAnyStatus, []string{A, M}},
		{"GET /api/task/tasks/missed/", tasktrack.CanListMissed, []string{A, M}},
		{"GET /api/alerts/", tasktrack.CanListAlerts, []string{A, M}},
		{"POST /api/alerts/{id}/acknowledge/", tasktrack.CanAcknowledgeAlert, []string{A, M}},
		{"GET /api/audit/", tasktrack.CanReadAudit, []string{A}},
		{"GET, DELETE /api/user/users/{id}/tokens/ (another's)", tasktrack.CanManageTokens, []string{A}},
		{"GET /api/stats/ (everyone, with people)", tasktrack.CanSeeTeamStats, []string{A, M}},
		{"/api/notifications/ (own)", tasktrack.CanUseInbox, []string{A, M, U}},
		{"GET, PATCH /api/user/me/preferences/ (own)", tasktrack.CanSetPreferences, []string{A, M, U}},
		{"/api/webhooks/ (every route)", tasktrack.CanManageWebhooks, []string{A}},
	}
	for _, row := range rows {
		for _, role := range tasktrack.Roles {
			actor := &tasktrack.User{ID: 7, Role: role, IsActive: true}
			want := false
			for _, r := range row.allowed {
				want = want || r == role.Name
			}
			if got := tasktrack.Allowed(actor, row.action); got != want {
				t.Errorf("%s as %s: allowed = %v, want %v", row.row, role.Name, got, want)
			}
			err := tasktrack.Authorize(actor, row.action)
			if want != (err == nil) || (err != nil && tasktrack.ErrorKind(err) != tasktrack.KindForbidden) {
				t.Errorf("%s as %s: Authorize = %v", row.row, role.Name, err)
			}
			// An inactive user may do nothing.
			actor.IsActive = false
			if tasktrack.Allowed(actor, row.action) {
				t.Errorf("%s as an inactive %s: allowed", row.row, role.Name)
			}
		}
		// The system (no actor) may do everything.
		if !tasktrack.Allowed(nil, row.action) {
			t.Errorf("%s as the system: refused", row.row)
		}
	}
}

// A manager reactivates users only; an admin anyone; a user no one.
func TestAuthorizeReactivate(t *testing.T) {
	actor := func(r tasktrack.Role) *tasktrack.User { return &tasktrack.User{ID: 7, Role: r, IsActive: true} }
	target := func(r tasktrack.Role) *tasktrack.User { return &tasktrack.User{ID: 9, Role: r} }
	cases := []struct {
		actor   *tasktrack.User
		target  tasktrack.Role
		allowed bool
	}{
		{actor(tasktrack.RoleAdmin), tasktrack.RoleAdmin, true},
		{actor(tasktrack.RoleAdmin), tasktrack.RoleManager, true},
		{actor(tasktrack.RoleAdmin), tasktrack.RoleUser, true},
		{actor(tasktrack.RoleManager), tasktrack.RoleAdmin, false},
		{actor(tasktrack.RoleManager), tasktrack.RoleManager, false},
		{actor(tasktrack.RoleManager), tasktrack.RoleUser, true},
		{actor(tasktrack.RoleUser), tasktrack.RoleAdmin, false},
		{actor(tasktrack.RoleUser), tasktrack.RoleManager, false},
		{actor(tasktrack.RoleUser), tasktrack.RoleUser, false},
		{&tasktrack.User{ID: 7, Role: tasktrack.RoleAdmin}, tasktrack.RoleUser, false}, // an inactive admin
		{nil, tasktrack.RoleAdmin, true},                                               // the system
	}
	for _, c := range cases {
		name := "the system"
		if c.actor != nil {
			name = fmt.Sprintf("%s (active %v)", c.actor.Role.Name, c.actor.IsActive)
		}
		err := tasktrack.AuthorizeReactivate(c.actor, target(c.target))
		if c.allowed && err != nil {
			t.Errorf("%s reactivates a %s: %v, want nil", name, c.target.Name, err)
		}
		if !c.allowed && tasktrack.ErrorKind(err) != tasktrack.KindForbidden {
			t.Errorf("%s reactivates a %s: %v, want forbidden", name, c.target.Name, err)
		}
	}
}

// Anyone active lists and revokes their own tokens; only admins another's.
func TestAuthorizeTokens(t *testing.T) {
	actor := func(r tasktrack.Role, active bool) *tasktrack.User {
		return &tasktrack.User{ID: 7, Role: r, IsActive: active}
	}
	cases := []struct {
		name    string
		actor   *tasktrack.User
		owner   int64
		allowed bool
	}{
		{"a user, their own", actor(tasktrack.RoleUser, true), 7, true},
		{"a manager, their own", actor(tasktrack.RoleManager, true), 7, true},
		{"an admin, their own", actor(tasktrack.RoleAdmin, true), 7, true},
		{"a user, another's", actor(tasktrack.RoleUser, true), 9, false},
		{"a manager, another's", actor(tasktrack.RoleManager, true), 9, false},
		{"an admin, another's", actor(tasktrack.RoleAdmin, true), 9, true},
		{"an inactive user, their own", actor(tasktrack.RoleUser, false), 7, false},
		{"an inactive admin, another's", actor(tasktrack.RoleAdmin, false), 9, false},
		{"the system", nil, 9, true},
	}
	for _, c := range cases {
		err := tasktrack.AuthorizeTokens(c.actor, c.owner)
		if c.allowed && err != nil {
			t.Errorf("%s: %v, want nil", c.name, err)
		}
		if !c.allowed && tasktrack.ErrorKind(err) != tasktrack.KindForbidden {
			t.Errorf("%s: %v, want forbidden", c.name, err)
		}
	}
}

// The alerts of a disabled webhook are the admins' alone; every other
// kind is for whoever lists alerts.
func TestSeesAlertKind(t *testing.T) {
	cases := []struct {
		kind string
		role tasktrack.Role
		sees bool
	}{
		{tasktrack.AlertWebhookDisabled, tasktrack.RoleAdmin, true},
		{tasktrack.AlertWebhookDisabled, tasktrack.RoleManager, false},
		{tasktrack.AlertWebhookDisabled, tasktrack.RoleUser, false},
		{"task_missed", tasktrack.RoleAdmin, true},
		{"task_missed", tasktrack.RoleManager, true},
		{"user_deactivated", tasktrack.RoleManager, true},
	}
	for _, c := range cases {
		actor := &tasktrack.User{ID: 7, Role: c.role, IsActive: true}
		if got := tasktrack.SeesAlertKind(actor, c.kind); got != c.sees {
			t.Errorf("%s sees %s: %v, want %v", c.role.Name, c.kind, got, c.sees)
		}
	}
	if !tasktrack.SeesAlertKind(nil, tasktrack.AlertWebhookDisabled) {
		t.Errorf("the system does not see %s", tasktrack.AlertWebhookDisabled)
	}
}

func TestOwnTasks(t *testing.T) {
	user := &tasktrack.User{ID: 7, Role: tasktrack.RoleUser, IsActive: true}
	manager := &tasktrack.User{ID: 8, Role: tasktrack.RoleManager, IsActive: true}
	own := &tasktrack.Task{AssignedTo: 7, Status: tasktrack.StatusPending}
	other := &tasktrack.Task{AssignedTo: 9, Status: tasktrack.StatusPending}
	missed := &tasktrack.Task{AssignedTo: 7, Status: tasktrack.StatusMissed}
	cases := []struct {
		name           string
		actor          *tasktrack.User
		task           *tasktrack.Task
		deadlinePassed bool
		sees           bool
		status         tasktrack.Kind // of AuthorizeStatusChange; -1 for nil
	}{
		{"user, own task", user, own, false, true, -1},
		{"user, other's task", user, other, false, false, tasktrack.KindNotFound},
		{"user, own task past its deadline", user, own, true, true, tasktrack.KindConflict},
		{"user, own missed task", user, missed, true, true, tasktrack.KindConflict},
		{"manager, anyone's task", manager, other, false, true, -1},
		{"manager, a missed task", manager, missed, true, true, tasktrack.KindConflict},
		{"manager, a task past its deadline", manager, own, true, true, -1},
	}
	for _, c := range cases {
		if got := tasktrack.CanSeeTask(c.actor, c.task); got != c.sees {
			t.Errorf("%s: CanSeeTask = %v, want %v", c.name, got, c.sees)
		}
		err := tasktrack.AuthorizeStatusChange(c.actor, c.task, c.deadlinePassed)
		if c.status == -1 {
			if err != nil {
				t.Errorf("%s: AuthorizeStatusChange = %v, want nil", c.name, err)
			}
		} else if tasktrack.ErrorKind(err) != c.status {
			t.Errorf("%s: AuthorizeStatusChange = %v, want kind %d", c.name, err, c.status)
		}
	}
}

func TestValidators(t *testing.T) {
	cases := []struct {
		name  string
		check func(tasktrack.FieldErrors)
		field string // "" for valid
	}{
		{"username ok", func(e tasktrack.FieldErrors) { tasktrack.ValidateUsername(e, "ann.b+c@d-e_f") }, ""},
		{"username unicode letters", func(e tasktrack.FieldErrors) { tasktrack.ValidateUsername(e, "Zoë") }, ""},
		{"username blank", func(e tasktrack.FieldErrors) { tasktrack.ValidateUsername(e, "") }, "username"},
		{"username space", func(e tasktrack.FieldErrors) { tasktrack.ValidateUsername(e, "a b") }, "username"},
		{"username 151", func(e tasktrack.FieldErrors) { tasktrack.ValidateUsername(e, string(make([]byte, 151))) }, "username"},
		{"username fullwidth", func(e tasktrack.FieldErrors) { tasktrack.ValidateUsername(e, "ａｄｍｉｎ") }, ""},
		{"username Cyrillic a among Latin", func(e tasktrack.FieldErrors) { tasktrack.ValidateUsername(e, "аdmin") }, "username"},
		{"username Cyrillic", func(e tasktrack.FieldErrors) { tasktrack.ValidateUsername(e, "иван") }, ""},
		{"username kanji and kana", func(e tasktrack.FieldErrors) { tasktrack.ValidateUsername(e, "山田たろう") }, ""},
		{"username Hangul and Han", func(e tasktrack.FieldErrors) { tasktrack.ValidateUsername(e, "김金") }, ""},
		{"username kana and Hangul", func(e tasktrack.FieldErrors) { tasktrack.ValidateUsername(e, "たろ김") }, "username"},
		{"username ligature", func(e tasktrack.FieldErrors) { tasktrack.ValidateUsername(e, "ﬁnn") }, "username"},
		{"password ok", func(e tasktrack.FieldErrors) { tasktrack.ValidatePassword(e, "password", "correct horse", "ann") }, ""},
		{"password short", func(e tasktrack.FieldErrors) { tasktrack.ValidatePassword(e, "password", "short1", "ann") }, "password"},
		{"password digits", func(e tasktrack.FieldErrors) { tasktrack.ValidatePassword(e, "password", "1234567890", "ann") }, "password"},
		{"password is username", func(e tasktrack.FieldErrors) { tasktrack.ValidatePassword(e, "password", "Annabelle", "annabelle") }, "password"},
		{"email empty", func(e tasktrack.FieldErrors) { tasktrack.ValidateEmail(e, "") }, ""},
		{"email ok", func(e tasktrack.FieldErrors) { tasktrack.ValidateEmail(e, "a@example.com") }, ""},
		{"email bad", func(e tasktrack.FieldErrors) { tasktrack.ValidateEmail(e, "not-an-email") }, "email"},
		{"email with name", func(e tasktrack.FieldErrors) { tasktrack.ValidateEmail(e, "Ann <a@example.com>") }, "email"},
		{"status missed", func(e tasktrack.FieldErrors) { tasktrack.ValidateSettableStatus(e, tasktrack.StatusMissed) }, "status"},
		{"status bogus", func(e tasktrack.FieldErrors) { tasktrack.ValidateSettableStatus(e, "done") }, "status"},
		{"status ok", func(e tasktrack.FieldErrors) { tasktrack.ValidateSettableStatus(e, tasktrack.StatusInProgress) }, ""},
	}
	for _, c := range cases {
		errs := tasktrack.FieldErrors{}
		c.check(errs)
		if c.field == "" && len(errs) > 0 {
			t.Errorf("%s: unexpected errors %v", c.name, errs)
		}
		if c.field != "" && len(errs[c.field]) == 0 {
			t.Errorf("%s: no error on %s (got %v)", c.name, c.field, errs)
		}
	}
	errs := tasktrack.FieldErrors{}
	if got := tasktrack.NormalizeTitle(errs, "  Report  "); got != "Report" || len(errs) > 0 {
		t.Errorf("NormalizeTitle trims: %q %v", got, errs)
	}
}

func TestUsernameKey(t *testing.T) {
	for _, c := range []struct{ username, key string }{
		{"admin", "admin"},
		{"Admin", "admin"},
		{"ａｄｍｉｎ", "admin"},
		{"ＡＤＭＩＮ", "admin"},
		{"аdmin", "аdmin"}, // Cyrillic а: another name (and refused when new)
		{"Zoë", "zoë"},
		{"ＺＯË", "zoë"},
		{"ΣΑΣ", "σασ"},
		{"bad name", "bad name"}, // refused by the profile: lower case
	} {
		if got := tasktrack.UsernameKey(c.username); got != c.key {
			t.Errorf("UsernameKey(%q) = %q, want %q", c.username, got, c.key)
		}
	}
}
