package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"tasktrack"
	"tasktrack/auth"
	. "tasktrack/sqlstore/sqlstoretest"
)

// Native fuzz tests of every JSON body the API reads, of the list query
// strings and of the ids in paths, sent through the real handlers to a real
// SQLite database. Whatever the input:
//   - the answer is never 5xx;
//   - every 4xx is a JSON object in the contract's shape: {"detail": "..."}
//     (with an optional "code"), or field errors whose values are lists of
//     messages;
//   - a refused request changes nothing (users, tasks, audit entries,
//     refresh tokens, acknowledged alerts, and the fixture rows themselves);
//   - a GET changes nothing at all.
//
// `go test` runs the seed corpus (the f.Add calls below and the files in
// testdata/fuzz/<FuzzName>/); `go test -fuzz` explores from it, and
// scripts/fuzz.sh runs every target for a while.
//
// Inputs may name the fixtures with placeholders, so that the fuzzer can
// reach the paths where a request succeeds: @OWN@ (a task of the plain
// user), @OTHER@ (a task of another user), @ALERT@ (an alert), @ADMIN@,
// @MANAGER@, @USER@, @VICTIM@ (user ids), @PASSWORD@ (the caller's
// password, or the plain user's for anonymous requests) and @REFRESH@ (a
// fresh refresh token of the plain user).
//
// Every target keeps one server per process (fuzzing workers each build
// their own) and puts its fixtures back after a request that succeeded, so
// an input means the same thing whenever it runs. Under -fuzz the OpenAPI
// check of each answer is skipped for speed (TASKTRACK_FUZZ_OPENAPI=1
// keeps it); the seed corpus is always checked against the document.
// TASKTRACK_FUZZ_ENGINE=postgres fuzzes on PostgreSQL instead of SQLite.

// fuzzDeadline is when the fixture tasks are due: far after the clock.
var fuzzDeadline = t0.Add(60 * 24 * time.Hour)

// fuzzPerson is a fixture user and, for the callers, their session.
type fuzzPerson struct {
	key, name, role, password string
	id                        int64
	hash                      string // the password hash, to notice a change
	version                   int64  // the token version the session holds
	c                         *client
}

// fuzzTask is a fixture task.
type fuzzTask struct {
	key      string
	title    string
	assignee *fuzzPerson
	id       string
	fp       string // its row, to notice a change
}

type fuzzEnv struct {
	*env
	spec   bool
	http   *http.Client
	people []*fuzzPerson // admin, manager, user, victim
	tasks  []*fuzzTask   // own (the user's), other (the victim's), manager's
	alert  string
}

// The callers a role selector picks from.
const (
	fzAdmin = iota
	fzManager
	fzUser
	fzVictim
)

func (fe *fuzzEnv) person(i int) *fuzzPerson { return fe.people[i] }

// caller picks admin, manager or user.
func (fe *fuzzEnv) caller(role uint8) *fuzzPerson { return fe.people[int(role)%3] }

func (fe *fuzzEnv) task(key string) *fuzzTask {
	for _, tk := range fe.tasks {
		if tk.key == key {
			return tk
		}
	}
	panic("no fixture task " + key)
}

