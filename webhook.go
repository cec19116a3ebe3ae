package tasktrack

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// AlertWebhookDisabled is the alert of an endpoint turned off after
// failing for a day; only admins see it.
const AlertWebhookDisabled = "webhook_disabled"

// DeliveryWebhook is the kind of outbox row that is a webhook call: its
// target is the endpoint's id, its payload the standard body, and its id
// the event's id (webhook-id), the same on every attempt.
const DeliveryWebhook = "webhook"

// The webhook events.
const (
	EventTaskCreated       = "task.created"
	EventTaskUpdated       = "task.updated"
	EventTaskDeleted       = "task.deleted"
	EventTaskStatusChanged = "task.status_changed"
	EventTaskReminder      = "task.reminder"
	EventTaskMissed        = "task.missed"
	EventUserCreated       = "user.created"
	EventUserDeactivated   = "user.deactivated"
	EventUserReactivated   = "user.reactivated"
	EventUserAtRisk        = "user.at_risk"
	EventAlertAcknowledged = "alert.acknowledged"
	EventPing              = "ping"
	// EventAll subscribes an endpoint to every event.
	EventAll = "*"
)

// WebhookEvents lists the events an endpoint may subscribe to.
var WebhookEvents = []string{EventTaskCreated, EventTaskUpdated, EventTaskDeleted, EventTaskStatusChanged,
	EventTaskReminder, EventTaskMissed, EventUserCreated, EventUserDeactivated, EventUserReactivated,
	EventUserAtRisk, EventAlertAcknowledged, EventPing}

// The formats of a webhook's body.
const (
	FormatStandard = "standard"
	FormatSlack    = "slack"
	FormatDiscord  = "discord"
)

// WebhookFormats lists the known formats.
var WebhookFormats = []string{FormatStandard, FormatSlack, FormatDiscord}

// Webhook limits.
const (
	MaxWebhookURLLen         = 2048
	MaxWebhookDescriptionLen = 500
	// WebhookSecretBytes is how many random bytes a secret holds.
	WebhookSecretBytes = 24
	// WebhookRotationGrace is how long a rotated-out secret keeps signing.
	WebhookRotationGrace = 24 * time.Hour
	// WebhookSecretPrefix begins every secret, as Standard Webhooks asks.
	WebhookSecretPrefix = "whsec_"
)

// Audit actions of webhooks. Their details never hold a secret.
const (
	ActionWebhookCreate   = "webhook.create"
	ActionWebhookUpdate   = "webhook.update"
	ActionWebhookDelete   = "webhook.delete"
	ActionWebhookRotate   = "webhook.rotate_secret"
	ActionWebhookFailed   = "webhook.failed"
	ActionWebhookDisabled = "webhook.disabled"
)

// Webhook is an endpoint that receives events.
type Webhook struct {
	ID             string
	URL            string
	Events         []string
	Format         string
	Description    string
	IsActive       bool
	CreatedAt      time.Time
	DisabledReason *string
}

// WebhookInput is what create and update take; nil fields are left as
// they are by an update (create requires url and events).
type WebhookInput struct {
	URL         *string
	Events      []string
	Format      *string
	Description *string
	IsActive    *bool
}

// WebhookAttempt is one attempt at a webhook delivery, as the deliveries
// log shows it.
type WebhookAttempt struct {
	ID             string
	EventID        string
	EventType      string
	Attempt        int
	Status         string // delivered, retrying or failed
	ResponseStatus *int
	Error          *string
	DurationMS     int64
	CreatedAt      time.Time
	NextAttemptAt  *time.Time
}

// WebhookAttemptRecord is what the sender records of an attempt. Body is
// at most the first KiB of the answer.
type WebhookAttemptRecord struct {
	WebhookID      string
	DeliveryID     string
	EventType      string
	Attempt        int
	OK             bool
	ResponseStatus int // 0: no answer
	ResponseBody   string
	Error          string
	Duration       time.Duration
	// At is when the attempt ended (zero: when it is recorded).
	At time.Time
}

// WebhookTarget is what the sender needs of an endpoint: where to send,
// how, and the secrets that sign (the current one first).
type WebhookTarget struct {
	ID       string
	URL      string
	Format   string
	IsActive bool
	Secrets  []string
}

