package httpapi_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	goical "github.com/arran4/golang-ical"
	"github.com/getkin/kin-openapi/openapi3filter"

	"tasktrack/httpapi"
	. "tasktrack/sqlstore/sqlstoretest"
)

// The calendar feed: its secret URL, rotation, what it holds, how it is
// written (read back by an independent parser), its caching, and that its
// secret stays out of the logs.

func init() {
	// The feed's answers are held to the OpenAPI document like every
	// other; its body is text for the document's purposes.
	openapi3filter.RegisterBodyDecoder("text/calendar", openapi3filter.FileBodyDecoder)
}

var feedURL = regexp.MustCompile(`^(http://127\.0\.0\.1:\d+)(/api/calendar/([A-Za-z0-9_-]{43})/tasks\.ics)$`)

// feedPath asks for c's subscribe URL (rotating it first if rotate) and
// returns its path, checking that the URL is under the server's link
// base.
func (c *client) feedPath(rotate bool) string {
	c.env.t.Helper()
	method, path := "GET", "/api/calendar/"
	if rotate {
		method, path = "POST", "/api/calendar/rotate/"
	}
	r := c.Do(method, path, nil)
	if r.Status != 200 {
		c.env.t.Fatalf("%s %s: %d %s", method, path, r.Status, r.Body)
	}
	u, _ := r.Object(c.env.t)["url"].(string)
	m := feedURL.FindStringSubmatch(u)
	if m == nil || m[1] != c.env.srv.URL {
		c.env.t.Fatalf("subscribe URL %q: want %s/api/calendar/<secret>/tasks.ics", u, c.env.srv.URL)
	}
	return m[2]
}

func TestCalendarURL(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		dsn := DSN(t, e)
		ev := newEnvOn(t, e, dsn)
		replica := newEnvOn(t, e, dsn)
		alice := ev.newUser("alice", "user")
		bob := ev.newUser("bob", "user")

		first := alice.feedPath(false)
		if again := alice.feedPath(false); again != first {
			t.Fatalf("the URL changed between calls: %s, then %s", first, again)
		}
		if other := alice.on(replica).feedPath(false); other != first {
			t.Fatalf("the other replica answers another URL: %s, want %s", other, first)
		}
		if bobs := bob.feedPath(false); bobs == first {
			t.Fatal("bob has alice's URL")
		}
		if r := ev.anon().Do("GET", first, nil); r.Status != 200 {
			t.Fatalf("the feed: %d %s", r.Status, r.Body)
		}

		rotated := alice.on(replica).feedPath(true)
		if rotated == first {
			t.Fatal("rotation kept the URL")
		}
		for what, where := range map[string]*env{"here": ev, "on the replica that rotated": replica} {
			wantJSON(t, "the old URL "+what, where.anon().Do("GET", first, nil), 404, `{"detail": "Not found."}`)
			if r := where.anon().Do("GET", rotated, nil); r.Status != 200 {
				t.Errorf("the new URL %s: %d %s", what, r.Status, r.Body)
			}
		}
		if now := alice.feedPath(false); now != rotated {
			t.Fatalf("after rotation the URL is %s, want %s", now, rotated)
		}
		wantJSON(t, "a secret that is no secret", ev.anon().Do("GET", "/api/calendar/rotate/tasks.ics", nil), 404, `{"detail": "Not found."}`)
		wantJSON(t, "no token", ev.anon().Do("GET", "/api/calendar/", nil), 401, `{"detail": "Authentication credentials were not provided."}`)

		var entries []struct{ Action string }
		ev.admin.Do("GET", "/api/audit/?actor="+itoa(alice.user.ID), nil).Decode(t, &entries)
		var actions []string
		for _, en := range entries {
			if strings.HasPrefix(en.Action, "calendar.") {
				actions = append(actions, en.Action)
			}
		}
		if strings.Join(actions, " ") != "calendar.rotate calendar.create" {
			t.Fatalf("audit: %v", actions)
		}
	})
}

