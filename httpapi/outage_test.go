package httpapi_test

import (
	"context"
	"database/sql"
	"net/url"
	"testing"
	"time"

	"tasktrack"
	. "tasktrack/sqlstore/sqlstoretest"
)

// While PostgreSQL refuses connections, API calls answer 503 quickly,
// /readyz answers 503 and /healthz 200; when it accepts them again the
// service recovers by itself.
func TestPostgresOutage(t *testing.T) {
	base := PostgresURL(t)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	ctx := context.Background()
	name := "tt_outage_" + time.Now().Format("150405") + "_" + itoa(time.Now().UnixNano()%100000)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = admin.ExecContext(ctx, "ALTER DATABASE "+name+" WITH ALLOW_CONNECTIONS true")
		_, _ = admin.ExecContext(ctx, "DROP DATABASE "+name+" WITH (FORCE)")
	})
	u, _ := url.Parse(base)
	u.Path = "/" + name
	ev := newEnvOn(t, Postgres, u.String())
	alice := ev.newUser("alice", "user")
	boss := ev.newUser("boss", "manager")
	boss.newTask(alice, "before the outage", time.Hour)

	down := func() {
		if _, err := admin.ExecContext(ctx, "ALTER DATABASE "+name+" WITH ALLOW_CONNECTIONS false"); err != nil {
			t.Fatal(err)
		}
		if _, err := admin.ExecContext(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name); err != nil {
			t.Fatal(err)
		}
	}
	down()
	for _, c := range []struct {
		client *client
		method string
		path   string
		body   any
	}{
		{alice, "GET", "/api/task/tasks/", nil},
		{boss, "GET", "/api/task/tasks/", nil},
		{boss, "POST", "/api/task/tasks/", map[string]any{"title": "x", "deadline": ev.clock.Now().Add(time.Hour).Format(time.RFC3339), "assigned_to": alice.user.ID}},
		{ev.anon(), "POST", "/api/token/", map[string]string{"username": "alice", "password": userPassword("alice")}},
	} {
		start := time.Now()
		r := c.client.Do(c.method, c.path, c.body)
		if r.Status != 503 || r.Object(t)["detail"] != tasktrack.ErrUnavailable.Message {
			t.Errorf("%s %s during the outage: %d %s", c.method, c.path, r.Status, r.Body)
		}
		if d := time.Since(start); d > 4*time.Second {
			t.Errorf("%s %s took %s during the outage", c.method, c.path, d)
		}
	}
	if r := ev.anon().Do("GET", "/readyz", nil); r.Status != 503 {
		t.Errorf("/readyz during the outage: %d", r.Status)
	}
	if r := ev.anon().Do("GET", "/healthz", nil); r.Status != 200 {
		t.Errorf("/healthz during the outage: %d", r.Status)
	}
	if _, err := ev.db.Sweeper.Sweep(ctx); tasktrack.ErrorKind(err) != tasktrack.KindUnavailable {
		t.Errorf("sweep during the outage: %v", err)
	}

	if _, err := admin.ExecContext(ctx, "ALTER DATABASE "+name+" WITH ALLOW_CONNECTIONS true"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := alice.Do("GET", "/api/task/tasks/", nil)
		if r.Status == 200 {
			if r.Header.Get("X-Total-Count") != "1" {
				t.Fatalf("after recovery: %s", r.Body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recovery: %d %s", r.Status, r.Body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if r := ev.anon().Do("GET", "/readyz", nil); r.Status != 200 {
		t.Errorf("/readyz after recovery: %d", r.Status)
	}
}
