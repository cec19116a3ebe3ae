package main

// End-to-end tests of the real binary: `go build`, then the commands and
// the HTTP API as an operator and clients would use them.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"tasktrack"
	"tasktrack/internal/apitest"
	. "tasktrack/sqlstore/sqlstoretest"
)

// TestServeMainFlow walks the everyday flow through the running binary:
// the admin creates people, a manager assigns work, a user completes it,
// and a user is deactivated and reactivated.
func TestServeMainFlow(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the binary")
	}
	t.Parallel()
	Engines(t, func(t *testing.T, e Engine) {
		t.Parallel()
		s := startServe(t, DSN(t, e), adminEnv)
		admin := s.login(t, "admin", adminPassword)

		var me struct {
			Username string
			Role     struct {
				ID   int
				Name string
			}
		}
		admin.Want("GET", "/api/user/me/", nil, http.StatusOK).Decode(t, &me)
		if me.Username != "admin" || me.Role.Name != "admin" || me.Role.ID != 1 {
			t.Fatalf("admin /me: %+v", me)
		}

		managerID := admin.CreateUser("maria", "manager", "maria@example.com")
		umaID := admin.CreateUser("uma", "user", "uma@example.com")
		ulfID := admin.CreateUser("ulf", "user", "ulf@example.com")
		manager := s.login(t, "maria", userPassword("maria"))
		uma := s.login(t, "uma", userPassword("uma"))
		ulf := s.login(t, "ulf", userPassword("ulf"))
		if manager.ID != managerID || uma.ID != umaID || ulf.ID != ulfID {
			t.Fatalf("ids: /me says %d %d %d, create said %d %d %d", manager.ID, uma.ID, ulf.ID, managerID, umaID, ulfID)
		}
		// A user may not create users or tasks.
		uma.Want("POST", "/api/user/users/", map[string]string{"username": "x", "password": "long-enough-pw"}, http.StatusForbidden)

		deadline := time.Now().Add(24 * time.Hour)
		umaTask := manager.CreateTask(umaID, "Write the report", deadline)
		ulfTask := manager.CreateTask(ulfID, "Check the figures", deadline)
		uma.Want("POST", "/api/task/tasks/", map[string]any{"title": "mine", "deadline": deadline.Format(time.RFC3339), "assigned_to": umaID}, http.StatusForbidden)

		var task struct {
			ID                 string
			Status             string
			AssignedTo         int64   `json:"assigned_to"`
			AssignedToUsername string  `json:"assigned_to_username"`
			CreatedBy          int64   `json:"created_by"`
			CompletedAt        *string `json:"completed_at"`
		}
		manager.Want("GET", "/api/task/tasks/"+umaTask+"/", nil, http.StatusOK).Decode(t, &task)
		if task.Status != "pending" || task.AssignedTo != umaID || task.AssignedToUsername != "uma" || task.CreatedBy != managerID || task.CompletedAt != nil {
			t.Fatalf("new task: %+v", task)
		}

		// Each user sees only their own task.
		var list []struct{ ID string }
		r := uma.Want("GET", "/api/task/tasks/", nil, http.StatusOK)
		r.Decode(t, &list)
		if len(list) != 1 || list[0].ID != umaTask || r.Header.Get("X-Total-Count") != "1" {
			t.Fatalf("uma's tasks: %s (total %q)", r.Body, r.Header.Get("X-Total-Count"))
		}
		uma.Want("GET", "/api/task/tasks/"+ulfTask+"/", nil, http.StatusNotFound)
		uma.Want("PATCH", "/api/task/tasks/"+ulfTask+"/update_status/", map[string]string{"status": "completed"}, http.StatusNotFound)
		r = manager.Want("GET", "/api/task/tasks/", nil, http.StatusOK)
		if r.Header.Get("X-Total-Count") != "2" {
			t.Fatalf("manager's list: total %q: %s", r.Header.Get("X-Total-Count"), r.Body)
		}

		// uma works on her task and completes it.
		uma.Want("PATCH", "/api/task/tasks/"+umaTask+"/update_status/", map[string]string{"status": "in_progress"}, http.StatusOK).Decode(t, &task)
		if task.Status != "in_progress" {
			t.Fatalf("after in_progress: %+v", task)
		}
		uma.Want("PATCH", "/api/task/tasks/"+umaTask+"/update_status/", map[string]string{"status": "completed", "title": "ignored"}, http.StatusOK).Decode(t, &task)
		if task.Status != "completed" || task.CompletedAt == nil {
			t.Fatalf("after completed: %+v", task)
		}
		uma.Want("PATCH", "/api/task/tasks/"+umaTask+"/update_status/", map[string]string{"status": "missed"}, http.StatusBadRequest)
		manager.Want("GET", "/api/task/tasks/"+umaTask+"/", nil, http.StatusOK).Decode(t, &task)
		if task.Status != "completed" || task.CompletedAt == nil {
			t.Fatalf("manager sees: %+v", task)
		}
		r = manager.Want("GET", "/api/task/tasks/?status=completed", nil, http.StatusOK)
		r.Decode(t, &list)
		if len(list) != 1 || list[0].ID != umaTask {
			t.Fatalf("completed tasks: %s", r.Body)
		}

		// The admin deactivates ulf: his token stops working at once and
		// he cannot sign in.
		r = admin.Want("POST", fmt.Sprintf("/api/user/users/%d/deactivate/", ulfID), nil, http.StatusOK)
		if got := r.Object(t)["status"]; got != "User deactivated" {
			t.Fatalf("deactivate: %s", r.Body)
		}
		r = ulf.Want("GET", "/api/user/me/", nil, http.StatusUnauthorized)
		if got := r.Object(t)["code"]; got != "token_not_valid" {
			t.Fatalf("deactivated user's token: %s", r.Body)
		}
		if r.Header.Get("WWW-Authenticate") == "" {
			t.Error("401 without WWW-Authenticate")
		}
		r = s.tryLogin(t, "ulf", userPassword("ulf"))
		if r.Status != http.StatusUnauthorized || r.Object(t)["detail"] != "No active account found with the given credentials" {
			t.Fatalf("inactive login: %d %s", r.Status, r.Body)
		}
		var u struct {
			IsActive           bool    `json:"is_active"`
			DeactivationReason *string `json:"deactivation_reason"`
		}
		manager.Want("GET", fmt.Sprintf("/api/user/users/%d/", ulfID), nil, http.StatusOK).Decode(t, &u)
		if u.IsActive || u.DeactivationReason == nil || *u.DeactivationReason != "manual" {
			t.Fatalf("deactivated user: %+v", u)
		}
		// Managers may not deactivate; they may reactivate.
		manager.Want("POST", fmt.Sprintf("/api/user/users/%d/deactivate/", umaID), nil, http.StatusForbidden)
		r = manager.Want("POST", fmt.Sprintf("/api/user/users/%d/reactivate/", ulfID), nil, http.StatusOK)
		if got := r.Object(t)["status"]; got != "User reactivated" {
			t.Fatalf("reactivate: %s", r.Body)
		}
		r = manager.Want("POST", fmt.Sprintf("/api/user/users/%d/reactivate/", ulfID), nil, http.StatusBadRequest)
		if got := r.Object(t)["status"]; got != "User already active" {
			t.Fatalf("reactivate twice: %s", r.Body)
		}
		// The old token stays revoked; a new sign-in works.
		ulf.Want("GET", "/api/user/me/", nil, http.StatusUnauthorized)
		ulf = s.login(t, "ulf", userPassword("ulf"))
		ulf.Want("GET", "/api/task/tasks/", nil, http.StatusOK).Decode(t, &list)
		if len(list) != 1 || list[0].ID != ulfTask {
			t.Fatalf("ulf's tasks after reactivation: %+v", list)
		}

		// The audit log names who did what.
		for _, c := range []struct {
			action, actor string
		}{
			{tasktrack.ActionUserDeactivate, "admin"},
			{tasktrack.ActionUserReactivate, "maria"},
		} {
			var entries []struct {
				Action string
				Actor  *struct{ Username string }
			}
			admin.Want("GET", fmt.Sprintf("/api/audit/?action=%s&target_id=%d", c.action, ulfID), nil, http.StatusOK).Decode(t, &entries)
			if len(entries) != 1 || entries[0].Actor == nil || entries[0].Actor.Username != c.actor {
				t.Errorf("audit %s: %+v", c.action, entries)
			}
		}
		manager.Want("GET", "/api/audit/", nil, http.StatusForbidden)
	})
}