// newFuzzEnv starts a server on a fresh SQLite database with an admin, a
// manager, a plain user and a "victim" user whom requests act upon, a task
// for each of the last three, and one alert. Failed logins are not
// rate-limited here, so that the fuzzer reaches the parser, not the limit.
func newFuzzEnv(f *testing.F) *fuzzEnv {
	f.Helper()
	engine := SQLite
	if os.Getenv("TASKTRACK_FUZZ_ENGINE") == string(Postgres) {
		engine = Postgres
	}
	ev := newEnv(f, engine)
	ev.auth.Limiter = auth.NewLoginLimiter(auth.LoginLimits{})
	fe := &fuzzEnv{env: ev}
	fe.spec = os.Getenv("TASKTRACK_FUZZ_OPENAPI") != "" || !fuzzing()
	fe.http = &http.Client{
		Transport:     ev.srv.Client().Transport,
		Timeout:       time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	fe.people = []*fuzzPerson{{key: "ADMIN", name: "admin", role: "admin", password: adminPassword, id: ev.admin.user.ID}}
	for _, p := range []struct{ key, name, role string }{
		{"MANAGER", "fz-manager", "manager"}, {"USER", "fz-user", "user"}, {"VICTIM", "fz-victim", "user"},
	} {
		c := ev.newUser(p.name, p.role)
		fe.people = append(fe.people, &fuzzPerson{key: p.key, name: p.name, role: p.role, password: userPassword(p.name), id: c.user.ID})
	}
	ctx := context.Background()
	// One alert: a task of the victim's that the sweep finds missed.
	ev.admin.newTask(&client{user: &tasktrack.User{ID: fe.person(fzVictim).id}}, "Missed one", time.Hour)
	ev.clock.Add(2 * time.Hour)
	if _, err := ev.db.Sweeper.Sweep(ctx); err != nil {
		f.Fatal(err)
	}
	admin := &tasktrack.User{ID: fe.person(fzAdmin).id, Role: tasktrack.RoleAdmin, IsActive: true}
	alerts, _, err := ev.db.Alerts.FindAlerts(As(admin), tasktrack.AlertFilter{Page: tasktrack.Page{Limit: 1}})
	if err != nil || len(alerts) != 1 {
		f.Fatalf("fixture alert: %v %d", err, len(alerts))
	}
	fe.alert = alerts[0].ID
	fe.tasks = []*fuzzTask{
		{key: "OWN", title: "Own task", assignee: fe.person(fzUser)},
		{key: "OTHER", title: "Other task", assignee: fe.person(fzVictim)},
		{key: "MANAGERS", title: "Manager task", assignee: fe.person(fzManager)},
	}
	for _, tk := range fe.tasks {
		fe.createTask(f, tk)
	}
	for _, p := range fe.people {
		fe.signIn(f, p)
	}
	return fe
}

// fuzzing reports whether this run explores (-fuzz) rather than replaying
// the seed corpus.
func fuzzing() bool {
	fl := flag.Lookup("test.fuzz")
	return fl != nil && fl.Value.String() != ""
}

// signIn logs p in through the service and remembers their hash and
// token version.
func (fe *fuzzEnv) signIn(tb testing.TB, p *fuzzPerson) {
	tb.Helper()
	ctx := context.Background()
	pair, err := fe.auth.Login(ctx, p.name, p.password, "192.0.2.1")
	if err != nil {
		tb.Fatalf("sign in %s: %v", p.name, err)
	}
	u, err := fe.db.Sessions.AuthUser(ctx, p.id)
	if err != nil {
		tb.Fatal(err)
	}
	p.hash, p.version = u.PasswordHash, u.TokenVersion
	p.c = fe.env.as(pair.Access, pair.Refresh, u)
}

func (fe *fuzzEnv) createTask(tb testing.TB, tk *fuzzTask) {
	tb.Helper()
	t, err := fe.db.Tasks.CreateTask(System, tasktrack.TaskCreate{Title: tk.title, Description: "about " + tk.title, Deadline: fuzzDeadline, AssignedTo: tk.assignee.id})
	if err != nil {
		tb.Fatalf("fixture task %s: %v", tk.key, err)
	}
	tk.id, tk.fp = t.ID, taskFingerprint(t)
}

func taskFingerprint(t *tasktrack.Task) string {
	return fmt.Sprintf("%s|%q|%q|%d|%s|%d|%d|%v|%v", t.ID, t.Title, t.Description, t.Deadline.UnixMicro(), t.Status,
		t.AssignedTo, t.UpdatedAt.UnixMicro(), t.CompletedAt, t.MissedAt)
}

func userFingerprint(u *tasktrack.User) string {
	return fmt.Sprintf("%d|%s|%q|%q|%q|%s|%v|%d|%s|%v", u.ID, u.Username, u.Email, u.FirstName, u.LastName,
		u.Role.Name, u.IsActive, u.TokenVersion, u.PasswordHash, u.DeactivatedAt)
}

// expand replaces the placeholders in s. A fresh refresh token costs a
// login, so it is made only when asked for.
func (fe *fuzzEnv) expand(t *testing.T, as *fuzzPerson, s []byte) []byte {
	if !bytes.Contains(s, []byte("@")) {
		return s
	}
	for _, p := range fe.people {
		s = bytes.ReplaceAll(s, []byte("@"+p.key+"@"), []byte(strconv.FormatInt(p.id, 10)))
	}
	for _, tk := range fe.tasks {
		s = bytes.ReplaceAll(s, []byte("@"+tk.key+"@"), []byte(tk.id))
	}
	s = bytes.ReplaceAll(s, []byte("@ALERT@"), []byte(fe.alert))
	if as == nil {
		as = fe.person(fzUser)
	}
	s = bytes.ReplaceAll(s, []byte("@PASSWORD@"), []byte(as.password))
	if bytes.Contains(s, []byte("@REFRESH@")) {
		pair, err := fe.auth.Login(context.Background(), fe.person(fzUser).name, fe.person(fzUser).password, "192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		s = bytes.ReplaceAll(s, []byte("@REFRESH@"), []byte(pair.Refresh))
	}
	return s
}

// fuzzState is what a refused request must leave as it was.
type fuzzState struct {
	users, tasks, audit, refresh, acked int
	rows                                string
}

func (fe *fuzzEnv) state(t *testing.T) fuzzState {
	t.Helper()
	admin := &tasktrack.User{ID: fe.person(fzAdmin).id, Role: tasktrack.RoleAdmin, IsActive: true}
	ctx := As(admin)
	one := tasktrack.Page{Limit: 1}
	var s fuzzState
	var err error
	check := func(what string) {
		if err != nil {
			t.Fatalf("state: %s: %v", what, err)
		}
	}
	_, s.users, err = fe.db.Users.FindUsers(ctx, tasktrack.UserFilter{Page: one})
	check("users")
	_, s.tasks, err = fe.db.Tasks.FindTasks(ctx, tasktrack.TaskFilter{Page: one})
	check("tasks")
	_, s.audit, err = fe.db.Audit.FindAuditEntries(ctx, tasktrack.AuditFilter{Page: one})
	check("audit")
	yes := true
	_, s.acked, err = fe.db.Alerts.FindAlerts(ctx, tasktrack.AlertFilter{Acknowledged: &yes, Page: one})
	check("alerts")
	hashes, err := fe.db.Sessions.RefreshTokenHashes(context.Background())
	check("refresh tokens")
	s.refresh = len(hashes)
	var b strings.Builder
	for _, p := range fe.people {
		u, err := fe.db.Sessions.AuthUser(context.Background(), p.id)
		if err != nil {
			b.WriteString(p.key + " absent|")
			continue
		}
		b.WriteString(userFingerprint(u) + "\n")
	}
	for _, tk := range fe.tasks {
		task, err := fe.db.Tasks.FindTaskByID(System, tk.id)
		if err != nil {
			b.WriteString(tk.key + " absent|")
			continue
		}
		b.WriteString(taskFingerprint(task) + "\n")
	}
	s.rows = b.String()
	return s
}

// restore puts the fixtures back after a request that may have changed
// them, and removes what a create made.
func (fe *fuzzEnv) restore(t *testing.T, path string, r *response) {
	t.Helper()
	ctx := context.Background()
	if r.Status == http.StatusCreated {
		var created struct {
			ID json.RawMessage `json:"id"`
		}
		if err := json.Unmarshal(r.Body, &created); err != nil {
			t.Fatalf("201 without an id: %s", r.Body)
		}
		var err error
		if strings.HasPrefix(path, "/api/user/users") {
			var id int64
			if err = json.Unmarshal(created.ID, &id); err == nil {
				err = fe.db.Users.DeleteUser(System, id)
			}
		} else {
			var id string
			if err = json.Unmarshal(created.ID, &id); err == nil {
				err = fe.db.Tasks.DeleteTask(System, id)
			}
		}
		if err != nil {
			t.Fatalf("remove what %s created (%s): %v", path, r.Body, err)
		}
	}
	for _, p := range fe.people {
		u, err := fe.db.Sessions.AuthUser(ctx, p.id)
		if err != nil {
			t.Fatalf("fixture user %s: %v", p.name, err)
		}
		var in tasktrack.UserUpdate
		changed := false
		if u.Email != "" || u.FirstName != "" || u.LastName != "" {
			empty := ""
			in.Email, in.FirstName, in.LastName = &empty, &empty, &empty
			changed = true
		}
		if u.Role.Name != p.role {
			in.Role, changed = &p.role, true
		}
		if !u.IsActive {
			yes := true
			in.IsActive, changed = &yes, true
		}
		if u.PasswordHash != p.hash {
			in.Password, changed = &p.password, true
		}
		if changed {
			if _, err := fe.db.Users.UpdateUser(System, p.id, in); err != nil {
				t.Fatalf("restore user %s: %v", p.name, err)
			}
			if u, err = fe.db.Sessions.AuthUser(ctx, p.id); err != nil {
				t.Fatal(err)
			}
		}
		if u.TokenVersion != p.version || u.PasswordHash != p.hash {
			fe.signIn(t, p)
		}
	}
	for _, tk := range fe.tasks {
		cur, err := fe.db.Tasks.FindTaskByID(System, tk.id)
		switch {
		case err == nil && taskFingerprint(cur) == tk.fp:
			continue
		case err == nil:
			if err := fe.db.Tasks.DeleteTask(System, tk.id); err != nil {
				t.Fatalf("restore task %s: %v", tk.key, err)
			}
		case !errors.Is(err, tasktrack.ErrNotFound):
			t.Fatalf("fixture task %s: %v", tk.key, err)
		}
		fe.createTask(t, tk)
	}
}

// exchange sends one request as `as` (nil: anonymous) and holds the
// answer to the rules above.
func (fe *fuzzEnv) exchange(t *testing.T, as *fuzzPerson, method, target, ctype string, body []byte) *response {
	t.Helper()
	before := fe.state(t)
	r := fe.send(t, as, method, target, ctype, body)
	after := fe.state(t)
	path, _, _ := strings.Cut(target, "?")
	switch {
	case r.Status >= 400:
		want := before
		if r.Status == http.StatusUnauthorized && strings.TrimSuffix(path, "/") == "/api/token" {
			want.audit++ // a failed login is recorded, and that is all
		}
		if after != want {
			t.Fatalf("%s %.200s refused with %d but changed something:\nbefore %+v\nafter  %+v\nbody %.300s", method, target, r.Status, want, after, r.Body)
		}
	case method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions:
		if after != before {
			t.Fatalf("%s %.200s (%d) changed something:\nbefore %+v\nafter  %+v", method, target, r.Status, before, after)
		}
	default:
		fe.restore(t, path, r)
	}
	return r
}

// send makes one request; the content type is sent as given, minus the
// bytes a header may not hold ("" sends none).
func (fe *fuzzEnv) send(t *testing.T, as *fuzzPerson, method, target, ctype string, body []byte) *response {
	t.Helper()
	req, err := http.NewRequest(method, fe.srv.URL+target, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("request %s %q: %v", method, target, err)
	}
	if body == nil {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	if ct := headerSafe(ctype); ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if as != nil {
		req.Header.Set("Authorization", "Bearer "+as.c.Access)
	}
	res, err := fe.http.Do(req)
	if err != nil {
		t.Fatalf("%s %.200q: %v", method, target, err)
	}
	out, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	r := &response{Status: res.StatusCode, Header: res.Header, Body: out}
	if r.Status >= 500 {
		t.Fatalf("%s %.200q as %v (Content-Type %q, body %.200q): %d %.500s", method, target, personName(as), ctype, body, r.Status, out)
	}
	if r.Header.Get("X-Request-ID") == "" {
		t.Errorf("%s %.200q: no X-Request-ID", method, target)
	}
	if r.Status >= 400 && method != http.MethodHead {
		if problem := errorShapeProblem(r); problem != "" {
			t.Fatalf("%s %.200q: %d body is not in the contract's shape (%s): %.500s", method, target, r.Status, problem, out)
		}
	}
	for status, header := range map[int]string{401: "WWW-Authenticate", 405: "Allow", 429: "Retry-After"} {
		if r.Status == status && r.Header.Get(header) == "" {
			t.Errorf("%s %.200q: %d without %s", method, target, status, header)
		}
	}
	if fe.spec && documented(req, r) {
		checkAgainstSpec(t, req, body, r)
	}
	return r
}

// documented reports whether the OpenAPI document can describe an answer:
// it lists neither HEAD nor OPTIONS, nor redirects, nor paths with empty
// or dot segments (which are unknown paths, or redirected to clean ones),
// escaped slashes included.
func documented(req *http.Request, r *response) bool {
	p := req.URL.Path
	switch {
	case req.Method == http.MethodHead, req.Method == http.MethodOptions, r.Status >= 300 && r.Status < 400:
		return false
	case strings.Contains(p, "//"), strings.Contains(p, "/./"), strings.Contains(p, "/../"):
		return false
	}
	return true
}

func personName(p *fuzzPerson) string {
	if p == nil {
		return "anonymous"
	}
	return p.name
}

// headerSafe drops the bytes an HTTP header value cannot hold.
func headerSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if (r < 0x20 && r != '\t') || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// errorShapeProblem says what is wrong with a 4xx body, or "" when it is
// a JSON object in one of the contract's error shapes.
func errorShapeProblem(r *response) string {
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		return "Content-Type " + ct
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(r.Body, &m); err != nil || m == nil {
		return "not a JSON object"
	}
	if len(m) == 0 {
		return "an empty object"
	}
	isText := func(raw json.RawMessage) bool {
		var s string
		return json.Unmarshal(raw, &s) == nil && s != "" && raw[0] == '"'
	}
	if detail, ok := m["detail"]; ok {
		if !isText(detail) {
			return "detail is not a message"
		}
		for k, v := range m {
			if k != "detail" && (k != "code" || !isText(v)) {
				return "unexpected " + strconv.Quote(k) + " beside detail"
			}
		}
		return ""
	}
	for k, v := range m {
		// {"status": "User already active"}: the one documented answer
		// of this form.
		if k == "status" && len(m) == 1 && isText(v) {
			continue
		}
		var msgs []string
		if json.Unmarshal(v, &msgs) != nil || len(msgs) == 0 {
			return strconv.Quote(k) + " is not a list of messages"
		}
		for _, s := range msgs {
			if s == "" {
				return strconv.Quote(k) + " holds an empty message"
			}
		}
	}
	return ""
}

// ---- seeds ----

// fuzzContentTypes are the content types the seeds send; the fuzzer
// mutates them too.
var fuzzContentTypes = []string{
	"application/json", "application/json; charset=utf-8", "APPLICATION/JSON", "application/problem+json",
	"", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
	"application/json; charset=", ";;;", "application/json\x00", "application/\xff",
}

// fuzzHostileBodies are the bodies of the list that fit in a
// line; the large ones are files under testdata/fuzz.
var fuzzHostileBodies = []string{
	"", " ", "\n\t", "null", "true", "0", "-1", "1e400", "99999999999999999999999", `"a string"`, `""`, "[]", `[{}]`, "[1,2]",
	"{}", "{", "}", `{"a":`, `{"a":1,}`, `{'a':1}`, `{"a":1}{"b":2}`, `{"a":1} trailing`, `{a:1}`, `{"a":01}`,
	`{"a":NaN}`, `{"a":Infinity}`, `{"a":-}`, `{"a":"\x"}`, `{"a":"\u12"}`, `{"a":"unterminated}`,
	"\xef\xbb\xbf{}", "\xff\xfe{}", `{"a":"` + "\xff\xfe\xfd" + `"}`, `{"` + "\xc3\x28" + `":1}`,
	`{"a":"\ud800"}`, `{"a":"\udfff\ud800"}`, `{"a":"\u0000"}`, "{\"a\":\"\x00\"}", "\x00", "{\x00}",
	strings.Repeat("[", 1000), strings.Repeat(`{"a":`, 1000) + "1" + strings.Repeat("}", 1000),
	`{"a":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`,
}

// addBodySeeds adds every hostile body and every content type, with
// add(ct, body).
func addBodySeeds(add func(ct string, body []byte), valid ...string) {
	for _, b := range fuzzHostileBodies {
		add("application/json", []byte(b))
	}
	for _, ct := range fuzzContentTypes {
		add(ct, []byte(`{}`))
		for _, v := range valid {
			add(ct, []byte(v))
		}
	}
	for _, v := range valid {
		add("application/json", []byte(v))
	}
}

// fieldSeeds are bodies that put hostile values in the fields a body of
// an endpoint reads: wrong types, NULs, huge numbers, duplicates.
func fieldSeeds(fields ...string) []string {
	values := []string{
		`null`, `true`, `0`, `-1`, `1.5`, `1e400`, `99999999999999999999999`, `-99999999999999999999999`,
		`9223372036854775807`, `9223372036854775808`, `-9223372036854775808`, `"9223372036854775808"`, `" 7 "`,
		`[]`, `["a"]`, `{}`, `{"name":"admin"}`, `""`, `" "`, `"a\u0000b"`, "\"a\x00b\"", `"\ud800"`,
		`"` + strings.Repeat("x", 5000) + `"`, `"\u202e\u0301"`, `"0000-00-00T00:00:00Z"`,
		`"9999-12-31T23:59:59-23:59"`, `"0001-01-01T00:00:00+23:59"`, `"2026-04-01T10:00:00+05:30"`,
		`"2026-04-01T10:00"`, `"2026-04-01"`, `"missed"`, `"completed"`, `"admin"`,
	}
	var out []string
	for _, f := range fields {
		for _, v := range values {
			out = append(out, `{"`+f+`":`+v+`}`)
		}
		out = append(out, `{"`+f+`":"a","`+f+`":"b"}`, `{"`+f+`":1,"`+f+`":"x"}`, `{"`+strings.ToUpper(f)+`":"x"}`)
	}
	return out
}

func addStrings(add func(ct string, body []byte), bodies []string) {
	for _, b := range bodies {
		add("application/json", []byte(b))
	}
}

// ---- targets ----

func FuzzLoginBody(f *testing.F) {
	valid := []string{
		`{"username":"fz-user","password":"@PASSWORD@"}`, `{"username":"FZ-USER","password":"@PASSWORD@","extra":[1]}`,
		`{"username":"fz-user","password":"wrong-password"}`, `{"username":"nobody","password":"x"}`,
		`{"username":"fz-user","username":"admin","password":"@PASSWORD@"}`,
	}
	add := func(ct string, body []byte) { f.Add(ct, body) }
	addBodySeeds(add, valid...)
	addStrings(add, fieldSeeds("username", "password"))
	fe := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		fe.exchange(t, nil, "POST", "/api/token/", ct, fe.expand(t, nil, body))
	})
}

func FuzzRefreshBody(f *testing.F) {
	valid := []string{`{"refresh":"@REFRESH@"}`, `{"refresh":"@REFRESH@x"}`, `{"refresh":" @REFRESH@ "}`,
		`{"refresh":"a.b.c"}`, `{"refresh":"eyJhbGciOiJub25lIn0.e30."}`, `{"refresh":"@REFRESH@","refresh":"@REFRESH@"}`}
	for _, which := range []uint8{0, 1} {
		add := func(ct string, body []byte) { f.Add(which, ct, body) }
		addBodySeeds(add, valid...)
		addStrings(add, fieldSeeds("refresh"))
	}
	fe := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, which uint8, ct string, body []byte) {
		path := []string{"/api/token/refresh/", "/api/token/logout/"}[which%2]
		fe.exchange(t, nil, "POST", path, ct, fe.expand(t, nil, body))
	})
}

