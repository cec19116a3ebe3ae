// Package sqlstore implements the tasktrack services over database/sql, on
// an embedded SQLite file or on PostgreSQL. Each use case is one
// transaction that loads what it needs, asks the policy, writes the change
// and its audit entry. What the two engines do differently lives in
// dialect.go; everything else is shared.
//
// DB is the core the services share: the connections, the dialect, the
// clock and the settings, the signals, the group-commit queue and the
// statement caches; it opens, migrates, checks and closes the database.
// The services are fields of DB, one per entity, each a type in the file
// of its entity: Users (user.go), Sessions (session.go: logins, refresh
// tokens, a user's own password), Tasks, Alerts, Audit (the log and a
// task's history), Sweeper, Settings (setup.go: settings and the first
// admin), Bulk, Importer, Notifications, Preferences, Outbox, Tokens
// (personal access tokens), Calendars, Webhooks and Reports (stats.go: the
// dashboard and the exports). Each implements its interface of the root
// package.
//
// An entity's row is read one way: by its one finder (findUser, findTask,
// findWebhook, ...), which takes a querier, the reader pool or the write
// transaction of an update, so that a read and an update see the same
// row the same way. A service that needs another's rows calls that
// service's finder (the session service finds users through findUser).
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"math/bits"
	"slices"
	"strings"
	"time"

	"tasktrack"
)

// DB is the store over one database: the connections, the engine's
// dialect and the settings every service shares, and the services, one
// per entity, each in the file of its entity. DB itself only opens,
// migrates, checks and closes the database, and relays the signals of
// other processes (Listen).
type DB struct {
	Users         *UserService
	Sessions      *SessionService
	Tasks         *TaskService
	Alerts        *AlertService
	Audit         *AuditService
	Sweeper       *SweepService
	Settings      *SettingService
	Bulk          *BulkService
	Importer      *ImportService
	Notifications *NotificationService
	Preferences   *PreferenceService
	Outbox        *OutboxService
	Tokens        *TokenService
	Calendars     *CalendarService
	Webhooks      *WebhookService
	Reports       *ReportService

	dialect dialect
	// writer takes every write transaction; on SQLite it is a single
	// connection that begins transactions as IMMEDIATE.
	writer *sql.DB
	// reader serves reads; on PostgreSQL it is the same pool as writer.
	reader *sql.DB

	// Now is the clock; tests move it.
	Now func() time.Time
	// Hasher hashes new passwords.
	Hasher tasktrack.PasswordHasher
	// MissedThreshold and MissedWindow decide when the sweep deactivates
	// a user.
	MissedThreshold int
	MissedWindow    time.Duration
	Logger          *slog.Logger
	// Reminders are the leads before a deadline at which the sweep
	// reminds the assignee, smallest first (tasktrack.ParseReminders);
	// none when empty.
	Reminders []time.Duration
	// Email makes notifications and alerts write their emails to the
	// outbox (set when SMTP is configured; without it nobody would send
	// them).
	Email bool
	// OnNotifications, when set, is told after each commit how many
	// notifications of a kind it created, for metrics.
	OnNotifications func(kind string, n int)
	// signals wake event streams and outbox workers (notification.go).
	signals signals

	// creates groups concurrent task creations into one transaction, and
	// statuses concurrent status changes (SQLite only, see groupsWrites).
	creates  *groupCommit[*createReq]
	statuses *groupCommit[*statusReq]
	// changing lets one status change of a task at a time run in this
	// process where writes chain (see changeStatus).
	changing keyLocks

	// alertsChanged is signalled after a local commit created alerts.
	alertsChanged chan struct{}
	// readStmts and writeStmts cache prepared statements (SQLite only).
	readStmts, writeStmts *stmtCache
	// writeSlot lets one write transaction of this process run at a time
	// (SQLite only), so that writers queue here rather than in SQLite's
	// busy handler.
	writeSlot chan struct{}
}

// Options tune how a database is opened.
type Options struct {
	// MaxConns bounds the connection pool (PostgreSQL) or the reader pool
	// (SQLite). 0 picks a default.
	MaxConns int
	// Synchronous is SQLite's synchronous pragma: "normal" (the default)
	// or "full".
	Synchronous string
	// ListenURL is a PostgreSQL URL for the LISTEN connection, which needs
	// a session of its own: a direct one when the main URL goes through a
	// transaction pooler. Empty: the main URL, unless that asks for a
	// pooler's query mode (then alert streams poll).
	ListenURL string
	// BulkWrites gives SQLite's writer the page cache of a process that
	// changes many pages in one transaction and exits (the sweep command,
	// migrate, an import, demo data): 32 MiB instead of a server's 1 MiB
	// (see writerCacheKiB).
	BulkWrites bool
}

