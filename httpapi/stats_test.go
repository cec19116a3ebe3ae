package httpapi_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"tasktrack"
	"tasktrack/sqlstore"
	. "tasktrack/sqlstore/sqlstoretest"
)

// jsonEqual reports whether two JSON texts hold the same value.
func jsonEqual(t *testing.T, got []byte, want string) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("decode %s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("decode the wanted %s: %v", want, err)
	}
	return reflect.DeepEqual(g, w)
}

// emptyWeeks lists the eleven empty weeks before the week of t0.
const emptyWeeks = `
	{"week_start": "2025-12-15", "completed": 0, "completed_on_time": 0, "missed": 0},
	{"week_start": "2025-12-22", "completed": 0, "completed_on_time": 0, "missed": 0},
	{"week_start": "2025-12-29", "completed": 0, "completed_on_time": 0, "missed": 0},
	{"week_start": "2026-01-05", "completed": 0, "completed_on_time": 0, "missed": 0},
	{"week_start": "2026-01-12", "completed": 0, "completed_on_time": 0, "missed": 0},
	{"week_start": "2026-01-19", "completed": 0, "completed_on_time": 0, "missed": 0},
	{"week_start": "2026-01-26", "completed": 0, "completed_on_time": 0, "missed": 0},
	{"week_start": "2026-02-02", "completed": 0, "completed_on_time": 0, "missed": 0},
	{"week_start": "2026-02-09", "completed": 0, "completed_on_time": 0, "missed": 0},
	{"week_start": "2026-02-16", "completed": 0, "completed_on_time": 0, "missed": 0},
	{"week_start": "2026-02-23", "completed": 0, "completed_on_time": 0, "missed": 0},`

func TestStats(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ev := newEnv(t, e)
		boss := ev.newUser("boss", "manager")
		alice := ev.newUser("alice", "user")
		bob := ev.newUser("bob", "user")
		a := boss.newTask(alice, "on time", time.Hour)
		b := boss.newTask(alice, "late", 2*time.Hour)
		boss.newTask(alice, "due tomorrow", 20*time.Hour)
		boss.newTask(bob, "missed", time.Hour)
		// Access tokens live five minutes: sign in again after the clock moves.
		again := func() {
			alice, bob, boss = ev.login("alice", userPassword("alice")), ev.login("bob", userPassword("bob")), ev.login("boss", userPassword("boss"))
			ev.admin = ev.login("admin", adminPassword)
		}
		ev.clock.Add(30 * time.Minute)
		again()
		if r := alice.Do("PATCH", "/api/task/tasks/"+a+"/update_status/", map[string]string{"status": "completed"}); r.Status != 200 {
			t.Fatalf("complete: %d %s", r.Status, r.Body)
		}
		ev.clock.Add(time.Hour)
		if _, err := ev.db.Sweeper.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
		ev.clock.Add(90 * time.Minute) // t0 + 3h, an hour after "late" was due
		again()
		if r := boss.Do("PATCH", "/api/task/tasks/"+b+"/update_status/", map[string]string{"status": "completed"}); r.Status != 200 {
			t.Fatalf("complete late: %d %s", r.Status, r.Body)
		}

		person := func(id int64, name, role string, roleID, open, missed int, atRisk bool, rate string) string {
			return `{"id": ` + itoa(id) + `, "username": "` + name + `", "role": {"id": ` + itoa(int64(roleID)) + `, "name": "` + role +
				`"}, "is_active": true, "open": ` + itoa(int64(open)) + `, "missed_in_window": ` + itoa(int64(missed)) +
				`, "at_risk": ` + map[bool]string{true: "true", false: "false"}[atRisk] + `, "on_time_rate": ` + rate + `}`
		}
		team := `{
			"generated_at": "2026-03-02T12:00:00.000000Z",
			"tasks": {"pending": 1, "in_progress": 0, "completed": 2, "missed": 1},
			"due_soon": 1,
			"weeks": [` + emptyWeeks + `
				{"week_start": "2026-03-02", "completed": 2, "completed_on_time": 1, "missed": 1}],
			"people": [` +
			person(bob.user.ID, "bob", "user", 3, 0, 1, false, "0") + `, ` +
			person(alice.user.ID, "alice", "user", 3, 1, 0, false, "0.5") + `, ` +
			person(1, "admin", "admin", 1, 0, 0, false, "null") + `, ` +
			person(boss.user.ID, "boss", "manager", 2, 0, 0, false, "null") + `],
			"me": ME,
			"threshold": 5,
			"window_hours": 168
		}`
		own := `{
			"generated_at": "2026-03-02T12:00:00.000000Z",
			"tasks": {"pending": 1, "in_progress": 0, "completed": 2, "missed": 0},
			"due_soon": 1,
			"weeks": [` + emptyWeeks + `
				{"week_start": "2026-03-02", "completed": 2, "completed_on_time": 1, "missed": 0}],
			"me": ` + person(alice.user.ID, "alice", "user", 3, 1, 0, false, "0.5") + `,
			"threshold": 5,
			"window_hours": 168
		}`
		cases := []struct {
			name   string
			c      *client
			status int
			want   string
		}{
			{"manager", boss, 200, strings.Replace(team, "ME", person(boss.user.ID, "boss", "manager", 2, 0, 0, false, "null"), 1)},
			{"admin", ev.admin, 200, strings.Replace(team, "ME", person(1, "admin", "admin", 1, 0, 0, false, "null"), 1)},
			{"user", alice, 200, own},
			{"anonymous", ev.anon(), 401, `{"detail": "Authentication credentials were not provided."}`},
		}
		for _, c := range cases {
			for _, path := range []string{"/api/stats/", "/api/stats"} {
				r := c.c.Do("GET", path, nil)
				if r.Status != c.status || !jsonEqual(t, r.Body, c.want) {
					t.Errorf("%s: GET %s = %d %s\nwant %d %s", c.name, path, r.Status, r.Body, c.status, c.want)
				}
			}
		}
		if r := boss.Do("POST", "/api/stats/", nil); r.Status != 405 || r.Header.Get("Allow") != "GET, HEAD, OPTIONS" {
			t.Errorf("POST: %d %v", r.Status, r.Header)
		}
	})
}

