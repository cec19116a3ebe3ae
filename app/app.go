// Package app wires the HTTP API to the store: the one place that builds
// an httpapi.Server with its services, its event hubs and its
// authentication, so that `tasktrack serve` and the API tests run the
// same server. It is the only package besides cmd that imports both
// httpapi and sqlstore; httpapi itself still sees storage only through
// the root package's interfaces.
package app

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"tasktrack/auth"
	"tasktrack/httpapi"
	"tasktrack/sqlstore"
)

// Options is what the wiring needs besides the store.
type Options struct {
	Hasher  *auth.Hasher
	Tokens  *auth.Tokens
	Limiter *auth.LoginLimiter
	Logger  *slog.Logger
	// Poll is how often the event hubs look for news when no notification
	// woke them.
	Poll time.Duration
	// Reminders are the leads before a deadline at which the calendar
	// feed's alarms ring.
	Reminders []time.Duration
	// Now is the clock of the API and of personal access tokens; nil means
	// time.Now.
	Now func() time.Time
	// WebhookAllowPrivate lets webhook endpoints have loopback and private
	// addresses (--webhook-allow-private).
	WebhookAllowPrivate bool
}

// App is the API over one store, with the parts the caller finishes
// (settings of the server, metrics hooks) or runs.
type App struct {
	API       *httpapi.Server
	Auth      *auth.Service
	TokenAuth *auth.PersonalTokens
	// AlertHub and NotificationHub wake the event streams; Run runs them.
	AlertHub        *httpapi.Hub
	NotificationHub *httpapi.Hub
}

// New builds the API over db. The caller sets the server's own settings
// (the web UI, proxies, CORS, public URL, bounds, metrics) before its
// first request, and runs the hubs with Run.
func New(db *sqlstore.DB, o Options) (*App, error) {
	authSvc, err := auth.NewService(db.Sessions, o.Hasher, o.Tokens, o.Limiter, o.Logger)
	if err != nil {
		return nil, err
	}
	pats := auth.NewPersonalTokens(db.Tokens, o.Limiter, o.Logger)
	if o.Now != nil {
		pats.Now = o.Now
	}
	hub := httpapi.NewAlertHub(db.Alerts, db.AlertsChanged(), o.Poll, o.Logger)
	notices := httpapi.NewNotificationHub(db.Notifications, db.NotificationsChanged(), o.Poll, o.Logger)
	api := &httpapi.Server{
		Users: db.Users, Tasks: db.Tasks, Alerts: db.Alerts, Audit: db.Audit, Reports: db.Reports, Auth: authSvc, Hub: hub,
		PersonalTokens: db.Tokens, TokenAuth: pats, Calendars: db.Calendars, Reminders: o.Reminders,
		Webhooks: db.Webhooks, WebhookAllowPrivate: o.WebhookAllowPrivate,
		Notifications: db.Notifications, Preferences: db.Preferences, NotificationHub: notices,
		Ready: db.Ping, Logger: o.Logger, Now: o.Now,
	}
	return &App{API: api, Auth: authSvc, TokenAuth: pats, AlertHub: hub, NotificationHub: notices}, nil
}

// Run runs the event hubs until ctx ends.
func (a *App) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { a.AlertHub.Run(ctx) })
	wg.Go(func() { a.NotificationHub.Run(ctx) })
	wg.Wait()
}
