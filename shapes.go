package tasktrack

import "time"

// The JSON shapes of the contract's objects that both the API and the
// webhooks carry: a task, a user, an alert. The API's responses encode
// these values (httpapi keeps the shapes only it writes), and a webhook
// event's data is the same value with its keys in sorted order
// (WebhookTaskData and its siblings).

// contractTime is the layout of the contract's times.
const contractTime = "2006-01-02T15:04:05.000000Z"

// JSONTime encodes a time as the contract says: UTC, microseconds, Z. It
// is a TextMarshaler rather than a json.Marshaler: encoding/json quotes
// text as it is, while it re-parses what a MarshalJSON returns.
type JSONTime time.Time

// MarshalText writes the time as the contract does.
func (t JSONTime) MarshalText() ([]byte, error) {
	return appendContractTime(make([]byte, 0, 27), time.Time(t)), nil
}

// OptJSONTime is t as a JSONTime, nil (null) when t is.
func OptJSONTime(t *time.Time) *JSONTime {
	if t == nil {
		return nil
	}
	j := JSONTime(*t)
	return &j
}

// UserJSON is a user.
type UserJSON struct {
	ID                 int64     `json:"id"`
	Username           string    `json:"username"`
	Email              string    `json:"email"`
	FirstName          string    `json:"first_name"`
	LastName           string    `json:"last_name"`
	Role               Role      `json:"role"`
	IsActive           bool      `json:"is_active"`
	DateJoined         JSONTime  `json:"date_joined"`
	DeactivatedAt      *JSONTime `json:"deactivated_at"`
	DeactivationReason *string   `json:"deactivation_reason"`
}

// ToUserJSON is u's shape.
func ToUserJSON(u *User) UserJSON {
	j := UserJSON{
		ID: u.ID, Username: u.Username, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName,
		Role: u.Role, IsActive: u.IsActive, DateJoined: JSONTime(u.DateJoined), DeactivatedAt: OptJSONTime(u.DeactivatedAt),
	}
	if u.DeactivationReason != "" {
		r := u.DeactivationReason
		j.DeactivationReason = &r
	}
	return j
}

// TaskJSON is a task.
type TaskJSON struct {
	ID                 string    `json:"id"`
	Title              string    `json:"title"`
	Description        string    `json:"description"`
	Deadline           JSONTime  `json:"deadline"`
	Status             string    `json:"status"`
	AssignedTo         int64     `json:"assigned_to"`
	AssignedToUsername string    `json:"assigned_to_username"`
	CreatedBy          *int64    `json:"created_by"`
	CreatedAt          JSONTime  `json:"created_at"`
	UpdatedAt          JSONTime  `json:"updated_at"`
	CompletedAt        *JSONTime `json:"completed_at"`
	MissedAt           *JSONTime `json:"missed_at"`
}

// ToTaskJSON is t's shape, nil (null) when t is.
func ToTaskJSON(t *Task) *TaskJSON {
	if t == nil {
		return nil
	}
	return &TaskJSON{
		ID: t.ID, Title: t.Title, Description: t.Description, Deadline: JSONTime(t.Deadline), Status: string(t.Status),
		AssignedTo: t.AssignedTo, AssignedToUsername: t.AssignedToUsername, CreatedBy: t.CreatedBy,
		CreatedAt: JSONTime(t.CreatedAt), UpdatedAt: JSONTime(t.UpdatedAt),
		CompletedAt: OptJSONTime(t.CompletedAt), MissedAt: OptJSONTime(t.MissedAt),
	}
}

// UserRef names a user where another object refers to one.
type UserRef struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
}

// WebhookRef names the endpoint of a webhook_disabled alert.
type WebhookRef struct {
	ID  string `json:"id"`
	URL string `json:"url"`
}

// AlertJSON is an alert: a webhook_disabled alert names its endpoint,
// every other alert its user.
type AlertJSON struct {
	ID             string      `json:"id"`
	Kind           string      `json:"kind"`
	Task           *TaskJSON   `json:"task"`
	User           *UserRef    `json:"user,omitempty"`
	Webhook        *WebhookRef `json:"webhook,omitempty"`
	CreatedAt      JSONTime    `json:"created_at"`
	AcknowledgedAt *JSONTime   `json:"acknowledged_at"`
	AcknowledgedBy *UserRef    `json:"acknowledged_by"`
}

// ToAlertJSON is a's shape.
func ToAlertJSON(a *Alert) AlertJSON {
	j := AlertJSON{
		ID: a.ID, Kind: a.Kind, Task: ToTaskJSON(a.Task),
		CreatedAt: JSONTime(a.CreatedAt), AcknowledgedAt: OptJSONTime(a.AcknowledgedAt),
	}
	if a.Kind == AlertWebhookDisabled {
		j.Webhook = &WebhookRef{ID: a.WebhookID, URL: a.WebhookURL}
	} else {
		j.User = &UserRef{ID: a.UserID, Username: a.Username}
	}
	if a.AcknowledgedBy != nil {
		j.AcknowledgedBy = &UserRef{ID: *a.AcknowledgedBy, Username: a.AcknowledgedByUsername}
	}
	return j
}
