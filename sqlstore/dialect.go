package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dialect is the seam between the engines: placeholders, locks, constraint
// error codes and notifications. Everything else is one SQL text.
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

func (sqliteDialect) keepsTaskCounts() bool                     { return true }
func (sqliteDialect) name() string                              { return "sqlite" }
func (sqliteDialect) rebind(q string) string                    { return q }
func (sqliteDialect) lock(context.Context, *Tx, int64) error    { return nil }
func (sqliteDialect) forUpdate() string                         { return "" }
func (sqliteDialect) notify(context.Context, *Tx, string) error { return nil }
func (sqliteDialect) writableQuery() string                     { return "SELECT 1" }
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

func init() {
	// tt_uuid7(ms) makes a version 7 UUID for the given Unix milliseconds,
	// so that set-based INSERT ... SELECT statements can make ids.
	sqlite.MustRegisterScalarFunction("tt_uuid7", 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		ms, ok := args[0].(int64)
		if !ok {
			return nil, fmt.Errorf("tt_uuid7: want an integer, got %T", args[0])
		}
		return uuidV7At(ms).String(), nil
	})
	// lower() folds every script, as PostgreSQL's does, not ASCII alone,
	// so that searches ignore case in any language.
	sqlite.MustRegisterDeterministicScalarFunction("lower", 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		if s, ok := args[0].(string); ok {
			return strings.ToLower(s), nil
		}
		return args[0], nil
	})
}

// uuidV7At returns a fresh version 7 UUID whose time part is ms. Within
// one millisecond the ids this process makes increase (a counter from a
// random start fills the 74 bits after the time), so a sweep's alerts go
// into the id index in order; other processes start elsewhere at random.
func uuidV7At(ms int64) uuid.UUID {
	uuidMu.Lock()
	if ms != uuidLastMS {
		uuidLastMS = ms
		uuidCounter = rand.Uint64() >> 2 // room to count up
	} else {
		uuidCounter++
	}
	c := uuidCounter
	uuidMu.Unlock()
	var u uuid.UUID
	for i := 0; i < 6; i++ {
		u[5-i] = byte(ms >> (8 * i))
	}
	// The version and this process's 12 random bits, then the variant
	// and 62 bits of the counter.
	u[6] = 0x70 | byte(uuidRandA>>8&0x0f)
	u[7] = byte(uuidRandA)
	binary.BigEndian.PutUint64(u[8:], c)
	u[8] = 0x80 | u[8]&0x3f
	return u
}

var (
	uuidMu      sync.Mutex
	uuidLastMS  int64
	uuidCounter uint64
	// uuidRandA is this process's random 12 bits, so that two processes
	// counting in the same millisecond differ early in the id.
	uuidRandA = uint16(rand.Uint32())
)

// sqliteDSN builds the DSN of a SQLite file: the pragmas are in the DSN so
// that every pooled connection has them.
func sqliteDSN(path string, writer bool, synchronous string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous("+synchronous+")")
	if writer {
		// The writer caches more: a sweep changes many pages in one
		// transaction, and spilling them mid-way is slow.
		q.Add("_pragma", "cache_size(-32768)")
		q.Add("_txlock", "immediate")
	} else {
		q.Add("_pragma", "cache_size(-8192)")
		q.Add("_pragma", "query_only(1)")
	}
	return "file:" + path + "?" + q.Encode()
}

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
	w, err := sql.Open("sqlite", sqliteDSN(path, true, sync))
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
	r, err := sql.Open("sqlite", sqliteDSN(path, false, sync))
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
}

func (postgresDialect) name() string { return "postgres" }

func (postgresDialect) keepsTaskCounts() bool { return false }

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
	db.dialect, db.writer, db.reader = postgresDialect{rebound: &sync.Map{}}, p, p
	db.listenConfig = listen
	return nil
}
