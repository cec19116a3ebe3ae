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
// context and applies the policy: KindUnauthenticated without an actor,
// KindForbidden when the actor's role may not. A task the actor may not
// see is KindNotFound, as is an id that is not a UUID (ValidID).
type TaskService interface {
	// Every method may also answer KindUnavailable when the database does
	// not answer, and an internal error when something unexpected fails.

	// FindTaskByID returns one task; KindNotFound if there is none.
	FindTaskByID(ctx context.Context, id string) (*Task, error)
	// FindTasks lists the tasks the actor may see, with the total the
	// filter selects; KindInvalid for a bad filter.
	FindTasks(ctx context.Context, f TaskFilter) ([]*Task, int, error)
	// CreateTask creates a pending task (admins and managers); KindInvalid
	// for a field that breaks a rule or an assignee who does not exist.
	CreateTask(ctx context.Context, in TaskCreate) (*Task, error)
	// UpdateTask changes a task's fields (admins and managers); a missed
	// task whose deadline moves into the future is re-opened. KindInvalid
	// for a field that breaks a rule, KindNotFound for no such task,
	// KindConflict (ErrMissedStatus) for a status change of a missed task
	// that is not re-opened.
	UpdateTask(ctx context.Context, id string, in TaskUpdate) (*Task, error)
	// DeleteTask deletes a task (admins and managers); KindNotFound for
	// no such task.
	DeleteTask(ctx context.Context, id string) error
	// UpdateTaskStatus changes a task's status and nothing else;
	// KindInvalid for "missed" or an unknown status, KindNotFound for no
	// such task, KindConflict for a missed task (ErrMissedStatus to those
	// who may re-open it) or, for a user, a deadline passed.
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
