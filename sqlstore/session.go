package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"tasktrack"
)

// SessionService is what signing in needs: the users by id and by name
// (through the user service's finders), login records, refresh tokens and
// their rotation, password changes by their owner, and the cost of the
// costliest imported hash.
type SessionService struct{ db *DB }

var _ tasktrack.SessionStore = (*SessionService)(nil)

// AuthUser loads a user by id for authentication, without policy.
func (s *SessionService) AuthUser(ctx context.Context, id int64) (_ *tasktrack.User, err error) {
	defer wrap(&err, "sqlstore.AuthUser(%d)", id)
	u, err := findUser(s.db.dialect.shortRead(ctx), s.db, id)
	if err != nil {
		return nil, s.db.mapErr(err)
	}
	return u, nil
}

// claimGuard is a condition that holds when the claimed actor u (see
// tasktrack.NewContextWithClaimedActor) is still the user as stored: still
// active, with the same token version and key, role and username, which
// is all that a claimed route's answer takes of its actor. It is the check
// of Authenticate, made in the statement that answers.
func claimGuard(u *tasktrack.User) (string, []any) {
	return "EXISTS (SELECT 1 FROM users WHERE id = ? AND is_active AND token_version = ? AND token_key = ? AND role_id = ? AND username = ?)",
		[]any{u.ID, u.TokenVersion, u.TokenKey, u.Role.ID, u.Username}
}

// UserByUsername loads a user by username (by its key, so any case or
// width variant finds the one account) for login, without policy.
func (s *SessionService) UserByUsername(ctx context.Context, username string) (_ *tasktrack.User, err error) {
	defer wrap(&err, "sqlstore.UserByUsername")
	u, err := findUserByName(ctx, s.db, username)
	if err != nil {
		return nil, s.db.mapErr(err)
	}
	return u, nil
}

// RecordLogin writes the audit entry of a login attempt. u is nil when the
// username is unknown.
func (s *SessionService) RecordLogin(ctx context.Context, u *tasktrack.User, username string, ok bool, addr string) (err error) {
	defer wrap(&err, "sqlstore.RecordLogin")
	return s.db.update(ctx, func(tx *Tx) error {
		return tx.recordLogin(ctx, u, username, ok, addr)
	})
}

func (tx *Tx) recordLogin(ctx context.Context, u *tasktrack.User, username string, ok bool, addr string) error {
	action, target := tasktrack.ActionLoginFailed, ""
	if ok {
		action = tasktrack.ActionLogin
	}
	details := map[string]any{"username": username, "address": addr}
	if u != nil {
		target = itoa(u.ID)
	}
	actor := u
	if !ok {
		actor = nil
	}
	return tx.audit(ctx, actor, action, "user", target, details)
}

// LoginSucceeded records u's successful login, replaces u's outdated
// password hash with newHash when it is not "" (unless the hash changed
// meanwhile), and saves the refresh token t the login issued: one write
// transaction, where there were three.
func (s *SessionService) LoginSucceeded(ctx context.Context, u *tasktrack.User, username, addr string, t tasktrack.RefreshToken, newHash string) (err error) {
	defer wrap(&err, "sqlstore.LoginSucceeded(%d)", u.ID)
	return s.db.update(ctx, func(tx *Tx) error {
		if err := tx.recordLogin(ctx, u, username, true, addr); err != nil {
			return err
		}
		if newHash != "" {
			if err := tx.upgradePasswordHash(ctx, u.ID, u.PasswordHash, newHash); err != nil {
				return err
			}
		}
		return tx.saveRefresh(ctx, t)
	})
}

// SaveRefreshToken stores a newly issued refresh token.
func (s *SessionService) SaveRefreshToken(ctx context.Context, t tasktrack.RefreshToken) (err error) {
	defer wrap(&err, "sqlstore.SaveRefreshToken")
	return s.db.update(ctx, func(tx *Tx) error {
		return tx.saveRefresh(ctx, t)
	})
}

func (tx *Tx) saveRefresh(ctx context.Context, t tasktrack.RefreshToken) error {
	_, err := tx.exec(ctx, `INSERT INTO refresh_tokens (token_hash, family_id, user_id, token_version, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?)`, t.Hash, t.FamilyID, t.UserID, t.TokenVersion, micros(tx.now), micros(t.ExpiresAt))
	return err
}

