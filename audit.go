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

// AuditService lists the audit log.
type AuditService interface {
	FindAuditEntries(ctx context.Context, f AuditFilter) ([]*AuditEntry, int, error)
}

// ActionEmailFailed records an email given up: refused for good by the
// SMTP server, or still failing when its retries ran out.
const ActionEmailFailed = "email.failed"

// ActionUserPreferences records a person's change of their preferences.
const ActionUserPreferences = "user.preferences"