var firstAdminLine = regexp.MustCompile(`created the first admin: username admin, password (\S+) \(shown once`)

// TestFirstStartPrintsAdminPassword starts the server twice in one
// directory with the default database: the first start makes the admin
// with a random password printed once, the second prints nothing and keeps
// the password, and tokens survive the restart because the signing secret
// is kept in the database.
func TestFirstStartPrintsAdminPassword(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the binary")
	}
	t.Parallel()
	dir := t.TempDir()
	s := startServeIn(t, dir, "", nil)
	out := s.stderr.String()
	m := firstAdminLine.FindAllStringSubmatch(out, -1)
	if len(m) != 1 {
		t.Fatalf("want the admin password printed once on the first start, got %d times:\n%s", len(m), out)
	}
	password := m[0][1]
	if len(password) < 16 {
		t.Fatalf("random admin password %q is too short", password)
	}
	admin := s.login(t, "admin", password)
	s.stop()
	if _, err := os.Stat(filepath.Join(dir, "tasktrack.db")); err != nil {
		t.Fatalf("default database: %v", err)
	}

	// A second start, even with an admin password set, changes nothing:
	// the database already has users.
	s2 := startServeIn(t, dir, "", adminEnv)
	if out := s2.stderr.String(); strings.Contains(out, "first admin") || strings.Contains(out, password) {
		t.Fatalf("second start printed a password:\n%s", out)
	}
	admin.URL = s2.url
	var me struct{ Username string }
	admin.Want("GET", "/api/user/me/", nil, http.StatusOK).Decode(t, &me)
	if me.Username != "admin" {
		t.Fatalf("old token: /me is %q", me.Username)
	}
	r := admin.Want("POST", "/api/token/refresh/", map[string]string{"refresh": admin.Refresh}, http.StatusOK)
	if r.Object(t)["access"] == "" {
		t.Fatalf("refresh: %s", r.Body)
	}
	s2.login(t, "admin", password)
	if r := s2.tryLogin(t, "admin", adminPassword); r.Status != http.StatusUnauthorized {
		t.Fatalf("login with the ignored TASKTRACK_ADMIN_PASSWORD: %d %s", r.Status, r.Body)
	}
}

