package tasktrack

import (
	"context"
	"slices"
	"time"
)

// Kinds of alert.
const (
	AlertTaskMissed      = "task_missed"
	AlertUserDeactivated = "user_deactivated"
)

// AlertKinds lists every kind of alert, in the order the contract does.
var AlertKinds = []string{AlertTaskMissed, AlertUserDeactivated, AlertUserAtRisk, AlertWebhookDisabled}

// ValidAlertKind reports whether k is a kind of alert.
func ValidAlertKind(k string) bool { return slices.Contains(AlertKinds, k) }

// Alert tells managers that a deadline was missed or a user deactivated.
type Alert struct {
	ID       string
	Seq      int64 // the order alerts were committed in
	Kind     string
	Task     *Task // for task_missed
	UserID   int64
	Username string
	// The endpoint a webhook_disabled alert is about.
	WebhookID, WebhookURL string

	CreatedAt              time.Time
	AcknowledgedAt         *time.Time
	AcknowledgedBy         *int64
	AcknowledgedByUsername string
}

// AlertFilter selects alerts in a list.
type AlertFilter struct {
	Kind         string
	Acknowledged *bool
	Since        *time.Time
	Page
}

// AlertService lists and acknowledges alerts.
type AlertService interface {
	// Every method may also answer KindUnavailable when the database does
	// not answer, and an internal error when something unexpected fails.

	// FindAlerts lists alerts, newest first, with the total the filter
	// selects (admins and managers); KindUnauthenticated without an actor,
	// KindForbidden for a user, KindInvalid for a bad filter.
	FindAlerts(ctx context.Context, f AlertFilter) ([]*Alert, int, error)
	// AcknowledgeAlert marks an alert seen; acknowledging it again keeps
	// the first time. KindUnauthenticated, KindForbidden as FindAlerts;
	// KindNotFound for no such alert.
	AcknowledgeAlert(ctx context.Context, id string) (*Alert, error)
	// AlertSeq returns the position of an alert in the commit order, for
	// resuming a stream; KindNotFound if there is no such alert.
	AlertSeq(ctx context.Context, id string) (int64, error)
	// AlertsAfter returns up to limit alerts committed after seq, oldest
	// first. It applies no policy: the stream checks the caller once.
	AlertsAfter(ctx context.Context, seq int64, limit int) ([]*Alert, error)
	// LastAlertSeq returns the newest alert's position, 0 if none.
	LastAlertSeq(ctx context.Context) (int64, error)
}

// SweepResult tells what one sweep did.
type SweepResult struct {
	At               time.Time     `json:"at"`
	TasksMissed      int           `json:"tasks_missed"`
	UsersDeactivated int           `json:"users_deactivated"`
	UsersAtRisk      int           `json:"users_at_risk"`
	Reminders        int           `json:"reminders"`
	Duration         time.Duration `json:"-"`
}

// Sweeper enforces deadlines.
type Sweeper interface {
	// Sweep marks the overdue open tasks missed, raises their alerts,
	// deactivates the users with too many misses, warns those at risk and
	// writes the reminders due, in one transaction; only one sweep runs at
	// a time. It answers KindUnavailable when the database does not
	// answer, and an internal error otherwise.
	Sweep(ctx context.Context) (SweepResult, error)
}
