package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dialect is the seam between the engines, and the one place they differ:
// placeholders, locks, constraint error codes, notifications (sent and
// listened for), the migration transaction and the identity catch-up
// after an import. Everything else is one SQL text.
type dialect interface {
	name() string
	// rebind turns the ? placeholders the store writes into the engine's.
	rebind(q string) string
	// lock serializes transactions that take the same key: an advisory
	// transaction lock on PostgreSQL; on SQLite the single writer already
	// serializes every write, so it does nothing.
	lock(ctx context.Context, tx *Tx, key int64) error
	// forUpdate is appended to a SELECT whose rows the transaction will
	// change.
	forUpdate() string
	// notify wakes the alert streams of every process after commit.
	notify(ctx context.Context, tx *Tx, channel string) error
	isUniqueViolation(err error) bool
	isForeignKeyViolation(err error) bool
	isUnavailable(err error) bool
	// writableQuery answers one boolean: whether the database takes
	// writes.
	writableQuery() string
	// keepsTaskCounts reports whether the schema keeps per-status task
	// counters (migrations/sqlite/0002_task_counts.sql).
	keepsTaskCounts() bool
	// each runs a read on the reader pool and hands each row to fn: on
	// SQLite through database/sql; on PostgreSQL through pgx itself, on
	// one of the pool's connections, so that a row's values are decoded
	// straight into fn's variables rather than boxed as driver.Values
	// and converted again (a page of 20 tasks is 240 values).
	each(ctx context.Context, db *DB, q string, args []any, fn func(scanner) error) error
	// roundTrips reports whether each statement is a round trip to a
	// server (PostgreSQL), so that folding two reads into one statement
	// saves one; SQLite's statements are calls within the process.
	roundTrips() bool
	// groupsWrites reports whether concurrent status changes share write
	// transactions (SQLite: its one writer takes them in turn anyway, and
	// each would pay a commit of its own). On PostgreSQL they run side by
	// side on their own connections, which grouping would serialize.
	groupsWrites() bool
	// chainsWrites reports whether writes that follow from one another
	// can be one statement of data-modifying WITH clauses, which commits
	// by itself and may notify (PostgreSQL): a round trip for all of them,
	// and none for BEGIN and COMMIT. SQLite has no such statements.
	chainsWrites() bool
	// shortRead is the context of a read that ends in microseconds (a
	// primary-key lookup, a person's own page of tasks): on SQLite without
	// its cancellation, which the driver watches with a goroutine and a
	// progress handler per statement, more than such a read costs; on
	// PostgreSQL unchanged, since a read there can wait on the network.
	shortRead(ctx context.Context) context.Context
	// lazyCommit lets tx commit without waiting for its writes to reach
	// the disk: for the outbox's bookkeeping alone (a webhook attempt that
	// went through, deliveries made, released or put off), whose loss in
	// a crash of the database means only that a message goes again, as it
	// would after a crash between a send and its record. PostgreSQL: SET
	// LOCAL synchronous_commit TO OFF, which spares such a commit its wait
	// for the WAL's flush (the change is still atomic and, within a
	// moment, durable). SQLite: nothing; its WAL commits do not sync at
	// synchronous=NORMAL anyway.
	lazyCommit(ctx context.Context, tx *Tx) error
	// followIDs makes the ids the engine gives new users follow those a
	// transaction inserted explicitly (an import), never setting them back.
	followIDs(ctx context.Context, tx *Tx) error
	// migration runs fn in a write transaction fit for rebuilding tables.
	migration(ctx context.Context, db *DB, fn func(tx *Tx) error) error
	// listens reports whether listen can relay other processes'
	// notifications; when it cannot, streams poll.
	listens() bool
	// listen listens on channels over one connection until it fails,
	// calling ready once it listens and got for each notification;
	// listened reports whether it got as far as listening.
	listen(ctx context.Context, channels []string, ready func(), got func(channel string)) (listened bool, err error)
}

// Lock keys for the advisory locks on PostgreSQL.
const (
	lockMigrate int64 = 0x7461736b_0001
	lockSweep   int64 = 0x7461736b_0002
	lockUsers   int64 = 0x7461736b_0003
)

// The notification channel for new alerts.
const alertsChannel = "tasktrack_alerts"

// ---- SQLite ----

type sqliteDialect struct{}