// Open opens the database named by dsn: a postgres:// or postgresql:// URL
// selects PostgreSQL, anything else is a SQLite file path. It does not
// migrate.
func Open(ctx context.Context, dsn string, opt Options) (*DB, error) {
	db := &DB{
		Now:             time.Now,
		MissedThreshold: 5,
		MissedWindow:    7 * 24 * time.Hour,
		Logger:          slog.New(slog.DiscardHandler),
		alertsChanged:   make(chan struct{}, 1),
		Reminders:       []time.Duration{time.Hour, 24 * time.Hour},
		signals:         newSignals(),
		creates:         newCreateQueue(),
		statuses:        newStatusQueue(),
	}
	db.Users, db.Sessions, db.Tasks = &UserService{db}, &SessionService{db}, &TaskService{db}
	db.Alerts, db.Audit, db.Sweeper = &AlertService{db}, &AuditService{db}, &SweepService{db}
	db.Settings, db.Bulk, db.Importer = &SettingService{db}, &BulkService{db}, &ImportService{db}
	db.Notifications, db.Preferences, db.Outbox = &NotificationService{db}, &PreferenceService{db}, &OutboxService{db}
	db.Tokens, db.Calendars, db.Webhooks, db.Reports = &TokenService{db}, &CalendarService{db}, &WebhookService{db}, &ReportService{db}
	var err error
	if IsPostgres(dsn) {
		err = db.openPostgres(ctx, dsn, opt)
	} else {
		err = db.openSQLite(ctx, dsn, opt)
	}
	if err != nil {
		return nil, err
	}
	return db, nil
}

// IsPostgres reports whether dsn names a PostgreSQL database.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Engine names the database engine: "sqlite" or "postgres".
func (db *DB) Engine() string { return db.dialect.name() }

// Close closes the database.
func (db *DB) Close() error {
	db.readStmts.close()
	db.writeStmts.close()
	err := db.writer.Close()
	if db.reader != db.writer {
		err = errors.Join(err, db.reader.Close())
	}
	return err
}

// Ping checks that the database answers and takes writes.
func (db *DB) Ping(ctx context.Context) (err error) {
	defer wrap(&err, "sqlstore.Ping")
	if err := db.reader.PingContext(ctx); err != nil {
		return db.mapErr(err)
	}
	var writable bool
	if err := db.reader.QueryRowContext(ctx, db.dialect.writableQuery()).Scan(&writable); err != nil {
		return db.mapErr(err)
	}
	if !writable {
		return tasktrack.ErrUnavailable
	}
	return nil
}

// Stats reports the connection pools' statistics, for metrics.
func (db *DB) Stats() (writer, reader sql.DBStats) {
	return db.writer.Stats(), db.reader.Stats()
}

// Tx is a write transaction with the time it acts at.
type Tx struct {
	tx  *sql.Tx
	db  *DB
	now time.Time
	// committed are called once the transaction has committed.
	committed []func()
	// channels are those notifyOnce was asked for.
	channels []string
}

// notifyOnce sends a notification on channel at commit (dialect.notify), once
// per transaction: PostgreSQL delivers one anyway, and each statement is a
// round trip.
func (tx *Tx) notifyOnce(ctx context.Context, channel string) error {
	if slices.Contains(tx.channels, channel) {
		return nil
	}
	if err := tx.db.dialect.notify(ctx, tx, channel); err != nil {
		return err
	}
	tx.sentNotify(channel)
	return nil
}

// sentNotify records that a statement of tx sent NOTIFY on channel, so
// that notifyOnce sends no other.
func (tx *Tx) sentNotify(channel string) {
	if !slices.Contains(tx.channels, channel) {
		tx.channels = append(tx.channels, channel)
	}
}

// notifyIfAny is SQL for a column that sends NOTIFY on channel when the
// rows of from (a CTE's, or a subquery with its alias) are any, and counts
// 1 then, 0 otherwise: a chained statement's own NOTIFY.
func notifyIfAny(channel, from string) string {
	return "(SELECT count(*) FROM (SELECT pg_notify('" + channel + "', '') FROM " + from + " LIMIT 1) n)"
}

