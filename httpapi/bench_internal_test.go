package httpapi

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"tasktrack"
	"tasktrack/auth"
	"tasktrack/sqlstore"
	"tasktrack/sqlstore/sqlstoretest"
)

// Benchmarks of the HTTP layer: encoding a page of tasks, and whole
// requests through the handler (middleware, authentication, store, JSON)
// on SQLite without a network in between.
//
//	go test -run '^$' -bench . -benchmem ./httpapi/

// discardWriter is a ResponseWriter that keeps only the byte count.
type discardWriter struct {
	h      http.Header
	status int
	n      int
}

func (d *discardWriter) Header() http.Header { return d.h }
func (d *discardWriter) WriteHeader(status int) {
	d.status = status
}
func (d *discardWriter) Write(p []byte) (int, error) {
	if d.status == 0 {
		d.status = http.StatusOK
	}
	d.n += len(p)
	return len(p), nil
}

func (d *discardWriter) reset() {
	clear(d.h)
	d.status, d.n = 0, 0
}

// benchTasks makes n tasks shaped like real ones: a third completed, one
// in twenty missed.
func benchTasks(n int) []*tasktrack.Task {
	base := time.Date(2026, 3, 2, 9, 0, 0, 123456000, time.UTC)
	by := int64(2)
	tasks := make([]*tasktrack.Task, n)
	for i := range tasks {
		t := &tasktrack.Task{
			ID: "01950b6e-7d4c-7a3b-9f1e-" + strconv.FormatInt(100000000000+int64(i), 10), Title: "Review the quarterly report " + strconv.Itoa(i),
			Description: "Sample task " + strconv.Itoa(i) + ".", Deadline: base.Add(time.Duration(i) * time.Hour),
			Status: tasktrack.StatusPending, AssignedTo: 13, AssignedToUsername: "Grace.Hopper13_4242",
			CreatedBy: &by, CreatedAt: base.Add(-time.Duration(i) * time.Minute), UpdatedAt: base,
		}
		switch {
		case i%20 == 0:
			t.Status, t.MissedAt = tasktrack.StatusMissed, &base
		case i%3 == 0:
			t.Status, t.CompletedAt = tasktrack.StatusCompleted, &base
		}
		tasks[i] = t
	}
	return tasks
}

// Encoding a list page as the list handler does: shapes, headers, JSON.
func BenchmarkTaskPageJSON(b *testing.B) {
	for _, n := range []int{20, 100} {
		b.Run(strconv.Itoa(n)+"_tasks", func(b *testing.B) {
			tasks := benchTasks(n)
			r := httptest.NewRequest("GET", "/api/task/tasks/", nil)
			w := &discardWriter{h: http.Header{}}
			page := tasktrack.Page{Limit: 100}
			b.ReportAllocs()
			for b.Loop() {
				w.reset()
				writeList(w, r, "", mapSlice(tasks, tasktrack.ToTaskJSON), 10_000, page)
			}
			b.SetBytes(int64(w.n))
		})
	}
}

// Encoding one task, as a create or a status change answers.
func BenchmarkTaskJSON(b *testing.B) {
	t := benchTasks(1)[0]
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		w.reset()
		writeJSON(w, http.StatusOK, tasktrack.ToTaskJSON(t))
	}
	b.SetBytes(int64(w.n))
}

// Whole requests through the handler on each engine holding 10,000 tasks,
// of which the caller owns 20: the work of bench/run.sh without the HTTP
// network (PostgreSQL is over its own connection, so each round trip
// shows).
//
//	go test -run '^$' -bench Request -benchmem ./httpapi/
func BenchmarkRequest(b *testing.B) {
	for _, e := range []sqlstoretest.Engine{sqlstoretest.SQLite, sqlstoretest.Postgres} {
		b.Run(string(e), func(b *testing.B) { benchRequests(b, e) })
	}
}