func FuzzCreateUserBody(f *testing.F) {
	valid := []string{
		`{"username":"fz-new","password":"a-new-password"}`,
		`{"username":"fz-new","password":"a-new-password","email":"new@example.com","first_name":"N","last_name":"W","role":"manager"}`,
		`{"username":"fz-new","password":"a-new-password","role":{"id":1,"name":"admin"}}`,
		`{"username":"FZ-USER","password":"a-new-password"}`, `{"username":"fz-new","password":"fz-new"}`,
		`{"username":"fz-new","password":"12345678901"}`, `{"username":"fz new","password":"a-new-password"}`,
		`{"username":"fz-new","password":"a-new-password","id":1,"date_joined":"x","is_active":false}`,
	}
	for _, role := range []uint8{fzAdmin, fzManager, fzUser} {
		add := func(ct string, body []byte) { f.Add(role, ct, body) }
		if role == fzAdmin {
			addBodySeeds(add, valid...)
			addStrings(add, fieldSeeds("username", "password", "email", "first_name", "last_name", "role"))
		} else {
			addStrings(add, valid)
		}
	}
	fe := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, role uint8, ct string, body []byte) {
		as := fe.caller(role)
		fe.exchange(t, as, "POST", "/api/user/users/", ct, fe.expand(t, as, body))
	})
}

