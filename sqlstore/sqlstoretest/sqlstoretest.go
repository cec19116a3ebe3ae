// Package sqlstoretest opens real databases for tests: a fresh SQLite file,
// and a fresh schema of the PostgreSQL named by TASKTRACK_TEST_POSTGRES.
// Every store, service and HTTP test runs on both engines through Engines.
package sqlstoretest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to make schemas

	"tasktrack"
	"tasktrack/auth"
	"tasktrack/sqlstore"
)

// Engine names a database engine to test on.
type Engine string

// The engines.
const (
	SQLite   Engine = "sqlite"
	Postgres Engine = "postgres"
)

// PostgresURL returns the test PostgreSQL URL; without one the test is
// skipped, except under CI=true, where it fails.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv("TASKTRACK_TEST_POSTGRES")
	if u == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatal("TASKTRACK_TEST_POSTGRES is not set: PostgreSQL tests must run in CI")
		}
		tb.Skip("TASKTRACK_TEST_POSTGRES is not set; skipping PostgreSQL")
	}
	return u
}

// Engines runs f once per engine, as subtests named after the engine.
func Engines(t *testing.T, f func(t *testing.T, e Engine)) {
	t.Helper()
	for _, e := range []Engine{SQLite, Postgres} {
		t.Run(string(e), func(t *testing.T) { f(t, e) })
	}
}

// DSN returns the address of a fresh, empty database of engine e, removed
// when the test ends: a SQLite file in the test's temporary directory, or
// a new schema in the test PostgreSQL database.
func DSN(tb testing.TB, e Engine) string {
	tb.Helper()
	if e == SQLite {
		return filepath.Join(tb.TempDir(), "tasktrack.db")
	}
	base := PostgresURL(tb)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatal(err)
	}
	q := u.Query()
	// Through a transaction pooler (the URL asks for a query mode without
	// named statements) a session setting does not last, and PgBouncer
	// refuses search_path in the startup message: there the schema is
	// chosen by a role of its own, whose default search_path it is.
	pooled := q.Get("default_query_exec_mode") != "" && q.Get("default_query_exec_mode") != "cache_statement"
	admin, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatal(err)
	}
	defer admin.Close()
	ctx := context.Background()
	setup := []string{"CREATE SCHEMA " + schema}
	cleanup := []string{"DROP SCHEMA " + schema + " CASCADE"}
	if pooled {
		setup = []string{
			"CREATE ROLE " + schema + " LOGIN",
			"CREATE SCHEMA " + schema + " AUTHORIZATION " + schema,
			"ALTER ROLE " + schema + " SET search_path = " + schema,
		}
		cleanup = append(cleanup, "DROP ROLE "+schema)
	}
	for _, stmt := range setup {
		if _, err := admin.ExecContext(ctx, stmt); err != nil {
			tb.Fatalf("%s: %v", stmt, err)
		}
	}
	tb.Cleanup(func() {
		a, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer a.Close()
		for _, stmt := range cleanup {
			_, _ = a.ExecContext(context.Background(), stmt)
		}
	})
	if pooled {
		u.User = url.User(schema)
		return u.String()
	}
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Raw opens the database at dsn without the store, closed when the test
// ends: to set up what the store itself would refuse to write, such as a
// schema of an earlier version. Placeholders are $1, $2, ... on both
// engines.
func Raw(tb testing.TB, dsn string) *sql.DB {
	tb.Helper()
	driver := "sqlite"
	if sqlstore.IsPostgres(dsn) {
		driver = "pgx"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// Clock is a clock that tests move by hand.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock set to t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Set sets the clock.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// FastHasher hashes with the cheapest argon2id parameters, so that tests
// that create many users stay quick; the algorithm and code are the real
// ones.
func FastHasher() *auth.Hasher {
	return auth.NewHasher(auth.Argon2Params{Memory: 64, Time: 1, Threads: 1}, 0)
}

// Open opens and migrates a fresh database of engine e, closed when the
// test ends.
func Open(tb testing.TB, e Engine) *sqlstore.DB {
	tb.Helper()
	return OpenDSN(tb, DSN(tb, e))
}

// OpenDSN opens and migrates the database at dsn, closed when the test ends.
func OpenDSN(tb testing.TB, dsn string) *sqlstore.DB {
	tb.Helper()
	return OpenDSNOptions(tb, dsn, sqlstore.Options{})
}

// OpenDSNOptions is OpenDSN with options.
func OpenDSNOptions(tb testing.TB, dsn string, opt sqlstore.Options) *sqlstore.DB {
	tb.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, dsn, opt)
	if err != nil {
		tb.Fatalf("open %s: %v", dsn, err)
	}
	tb.Cleanup(func() { db.Close() })
	db.Hasher = FastHasher()
	if err := db.Migrate(ctx); err != nil {
		tb.Fatalf("migrate: %v", err)
	}
	return db
}

// System is a context with no actor: the system, allowed everything.
var System = context.Background()

// As returns a context acting as u.
func As(u *tasktrack.User) context.Context {
	return tasktrack.NewContextWithActor(context.Background(), u)
}

// MustCreateUser creates an active user with the given role and returns it.
func MustCreateUser(tb testing.TB, db *sqlstore.DB, username, role string) *tasktrack.User {
	tb.Helper()
	u, err := db.Users.CreateUser(System, tasktrack.UserCreate{Username: username, Password: "pass-" + username + "-word", Role: role})
	if err != nil {
		tb.Fatalf("create user %s: %v", username, err)
	}
	return u
}

// MustCreateTask creates a task assigned to assignee, due in `in`.
func MustCreateTask(tb testing.TB, db *sqlstore.DB, assignee *tasktrack.User, title string, in time.Duration) *tasktrack.Task {
	tb.Helper()
	t, err := db.Tasks.CreateTask(System, tasktrack.TaskCreate{Title: title, Deadline: db.Now().Add(in), AssignedTo: assignee.ID})
	if err != nil {
		tb.Fatalf("create task %s: %v", title, err)
	}
	return t
}