// feedTask is what the test expects of one task's event.
type feedTask struct {
	id, summary, description string
	deadline, changed        time.Time
	open                     bool
}

// getTask reads a task as the admin.
func (e *env) getTask(id string) map[string]any {
	e.t.Helper()
	r := e.admin.Do("GET", "/api/task/tasks/"+id+"/", nil)
	if r.Status != 200 {
		e.t.Fatalf("task %s: %d %s", id, r.Status, r.Body)
	}
	return r.Object(e.t)
}

func (e *env) expect(id, summary string, open bool) feedTask {
	e.t.Helper()
	m := e.getTask(id)
	deadline, _ := time.Parse(time.RFC3339Nano, m["deadline"].(string))
	changed, _ := time.Parse(time.RFC3339Nano, m["updated_at"].(string))
	return feedTask{id: id, summary: summary, description: m["description"].(string), deadline: deadline, changed: changed, open: open}
}

// checkFeed parses a feed with golang-ical, holds its bytes to RFC 5545's
// rules for content lines, and checks it holds exactly the tasks want.
func checkFeed(t *testing.T, ev *env, body []byte, name string, want []feedTask, assignee map[string]string) {
	t.Helper()
	out := string(body)
	if !strings.HasSuffix(out, "\r\n") {
		t.Error("the feed does not end with CRLF")
	}
	for i, line := range strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n") {
		if len(line) > 75 || strings.ContainsAny(line, "\r\n") || !utf8.ValidString(line) || line == "" {
			t.Errorf("line %d breaks the content line rules: %q", i+1, line)
		}
	}
	cal, err := goical.ParseCalendar(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, out)
	}
	for _, p := range []struct{ name, got, want string }{
		{"VERSION", calendarProperty(cal, goical.PropertyVersion), "2.0"},
		{"PRODID", calendarProperty(cal, goical.PropertyProductId), "-//tasktrack//tasktrack//EN"},
		{"X-WR-CALNAME", calendarProperty(cal, goical.PropertyXWRCalName), name},
	} {
		if p.got != p.want {
			t.Errorf("%s %q, want %q", p.name, p.got, p.want)
		}
	}
	events := cal.Events()
	if len(events) != len(want) {
		t.Fatalf("%d events, want %d:\n%s", len(events), len(want), out)
	}
	byUID := map[string]*goical.VEvent{}
	for _, e := range events {
		byUID[e.Id()] = e
	}
	for _, w := range want {
		e := byUID[w.id+"@tasktrack"]
		if e == nil {
			t.Errorf("no event with UID %s@tasktrack", w.id)
			continue
		}
		description := w.description
		if a := assignee[w.id]; a != "" {
			description = strings.TrimSpace("Assigned to " + a + "\n\n" + description)
		}
		for _, p := range []struct{ name, got, want string }{
			{"SUMMARY", property(e.ComponentBase, goical.ComponentPropertySummary), w.summary},
			{"DESCRIPTION", property(e.ComponentBase, goical.ComponentPropertyDescription), orNone(description)},
			{"URL", property(e.ComponentBase, goical.ComponentPropertyUrl), ev.srv.URL + "/tasks/" + w.id},
			{"DURATION", property(e.ComponentBase, goical.ComponentPropertyDuration), "PT15M"},
		} {
			if p.got != p.want {
				t.Errorf("%s: %s %q, want %q", w.id, p.name, p.got, p.want)
			}
		}
		if start, err := e.GetStartAt(); err != nil || !start.Equal(w.deadline.Truncate(time.Second)) {
			t.Errorf("%s: DTSTART %v (%v), want %v", w.id, start, err, w.deadline)
		}
		if stamp, err := e.GetDtStampTime(); err != nil || !stamp.Equal(w.changed.Truncate(time.Second)) {
			t.Errorf("%s: DTSTAMP %v (%v), want %v", w.id, stamp, err, w.changed)
		}
		alarms := e.Alarms()
		if !w.open {
			if len(alarms) != 0 {
				t.Errorf("%s: %d alarms on a task that is no longer open", w.id, len(alarms))
			}
			continue
		}
		title := w.summary // an open task's summary is its title
		leads := []struct{ trigger, text string }{{"-PT24H", "24 hours"}, {"-PT1H", "1 hour"}}
		if len(alarms) != len(leads) {
			t.Errorf("%s: %d alarms, want %d", w.id, len(alarms), len(leads))
			continue
		}
		for i, lead := range leads {
			a := alarms[i].ComponentBase
			for _, p := range []struct{ name, got, want string }{
				{"TRIGGER", property(a, goical.ComponentPropertyTrigger), lead.trigger},
				{"ACTION", property(a, goical.ComponentPropertyAction), "DISPLAY"},
				{"DESCRIPTION", property(a, goical.ComponentPropertyDescription), `"` + title + `" is due in ` + lead.text},
			} {
				if p.got != p.want {
					t.Errorf("%s: alarm %d %s %q, want %q", w.id, i, p.name, p.got, p.want)
				}
			}
		}
	}
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

