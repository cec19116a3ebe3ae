package tasktrack

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"
)

// Status is where a task stands.
type Status string

// The task statuses. Only the sweep sets StatusMissed.
const (
	StatusPending    Status = "pending"
	StatusInProgress Status = "in_progress"
	StatusCompleted  Status = "completed"
	StatusMissed     Status = "missed"
)

// Valid reports whether s is one of the four statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusPending, StatusInProgress, StatusCompleted, StatusMissed:
		return true
	}
	return false
}

// Open reports whether a task in status s can still be missed.
func (s Status) Open() bool { return s == StatusPending || s == StatusInProgress }

// Task is a piece of work assigned to a user with a deadline.
type Task struct {
	ID                 string
	Title              string
	Description        string
	Deadline           time.Time
	Status             Status
	AssignedTo         int64
	AssignedToUsername string
	CreatedBy          *int64
	CreatedAt          time.Time
	UpdatedAt          time.Time
	CompletedAt        *time.Time
	MissedAt           *time.Time
}

// TaskCreate is the input of TaskService.CreateTask.
type TaskCreate struct {
	Title       string
	Description string
	Deadline    time.Time
	AssignedTo  int64
}

// TaskUpdate holds the fields to change; nil leaves a field as it is.
type TaskUpdate struct {
	Title       *string
	Description *string
	Deadline    *time.Time
	AssignedTo  *int64
	Status      *Status
}

// Orderings a task list accepts.
var TaskOrderings = []string{"deadline", "-deadline", "created_at", "-created_at", "title", "-title"}

// TaskFilter selects tasks in a list.
type TaskFilter struct {
	Statuses       []Status
	AssignedTo     *int64
	DeadlineBefore *time.Time
	DeadlineAfter  *time.Time
	Search         string
	Ordering       string // one of TaskOrderings; "" means "deadline"
	// MissedOnly lists missed tasks, most recently missed first.
	MissedOnly bool
	Page
}

// TaskService manages tasks. Every method takes the acting user from the
// context and applies the policy.
type TaskService interface {
	FindTaskByID(ctx context.Context, id string) (*Task, error)
	FindTasks(ctx context.Context, f TaskFilter) ([]*Task, int, error)
	CreateTask(ctx context.Context, in TaskCreate) (*Task, error)
	UpdateTask(ctx context.Context, id string, in TaskUpdate) (*Task, error)
	DeleteTask(ctx context.Context, id string) error
	UpdateTaskStatus(ctx context.Context, id string, status Status) (*Task, error)
}

// Length limits of task fields.
const (
	MaxTitleLen       = 100
	MaxDescriptionLen = 10000
)

// NormalizeTitle trims a title and checks it is 1-100 characters.
func NormalizeTitle(errs FieldErrors, title string) string {
	t := strings.TrimSpace(title)
	switch n := utf8.RuneCountInString(t); {
	case n == 0:
		errs.Add("title", "This field may not be blank.")
	case n > MaxTitleLen:
		errs.Add("title", "Ensure this field has no more than 100 characters.")
	}
	return t
}

// ValidateDescription checks a description is at most 10,000 characters.
func ValidateDescription(errs FieldErrors, d string) {
	if utf8.RuneCountInString(d) > MaxDescriptionLen {
		errs.Add("description", "Ensure this field has no more than 10000 characters.")
	}
}

// ValidateDeadline checks that a new or changed deadline is in the future.
func ValidateDeadline(errs FieldErrors, deadline, now time.Time) {
	if !deadline.After(now) {
		errs.Add("deadline", "Deadline must be in the future.")
	}
}

// ErrMissedStatus answers a change of a missed task's status by someone who
// may move its deadline: only a deadline in the future re-opens it, so that
// a task is never missed twice for one deadline.
var ErrMissedStatus = &Error{Kind: KindConflict, Message: "This task was missed; move its deadline into the future to re-open it."}

// ValidateSettableStatus checks a status given by a person: anything but
// missed, which only the sweep sets.
func ValidateSettableStatus(errs FieldErrors, s Status) {
	switch {
	case s == StatusMissed:
		errs.Add("status", "Status \"missed\" is set by the system only.")
	case !s.Valid():
		errs.Add("status", `"`+string(s)+`" is not a valid choice.`)
	}
}
