package sqlstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"

	"tasktrack"
)

// CalendarService is the calendar feeds: their secrets and their tasks.
type CalendarService struct{ db *DB }

var _ tasktrack.CalendarService = (*CalendarService)(nil)

// newFeedSecret makes a feed secret: 32 random bytes, URL-safe base64.
func newFeedSecret() (secret, hash string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand's documentation)
	secret = base64.RawURLEncoding.EncodeToString(b)
	return secret, feedHash(secret)
}

func feedHash(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// CalendarSecret returns the actor's feed secret, making it on the first
// call; callers racing to make it all get the one that was stored.
func (s *CalendarService) CalendarSecret(ctx context.Context) (_ string, err error) {
	defer wrap(&err, "sqlstore.CalendarSecret")
	actor := tasktrack.ActorFromContext(ctx)
	if actor == nil {
		return "", tasktrack.ErrNotAuthenticated
	}
	secret, err := findFeedSecret(ctx, s.db, actor.ID)
	if err != sql.ErrNoRows {
		return secret, s.db.mapErr(err)
	}
	err = s.db.update(ctx, func(tx *Tx) error {
		fresh, hash := newFeedSecret()
		r, err := tx.exec(ctx, `INSERT INTO calendar_feeds (user_id, secret, secret_hash, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (user_id) DO NOTHING`, actor.ID, fresh, hash, micros(tx.now))
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			secret, err = findFeedSecret(ctx, tx, actor.ID)
			return err
		}
		secret = fresh
		return tx.audit(ctx, actor, tasktrack.ActionCalendarCreate, "user", itoa(actor.ID), map[string]any{})
	})
	return secret, err
}

// findFeedSecret is the feeds' one finder: the secret of user id's feed,
// through q, the reader pool or a transaction; sql.ErrNoRows when the user
// has none yet.
func findFeedSecret(ctx context.Context, q querier, userID int64) (string, error) {
	var secret string
	err := q.queryRow(ctx, "SELECT secret FROM calendar_feeds WHERE user_id = ?", userID).Scan(&secret)
	return secret, err
}

// RotateCalendarSecret gives the actor a new feed secret; the old one
// finds nothing from the commit on.
func (s *CalendarService) RotateCalendarSecret(ctx context.Context) (_ string, err error) {
	defer wrap(&err, "sqlstore.RotateCalendarSecret")
	actor := tasktrack.ActorFromContext(ctx)
	if actor == nil {
		return "", tasktrack.ErrNotAuthenticated
	}
	secret, hash := newFeedSecret()
	err = s.db.update(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, `INSERT INTO calendar_feeds (user_id, secret, secret_hash, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, secret_hash = excluded.secret_hash, created_at = excluded.created_at`,
			actor.ID, secret, hash, micros(tx.now)); err != nil {
			return err
		}
		return tx.audit(ctx, actor, tasktrack.ActionCalendarRotate, "user", itoa(actor.ID), map[string]any{})
	})
	if err != nil {
		return "", err
	}
	return secret, nil
}

// calendarTasks selects the feed's tasks: open ones, and those completed
// or missed since the window's start.
const calendarTasks = `(t.status IN ('pending', 'in_progress')
	OR (t.status = 'completed' AND t.completed_at >= ?) OR (t.status = 'missed' AND t.missed_at >= ?))`

// FindCalendarFeed reads the feed whose secret is secret, for its owner
// as they are now: an inactive owner has no feed, and the owner's current
// role decides whether every task may be shown.
func (s *CalendarService) FindCalendarFeed(ctx context.Context, secret string, all bool) (_ *tasktrack.CalendarFeed, err error) {
	defer wrap(&err, "sqlstore.FindCalendarFeed")
	owner, err := scanUser(s.db.queryRow(ctx, "SELECT "+userColumns+
		" FROM calendar_feeds f JOIN users u ON u.id = f.user_id WHERE f.secret_hash = ?", feedHash(secret)))
	if err != nil {
		return nil, s.db.mapErr(err)
	}
	if !owner.IsActive {
		return nil, tasktrack.ErrNotFound
	}
	owner.PasswordHash = ""
	if all && !tasktrack.Allowed(owner, tasktrack.CanListAllTasks) {
		return nil, tasktrack.Errorf(tasktrack.KindForbidden, "Only managers and admins may subscribe to every task.")
	}
	since := micros(s.db.now().Add(-tasktrack.CalendarWindow))
	q := "SELECT " + taskColumns + taskFrom + " WHERE " + calendarTasks
	args := []any{since, since}
	if !all {
		q = "SELECT " + ownTaskColumns + " FROM tasks t WHERE t.assigned_to = ? AND " + calendarTasks
		args = []any{owner.Username, owner.ID, since, since}
	}
	rows, err := s.db.query(ctx, q+" ORDER BY t.deadline, t.id", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	feed := &tasktrack.CalendarFeed{Owner: owner, All: all}
	for rows.Next() {
		t, err := scanTask(rows)
		if err != nil {
			return nil, s.db.mapErr(err)
		}
		feed.Tasks = append(feed.Tasks, t)
	}
	return feed, s.db.mapErr(rows.Err())
}