func (tx *Tx) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	q = tx.db.dialect.rebind(q)
	if st := tx.db.writeStmts.get(ctx, q); st != nil {
		return tx.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return tx.tx.ExecContext(ctx, q, args...)
}

// execRows runs a statement of n rows alike: prefix, whose arguments are
// the first lead of args, then row n times separated by commas, then
// suffix; the rest of args are the rows'. On SQLite it runs as statements
// of 64, 32, ..., 2 and 1 rows, the binary digits of n, in order: each
// kept prepared, seven texts a statement rather than one for every n
// (preparing a statement of many rows cost as much as running it). On
// PostgreSQL, where each statement is a round trip, it is one statement,
// which pgx keeps prepared by its text.
func (tx *Tx) execRows(ctx context.Context, prefix, row string, n int, suffix string, lead int, args ...any) (sql.Result, error) {
	var affected rowsAffected
	err := tx.eachChunk(n, lead, args, func(k int, args []any) error {
		res, err := tx.exec(ctx, rowsQuery(prefix, row, k, suffix), args...)
		if err != nil {
			return err
		}
		m, err := res.RowsAffected()
		affected += rowsAffected(m)
		return err
	})
	return affected, err
}

// queryRows is execRows for a statement that returns rows, each passed to
// scan.
func (tx *Tx) queryRows(ctx context.Context, prefix, row string, n int, suffix string, lead int, scan func(*sql.Rows) error, args ...any) error {
	return tx.eachChunk(n, lead, args, func(k int, args []any) error {
		rows, err := tx.query(ctx, rowsQuery(prefix, row, k, suffix), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	})
}

// eachChunk calls f with the arguments of each statement of execRows: k
// rows, and the lead arguments followed by those of the k rows.
func (tx *Tx) eachChunk(n, lead int, args []any, f func(k int, args []any) error) error {
	if n <= 0 {
		return nil
	}
	per := (len(args) - lead) / n
	for done := 0; done < n; {
		k := n - done
		if !tx.db.dialect.roundTrips() {
			k = chunkRows(k)
		}
		a := args[lead+done*per : lead+(done+k)*per]
		if lead > 0 {
			a = append(args[:lead:lead], a...)
		}
		if err := f(k, a); err != nil {
			return err
		}
		done += k
	}
	return nil
}

// chunkRows is the rows of the next statement for n rows left: the
// largest power of two not over n.
func chunkRows(n int) int { return 1 << (bits.Len(uint(n)) - 1) }

// padded is the length of an IN list of n values given the next power of
// two's (at least n), so that its statement has one of a few texts and
// stays prepared; the padding repeats the last value, which an IN list
// does not count twice.
func padded(vals []any) []any {
	n := len(vals)
	if n <= 1 || n&(n-1) == 0 {
		return vals
	}
	p := 1 << bits.Len(uint(n))
	out := make([]any, p)
	copy(out, vals)
	for i := n; i < p; i++ {
		out[i] = vals[n-1]
	}
	return out
}

// rowsAffected is the sql.Result of execRows.
type rowsAffected int64

func (r rowsAffected) RowsAffected() (int64, error) { return int64(r), nil }
func (rowsAffected) LastInsertId() (int64, error) {
	return 0, errors.New("no last insert id across statements")
}

// marks is n placeholders, "?, ?, ?", for an IN list or a row.
func marks(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }

// rowsQuery is prefix, then row n times separated by commas, then suffix.
func rowsQuery(prefix, row string, n int, suffix string) string {
	var b strings.Builder
	b.Grow(len(prefix) + n*(len(row)+2) + len(suffix))
	b.WriteString(prefix)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	b.WriteString(suffix)
	return b.String()
}

func (tx *Tx) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	q = tx.db.dialect.rebind(q)
	if st := tx.db.writeStmts.get(ctx, q); st != nil {
		return tx.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return tx.tx.QueryContext(ctx, q, args...)
}

func (tx *Tx) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	q = tx.db.dialect.rebind(q)
	if st := tx.db.writeStmts.get(ctx, q); st != nil {
		return tx.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return tx.tx.QueryRowContext(ctx, q, args...)
}

// update runs fn in a write transaction and commits it if fn returns nil.
func (db *DB) update(ctx context.Context, fn func(tx *Tx) error) error {
	return db.updateOn(ctx, db.writer.BeginTx, fn)
}

// updateOn is update with a transaction from begin: the writer pool's, or
// one connection's.
func (db *DB) updateOn(ctx context.Context, begin func(context.Context, *sql.TxOptions) (*sql.Tx, error), fn func(tx *Tx) error) (err error) {
	if db.writeSlot != nil {
		select {
		case db.writeSlot <- struct{}{}:
			defer func() { <-db.writeSlot }()
		case <-ctx.Done():
			return db.mapErr(ctx.Err())
		}
	}
	sqlTx, err := begin(ctx, nil)
	if err != nil {
		return db.mapErr(err)
	}
	tx := &Tx{tx: sqlTx, db: db, now: db.Now().UTC().Truncate(time.Microsecond)}
	defer func() {
		if err != nil {
			_ = sqlTx.Rollback()
			err = db.mapErr(err)
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	if err = sqlTx.Commit(); err != nil {
		return err
	}
	for _, f := range tx.committed {
		f()
	}
	return nil
}

func (db *DB) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	q = db.dialect.rebind(q)
	if st := db.readStmts.get(ctx, q); st != nil {
		rows, err := st.QueryContext(ctx, args...)
		return rows, db.mapErr(err)
	}
	rows, err := db.reader.QueryContext(ctx, q, args...)
	return rows, db.mapErr(err)
}

func (db *DB) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	q = db.dialect.rebind(q)
	if st := db.readStmts.get(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return db.reader.QueryRowContext(ctx, q, args...)
}

func (db *DB) now() time.Time { return db.Now().UTC().Truncate(time.Microsecond) }

// querier is what a service's finder reads through: the reader pool (the
// DB) for a read, or the write transaction of an update, so that a row is
// read one way whatever reads it.
type querier interface {
	query(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	queryRow(ctx context.Context, q string, args ...any) *sql.Row
	// forUpdate is the clause that locks the rows a transaction reads in
	// order to change them: empty on the reader pool, and on SQLite,
	// whose single writer needs none.
	forUpdate() string
}

func (db *DB) forUpdate() string { return "" }

func (tx *Tx) forUpdate() string { return tx.db.dialect.forUpdate() }

// mapErr turns driver errors into domain errors: constraint violations
// become conflicts, a database that does not answer (in time) becomes
// unavailable. A caller that went away keeps its context.Canceled. Any
// other error is internal and stays as the driver said it: the exported
// method it escapes from names itself and the package (wrap.go), once.
//
// A write whose COMMIT was sent but not answered is unavailable too: it
// may or may not have been applied, so it is reported and never retried
// here (database/sql retries only what it had not sent).
func (db *DB) mapErr(err error) error {
	if err == nil {
		return nil
	}
	var te *tasktrack.Error
	switch {
	case errors.As(err, &te):
		return err
	case errors.Is(err, context.Canceled):
		return err
	case errors.Is(err, sql.ErrNoRows):
		return tasktrack.ErrNotFound
	case db.dialect.isUniqueViolation(err):
		return &tasktrack.Error{Kind: tasktrack.KindConflict, Message: "This conflicts with an existing record.", Err: err}
	case db.dialect.isForeignKeyViolation(err):
		return &tasktrack.Error{Kind: tasktrack.KindConflict, Message: "This is still referenced by other records.", Err: err}
	case errors.Is(err, context.DeadlineExceeded), db.dialect.isUnavailable(err):
		return &tasktrack.Error{Kind: tasktrack.KindUnavailable, Message: tasktrack.ErrUnavailable.Message, Err: err}
	}
	return err
}

// Times are stored as Unix microseconds in both engines: one SQL text for
// both, and integers scan far cheaper than date text on SQLite.
func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func nullMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMicro()
}

func timePtr(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromMicros(n.Int64)
	return &t
}

func int64Ptr(n sql.NullInt64) *int64 {
	if !n.Valid {
		return nil
	}
	v := n.Int64
	return &v
}

func nullInt(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

// likePattern makes a case-insensitive LIKE pattern that matches s anywhere.
func likePattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + strings.ToLower(r.Replace(s)) + "%"
}

// where builds a WHERE clause from conditions joined by AND.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

func pageArgs(p tasktrack.Page) (limit, offset int) {
	limit, offset = p.Limit, p.Offset
	if limit <= 0 {
		limit = tasktrack.DefaultLimit
	}
	if limit > tasktrack.MaxLimit {
		limit = tasktrack.MaxLimit
	}
	if offset < 0 {
		offset = 0
	}
	return limit, offset
}