// WebhookService manages the endpoints; every method takes the actor
// from the context and applies the policy (admins only).
type WebhookService interface {
	FindWebhooks(ctx context.Context, p Page) ([]*Webhook, int, error)
	FindWebhook(ctx context.Context, id string) (*Webhook, error)
	// CreateWebhook stores an endpoint that signs with secret.
	CreateWebhook(ctx context.Context, in WebhookInput, secret string) (*Webhook, error)
	UpdateWebhook(ctx context.Context, id string, in WebhookInput) (*Webhook, error)
	// DeleteWebhook deletes an endpoint and drops its pending deliveries.
	DeleteWebhook(ctx context.Context, id string) error
	// RotateWebhookSecret makes secret the endpoint's; the old one keeps
	// signing beside it for WebhookRotationGrace.
	RotateWebhookSecret(ctx context.Context, id, secret string) (*Webhook, error)
	// PingWebhook writes a ping event to the endpoint through the outbox.
	PingWebhook(ctx context.Context, id string) error
	// FindWebhookAttempts lists the attempts at the endpoint's deliveries,
	// newest first, of one status if status is not empty.
	FindWebhookAttempts(ctx context.Context, id, status string, p Page) ([]*WebhookAttempt, int, error)
	// RedeliverWebhook makes the delivery of the attempt attemptID due
	// again at once, with its event id.
	RedeliverWebhook(ctx context.Context, id, attemptID string) error
}

// WebhookStore is what the sender needs of storage, without policy.
type WebhookStore interface {
	// WebhookTarget loads an endpoint; ErrNotFound when it is gone.
	WebhookTarget(ctx context.Context, id string) (*WebhookTarget, error)
	// RecordWebhookAttempt records an attempt, and disables the endpoint
	// (with an alert) when its deliveries have all failed long enough. A
	// success is recorded instead with its delivery's (see
	// Delivery.WebhookAttempt).
	RecordWebhookAttempt(ctx context.Context, a WebhookAttemptRecord) error
}

// NewWebhookSecret returns a new signing secret.
func NewWebhookSecret() string {
	b := make([]byte, WebhookSecretBytes)
	_, _ = rand.Read(b)
	return WebhookSecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// SignWebhook returns the webhook-signature header of Standard Webhooks
// v1: one "v1,<base64 HMAC-SHA256 of id.timestamp.body>" per secret,
// space-separated.
func SignWebhook(secrets []string, id string, timestamp int64, body []byte) string {
	sigs := make([]string, 0, len(secrets))
	for _, s := range secrets {
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, WebhookSecretPrefix))
		if err != nil {
			continue
		}
		m := hmac.New(sha256.New, key)
		m.Write([]byte(id + "." + strconv.FormatInt(timestamp, 10) + "."))
		m.Write(body)
		sigs = append(sigs, "v1,"+base64.StdEncoding.EncodeToString(m.Sum(nil)))
	}
	return strings.Join(sigs, " ")
}

// PublicAddr reports whether a is an address webhooks may reach without
// --webhook-allow-private: not loopback, private, link-local, multicast,
// unspecified, shared (100.64.0.0/10), nor an IPv4-mapped form of these.
func PublicAddr(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsValid() && a.IsGlobalUnicast() && !a.IsPrivate() && !sharedSpace.Contains(a)
}

// sharedSpace is carrier-grade NAT space, private in all but name.
var sharedSpace = netip.MustParsePrefix("100.64.0.0/10")

// ValidateWebhook checks an endpoint's fields as given (those of an update
// may be missing); create checks that url and events are present first.
func ValidateWebhook(errs FieldErrors, in WebhookInput) {
	if in.URL != nil {
		u, err := url.Parse(*in.URL)
		switch {
		case len(*in.URL) > MaxWebhookURLLen:
			errs.Add("url", "Ensure this field has no more than 2048 characters.")
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "":
			errs.Add("url", "Enter a valid http or https URL.")
		}
	}
	if in.Events != nil {
		if len(in.Events) == 0 {
			errs.Add("events", "Choose at least one event, or \"*\" for all.")
		}
		for _, e := range in.Events {
			if e != EventAll && !slices.Contains(WebhookEvents, e) && len(errs["events"]) == 0 {
				errs.Add("events", `"`+e+`" is not a known event.`)
			}
		}
	}
	if in.Format != nil && !slices.Contains(WebhookFormats, *in.Format) {
		errs.Add("format", `"`+*in.Format+`" is not a valid choice: standard, slack or discord.`)
	}
	if in.Description != nil && utf8.RuneCountInString(*in.Description) > MaxWebhookDescriptionLen {
		errs.Add("description", "Ensure this field has no more than 500 characters.")
	}
}

// NormalizeEvents sorts and deduplicates events; "*" stands alone.
func NormalizeEvents(events []string) []string {
	if slices.Contains(events, EventAll) {
		return []string{EventAll}
	}
	out := slices.Clone(events)
	slices.Sort(out)
	return slices.Compact(out)
}

