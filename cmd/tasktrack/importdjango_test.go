package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"tasktrack"
	"tasktrack/auth"
	"tasktrack/djangoimport"
	"tasktrack/djangoimport/djangotest"
	"tasktrack/httpapi"
	"tasktrack/sqlstore"
	. "tasktrack/sqlstore/sqlstoretest"
)

const fixture = "../../djangoimport/testdata/drf-original.sqlite3"

// importDjango runs "tasktrack import-django args... --json" on the
// database at dsn and returns the report it printed.
func importDjango(t *testing.T, dsn string, args ...string) (importReport, error) {
	t.Helper()
	out, err := runImport(t, dsn, append(args, "--json")...)
	var rep importReport
	if jerr := json.Unmarshal([]byte(out), &rep); jerr != nil {
		t.Fatalf("report %q: %v (run error %v)", out, jerr, err)
	}
	return rep, err
}

// runImport runs "tasktrack import-django args..." on the database at dsn
// and returns what it printed on standard output.
func runImport(t *testing.T, dsn string, args ...string) (string, error) {
	t.Helper()
	env := map[string]string{"TASKTRACK_DATABASE": dsn, "TASKTRACK_LOG_LEVEL": "warn"}
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), append([]string{"import-django"}, args...), func(k string) string { return env[k] },
		strings.NewReader(""), &stdout, &stderr)
	return stdout.String(), err
}

func copyFixture(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	path := filepath.Join(t.TempDir(), "drf-original.sqlite3")
	if err := os.WriteFile(path, b, 0o400); err != nil {
		t.Fatal(err)
	}
	return path
}

// files is the sha256 of every file in a directory, by name: the original
// must stay byte for byte as it was, with no -journal, -wal or -shm beside.
func files(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][32]byte{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = sha256.Sum256(b)
	}
	return out
}

func sameFiles(t *testing.T, before, after map[string][32]byte) {
	t.Helper()
	if len(before) != len(after) {
		t.Errorf("files beside the original: %d before, %d after", len(before), len(after))
	}
	for name, sum := range before {
		if after[name] != sum {
			t.Errorf("%s changed", name)
		}
	}
}

// dump is every user, task and audit entry of a database, to compare
// before and after a run that must change nothing.
func dump(t *testing.T, db *sqlstore.DB) string {
	t.Helper()
	var b strings.Builder
	users, _, err := db.Users.FindUsers(System, tasktrack.UserFilter{Page: tasktrack.Page{Limit: tasktrack.MaxLimit}})
	if err != nil {
		t.Fatal(err)
	}
	opt := func(v any) string {
		switch v := v.(type) {
		case *time.Time:
			if v != nil {
				return v.String()
			}
		case *int64:
			if v != nil {
				return fmt.Sprint(*v)
			}
		}
		return "-"
	}
	for _, u := range users {
		fmt.Fprintf(&b, "%d %s %s %s %s %v %v %s %s %s %s %s %d %s\n", u.ID, u.Username, u.Email, u.FirstName, u.LastName, u.Role, u.IsActive,
			u.DateJoined, opt(u.DeactivatedAt), u.DeactivationReason, opt(u.ReactivatedAt), opt(u.ReactivatedBy), u.TokenVersion, u.PasswordHash)
	}
	tasks, _, err := db.Tasks.FindTasks(System, tasktrack.TaskFilter{Page: tasktrack.Page{Limit: tasktrack.MaxLimit}})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range tasks {
		fmt.Fprintf(&b, "%s %q %q %s %s %d %s %s %s %s %s\n", k.ID, k.Title, k.Description, k.Deadline, k.Status, k.AssignedTo,
			opt(k.CreatedBy), k.CreatedAt, k.UpdatedAt, opt(k.CompletedAt), opt(k.MissedAt))
	}
	entries, _, err := db.Audit.FindAuditEntries(System, tasktrack.AuditFilter{Page: tasktrack.Page{Limit: tasktrack.MaxLimit}})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		fmt.Fprintf(&b, "%d %s %s %s\n", e.ID, e.Action, e.TargetID, e.Details)
	}
	return b.String()
}

