package sqlstore

import (
	"context"
	"database/sql"

	"tasktrack"
)

// UserService is the users: finding, creating, changing, deactivating and
// reactivating them, and their standing towards the sweep.
type UserService struct{ db *DB }

var _ tasktrack.UserService = (*UserService)(nil)

const userColumns = `u.id, u.username, u.email, u.first_name, u.last_name, u.role_id, u.is_active,
	u.date_joined, u.deactivated_at, u.deactivation_reason, u.reactivated_at, u.reactivated_by,
	u.token_version, u.token_key, u.password`

type scanner interface{ Scan(dest ...any) error }

func scanUser(s scanner) (*tasktrack.User, error) {
	var (
		u                    tasktrack.User
		roleID               int
		joined               int64
		deact, react, reactB sql.NullInt64
		reason               sql.NullString
	)
	err := s.Scan(&u.ID, &u.Username, &u.Email, &u.FirstName, &u.LastName, &roleID, &u.IsActive,
		&joined, &deact, &reason, &react, &reactB, &u.TokenVersion, &u.TokenKey, &u.PasswordHash)
	if err != nil {
		return nil, err
	}
	u.Role, _ = tasktrack.RoleByID(roleID)
	u.DateJoined = fromMicros(joined)
	u.DeactivatedAt = timePtr(deact)
	u.DeactivationReason = reason.String
	u.ReactivatedAt = timePtr(react)
	u.ReactivatedBy = int64Ptr(reactB)
	return &u, nil
}

// usernameKey is what makes usernames unique: case and width variants of
// a name are one name.
func usernameKey(username string) string { return tasktrack.UsernameKey(username) }

// findUser is the users' one finder by id: through q, the reader pool or
// a transaction, which locks the row to change it. The reads and the
// updates of the users, and the session service's, all go through it.
func findUser(ctx context.Context, q querier, id int64) (*tasktrack.User, error) {
	return foundUser(scanUser(q.queryRow(ctx, "SELECT "+userColumns+" FROM users u WHERE u.id = ?"+q.forUpdate(), id)))
}

// findUserByName finds a user by username (by its key, so any case or
// width variant finds the one account).
func findUserByName(ctx context.Context, q querier, username string) (*tasktrack.User, error) {
	return foundUser(scanUser(q.queryRow(ctx, "SELECT "+userColumns+" FROM users u WHERE u.username_key = ?"+q.forUpdate(), usernameKey(username))))
}

func foundUser(u *tasktrack.User, err error) (*tasktrack.User, error) {
	if err == sql.ErrNoRows {
		return nil, tasktrack.ErrNotFound
	}
	return u, err
}

// FindUserByID returns one user.
func (s *UserService) FindUserByID(ctx context.Context, id int64) (_ *tasktrack.User, err error) {
	defer wrap(&err, "sqlstore.FindUserByID(%d)", id)
	if err := tasktrack.Authorize(tasktrack.ActorFromContext(ctx), tasktrack.CanReadUser); err != nil {
		return nil, err
	}
	u, err := findUser(ctx, s.db, id)
	if err != nil {
		return nil, s.db.mapErr(err)
	}
	return u, nil
}

// FindUsers lists users by id.
func (s *UserService) FindUsers(ctx context.Context, f tasktrack.UserFilter) (_ []*tasktrack.User, _ int, err error) {
	defer wrap(&err, "sqlstore.FindUsers")
	if err := tasktrack.Authorize(tasktrack.ActorFromContext(ctx), tasktrack.CanListUsers); err != nil {
		return nil, 0, err
	}
	var w where
	if f.Role != "" {
		r, _ := tasktrack.RoleByName(f.Role)
		w.add("u.role_id = ?", r.ID)
	}
	if f.IsActive != nil {
		w.add("u.is_active = ?", *f.IsActive)
	}
	if f.Search != "" {
		p := likePattern(f.Search)
		w.add(`(u.username_key LIKE ? ESCAPE '\' OR lower(u.email) LIKE ? ESCAPE '\' OR lower(u.first_name) LIKE ? ESCAPE '\' OR lower(u.last_name) LIKE ? ESCAPE '\')`, p, p, p, p)
	}
	var total int
	if err := s.db.queryRow(ctx, "SELECT count(*) FROM users u"+w.String(), w.args...).Scan(&total); err != nil {
		return nil, 0, s.db.mapErr(err)
	}
	limit, offset := pageArgs(f.Page)
	rows, err := s.db.query(ctx, "SELECT "+userColumns+" FROM users u"+w.String()+" ORDER BY u.id LIMIT ? OFFSET ?", append(w.args, limit, offset)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var users []*tasktrack.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, 0, s.db.mapErr(err)
		}
		users = append(users, u)
	}
	return users, total, s.db.mapErr(rows.Err())
}

