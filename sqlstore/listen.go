package sqlstore

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// Listen relays PostgreSQL notifications of new alerts, notifications and
// deliveries (from any replica or a sweep run from cron) to AlertsChanged,
// NotificationsChanged and OutboxChanged until ctx ends, reconnecting
// after a lost connection. On SQLite it returns at once: streams there
// learn of other processes' alerts by polling.
func (db *DB) Listen(ctx context.Context) {
	if db.pgConfig == nil {
		return
	}
	backoff := time.Second
	for ctx.Err() == nil {
		err := db.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		db.Logger.Warn("alert notifications lost; reconnecting", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

func (db *DB) listenOnce(ctx context.Context) error {
	conn, err := pgx.ConnectConfig(ctx, db.pgConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for _, ch := range []string{alertsChannel, notificationsChannel, outboxChannel} {
		if _, err := conn.Exec(ctx, "LISTEN "+ch); err != nil {
			return err
		}
	}
	// What was committed while no connection listened is caught up now.
	db.signalAlerts()
	signal(db.signals.notifications)
	signal(db.signals.outbox)
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		switch n.Channel {
		case notificationsChannel:
			signal(db.signals.notifications)
		case outboxChannel:
			signal(db.signals.outbox)
		default:
			db.signalAlerts()
		}
	}
}

func (db *DB) signalAlerts() {
	select {
	case db.alertsChanged <- struct{}{}:
	default:
	}
}
