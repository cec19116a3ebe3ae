package tasktrack

import (
	"context"
	"encoding/json"
	"time"
)

// DeliveryEmail is the kind of outbox row that is an email.
const DeliveryEmail = "email"

// Delivery is one row of the outbox: an outside effect, written in the
// transaction of the change that caused it, to be delivered at least once.
type Delivery struct {
	// ID is stable across attempts: the email's Message-ID is made from
	// it, so that receivers fold copies.
	ID     string
	Kind   string
	Target string // for an email, the recipient's address
	UserID *int64 // the person it is for, if any
	// Payload is what the delivery says, captured when it was written.
	Payload   json.RawMessage
	Attempt   int // this attempt's number, from 1
	CreatedAt time.Time
	// WebhookAttempt is the record of a webhook's attempt that succeeded,
	// which DeliveriesSucceeded writes in the transaction that marks the
	// delivery delivered: a success costs no write of its own, and its
	// record is exactly as durable as the mark.
	WebhookAttempt *WebhookAttemptRecord
}

// DeliveryTarget is where deliveries of a kind go: an email address, a
// webhook endpoint's id.
type DeliveryTarget struct{ Kind, Target string }

// DeliveryRoom is how many deliveries to each target a worker may hold
// (claimed and not yet made) at once: PerTarget[kind] (no bound when 0 or
// absent), Held of them held already.
type DeliveryRoom struct {
	PerTarget map[string]int
	Held      map[DeliveryTarget]int
}

// Left is how many more deliveries to t fit, and whether any bound holds
// them.
func (r DeliveryRoom) Left(t DeliveryTarget) (n int, bounded bool) {
	limit := r.PerTarget[t.Kind]
	if limit <= 0 {
		return 0, false
	}
	return max(0, limit-r.Held[t]), true
}

// Full is the targets with no room left.
func (r DeliveryRoom) Full() []DeliveryTarget {
	var full []DeliveryTarget
	for t := range r.Held {
		if n, bounded := r.Left(t); bounded && n == 0 {
			full = append(full, t)
		}
	}
	return full
}

// OutboxStore is what the outbox worker needs of storage. Claims are
// leases: a worker that dies holding one lets the row become due again
// when the lease ends, so a delivery is never lost, and may (rarely) be
// made twice.
type OutboxStore interface {
	// Every method answers KindUnavailable when the database does not
	// answer, and an internal error when something unexpected fails; a
	// delivery owner no longer holds is left alone without an error.

	// ClaimDeliveries leases to owner, for lease, up to limit due
	// deliveries of the given kinds, oldest due first, counting the
	// attempt; of each target no more than room leaves, passing over
	// those it leaves none (their rows are not touched). Workers on many
	// replicas never claim the same row at once.
	ClaimDeliveries(ctx context.Context, owner string, kinds []string, limit int, lease time.Duration, room DeliveryRoom) ([]*Delivery, error)
	// ReleaseDeliveries hands back those of ds that owner holds, not
	// attempted: due at once, their attempt not counted.
	ReleaseDeliveries(ctx context.Context, ds []*Delivery, owner string) error
	// RenewDeliveries extends, to lease from now, owner's leases on those
	// of ds it still holds (pending, and not taken by another since).
	RenewDeliveries(ctx context.Context, ds []*Delivery, owner string, lease time.Duration) error
	// DeliveriesSucceeded records that ds were delivered, with the
	// WebhookAttempt of those that carry one (unless its endpoint is gone
	// meanwhile); they are never sent again.
	DeliveriesSucceeded(ctx context.Context, ds []*Delivery) error
	// RetryDelivery makes d due again after delay, if owner still holds
	// it, recording why this attempt failed.
	RetryDelivery(ctx context.Context, d *Delivery, owner string, delay time.Duration, reason string) error
	// FailDelivery gives d up, if owner still holds it, and writes an
	// audit entry by the system with action and details about its person.
	FailDelivery(ctx context.Context, d *Delivery, owner, reason, action string, details map[string]any) error
	// OutboxStats tells how many deliveries wait, by kind, and when the
	// oldest waiting one was written (zero when none waits).
	OutboxStats(ctx context.Context) (pending map[string]int, oldest time.Time, err error)
	// PurgeDeliveries deletes the deliveries finished more than keep ago.
	PurgeDeliveries(ctx context.Context, keep time.Duration) (int, error)
}

// Email templates, as EmailPayload.Template names them.
const (
	EmailNotification = "notification"
	EmailAlert        = "alert"
	EmailDigest       = "digest"
)

// EmailPayload is what an email delivery holds: everything its message
// will say, captured when the event happened (the sweep writes it in SQL;
// see sqlstore/outbox.go). An email rendered from it says the same on
// every attempt.
type EmailPayload struct {
	Template string `json:"template"`
	// Name is whom the email greets; Timezone is where its times are shown.
	Name     string `json:"name"`
	Timezone string `json:"timezone"`
	// Kind is the notification's or alert's kind.
	Kind    string `json:"kind,omitempty"`
	Message string `json:"message,omitempty"`
	// LeadMicros is a reminder's lead; Within is 1 when the reminder says
	// "due within" it (ReminderWithinMessage), a number because SQLite has no
	// boolean to build the JSON from.
	LeadMicros int64 `json:"lead_us,omitempty"`
	Within     int   `json:"within,omitempty"`
	// The task, for the kinds about one.
	TaskID             string `json:"task_id,omitempty"`
	TaskTitle          string `json:"task_title,omitempty"`
	TaskDeadlineMicros int64  `json:"task_deadline_us,omitempty"`
	TaskStatus         string `json:"task_status,omitempty"`
	// The person an alert is about.
	AboutID       int64  `json:"about_id,omitempty"`
	AboutUsername string `json:"about_username,omitempty"`
	// Day, Alerts and More are a digest's: its local day, the alerts it
	// lists, and how many more it counts without listing them.
	Day    string         `json:"day,omitempty"`
	Alerts []EmailPayload `json:"alerts,omitempty"`
	More   int            `json:"more,omitempty"`
}