// api is an HTTP server over a database, as serve wires it.
type api struct {
	t   *testing.T
	db  *sqlstore.DB
	srv *httptest.Server
}

func newAPI(t *testing.T, dsn string) *api {
	t.Helper()
	db := OpenDSN(t, dsn)
	logger := slog.New(slog.DiscardHandler)
	tokens := auth.NewTokens([]byte(strings.Repeat("k", 32)), 5*time.Minute, 24*time.Hour)
	limiter := auth.NewLoginLimiter(auth.LoginLimits{Addr: auth.Limit{N: 100, Period: time.Minute}, UserAddr: auth.Limit{N: 100, Period: time.Minute}, User: auth.Limit{N: 100, Period: time.Minute}})
	svc, err := auth.NewService(db.Sessions, db.Hasher.(*auth.Hasher), tokens, limiter, logger)
	if err != nil {
		t.Fatal(err)
	}
	s := &httpapi.Server{Users: db.Users, Tasks: db.Tasks, Alerts: db.Alerts, Audit: db.Audit, Auth: svc, Ready: db.Ping, Logger: logger}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return &api{t: t, db: db, srv: srv}
}

func (a *api) do(method, path, token string, body any) (int, http.Header, []byte) {
	a.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			a.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.srv.URL+path, r)
	if err != nil {
		a.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := a.srv.Client().Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	return res.StatusCode, res.Header, out
}

// login signs in and returns the access token, or "" with the status.
func (a *api) login(username, password string) (string, int) {
	a.t.Helper()
	status, _, body := a.do("POST", "/api/token/", "", map[string]string{"username": username, "password": password})
	if status != 200 {
		return "", status
	}
	var pair struct{ Access string }
	if err := json.Unmarshal(body, &pair); err != nil || pair.Access == "" {
		a.t.Fatalf("login answer %s: %v", body, err)
	}
	return pair.Access, status
}

// hash is the stored password hash of a user.
func (a *api) hash(username string) string {
	a.t.Helper()
	u, err := a.db.Sessions.UserByUsername(context.Background(), username)
	if err != nil {
		a.t.Fatal(err)
	}
	return u.PasswordHash
}

// fixtureTask is a task as the original holds it.
type fixtureTask struct {
	id, title, status, deadline string
	assignee                    int64
	creator                     sql.NullInt64
}