// TestBadSettings checks that each bad setting stops the program at once
// with exit code 2 and one line naming the setting.
func TestBadSettings(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	t.Parallel()
	cases := []struct {
		name  string
		args  []string
		env   []string
		names []string // what the line must name
	}{
		{"access-ttl flag", []string{"--access-ttl", "banana"}, nil, []string{"--access-ttl", "banana"}},
		{"sweep-interval variable", nil, []string{"TASKTRACK_SWEEP_INTERVAL=-1s"}, []string{"--sweep-interval", "$TASKTRACK_SWEEP_INTERVAL"}},
		{"missed-threshold", []string{"--missed-threshold", "0"}, nil, []string{"--missed-threshold"}},
		{"short jwt secret", []string{"--jwt-secret", "short"}, nil, []string{"--jwt-secret", "32 bytes"}},
		{"database in a missing directory", []string{"--database", "/nonexistent-dir/x.db"}, nil, []string{"--database", "/nonexistent-dir/x.db"}},
		{"addr", []string{"--addr", "nonsense"}, nil, []string{"--addr", "nonsense"}},
		{"addr variable", nil, []string{"TASKTRACK_ADDR=nonsense"}, []string{"--addr", "$TASKTRACK_ADDR"}},
		{"metrics-addr", []string{"--metrics-addr", "nonsense"}, nil, []string{"--metrics-addr", "nonsense"}},
		{"public-url not absolute", []string{"--public-url", "tasks.example.com"}, nil, []string{"--public-url", "tasks.example.com", "absolute"}},
		{"public-url scheme", nil, []string{"TASKTRACK_PUBLIC_URL=ftp://tasks.example.com"}, []string{"--public-url", "$TASKTRACK_PUBLIC_URL", "http"}},
		{"public-url with a query", []string{"--public-url", "https://tasks.example.com/?a=1"}, nil, []string{"--public-url"}},
		{"public-url without a host", []string{"--public-url", "https:///path"}, nil, []string{"--public-url"}},
		{"flag beats a good variable", []string{"--access-ttl", "-5m"}, []string{"TASKTRACK_ACCESS_TTL=5m"}, []string{"--access-ttl"}},
		{"listen URL not PostgreSQL", []string{"--database-listen-url", "mysql://x"}, nil, []string{"--database-listen-url", "postgres://"}},
		{"listen URL with SQLite", nil, []string{"TASKTRACK_DATABASE_LISTEN_URL=postgres://127.0.0.1/x"}, []string{"--database-listen-url", "$TASKTRACK_DATABASE_LISTEN_URL", "PostgreSQL"}},
		{"reminders", []string{"--reminders", "24h,soon"}, nil, []string{"--reminders", `"soon" is not a duration`}},
		{"reminders variable", nil, []string{"TASKTRACK_REMINDERS=1h,-5m"}, []string{"--reminders", "$TASKTRACK_REMINDERS", `"-5m" is shorter than a second`}},
		{"smtp-url scheme", []string{"--smtp-url", "http://mail.example.com"}, nil, []string{"--smtp-url", "(hidden)", "not smtp or smtps"}},
		// The URL's password never shows, even when the URL is bad.
		{"smtp-url port", nil, []string{"TASKTRACK_SMTP_URL=smtp://tt:hunter2@mail.example.com:99999"}, []string{"--smtp-url", "(hidden)", "bad port"}},
		{"smtp-from", []string{"--smtp-from", "not an address"}, nil, []string{"--smtp-from", "not an address"}},
		{"smtp-retry-base", []string{"--smtp-retry-base", "0"}, nil, []string{"--smtp-retry-base"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := []string{"serve"}
			if !slices.Contains(c.args, "--addr") && !slices.ContainsFunc(c.env, func(s string) bool { return strings.HasPrefix(s, "TASKTRACK_ADDR=") }) {
				args = append(args, "--addr", freeAddr(t))
			}
			if !slices.Contains(c.args, "--database") {
				args = append(args, "--database", sqliteFile(t))
			}
			r := runBinaryWithin(t, 20*time.Second, c.env, "", append(args, c.args...)...)
			if r.code != 2 {
				t.Fatalf("exit code %d, want 2\nstderr: %s", r.code, r.stderr)
			}
			line := strings.TrimSuffix(r.stderr, "\n")
			if line == "" || strings.Contains(line, "\n") {
				t.Fatalf("want one line on stderr, got:\n%s", r.stderr)
			}
			for _, n := range c.names {
				if !strings.Contains(line, n) {
					t.Errorf("stderr %q does not name %q", line, n)
				}
			}
			if r.stdout != "" {
				t.Errorf("stdout: %q", r.stdout)
			}
			if strings.Contains(line, "hunter2") {
				t.Errorf("stderr %q shows a password", line)
			}
		})
	}
	// A metrics address another program holds stops the start, as a
	// taken --addr does.
	t.Run("metrics-addr in use", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		r := runBinaryWithin(t, 20*time.Second, adminEnv, "", "serve", "--addr", freeAddr(t), "--database", sqliteFile(t),
			"--metrics-addr", ln.Addr().String())
		line := strings.TrimSuffix(r.stderr, "\n")
		if r.code != 2 || strings.Contains(line, "\n") || !strings.Contains(line, "--metrics-addr") || !strings.Contains(line, ln.Addr().String()) {
			t.Fatalf("exit code %d, stderr %q", r.code, r.stderr)
		}
	})
	t.Run("secret not shown", func(t *testing.T) {
		secret := "not-long-enough-secret"
		r := runBinaryWithin(t, 20*time.Second, []string{"TASKTRACK_JWT_SECRET=" + secret}, "", "serve", "--addr", freeAddr(t), "--database", sqliteFile(t))
		if r.code != 2 || strings.Contains(r.stderr, secret) || !strings.Contains(r.stderr, "--jwt-secret") {
			t.Fatalf("exit code %d, stderr %q", r.code, r.stderr)
		}
	})
}

