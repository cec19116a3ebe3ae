package sqlstore

import (
	"context"
	"database/sql"

	"tasktrack"
)

// PreferenceService is a person's choices of emails and timezone.
type PreferenceService struct{ db *DB }

var _ tasktrack.PreferencesService = (*PreferenceService)(nil)

// The preference columns, in the order of tasktrack.NotificationKinds,
// then the alerts mode and the timezone.
const preferenceColumns = `email_task_assigned, email_task_changed, email_task_reminder, email_task_missed,
	email_at_risk, email_reactivated, alerts, timezone`

func scanPreferences(s scanner) (tasktrack.Preferences, error) {
	p := tasktrack.DefaultPreferences()
	email := make([]bool, len(tasktrack.NotificationKinds))
	dest := make([]any, 0, len(email)+2)
	for i := range email {
		dest = append(dest, &email[i])
	}
	err := s.Scan(append(dest, &p.Alerts, &p.Timezone)...)
	if err == sql.ErrNoRows {
		return tasktrack.DefaultPreferences(), nil
	}
	for i, k := range tasktrack.NotificationKinds {
		p.Email[k] = email[i]
	}
	return p, err
}

// FindPreferences returns the actor's preferences, the defaults until
// they choose.
func (s *PreferenceService) FindPreferences(ctx context.Context) (_ tasktrack.Preferences, err error) {
	defer wrap(&err, "sqlstore.FindPreferences")
	actor, err := preferencesOwner(ctx)
	if err != nil {
		return tasktrack.Preferences{}, err
	}
	p, err := findPreferences(ctx, s.db, actor.ID)
	return p, s.db.mapErr(err)
}

// findPreferences is the preferences' one finder: user id's, through q,
// the reader pool or a transaction, which locks them to change them; the
// defaults for a person who never chose.
func findPreferences(ctx context.Context, q querier, userID int64) (tasktrack.Preferences, error) {
	return scanPreferences(q.queryRow(ctx, "SELECT "+preferenceColumns+" FROM user_preferences WHERE user_id = ?"+q.forUpdate(), userID))
}

// UpdatePreferences changes the actor's preferences and records the
// change in the audit log.
func (s *PreferenceService) UpdatePreferences(ctx context.Context, in tasktrack.PreferencesUpdate) (_ tasktrack.Preferences, err error) {
	defer wrap(&err, "sqlstore.UpdatePreferences")
	actor, err := preferencesOwner(ctx)
	if err != nil {
		return tasktrack.Preferences{}, err
	}
	errs := tasktrack.FieldErrors{}
	tasktrack.ValidatePreferences(errs, in)
	if err := errs.Err(); err != nil {
		return tasktrack.Preferences{}, err
	}
	var p tasktrack.Preferences
	err = s.db.update(ctx, func(tx *Tx) error {
		var err error
		p, err = findPreferences(ctx, tx, actor.ID)
		if err != nil {
			return err
		}
		changed := map[string]any{}
		for k, v := range in.Email {
			if p.Email[k] != v {
				p.Email[k], changed["email."+k] = v, v
			}
		}
		if in.Alerts != nil && *in.Alerts != p.Alerts {
			p.Alerts, changed["alerts"] = *in.Alerts, *in.Alerts
		}
		if in.Timezone != nil && *in.Timezone != p.Timezone {
			p.Timezone, changed["timezone"] = *in.Timezone, *in.Timezone
		}
		if len(changed) == 0 {
			return nil
		}
		args := []any{actor.ID}
		for _, k := range tasktrack.NotificationKinds {
			args = append(args, p.Email[k])
		}
		if _, err := tx.exec(ctx, `INSERT INTO user_preferences (user_id, `+preferenceColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (user_id) DO UPDATE SET email_task_assigned = excluded.email_task_assigned,
				email_task_changed = excluded.email_task_changed, email_task_reminder = excluded.email_task_reminder,
				email_task_missed = excluded.email_task_missed, email_at_risk = excluded.email_at_risk,
				email_reactivated = excluded.email_reactivated, alerts = excluded.alerts, timezone = excluded.timezone`,
			append(args, p.Alerts, p.Timezone)...); err != nil {
			return err
		}
		return tx.audit(ctx, actor, tasktrack.ActionUserPreferences, "user", itoa(actor.ID), changed)
	})
	return p, err
}

func preferencesOwner(ctx context.Context) (*tasktrack.User, error) {
	actor := tasktrack.ActorFromContext(ctx)
	if actor == nil {
		return nil, tasktrack.ErrNotAuthenticated
	}
	return actor, tasktrack.Authorize(actor, tasktrack.CanSetPreferences)
}