func (sqliteDialect) keepsTaskCounts() bool { return true }
func (sqliteDialect) roundTrips() bool      { return false }
func (sqliteDialect) groupsWrites() bool    { return true }
func (sqliteDialect) chainsWrites() bool    { return false }
func (sqliteDialect) each(ctx context.Context, db *DB, q string, args []any, fn func(scanner) error) error {
	rows, err := db.query(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	return eachRow(rows, fn)
}

// eachRow hands each row of rows (database/sql's or pgx's) to fn.
func eachRow[R interface {
	scanner
	Next() bool
	Err() error
}](rows R, fn func(scanner) error) error {
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (sqliteDialect) shortRead(ctx context.Context) context.Context {
	return context.WithoutCancel(ctx)
}
func (sqliteDialect) name() string                              { return "sqlite" }
func (sqliteDialect) rebind(q string) string                    { return q }
func (sqliteDialect) lock(context.Context, *Tx, int64) error    { return nil }
func (sqliteDialect) forUpdate() string                         { return "" }
func (sqliteDialect) notify(context.Context, *Tx, string) error { return nil }
func (sqliteDialect) lazyCommit(context.Context, *Tx) error     { return nil }
func (sqliteDialect) writableQuery() string                     { return "SELECT 1" }
func (sqliteDialect) listens() bool                             { return false }

// followIDs does nothing: SQLite's AUTOINCREMENT counter follows explicit
// ids by itself.
func (sqliteDialect) followIDs(context.Context, *Tx) error { return nil }

func (sqliteDialect) listen(context.Context, []string, func(), func(string)) (bool, error) {
	return false, errors.New("sqlite has no notifications")
}
func (sqliteDialect) isUniqueViolation(err error) bool {
	return sqliteCode(err, sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
}
func (sqliteDialect) isForeignKeyViolation(err error) bool {
	return sqliteCode(err, sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY)
}
func (sqliteDialect) isUnavailable(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY:
		return true
	}
	return false
}

// migration runs fn in a write transaction. It runs with foreign
// key enforcement off, as SQLite's procedure for rebuilding a table
// requires (dropping the old table would otherwise cascade to the rows
// that refer to it), and PRAGMA foreign_key_check must find nothing before
// it commits. The pragma holds for a connection and cannot change inside a
// transaction, hence one connection held throughout.
func (sqliteDialect) migration(ctx context.Context, db *DB, fn func(tx *Tx) error) error {
	conn, err := db.writer.Conn(ctx)
	if err != nil {
		return db.mapErr(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "PRAGMA foreign_keys = OFF"); err != nil {
		return db.mapErr(err)
	}
	err = db.updateOn(ctx, conn.BeginTx, func(tx *Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return tx.checkForeignKeys(ctx)
	})
	// The connection goes back to the pool: with enforcement on again, or
	// not at all.
	if _, onErr := conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA foreign_keys = ON"); onErr != nil {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		if err == nil {
			err = db.mapErr(onErr)
		}
	}
	return err
}

func sqliteCode(err error, codes ...int) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	for _, c := range codes {
		if e.Code() == c {
			return true
		}
	}
	return false
}

// sqliteDSN builds the DSN of a SQLite file: the pragmas are in the DSN so
// that every pooled connection has them. cacheKiB is the page cache of
// each of its connections.
func sqliteDSN(path string, writer bool, synchronous string, cacheKiB int) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous("+synchronous+")")
	q.Add("_pragma", "cache_size(-"+strconv.Itoa(cacheKiB)+")")
	if writer {
		q.Add("_txlock", "immediate")
	} else {
		q.Add("_pragma", "query_only(1)")
	}
	return "file:" + path + "?" + q.Encode()
}

// The SQLite connections' page caches, in KiB (cache_size(-N)).
//
// A cached page costs about twice its size: modernc's allocator gives each
// page with its header (4 KiB and some 300 bytes) an 8 KiB slot, seven to a
// 64 KiB region, so a page holds about 9.4 KB resident, outside the Go
// heap, where neither GOGC nor serve's memory limit sees it. A connection
// keeps what it has read or written until its cache is full, and a serving
// process's writer touches every page its writes add: with the 32 MiB it
// used to have (about 7,600 pages) it held some 70 MB after the load
// run's creations, the most of the process's 110 MB peak.
const (
	// writerCacheKiB is the writer's cache in a serving process. Its
	// writes keep coming back to a few hundred pages (the last leaves of
	// each table's and index's b-tree and their parents, the outbox's
	// head); any other page it reads again from the system's cache, WAL
	// or file, as readers do (a 2 MiB writer missed about 300 times over
	// 8,000 creations, each with its email and webhook). Measured on the
	// load run's rows (bench/README.md, A B alternating): creations and
	// status changes as fast as with 32 MiB, the peak resident memory
	// 110 -> under 80 MB (a burst of sign-ins' now), the list load's 3 MB less
	// than with 4 MiB; a sweep of 10,000 of 100,000 tasks no slower than
	// with 32 MiB (BenchmarkSweep, serve and bulk).
	writerCacheKiB = 1024
	// bulkWriterCacheKiB is the writer's cache in a process that changes
	// many pages in one transaction and exits (Options.BulkWrites): the
	// sweep command, migrate, an import, demo data. Those pages stay
	// dirty, pinned in the cache, until the commit; a cache too small for
	// them spills them to the WAL mid-way. Their memory ends with the
	// process.
	bulkWriterCacheKiB = 32768
	// readerCacheKiB is each reader connection's cache. A reader starts
	// afresh after every commit of another connection, so it holds what
	// reads since the last write have touched; a list of one's own tasks
	// keeps it under 200 KiB.
	readerCacheKiB = 8192
)