// TestFlagBeatsVariable starts the server with bad variables overridden by
// good flags, and checks that variables without a flag take effect.
func TestFlagBeatsVariable(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the binary")
	}
	t.Parallel()
	env := append([]string{"TASKTRACK_ADDR=nonsense", "TASKTRACK_ACCESS_TTL=banana", "TASKTRACK_REFRESH_TTL=90m"}, adminEnv...)
	s := startServe(t, sqliteFile(t), env, "--access-ttl", "2m")
	admin := s.login(t, "admin", adminPassword)
	for _, c := range []struct {
		token string
		ttl   int64
	}{{admin.Access, 120}, {admin.Refresh, 90 * 60}} {
		claims := jwtClaims(t, c.token)
		if got := claims.Exp - claims.Iat; got != c.ttl {
			t.Errorf("%s token lives %ds, want %ds", claims.TokenType, got, c.ttl)
		}
	}
}

// TestPublicURL: with --public-url set (a trailing slash is dropped),
// pagination links and the calendar's subscribe URL are absolute under
// it; without it, the subscribe URL is under http:// and the listen
// address.
func TestPublicURL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the binary")
	}
	t.Parallel()
	s := startServe(t, sqliteFile(t), adminEnv, "--sweep-interval", "0", "--public-url", "https://tasks.example.com/tt/")
	admin := s.login(t, "admin", adminPassword)
	admin.CreateUser("ann", "user", "ann@example.com")
	r := admin.Want("GET", "/api/user/users/?limit=1", nil, http.StatusOK)
	if got, want := r.Header.Get("Link"), `<https://tasks.example.com/tt/api/user/users/?limit=1&offset=1>; rel="next"`; got != want {
		t.Errorf("Link %q, want %q", got, want)
	}
	subscribe := regexp.MustCompile(`^https://tasks\.example\.com/tt/api/calendar/[A-Za-z0-9_-]{43}/tasks\.ics$`)
	if u := admin.Want("GET", "/api/calendar/", nil, http.StatusOK).Object(t)["url"]; !subscribe.MatchString(fmt.Sprint(u)) {
		t.Errorf("subscribe URL %v", u)
	}

	plain := startServe(t, sqliteFile(t), adminEnv, "--sweep-interval", "0")
	admin = plain.login(t, "admin", adminPassword)
	subscribe = regexp.MustCompile(`^http://` + regexp.QuoteMeta(plain.addr) + `/api/calendar/[A-Za-z0-9_-]{43}/tasks\.ics$`)
	if u := admin.Want("GET", "/api/calendar/", nil, http.StatusOK).Object(t)["url"]; !subscribe.MatchString(fmt.Sprint(u)) {
		t.Errorf("subscribe URL without --public-url %v, want under http://%s", u, plain.addr)
	}
}

type claims struct {
	TokenType string `json:"token_type"`
	Iat, Exp  int64
}

// jwtClaims reads a token's claims without checking its signature.
func jwtClaims(t *testing.T, token string) claims {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", token)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c claims
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestVersionAndUnknownCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	t.Parallel()
	if out := mustRun(t, nil, "", "version"); out != "tasktrack "+tasktrack.Version+"\n" {
		t.Errorf("version: %q", out)
	}
	r := runBinary(t, nil, "", "frobnicate")
	if r.code != 2 || !strings.Contains(r.stderr, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: exit code %d, stderr %q", r.code, r.stderr)
	}
	r = runBinary(t, nil, "", "sweep", "--no-such-flag")
	if r.code != 2 {
		t.Errorf("unknown flag: exit code %d, stderr %q", r.code, r.stderr)
	}
}

// alert is the part of an alert's JSON the tests look at.
type alert struct {
	ID   string
	Kind string
	Task *struct {
		ID         string
		Status     string
		AssignedTo int64   `json:"assigned_to"`
		MissedAt   *string `json:"missed_at"`
	}
	User struct {
		ID       int64
		Username string
	}
}