// WebhookBody is the standard body of an event.
type WebhookBody struct {
	Type      string          `json:"type"`
	Timestamp string          `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// WebhookTime formats a time as the contract does: UTC, microseconds, Z.
func WebhookTime(t time.Time) string {
	return t.UTC().Format(contractTime)
}

// WebhookTaskData is a task as a webhook's data carries it: the contract's
// JSON of it (TaskJSON).
func WebhookTaskData(t *Task) map[string]any { return webhookData(ToTaskJSON(t)) }

// WebhookUserData is a user as a webhook's data carries it (UserJSON).
func WebhookUserData(u *User) map[string]any { return webhookData(ToUserJSON(u)) }

// WebhookAlertData is an alert as a webhook's data carries it (AlertJSON).
func WebhookAlertData(a *Alert) map[string]any { return webhookData(ToAlertJSON(a)) }

// webhookData is the JSON of shape as a map, which encoding/json writes
// with its keys in sorted order, as webhook bodies have always carried
// them (the API writes them in the shape's order). Numbers stay as they
// were written.
func webhookData(shape any) map[string]any {
	b, err := json.Marshal(shape)
	if err != nil {
		panic("tasktrack: a JSON shape did not encode: " + err.Error())
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		panic("tasktrack: a JSON shape did not decode: " + err.Error())
	}
	return m
}

// webhookCapture is an event the sweep wrote in SQL, one statement for
// all its rows (or a status change on PostgreSQL, one statement for all
// its writes): the object's columns as they were, flat (SQLite's
// json_build_object does not nest), which WebhookEventBody renders into
// the standard body the same way on every attempt.
type webhookCapture struct {
	Type string          `json:"type"`
	AtUS int64           `json:"at_us"`
	Data json.RawMessage `json:"data"`
	// A task's.
	ID                 string `json:"id"`
	Title              string `json:"title"`
	Description        string `json:"description"`
	DeadlineUS         int64  `json:"deadline_us"`
	Status             string `json:"status"`
	AssignedTo         int64  `json:"assigned_to"`
	AssignedToUsername string `json:"assigned_to_username"`
	CreatedBy          *int64 `json:"created_by"`
	CreatedUS          int64  `json:"created_us"`
	UpdatedUS          int64  `json:"updated_us"`
	CompletedUS        *int64 `json:"completed_us"`
	MissedUS           *int64 `json:"missed_us"`
	// A user's.
	UserID             int64   `json:"user_id"`
	Username           string  `json:"username"`
	Email              string  `json:"email"`
	FirstName          string  `json:"first_name"`
	LastName           string  `json:"last_name"`
	RoleID             int     `json:"role_id"`
	IsActive           any     `json:"is_active"` // true or 1, by engine
	JoinedUS           int64   `json:"joined_us"`
	DeactivatedUS      *int64  `json:"deactivated_us"`
	DeactivationReason *string `json:"deactivation_reason"`
}

func microsPtr(us *int64) *time.Time {
	if us == nil {
		return nil
	}
	t := time.UnixMicro(*us).UTC()
	return &t
}

// WebhookEventBody returns the standard body of an outbox row's payload:
// the payload itself when it was rendered as the change was made, or the
// rendering of what was captured in SQL.
func WebhookEventBody(payload []byte) ([]byte, WebhookBody, error) {
	var c webhookCapture
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, WebhookBody{}, err
	}
	if len(c.Data) > 0 {
		var b WebhookBody
		err := json.Unmarshal(payload, &b)
		return payload, b, err
	}
	var data map[string]any
	if c.ID != "" {
		data = WebhookTaskData(&Task{ID: c.ID, Title: c.Title, Description: c.Description,
			Deadline: time.UnixMicro(c.DeadlineUS).UTC(), Status: Status(c.Status), AssignedTo: c.AssignedTo,
			AssignedToUsername: c.AssignedToUsername, CreatedBy: c.CreatedBy, CreatedAt: time.UnixMicro(c.CreatedUS).UTC(),
			UpdatedAt: time.UnixMicro(c.UpdatedUS).UTC(), CompletedAt: microsPtr(c.CompletedUS), MissedAt: microsPtr(c.MissedUS)})
	} else {
		role, _ := RoleByID(c.RoleID)
		u := &User{ID: c.UserID, Username: c.Username, Email: c.Email, FirstName: c.FirstName, LastName: c.LastName,
			Role: role, IsActive: c.IsActive == true || c.IsActive == float64(1), DateJoined: time.UnixMicro(c.JoinedUS).UTC(),
			DeactivatedAt: microsPtr(c.DeactivatedUS)}
		if c.DeactivationReason != nil {
			u.DeactivationReason = *c.DeactivationReason
		}
		data = WebhookUserData(u)
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, WebhookBody{}, err
	}
	b := WebhookBody{Type: c.Type, Timestamp: WebhookTime(time.UnixMicro(c.AtUS)), Data: raw}
	body, err := json.Marshal(b)
	return body, b, err
}