func readFixtureTasks(t *testing.T) []fixtureTask {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+fixture+"?mode=ro&immutable=1")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("SELECT id, title, status, CAST(deadline AS TEXT), assigned_to_id, created_by_id FROM task_task")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []fixtureTask
	for rows.Next() {
		var f fixtureTask
		if err := rows.Scan(&f.id, &f.title, &f.status, &f.deadline, &f.assignee, &f.creator); err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func dashed(h string) string {
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// TestImportDjangoFixture imports the shipped database of the original and
// uses it through the API: people sign in with the passwords they had,
// their hashes are replaced at the first sign-in, clients find the tasks
// under the ids they hold, and new users get ids after the imported ones.
func TestImportDjangoFixture(t *testing.T) {
	want := readFixtureTasks(t)
	Engines(t, func(t *testing.T, e Engine) {
		path := copyFixture(t)
		before := files(t, filepath.Dir(path))
		dsn := DSN(t, e)
		rep, err := importDjango(t, dsn, path)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Users != (importCounts{21, 21, 0}) || rep.Tasks != (importCounts{52, 52, 0}) || rep.Passwords != (passwordCounts{21, 0}) ||
			len(rep.Notes) != 0 || len(rep.Roles) != 3 || rep.Overdue != 11 || rep.NoAdmin || rep.Refused != "" {
			t.Fatalf("report %+v", rep)
		}
		sameFiles(t, before, files(t, filepath.Dir(path)))

		a := newAPI(t, dsn)
		for _, u := range []struct{ name, password, hashPrefix string }{
			{"admin", "admin", "pbkdf2_sha256$600000$"},
			{"rholmes", "password123", "pbkdf2_sha256$600000$"},
		} {
			if h := a.hash(u.name); !strings.HasPrefix(h, u.hashPrefix) {
				t.Fatalf("%s: imported hash %.30q", u.name, h)
			}
			if _, status := a.login(u.name, "wrong-password"); status != 401 {
				t.Fatalf("%s with a wrong password: %d", u.name, status)
			}
			if h := a.hash(u.name); !strings.HasPrefix(h, u.hashPrefix) {
				t.Fatalf("%s: hash replaced after a failed login: %.30q", u.name, h)
			}
			if _, status := a.login(u.name, u.password); status != 200 {
				t.Fatalf("%s first login: %d", u.name, status)
			}
			if h := a.hash(u.name); !strings.HasPrefix(h, "$argon2id$") {
				t.Fatalf("%s: hash after the first login %.30q, want argon2id", u.name, h)
			}
			if _, status := a.login(u.name, u.password); status != 200 {
				t.Fatalf("%s second login: %d", u.name, status)
			}
		}
		admin, _ := a.login("admin", "admin")
		for _, f := range want {
			status, _, body := a.do("GET", "/api/task/tasks/"+dashed(f.id)+"/", admin, nil)
			if status != 200 {
				t.Fatalf("task %s: %d %s", f.id, status, body)
			}
			var got struct {
				ID, Title, Status string
				Deadline          time.Time
				AssignedTo        int64  `json:"assigned_to"`
				CreatedBy         *int64 `json:"created_by"`
			}
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatal(err)
			}
			deadline, err := time.Parse("2006-01-02 15:04:05.999999", f.deadline)
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != dashed(f.id) || got.Title != f.title || got.Status != f.status || !got.Deadline.Equal(deadline) ||
				got.AssignedTo != f.assignee || got.CreatedBy == nil || *got.CreatedBy != f.creator.Int64 {
				t.Errorf("task %s: got %+v, want %+v", f.id, got, f)
			}
		}
		// A user sees their own tasks, and only those.
		rholmes, _ := a.login("rholmes", "password123")
		status, header, body := a.do("GET", "/api/task/tasks/?ordering=deadline", rholmes, nil)
		var mine []struct{ ID string }
		if err := json.Unmarshal(body, &mine); status != 200 || err != nil || header.Get("X-Total-Count") != "2" || len(mine) != 2 ||
			mine[0].ID != "fd13d1cc-71ff-41de-940f-9007edd4a855" || mine[1].ID != "c42e8bba-a179-4e39-be99-cc84cb8d5e65" {
			t.Errorf("rholmes's tasks: %d %s %s", status, header.Get("X-Total-Count"), body)
		}
		// New users' ids follow the imported ones.
		status, _, body = a.do("POST", "/api/user/users/", admin, map[string]string{"username": "newcomer", "password": "newcomer-pass-1", "role": "user"})
		var created struct{ ID int64 }
		if err := json.Unmarshal(body, &created); status != 201 || err != nil || created.ID != 22 {
			t.Errorf("create user: %d %s, want id 22", status, body)
		}
		status, _, body = a.do("GET", "/api/audit/?action=import.django", admin, nil)
		var entries []struct {
			Actor   *struct{ ID int64 }
			Details map[string]any
		}
		if err := json.Unmarshal(body, &entries); status != 200 || err != nil || len(entries) != 1 || entries[0].Actor != nil ||
			entries[0].Details["users"] != 21.0 || entries[0].Details["tasks"] != 52.0 || entries[0].Details["password_resets"] != 0.0 {
			t.Errorf("audit: %d %s", status, body)
		}
	})
}

// TestImportDjangoQuirks imports what the original's bugs let in, then
// runs the import again: refused without --merge, a no-op with it.
func TestImportDjangoQuirks(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		source := djangotest.SQLite(t, djangotest.Quirks())
		before := files(t, filepath.Dir(source))
		dsn := DSN(t, e)
		rep, err := importDjango(t, "", source, "--database", dsn)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Users != (importCounts{9, 9, 0}) || rep.Tasks != (importCounts{9, 8, 1}) || rep.Passwords != (passwordCounts{7, 2}) ||
			len(rep.Notes) != 13 || rep.Overdue != 1 || rep.NoAdmin {
			t.Fatalf("report %+v", rep)
		}
		db := OpenDSN(t, dsn)
		ctx := context.Background()
		for _, u := range []struct {
			id     int64
			role   tasktrack.Role
			active bool
			hash   string
		}{
			{1, tasktrack.RoleAdmin, true, djangotest.Hash(djangotest.Password, "saltadmin")},
			{2, tasktrack.RoleManager, true, djangotest.Hash(djangotest.Password, "saltmgr")},
			{3, tasktrack.RoleUser, true, djangotest.Hash(djangotest.Password, "saltnorole")},
			{4, tasktrack.RoleUser, true, djangotest.Hash(djangotest.Password, "saltboss")},
			{5, tasktrack.RoleUser, true, djangotest.Hash(djangotest.Password, "saltaud")},
			{6, tasktrack.RoleUser, false, djangotest.Hash(djangotest.Password, "saltgone")},
			{7, tasktrack.RoleUser, true, "!" + djangotest.Quirks().Users[6].Password},
			{8, tasktrack.RoleUser, true, "!unusableXYZ"},
		} {
			got, err := db.Sessions.AuthUser(ctx, u.id)
			if err != nil {
				t.Fatal(err)
			}
			if got.Role != u.role || got.IsActive != u.active || got.PasswordHash != u.hash || got.TokenVersion != 1 {
				t.Errorf("user %d: %+v", u.id, got)
			}
			if !u.active && (got.DeactivatedAt == nil || got.DeactivationReason != tasktrack.ReasonManual) {
				t.Errorf("inactive user %d: deactivated %v, reason %q", u.id, got.DeactivatedAt, got.DeactivationReason)
			}
		}
		task := func(id string) *tasktrack.Task {
			t.Helper()
			k, err := db.Tasks.FindTaskByID(System, dashed(id))
			if err != nil {
				t.Fatalf("task %s: %v", id, err)
			}
			return k
		}
		if k := task(djangotest.TaskCompleted); k.Status != tasktrack.StatusCompleted || k.CompletedAt == nil || !k.CompletedAt.Equal(k.UpdatedAt) || k.MissedAt != nil {
			t.Errorf("completed task: %+v", k)
		}
		for _, id := range []string{djangotest.TaskMissed, djangotest.TaskGarbagePast} {
			if k := task(id); k.Status != tasktrack.StatusMissed || k.MissedAt == nil || !k.MissedAt.Equal(k.Deadline) || k.CompletedAt != nil {
				t.Errorf("missed task %s: %+v", id, k)
			}
		}
		if k := task(djangotest.TaskGarbageFuture); k.Status != tasktrack.StatusPending || k.MissedAt != nil {
			t.Errorf("garbage status, deadline ahead: %+v", k)
		}
		if k := task(djangotest.TaskEmptyTitle); k.Title != "(untitled)" {
			t.Errorf("empty title: %q", k.Title)
		}
		if k := task(djangotest.TaskLongTitle); k.Title != djangotest.LongTitle[:100] {
			t.Errorf("long title: %q", k.Title)
		}
		if k := task(djangotest.TaskNoCreator); k.CreatedBy != nil || k.AssignedTo != 9 {
			t.Errorf("task whose creator is gone: %+v", k)
		}
		if _, err := db.Tasks.FindTaskByID(System, dashed(djangotest.TaskNoAssignee)); !errors.Is(err, tasktrack.ErrNotFound) {
			t.Errorf("task whose assignee is gone: %v, want not found", err)
		}

		// Sign-in: a kept hash works, an unusable one and an inactive user do not.
		hasher := db.Hasher.(*auth.Hasher)
		svc, err := auth.NewService(db.Sessions, hasher, auth.NewTokens([]byte(strings.Repeat("k", 32)), time.Minute, time.Hour),
			auth.NewLoginLimiter(auth.LoginLimits{}), slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range []struct {
			username, password string
			ok                 bool
		}{
			{"NoRole", djangotest.Password, true},
			{"bcrypt", djangotest.Password, false},
			{"locked", "unusableXYZ", false},
			{"locked", "!unusableXYZ", false},
			{"gone", djangotest.Password, false},
		} {
			_, err := svc.Login(ctx, l.username, l.password, "127.0.0.1")
			if (err == nil) != l.ok {
				t.Errorf("login %s: %v, want ok=%v", l.username, err, l.ok)
			}
		}

		state := dump(t, db)
		rep, err = importDjango(t, dsn, source)
		var ue *usageError
		if err == nil || errors.As(err, &ue) || !strings.Contains(rep.Refused, "The database already holds 9 user(s) and 8 task(s).") {
			t.Errorf("second import without --merge: %v, report %+v", err, rep)
		}
		if got := dump(t, db); got != state {
			t.Errorf("a refused import changed the database:\n%s\nwant\n%s", got, state)
		}

		out, err := runImport(t, dsn, source, "--merge")
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range []string{
			"Users: 9 read, 0 imported, 9 skipped\n",
			"Tasks: 9 read, 0 imported, 9 skipped\n",
			"Already in the database, skipped: 9 user(s), 8 task(s)\n",
			"Nothing to import: " + dsn + " already holds all of it.\n",
			`  task ` + dashed(djangotest.TaskGarbagePast) + ` "Garbage past": status "done" is not a tasktrack status; imported as missed (deadline passed)` + "\n",
		} {
			if !strings.Contains(out, line) {
				t.Errorf("merge report lacks %q:\n%s", line, out)
			}
		}
		if got := dump(t, db); got != state {
			t.Errorf("a second merge changed the database:\n%s\nwant\n%s", got, state)
		}
		sameFiles(t, before, files(t, filepath.Dir(source)))
	})
}