// listAlerts returns every alert (newest first) with the query q.
func listAlerts(c *client, q string) []alert {
	c.T().Helper()
	var out []alert
	r := c.Want("GET", "/api/alerts/?limit=1000&"+q, nil, http.StatusOK)
	r.Decode(c.T(), &out)
	if n := r.Header.Get("X-Total-Count"); n != strconv.Itoa(len(out)) {
		c.T().Fatalf("alerts: X-Total-Count %q for %d alerts", n, len(out))
	}
	return out
}

var sweepLine = regexp.MustCompile(`^marked (\d+) tasks missed, deactivated (\d+) users\n$`)

// waitUntil polls the clock until t has passed.
func waitUntil(tb testing.TB, t time.Time) {
	tb.Helper()
	waitFor(tb, time.Until(t)+5*time.Second, "deadline to pass", func() bool { return time.Now().After(t) })
}

// TestSweepAcrossProcesses runs the sweep as a second process next to a
// server: the tasks are marked missed, the user deactivated, their token
// refused, and the server's event stream carries every alert.
func TestSweepAcrossProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the binary and waits for deadlines")
	}
	t.Parallel()
	Engines(t, func(t *testing.T, e Engine) {
		t.Parallel()
		dsn := DSN(t, e)
		s := startServe(t, dsn, adminEnv, "--sweep-interval", "0")
		admin := s.login(t, "admin", adminPassword)
		admin.CreateUser("mona", "manager", "mona@example.com")
		uweID := admin.CreateUser("uwe", "user", "uwe@example.com")
		utaID := admin.CreateUser("uta", "user", "uta@example.com")
		manager := s.login(t, "mona", userPassword("mona"))
		uwe := s.login(t, "uwe", userPassword("uwe"))
		uta := s.login(t, "uta", userPassword("uta"))

		due := time.Now().Add(2 * time.Second)
		var late []string
		for i := range 3 {
			late = append(late, manager.CreateTask(uweID, fmt.Sprintf("Late %d", i), due.Add(time.Duration(i)*10*time.Millisecond)))
		}
		done := manager.CreateTask(uweID, "Done in time", due)
		uwe.Want("PATCH", "/api/task/tasks/"+done+"/update_status/", map[string]string{"status": "completed"}, http.StatusOK)
		utaLate := manager.CreateTask(utaID, "Uta's late one", due)
		future := manager.CreateTask(uweID, "Next week", time.Now().Add(7*24*time.Hour))
		slices.Sort(late)

		stream := manager.OpenEvents(alertStreamPath, "")
		waitUntil(t, due.Add(50*time.Millisecond))

		out := mustRun(t, nil, "", "sweep", "--database", dsn, "--missed-threshold", "2")
		if m := sweepLine.FindStringSubmatch(out); m == nil || m[1] != "4" || m[2] != "1" {
			t.Fatalf("sweep printed %q, want 4 tasks missed and 1 user deactivated", out)
		}

		// uwe's token stops working on his next request; uta, with one
		// miss, keeps hers.
		r := uwe.Want("GET", "/api/task/tasks/", nil, http.StatusUnauthorized)
		if r.Object(t)["code"] != "token_not_valid" {
			t.Fatalf("deactivated user's token: %s", r.Body)
		}
		uta.Want("GET", "/api/user/me/", nil, http.StatusOK)
		var u struct {
			IsActive           bool    `json:"is_active"`
			DeactivationReason *string `json:"deactivation_reason"`
		}
		manager.Want("GET", fmt.Sprintf("/api/user/users/%d/", uweID), nil, http.StatusOK).Decode(t, &u)
		if u.IsActive || u.DeactivationReason == nil || *u.DeactivationReason != "missed_deadlines" {
			t.Fatalf("uwe after the sweep: %+v", u)
		}

		for id, want := range map[string]string{late[0]: "missed", late[1]: "missed", late[2]: "missed", utaLate: "missed", done: "completed", future: "pending"} {
			var task struct{ Status string }
			manager.Want("GET", "/api/task/tasks/"+id+"/", nil, http.StatusOK).Decode(t, &task)
			if task.Status != want {
				t.Errorf("task %s: status %q, want %q", id, task.Status, want)
			}
		}

		// The API lists the alerts: one per missed task, one for uwe, and
		// one for uta, one miss away from deactivation, newest first.
		alerts := listAlerts(manager, "")
		if len(alerts) != 6 {
			t.Fatalf("want 6 alerts, got %+v", alerts)
		}
		if a := alerts[0]; a.Kind != "user_at_risk" || a.Task != nil || a.User.ID != utaID || a.User.Username != "uta" {
			t.Errorf("newest alert: %+v", a)
		}
		if a := alerts[1]; a.Kind != "user_deactivated" || a.Task != nil || a.User.ID != uweID || a.User.Username != "uwe" {
			t.Errorf("second newest alert: %+v", a)
		}
		var missedTasks []string
		for _, a := range alerts[2:] {
			if a.Kind != "task_missed" || a.Task == nil || a.Task.Status != "missed" || a.Task.MissedAt == nil || a.User.ID != a.Task.AssignedTo {
				t.Fatalf("alert: %+v", a)
			}
			missedTasks = append(missedTasks, a.Task.ID)
		}
		slices.Sort(missedTasks)
		wantMissed := slices.Sorted(slices.Values(append(slices.Clone(late), utaLate)))
		if !slices.Equal(missedTasks, wantMissed) {
			t.Errorf("task_missed alerts for %v, want %v", missedTasks, wantMissed)
		}
		if got := listAlerts(manager, "kind=task_missed"); len(got) != 4 {
			t.Errorf("kind=task_missed: %d alerts", len(got))
		}
		uta.Want("GET", "/api/alerts/", nil, http.StatusForbidden)

		// The stream of the server, opened before the sweep, carries
		// every alert the other process made, oldest first.
		var streamed []apitest.Event
		for range alerts {
			ev := stream.Next(t, 10*time.Second)
			var a alert
			if err := json.Unmarshal([]byte(ev.Data), &a); err != nil {
				t.Fatalf("event data %q: %v", ev.Data, err)
			}
			if ev.Type != "alert" || ev.ID == "" || a.ID != ev.ID {
				t.Fatalf("event %+v", ev)
			}
			streamed = append(streamed, ev)
		}
		var want []string
		for _, a := range slices.Backward(alerts) {
			want = append(want, a.ID)
		}
		var got []string
		for _, ev := range streamed {
			got = append(got, ev.ID)
		}
		if !slices.Equal(got, want) {
			t.Errorf("streamed %v, want the listed alerts oldest first %v", got, want)
		}

		// Resuming after the first alert brings the others again.
		resumed := manager.OpenEvents(alertStreamPath, streamed[0].ID)
		for _, ev := range streamed[1:] {
			if got := resumed.Next(t, 10*time.Second); got.ID != ev.ID || got.Data != ev.Data {
				t.Fatalf("resumed stream: got %+v, want %+v", got, ev)
			}
		}

		// A second sweep finds nothing more to do.
		var res struct {
			At               *time.Time `json:"at"`
			TasksMissed      *int       `json:"tasks_missed"`
			UsersDeactivated *int       `json:"users_deactivated"`
		}
		out = mustRun(t, nil, "", "sweep", "--json", "--database", dsn, "--missed-threshold", "2")
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("sweep --json printed %q: %v", out, err)
		}
		if res.At == nil || res.TasksMissed == nil || *res.TasksMissed != 0 || res.UsersDeactivated == nil || *res.UsersDeactivated != 0 {
			t.Fatalf("second sweep: %s", out)
		}
		if got := listAlerts(manager, ""); len(got) != len(alerts) {
			t.Errorf("after the second sweep: %d alerts, want %d", len(got), len(alerts))
		}

		// The deactivation is audited with the system as its actor.
		var entries []struct {
			Actor   *struct{ Username string }
			Details map[string]any
		}
		admin.Want("GET", fmt.Sprintf("/api/audit/?action=%s&target_id=%d", tasktrack.ActionUserDeactivate, uweID), nil, http.StatusOK).Decode(t, &entries)
		if len(entries) != 1 || entries[0].Actor != nil {
			t.Errorf("audit of the deactivation: %+v", entries)
		}
	})
}