func FuzzUpdateUserBody(f *testing.F) {
	valid := []string{
		`{"email":"v@example.com"}`, `{"first_name":"V","last_name":"Ictim"}`, `{"role":"manager"}`, `{"role":{"name":"admin"}}`,
		`{"is_active":false}`, `{"is_active":true}`, `{"password":"another-password"}`, `{"password":"short"}`,
		`{"username":"renamed","id":99}`, `{"role":"superuser"}`, `{"email":"not-an-address"}`,
	}
	for _, role := range []uint8{fzAdmin, fzManager, fzUser} {
		for _, method := range []uint8{0, 1} {
			add := func(ct string, body []byte) { f.Add(role, method, ct, body) }
			if role == fzAdmin {
				addBodySeeds(add, valid...)
				if method == 0 {
					addStrings(add, fieldSeeds("email", "first_name", "last_name", "role", "is_active", "password"))
				}
			} else {
				addStrings(add, valid)
			}
		}
	}
	fe := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, role, method uint8, ct string, body []byte) {
		as := fe.caller(role)
		m := []string{"PATCH", "PUT"}[method%2]
		fe.exchange(t, as, m, "/api/user/users/"+strconv.FormatInt(fe.person(fzVictim).id, 10)+"/", ct, fe.expand(t, as, body))
	})
}