func (db *DB) hash(password string) (string, error) {
	return db.Hasher.Hash(password)
}

// CreateUser creates a user; the system (no actor) may too.
func (s *UserService) CreateUser(ctx context.Context, in tasktrack.UserCreate) (_ *tasktrack.User, err error) {
	defer wrap(&err, "sqlstore.CreateUser")
	actor := tasktrack.ActorFromContext(ctx)
	if err := tasktrack.Authorize(actor, tasktrack.CanCreateUser); err != nil {
		return nil, err
	}
	errs := tasktrack.FieldErrors{}
	tasktrack.ValidateUsername(errs, in.Username)
	tasktrack.ValidatePassword(errs, "password", in.Password, in.Username)
	tasktrack.ValidateEmail(errs, in.Email)
	tasktrack.ValidateName(errs, "first_name", in.FirstName)
	tasktrack.ValidateName(errs, "last_name", in.LastName)
	if in.Role == "" {
		in.Role = tasktrack.RoleUser.Name
	}
	role := tasktrack.ValidateRole(errs, in.Role)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	hash, err := s.db.hash(in.Password)
	if err != nil {
		return nil, err
	}
	var u *tasktrack.User
	err = s.db.update(ctx, func(tx *Tx) error {
		var id int64
		err := tx.queryRow(ctx, `INSERT INTO users (username, username_key, password, email, first_name, last_name, role_id, is_active, date_joined)
			VALUES (?, ?, ?, ?, ?, ?, ?, TRUE, ?) ON CONFLICT (username_key) DO NOTHING RETURNING id`,
			in.Username, usernameKey(in.Username), hash, in.Email, in.FirstName, in.LastName, role.ID, micros(tx.now)).Scan(&id)
		if err == sql.ErrNoRows {
			return tasktrack.Invalid("username", "A user with that username already exists.")
		}
		if err != nil {
			return err
		}
		if u, err = findUser(ctx, tx, id); err != nil {
			return err
		}
		if err := tx.userEvent(ctx, tasktrack.EventUserCreated, u); err != nil {
			return err
		}
		return tx.audit(ctx, actor, tasktrack.ActionUserCreate, "user", itoa(id), map[string]any{"username": u.Username, "role": role.Name})
	})
	return u, err
}

// activeAdminsOtherThan counts the active admins other than id.
func (tx *Tx) activeAdminsOtherThan(ctx context.Context, id int64) (int, error) {
	var n int
	err := tx.queryRow(ctx, "SELECT count(*) FROM users WHERE is_active AND role_id = ? AND id <> ?", tasktrack.RoleAdmin.ID, id).Scan(&n)
	return n, err
}

// keepAnAdmin applies the last-admin rule to a change that takes u out of
// the active admins.
func (tx *Tx) keepAnAdmin(ctx context.Context, u *tasktrack.User) error {
	return tasktrack.KeepAnAdmin(ctx, u, tx.activeAdminsOtherThan)
}