// TestConcurrentSweepProcesses starts several sweep processes at the same
// moment on one database with overdue tasks: every task is marked once and
// has exactly one alert.
func TestConcurrentSweepProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	t.Parallel()
	Engines(t, func(t *testing.T, e Engine) {
		t.Parallel()
		dsn := DSN(t, e)
		s := startServe(t, dsn, adminEnv, "--sweep-interval", "0")
		const overdue = 40
		out := mustRun(t, nil, "", "demo", "--database", dsn, "--users", "10", "--tasks", "80", "--overdue", strconv.Itoa(overdue), "--seed", "7")
		if !strings.Contains(out, fmt.Sprintf("and 80 tasks (%d overdue)", overdue)) {
			t.Fatalf("demo printed %q", out)
		}

		const procs = 4
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmds := make([]*exec.Cmd, procs)
		outs := make([]bytes.Buffer, procs)
		errs := make([]bytes.Buffer, procs)
		for i := range cmds {
			cmds[i] = command(t, ctx, "", nil, "sweep", "--json", "--database", dsn)
			cmds[i].Stdout, cmds[i].Stderr = &outs[i], &errs[i]
		}
		for _, c := range cmds {
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
		}
		var missed, deactivated int
		for i, c := range cmds {
			if err := c.Wait(); err != nil {
				t.Fatalf("sweep %d: %v\n%s", i, err, errs[i].String())
			}
			var res struct {
				TasksMissed      int `json:"tasks_missed"`
				UsersDeactivated int `json:"users_deactivated"`
			}
			if err := json.Unmarshal(outs[i].Bytes(), &res); err != nil {
				t.Fatalf("sweep %d printed %q: %v", i, outs[i].String(), err)
			}
			missed += res.TasksMissed
			deactivated += res.UsersDeactivated
		}
		if missed != overdue {
			t.Errorf("the sweeps marked %d tasks in all, want %d", missed, overdue)
		}

		admin := s.login(t, "admin", adminPassword)
		perTask := map[string]int{}
		for _, a := range listAlerts(admin, "kind=task_missed") {
			perTask[a.Task.ID]++
		}
		var tasks []struct{ ID string }
		r := admin.Want("GET", "/api/task/tasks/missed/?limit=1000", nil, http.StatusOK)
		r.Decode(t, &tasks)
		if len(tasks) != overdue || len(perTask) != overdue {
			t.Fatalf("%d missed tasks with alerts for %d tasks, want %d", len(tasks), len(perTask), overdue)
		}
		for _, task := range tasks {
			if perTask[task.ID] != 1 {
				t.Errorf("task %s has %d task_missed alerts, want 1", task.ID, perTask[task.ID])
			}
		}
		perUser := map[int64]int{}
		for _, a := range listAlerts(admin, "kind=user_deactivated") {
			perUser[a.User.ID]++
		}
		if len(perUser) != deactivated || deactivated == 0 {
			t.Errorf("user_deactivated alerts for %d users; the sweeps deactivated %d", len(perUser), deactivated)
		}
		for id, n := range perUser {
			if n != 1 {
				t.Errorf("user %d has %d user_deactivated alerts", id, n)
			}
		}
	})
}

