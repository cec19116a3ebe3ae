package httpapi_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"tasktrack"
	. "tasktrack/sqlstore/sqlstoretest"
)

// notificationsOf lists c's inbox through the API as "kind: message".
func notificationsOf(t *testing.T, c *client, query string) ([]string, *response) {
	t.Helper()
	r := c.Do("GET", "/api/notifications/"+query, nil)
	if r.Status != 200 {
		t.Fatalf("list: %d %s", r.Status, r.Body)
	}
	var list []struct{ Kind, Message string }
	r.Decode(t, &list)
	out := []string{}
	for _, n := range list {
		out = append(out, n.Kind+": "+n.Message)
	}
	return out, r
}

func TestNotificationsAPI(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ev := newEnv(t, e)
		maria := ev.newUser("maria", "manager")
		sam := ev.newUser("sam", "user")
		kim := ev.newUser("kim", "user")
		first := maria.newTask(sam, "Report", 3*time.Hour)
		maria.newTask(sam, "Slides", 3*time.Hour)
		maria.newTask(maria, "Own", 3*time.Hour)
		maria.newTask(kim, "Kim's", 30*time.Hour)
		if r := maria.Do("PATCH", "/api/task/tasks/"+first+"/", map[string]any{"title": "Q3 report"}); r.Status != 200 {
			t.Fatalf("update: %d %s", r.Status, r.Body)
		}

		got, r := notificationsOf(t, sam, "")
		want := []string{`task_changed: maria changed the title of "Q3 report"`,
			`task_assigned: "Slides" was assigned to you by maria`, `task_assigned: "Report" was assigned to you by maria`}
		if strings.Join(got, "|") != strings.Join(want, "|") || r.Header.Get("X-Total-Count") != "3" || r.Header.Get("X-Unread-Count") != "3" {
			t.Fatalf("sam's inbox %q (total %s, unread %s)", got, r.Header.Get("X-Total-Count"), r.Header.Get("X-Unread-Count"))
		}
		var list []map[string]any
		r.Decode(t, &list)
		n := list[0]
		task := n["task"].(map[string]any)
		if n["kind"] != "task_changed" || task["id"] != first || task["title"] != "Q3 report" || n["read_at"] != nil ||
			n["details"].(map[string]any)["by"] != "maria" {
			t.Fatalf("notification %v", n)
		}
		if got, _ := notificationsOf(t, maria, ""); len(got) != 0 {
			t.Fatalf("maria was notified of her own actions: %q", got)
		}

		// Paged, filtered; the unread count is of the whole inbox.
		got, r = notificationsOf(t, sam, "?kind=task_assigned&limit=1")
		if len(got) != 1 || r.Header.Get("X-Total-Count") != "2" || r.Header.Get("X-Unread-Count") != "3" ||
			!strings.Contains(r.Header.Get("Link"), `rel="next"`) {
			t.Fatalf("filtered: %q %v", got, r.Header)
		}
		for _, c := range []struct{ query, body string }{
			{"?kind=task_lost", `{"kind":["Select a valid choice. task_lost is not one of the available choices."]}`},
			{"?unread=maybe", `{"unread":["Enter true or false."]}`},
			{"?limit=0", `{"limit":["Enter a whole number from 1 to 1000."]}`},
		} {
			if r := sam.Do("GET", "/api/notifications/"+c.query, nil); r.Status != 400 || r.String() != c.body+"\n" {
				t.Errorf("%s: %d %s, want 400 %s", c.query, r.Status, r.Body, c.body)
			}
		}

		// Read one: 200 with read_at; again, the first time is kept.
		id := list[0]["id"].(string)
		ev.clock.Add(time.Minute)
		r = sam.Do("POST", "/api/notifications/"+id+"/read/", nil)
		if r.Status != 200 || r.Object(t)["read_at"] != ev.clock.Now().UTC().Format("2006-01-02T15:04:05.000000Z") {
			t.Fatalf("read: %d %s", r.Status, r.Body)
		}
		ev.clock.Add(time.Minute)
		if again := sam.Do("POST", "/api/notifications/"+id+"/read", nil); again.Status != 200 || again.Object(t)["read_at"] != r.Object(t)["read_at"] {
			t.Fatalf("read again: %d %s", again.Status, again.Body)
		}
		// Another's, or none: 404.
		for _, c := range []struct {
			who  *client
			path string
		}{
			{kim, "/api/notifications/" + id + "/read/"},
			{ev.admin, "/api/notifications/" + id + "/read/"},
			{sam, "/api/notifications/nope/read/"},
			{sam, "/api/notifications/01900000-0000-7000-8000-000000000000/read/"},
		} {
			if r := c.who.Do("POST", c.path, nil); r.Status != 404 || r.String() != `{"detail":"Not found."}`+"\n" {
				t.Errorf("%s POST %s: %d %s", c.who.user.Username, c.path, r.Status, r.Body)
			}
		}
		if got, r := notificationsOf(t, sam, "?unread=true"); len(got) != 2 || r.Header.Get("X-Unread-Count") != "2" {
			t.Fatalf("unread: %q %s", got, r.Header.Get("X-Unread-Count"))
		}
		if got, _ := notificationsOf(t, sam, "?unread=false"); len(got) != 1 {
			t.Fatalf("read: %q", got)
		}
		// Read all: how many, then none.
		for _, want := range []string{`{"marked":2}`, `{"marked":0}`} {
			if r := sam.Do("POST", "/api/notifications/read-all/", nil); r.Status != 200 || r.String() != want+"\n" {
				t.Fatalf("read-all: %d %s, want %s", r.Status, r.Body, want)
			}
		}
		if _, r := notificationsOf(t, kim, ""); r.Header.Get("X-Unread-Count") != "1" {
			t.Fatalf("kim's unread count %s after sam's read-all", r.Header.Get("X-Unread-Count"))
		}
		if r := ev.anon().Do("GET", "/api/notifications/", nil); r.Status != 401 {
			t.Fatalf("anonymous: %d", r.Status)
		}
	})
}

