package httpapi

import (
	"encoding/json"

	"tasktrack"
)

// The JSON shapes of the contract that only the API writes; those of a
// task, a user and an alert, which webhooks carry too, are the domain's
// (tasktrack.TaskJSON, UserJSON, AlertJSON). They live apart from the
// domain types, so that the wire format is decided in these two places.

type auditJSON struct {
	ID         int64              `json:"id"`
	At         tasktrack.JSONTime `json:"at"`
	Actor      *tasktrack.UserRef `json:"actor"`
	Action     string             `json:"action"`
	TargetType string             `json:"target_type"`
	TargetID   *string            `json:"target_id"`
	Details    json.RawMessage    `json:"details"`
}

func toAuditJSON(e *tasktrack.AuditEntry) auditJSON {
	j := auditJSON{ID: e.ID, At: tasktrack.JSONTime(e.At), Action: e.Action, TargetType: e.TargetType, Details: e.Details}
	if e.ActorID != nil {
		j.Actor = &tasktrack.UserRef{ID: *e.ActorID, Username: e.ActorUsername}
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
	Assignee *tasktrack.UserRef `json:"assignee"`
}

func toTaskEventJSON(e *tasktrack.TaskEvent) taskEventJSON {
	j := taskEventJSON{auditJSON: toAuditJSON(&e.AuditEntry)}
	if e.AssigneeID != nil && e.AssigneeUsername != "" {
		j.Assignee = &tasktrack.UserRef{ID: *e.AssigneeID, Username: e.AssigneeUsername}
	}
	return j
}

type standingJSON struct {
	MissedInWindow int                `json:"missed_in_window"`
	Threshold      *int               `json:"threshold"`
	WindowSeconds  int64              `json:"window_seconds"`
	CountedSince   tasktrack.JSONTime `json:"counted_since"`
}

func toStandingJSON(st *tasktrack.Standing) standingJSON {
	j := standingJSON{MissedInWindow: st.MissedInWindow, WindowSeconds: int64(st.Window.Seconds()), CountedSince: tasktrack.JSONTime(st.CountedSince)}
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