func (db *DB) openSQLite(ctx context.Context, path string, opt Options) error {
	path = strings.TrimPrefix(path, "sqlite://")
	path = strings.TrimPrefix(path, "file:")
	if path == "" {
		return errors.New("empty SQLite path")
	}
	sync := strings.ToLower(opt.Synchronous)
	if sync == "" {
		sync = "normal"
	}
	if sync != "normal" && sync != "full" {
		return fmt.Errorf("SQLite synchronous must be normal or full, not %q", opt.Synchronous)
	}
	cache := writerCacheKiB
	if opt.BulkWrites {
		cache = bulkWriterCacheKiB
	}
	w, err := sql.Open("sqlite", sqliteDSN(path, true, sync, cache))
	if err != nil {
		return err
	}
	// One writer at a time (writeSlot): SQLite allows one anyway, and a
	// transaction that begins IMMEDIATE never fails to upgrade its lock.
	// The pool has a second connection so that a statement can be prepared
	// for the cache while a transaction holds the first.
	w.SetMaxOpenConns(2)
	w.SetMaxIdleConns(2)
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return err
	}
	// Make sure the file is a database we can write (and create it).
	if _, err := w.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)"); err != nil {
		w.Close()
		return err
	}
	r, err := sql.Open("sqlite", sqliteDSN(path, false, sync, readerCacheKiB))
	if err != nil {
		w.Close()
		return err
	}
	n := opt.MaxConns
	if n <= 0 {
		n = max(4, 2*runtime.GOMAXPROCS(0))
	}
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	r.SetConnMaxIdleTime(0)
	db.dialect, db.writer, db.reader = sqliteDialect{}, w, r
	db.readStmts, db.writeStmts = newStmtCache(r), newStmtCache(w)
	db.writeSlot = make(chan struct{}, 1)
	return nil
}

// ---- PostgreSQL ----

type postgresDialect struct {
	rebound *sync.Map // query text -> rebound text
	// listenConfig opens the LISTEN connection; nil when notifications
	// cannot be had (a transaction pooler without a listen URL), so that
	// alert streams poll.
	listenConfig *pgx.ConnConfig
}

func (postgresDialect) name() string { return "postgres" }

