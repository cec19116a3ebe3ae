package sqlstore

import (
	"context"
	"time"
)

// Listens reports whether Listen relays notifications of other processes'
// alerts; when it does not, alert streams learn of them only by polling.
func (db *DB) Listens() bool { return db.dialect.listens() }

// AlertsChanged is signalled after this process committed new alerts,
// or (on PostgreSQL, through Listen) any other did.
func (db *DB) AlertsChanged() <-chan struct{} { return db.alertsChanged }

// NotificationsChanged is signalled after new notifications were committed
// by this process, or (on PostgreSQL) by any other.
func (db *DB) NotificationsChanged() <-chan struct{} { return db.signals.notifications }

// OutboxChanged is signalled after new deliveries were committed by this
// process, or (on PostgreSQL) by any other.
func (db *DB) OutboxChanged() <-chan struct{} { return db.signals.outbox }

// The LISTEN connection retries after a loss with a backoff that starts
// short, so that a failover of a few seconds delays notifications by no
// more than that, and is capped low for the same reason.
const (
	listenRetryMin = 250 * time.Millisecond
	listenRetryMax = 5 * time.Second
)

// Listen relays PostgreSQL notifications of new alerts, notifications and
// deliveries (from any replica or a sweep run from cron) to AlertsChanged,
// NotificationsChanged and OutboxChanged until ctx ends, reconnecting
// after a lost connection, to whichever server the listen URL then leads
// (after a failover, the new primary). Without a listen connection
// (Listens is false) it returns at once.
func (db *DB) Listen(ctx context.Context) {
	if !db.dialect.listens() {
		return
	}
	backoff := listenRetryMin
	for ctx.Err() == nil {
		listened, err := db.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		if listened {
			backoff = listenRetryMin
		}
		db.Logger.Warn("alert notifications lost; reconnecting", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, listenRetryMax)
	}
}

// listenOnce listens on one connection until it fails; listened reports
// whether it got as far as listening.
func (db *DB) listenOnce(ctx context.Context) (listened bool, err error) {
	return db.dialect.listen(ctx, []string{alertsChannel, notificationsChannel, outboxChannel}, func() {
		// What was committed while no connection listened is caught up now.
		db.signalAlerts()
		signal(db.signals.notifications)
		signal(db.signals.outbox)
	}, func(channel string) {
		switch channel {
		case notificationsChannel:
			signal(db.signals.notifications)
		case outboxChannel:
			signal(db.signals.outbox)
		default:
			db.signalAlerts()
		}
	})
}

func (db *DB) signalAlerts() {
	select {
	case db.alertsChanged <- struct{}{}:
	default:
	}
}
