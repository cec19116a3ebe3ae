package httpapi

import (
	"encoding/json"

	"tasktrack"
)

// The JSON shapes of the contract. They live here, not on the domain
// types, so that the wire format is decided in one place.

type userJSON struct {
	ID                 int64          `json:"id"`
	Username           string         `json:"username"`
	Email              string         `json:"email"`
	FirstName          string         `json:"first_name"`
	LastName           string         `json:"last_name"`
	Role               tasktrack.Role `json:"role"`
	IsActive           bool           `json:"is_active"`
	DateJoined         jsonTime       `json:"date_joined"`
	DeactivatedAt      *jsonTime      `json:"deactivated_at"`
	DeactivationReason *string        `json:"deactivation_reason"`
}

func toUserJSON(u *tasktrack.User) userJSON {
	j := userJSON{
		ID: u.ID, Username: u.Username, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName,
		Role: u.Role, IsActive: u.IsActive, DateJoined: jsonTime(u.DateJoined), DeactivatedAt: optTime(u.DeactivatedAt),
	}
	if u.DeactivationReason != "" {
		r := u.DeactivationReason
		j.DeactivationReason = &r
	}
	return j
}

type taskJSON struct {
	ID                 string    `json:"id"`
	Title              string    `json:"title"`
	Description        string    `json:"description"`
	Deadline           jsonTime  `json:"deadline"`
	Status             string    `json:"status"`
	AssignedTo         int64     `json:"assigned_to"`
	AssignedToUsername string    `json:"assigned_to_username"`
	CreatedBy          *int64    `json:"created_by"`
	CreatedAt          jsonTime  `json:"created_at"`
	UpdatedAt          jsonTime  `json:"updated_at"`
	CompletedAt        *jsonTime `json:"completed_at"`
	MissedAt           *jsonTime `json:"missed_at"`
}

func toTaskJSON(t *tasktrack.Task) *taskJSON {
	if t == nil {
		return nil
	}
	return &taskJSON{
		ID: t.ID, Title: t.Title, Description: t.Description, Deadline: jsonTime(t.Deadline), Status: string(t.Status),
		AssignedTo: t.AssignedTo, AssignedToUsername: t.AssignedToUsername, CreatedBy: t.CreatedBy,
		CreatedAt: jsonTime(t.CreatedAt), UpdatedAt: jsonTime(t.UpdatedAt),
		CompletedAt: optTime(t.CompletedAt), MissedAt: optTime(t.MissedAt),
	}
}

type userRef struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
}

type alertJSON struct {
	ID             string    `json:"id"`
	Kind           string    `json:"kind"`
	Task           *taskJSON `json:"task"`
	User           *userRef  `json:"user,omitempty"`
	Webhook        *hookRef  `json:"webhook,omitempty"`
	CreatedAt      jsonTime  `json:"created_at"`
	AcknowledgedAt *jsonTime `json:"acknowledged_at"`
	AcknowledgedBy *userRef  `json:"acknowledged_by"`
}

func toAlertJSON(a *tasktrack.Alert) alertJSON {
	j := alertJSON{
		ID: a.ID, Kind: a.Kind, Task: toTaskJSON(a.Task),
		CreatedAt: jsonTime(a.CreatedAt), AcknowledgedAt: optTime(a.AcknowledgedAt),
	}
	if a.Kind == tasktrack.AlertWebhookDisabled {
		j.Webhook = &hookRef{a.WebhookID, a.WebhookURL}
	} else {
		j.User = &userRef{a.UserID, a.Username}
	}
	if a.AcknowledgedBy != nil {
		j.AcknowledgedBy = &userRef{*a.AcknowledgedBy, a.AcknowledgedByUsername}
	}
	return j
}

type auditJSON struct {
	ID         int64           `json:"id"`
	At         jsonTime        `json:"at"`
	Actor      *userRef        `json:"actor"`
	Action     string          `json:"action"`
	TargetType string          `json:"target_type"`
	TargetID   *string         `json:"target_id"`
	Details    json.RawMessage `json:"details"`
}

func toAuditJSON(e *tasktrack.AuditEntry) auditJSON {
	j := auditJSON{ID: e.ID, At: jsonTime(e.At), Action: e.Action, TargetType: e.TargetType, Details: e.Details}
	if e.ActorID != nil {
		j.Actor = &userRef{*e.ActorID, e.ActorUsername}
	}
	if e.TargetID != "" {
		id := e.TargetID
		j.TargetID = &id
	}
	return j
}

// taskEventJSON is an entry of a task's history: the audit entry, and the
// user it assigned the task to (null when none, or when that user is gone).
type taskEventJSON struct {
	auditJSON
	Assignee *userRef `json:"assignee"`
}

func toTaskEventJSON(e *tasktrack.TaskEvent) taskEventJSON {
	j := taskEventJSON{auditJSON: toAuditJSON(&e.AuditEntry)}
	if e.AssigneeID != nil && e.AssigneeUsername != "" {
		j.Assignee = &userRef{*e.AssigneeID, e.AssigneeUsername}
	}
	return j
}

type standingJSON struct {
	MissedInWindow int      `json:"missed_in_window"`
	Threshold      *int     `json:"threshold"`
	WindowSeconds  int64    `json:"window_seconds"`
	CountedSince   jsonTime `json:"counted_since"`
}

func toStandingJSON(st *tasktrack.Standing) standingJSON {
	j := standingJSON{MissedInWindow: st.MissedInWindow, WindowSeconds: int64(st.Window.Seconds()), CountedSince: jsonTime(st.CountedSince)}
	if st.Threshold > 0 {
		j.Threshold = &st.Threshold
	}
	return j
}

func mapSlice[T any, J any](in []T, f func(T) J) []J {
	out := make([]J, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}