// csvRows parses a CSV body.
func csvRows(t *testing.T, body []byte) [][]string {
	t.Helper()
	rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("parse %q: %v", body, err)
	}
	return rows
}

// A cell a spreadsheet would run is exported as text, and what CSV must
// quote comes back as it went in.
func TestExportCSVCells(t *testing.T) {
	ev := newEnv(t, SQLite)
	boss := ev.newUser("boss", "manager")
	alice := ev.newUser("+alice", "user")
	cases := []struct{ title, description, wantTitle, wantDescription string }{
		{`=cmd|' /C calc'!A0`, "", `'=cmd|' /C calc'!A0`, ""},
		{"+1 day", "-2 days", "'+1 day", "'-2 days"},
		{"@SUM(A1:A9)", "\tindented", "'@SUM(A1:A9)", "'\tindented"},
		{"plain", "\rreturn", "plain", "'\rreturn"},
		{`Report, "final"`, "two\nlines, and a \"quote\"", `Report, "final"`, "two\nlines, and a \"quote\""},
		{"a = b", "x;y", "a = b", "x;y"},
	}
	for _, c := range cases {
		r := boss.Do("POST", "/api/task/tasks/", map[string]any{"title": c.title, "description": c.description,
			"deadline": ev.clock.Now().Add(time.Hour).Format(time.RFC3339), "assigned_to": alice.user.ID})
		if r.Status != 201 {
			t.Fatalf("create %q: %d %s", c.title, r.Status, r.Body)
		}
		ev.clock.Add(time.Second)
	}
	r := boss.Do("GET", "/api/task/tasks/?format=csv&ordering=created_at", nil)
	if r.Status != 200 || r.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
		r.Header.Get("Content-Disposition") != `attachment; filename="tasks-2026-03-02.csv"` || r.Header.Get("X-Total-Count") != "" {
		t.Fatalf("export: %d %v", r.Status, r.Header)
	}
	rows := csvRows(t, r.Body)
	if want := []string{"id", "title", "description", "deadline", "status", "assigned_to", "assigned_to_username",
		"created_by", "created_at", "updated_at", "completed_at", "missed_at"}; !slices.Equal(rows[0], want) {
		t.Errorf("header %q", rows[0])
	}
	if len(rows) != len(cases)+1 {
		t.Fatalf("%d rows, want %d", len(rows), len(cases)+1)
	}
	for i, c := range cases {
		row := rows[i+1]
		if row[1] != c.wantTitle || row[2] != c.wantDescription {
			t.Errorf("title %q, description %q: exported %q, %q; want %q, %q", c.title, c.description, row[1], row[2], c.wantTitle, c.wantDescription)
		}
		if row[6] != "'+alice" || row[7] != itoa(boss.user.ID) || row[4] != "pending" || row[10] != "" ||
			row[8] != ev.clock.Now().Add(time.Duration(i-len(cases))*time.Second).UTC().Format("2006-01-02T15:04:05.000000Z") {
			t.Errorf("row %d: %q", i, row)
		}
	}
}