// UpdateUser changes a user's email, names, role, active flag or password.
func (s *UserService) UpdateUser(ctx context.Context, id int64, in tasktrack.UserUpdate) (_ *tasktrack.User, err error) {
	defer wrap(&err, "sqlstore.UpdateUser(%d)", id)
	actor := tasktrack.ActorFromContext(ctx)
	if err := tasktrack.Authorize(actor, tasktrack.CanUpdateUser); err != nil {
		return nil, err
	}
	if in.Password != nil {
		// A password is set only from a login session.
		if err := tasktrack.RequireSession(tasktrack.TokenFromContext(ctx)); err != nil {
			return nil, err
		}
	}
	errs := tasktrack.FieldErrors{}
	if in.Email != nil {
		tasktrack.ValidateEmail(errs, *in.Email)
	}
	if in.FirstName != nil {
		tasktrack.ValidateName(errs, "first_name", *in.FirstName)
	}
	if in.LastName != nil {
		tasktrack.ValidateName(errs, "last_name", *in.LastName)
	}
	var role tasktrack.Role
	if in.Role != nil {
		role = tasktrack.ValidateRole(errs, *in.Role)
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	var hash string
	if in.Password != nil {
		// The password rules need the username: check it first.
		cur, err := findUser(ctx, s.db, id)
		if err != nil {
			return nil, s.db.mapErr(err)
		}
		tasktrack.ValidatePassword(errs, "password", *in.Password, cur.Username)
		if err := errs.Err(); err != nil {
			return nil, err
		}
		if hash, err = s.db.hash(*in.Password); err != nil {
			return nil, err
		}
	}
	var u *tasktrack.User
	err = s.db.update(ctx, func(tx *Tx) error {
		if err := s.db.dialect.lock(ctx, tx, lockUsers); err != nil {
			return err
		}
		old, err := findUser(ctx, tx, id)
		if err != nil {
			return err
		}
		nu := *old
		changed := map[string]any{}
		if in.Email != nil && *in.Email != old.Email {
			nu.Email, changed["email"] = *in.Email, *in.Email
		}
		if in.FirstName != nil && *in.FirstName != old.FirstName {
			nu.FirstName, changed["first_name"] = *in.FirstName, *in.FirstName
		}
		if in.LastName != nil && *in.LastName != old.LastName {
			nu.LastName, changed["last_name"] = *in.LastName, *in.LastName
		}
		roleChanged := in.Role != nil && role.ID != old.Role.ID
		activeChanged := in.IsActive != nil && *in.IsActive != old.IsActive
		if roleChanged || (activeChanged && !*in.IsActive) {
			if err := tx.keepAnAdmin(ctx, old); err != nil {
				return err
			}
		}
		bump := false
		if roleChanged {
			nu.Role, bump = role, true
		}
		if hash != "" {
			nu.PasswordHash, bump = hash, true
		}
		// A change of who may sign in moves the token version itself.
		if bump && !activeChanged {
			nu.TokenVersion++
		}
		if activeChanged {
			if *in.IsActive {
				nu.Reactivate(tx.now, actor)
			} else {
				nu.Deactivate(tx.now, tasktrack.ReasonManual)
			}
		}
		if err := tx.saveUser(ctx, &nu); err != nil {
			return err
		}
		if hash != "" {
			if err := tx.legacyHashGone(ctx, old.PasswordHash); err != nil {
				return err
			}
		}
		target := itoa(id)
		if len(changed) > 0 {
			if err := tx.audit(ctx, actor, tasktrack.ActionUserUpdate, "user", target, changed); err != nil {
				return err
			}
		}
		if roleChanged {
			if err := tx.audit(ctx, actor, tasktrack.ActionUserRole, "user", target, map[string]any{"from": old.Role.Name, "to": role.Name}); err != nil {
				return err
			}
		}
		if activeChanged {
			action, details := tasktrack.ActionUserReactivate, map[string]any{}
			if !nu.IsActive {
				action, details = tasktrack.ActionUserDeactivate, map[string]any{"reason": tasktrack.ReasonManual}
			}
			if err := tx.audit(ctx, actor, action, "user", target, details); err != nil {
				return err
			}
		}
		if hash != "" {
			if err := tx.audit(ctx, actor, tasktrack.ActionUserPassword, "user", target, map[string]any{"by": "admin"}); err != nil {
				return err
			}
		}
		u = &nu
		if activeChanged {
			if err := tx.userActiveEvent(ctx, &nu); err != nil {
				return err
			}
		}
		if activeChanged && nu.IsActive {
			return tx.notifyReactivated(ctx, actor, &nu)
		}
		return nil
	})
	return u, err
}

func (tx *Tx) saveUser(ctx context.Context, u *tasktrack.User) error {
	var reason any
	if u.DeactivationReason != "" {
		reason = u.DeactivationReason
	}
	_, err := tx.exec(ctx, `UPDATE users SET email = ?, first_name = ?, last_name = ?, role_id = ?, is_active = ?,
		deactivated_at = ?, deactivation_reason = ?, reactivated_at = ?, reactivated_by = ?, token_version = ?, password = ?
		WHERE id = ?`,
		u.Email, u.FirstName, u.LastName, u.Role.ID, u.IsActive, nullMicros(u.DeactivatedAt), reason,
		nullMicros(u.ReactivatedAt), nullInt(u.ReactivatedBy), u.TokenVersion, u.PasswordHash, u.ID)
	return err
}

func actorID(actor *tasktrack.User) *int64 {
	if actor == nil {
		return nil
	}
	id := actor.ID
	return &id
}

// DeleteUser deletes a user who has no tasks and is not the last admin.
func (s *UserService) DeleteUser(ctx context.Context, id int64) (err error) {
	defer wrap(&err, "sqlstore.DeleteUser(%d)", id)
	actor := tasktrack.ActorFromContext(ctx)
	if err := tasktrack.Authorize(actor, tasktrack.CanDeleteUser); err != nil {
		return err
	}
	return s.db.update(ctx, func(tx *Tx) error {
		if err := s.db.dialect.lock(ctx, tx, lockUsers); err != nil {
			return err
		}
		u, err := findUser(ctx, tx, id)
		if err != nil {
			return err
		}
		var tasks int
		if err := tx.queryRow(ctx, "SELECT count(*) FROM tasks WHERE assigned_to = ?", id).Scan(&tasks); err != nil {
			return err
		}
		if tasks > 0 {
			return tasktrack.Errorf(tasktrack.KindConflict, "This user still has %d task(s): reassign or delete their tasks first, or deactivate the user.", tasks)
		}
		if err := tx.keepAnAdmin(ctx, u); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, "DELETE FROM users WHERE id = ?", id); err != nil {
			return err
		}
		if err := tx.legacyHashGone(ctx, u.PasswordHash); err != nil {
			return err
		}
		if err := tx.forgetUser(ctx, id); err != nil {
			return err
		}
		return tx.audit(ctx, actor, tasktrack.ActionUserDelete, "user", itoa(id), map[string]any{"username": u.Username})
	})
}

