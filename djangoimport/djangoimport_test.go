package djangoimport_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"tasktrack"
	"tasktrack/djangoimport"
	"tasktrack/djangoimport/djangotest"
)

const fixture = "testdata/drf-original.sqlite3"

// copyFixture copies the shipped database of the original into a fresh
// directory and returns its path.
func copyFixture(t *testing.T) string {
	t.Helper()
	src, err := os.Open(fixture)
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	defer src.Close()
	path := filepath.Join(t.TempDir(), "drf-original.sqlite3")
	dst, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// snapshot is the sha256 of every file in dir, by name.
func snapshot(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][32]byte{}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = sha256.Sum256(b)
	}
	return out
}

func micro(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func TestReadFixture(t *testing.T) {
	path := copyFixture(t)
	before := snapshot(t, filepath.Dir(path))
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	d, err := djangoimport.Read(context.Background(), path, now)
	if err != nil {
		t.Fatal(err)
	}
	if after := snapshot(t, filepath.Dir(path)); !reflect.DeepEqual(before, after) {
		t.Fatalf("the directory of the original changed: %d files before, %d after", len(before), len(after))
	}
	if d.Engine != "sqlite" || len(d.Roles) != 3 || len(d.Users) != 21 || len(d.Tasks) != 52 || d.TasksRead != 52 {
		t.Fatalf("read %s: %d roles, %d users, %d/%d tasks", d.Engine, len(d.Roles), len(d.Users), len(d.Tasks), d.TasksRead)
	}
	if len(d.Notes) != 0 || d.PasswordResets != 0 || len(d.Collisions) != 0 {
		t.Fatalf("notes %v, resets %d, collisions %v", d.Notes, d.PasswordResets, d.Collisions)
	}
	wantRole := djangoimport.Role{ID: "72dea7c9-c39d-402f-aafb-93cbe659da55", Name: "admin", As: "admin"}
	if d.Roles[0] != wantRole {
		t.Errorf("role %+v, want %+v", d.Roles[0], wantRole)
	}
	admin := d.Users[0]
	if admin.ID != 1 || admin.Username != "admin" || admin.Role != tasktrack.RoleAdmin || !admin.IsActive ||
		!strings.HasPrefix(admin.PasswordHash, "pbkdf2_sha256$600000$") ||
		!admin.DateJoined.Equal(time.Date(2025, 6, 10, 14, 15, 27, 0, time.UTC)) {
		t.Errorf("admin %+v", admin)
	}
	var task *tasktrack.Task
	for _, tk := range d.Tasks {
		if tk.ID == "c42e8bba-a179-4e39-be99-cc84cb8d5e65" {
			task = tk
		}
	}
	creator := int64(15)
	want := &tasktrack.Task{
		ID: "c42e8bba-a179-4e39-be99-cc84cb8d5e65", Title: "Magazine air bank including program.",
		Description: "Run develop again everyone. Land film expert head pull example.\nNatural focus language join local group. Main organization whether.",
		Deadline:    time.Date(2025, 6, 18, 14, 39, 14, 153604000, time.UTC), Status: tasktrack.StatusInProgress,
		AssignedTo: 15, CreatedBy: &creator,
		CreatedAt: time.Date(2025, 6, 10, 14, 39, 14, 154305000, time.UTC), UpdatedAt: time.Date(2025, 6, 10, 14, 39, 14, 154244000, time.UTC),
	}
	if !reflect.DeepEqual(task, want) {
		t.Errorf("task\n got %+v\nwant %+v", task, want)
	}
	if d.Overdue != 11 {
		t.Errorf("overdue %d, want 11 (7 pending and 4 in progress, all due in June 2025)", d.Overdue)
	}
}

// wantQuirks is what Read makes of djangotest.Quirks at djangotest.At.
func wantQuirks() ([]*tasktrack.User, []*tasktrack.Task, []djangoimport.Note) {
	q := djangotest.Quirks()
	roles := map[string]tasktrack.Role{djangotest.RoleAdmin: tasktrack.RoleAdmin, djangotest.RoleManager: tasktrack.RoleManager}
	var users []*tasktrack.User
	for _, u := range q.Users {
		role, ok := roles[u.RoleID]
		if !ok {
			role = tasktrack.RoleUser
		}
		users = append(users, &tasktrack.User{ID: u.ID, Username: u.Username, Email: u.Email, FirstName: u.First, LastName: u.Last,
			Role: role, IsActive: u.Active, DateJoined: micro(u.Joined), PasswordHash: u.Password})
	}
	at := djangotest.At
	users[5].DeactivatedAt, users[5].DeactivationReason = &at, tasktrack.ReasonManual
	users[6].PasswordHash = "!" + users[6].PasswordHash
	var tasks []*tasktrack.Task
	for _, k := range q.Tasks {
		if k.AssignedTo == 99 {
			continue
		}
		t := &tasktrack.Task{ID: dashed(k.ID), Title: k.Title, Description: k.Description, Deadline: micro(k.Deadline),
			Status: tasktrack.Status(k.Status), AssignedTo: k.AssignedTo, CreatedAt: micro(k.CreatedAt), UpdatedAt: micro(k.UpdatedAt)}
		if k.CreatedBy != 0 && k.CreatedBy != 98 {
			c := k.CreatedBy
			t.CreatedBy = &c
		}
		tasks = append(tasks, t)
	}
	done := tasks[0].UpdatedAt
	tasks[0].CompletedAt = &done
	for _, i := range []int{1, 2} {
		m := tasks[i].Deadline
		tasks[i].MissedAt = &m
	}
	tasks[2].Status = tasktrack.StatusMissed
	tasks[3].Status = tasktrack.StatusPending
	tasks[4].Title = "(untitled)"
	tasks[5].Title = djangotest.LongTitle[:100]
	notes := []djangoimport.Note{
		{Target: "role", ID: dashed(djangotest.RoleAuditor), Name: "auditor", Detail: "not a tasktrack role; its users are imported as user"},
		{Target: "user", ID: "3", Name: "norole", Detail: "no role; imported as user"},
		{Target: "user", ID: "4", Name: "boss", Detail: "no role; imported as user (a Django superuser: make them admin by hand if they should be)"},
		{Target: "user", ID: "6", Name: "gone", Detail: "inactive in the original; imported inactive (reason manual, deactivated at the import)"},
		{Target: "user", ID: "7", Name: "bcrypt", Detail: `password hash format "bcrypt_sha256", which tasktrack cannot verify; an admin must set a new password`},
		{Target: "user", ID: "8", Name: "locked", Detail: "an unusable password in the original; an admin must set a new password"},
		{Target: "user", ID: "9", Name: "mailer", Detail: `email "not-an-email" is not a valid address; kept as it is`},
		{Target: "task", ID: dashed(djangotest.TaskGarbagePast), Name: "Garbage past", Detail: `status "done" is not a tasktrack status; imported as missed (deadline passed)`},
		{Target: "task", ID: dashed(djangotest.TaskGarbageFuture), Name: "Garbage future", Detail: `status "" is not a tasktrack status; imported as pending (deadline not yet passed)`},
		{Target: "task", ID: dashed(djangotest.TaskEmptyTitle), Name: "   ", Detail: `empty title; imported as "(untitled)"`},
		{Target: "task", ID: dashed(djangotest.TaskLongTitle), Name: djangotest.LongTitle, Detail: `title longer than 100 characters; cut to "` + djangotest.LongTitle[:100] + `"`},
		{Target: "task", ID: dashed(djangotest.TaskNoAssignee), Name: "Orphan", Detail: "assignee 99 does not exist; not imported", Skipped: true},
		{Target: "task", ID: dashed(djangotest.TaskNoCreator), Name: "Creator gone", Detail: "creator 98 does not exist; imported without a creator"},
	}
	return users, tasks, notes
}

func dashed(h string) string {
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// sources makes a database of the original on each engine it can run on.
var sources = []struct {
	name string
	make func(testing.TB, djangotest.Dataset) string
}{
	{"sqlite", djangotest.SQLite},
	{"postgres", djangotest.Postgres},
}

func TestReadMapsWhatTheOriginalLetIn(t *testing.T) {
	for _, src := range sources {
		t.Run(src.name, func(t *testing.T) {
			source := src.make(t, djangotest.Quirks())
			d, err := djangoimport.Read(context.Background(), source, djangotest.At)
			if err != nil {
				t.Fatal(err)
			}
			users, tasks, notes := wantQuirks()
			if d.Engine != src.name || d.TasksRead != 9 || d.PasswordResets != 2 || d.Overdue != 1 || len(d.Collisions) != 0 {
				t.Errorf("engine %s, tasks read %d, resets %d, overdue %d, collisions %v", d.Engine, d.TasksRead, d.PasswordResets, d.Overdue, d.Collisions)
			}
			wantRoles := []djangoimport.Role{
				{ID: dashed(djangotest.RoleAdmin), Name: "admin", As: "admin"},
				{ID: dashed(djangotest.RoleAuditor), Name: "auditor", As: "user"},
				{ID: dashed(djangotest.RoleManager), Name: "manager", As: "manager"},
				{ID: dashed(djangotest.RoleUser), Name: "user", As: "user"},
			}
			if !slices.Equal(d.Roles, wantRoles) {
				t.Errorf("roles\n got %+v\nwant %+v", d.Roles, wantRoles)
			}
			if len(d.Users) != len(users) {
				t.Fatalf("%d users, want %d", len(d.Users), len(users))
			}
			for i := range users {
				if !reflect.DeepEqual(d.Users[i], users[i]) {
					t.Errorf("user %d\n got %+v\nwant %+v", users[i].ID, d.Users[i], users[i])
				}
			}
			if len(d.Tasks) != len(tasks) {
				t.Fatalf("%d tasks, want %d", len(d.Tasks), len(tasks))
			}
			for i := range tasks {
				if !reflect.DeepEqual(d.Tasks[i], tasks[i]) {
					t.Errorf("task %s\n got %+v\nwant %+v", tasks[i].ID, d.Tasks[i], tasks[i])
				}
			}
			if !slices.Equal(d.Notes, notes) {
				t.Errorf("notes:\n got %q\nwant %q", d.Notes, notes)
			}
		})
	}
}

func TestReadFindsUsernameCollisions(t *testing.T) {
	for _, src := range sources {
		t.Run(src.name, func(t *testing.T) {
			q := djangotest.Quirks()
			q.Users = append(q.Users, q.Users[2], q.Users[1])
			q.Users[9].ID, q.Users[9].Username = 10, "ＮｏＲｏｌｅ" // fullwidth
			q.Users[10].ID, q.Users[10].Username = 11, "MGR"
			d, err := djangoimport.Read(context.Background(), src.make(t, q), djangotest.At)
			if err != nil {
				t.Fatal(err)
			}
			want := []djangoimport.Collision{
				{Key: "mgr", Users: []djangoimport.UserRef{{ID: 2, Username: "mgr"}, {ID: 11, Username: "MGR"}}},
				{Key: "norole", Users: []djangoimport.UserRef{{ID: 3, Username: "norole"}, {ID: 10, Username: "ＮｏＲｏｌｅ"}}},
			}
			if !reflect.DeepEqual(d.Collisions, want) {
				t.Errorf("collisions\n got %+v\nwant %+v", d.Collisions, want)
			}
		})
	}
}

func TestReadRefusesWhatItCannotReadSafely(t *testing.T) {
	dir := t.TempDir()
	notDjango := filepath.Join(dir, "other.sqlite3")
	if err := os.WriteFile(notDjango, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	withWAL := djangotest.SQLite(t, djangotest.Quirks())
	if err := os.WriteFile(withWAL+"-wal", []byte("pending frames"), 0o600); err != nil {
		t.Fatal(err)
	}
	withJournal := djangotest.SQLite(t, djangotest.Quirks())
	if err := os.WriteFile(withJournal+"-journal", []byte("hot journal"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, source, want string
	}{
		{"missing", filepath.Join(dir, "nope.sqlite3"), "no such file or directory"},
		{"directory", dir, "is a directory"},
		{"not the original", notDjango, "not a database of the Django version (table user_role"},
		{"wal", withWAL, withWAL + "-wal holds changes not yet in the database file"},
		{"journal", withJournal, withJournal + "-journal holds changes not yet in the database file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, filepath.Dir(tc.source))
			_, err := djangoimport.Read(context.Background(), tc.source, djangotest.At)
			var se *djangoimport.SourceError
			if !errors.As(err, &se) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want a SourceError containing %q", err, tc.want)
			}
			if after := snapshot(t, filepath.Dir(tc.source)); !reflect.DeepEqual(before, after) {
				t.Errorf("files changed: %d before, %d after", len(before), len(after))
			}
		})
	}
}