// The same rows as the JSON list, in its order, with its filters: the
// whole list, whatever limit and offset say; a user's own tasks only; the
// missed list and the audit log for those who may read them.
func TestExportCSV(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ev := newEnv(t, e)
		boss := ev.newUser("boss", "manager")
		alice := ev.newUser("alice", "user")
		bob := ev.newUser("bob", "user")
		for i := 0; i < 12; i++ {
			boss.newTask([]*client{alice, bob}[i%2], []string{"Write", "review", "Plan"}[i%3]+" "+itoa(int64(i)), time.Duration(i%4+1)*time.Hour)
		}
		ev.clock.Add(2*time.Hour + time.Minute)
		if _, err := ev.db.Sweeper.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
		boss, alice = ev.login("boss", userPassword("boss")), ev.login("alice", userPassword("alice"))
		ev.admin = ev.login("admin", adminPassword)
		jsonIDs := func(c *client, path string) []string {
			t.Helper()
			r := c.Do("GET", path, nil)
			var items []struct {
				ID any `json:"id"`
			}
			r.Decode(t, &items)
			var out []string
			for _, it := range items {
				b, _ := json.Marshal(it.ID)
				out = append(out, strings.Trim(string(b), `"`))
			}
			return out
		}
		csvIDs := func(rows [][]string) []string {
			var out []string
			for _, row := range rows[1:] {
				out = append(out, row[0])
			}
			return out
		}
		cases := []struct {
			name     string
			c        *client
			path     string // the JSON list; the export adds format=csv or Accept
			accept   string
			filename string
		}{
			{"all", boss, "/api/task/tasks/?ordering=-title", "", "tasks"},
			{"filtered", boss, "/api/task/tasks/?status=pending&search=RE&ordering=-created_at", "", "tasks"},
			{"by Accept", boss, "/api/task/tasks/?assigned_to=" + itoa(bob.user.ID), "text/csv", "tasks"},
			{"preferred by Accept", boss, "/api/task/tasks/", "application/json;q=0.5, text/csv", "tasks"},
			{"own", alice, "/api/task/tasks/", "", "tasks"},
			{"missed", boss, "/api/task/tasks/missed/", "", "missed"},
			{"missed by deadline", boss, "/api/task/tasks/missed/?ordering=deadline", "", "missed"},
			{"audit", ev.admin, "/api/audit/?action=task.create", "", "audit"},
		}
		for _, c := range cases {
			want := jsonIDs(c.c, c.path+map[bool]string{true: "&", false: "?"}[strings.Contains(c.path, "?")]+"limit=1000")
			sep := map[bool]string{true: "&", false: "?"}[strings.Contains(c.path, "?")]
			var r *response
			if c.accept != "" {
				r = c.c.Do("GET", c.path+sep+"limit=2&offset=1", nil, "Accept", c.accept)
			} else {
				r = c.c.Do("GET", c.path+sep+"format=csv&limit=2&offset=1", nil)
			}
			if r.Status != 200 || r.Header.Get("Content-Disposition") != `attachment; filename="`+c.filename+`-2026-03-02.csv"` {
				t.Errorf("%s: %d %v %s", c.name, r.Status, r.Header, r.Body)
				continue
			}
			got := csvIDs(csvRows(t, r.Body))
			if len(want) < 2 || !slices.Equal(got, want) {
				t.Errorf("%s: exported %v, listed %v", c.name, got, want)
			}
			if c.c == alice {
				for _, row := range csvRows(t, r.Body)[1:] {
					if row[5] != itoa(alice.user.ID) {
						t.Errorf("alice's export holds %q", row)
					}
				}
			}
		}
		// JSON when asked for it, or by default.
		for _, h := range [][]string{nil, {"Accept", "*/*"}, {"Accept", "application/json, text/csv;q=0.5"}, {"Accept", "text/*"}} {
			if r := boss.Do("GET", "/api/task/tasks/?limit=2", nil, h...); r.Status != 200 || r.Header.Get("Content-Type") != "application/json" {
				t.Errorf("Accept %v: %d %s", h, r.Status, r.Header.Get("Content-Type"))
			}
		}
		if r := boss.Do("GET", "/api/task/tasks/?format=json&limit=2", nil, "Accept", "text/csv"); r.Status != 200 || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("format=json with Accept text/csv: %d %s", r.Status, r.Header.Get("Content-Type"))
		}
		// Refusals answer as they do for JSON.
		refusals := []struct {
			name   string
			c      *client
			path   string
			status int
			body   string
		}{
			{"a user's missed list", alice, "/api/task/tasks/missed/?format=csv", 403, `{"detail": "You do not have permission to perform this action."}`},
			{"a manager's audit log", boss, "/api/audit/?format=csv", 403, `{"detail": "You do not have permission to perform this action."}`},
			{"a bad format", boss, "/api/task/tasks/?format=xml", 400, `{"format": ["Select a valid choice. xml is not one of the available choices: json, csv."]}`},
			{"a bad filter", boss, "/api/task/tasks/?format=csv&status=done", 400, `{"status": ["Select a valid choice. done is not one of the available choices."]}`},
			{"no credentials", ev.anon(), "/api/task/tasks/?format=csv", 401, `{"detail": "Authentication credentials were not provided."}`},
		}
		for _, c := range refusals {
			if r := c.c.Do("GET", c.path, nil); r.Status != c.status || !jsonEqual(t, r.Body, c.body) {
				t.Errorf("%s: %d %s", c.name, r.Status, r.Body)
			}
		}
		// HEAD: the headers alone.
		req, _ := http.NewRequest("HEAD", ev.srv.URL+"/api/task/tasks/?format=csv", nil)
		if r := boss.Send(req); r.Status != 200 || len(r.Body) != 0 || r.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
			t.Errorf("HEAD: %d %v %q", r.Status, r.Header, r.Body)
		}
		// An empty list is its header.
		r := boss.Do("GET", "/api/task/tasks/?format=csv&search=nothing-matches", nil)
		if r.Status != 200 || string(r.Body) != strings.Join(taskHeader, ",")+"\n" {
			t.Errorf("empty export: %d %q", r.Status, r.Body)
		}
	})
}