// wantNotification waits for a notification event and returns its id and
// data.
func (st *testStream) wantNotification(t *testing.T) (id string, n map[string]any) {
	t.Helper()
	for {
		line := st.next(t)
		if line == "event: alert" {
			t.Fatal("an alert on the notification stream")
		}
		if line != "event: notification" {
			continue
		}
		for {
			line := st.next(t)
			if v, ok := strings.CutPrefix(line, "id: "); ok {
				id = v
			}
			if data, ok := strings.CutPrefix(line, "data: "); ok {
				if err := json.Unmarshal([]byte(data), &n); err != nil {
					t.Fatal(err)
				}
				return id, n
			}
		}
	}
}

// The stream carries the caller's own notifications only, live, from
// the sweep as from the API; Last-Event-ID resumes after the one it names.
func TestNotificationStream(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ev := newEnv(t, e)
		maria := ev.newUser("maria", "manager")
		sam := ev.newUser("sam", "user")
		kim := ev.newUser("kim", "user")
		samStream := openEventStream(t, sam, "/api/notifications/stream/", "")
		kimStream := openEventStream(t, kim, "/api/notifications/stream/", "")

		maria.newTask(kim, "Kim's", 30*time.Hour)
		report := maria.newTask(sam, "Report", 64*time.Minute)
		first, n := samStream.wantNotification(t)
		if n["kind"] != "task_assigned" || n["task"].(map[string]any)["id"] != report {
			t.Fatalf("first event %v", n)
		}
		// Four minutes later (within the token's life) the sweep reminds
		// sam: live, due in 1 hour.
		ev.clock.Add(4 * time.Minute)
		if res, err := ev.db.Sweeper.Sweep(context.Background()); err != nil || res.Reminders != 1 {
			t.Fatalf("sweep: %+v %v", res, err)
		}
		second, n := samStream.wantNotification(t)
		if n["kind"] != "task_reminder" || n["message"] != `"Report" is due in 1 hour` || n["details"].(map[string]any)["lead"] != "1h" {
			t.Fatalf("reminder %v", n)
		}
		if _, n := kimStream.wantNotification(t); n["message"] != `"Kim's" was assigned to you by maria` {
			t.Fatalf("kim's stream: %v", n)
		}
		// Resuming after the first sends the second, then goes on live.
		resumed := openEventStream(t, sam, "/api/notifications/stream/", first)
		if id, _ := resumed.wantNotification(t); id != second {
			t.Fatalf("resumed with %s, want %s", id, second)
		}
		// Another's id resumes nothing of theirs: it is ignored.
		fromKim := openEventStream(t, kim, "/api/notifications/stream/", first)
		maria.newTask(kim, "Kim's second", 30*time.Hour)
		if _, n := fromKim.wantNotification(t); n["message"] != `"Kim's second" was assigned to you by maria` {
			t.Fatalf("kim resumed from sam's id: %v", n)
		}
		// Deactivated, sam's stream ends with nothing more sent.
		if r := ev.admin.Do("POST", "/api/user/users/"+itoa(sam.user.ID)+"/deactivate/", nil); r.Status != 200 {
			t.Fatalf("deactivate: %d", r.Status)
		}
		samStream.wantEnd(t)
	})
}