// ReactivateUser makes an inactive user active again; misses before now
// no longer count towards deactivation.
func (s *UserService) ReactivateUser(ctx context.Context, id int64) (_ *tasktrack.User, err error) {
	defer wrap(&err, "sqlstore.ReactivateUser(%d)", id)
	actor := tasktrack.ActorFromContext(ctx)
	if err := tasktrack.Authorize(actor, tasktrack.CanReactivateUser); err != nil {
		return nil, err
	}
	var u *tasktrack.User
	err = s.db.update(ctx, func(tx *Tx) error {
		var err error
		if u, err = findUser(ctx, tx, id); err != nil {
			return err
		}
		if err := tasktrack.AuthorizeReactivate(actor, u); err != nil {
			return err
		}
		if u.IsActive {
			return &tasktrack.Error{Kind: tasktrack.KindInvalid, Key: "status", Message: "User already active"}
		}
		prev := u.DeactivationReason
		u.Reactivate(tx.now, actor)
		if err := tx.saveUser(ctx, u); err != nil {
			return err
		}
		if err := tx.audit(ctx, actor, tasktrack.ActionUserReactivate, "user", itoa(id), map[string]any{"previous_reason": prev}); err != nil {
			return err
		}
		if err := tx.userEvent(ctx, tasktrack.EventUserReactivated, u); err != nil {
			return err
		}
		return tx.notifyReactivated(ctx, actor, u)
	})
	return u, err
}