// TestCreateUserCommand creates users from the command line, with the
// password in the environment or on standard input, and signs them in.
func TestCreateUserCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	t.Parallel()
	db := sqliteFile(t)
	out := mustRun(t, []string{"TASKTRACK_PASSWORD=boss-password-1"}, "", "createuser", "--database", db, "--username", "boss", "--role", "admin")
	if out != "created admin \"boss\" (id 1)\n" {
		t.Errorf("createuser boss: %q", out)
	}
	out = mustRun(t, nil, "carol-password-1\n", "createuser", "--database", db, "--username", "carol", "--role", "manager", "--email", "carol@example.com")
	if out != "created manager \"carol\" (id 2)\n" {
		t.Errorf("createuser carol: %q", out)
	}
	out = mustRun(t, nil, "dave-password-1", "createuser", "--database", db, "--username", "dave")
	if out != "created user \"dave\" (id 3)\n" {
		t.Errorf("createuser dave: %q", out)
	}
	for _, c := range []struct {
		name, stdin string
		env, args   []string
		mention     string
	}{
		{"bad role", "", []string{"TASKTRACK_PASSWORD=erin-password-1"}, []string{"--username", "erin", "--role", "wizard"}, "role"},
		{"no username", "", []string{"TASKTRACK_PASSWORD=erin-password-1"}, []string{"--role", "user"}, "--username"},
		{"no password", "", nil, []string{"--username", "erin"}, "TASKTRACK_PASSWORD"},
		{"weak password", "12345678901\n", nil, []string{"--username", "erin"}, "password"},
		{"taken username", "", []string{"TASKTRACK_PASSWORD=erin-password-1"}, []string{"--username", "CAROL"}, "username"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := runBinary(t, c.env, c.stdin, append([]string{"createuser", "--database", db}, c.args...)...)
			if r.code != 2 || !strings.Contains(r.stderr, c.mention) || r.stdout != "" {
				t.Errorf("exit code %d, stdout %q, stderr %q; want 2 and a line naming %s", r.code, r.stdout, r.stderr, c.mention)
			}
		})
	}

	s := startServe(t, db, adminEnv)
	if strings.Contains(s.stderr.String(), "first admin") {
		t.Errorf("a database with users got a first admin:\n%s", s.stderr.String())
	}
	for _, c := range []struct{ username, password, role, email string }{
		{"boss", "boss-password-1", "admin", ""},
		{"carol", "carol-password-1", "manager", "carol@example.com"},
		{"dave", "dave-password-1", "user", ""},
	} {
		cl := s.login(t, c.username, c.password)
		var me struct {
			Email string
			Role  struct{ Name string }
		}
		cl.Want("GET", "/api/user/me/", nil, http.StatusOK).Decode(t, &me)
		if me.Role.Name != c.role || me.Email != c.email {
			t.Errorf("%s: %+v", c.username, me)
		}
	}
	if r := s.tryLogin(t, "erin", "erin-password-1"); r.Status != http.StatusUnauthorized {
		t.Errorf("erin should not exist: %d %s", r.Status, r.Body)
	}
	if r := s.tryLogin(t, "admin", adminPassword); r.Status != http.StatusUnauthorized {
		t.Errorf("no admin should have been bootstrapped: %d %s", r.Status, r.Body)
	}
}

