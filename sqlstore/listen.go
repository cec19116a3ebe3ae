package sqlstore

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// Listen relays PostgreSQL notifications of new alerts (from any replica or
// a sweep run from cron) to AlertsChanged until ctx ends, reconnecting
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
	if _, err := conn.Exec(ctx, "LISTEN "+alertsChannel); err != nil {
		return err
	}
	// Alerts committed while no connection listened are caught up now.
	db.signalAlerts()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		db.signalAlerts()
	}
}

func (db *DB) signalAlerts() {
	select {
	case db.alertsChanged <- struct{}{}:
	default:
	}
}