func FuzzCreateTaskBody(f *testing.F) {
	valid := []string{
		`{"title":"New","deadline":"2026-04-01T00:00:00Z","assigned_to":@USER@}`,
		`{"title":"New","description":"d","deadline":"2026-04-01T12:00:00+05:30","assigned_to":"@USER@"}`,
		`{"title":"  ","deadline":"2026-04-01T00:00:00Z","assigned_to":@USER@}`,
		`{"title":"Past","deadline":"2020-01-01T00:00:00Z","assigned_to":@USER@}`,
		`{"title":"Far","deadline":"9999-12-31T23:59:59-23:59","assigned_to":@USER@}`,
		`{"title":"Far","deadline":"9999-12-31T23:59:59.999999999Z","assigned_to":@USER@}`,
		`{"title":"Nobody","deadline":"2026-04-01T00:00:00Z","assigned_to":999999}`,
		`{"title":"Status","deadline":"2026-04-01T00:00:00Z","assigned_to":@USER@,"status":"missed","id":"x","created_by":1}`,
	}
	for _, role := range []uint8{fzAdmin, fzManager, fzUser} {
		add := func(ct string, body []byte) { f.Add(role, ct, body) }
		if role == fzManager {
			addBodySeeds(add, valid...)
			addStrings(add, fieldSeeds("title", "description", "deadline", "assigned_to"))
		} else {
			addStrings(add, valid)
		}
	}
	fe := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, role uint8, ct string, body []byte) {
		as := fe.caller(role)
		fe.exchange(t, as, "POST", "/api/task/tasks/", ct, fe.expand(t, as, body))
	})
}