// DeactivateUser deactivates a user by hand.
func (s *UserService) DeactivateUser(ctx context.Context, id int64) (_ *tasktrack.User, err error) {
	defer wrap(&err, "sqlstore.DeactivateUser(%d)", id)
	actor := tasktrack.ActorFromContext(ctx)
	if err := tasktrack.Authorize(actor, tasktrack.CanDeactivateUser); err != nil {
		return nil, err
	}
	var u *tasktrack.User
	err = s.db.update(ctx, func(tx *Tx) error {
		if err := s.db.dialect.lock(ctx, tx, lockUsers); err != nil {
			return err
		}
		var err error
		if u, err = findUser(ctx, tx, id); err != nil {
			return err
		}
		if !u.IsActive {
			return &tasktrack.Error{Kind: tasktrack.KindInvalid, Key: "status", Message: "User already inactive"}
		}
		if err := tx.keepAnAdmin(ctx, u); err != nil {
			return err
		}
		u.Deactivate(tx.now, tasktrack.ReasonManual)
		if err := tx.saveUser(ctx, u); err != nil {
			return err
		}
		if err := tx.userEvent(ctx, tasktrack.EventUserDeactivated, u); err != nil {
			return err
		}
		return tx.audit(ctx, actor, tasktrack.ActionUserDeactivate, "user", itoa(id), map[string]any{"reason": tasktrack.ReasonManual})
	})
	return u, err
}

// SetUserPassword sets another user's password (an admin's reset).
func (s *UserService) SetUserPassword(ctx context.Context, id int64, password string) (err error) {
	defer wrap(&err, "sqlstore.SetUserPassword(%d)", id)
	actor := tasktrack.ActorFromContext(ctx)
	if err := tasktrack.Authorize(actor, tasktrack.CanSetUserPassword); err != nil {
		return err
	}
	u, err := findUser(ctx, s.db, id)
	if err != nil {
		return s.db.mapErr(err)
	}
	errs := tasktrack.FieldErrors{}
	tasktrack.ValidatePassword(errs, "password", password, u.Username)
	if err := errs.Err(); err != nil {
		return err
	}
	return s.setPassword(ctx, actor, id, password, "admin", "")
}

// setPassword sets user id's password; with a non-empty oldHash, only if
// that is still the user's hash.
func (s *UserService) setPassword(ctx context.Context, actor *tasktrack.User, id int64, password, by, oldHash string) error {
	hash, err := s.db.hash(password)
	if err != nil {
		return err
	}
	return s.db.update(ctx, func(tx *Tx) error {
		u, err := findUser(ctx, tx, id)
		if err != nil {
			return err
		}
		cur := u.PasswordHash
		if oldHash != "" && cur != oldHash {
			errs := tasktrack.FieldErrors{}
			errs.Add("old_password", tasktrack.WrongOldPassword)
			return errs.Err()
		}
		if _, err := tx.exec(ctx, "UPDATE users SET password = ?, token_version = token_version + 1 WHERE id = ?", hash, id); err != nil {
			return err
		}
		if err := tx.legacyHashGone(ctx, cur); err != nil {
			return err
		}
		return tx.audit(ctx, actor, tasktrack.ActionUserPassword, "user", itoa(id), map[string]any{"by": by})
	})
}

// UserStanding counts a user's misses as the sweep does: missed tasks whose
// deadlines fall in [now - window, now] and after the last reactivation.
func (s *UserService) UserStanding(ctx context.Context, id int64) (_ *tasktrack.Standing, err error) {
	defer wrap(&err, "sqlstore.UserStanding(%d)", id)
	u, err := s.FindUserByID(ctx, id)
	if err != nil {
		return nil, err
	}
	now := s.db.now()
	st := &tasktrack.Standing{Threshold: s.db.MissedThreshold, Window: s.db.MissedWindow, CountedSince: now.Add(-s.db.MissedWindow)}
	if u.IsAdmin() {
		st.Threshold = 0
	}
	if u.ReactivatedAt != nil && !u.ReactivatedAt.Before(st.CountedSince) {
		st.CountedSince = *u.ReactivatedAt
	}
	// The sweep's own count (countedMisses), for this one user.
	from, to := s.db.missWindow(now)
	err = s.db.queryRow(ctx, `SELECT `+countedMisses("u")+` FROM users u WHERE u.id = ?`, from, to, id).Scan(&st.MissedInWindow)
	return st, s.db.mapErr(err)
}