// TestImportDjangoMerge merges into a database that holds some of the
// users and tasks, and others under the same ids or usernames.
func TestImportDjangoMerge(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		dsn := DSN(t, e)
		db := OpenDSN(t, dsn)
		ctx := context.Background()
		joined := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		var progress []string
		res, err := db.Importer.ImportDjango(ctx, []*tasktrack.User{
			{ID: 1, Username: "admin", Role: tasktrack.RoleAdmin, IsActive: true, DateJoined: joined, PasswordHash: "!"},
			{ID: 2, Username: "someone", Role: tasktrack.RoleUser, IsActive: true, DateJoined: joined, PasswordHash: "!"},
			{ID: 20, Username: "AUD", Role: tasktrack.RoleUser, IsActive: true, DateJoined: joined, PasswordHash: "!"},
		}, []*tasktrack.Task{
			{ID: dashed(djangotest.TaskOverdue), Title: "Pre-existing", Status: tasktrack.StatusPending, AssignedTo: 1,
				Deadline: joined, CreatedAt: joined, UpdatedAt: joined},
		}, sqlstore.ImportOptions{Progress: func(stage string, done, total int) {
			progress = append(progress, fmt.Sprintf("%s %d/%d", stage, done, total))
		}})
		if err != nil {
			t.Fatal(err)
		}
		if res.UsersImported != 3 || res.TasksImported != 1 || len(res.Notes) != 0 || !slices.Equal(progress, []string{"users 3/3", "tasks 1/1"}) {
			t.Fatalf("first import: %+v, progress %q", res, progress)
		}

		source := djangotest.SQLite(t, djangotest.Quirks())
		rep, err := importDjango(t, dsn, "--merge", source)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Users != (importCounts{9, 6, 3}) || rep.Tasks != (importCounts{9, 5, 4}) {
			t.Errorf("counts: users %+v, tasks %+v", rep.Users, rep.Tasks)
		}
		wantStore := []djangoimport.Note{
			{Target: "user", ID: "1", Name: "admin", Detail: "already in the database", Skipped: true},
			{Target: "user", ID: "2", Name: "mgr", Detail: `id 2 is taken by user "someone"; not imported`, Skipped: true},
			{Target: "user", ID: "5", Name: "aud", Detail: `username taken by user "AUD" (id 20); not imported`, Skipped: true},
			{Target: "task", ID: dashed(djangotest.TaskCompleted), Name: "Done in time", Detail: "assignee 2 is not in the database; not imported", Skipped: true},
			{Target: "task", ID: dashed(djangotest.TaskGarbageFuture), Name: "Garbage future", Detail: "assignee 5 is not in the database; not imported", Skipped: true},
			{Target: "task", ID: dashed(djangotest.TaskOverdue), Name: "Overdue open", Detail: "already in the database", Skipped: true},
			{Target: "task", ID: dashed(djangotest.TaskMissed), Name: "Missed before", Detail: "creator 2 is not in the database; imported without a creator"},
			{Target: "task", ID: dashed(djangotest.TaskGarbagePast), Name: "Garbage past", Detail: "creator 2 is not in the database; imported without a creator"},
			{Target: "task", ID: dashed(djangotest.TaskEmptyTitle), Name: "(untitled)", Detail: "creator 2 is not in the database; imported without a creator"},
			{Target: "task", ID: dashed(djangotest.TaskLongTitle), Name: djangotest.LongTitle[:100], Detail: "creator 2 is not in the database; imported without a creator"},
		}
		if got := rep.Notes[len(rep.Notes)-len(wantStore):]; !slices.Equal(got, wantStore) {
			t.Errorf("merge notes:\n got %q\nwant %q", got, wantStore)
		}
		if k, err := db.Tasks.FindTaskByID(System, dashed(djangotest.TaskOverdue)); err != nil || k.Title != "Pre-existing" || k.AssignedTo != 1 {
			t.Errorf("the task already there: %+v, %v", k, err)
		}
		if k, err := db.Tasks.FindTaskByID(System, dashed(djangotest.TaskNoCreator)); err != nil || k.AssignedTo != 9 || k.Title != "Creator gone" {
			t.Errorf("a merged task: %+v, %v", k, err)
		}
		if _, err := db.Tasks.FindTaskByID(System, dashed(djangotest.TaskCompleted)); !errors.Is(err, tasktrack.ErrNotFound) {
			t.Errorf("a task of a user not imported: %v, want not found", err)
		}
		if u, err := db.Sessions.AuthUser(ctx, 2); err != nil || u.Username != "someone" {
			t.Errorf("user 2: %+v, %v", u, err)
		}
		entries, _, err := db.Audit.FindAuditEntries(System, tasktrack.AuditFilter{Action: tasktrack.ActionImportDjango})
		if err != nil || len(entries) != 2 {
			t.Fatalf("audit: %d entries, %v", len(entries), err)
		}
		var details map[string]any
		if err := json.Unmarshal(entries[0].Details, &details); err != nil || details["users"] != 6.0 || details["tasks"] != 5.0 ||
			details["users_skipped"] != 3.0 || details["tasks_skipped"] != 3.0 || details["merge"] != true {
			t.Errorf("audit details %s", entries[0].Details)
		}

		state := dump(t, db)
		rep, err = importDjango(t, dsn, source, "--merge")
		if err != nil || rep.Users.Imported != 0 || rep.Tasks.Imported != 0 {
			t.Errorf("second merge: %v, %+v", err, rep)
		}
		if got := dump(t, db); got != state {
			t.Errorf("a second merge changed the database:\n%s\nwant\n%s", got, state)
		}
		u, err := db.Users.CreateUser(System, tasktrack.UserCreate{Username: "newcomer", Password: "newcomer-pass-1"})
		if err != nil || u.ID != 21 {
			t.Errorf("new user after the merge: %+v, %v; want id 21", u, err)
		}
	})
}