func FuzzUpdateTaskBody(f *testing.F) {
	valid := []string{
		`{"title":"Renamed"}`, `{"description":""}`, `{"deadline":"2026-05-01T00:00:00Z"}`, `{"deadline":"2020-01-01T00:00:00Z"}`,
		`{"assigned_to":@VICTIM@}`, `{"assigned_to":@ADMIN@}`, `{"assigned_to":0}`, `{"status":"completed"}`, `{"status":"missed"}`,
		`{"title":"Put","deadline":"2026-05-01T00:00:00Z","assigned_to":@USER@,"status":"in_progress"}`,
		`{"deadline":"9999-12-31T23:59:59-23:59"}`, `{"id":"00000000-0000-0000-0000-000000000000","created_at":null}`,
	}
	for _, role := range []uint8{fzAdmin, fzManager, fzUser} {
		for _, method := range []uint8{0, 1} {
			add := func(ct string, body []byte) { f.Add(role, method, ct, body) }
			if role == fzManager {
				addBodySeeds(add, valid...)
				if method == 0 {
					addStrings(add, fieldSeeds("title", "description", "deadline", "assigned_to", "status"))
				}
			} else {
				addStrings(add, valid)
			}
		}
	}
	fe := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, role, method uint8, ct string, body []byte) {
		as := fe.caller(role)
		m := []string{"PATCH", "PUT"}[method%2]
		fe.exchange(t, as, m, "/api/task/tasks/"+fe.task("OWN").id+"/", ct, fe.expand(t, as, body))
	})
}

func FuzzUpdateStatusBody(f *testing.F) {
	valid := []string{
		`{"status":"in_progress"}`, `{"status":"completed"}`, `{"status":"pending"}`, `{"status":"missed"}`, `{"status":"done"}`,
		`{"status":"completed","title":"sneaky","assigned_to":@USER@,"deadline":"2020-01-01T00:00:00Z"}`,
		`{"status":" completed "}`, `{"status":"COMPLETED"}`,
	}
	for _, role := range []uint8{fzAdmin, fzManager, fzUser} {
		for _, which := range []uint8{0, 1} {
			add := func(ct string, body []byte) { f.Add(role, which, ct, body) }
			if role == fzUser && which == 0 {
				addBodySeeds(add, valid...)
				addStrings(add, fieldSeeds("status"))
			} else {
				addStrings(add, valid)
			}
		}
	}
	fe := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, role, which uint8, ct string, body []byte) {
		as := fe.caller(role)
		task := []string{"OWN", "OTHER"}[which%2]
		fe.exchange(t, as, "PATCH", "/api/task/tasks/"+fe.task(task).id+"/update_status/", ct, fe.expand(t, as, body))
	})
}

func FuzzPasswordBodies(f *testing.F) {
	own := []string{
		`{"old_password":"@PASSWORD@","new_password":"a-changed-password"}`, `{"old_password":"wrong","new_password":"a-changed-password"}`,
		`{"old_password":"@PASSWORD@","new_password":"short"}`, `{"old_password":"@PASSWORD@","new_password":"@PASSWORD@"}`,
		`{"old_password":"@PASSWORD@"}`, `{"new_password":"a-changed-password"}`,
	}
	reset := []string{`{"password":"a-reset-password"}`, `{"password":"1234567890"}`, `{"password":"fz-victim"}`, `{"password":""}`}
	for _, role := range []uint8{fzAdmin, fzManager, fzUser} {
		for which, valid := range [][]string{own, reset} {
			add := func(ct string, body []byte) { f.Add(uint8(which), role, ct, body) }
			if (which == 0 && role == fzUser) || (which == 1 && role == fzAdmin) {
				addBodySeeds(add, valid...)
				addStrings(add, fieldSeeds("old_password", "new_password", "password"))
			} else {
				addStrings(add, valid)
			}
		}
	}
	fe := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, which, role uint8, ct string, body []byte) {
		as := fe.caller(role)
		path := "/api/user/me/password/"
		if which%2 == 1 {
			path = "/api/user/users/" + strconv.FormatInt(fe.person(fzVictim).id, 10) + "/password/"
		}
		fe.exchange(t, as, "POST", path, ct, fe.expand(t, as, body))
	})
}

// fuzzListPaths are the lists whose query strings FuzzTaskListQuery tries.
var fuzzListPaths = []string{"/api/task/tasks/", "/api/task/tasks/missed/", "/api/alerts/", "/api/audit/", "/api/user/users/"}

