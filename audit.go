package tasktrack

import (
	"context"
	"encoding/json"
	"time"
)

// Audit actions.
const (
	ActionLogin            = "auth.login"
	ActionLoginFailed      = "auth.login_failed"
	ActionUserCreate       = "user.create"
	ActionUserUpdate       = "user.update"
	ActionUserRole         = "user.role"
	ActionUserDelete       = "user.delete"
	ActionUserDeactivate   = "user.deactivate"
	ActionUserReactivate   = "user.reactivate"
	ActionUserPassword     = "user.password"
	ActionTaskCreate       = "task.create"
	ActionTaskUpdate       = "task.update"
	ActionTaskDelete       = "task.delete"
	ActionTaskStatus       = "task.status"
	ActionTaskMissed       = "task.missed"
	ActionTaskReopen       = "task.reopen"
	ActionImportDjango     = "import.django"
	ActionPasswordUpgraded = "user.password_upgraded"
	ActionAlertAcknowledge = "alert.acknowledge"
	ActionBulkUsers        = "bulk.users"
	ActionBulkTasks        = "bulk.tasks"
)

// AuditEntry records one change: who, what, when.
type AuditEntry struct {
	ID            int64
	At            time.Time
	ActorID       *int64 // nil for the system
	ActorUsername string
	Action        string
	TargetType    string
	TargetID      string
	Details       json.RawMessage
}

// AuditFilter selects audit entries.
type AuditFilter struct {
	Action   string
	ActorID  *int64
	TargetID string
	Page
}

// TaskEvent is one entry of a task's history: an audit entry about the
// task, with the name of the person it assigned the task to.
type TaskEvent struct {
	AuditEntry
	// AssigneeID and AssigneeUsername name the user the entry assigned
	// the task to (its creation or a reassignment); nil and "" when it
	// assigned no one. The username is "" when that user is gone.
	AssigneeID       *int64
	AssigneeUsername string
}

// AuditService lists the audit log, and the history of one task.
type AuditService interface {
	// Every method may also answer KindUnavailable when the database does
	// not answer, and an internal error when something unexpected fails.

	// FindAuditEntries lists the audit log, newest first, with the total
	// the filter selects (admins); KindUnauthenticated without an actor,
	// KindForbidden for other roles, KindInvalid for a bad filter.
	FindAuditEntries(ctx context.Context, f AuditFilter) ([]*AuditEntry, int, error)
	// TaskHistory lists the entries about a task the caller may see,
	// oldest first; KindUnauthenticated without an actor, KindNotFound
	// for a task the caller may not see or that does not exist.
	TaskHistory(ctx context.Context, taskID string, p Page) ([]*TaskEvent, int, error)
}

// ActionEmailFailed records an email given up: refused for good by the
// SMTP server, or still failing when its retries ran out.
const ActionEmailFailed = "email.failed"

// ActionUserPreferences records a person's change of their preferences.
const ActionUserPreferences = "user.preferences"