// TestDemoData fills a database with the demo command, serves it, and lets
// the server's first sweep mark the overdue tasks.
func TestDemoData(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	t.Parallel()
	db := sqliteFile(t)
	mustRun(t, []string{"TASKTRACK_PASSWORD=boss-password-1"}, "", "createuser", "--database", db, "--username", "boss", "--role", "admin")
	out := mustRun(t, nil, "", "demo", "--database", db, "--users", "20", "--tasks", "300")
	if !regexp.MustCompile(`^created 20 users \(2 managers; password "demo-password"\) and 300 tasks \(3 overdue\) in \S+\n` +
		`sign in as:\n  boss {21}admin, with its own password\n  \S+ +manager, password "demo-password"\n  \S+ +user, password "demo-password"\n$`).MatchString(out) {
		t.Fatalf("demo printed %q", out)
	}
	s := startServe(t, db, nil, "--sweep-interval", "1h")
	admin := s.login(t, "boss", "boss-password-1")

	var users []struct {
		Username string
		Role     struct{ Name string }
	}
	r := admin.Want("GET", "/api/user/users/?limit=1000", nil, http.StatusOK)
	r.Decode(t, &users)
	if len(users) != 21 || r.Header.Get("X-Total-Count") != "21" {
		t.Fatalf("%d users (total %q), want 21", len(users), r.Header.Get("X-Total-Count"))
	}
	var managerName string
	for _, u := range users {
		if u.Role.Name == "manager" {
			managerName = u.Username
		}
	}
	if managerName == "" {
		t.Fatal("no demo manager")
	}
	manager := s.login(t, managerName, "demo-password")
	var page []struct {
		ID       string
		Title    string
		Deadline time.Time
	}
	r = manager.Want("GET", "/api/task/tasks/?limit=50&ordering=-deadline", nil, http.StatusOK)
	r.Decode(t, &page)
	if len(page) != 50 || r.Header.Get("X-Total-Count") != "300" || !strings.Contains(r.Header.Get("Link"), `rel="next"`) {
		t.Fatalf("task page: %d tasks, total %q, link %q", len(page), r.Header.Get("X-Total-Count"), r.Header.Get("Link"))
	}
	for i := 1; i < len(page); i++ {
		if page[i].Deadline.After(page[i-1].Deadline) || page[i].Title == "" {
			t.Fatalf("tasks not ordered by -deadline: %+v then %+v", page[i-1], page[i])
		}
	}

	// The sweep the server runs at start marks the three overdue tasks.
	var missedTotal string
	waitFor(t, 10*time.Second, "first sweep", func() bool {
		missedTotal = manager.Want("GET", "/api/task/tasks/missed/", nil, http.StatusOK).Header.Get("X-Total-Count")
		return missedTotal != "0"
	})
	if missedTotal != "3" {
		t.Fatalf("%s missed tasks after the first sweep, want 3", missedTotal)
	}
	if got := listAlerts(manager, "kind=task_missed"); len(got) != 3 {
		t.Errorf("%d task_missed alerts, want 3", len(got))
	}
	now := url.QueryEscape(time.Now().UTC().Format(time.RFC3339Nano))
	r = manager.Want("GET", "/api/task/tasks/?status=pending,in_progress&deadline_before="+now, nil, http.StatusOK)
	if r.Header.Get("X-Total-Count") != "0" {
		t.Errorf("open tasks past their deadline after the sweep: %s", r.Body)
	}
}

// TestDemoFreshDatabase runs the demo command first, on an empty database:
// it makes the first admin exactly as serve does (a random password shown
// once, or the one set), says who can sign in, and everyone it names can.
func TestDemoFreshDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	t.Parallel()
	cases := []struct {
		name string
		env  []string
	}{
		{"random admin password", nil},
		{"admin password set", adminEnv},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			db := sqliteFile(t)
			r := runBinary(t, c.env, "", "demo", "--database", db, "--users", "3", "--tasks", "5", "--seed", "3")
			if r.code != 0 {
				t.Fatalf("demo: exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			m := regexp.MustCompile(`^created 3 users \(1 managers; password "demo-password"\) and 5 tasks \(0 overdue\) in \S+\n` +
				`sign in as:\n  admin {20}admin, with its own password\n  (\S+) +manager, password "demo-password"\n  (\S+) +user, password "demo-password"\n$`).FindStringSubmatch(r.stdout)
			if m == nil {
				t.Fatalf("demo printed %q", r.stdout)
			}
			password := adminPassword
			if c.env == nil {
				shown := regexp.MustCompile(`(?m)^created the first admin: username admin, password (\S+) \(shown once; change it\)$`).FindStringSubmatch(r.stderr)
				if shown == nil {
					t.Fatalf("the admin's password was not shown; stderr:\n%s", r.stderr)
				}
				password = shown[1]
			} else if strings.Contains(r.stderr, "first admin") {
				t.Errorf("a set password was shown:\n%s", r.stderr)
			}
			s := startServe(t, db, nil, "--sweep-interval", "0")
			if strings.Contains(s.stderr.String(), "first admin") {
				t.Errorf("serve made a second first admin:\n%s", s.stderr.String())
			}
			for _, who := range []struct{ username, password, role string }{
				{"admin", password, "admin"}, {m[1], "demo-password", "manager"}, {m[2], "demo-password", "user"},
			} {
				var me struct{ Role struct{ Name string } }
				s.login(t, who.username, who.password).Want("GET", "/api/user/me/", nil, http.StatusOK).Decode(t, &me)
				if me.Role.Name != who.role {
					t.Errorf("%s is a %s, want %s", who.username, me.Role.Name, who.role)
				}
			}
		})
	}
}
