// Package djangoimport reads a database of the Django REST Framework system
// that tasktrack replaces, a SQLite file or a PostgreSQL URL, into the
// domain's users and tasks. It opens that database read-only and never
// changes it. What the original let in and tasktrack does not (users
// without a role, statuses outside the four, titles out of bounds, password
// hashes tasktrack cannot verify) is mapped, and every mapping is listed in
// Data.Notes; usernames that are one name to tasktrack (equal but for case
// or width) are listed in Data.Collisions, and such data must not be
// imported.
package djangoimport

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
	_ "modernc.org/sqlite"             // the "sqlite" driver

	"tasktrack"
	"tasktrack/auth"
)

// Targets of a note.
const (
	TargetRole = "role"
	TargetUser = "user"
	TargetTask = "task"
)

// Note records one row the import maps rather than copies as it is, or
// leaves out; the store's notes on writing are of the same type.
type Note = tasktrack.ImportNote

// Role is one of the original's roles and the tasktrack role it becomes.
type Role struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	As   string `json:"as"`
}

// UserRef names a user of the original.
type UserRef struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
}

// Collision is a set of the original's users whose usernames have the same
// key (tasktrack.UsernameKey: they differ only in case or width, as "mgr",
// "MGR" and "ｍｇｒ"). tasktrack treats them as one name, and cannot tell
// them apart at login.
type Collision struct {
	Key   string    `json:"key"`
	Users []UserRef `json:"users"`
}

// Data is what Read found, mapped to the domain.
type Data struct {
	// Engine is the original's engine: "sqlite" or "postgres".
	Engine string
	Roles  []Role
	// Users and Tasks are ready to write. A user's PasswordHash is the
	// original's pbkdf2_sha256 hash, which tasktrack verifies at login and
	// replaces with its own at the first success, or an unusable value.
	Users []*tasktrack.User
	Tasks []*tasktrack.Task
	// TasksRead counts the original's tasks, including those not in Tasks.
	TasksRead int
	// Notes lists every mapping and every row left out, in the order read.
	Notes []Note
	// PasswordResets counts users whose password cannot be carried over:
	// they must have it reset by an admin.
	PasswordResets int
	// Overdue counts open tasks whose deadline is past: tasktrack's first
	// sweep marks them missed.
	Overdue int
	// Collisions lists usernames that are one name to tasktrack; while it
	// is not empty the data must not be imported.
	Collisions []Collision
}

// Placeholder is the title given to a task whose title is empty.
const Placeholder = "(untitled)"