// TestImportDjangoDryRun reports what an import would do and writes
// nothing: not even the database file when there is none yet.
func TestImportDjangoDryRun(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		source := djangotest.SQLite(t, djangotest.Quirks())
		dsn := DSN(t, e)
		rep, err := importDjango(t, dsn, source, "--dry-run")
		if err != nil {
			t.Fatal(err)
		}
		if !rep.DryRun || rep.Users != (importCounts{9, 9, 0}) || rep.Tasks != (importCounts{9, 8, 1}) {
			t.Errorf("dry run report %+v", rep)
		}
		if e == SQLite {
			if _, err := os.Stat(dsn); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a dry run made the database file: %v", err)
			}
		}
		db := OpenDSN(t, dsn)
		if got := dump(t, db); got != "" {
			t.Errorf("a dry run wrote:\n%s", got)
		}
		// Into a database that exists, a dry run writes nothing either,
		// and a dry merge of what is there reports nothing to do.
		if rep, err = importDjango(t, dsn, source, "--dry-run"); err != nil || rep.Users.Imported != 9 {
			t.Errorf("dry run into an empty database: %v, %+v", err, rep)
		}
		if got := dump(t, db); got != "" {
			t.Errorf("a dry run wrote:\n%s", got)
		}
		if _, err := importDjango(t, dsn, source); err != nil {
			t.Fatal(err)
		}
		state := dump(t, db)
		out, err := runImport(t, dsn, source, "--dry-run", "--merge")
		if err != nil || !strings.Contains(out, "Users: 9 read, 0 to import, 9 skipped\n") || !strings.Contains(out, "Dry run: nothing was written to "+dsn+".\n") {
			t.Errorf("dry merge: %v\n%s", err, out)
		}
		if got := dump(t, db); got != state {
			t.Errorf("a dry merge changed the database")
		}
	})
}