var taskHeader = []string{"id", "title", "description", "deadline", "status", "assigned_to", "assigned_to_username",
	"created_by", "created_at", "updated_at", "completed_at", "missed_at"}

// A 200,000-row export streams: the server's heap stays flat while the
// client reads it row by row, far below the size of the whole file.
func TestExportCSVStreamsInFlatMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a database with 200,000 tasks")
	}
	Engines(t, func(t *testing.T, e Engine) {
		const n = 200_000
		ev := newEnv(t, e)
		boss := ev.newUser("boss", "manager")
		i := 0
		_, err := ev.db.Bulk.InsertTasks(context.Background(), func() (sqlstore.BulkTask, bool) {
			i++
			return sqlstore.BulkTask{Title: "Task number " + itoa(int64(i)), Description: strings.Repeat("words, \"quoted\" and more ", 4),
				Deadline: t0.Add(time.Duration(i) * time.Minute), Status: tasktrack.StatusPending,
				AssignedTo: boss.user.ID, CreatedBy: boss.user.ID, CreatedAt: t0}, i <= n
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("GET", ev.srv.URL+"/api/task/tasks/?format=csv", nil)
		req.Header.Set("Authorization", "Bearer "+boss.Access)
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		base, peak := ms.HeapAlloc, ms.HeapAlloc
		res, err := ev.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		counted := &countingReader{r: res.Body}
		rd := csv.NewReader(counted)
		rd.ReuseRecord = true
		rows := 0
		for {
			rec, err := rd.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("row %d: %v", rows, err)
			}
			if rows > 0 && rec[1] != "Task number "+itoa(int64(rows)) {
				t.Fatalf("row %d: %q", rows, rec[1])
			}
			rows++
			if rows%5000 == 0 {
				// The live heap: what the server holds, not the garbage a
				// collection has not reached yet (which varies with whatever
				// else runs in the process).
				runtime.GC()
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapAlloc)
			}
		}
		if rows != n+1 {
			t.Fatalf("%d rows, want %d and the header", rows, n)
		}
		growth := int64(peak) - int64(base)
		t.Logf("%s: %d rows, %.1f MB of CSV; live heap %.1f MB before, at most %.1f MB during (sampled after a collection every 5,000 rows)",
			e, n, float64(counted.n)/1e6, float64(base)/1e6, float64(peak)/1e6)
		// Held whole, the rows would take more than the file's size.
		if counted.n < 50_000_000 || growth > 16<<20 {
			t.Errorf("the heap grew by %.1f MB while %.1f MB of CSV streamed", float64(growth)/1e6, float64(counted.n)/1e6)
		}
	})
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