var linkURL = regexp.MustCompile(`<([^>]*)>`)

func FuzzTaskListQuery(f *testing.F) {
	queries := []string{
		"", "limit=1", "limit=1&offset=1", "limit=0", "limit=1001", "limit=-1", "limit=1e3", "limit=+5", "limit=%20",
		"offset=9223372036854775807", "offset=9223372036854775808", "limit=1000&offset=9223372036854775000",
		"offset=-1", "offset=99999999999999999999999", "limit=&offset=", "limit=1&limit=2",
		"status=pending,missed", "status=", "status=,", "status=PENDING", "status=pending%00", "assigned_to=@USER@",
		"assigned_to=9223372036854775808", "assigned_to=-1", "deadline_before=2026-04-01T00:00:00Z",
		"deadline_after=2026-04-01T00:00:00+05:30", "deadline_after=2026-04-01T00:00:00 05:30",
		"deadline_before=9999-12-31T23:59:59-23:59", "deadline_after=0001-01-01T00:00:00+23:59", "deadline_before=1e400",
		"search=task", "search=%25", "search=_", "search=%5C", "search=%00", "search=%FF%FE", "search=%C3%28", "search=%E2%80%AE",
		"search=" + strings.Repeat("a", 100000), "search=%", "search=%zz", "ordering=-title", "ordering=password", "ordering=title;DROP",
		"kind=task_missed", "kind=x", "acknowledged=true", "acknowledged=maybe", "since=2026-01-01T00:00:00Z", "since=%FF",
		"action=login", "action=%FF", "actor=1", "actor=x", "target_id=@OWN@", "target_id=%FF%00",
		"role=manager", "role=%FF", "is_active=false", "is_active=2",
		"a=1&a=2&&&=&==", ";", "%", "&", "?", "#", "search=a+b", "search=%2B", "\x00", "\xff", "search=\xff\xfe",
	}
	for which := range fuzzListPaths {
		for _, role := range []uint8{fzAdmin, fzManager, fzUser} {
			for i, q := range queries {
				if role == fzAdmin || i%7 == 0 {
					f.Add(uint8(which), role, q)
				}
			}
		}
	}
	fe := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, which, role uint8, q string) {
		as := fe.caller(role)
		path := fuzzListPaths[int(which)%len(fuzzListPaths)]
		q = urlSafe(string(fe.expand(t, as, []byte(q))), false)
		r := fe.exchange(t, as, "GET", path+"?"+q, "", nil)
		if r.Status != 200 {
			return
		}
		var items []json.RawMessage
		if err := json.Unmarshal(r.Body, &items); err != nil || items == nil {
			t.Fatalf("GET %s?%s: 200 body is not a JSON array: %.300s", path, q, r.Body)
		}
		if n, err := strconv.Atoi(r.Header.Get("X-Total-Count")); err != nil || n < len(items) {
			t.Fatalf("GET %s?%s: X-Total-Count %q for %d items", path, q, r.Header.Get("X-Total-Count"), len(items))
		}
		for _, m := range linkURL.FindAllStringSubmatch(r.Header.Get("Link"), -1) {
			u, err := url.Parse(m[1])
			if err != nil {
				t.Fatalf("GET %s?%s: Link %q: %v", path, q, m[1], err)
			}
			limit, lerr := strconv.Atoi(u.Query().Get("limit"))
			offset, oerr := strconv.Atoi(u.Query().Get("offset"))
			if lerr != nil || oerr != nil || limit < 1 || limit > tasktrack.MaxLimit || offset < 0 {
				t.Fatalf("GET %s?%s: Link to a page that does not exist: %s", path, q, m[1])
			}
		}
	})
}

// urlSafe percent-encodes the bytes a request line cannot carry as they
// are (controls, spaces, non-ASCII, '#'; '/' and '?' too in a path
// segment), and leaves everything else, malformed escapes included, for
// the server to judge.
func urlSafe(s string, segment bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= 0x20 || c >= 0x7f || c == '#' || (segment && (c == '/' || c == '?')) {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// fuzzIDPaths are the paths that take an id; %s is the id.
var fuzzIDPaths = []string{
	"/api/user/users/%s/", "/api/user/users/%s/reactivate/", "/api/user/users/%s/deactivate/", "/api/user/users/%s/password/",
	"/api/task/tasks/%s/", "/api/task/tasks/%s/update_status/", "/api/alerts/%s/acknowledge/",
}

var fuzzMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "PURGE"}

func FuzzPathIDs(f *testing.F) {
	ids := []string{
		"@ADMIN@", "@MANAGER@", "@USER@", "@VICTIM@", "@OWN@", "@OTHER@", "@MANAGERS@", "@ALERT@",
		"0", "-1", "+1", "01", " 1", "1 ", "1.0", "1e3", "0x1", "9223372036854775807", "9223372036854775808",
		"99999999999999999999999", "-9223372036854775808", "NaN", "null", "true", "[]", "{}", "%00", "\x00", "\xff",
		"..", ".", "", "a/b", "1?x=1", "1#f", "%2F", "%2e%2e", "%", "%zz",
		"00000000-0000-0000-0000-000000000000", "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF", "{00000000-0000-0000-0000-000000000000}",
		"urn:uuid:00000000-0000-0000-0000-000000000000", "00000000000000000000000000000000",
		"@OWN@ ", " @OWN@", "@OWN@/", "@OWN@x", "@ALERT@0", strings.Repeat("9", 4000), strings.Repeat("a", 100000),
	}
	for route := range fuzzIDPaths {
		for method := range fuzzMethods {
			for i, id := range ids {
				role := uint8((route + method + i) % 3)
				if (route+method+i)%5 == 0 || i < 8 {
					f.Add(uint8(route), uint8(method), role, i%2 == 0, id)
				}
			}
		}
	}
	fe := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, route, method, role uint8, raw bool, id string) {
		as := fe.caller(role)
		id = string(fe.expand(t, as, []byte(id)))
		target := fmt.Sprintf(fuzzIDPaths[int(route)%len(fuzzIDPaths)], urlSafe(id, !raw))
		if _, err := url.Parse(fe.srv.URL + target); err != nil {
			target = fmt.Sprintf(fuzzIDPaths[int(route)%len(fuzzIDPaths)], url.PathEscape(id))
		}
		m := fuzzMethods[int(method)%len(fuzzMethods)]
		var body []byte
		ct := ""
		if m != "GET" && m != "HEAD" {
			body, ct = []byte(`{}`), "application/json"
		}
		fe.exchange(t, as, m, target, ct, body)
	})
}