// TestImportDjangoCollision refuses usernames that are one name to
// tasktrack (equal but for case or width) before writing anything.
func TestImportDjangoCollision(t *testing.T) {
	for _, tc := range []struct{ name, username string }{
		{"case", "Mgr"},
		{"width", "ｍｇｒ"},
		{"case and width", "ＭＧＲ"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			Engines(t, func(t *testing.T, e Engine) {
				q := djangotest.Quirks()
				extra := q.Users[1]
				extra.ID, extra.Username = 10, tc.username
				q.Users = append(q.Users, extra)
				source := djangotest.SQLite(t, q)
				dsn := DSN(t, e)
				out, err := runImport(t, dsn, source, "--merge")
				var ue *usageError
				if err == nil || errors.As(err, &ue) || !strings.Contains(err.Error(), "1 username(s) collide: they differ only in case or width") {
					t.Fatalf("error %v, want a refusal", err)
				}
				if !strings.Contains(out, "Username collisions (1), equal but for case or width:\n  \"mgr\" (id 2), \""+tc.username+"\" (id 10)\n") ||
					!strings.Contains(out, "Import refused: nothing was written") {
					t.Errorf("report:\n%s", out)
				}
				if e == SQLite {
					if _, err := os.Stat(dsn); !errors.Is(err, os.ErrNotExist) {
						t.Errorf("a refused import made the database file: %v", err)
					}
				}
				if got := dump(t, OpenDSN(t, dsn)); got != "" {
					t.Errorf("a refused import wrote:\n%s", got)
				}
			})
		})
	}
}