// Read reads the original database at source: a postgres:// or
// postgresql:// URL, or else a SQLite file path. now is the time the import
// acts at: a task with a status outside the four becomes missed when its
// deadline is before now, pending otherwise.
func Read(ctx context.Context, source string, now time.Time) (*Data, error) {
	db, engine, err := open(ctx, source)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	opts := &sql.TxOptions{ReadOnly: true}
	if engine == "postgres" {
		// One snapshot for every query.
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := db.BeginTx(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", describe(source), err)
	}
	defer tx.Rollback()
	for _, table := range []string{"user_role", "user_user", "task_task"} {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil {
			return nil, &SourceError{Source: source, Err: fmt.Errorf("not a database of the Django version (table %s: %w)", table, err)}
		}
	}
	r := &reader{tx: tx, engine: engine, now: now.UTC().Truncate(time.Microsecond), d: &Data{Engine: engine}}
	if err := r.readRoles(ctx); err != nil {
		return nil, err
	}
	if err := r.readUsers(ctx); err != nil {
		return nil, err
	}
	if err := r.readTasks(ctx); err != nil {
		return nil, err
	}
	return r.d, nil
}

// SourceError is a source that cannot be opened or is not a database of
// the original.
type SourceError struct {
	Source string
	Err    error
}

func (e *SourceError) Error() string { return describe(e.Source) + ": " + e.Err.Error() }
func (e *SourceError) Unwrap() error { return e.Err }

func isPostgres(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// describe names a source without the password of a URL.
func describe(source string) string {
	if i := strings.Index(source, "://"); i >= 0 {
		if at := strings.LastIndexByte(source, '@'); at > i {
			if user, _, ok := strings.Cut(source[i+3:at], ":"); ok {
				return source[:i+3] + user + ":***" + source[at:]
			}
		}
	}
	return source
}

// open opens the original read-only. A SQLite file is opened immutable, so
// that SQLite writes nothing, not even a -shm or -journal file; that is
// only safe when no other process changes the file meanwhile, and when no
// transaction waits in a -wal or hot -journal file, which an immutable
// open would not see: open refuses those.
func open(ctx context.Context, source string) (*sql.DB, string, error) {
	if isPostgres(source) {
		db, err := sql.Open("pgx", source)
		if err != nil {
			return nil, "", &SourceError{Source: source, Err: err}
		}
		if err := db.PingContext(ctx); err != nil {
			db.Close()
			return nil, "", &SourceError{Source: source, Err: err}
		}
		return db, "postgres", nil
	}
	path := strings.TrimPrefix(source, "file:")
	st, err := os.Stat(path)
	if err != nil {
		return nil, "", &SourceError{Source: source, Err: err}
	}
	if st.IsDir() {
		return nil, "", &SourceError{Source: source, Err: errors.New("is a directory")}
	}
	for _, side := range []string{"-wal", "-journal"} {
		if st, err := os.Stat(path + side); err == nil && st.Size() > 0 {
			return nil, "", &SourceError{Source: source, Err: fmt.Errorf("%s%s holds changes not yet in the database file: stop the Django application and let SQLite finish them (for example: sqlite3 %s 'PRAGMA wal_checkpoint(TRUNCATE)'), or import from a copy made with sqlite3's .backup", path, side, path)}
		}
	}
	esc := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")
	db, err := sql.Open("sqlite", "file:"+esc.Replace(path)+"?mode=ro&immutable=1")
	if err != nil {
		return nil, "", &SourceError{Source: source, Err: err}
	}
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, "", &SourceError{Source: source, Err: err}
	}
	return db, "sqlite", nil
}

type reader struct {
	tx     *sql.Tx
	engine string
	now    time.Time
	d      *Data

	roles map[string]Role // by normalized id
	users map[int64]bool
}

func (r *reader) note(n Note) { r.d.Notes = append(r.d.Notes, n) }

// text selects a column as text: UUIDs are native on PostgreSQL.
func (r *reader) text(col string) string {
	if r.engine == "postgres" {
		return col + "::text"
	}
	return "CAST(" + col + " AS TEXT)"
}

// stamp selects a time column: timestamptz on PostgreSQL, which the driver
// scans into time.Time; text on SQLite, parsed by parseTime.
func (r *reader) stamp(col string) string {
	if r.engine == "postgres" {
		return col
	}
	return "CAST(" + col + " AS TEXT)"
}

func (r *reader) readRoles(ctx context.Context) error {
	rows, err := r.tx.QueryContext(ctx, "SELECT "+r.text("id")+", name FROM user_role ORDER BY name")
	if err != nil {
		return fmt.Errorf("read roles: %w", err)
	}
	defer rows.Close()
	r.roles = map[string]Role{}
	for rows.Next() {
		var id, name string
		if err := rows.Scan(&id, &name); err != nil {
			return fmt.Errorf("read roles: %w", err)
		}
		if d, ok := dashedUUID(id); ok {
			id = d
		}
		role := Role{ID: id, Name: name, As: name}
		if _, ok := tasktrack.RoleByName(name); !ok {
			role.As = tasktrack.RoleUser.Name
			r.note(Note{Target: TargetRole, ID: id, Name: name, Detail: "not a tasktrack role; its users are imported as user"})
		}
		r.roles[normalizeHex(id)] = role
		r.d.Roles = append(r.d.Roles, role)
	}
	return rows.Err()
}

func (r *reader) readUsers(ctx context.Context) error {
	rows, err := r.tx.QueryContext(ctx, `SELECT id, username, password, email, first_name, last_name, is_active, is_superuser, `+
		r.stamp("date_joined")+", "+r.text("role_id")+" FROM user_user ORDER BY id")
	if err != nil {
		return fmt.Errorf("read users: %w", err)
	}
	defer rows.Close()
	r.users = map[int64]bool{}
	byKey := map[string][]UserRef{}
	for rows.Next() {
		var (
			u               tasktrack.User
			active, super   bool
			joined          any
			roleID          sql.NullString
			password, email sql.NullString
		)
		if err := rows.Scan(&u.ID, &u.Username, &password, &email, &u.FirstName, &u.LastName, &active, &super, &joined, &roleID); err != nil {
			return fmt.Errorf("read users: %w", err)
		}
		u.Email = email.String
		id := strconv.FormatInt(u.ID, 10)
		if u.DateJoined, err = toTime(joined); err != nil {
			return fmt.Errorf("user %s %q: date_joined: %w", id, u.Username, err)
		}
		r.mapRole(&u, id, roleID, super)
		r.mapPassword(&u, id, password.String)
		u.IsActive = active
		if !active {
			// The original keeps no date or reason; the import is when
			// tasktrack learns of it, and only an admin deactivated users.
			at := r.now
			u.DeactivatedAt, u.DeactivationReason = &at, tasktrack.ReasonManual
			r.note(Note{Target: TargetUser, ID: id, Name: u.Username, Detail: "inactive in the original; imported inactive (reason manual, deactivated at the import)"})
		}
		errs := tasktrack.FieldErrors{}
		tasktrack.ValidateUsername(errs, u.Username)
		tasktrack.ValidateEmail(errs, u.Email)
		if errs["username"] != nil {
			r.note(Note{Target: TargetUser, ID: id, Name: u.Username, Detail: "username breaks tasktrack's rules; kept as it is, login still works"})
		}
		if errs["email"] != nil {
			r.note(Note{Target: TargetUser, ID: id, Name: u.Username, Detail: fmt.Sprintf("email %q is not a valid address; kept as it is", u.Email)})
		}
		key := tasktrack.UsernameKey(u.Username)
		byKey[key] = append(byKey[key], UserRef{ID: u.ID, Username: u.Username})
		r.users[u.ID] = true
		r.d.Users = append(r.d.Users, &u)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read users: %w", err)
	}
	for key, refs := range byKey {
		if len(refs) > 1 {
			r.d.Collisions = append(r.d.Collisions, Collision{Key: key, Users: refs})
		}
	}
	sort.Slice(r.d.Collisions, func(i, j int) bool { return r.d.Collisions[i].Key < r.d.Collisions[j].Key })
	return nil
}

func (r *reader) mapRole(u *tasktrack.User, id string, roleID sql.NullString, super bool) {
	hint := ""
	if super {
		hint = " (a Django superuser: make them admin by hand if they should be)"
	}
	if !roleID.Valid {
		u.Role = tasktrack.RoleUser
		r.note(Note{Target: TargetUser, ID: id, Name: u.Username, Detail: "no role; imported as user" + hint})
		return
	}
	role, ok := r.roles[normalizeHex(roleID.String)]
	if !ok {
		u.Role = tasktrack.RoleUser
		r.note(Note{Target: TargetUser, ID: id, Name: u.Username, Detail: fmt.Sprintf("role %s does not exist; imported as user%s", roleID.String, hint)})
		return
	}
	u.Role, _ = tasktrack.RoleByName(role.As)
}

// mapPassword keeps Django's pbkdf2_sha256 hashes, which tasktrack
// verifies; any other value can never verify, and is stored so: its user
// must have the password reset.
func (r *reader) mapPassword(u *tasktrack.User, id, hash string) {
	if validPBKDF2(hash) {
		u.PasswordHash = hash
		return
	}
	r.d.PasswordResets++
	var why string
	switch {
	case hash == "":
		why = "no password"
	case strings.HasPrefix(hash, "!"):
		why = "an unusable password in the original"
	default:
		algo, _, _ := strings.Cut(hash, "$")
		why = fmt.Sprintf("password hash format %q, which tasktrack cannot verify", algo)
	}
	// "!" never starts a hash tasktrack verifies, so no password matches.
	u.PasswordHash = "!" + strings.TrimPrefix(hash, "!")
	r.note(Note{Target: TargetUser, ID: id, Name: u.Username, Detail: why + "; an admin must set a new password"})
}

// validPBKDF2 reports whether hash is a Django pbkdf2_sha256 hash that
// tasktrack's login verifies.
func validPBKDF2(hash string) bool {
	_, _, _, ok := auth.ParseDjangoPBKDF2(hash)
	return ok
}

func (r *reader) readTasks(ctx context.Context) error {
	rows, err := r.tx.QueryContext(ctx, "SELECT "+r.text("id")+", title, description, "+r.stamp("deadline")+`, status, assigned_to_id, created_by_id, `+
		r.stamp("created_at")+", "+r.stamp("updated_at")+" FROM task_task ORDER BY created_at, id")
	if err != nil {
		return fmt.Errorf("read tasks: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			t                          tasktrack.Task
			rawID, status              string
			description                sql.NullString
			assignee, creator          sql.NullInt64
			deadline, created, updated any
		)
		if err := rows.Scan(&rawID, &t.Title, &description, &deadline, &status, &assignee, &creator, &created, &updated); err != nil {
			return fmt.Errorf("read tasks: %w", err)
		}
		r.d.TasksRead++
		t.Description = description.String
		id, ok := dashedUUID(rawID)
		if !ok {
			r.note(Note{Target: TargetTask, ID: rawID, Name: t.Title, Detail: "id is not a UUID; not imported", Skipped: true})
			continue
		}
		t.ID = id
		for _, f := range []struct {
			name string
			v    any
			dst  *time.Time
		}{{"deadline", deadline, &t.Deadline}, {"created_at", created, &t.CreatedAt}, {"updated_at", updated, &t.UpdatedAt}} {
			if *f.dst, err = toTime(f.v); err != nil {
				return fmt.Errorf("task %s: %s: %w", id, f.name, err)
			}
		}
		if !assignee.Valid || !r.users[assignee.Int64] {
			r.note(Note{Target: TargetTask, ID: id, Name: t.Title, Detail: fmt.Sprintf("assignee %s does not exist; not imported", nullID(assignee)), Skipped: true})
			continue
		}
		t.AssignedTo = assignee.Int64
		if creator.Valid {
			if r.users[creator.Int64] {
				c := creator.Int64
				t.CreatedBy = &c
			} else {
				r.note(Note{Target: TargetTask, ID: id, Name: t.Title, Detail: fmt.Sprintf("creator %d does not exist; imported without a creator", creator.Int64)})
			}
		}
		r.mapTitle(&t)
		if utf8.RuneCountInString(t.Description) > tasktrack.MaxDescriptionLen {
			r.note(Note{Target: TargetTask, ID: id, Name: t.Title, Detail: "description longer than 10,000 characters; kept as it is (an edit must shorten it)"})
		}
		r.mapStatus(&t, status)
		if t.Status.Open() && t.Deadline.Before(r.now) {
			r.d.Overdue++
		}
		r.d.Tasks = append(r.d.Tasks, &t)
	}
	return rows.Err()
}

func (r *reader) mapTitle(t *tasktrack.Task) {
	trimmed := strings.TrimSpace(t.Title)
	switch n := utf8.RuneCountInString(trimmed); {
	case n == 0:
		r.note(Note{Target: TargetTask, ID: t.ID, Name: t.Title, Detail: fmt.Sprintf("empty title; imported as %q", Placeholder)})
		t.Title = Placeholder
	case n > tasktrack.MaxTitleLen:
		short := string([]rune(trimmed)[:tasktrack.MaxTitleLen])
		r.note(Note{Target: TargetTask, ID: t.ID, Name: t.Title, Detail: fmt.Sprintf("title longer than %d characters; cut to %q", tasktrack.MaxTitleLen, short)})
		t.Title = short
	}
}

// mapStatus sets the status and the times that go with it: a completed
// task was completed when it was last updated, a missed one at its
// deadline.
func (r *reader) mapStatus(t *tasktrack.Task, status string) {
	t.Status = tasktrack.Status(status)
	if !t.Status.Valid() {
		t.Status = tasktrack.StatusPending
		why := "deadline not yet passed"
		if t.Deadline.Before(r.now) {
			t.Status, why = tasktrack.StatusMissed, "deadline passed"
		}
		r.note(Note{Target: TargetTask, ID: t.ID, Name: t.Title, Detail: fmt.Sprintf("status %q is not a tasktrack status; imported as %s (%s)", status, t.Status, why)})
	}
	switch t.Status {
	case tasktrack.StatusCompleted:
		at := t.UpdatedAt
		t.CompletedAt = &at
	case tasktrack.StatusMissed:
		at := t.Deadline
		t.MissedAt = &at
	}
}

func nullID(n sql.NullInt64) string {
	if !n.Valid {
		return "(none)"
	}
	return strconv.FormatInt(n.Int64, 10)
}

// normalizeHex makes UUIDs comparable however they are written: Django
// keeps them as 32 hex digits on SQLite, PostgreSQL writes them dashed.
func normalizeHex(s string) string { return strings.ToLower(strings.ReplaceAll(s, "-", "")) }

// dashedUUID writes a UUID in tasktrack's form: lower-case, dashed.
func dashedUUID(s string) (string, bool) {
	h := normalizeHex(strings.TrimSpace(s))
	if len(h) != 32 {
		return "", false
	}
	if _, err := hex.DecodeString(h); err != nil {
		return "", false
	}
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32], true
}

// Layouts of the times Django writes into SQLite: UTC, with or without
// fractional seconds, with or without an offset, with a space or a T.
var layouts = []string{
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999-0700",
	"2006-01-02 15:04:05.999999999-07",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02 15:04",
	"2006-01-02",
}

// toTime converts a scanned time: a time.Time (PostgreSQL) or text
// (SQLite), which without an offset is UTC.
func toTime(v any) (time.Time, error) {
	var s string
	switch v := v.(type) {
	case time.Time:
		return v.UTC().Truncate(time.Microsecond), nil
	case string:
		s = v
	case []byte:
		s = string(v)
	case nil:
		return time.Time{}, errors.New("missing")
	default:
		return time.Time{}, fmt.Errorf("%v (%T) is not a time", v, v)
	}
	return parseTime(s)
}

func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if len(s) > 10 && s[10] == 'T' {
		s = s[:10] + " " + s[11:]
	}
	for _, l := range layouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC().Truncate(time.Microsecond), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time", s)
}
