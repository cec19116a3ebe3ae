package httpapi_test

import (
	"database/sql"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"tasktrack/httpapi"
	. "tasktrack/sqlstore/sqlstoretest"
)

// An internal error is logged with the use case that failed and the id it
// failed on, while the client still sees only "Internal error.", and an
// error of another kind keeps its own message.
func TestInternalErrorLogNamesOperation(t *testing.T) {
	for _, e := range []Engine{SQLite, Postgres} {
		t.Run(string(e), func(t *testing.T) {
			dsn := DSN(t, e)
			base := newEnvOn(t, e, dsn)
			logs := &logBuffer{}
			ev := base.withServer(t, func(s *httpapi.Server) {
				s.Logger = slog.New(slog.NewJSONHandler(logs, nil))
			})
			u := ev.newUser("worker", "user")
			id := ev.admin.newTask(u, "write the report", 24*time.Hour)

			if r := ev.admin.Do("PATCH", "/api/task/tasks/00000000-0000-7000-8000-000000000000/", map[string]any{"title": "x"}); r.Status != 404 || r.String() != `{"detail":"Not found."}`+"\n" {
				t.Fatalf("absent task: %d %s, want 404 Not found.", r.Status, r.Body)
			}

			driver, source := "pgx", dsn
			if e == SQLite {
				driver = "sqlite"
			}
			raw, err := sql.Open(driver, source)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			if _, err := raw.Exec("ALTER TABLE tasks RENAME TO tasks_gone"); err != nil {
				t.Fatal(err)
			}

			// A 500 is outside the contract, so this request goes around the
			// client that holds every answer to openapi.json.
			req, err := http.NewRequest("PATCH", ev.srv.URL+"/api/task/tasks/"+id+"/", strings.NewReader(`{"title":"rewrite the report"}`))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+ev.admin.Access)
			req.Header.Set("Content-Type", "application/json")
			resp, err := ev.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 500 || string(body) != `{"detail":"Internal error."}`+"\n" {
				t.Fatalf("PATCH: %d %s, want 500 Internal error.", resp.StatusCode, body)
			}
			want := "sqlstore.UpdateTask(" + id + "): "
			var found []string
			for _, l := range logs.lines(t) {
				if l["msg"] == "internal error" {
					found = append(found, l["err"].(string))
				}
			}
			if len(found) != 1 || !strings.HasPrefix(found[0], want) {
				t.Fatalf("internal error log lines' err = %q, want one starting %q", found, want)
			}
			// The operation names the package once: the driver's error
			// follows it directly, without a second "sqlstore:".
			if strings.Count(found[0], "sqlstore") != 1 {
				t.Fatalf("internal error log line's err = %q, want \"sqlstore\" once", found[0])
			}
		})
	}
}
