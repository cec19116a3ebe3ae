package tasktrack

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Kinds of notification: what happened to a person's own work.
const (
	NotifyTaskAssigned = "task_assigned"
	NotifyTaskChanged  = "task_changed"
	NotifyTaskReminder = "task_reminder"
	NotifyTaskMissed   = "task_missed"
	NotifyAtRisk       = "at_risk"
	NotifyReactivated  = "reactivated"
)

// NotificationKinds lists the kinds, in the order the contract does.
var NotificationKinds = []string{NotifyTaskAssigned, NotifyTaskChanged, NotifyTaskReminder, NotifyTaskMissed, NotifyAtRisk, NotifyReactivated}

// ValidNotificationKind reports whether k is a kind of notification.
func ValidNotificationKind(k string) bool { return slices.Contains(NotificationKinds, k) }

// AlertUserAtRisk is the alert raised when a user has one miss left
// before deactivation.
const AlertUserAtRisk = "user_at_risk"

// Notification tells one person what happened to their own work. It is
// written in the transaction of the change that caused it.
type Notification struct {
	ID     string
	Seq    int64 // the order notifications were committed in
	UserID int64
	Kind   string
	// Task is the task it is about, as it is now; nil for at_risk and
	// reactivated, and when the task was deleted or is no longer the
	// person's to see.
	Task      *Task
	Message   string
	Details   json.RawMessage
	CreatedAt time.Time
	ReadAt    *time.Time
}

// NotificationFilter selects notifications in a person's inbox.
type NotificationFilter struct {
	Unread *bool
	Kind   string
	Page
}

// NotificationService is a person's inbox. Every method works on the
// acting user's own notifications only, and answers KindUnauthenticated
// without an actor.
type NotificationService interface {
	// Every method may also answer KindUnavailable when the database does
	// not answer, and an internal error when something unexpected fails.

	// FindNotifications lists the actor's notifications, newest first,
	// with the total the filter selects and the number unread in all.
	FindNotifications(ctx context.Context, f NotificationFilter) (list []*Notification, total, unread int, err error)
	// ReadNotification marks one read; reading twice keeps the first time.
	// KindNotFound for no such notification of the actor's.
	ReadNotification(ctx context.Context, id string) (*Notification, error)
	// ReadAllNotifications marks every unread one read and says how many.
	ReadAllNotifications(ctx context.Context) (int, error)
	// NotificationSeq returns the commit position of one of the actor's
	// notifications, for resuming a stream; KindNotFound otherwise.
	NotificationSeq(ctx context.Context, id string) (int64, error)
	// NotificationsAfter returns up to limit of the actor's notifications
	// committed after seq, oldest first.
	NotificationsAfter(ctx context.Context, seq int64, limit int) ([]*Notification, error)
	// LastNotificationSeq returns the newest notification's position
	// (anyone's), 0 if none.
	LastNotificationSeq(ctx context.Context) (int64, error)
}

// The messages of notifications. A title is quoted as it is, not
// escaped: the message is text for people. The sweep writes the same
// words in SQL, around each task's title (see sqlstore/reminder.go).

// AssignedMessage is the message of task_assigned; by is who assigned
// it, "" for the system.
func AssignedMessage(title, by string) string {
	if by == "" {
		return `"` + title + `" was assigned to you`
	}
	return `"` + title + `" was assigned to you by ` + by
}

// ChangedMessage is the message of task_changed; fields are the ones
// changed, of title, description and deadline.
func ChangedMessage(title, by string, fields []string) string {
	if by == "" {
		by = "tasktrack"
	}
	return by + " changed the " + strings.Join(fields, " and ") + ` of "` + title + `"`
}

// ReminderMessage is the message of task_reminder as a lead passes: the
// task is due in about lead.
func ReminderMessage(title string, lead time.Duration) string {
	return `"` + title + `" is due in ` + LeadWords(lead)
}

// ReminderWithinMessage is the message of task_reminder for a task that
// was created or last changed when its deadline was already less than
// lead away, so that the reminder does not come as the lead passes: it is
// due sooner than lead, not in it. Which of the two a reminder says
// depends on the task alone, not on when the sweep runs (the sweep's SQL
// decides it: sqlstore's reminderWithin).
func ReminderWithinMessage(title string, lead time.Duration) string {
	return `"` + title + `" is due within ` + LeadWords(lead)
}

// MissedMessage is the message of task_missed.
func MissedMessage(title string) string {
	return `"` + title + `" was marked missed: its deadline passed`
}

// AtRiskMessage is the message of at_risk: the person has missed
// deadlines counted in the window, and the next one deactivates them.
func AtRiskMessage(missed int, window time.Duration) string {
	return "You have missed " + plural(int64(missed), "deadline") + " in the last " + LeadWords(window) +
		"; one more deactivates your account"
}

// ReactivatedMessage is the message of reactivated.
func ReactivatedMessage(by string) string {
	if by == "" {
		return "Your account was reactivated"
	}
	return "Your account was reactivated by " + by
}

// LeadWords says a duration in words: "1 hour", "24 hours", "7 days",
// "1 hour 30 minutes".
func LeadWords(d time.Duration) string {
	const day = 24 * time.Hour
	if d >= 2*day && d%day == 0 {
		return plural(int64(d/day), "day")
	}
	var parts []string
	for _, unit := range []struct {
		size time.Duration
		name string
	}{{time.Hour, "hour"}, {time.Minute, "minute"}, {time.Second, "second"}} {
		if n := int64(d / unit.size); n > 0 {
			parts = append(parts, plural(n, unit.name))
			d -= time.Duration(n) * unit.size
		}
	}
	if len(parts) == 0 {
		return "less than a second"
	}
	return strings.Join(parts, " ")
}

// LeadLabel writes a reminder lead as --reminders does: "24h", "1h30m",
// "90s" becomes "1m30s".
func LeadLabel(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// ParseReminders reads --reminders: a comma-separated list of positive
// durations ("24h,1h"); empty means no reminders. The leads come back
// sorted from the smallest, without repeats.
func ParseReminders(v string) ([]time.Duration, error) {
	var leads []time.Duration
	for _, p := range strings.Split(v, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		d, err := time.ParseDuration(p)
		if err != nil {
			return nil, fmt.Errorf("%q is not a duration (such as 24h, 1h, 30m)", p)
		}
		if d < time.Second {
			return nil, fmt.Errorf("%q is shorter than a second", p)
		}
		leads = append(leads, d.Truncate(time.Microsecond))
	}
	slices.Sort(leads)
	return slices.Compact(leads), nil
}

func plural(n int64, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.FormatInt(n, 10) + " " + unit + "s"
}