func property(c goical.ComponentBase, p goical.ComponentProperty) string {
	if prop := c.GetProperty(p); prop != nil {
		return prop.Value
	}
	return "<none>"
}

func calendarProperty(cal *goical.Calendar, p goical.Property) string {
	for _, prop := range cal.CalendarProperties {
		if prop.IANAToken == string(p) {
			return prop.Value
		}
	}
	return "<none>"
}

func TestCalendarFeed(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ev := newEnv(t, e)
		ctx := context.Background()
		alice := ev.newUser("alice", "user")
		bob := ev.newUser("bob", "user")
		maria := ev.newUser("maria", "manager")
		word200 := strings.Repeat("ß", 199) + "!"
		hard := "Plan, review; ship\\it — \"now\"\nthen 🚀🎉 done"
		newTask := func(assignee *client, title, description string, in time.Duration) string {
			t.Helper()
			r := ev.admin.Do("POST", "/api/task/tasks/", map[string]any{"title": title, "description": description,
				"deadline": ev.clock.Now().Add(in).Format(time.RFC3339Nano), "assigned_to": assignee.user.ID})
			if r.Status != 201 {
				t.Fatalf("create %q: %d %s", title, r.Status, r.Body)
			}
			return r.Object(t)["id"].(string)
		}
		setStatus := func(c *client, id, status string) {
			t.Helper()
			if r := c.Do("PATCH", "/api/task/tasks/"+id+"/update_status/", map[string]string{"status": status}); r.Status != 200 {
				t.Fatalf("status of %s: %d %s", id, r.Status, r.Body)
			}
		}
		sweep := func() {
			t.Helper()
			if _, err := ev.db.Sweeper.Sweep(ctx); err != nil {
				t.Fatal(err)
			}
		}
		relogin := func() {
			ev.admin = ev.login("admin", adminPassword)
			alice = ev.login("alice", userPassword("alice"))
			maria = ev.login("maria", userPassword("maria"))
		}

		hardID := newTask(alice, hard, word200+"\nline two, with; specials\\ and 🚀", 40*24*time.Hour)
		longID := newTask(alice, strings.Repeat("🚀", 100), "", 40*24*time.Hour)
		oldDone := newTask(alice, "Done long ago", "", 40*24*time.Hour)
		setStatus(alice, oldDone, "completed")
		missed := newTask(alice, "Missed, recently", "", time.Hour)
		newTask(alice, "Missed long ago", "", 10*time.Minute)
		bobs := newTask(bob, "Bob's; own", "his", 40*24*time.Hour)
		ev.clock.Add(20 * time.Minute)
		sweep() // oldMissed is missed at t0+20m
		ev.clock.Add(100 * time.Minute)
		sweep() // missed is missed at t0+2h
		ev.clock.Set(t0.Add(30 * 24 * time.Hour))
		relogin()
		recentDone := newTask(alice, "Done, recently", "", 24*time.Hour)
		setStatus(alice, recentDone, "completed")
		// Thirty days back from now reaches t0+1h: oldDone (completed at
		// t0) and "Missed long ago" (missed at t0+20m) are out, missed
		// (missed at t0+2h) is in.
		ev.clock.Add(time.Hour)
		relogin()

		want := []feedTask{
			ev.expect(missed, "Missed: Missed, recently", false),
			ev.expect(recentDone, "Done: Done, recently", false),
			ev.expect(hardID, hard, true),
			ev.expect(longID, strings.Repeat("🚀", 100), true),
		}
		path := alice.feedPath(false)
		r := ev.anon().Do("GET", path, nil)
		if r.Status != 200 {
			t.Fatalf("feed: %d %s", r.Status, r.Body)
		}
		for h, v := range map[string]string{"Content-Type": "text/calendar; charset=utf-8", "Cache-Control": "private, max-age=300"} {
			if got := r.Header.Get(h); got != v {
				t.Errorf("%s: %q, want %q", h, got, v)
			}
		}
		checkFeed(t, ev, r.Body, "tasktrack: alice", want, nil)

		// ETag and 304; a HEAD has the same ETag.
		etag := r.Header.Get("ETag")
		if !strings.HasPrefix(etag, `"`) || !strings.HasSuffix(etag, `"`) || len(etag) < 10 {
			t.Fatalf("ETag %q", etag)
		}
		for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
			r := ev.anon().Do("GET", path, nil, "If-None-Match", inm)
			if r.Status != 304 || len(r.Body) != 0 || r.Header.Get("ETag") != etag || r.Header.Get("Cache-Control") != "private, max-age=300" {
				t.Errorf("If-None-Match %s: %d %v %q", inm, r.Status, r.Header, r.Body)
			}
		}
		if r := ev.anon().Do("GET", path, nil, "If-None-Match", `"other"`); r.Status != 200 || r.Header.Get("ETag") != etag {
			t.Errorf("another ETag: %d %q", r.Status, r.Header.Get("ETag"))
		}
		if r := ev.anon().Do("GET", path, nil); r.Header.Get("ETag") != etag || !bytes.Equal(r.Body, ev.anon().Do("GET", path, nil).Body) {
			t.Errorf("an unchanged feed changed: ETag %q, want %q", r.Header.Get("ETag"), etag)
		}
		ev.clock.Add(time.Minute)
		if r := ev.admin.Do("PATCH", "/api/task/tasks/"+longID+"/", map[string]string{"description": "now with words"}); r.Status != 200 {
			t.Fatalf("edit: %d %s", r.Status, r.Body)
		}
		r = ev.anon().Do("GET", path, nil, "If-None-Match", etag)
		if r.Status != 200 || r.Header.Get("ETag") == etag {
			t.Fatalf("after a change, the old ETag: %d, ETag %q", r.Status, r.Header.Get("ETag"))
		}
		want[3] = ev.expect(longID, strings.Repeat("🚀", 100), true)
		checkFeed(t, ev, r.Body, "tasktrack: alice", want, nil)

		// Every task for managers and admins, with the assignee named.
		all := maria.feedPath(false) + "?scope=all"
		r = ev.anon().Do("GET", all, nil)
		if r.Status != 200 {
			t.Fatalf("maria's feed of all: %d %s", r.Status, r.Body)
		}
		checkFeed(t, ev, r.Body, "tasktrack: all tasks", append(want, ev.expect(bobs, "Bob's; own", true)),
			map[string]string{missed: "alice", recentDone: "alice", hardID: "alice", longID: "alice", bobs: "bob"})
		if r := ev.anon().Do("GET", strings.TrimSuffix(all, "?scope=all"), nil); r.Status != 200 || strings.Contains(string(r.Body), bobs) {
			t.Errorf("maria's own feed holds others' tasks: %d", r.Status)
		}
		wantJSON(t, "a user asks for all", ev.anon().Do("GET", path+"?scope=all", nil), 403, `{"detail": "Only managers and admins may subscribe to every task."}`)
		wantJSON(t, "a bad scope", ev.anon().Do("GET", path+"?scope=mine", nil), 400, `{"scope": ["Select a valid choice. mine is not one of the available choices: all."]}`)
		wantJSON(t, "a bad scope with a bad secret", ev.anon().Do("GET", "/api/calendar/nope/tasks.ics?scope=all", nil), 404, `{"detail": "Not found."}`)

		// A demoted manager loses every task at once.
		wantJSON(t, "demote", ev.admin.Do("PATCH", "/api/user/users/"+itoa(maria.user.ID)+"/", map[string]string{"role": "user"}), 200, "")
		wantJSON(t, "a demoted manager asks for all", ev.anon().Do("GET", all, nil), 403, `{"detail": "Only managers and admins may subscribe to every task."}`)

		// A deactivated owner's feed is gone while they are.
		wantJSON(t, "deactivate", ev.admin.Do("POST", "/api/user/users/"+itoa(alice.user.ID)+"/deactivate/", nil), 200, `{"status": "User deactivated"}`)
		wantJSON(t, "a deactivated owner's feed", ev.anon().Do("GET", path, nil), 404, `{"detail": "Not found."}`)
		wantJSON(t, "reactivate", ev.admin.Do("POST", "/api/user/users/"+itoa(alice.user.ID)+"/reactivate/", nil), 200, `{"status": "User reactivated"}`)
		if r := ev.anon().Do("GET", path, nil); r.Status != 200 {
			t.Errorf("after reactivation: %d %s", r.Status, r.Body)
		}

		// A deleted owner's feed is gone.
		carol := ev.newUser("carol", "user")
		carols := carol.feedPath(false)
		wantJSON(t, "delete", ev.admin.Do("DELETE", "/api/user/users/"+itoa(carol.user.ID)+"/", nil), 204, "")
		wantJSON(t, "a deleted owner's feed", ev.anon().Do("GET", carols, nil), 404, `{"detail": "Not found."}`)
	})
}