// TestImportDjangoMergeLookAlike merges into a database whose users' names
// differ from the original's only in width: the original's user is one of
// them, so it is reported and left out, not added as a look-alike.
func TestImportDjangoMergeLookAlike(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		dsn := DSN(t, e)
		db := OpenDSN(t, dsn)
		wide := MustCreateUser(t, db, "ｎｏｒｏｌｅ", "user")
		rep, err := importDjango(t, dsn, "--merge", djangotest.SQLite(t, djangotest.Quirks()))
		if err != nil {
			t.Fatal(err)
		}
		want := djangoimport.Note{Target: "user", ID: "3", Name: "norole", Skipped: true,
			Detail: fmt.Sprintf(`username taken by user "ｎｏｒｏｌｅ" (id %d); not imported`, wide.ID)}
		// Skipped: norole, and admin, whose id 1 the look-alike has.
		if !slices.Contains(rep.Notes, want) || rep.Users != (importCounts{9, 7, 2}) {
			t.Errorf("users %+v, notes:\n%q\nwant among them %q", rep.Users, rep.Notes, want)
		}
		if u, err := db.Sessions.UserByUsername(context.Background(), "norole"); err != nil || u.ID != wide.ID {
			t.Errorf("norole signs in as %+v, %v; want the user already there", u, err)
		}
	})
}

