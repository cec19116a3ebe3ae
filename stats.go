package tasktrack

import (
	"context"
	"time"
)

// StatsWeeks is how many ISO weeks the dashboard looks back over, the
// current one included.
const StatsWeeks = 12

// DueSoonWithin is how far ahead the dashboard's "due soon" looks.
const DueSoonWithin = 24 * time.Hour

// TaskCounts holds how many tasks are in each status.
type TaskCounts struct {
	Pending    int
	InProgress int
	Completed  int
	Missed     int
}

// WeekStats is what happened in one ISO week: tasks completed in it (by
// their completion time), how many of those by their deadline, and tasks
// missed in it (by their deadline, the moment they were missed).
type WeekStats struct {
	WeekStart       time.Time // Monday 00:00 UTC
	Completed       int
	CompletedOnTime int
	Missed          int
}

// PersonStats is one person's standing.
type PersonStats struct {
	ID       int64
	Username string
	Role     Role
	IsActive bool
	// Open counts their pending and in-progress tasks.
	Open int
	// MissedInWindow counts their misses as the sweep counts them for
	// deactivation: missed tasks whose deadline falls in [T - Window, T]
	// and after their last reactivation.
	MissedInWindow int
	// AtRisk: one more counted miss deactivates them (see AtRisk).
	AtRisk bool
	// OnTimeRate is completed on time / (completed + missed) over the
	// StatsWeeks weeks; nil without any.
	OnTimeRate *float64
}

// Stats is the dashboard: counts that are exact at GeneratedAt.
type Stats struct {
	GeneratedAt time.Time
	Tasks       TaskCounts
	// DueSoon counts open tasks due within DueSoonWithin.
	DueSoon int
	// Weeks are the StatsWeeks ISO weeks up to the current one, oldest
	// first, every week present.
	Weeks []WeekStats
	// Me is the caller's own standing (nil for the system).
	Me *PersonStats
	// People is everyone, most at risk first; nil when the caller may
	// see only their own figures.
	People []PersonStats
	// Threshold and Window are the sweep's deactivation rule.
	Threshold int
	Window    time.Duration
}

// ReportService answers the dashboard and the exports. Every method takes
// the acting user from the context and applies the policy: a user sees
// their own tasks only.
type ReportService interface {
	// Every method may also answer KindUnavailable when the database does
	// not answer, and an internal error when something unexpected fails.

	// Dashboard returns the figures the actor may see, all as of one
	// moment; KindUnauthenticated without an actor.
	Dashboard(ctx context.Context) (*Stats, error)
	// ExportTasks calls fn with every task a list with filter f holds, in
	// the list's order, ignoring f.Page; it holds no more than one task in
	// memory at a time. An error from fn stops it and is returned.
	// KindUnauthenticated without an actor, KindInvalid for a bad filter.
	ExportTasks(ctx context.Context, f TaskFilter, fn func(*Task) error) error
	// ExportAuditEntries does the same for the audit log (admins):
	// KindForbidden for other roles.
	ExportAuditEntries(ctx context.Context, f AuditFilter, fn func(*AuditEntry) error) error
}

// WeekStart returns the start of t's ISO week: Monday 00:00 UTC.
func WeekStart(t time.Time) time.Time {
	t = t.UTC()
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	return day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
}

// StatsWeekStarts returns the starts of the StatsWeeks ISO weeks up to and
// including now's, oldest first.
func StatsWeekStarts(now time.Time) []time.Time {
	last := WeekStart(now)
	weeks := make([]time.Time, StatsWeeks)
	for i := range weeks {
		weeks[i] = last.AddDate(0, 0, -7*(StatsWeeks-1-i))
	}
	return weeks
}

// AtRisk reports whether a person with `counted` misses that count towards
// deactivation is one miss away from it (or past it, until the next sweep)
// under threshold N: N-1 or more. A threshold of 1 leaves no room for a
// warning, so nobody is at risk under it.
func AtRisk(counted, threshold int) bool {
	return threshold > 1 && counted >= threshold-1
}
