package sqlstore

import (
	"context"
	"database/sql"

	"tasktrack"
)

// SettingService is what starting a process needs: the settings kept in
// the database and the first admin.
type SettingService struct{ db *DB }

// Setting returns the value of a setting kept in the database; when it is
// not set yet, it stores the value made by create. Replicas that start at
// once all get the value the first one stored.
func (s *SettingService) Setting(ctx context.Context, key string, create func() (string, error)) (_ string, err error) {
	defer wrap(&err, "sqlstore.Setting")
	v, err := findSetting(ctx, s.db, key)
	if err == nil {
		return v, nil
	}
	if err != sql.ErrNoRows {
		return "", s.db.mapErr(err)
	}
	nv, err := create()
	if err != nil {
		return "", err
	}
	err = s.db.update(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING", key, nv); err != nil {
			return err
		}
		var err error
		v, err = findSetting(ctx, tx, key)
		return err
	})
	return v, err
}

// findSetting is the settings' one finder: the value of setting key,
// through q, the reader pool or a transaction; sql.ErrNoRows when it is
// not set.
func findSetting(ctx context.Context, q querier, key string) (string, error) {
	var v string
	err := q.queryRow(ctx, "SELECT value FROM settings WHERE key = ?", key).Scan(&v)
	return v, err
}

// HasUsers reports whether the database holds any user.
func (s *SettingService) HasUsers(ctx context.Context) (_ bool, err error) {
	defer wrap(&err, "sqlstore.HasUsers")
	var n int
	err = s.db.queryRow(ctx, "SELECT count(*) FROM (SELECT 1 FROM users LIMIT 1) AS u").Scan(&n)
	return n > 0, s.db.mapErr(err)
}

// BootstrapAdmin creates the first admin, named admin, with the given
// password hash if the database has no users yet. It reports whether it
// did; replicas that start at once create it once.
func (s *SettingService) BootstrapAdmin(ctx context.Context, hash string) (_ bool, err error) {
	defer wrap(&err, "sqlstore.BootstrapAdmin")
	created := false
	err = s.db.update(ctx, func(tx *Tx) error {
		if err := s.db.dialect.lock(ctx, tx, lockUsers); err != nil {
			return err
		}
		var n int
		if err := tx.queryRow(ctx, "SELECT count(*) FROM users").Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		var id int64
		err := tx.queryRow(ctx, `INSERT INTO users (username, username_key, password, role_id, is_active, date_joined)
			VALUES ('admin', 'admin', ?, ?, TRUE, ?) ON CONFLICT (username_key) DO NOTHING RETURNING id`,
			hash, tasktrack.RoleAdmin.ID, micros(tx.now)).Scan(&id)
		if err == sql.ErrNoRows {
			return nil
		}
		if err != nil {
			return err
		}
		created = true
		return tx.audit(ctx, nil, tasktrack.ActionUserCreate, "user", itoa(id), map[string]any{"username": "admin", "role": "admin", "bootstrap": true})
	})
	return created, err
}