func benchRequests(b *testing.B, e sqlstoretest.Engine) {
	s, userToken, managerToken, ids, assignee, _ := benchServer(b, e)
	h := s.Handler()
	w := &discardWriter{h: http.Header{}}
	do := func(method, path, token, body string, want int) {
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		r := httptest.NewRequest(method, path, rd)
		r.Header.Set("Authorization", "Bearer "+token)
		if body != "" {
			r.Header.Set("Content-Type", "application/json")
		}
		w.reset()
		h.ServeHTTP(w, r)
		if w.status != want {
			b.Fatalf("%s %s: status %d, want %d", method, path, w.status, want)
		}
	}
	b.Run("list_own_20", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			do("GET", "/api/task/tasks/", userToken, "", http.StatusOK)
		}
	})
	b.Run("list_manager_100", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			do("GET", "/api/task/tasks/", managerToken, "", http.StatusOK)
		}
	})
	b.Run("update_status", func(b *testing.B) {
		statuses := []string{"in_progress", "completed", "pending"}
		n := 0
		b.ReportAllocs()
		for b.Loop() {
			n++
			do("PATCH", "/api/task/tasks/"+ids[n%len(ids)]+"/update_status/", userToken, `{"status":"`+statuses[n%3]+`"}`, http.StatusOK)
		}
	})
	b.Run("create", func(b *testing.B) {
		deadline := time.Now().Add(30 * 24 * time.Hour).UTC().Format(time.RFC3339)
		body := `{"title":"Load task","description":"made under load","deadline":"` + deadline + `","assigned_to":` + strconv.FormatInt(assignee, 10) + `}`
		b.ReportAllocs()
		for b.Loop() {
			do("POST", "/api/task/tasks/", managerToken, body, http.StatusCreated)
		}
	})
}

// benchServer serves a database of engine e with 1,000 users and 10,000 tasks;
// it returns the access tokens of the user who owns 20 of them and of a
// manager, the user's task ids, and another user to assign tasks to.
func benchServer(b *testing.B, e sqlstoretest.Engine) (s *Server, userToken, managerToken string, ids []string, assignee int64, db *sqlstore.DB) {
	b.Helper()
	ctx := context.Background()
	db = sqlstoretest.Open(b, e)
	hash, err := db.Hasher.Hash("bench-password-1")
	if err != nil {
		b.Fatal(err)
	}
	users := make([]sqlstore.BulkUser, 1000)
	for i := range users {
		users[i] = sqlstore.BulkUser{Username: "user" + strconv.Itoa(i), PasswordHash: hash, Role: tasktrack.RoleUser}
	}
	users[0].Role = tasktrack.RoleManager
	uids, err := db.Bulk.InsertUsers(ctx, users)
	if err != nil {
		b.Fatal(err)
	}
	caller := uids[1]
	now := time.Now().UTC()
	const total, own = 10_000, 20
	i := 0
	next := func() (sqlstore.BulkTask, bool) {
		if i >= total {
			return sqlstore.BulkTask{}, false
		}
		t := sqlstore.BulkTask{Title: "Task " + strconv.Itoa(i), Description: "Description of task " + strconv.Itoa(i),
			Deadline: now.Add(24*time.Hour + time.Duration(i%(28*24))*time.Hour), Status: tasktrack.StatusPending,
			AssignedTo: uids[2+i%998], CreatedBy: uids[0], CreatedAt: now.Add(-time.Duration(total-i) * time.Minute)}
		if i%(total/own) == 0 {
			t.AssignedTo = caller
		}
		i++
		return t, true
	}
	if _, err := db.Bulk.InsertTasks(ctx, next, nil); err != nil {
		b.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	tokens := auth.NewTokens([]byte(strings.Repeat("k", 32)), time.Hour, 24*time.Hour)
	limiter := auth.NewLoginLimiter(auth.LoginLimits{Addr: auth.Limit{N: 20, Period: 10 * time.Minute}, UserAddr: auth.Limit{N: 5, Period: 10 * time.Minute}, User: auth.Limit{N: 10, Period: 10 * time.Minute}})
	svc, err := auth.NewService(db.Sessions, sqlstoretest.FastHasher(), tokens, limiter, logger)
	if err != nil {
		b.Fatal(err)
	}
	token := func(id int64) string {
		u, err := db.Sessions.AuthUser(ctx, id)
		if err != nil {
			b.Fatal(err)
		}
		tok, _, err := tokens.Issue(u, auth.TypeAccess)
		if err != nil {
			b.Fatal(err)
		}
		return tok
	}
	u, err := db.Sessions.AuthUser(ctx, caller)
	if err != nil {
		b.Fatal(err)
	}
	tasks, _, err := db.Tasks.FindTasks(tasktrack.NewContextWithActor(ctx, u), tasktrack.TaskFilter{})
	if err != nil || len(tasks) != own {
		b.Fatalf("the caller owns %d tasks, want %d: %v", len(tasks), own, err)
	}
	for _, t := range tasks {
		ids = append(ids, t.ID)
	}
	s = &Server{Users: db.Users, Tasks: db.Tasks, Alerts: db.Alerts, Audit: db.Audit, Auth: svc,
		Hub: NewAlertHub(db.Alerts, db.AlertsChanged(), time.Second, logger), Ready: db.Ping, Logger: logger}
	return s, token(caller), token(uids[0]), ids, uids[2], db
}
