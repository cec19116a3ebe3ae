package tasktrack

// Action names something a person may try to do; the policy decides.
type Action string

// The actions of the permission table.
const (
	CanListUsers        Action = "users.list"
	CanCreateUser       Action = "users.create"
	CanReadUser         Action = "users.read"
	CanUpdateUser       Action = "users.update"
	CanDeleteUser       Action = "users.delete"
	CanReactivateUser   Action = "users.reactivate"
	CanDeactivateUser   Action = "users.deactivate"
	CanSetUserPassword  Action = "users.set_password"
	CanListAllTasks     Action = "tasks.list_all"
	CanCreateTask       Action = "tasks.create"
	CanUpdateTask       Action = "tasks.update"
	CanDeleteTask       Action = "tasks.delete"
	CanSeeAnyTask       Action = "tasks.read_any"
	CanUpdateAnyStatus  Action = "tasks.status_any"
	CanListMissed       Action = "tasks.list_missed"
	CanListAlerts       Action = "alerts.list"
	CanAcknowledgeAlert Action = "alerts.acknowledge"
	CanReadAudit        Action = "audit.list"
	CanManageTokens     Action = "tokens.manage_any"
	CanSeeTeamStats     Action = "stats.team"
	CanUseInbox         Action = "notifications.own"
	CanSetPreferences   Action = "preferences.own"
	CanManageWebhooks   Action = "webhooks.manage"
)

// grants lists the roles allowed each action. It is the permission table
// of the API contract; policy_test.go checks it row by row.
var grants = map[Action][]Role{
	CanListUsers:        {RoleAdmin, RoleManager},
	CanCreateUser:       {RoleAdmin},
	CanReadUser:         {RoleAdmin, RoleManager},
	CanUpdateUser:       {RoleAdmin},
	CanDeleteUser:       {RoleAdmin},
	CanReactivateUser:   {RoleAdmin, RoleManager},
	CanDeactivateUser:   {RoleAdmin},
	CanSetUserPassword:  {RoleAdmin},
	CanListAllTasks:     {RoleAdmin, RoleManager},
	CanCreateTask:       {RoleAdmin, RoleManager},
	CanUpdateTask:       {RoleAdmin, RoleManager},
	CanDeleteTask:       {RoleAdmin, RoleManager},
	CanSeeAnyTask:       {RoleAdmin, RoleManager},
	CanUpdateAnyStatus:  {RoleAdmin, RoleManager},
	CanListMissed:       {RoleAdmin, RoleManager},
	CanListAlerts:       {RoleAdmin, RoleManager},
	CanAcknowledgeAlert: {RoleAdmin, RoleManager},
	CanReadAudit:        {RoleAdmin},
	CanManageTokens:     {RoleAdmin},
	CanSeeTeamStats:     {RoleAdmin, RoleManager},
	CanUseInbox:         {RoleAdmin, RoleManager, RoleUser},
	CanSetPreferences:   {RoleAdmin, RoleManager, RoleUser},
	CanManageWebhooks:   {RoleAdmin},
}

// Allowed reports whether actor may do action. A nil actor is the system,
// which may do everything.
func Allowed(actor *User, action Action) bool {
	if actor == nil {
		return true
	}
	if !actor.IsActive {
		return false
	}
	for _, r := range grants[action] {
		if r.ID == actor.Role.ID {
			return true
		}
	}
	return false
}

// Authorize returns ErrForbidden unless actor may do action.
func Authorize(actor *User, action Action) error {
	if Allowed(actor, action) {
		return nil
	}
	return ErrForbidden
}

// AuthorizeReactivate decides whether actor may reactivate target: admins
// may reactivate anyone, managers only accounts with the user role. A
// manager who could bring back an admin would hand someone rights above
// their own (the audit log, user management); a fellow manager was paused
// by an admin or by the sweep, and only an admin undoes that.
func AuthorizeReactivate(actor, target *User) error {
	if err := Authorize(actor, CanReactivateUser); err != nil {
		return err
	}
	if actor == nil || actor.IsAdmin() || target.Role.ID == RoleUser.ID {
		return nil
	}
	return ErrForbidden
}

// AuthorizeTokens decides whether actor may list or revoke the tokens of
// user userID: their own, or anyone's for admins.
func AuthorizeTokens(actor *User, userID int64) error {
	if actor != nil && actor.IsActive && actor.ID == userID {
		return nil
	}
	return Authorize(actor, CanManageTokens)
}

// SeesAlertKind reports whether actor may see alerts of kind.
func SeesAlertKind(actor *User, kind string) bool {
	return kind != AlertWebhookDisabled || Allowed(actor, CanManageWebhooks)
}

// CanSeeTask reports whether actor may see task t: managers and admins see
// every task, a user only their own. A task the actor may not see is
// answered as absent, never as forbidden.
func CanSeeTask(actor *User, t *Task) bool {
	return Allowed(actor, CanSeeAnyTask) || actor.ID == t.AssignedTo
}

// AuthorizeStatusChange decides whether actor may move task t to a new
// status, given whether t's deadline has passed: no one may while it is
// missed (admins and managers re-open it by moving its deadline);
// otherwise admins and managers may, and the assignee may while its
// deadline has not passed.
func AuthorizeStatusChange(actor *User, t *Task, deadlinePassed bool) error {
	if !CanSeeTask(actor, t) {
		return ErrNotFound
	}
	if t.Status == StatusMissed {
		if Allowed(actor, CanUpdateTask) {
			return ErrMissedStatus
		}
		return Errorf(KindConflict, "This task was missed; its status can no longer be changed.")
	}
	if Allowed(actor, CanUpdateAnyStatus) {
		return nil
	}
	if deadlinePassed {
		return Errorf(KindConflict, "The deadline of this task has passed; its status can no longer be changed.")
	}
	return nil
}