// ---- findings ----

// TestFuzzFindings holds what fuzzing found, on both engines; each case's
// input is also in the seed corpus of the target that found it.
func TestFuzzFindings(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ev := newEnv(t, e)
		alice := ev.newUser("alice", "user")
		id := ev.admin.newTask(alice, "Found", time.Hour)
		const (
			badDeadline = `{"deadline":["Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."]}`
			tooLong     = `{"search":["Ensure this field has no more than 10000 characters."]}`
		)
		year10000 := "9999-12-31T23:59:59-23:59" // 10000-01-01T23:58:59Z
		valRun(t, ev.admin, []valCase{
			// A deadline whose offset carries it past the year 9999 was
			// accepted and then failed to write its audit entry (500).
			{"create: deadline in the year 10000 by its offset", "POST", "/api/task/tasks/",
				map[string]any{"title": "Far", "deadline": year10000, "assigned_to": alice.user.ID}, 400, badDeadline},
			{"update: deadline in the year 10000 by its offset", "PATCH", "/api/task/tasks/" + id + "/",
				map[string]any{"deadline": year10000}, 400, badDeadline},
			{"create: the last microsecond of 9999 is fine", "POST", "/api/task/tasks/",
				map[string]any{"title": "Far", "deadline": "9999-12-31T23:59:59.999999Z", "assigned_to": alice.user.ID}, 201, ""},
			{"filter: deadline_before in the year 10000", "GET", "/api/task/tasks/?deadline_before=" + url.QueryEscape(year10000), nil,
				400, `{"deadline_before":["Enter a valid date/time."]}`},
			{"filter: deadline_after in the year 0", "GET", "/api/task/tasks/?deadline_after=" + url.QueryEscape("0001-01-01T00:00:00+23:59"), nil,
				400, `{"deadline_after":["Enter a valid date/time."]}`},
			// A search longer than SQLite's LIKE pattern limit was a 500
			// there; every list now refuses a search that can match nothing.
			{"tasks: search of 10,001 characters", "GET", "/api/task/tasks/?search=" + strings.Repeat("a", 10001), nil, 400, tooLong},
			{"missed: search of 100,000 characters", "GET", "/api/task/tasks/missed/?search=" + strings.Repeat("a", 100000), nil, 400, tooLong},
			{"users: search of 10,001 characters", "GET", "/api/user/users/?search=" + strings.Repeat("%25", 10001), nil, 400, tooLong},
			{"tasks: search of 10,000 escaped characters", "GET", "/api/task/tasks/?search=" + strings.Repeat("%25", 10000), nil, 200, "[]"},
			{"users: search of 10,000 four-byte characters", "GET", "/api/user/users/?search=" + strings.Repeat("%F0%9F%98%80", 10000), nil, 200, "[]"},
			// Bytes that are not UTF-8 reached PostgreSQL, which refused
			// them (500); the search was only spared by its lower-casing.
			{"audit: action not UTF-8", "GET", "/api/audit/?action=%FF", nil, 400, `{"action":["Enter valid UTF-8 text."]}`},
			{"audit: target_id not UTF-8", "GET", "/api/audit/?target_id=%C3%28", nil, 400, `{"target_id":["Enter valid UTF-8 text."]}`},
			{"tasks: search not UTF-8", "GET", "/api/task/tasks/?search=%FF%FE", nil, 400, `{"search":["Enter valid UTF-8 text."]}`},
			{"users: search not UTF-8", "GET", "/api/user/users/?search=a%80", nil, 400, `{"search":["Enter valid UTF-8 text."]}`},
		})
		// An offset near the largest int made the next page's offset
		// overflow into a negative number in Link.
		for _, path := range fuzzListPaths {
			for _, q := range []string{"offset=9223372036854775807", "limit=1000&offset=9223372036854775000"} {
				r := ev.admin.Do("GET", path+"?"+q, nil)
				if r.Status != 200 || r.String() != "[]\n" {
					t.Errorf("%s?%s: %d %s", path, q, r.Status, r.Body)
					continue
				}
				link := r.Header.Get("Link")
				if strings.Contains(link, `rel="next"`) || strings.Contains(link, "offset=-") || !strings.Contains(link, `rel="prev"`) {
					t.Errorf("%s?%s: Link %q", path, q, link)
				}
			}
		}
	})
}
