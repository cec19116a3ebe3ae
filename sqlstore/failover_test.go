package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"testing"
	"time"

	"tasktrack"
	"tasktrack/sqlstore"
	. "tasktrack/sqlstore/sqlstoretest"
)

// What a failover does to the store's connections, played with a proxy
// in front of the real PostgreSQL and with settings of the real server:
// each failure answers the domain's unavailable kind (503, never 500),
// and the store recovers without being reopened.

func withQuery(t *testing.T, dsn string, kv ...string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == "" {
			q.Del(kv[i])
		} else {
			q.Set(kv[i], kv[i+1])
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// isPooled reports whether the test PostgreSQL is reached through a
// transaction pooler (see sqlstoretest.DSN).
func isPooled(dsn string) bool {
	u, err := url.Parse(dsn)
	if err != nil {
		return false
	}
	m := u.Query().Get("default_query_exec_mode")
	return m != "" && m != "cache_statement"
}

func wantUnavailable(t *testing.T, what string, err error) {
	t.Helper()
	if tasktrack.ErrorKind(err) != tasktrack.KindUnavailable {
		t.Errorf("%s: got %v (kind %d), want unavailable", what, err, tasktrack.ErrorKind(err))
	}
}

// A load balancer that accepts connections but finds no server (HAProxy
// during a failover) leaves them unanswered until the connect timeout:
// that is unavailable, not an internal error.
func TestPostgresConnectTimeoutIsUnavailable(t *testing.T) {
	dsn := DSN(t, Postgres)
	proxy := NewProxy(t, dsn)
	db := OpenDSN(t, withQuery(t, proxy.URL(t, dsn), "connect_timeout", "1"))
	boss := MustCreateUser(t, db, "boss", "manager")
	ann := MustCreateUser(t, db, "ann", "user")
	task := MustCreateTask(t, db, ann, "before", time.Hour)

	proxy.SetMode(ProxyHold)
	proxy.CutAll()
	calls := []struct {
		name string
		call func() error
	}{
		{"ping", func() error { return db.Ping(System) }},
		{"list", func() error { _, _, err := db.Tasks.FindTasks(As(ann), tasktrack.TaskFilter{}); return err }},
		{"create", func() error {
			_, err := db.Tasks.CreateTask(As(boss), tasktrack.TaskCreate{Title: "during", Deadline: db.Now().Add(time.Hour), AssignedTo: ann.ID})
			return err
		}},
		{"status", func() error {
			_, err := db.Tasks.UpdateTaskStatus(As(ann), task.ID, tasktrack.StatusCompleted)
			return err
		}},
		{"sweep", func() error { _, err := db.Sweeper.Sweep(System); return err }},
	}
	// Twice each: the first calls may meet the pool's cut connections, the
	// later ones must connect anew.
	for round := 0; round < 2; round++ {
		for _, c := range calls {
			start := time.Now()
			wantUnavailable(t, c.name, c.call())
			t.Logf("%s: %s", c.name, time.Since(start).Round(time.Millisecond))
		}
	}

	proxy.SetMode(ProxyPass)
	if _, err := db.Tasks.UpdateTaskStatus(As(ann), task.ID, tasktrack.StatusCompleted); err != nil {
		t.Fatalf("after the outage: %v", err)
	}
}

// freshDatabase makes a database of its own for a test that changes
// database-wide settings, dropped when the test ends: its URL, its name,
// and a connection to the server as the test's user.
func freshDatabase(t *testing.T) (dsn, name string, admin *sql.DB) {
	t.Helper()
	base := PostgresURL(t)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	name = fmt.Sprintf("tt_failover_%d", time.Now().UnixNano())
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = admin.Exec("DROP DATABASE " + name + " WITH (FORCE)")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String(), name, admin
}

// After a failover, a connection can lead to a server that takes no
// writes (the old primary, now a standby, before the proxy notices). A
// write there is unavailable, readiness fails, and once the connections
// lead to a primary again the pool drops those it holds to the read-only
// server instead of failing on them.
func TestPostgresReadOnlyServer(t *testing.T) {
	dsn, name, admin := freshDatabase(t)
	db := OpenDSN(t, dsn)
	boss := MustCreateUser(t, db, "boss", "manager")
	ann := MustCreateUser(t, db, "ann", "user")
	task := MustCreateTask(t, db, ann, "before", time.Hour)
	ctx := context.Background()
	terminate := func() {
		if _, err := admin.ExecContext(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", name); err != nil {
			t.Fatal(err)
		}
	}
	// New sessions are read-only from now on, as on a standby.
	if _, err := admin.ExecContext(ctx, "ALTER DATABASE "+name+" SET default_transaction_read_only = on"); err != nil {
		t.Fatal(err)
	}
	terminate()
	// The first call may meet a terminated connection; then the pool
	// connects anew, to the read-only server.
	for range 2 {
		_, err := db.Tasks.CreateTask(As(boss), tasktrack.TaskCreate{Title: "during", Deadline: db.Now().Add(time.Hour), AssignedTo: ann.ID})
		wantUnavailable(t, "create on a read-only server", err)
		_, err = db.Tasks.UpdateTaskStatus(As(ann), task.ID, tasktrack.StatusCompleted)
		wantUnavailable(t, "status on a read-only server", err)
		wantUnavailable(t, "ping of a read-only server", db.Ping(ctx))
	}

	// The primary is back: new sessions take writes. The pool still holds
	// sessions on the read-only server; through a transaction pooler it is
	// the pooler that holds them, so they are ended here as a proxy that
	// notices the change ends them.
	if _, err := admin.ExecContext(ctx, "ALTER DATABASE "+name+" RESET default_transaction_read_only"); err != nil {
		t.Fatal(err)
	}
	if isPooled(dsn) {
		terminate()
		// The pooler's clients notice at their next use.
		_ = db.Ping(ctx)
	}
	if err := db.Ping(ctx); err != nil {
		t.Errorf("ping after the primary is back: %v", err)
	}
	if _, err := db.Tasks.UpdateTaskStatus(As(ann), task.ID, tasktrack.StatusCompleted); err != nil {
		t.Errorf("status after the primary is back: %v", err)
	}
	if _, err := db.Tasks.CreateTask(As(boss), tasktrack.TaskCreate{Title: "after", Deadline: db.Now().Add(time.Hour), AssignedTo: ann.ID}); err != nil {
		t.Errorf("create after the primary is back: %v", err)
	}
}

// A connection lost while its COMMIT is on the way leaves the outcome
// unknown: the caller is told unavailable, and the store does not try the
// write again, which could apply it twice. Here the server did commit:
// each change is there exactly once. (A status change is one statement
// that commits by itself: the cut is at that statement.)
func TestPostgresCommitOutcomeUnknown(t *testing.T) {
	dsn := DSN(t, Postgres)
	proxy := NewProxy(t, dsn)
	db := OpenDSN(t, proxy.URL(t, dsn))
	boss := MustCreateUser(t, db, "boss", "manager")
	ann := MustCreateUser(t, db, "ann", "user")
	ctx := context.Background()

	answered := proxy.CutAtCommit()
	_, err := db.Tasks.CreateTask(As(boss), tasktrack.TaskCreate{Title: "in doubt", Deadline: db.Now().Add(time.Hour), AssignedTo: ann.ID})
	wantUnavailable(t, "create whose commit is cut", err)
	<-answered
	tasks, n, err := db.Tasks.FindTasks(As(boss), tasktrack.TaskFilter{Search: "in doubt"})
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 || len(tasks) != 1 {
		t.Fatalf("tasks titled %q after the cut: %d, want exactly 1", "in doubt", n)
	}
	task := tasks[0]
	if _, n, err := db.Audit.FindAuditEntries(ctx, tasktrack.AuditFilter{Action: "task.create", TargetID: task.ID}); err != nil || n != 1 {
		t.Errorf("task.create entries: %d (%v), want 1", n, err)
	}

	answered = proxy.CutAtCommit()
	_, err = db.Tasks.UpdateTaskStatus(As(ann), task.ID, tasktrack.StatusInProgress)
	wantUnavailable(t, "status change whose commit is cut", err)
	<-answered
	got, err := db.Tasks.FindTaskByID(As(boss), task.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != tasktrack.StatusInProgress {
		t.Errorf("status after the cut: %s, want in_progress", got.Status)
	}
	if _, n, err := db.Audit.FindAuditEntries(ctx, tasktrack.AuditFilter{Action: "task.status", TargetID: task.ID}); err != nil || n != 1 {
		t.Errorf("task.status entries: %d (%v), want 1", n, err)
	}
}

// The LISTEN connection comes back after it is lost, on the listen URL,
// and catches up at once on what it may have missed.
func TestPostgresListenReconnects(t *testing.T) {
	dsn := DSN(t, Postgres)
	if isPooled(dsn) {
		t.Skip("LISTEN needs a direct session; the test PostgreSQL is a transaction pooler")
	}
	proxy := NewProxy(t, dsn)
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, dsn, sqlstore.Options{ListenURL: proxy.URL(t, dsn)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	lctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		db.Listen(lctx)
		close(done)
	}()
	defer func() {
		stop()
		<-done
	}()
	wait := func(what string) {
		t.Helper()
		select {
		case <-db.AlertsChanged():
		case <-time.After(30 * time.Second):
			t.Fatalf("no signal: %s", what)
		}
	}
	wait("listening")
	proxy.CutAll()
	wait("listening again after the cut")
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, "SELECT pg_notify('tasktrack_alerts', '')"); err != nil {
		t.Fatal(err)
	}
	wait("a notification after the cut")
}

// Notifications need a session: through a transaction pooler (a URL that
// asks for a pooler's query mode) the store does not LISTEN there, unless
// given a listen URL.
func TestListens(t *testing.T) {
	ctx := context.Background()
	sqlite, err := sqlstore.Open(ctx, DSN(t, SQLite), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sqlite.Close()
	if sqlite.Listens() {
		t.Error("SQLite listens")
	}
	dsn := DSN(t, Postgres)
	for _, c := range []struct {
		name   string
		dsn    string
		listen string
		want   bool
	}{
		{"direct", withQuery(t, dsn, "default_query_exec_mode", ""), "", true},
		{"cache_statement", withQuery(t, dsn, "default_query_exec_mode", "cache_statement"), "", true},
		{"pooler", withQuery(t, dsn, "default_query_exec_mode", "cache_describe"), "", false},
		{"simple protocol", withQuery(t, dsn, "default_query_exec_mode", "simple_protocol"), "", false},
		{"pooler with a listen URL", withQuery(t, dsn, "default_query_exec_mode", "exec"), dsn, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			db, err := sqlstore.Open(ctx, c.dsn, sqlstore.Options{ListenURL: c.listen})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if got := db.Listens(); got != c.want {
				t.Errorf("Listens() = %v, want %v", got, c.want)
			}
		})
	}
}