// TestImportDjangoFromPostgres imports an original that ran on PostgreSQL.
func TestImportDjangoFromPostgres(t *testing.T) {
	source := djangotest.Postgres(t, djangotest.Quirks())
	Engines(t, func(t *testing.T, e Engine) {
		dsn := DSN(t, e)
		out, err := runImport(t, dsn, source)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range []string{
			"Django database: " + source + " (postgres)\n",
			"Roles: 4 (admin -> admin, auditor -> user, manager -> manager, user -> user)\n",
			"Users: 9 read, 9 imported, 0 skipped\n",
			"Tasks: 9 read, 8 imported, 1 skipped\n",
			"Passwords: 7 kept (Django's pbkdf2_sha256, verified at login and re-hashed at the first), 2 must be reset by an admin\n",
			"Mapped or skipped (13):\n",
			`  user 4 "boss": no role; imported as user (a Django superuser: make them admin by hand if they should be)` + "\n",
			"Imported into " + dsn + " in one transaction.\n",
			"1 open task(s) are past their deadline: the first sweep (at server start, or tasktrack sweep) marks them missed.\n",
		} {
			if !strings.Contains(out, line) {
				t.Errorf("report lacks %q:\n%s", line, out)
			}
		}
		db := OpenDSN(t, dsn)
		k, err := db.Tasks.FindTaskByID(System, dashed(djangotest.TaskGarbagePast))
		q := djangotest.Quirks().Tasks[2]
		if err != nil || k.Status != tasktrack.StatusMissed || !k.Deadline.Equal(q.Deadline.Truncate(time.Microsecond)) ||
			!k.CreatedAt.Equal(q.CreatedAt) || !k.UpdatedAt.Equal(q.UpdatedAt) || k.AssignedTo != 3 || k.Description != q.Description {
			t.Errorf("task from PostgreSQL: %+v, %v", k, err)
		}
		u, err := db.Sessions.UserByUsername(context.Background(), "admin")
		if err != nil || u.ID != 1 || u.Role != tasktrack.RoleAdmin || u.PasswordHash != djangotest.Hash(djangotest.Password, "saltadmin") {
			t.Errorf("admin from PostgreSQL: %+v, %v", u, err)
		}
	})
}

func TestImportDjangoUsage(t *testing.T) {
	source := djangotest.SQLite(t, djangotest.Quirks())
	dsn := filepath.Join(t.TempDir(), "tasktrack.db")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no source", nil, "import-django: give the Django database"},
		{"two sources", []string{source, source}, "import-django: unexpected argument"},
		{"missing file", []string{filepath.Join(t.TempDir(), "nope.sqlite3")}, "no such file or directory"},
		{"unknown flag", []string{source, "--frobnicate"}, "flag provided but not defined: -frobnicate"},
		{"bad setting", []string{"--missed-threshold", "zero", source}, "bad setting --missed-threshold"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runImport(t, dsn, tc.args...)
			var ue *usageError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want a usage error containing %q", err, tc.want)
			}
		})
	}
	if _, err := os.Stat(dsn); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a usage error made the database file: %v", err)
	}
}