// RotateRefreshToken spends the refresh token with hash oldHash and stores
// next in its place, in the same family. It answers ErrRefreshReused (after
// revoking the family) when the token was already spent or revoked, and an
// unauthenticated error when it is unknown, expired, or its user may no
// longer sign in or has another token key than next carries. It returns
// the user.
func (s *SessionService) RotateRefreshToken(ctx context.Context, oldHash string, next tasktrack.RefreshToken) (_ *tasktrack.User, err error) {
	defer wrap(&err, "sqlstore.RotateRefreshToken")
	var (
		u      *tasktrack.User
		reused bool
	)
	err = s.db.update(ctx, func(tx *Tx) error {
		var (
			family           string
			userID, ver, exp int64
			used, revoked    sql.NullInt64
		)
		err := tx.queryRow(ctx, `SELECT family_id, user_id, token_version, expires_at, used_at, revoked_at
			FROM refresh_tokens WHERE token_hash = ?`+tx.db.dialect.forUpdate(), oldHash).Scan(&family, &userID, &ver, &exp, &used, &revoked)
		if err == sql.ErrNoRows {
			return errTokenInvalid
		}
		if err != nil {
			return err
		}
		if used.Valid || revoked.Valid {
			// Reuse: revoke the whole family, and keep that revocation.
			reused = true
			_, err := tx.exec(ctx, "UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL", micros(tx.now), family)
			return err
		}
		if exp <= micros(tx.now) {
			return errTokenInvalid
		}
		if u, err = findUser(ctx, tx, userID); err != nil {
			if errors.Is(err, tasktrack.ErrNotFound) {
				return errTokenInvalid
			}
			return err
		}
		if !u.IsActive || u.TokenVersion != ver || u.TokenKey != next.TokenKey {
			return errTokenInvalid
		}
		if _, err := tx.exec(ctx, "UPDATE refresh_tokens SET used_at = ? WHERE token_hash = ?", micros(tx.now), oldHash); err != nil {
			return err
		}
		next.FamilyID, next.UserID, next.TokenVersion = family, userID, u.TokenVersion
		// Spent tokens of this user past their expiry are no longer needed.
		if _, err := tx.exec(ctx, "DELETE FROM refresh_tokens WHERE user_id = ? AND expires_at < ?", userID, micros(tx.now)); err != nil {
			return err
		}
		return tx.saveRefresh(ctx, next)
	})
	if err != nil {
		return nil, err
	}
	if reused {
		return nil, tasktrack.ErrRefreshReused
	}
	return u, nil
}

// RevokeRefreshFamily revokes the refresh token with hash h and its whole
// rotation family (logout).
func (s *SessionService) RevokeRefreshFamily(ctx context.Context, h string) (err error) {
	defer wrap(&err, "sqlstore.RevokeRefreshFamily")
	return s.db.update(ctx, func(tx *Tx) error {
		var (
			family string
			exp    int64
		)
		err := tx.queryRow(ctx, "SELECT family_id, expires_at FROM refresh_tokens WHERE token_hash = ?", h).Scan(&family, &exp)
		if err == sql.ErrNoRows {
			return errTokenInvalid
		}
		if err != nil {
			return err
		}
		_, err = tx.exec(ctx, "UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL", micros(tx.now), family)
		return err
	})
}

// UpgradePasswordHash replaces a user's password hash after a successful
// login with an outdated one, unless it changed meanwhile. The token
// version stays: it is the same password.
func (s *SessionService) UpgradePasswordHash(ctx context.Context, id int64, oldHash, newHash string) (err error) {
	defer wrap(&err, "sqlstore.UpgradePasswordHash(%d)", id)
	return s.db.update(ctx, func(tx *Tx) error {
		return tx.upgradePasswordHash(ctx, id, oldHash, newHash)
	})
}

func (tx *Tx) upgradePasswordHash(ctx context.Context, id int64, oldHash, newHash string) error {
	r, err := tx.exec(ctx, "UPDATE users SET password = ? WHERE id = ? AND password = ?", newHash, id, oldHash)
	if err != nil {
		return err
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return nil
	}
	if err := tx.legacyHashGone(ctx, oldHash); err != nil {
		return err
	}
	return tx.audit(ctx, nil, tasktrack.ActionPasswordUpgraded, "user", itoa(id), map[string]any{})
}

var errTokenInvalid = tasktrack.ErrTokenInvalid

// SetOwnPassword sets the caller's password once auth has checked their
// current one, whose hash is oldHash; if the hash has changed since, the
// old password given is no longer the current one.
func (s *SessionService) SetOwnPassword(ctx context.Context, oldHash, newPassword string) (err error) {
	defer wrap(&err, "sqlstore.SetOwnPassword")
	actor := tasktrack.ActorFromContext(ctx)
	if actor == nil {
		return tasktrack.ErrNotAuthenticated
	}
	errs := tasktrack.FieldErrors{}
	tasktrack.ValidatePassword(errs, "new_password", newPassword, actor.Username)
	if err := errs.Err(); err != nil {
		return err
	}
	return s.db.Users.setPassword(ctx, actor, actor.ID, newPassword, "self", oldHash)
}

// MaxLegacyIterations returns the highest PBKDF2 iteration count among the
// Django hashes still stored, 0 when none is left. A database that has
// never had it computed (one imported before the setting existed) has it
// computed now, once.
func (s *SessionService) MaxLegacyIterations(ctx context.Context) (_ int, err error) {
	defer wrap(&err, "sqlstore.MaxLegacyIterations")
	v, err := s.db.Settings.Setting(ctx, legacyIterationsKey, func() (string, error) {
		n, err := maxLegacyIterations(ctx, s.db.query)
		return strconv.Itoa(n), err
	})
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("setting %s: %w", legacyIterationsKey, err)
	}
	return n, nil
}

// RefreshTokenHashes returns what is stored of every refresh token (spent
// and revoked ones included), oldest first. It is for tests and operators
// checking that no raw token is ever written to the database.
func (s *SessionService) RefreshTokenHashes(ctx context.Context) (_ []string, err error) {
	defer wrap(&err, "sqlstore.RefreshTokenHashes")
	rows, err := s.db.query(ctx, "SELECT token_hash FROM refresh_tokens ORDER BY created_at, token_hash")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var hashes []string
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return nil, s.db.mapErr(err)
		}
		hashes = append(hashes, h)
	}
	return hashes, s.db.mapErr(rows.Err())
}