// The feed's secret is its credential: the request log shows where the
// secret was, never the secret.
func TestCalendarSecretNotLogged(t *testing.T) {
	ev := newEnv(t, SQLite)
	alice := ev.newUser("alice", "user")
	path := alice.feedPath(false)
	secret := strings.Split(path, "/")[3]
	var logs bytes.Buffer
	api := &httpapi.Server{Users: ev.db.Users, Tasks: ev.db.Tasks, Alerts: ev.db.Alerts, Audit: ev.db.Audit, Auth: ev.auth, Hub: ev.api.Hub,
		PersonalTokens: ev.db.Tokens, TokenAuth: ev.pats, Calendars: ev.db.Calendars, LinkBase: ev.srv.URL, Ready: ev.db.Ping,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	h := api.Handler()
	for _, target := range []string{path, path + "?scope=all", path + "?scope=bad", "/api/calendar/" + secret, "/api/calendar/" + secret + "x/tasks.ics"} {
		// Served in this goroutine, so the log line is written before
		// ServeHTTP returns.
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", target, nil))
	}
	out := logs.String()
	if strings.Contains(out, secret) || strings.Contains(out, url.PathEscape(secret)) {
		t.Fatalf("the secret is in the log:\n%s", out)
	}
	if n := strings.Count(out, "path=/api/calendar/{secret}/tasks.ics"); n != 4 {
		t.Fatalf("%d request lines with the elided path, want 4:\n%s", n, out)
	}
	if !strings.Contains(out, "path=/api/calendar/{secret} ") {
		t.Fatalf("no request line for the bare secret path:\n%s", out)
	}
}
