package tasktrack

import (
	"context"
	"time"
)

// Audit actions of calendar feeds.
const (
	ActionCalendarCreate = "calendar.create"
	ActionCalendarRotate = "calendar.rotate"
)

// CalendarWindow is how far back the feed shows completed and missed
// tasks.
const CalendarWindow = 30 * 24 * time.Hour

// CalendarFeed is what a calendar subscription shows: its owner's open
// tasks and those completed or missed within CalendarWindow, or, with
// All, everyone's.
type CalendarFeed struct {
	Owner *User
	All   bool
	Tasks []*Task
}

// CalendarService manages the secret feed URLs that calendar apps
// subscribe to, and reads the feeds.
type CalendarService interface {
	// Every method may also answer KindUnavailable when the database does
	// not answer, and an internal error when something unexpected fails.

	// CalendarSecret returns the actor's feed secret, made on the first
	// call; KindUnauthenticated without an actor.
	CalendarSecret(ctx context.Context) (string, error)
	// RotateCalendarSecret replaces the actor's feed secret: the old one
	// stops working at once. KindUnauthenticated without an actor.
	RotateCalendarSecret(ctx context.Context) (string, error)
	// FindCalendarFeed reads the feed whose secret is secret. The secret
	// is the only credential: an unknown secret, or one whose owner is
	// deactivated, is not found. All asks for every task, which only
	// owners who may list all tasks get: KindForbidden for others.
	FindCalendarFeed(ctx context.Context, secret string, all bool) (*CalendarFeed, error)
}