// A stream whose caller's credentials end elsewhere sends nothing after:
// the notification is committed, but the caller is checked before it is
// written.
func TestNotificationStreamEndsWithCredentials(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ev := newEnv(t, e)
		sam := ev.newUser("sam", "user")
		st := openEventStream(t, sam, "/api/notifications/stream/", "")
		admin := tasktrack.NewContextWithActor(context.Background(), ev.admin.user)
		if _, err := ev.db.Users.DeactivateUser(admin, sam.user.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := ev.db.Users.ReactivateUser(admin, sam.user.ID); err != nil {
			t.Fatal(err)
		}
		// The reactivation wrote a notification, which wakes the stream;
		// its token's version is stale, so it ends instead.
		st.wantEnd(t)
	})
}

func TestPreferencesAPI(t *testing.T) {
	const defaults = `{"email":{"alerts":"each","at_risk":true,"reactivated":true,"task_assigned":true,"task_changed":true,"task_missed":true,"task_reminder":true},"timezone":"UTC"}`
	Engines(t, func(t *testing.T, e Engine) {
		ev := newEnv(t, e)
		sam := ev.newUser("sam", "user")
		kim := ev.newUser("kim", "user")
		if r := sam.Do("GET", "/api/user/me/preferences/", nil); r.Status != 200 || r.String() != defaults+"\n" {
			t.Fatalf("defaults: %d %s", r.Status, r.Body)
		}
		cases := []struct {
			name   string
			body   string
			status int
			want   string
		}{
			{"unknown key", `{"timezone":"UTC","sound":true}`, 400, `{"sound":["Unknown preference: the preferences are email and timezone."]}`},
			{"unknown email key", `{"email":{"task_lost":false}}`, 400, `{"email":["Unknown key \"task_lost\": the keys are the kinds of notification and alerts."]}`},
			{"bad timezone", `{"timezone":"Mars/Olympus"}`, 400, `{"timezone":["\"Mars/Olympus\" is not a known timezone (an IANA name such as Europe/Paris)."]}`},
			{"the server's zone", `{"timezone":"Local"}`, 400, `{"timezone":["\"Local\" is not a known timezone (an IANA name such as Europe/Paris)."]}`},
			{"bad alerts", `{"email":{"alerts":"hourly"}}`, 400, `{"email":["alerts: \"hourly\" is not a valid choice (off, each or daily)."]}`},
			{"alerts not text", `{"email":{"alerts":1}}`, 400, `{"email":["alerts: Expected one of off, each or daily."]}`},
			{"not a boolean", `{"email":{"task_reminder":"no"}}`, 400, `{"email":["task_reminder: Must be a valid boolean."]}`},
			{"null", `{"email":{"task_reminder":null}}`, 400, `{"email":["task_reminder: Must be a valid boolean."]}`},
			{"email not an object", `{"email":true}`, 400, `{"email":["Expected an object of choices, such as {\"task_reminder\": false}."]}`},
			{"timezone not text", `{"timezone":7}`, 400, `{"timezone":["Not a valid string."]}`},
			{"not an object", `[]`, 400, `{"non_field_errors":["Invalid data. Expected a dictionary, but got list."]}`},
			{"nothing", `{}`, 200, defaults},
			{"some", `{"email":{"task_reminder":false,"alerts":"daily"},"timezone":"Europe/Paris"}`, 200,
				`{"email":{"alerts":"daily","at_risk":true,"reactivated":true,"task_assigned":true,"task_changed":true,"task_missed":true,"task_reminder":false},"timezone":"Europe/Paris"}`},
			{"more, the rest kept", `{"email":{"at_risk":false}}`, 200,
				`{"email":{"alerts":"daily","at_risk":false,"reactivated":true,"task_assigned":true,"task_changed":true,"task_missed":true,"task_reminder":false},"timezone":"Europe/Paris"}`},
		}
		for _, c := range cases {
			r := sam.Do("PATCH", "/api/user/me/preferences/", c.body)
			if r.Status != c.status || r.String() != c.want+"\n" {
				t.Errorf("%s: %d %s\nwant %d %s", c.name, r.Status, r.Body, c.status, c.want)
			}
		}
		if r := sam.Do("GET", "/api/user/me/preferences/", nil); !strings.Contains(r.String(), `"timezone":"Europe/Paris"`) {
			t.Fatalf("not kept: %s", r.Body)
		}
		if r := kim.Do("GET", "/api/user/me/preferences/", nil); r.String() != defaults+"\n" {
			t.Fatalf("kim's changed too: %s", r.Body)
		}
		// Each change is audited, once.
		entries, _, err := ev.db.Audit.FindAuditEntries(System, tasktrack.AuditFilter{Action: tasktrack.ActionUserPreferences})
		if err != nil || len(entries) != 2 || string(entries[1].Details) != `{"alerts":"daily","email.task_reminder":false,"timezone":"Europe/Paris"}` {
			t.Fatalf("audit: %d entries, %v", len(entries), err)
		}
	})
}