func (postgresDialect) keepsTaskCounts() bool { return false }
func (postgresDialect) roundTrips() bool      { return true }
func (postgresDialect) groupsWrites() bool    { return false }
func (postgresDialect) chainsWrites() bool    { return true }
func (d postgresDialect) each(ctx context.Context, db *DB, q string, args []any, fn func(scanner) error) error {
	c, err := db.reader.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	// A connection that failed is closed by pgx, and database/sql drops
	// it when it comes back (stdlib.Conn validates itself).
	return c.Raw(func(dc any) error {
		rows, err := dc.(*stdlib.Conn).Conn().Query(ctx, d.rebind(q), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		return eachRow(rows, fn)
	})
}

func (postgresDialect) shortRead(ctx context.Context) context.Context {
	return ctx
}

func (d postgresDialect) rebind(q string) string {
	if v, ok := d.rebound.Load(q); ok {
		return v.(string)
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	s := b.String()
	d.rebound.Store(q, s)
	return s
}

func (postgresDialect) lock(ctx context.Context, tx *Tx, key int64) error {
	_, err := tx.tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", key)
	return err
}

func (postgresDialect) forUpdate() string { return " FOR UPDATE" }

func (postgresDialect) writableQuery() string {
	return "SELECT NOT pg_is_in_recovery() AND current_setting('transaction_read_only') = 'off'"
}

func (postgresDialect) lazyCommit(ctx context.Context, tx *Tx) error {
	_, err := tx.tx.ExecContext(ctx, "SET LOCAL synchronous_commit TO OFF")
	return err
}

func (postgresDialect) notify(ctx context.Context, tx *Tx, channel string) error {
	_, err := tx.tx.ExecContext(ctx, "SELECT pg_notify($1, '')", channel)
	return err
}

func pgCode(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func (postgresDialect) isUniqueViolation(err error) bool     { return pgCode(err) == "23505" }
func (postgresDialect) isForeignKeyViolation(err error) bool { return pgCode(err) == "23503" }

func (postgresDialect) isUnavailable(err error) bool {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	code := pgCode(err)
	if code == "" {
		// Not an answer from the server: the connection failed.
		return !errors.Is(err, sql.ErrNoRows) && !errors.Is(err, sql.ErrTxDone)
	}
	switch {
	case strings.HasPrefix(code, "08"), // connection exception; PgBouncer's own errors (08P01)
		strings.HasPrefix(code, "53"),  // insufficient resources
		strings.HasPrefix(code, "57P"), // operator intervention (shutdown, terminate)
		code == "55000" && strings.Contains(err.Error(), "not currently accepting connections"),
		// A standby, or a primary being demoted, during a failover.
		code == "25006",
		// A prepared statement that the server session does not have, or
		// already has: a transaction pooler gave this connection another
		// session (the URL lacks default_query_exec_mode).
		code == "26000", code == "42P05",
		code == "40001", code == "40P01":
		return true
	}
	return false
}

// readOnlyServer reports whether conn's server is a standby or read-only:
// after a failover, a connection made through a proxy just before the
// proxy noticed may lead to the old primary, now a standby. PostgreSQL 14
// and later report both settings to the client whenever they change.
func readOnlyServer(conn *pgx.Conn) bool {
	pc := conn.PgConn()
	return pc.ParameterStatus("in_hot_standby") == "on" || pc.ParameterStatus("default_transaction_read_only") == "on"
}

// Connections to PostgreSQL give up after this long, unless the URL's
// connect_timeout asks for less: a request must not wait long for a
// database that does not answer. It applies to each host of a multi-host
// URL.
const maxConnectTimeout = 3 * time.Second

// pooled reports whether the URL asks for a query mode without named
// prepared statements: such a URL goes through a transaction pooler
// (PgBouncer), where a session, and with it LISTEN, does not outlive a
// transaction.
func pooled(cfg *pgx.ConnConfig) bool {
	return cfg.DefaultQueryExecMode != pgx.QueryExecModeCacheStatement
}

func parsePostgresURL(dsn string) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	if cfg.ConnectTimeout == 0 || cfg.ConnectTimeout > maxConnectTimeout {
		cfg.ConnectTimeout = maxConnectTimeout
	}
	return cfg, nil
}

func (db *DB) openPostgres(ctx context.Context, dsn string, opt Options) error {
	cfg, err := parsePostgresURL(dsn)
	if err != nil {
		return err
	}
	listen := cfg
	switch {
	case opt.ListenURL != "":
		if listen, err = parsePostgresURL(opt.ListenURL); err != nil {
			return fmt.Errorf("listen URL: %w", err)
		}
	case pooled(cfg):
		listen = nil
	}
	p := stdlib.OpenDB(*cfg, stdlib.OptionResetSession(func(_ context.Context, conn *pgx.Conn) error {
		if readOnlyServer(conn) {
			return driver.ErrBadConn // dropped: the next connection finds the primary
		}
		return nil
	}))
	n := opt.MaxConns
	if n <= 0 {
		n = 20
	}
	p.SetMaxOpenConns(n)
	p.SetMaxIdleConns(n)
	p.SetConnMaxIdleTime(5 * time.Minute)
	if err := p.PingContext(ctx); err != nil {
		p.Close()
		return err
	}
	db.dialect, db.writer, db.reader = postgresDialect{rebound: &sync.Map{}, listenConfig: listen}, p, p
	return nil
}

// followIDs moves the users' identity past the imported ids: explicit ids
// do not advance it. A sequence is not transactional, hence the caller
// skips this in a dry run.
func (postgresDialect) followIDs(ctx context.Context, tx *Tx) error {
	_, err := tx.exec(ctx, `SELECT setval(pg_get_serial_sequence('users', 'id'), m)
		FROM (SELECT max(id) AS m FROM users) AS x
		WHERE m > COALESCE(pg_sequence_last_value(pg_get_serial_sequence('users', 'id')::regclass), 0)`)
	return err
}

func (postgresDialect) migration(ctx context.Context, db *DB, fn func(tx *Tx) error) error {
	return db.update(ctx, fn)
}

func (d postgresDialect) listens() bool { return d.listenConfig != nil }

func (d postgresDialect) listen(ctx context.Context, channels []string, ready func(), got func(channel string)) (listened bool, err error) {
	conn, err := pgx.ConnectConfig(ctx, d.listenConfig.Copy())
	if err != nil {
		return false, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for _, ch := range channels {
		if _, err := conn.Exec(ctx, "LISTEN "+ch); err != nil {
			return false, err
		}
	}
	ready()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true, err
		}
		got(n.Channel)
	}
}
