package outbox_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"tasktrack"
	"tasktrack/mail/smtptest"
	"tasktrack/outbox"
	"tasktrack/sqlstore"
	. "tasktrack/sqlstore/sqlstoretest"
)

const hookBase = 5 * time.Second

// call is one request a receiver got.
type call struct {
	path, id, timestamp, signature string
	body                           []byte
}

// receiver is a local HTTP server that records what it is sent and
// answers, in turn, the statuses it is given (then 200).
type receiver struct {
	srv     *httptest.Server
	mu      sync.Mutex
	calls   []call
	answers []int
	hang    bool
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	rc := &receiver{}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.calls = append(rc.calls, call{r.URL.Path, r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"),
			r.Header.Get("webhook-signature"), body})
		status, hang := http.StatusOK, rc.hang
		if len(rc.answers) > 0 {
			status, rc.answers = rc.answers[0], rc.answers[1:]
		}
		rc.mu.Unlock()
		if hang {
			<-r.Context().Done()
			return
		}
		if status/100 == 3 {
			w.Header().Set("Location", "/elsewhere")
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, "answer "+http.StatusText(status))
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) got() []call {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.calls)
}

// hookWorld is a store, a receiver and a worker that sends webhooks only.
type hookWorld struct {
	db     *sqlstore.DB
	clock  *Clock
	rc     *receiver
	hooks  *outbox.Webhooks
	worker *outbox.Worker
}

func newHookWorld(t *testing.T, e Engine, allowPrivate bool) *hookWorld {
	t.Helper()
	w := &hookWorld{db: Open(t, e), clock: NewClock(t0), rc: newReceiver(t)}
	w.db.Now = w.clock.Now
	w.hooks = &outbox.Webhooks{Store: w.db.Webhooks, Client: outbox.NewWebhookClient(2*time.Second, allowPrivate),
		PublicURL: "https://tt.example.com", Timeout: 2 * time.Second, PerEndpoint: 2, Now: w.clock.Now,
		Logger: slog.New(slog.DiscardHandler)}
	w.worker = outbox.New(w.db.Outbox, map[string]outbox.Kind{tasktrack.DeliveryWebhook: outbox.WebhookKind(w.hooks, hookBase)},
		w.db.OutboxChanged(), slog.New(slog.DiscardHandler))
	w.worker.Now = w.clock.Now
	w.worker.Rand = func() float64 { return 0 }
	return w
}

func (w *hookWorld) endpoint(t *testing.T, url string, format string, events ...string) (*tasktrack.Webhook, string) {
	t.Helper()
	secret := tasktrack.NewWebhookSecret()
	h, err := w.db.Webhooks.CreateWebhook(System, tasktrack.WebhookInput{URL: &url, Events: events, Format: &format}, secret)
	if err != nil {
		t.Fatal(err)
	}
	return h, secret
}

func (w *hookWorld) run(t *testing.T) int {
	t.Helper()
	n, err := w.worker.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (w *hookWorld) attempts(t *testing.T, id string) []*tasktrack.WebhookAttempt {
	t.Helper()
	a, _, err := w.db.Webhooks.FindWebhookAttempts(System, id, "", tasktrack.Page{Limit: tasktrack.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// verify checks a Standard Webhooks v1 signature header as a receiver
// would, written from the specification rather than with the code under
// test: HMAC-SHA256 keyed by the base64 after "whsec_", over
// "id.timestamp.body", base64, "v1," before each, space-separated.
func verify(secret string, c call) bool {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(c.id + "." + c.timestamp + "." + string(c.body)))
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, sig := range strings.Split(c.signature, " ") {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return true
		}
	}
	return false
}

// Every event reaches the endpoints subscribed to it, and only those.
func TestWebhookEvents(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		w := newHookWorld(t, e, true)
		events := []string{tasktrack.EventTaskCreated, tasktrack.EventTaskUpdated, tasktrack.EventTaskDeleted,
			tasktrack.EventTaskStatusChanged, tasktrack.EventUserCreated, tasktrack.EventUserDeactivated,
			tasktrack.EventUserReactivated, tasktrack.EventAlertAcknowledged, tasktrack.EventTaskMissed, tasktrack.EventTaskReminder,
			tasktrack.EventUserAtRisk}
		for _, ev := range append(slices.Clone(events), "*") {
			w.endpoint(t, w.rc.srv.URL+"/"+ev, tasktrack.FormatStandard, ev)
		}
		off, _ := w.endpoint(t, w.rc.srv.URL+"/off", tasktrack.FormatStandard, "*")
		inactive := false
		if _, err := w.db.Webhooks.UpdateWebhook(System, off.ID, tasktrack.WebhookInput{IsActive: &inactive}); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		// The sweep below reminds of the first task, and one miss puts sam
		// at risk.
		w.db.Reminders = []time.Duration{time.Hour}
		w.db.MissedThreshold = 2
		sam := MustCreateUser(t, w.db, "sam", "user")
		task := MustCreateTask(t, w.db, sam, "Quarterly report", time.Hour)
		title := "Quarterly report, v2"
		if _, err := w.db.Tasks.UpdateTask(System, task.ID, tasktrack.TaskUpdate{Title: &title}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.db.Tasks.UpdateTaskStatus(As(sam), task.ID, tasktrack.StatusInProgress); err != nil {
			t.Fatal(err)
		}
		late := MustCreateTask(t, w.db, sam, "Late", time.Minute)
		w.clock.Add(2 * time.Minute)
		if _, err := w.db.Sweeper.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		alerts, _, err := w.db.Alerts.FindAlerts(System, tasktrack.AlertFilter{Kind: tasktrack.AlertTaskMissed})
		if err != nil || len(alerts) != 1 {
			t.Fatalf("alerts %v %v", alerts, err)
		}
		if _, err := w.db.Alerts.AcknowledgeAlert(System, alerts[0].ID); err != nil {
			t.Fatal(err)
		}
		if err := w.db.Tasks.DeleteTask(System, late.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := w.db.Users.DeactivateUser(System, sam.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := w.db.Users.ReactivateUser(System, sam.ID); err != nil {
			t.Fatal(err)
		}
		// The same through an update of the user.
		for _, active := range []bool{false, true} {
			if _, err := w.db.Users.UpdateUser(System, sam.ID, tasktrack.UserUpdate{IsActive: &active}); err != nil {
				t.Fatal(err)
			}
		}
		for w.run(t) > 0 {
		}
		byPath := map[string][]string{}
		for _, c := range w.rc.got() {
			var body tasktrack.WebhookBody
			if err := json.Unmarshal(c.body, &body); err != nil {
				t.Fatalf("body %s: %v", c.body, err)
			}
			byPath[c.path] = append(byPath[c.path], body.Type)
		}
		for _, ev := range events {
			want := []string{ev}
			switch ev {
			case tasktrack.EventTaskCreated, tasktrack.EventUserDeactivated, tasktrack.EventUserReactivated:
				want = []string{ev, ev}
			case tasktrack.EventUserCreated:
				want = []string{ev}
			}
			if got := byPath["/"+ev]; !slices.Equal(got, want) {
				t.Errorf("%s got %q, want %q", ev, got, want)
			}
		}
		all := byPath["/*"]
		slices.Sort(all)
		wantAll := append(slices.Clone(events), tasktrack.EventTaskCreated, tasktrack.EventUserDeactivated, tasktrack.EventUserReactivated)
		slices.Sort(wantAll)
		if !slices.Equal(all, wantAll) {
			t.Errorf("* got %q, want %q", all, wantAll)
		}
		if got := byPath["/off"]; got != nil {
			t.Errorf("an inactive endpoint got %q", got)
		}
	})
}

// The body's data is the contract's JSON of the object.
func TestWebhookTaskData(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		w := newHookWorld(t, e, true)
		w.endpoint(t, w.rc.srv.URL+"/", tasktrack.FormatStandard, tasktrack.EventTaskCreated)
		sam := MustCreateUser(t, w.db, "sam", "user")
		task := MustCreateTask(t, w.db, sam, "Quarterly report", time.Hour)
		w.run(t)
		got := w.rc.got()
		if len(got) != 1 {
			t.Fatalf("calls %d", len(got))
		}
		want := `{"type":"task.created","timestamp":"2026-03-02T09:00:00.000000Z","data":{"assigned_to":` + itoa(sam.ID) +
			`,"assigned_to_username":"sam","completed_at":null,"created_at":"2026-03-02T09:00:00.000000Z","created_by":null,` +
			`"deadline":"2026-03-02T10:00:00.000000Z","description":"","id":"` + task.ID + `","missed_at":null,"status":"pending",` +
			`"title":"Quarterly report","updated_at":"2026-03-02T09:00:00.000000Z"}}`
		if string(got[0].body) != want {
			t.Errorf("body\n%s\nwant\n%s", got[0].body, want)
		}
	})
}

// Signatures verify by the specification, with both secrets during a
// rotation and with the new one alone after it; the id stays the same on
// every attempt.
func TestWebhookSignatures(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		w := newHookWorld(t, e, true)
		h, oldSecret := w.endpoint(t, w.rc.srv.URL+"/", tasktrack.FormatStandard, "*")
		if err := w.db.Webhooks.PingWebhook(System, h.ID); err != nil {
			t.Fatal(err)
		}
		w.run(t)
		if _, err := w.db.Webhooks.RotateWebhookSecret(System, h.ID, "whsec_"+base64.StdEncoding.EncodeToString([]byte("a new secret of 24 bytes"))); err != nil {
			t.Fatal(err)
		}
		newSecret := "whsec_" + base64.StdEncoding.EncodeToString([]byte("a new secret of 24 bytes"))
		if err := w.db.Webhooks.PingWebhook(System, h.ID); err != nil {
			t.Fatal(err)
		}
		w.run(t)
		w.clock.Add(tasktrack.WebhookRotationGrace)
		if err := w.db.Webhooks.PingWebhook(System, h.ID); err != nil {
			t.Fatal(err)
		}
		w.run(t)
		got := w.rc.got()
		if len(got) != 3 {
			t.Fatalf("calls %d", len(got))
		}
		tests := []struct {
			name          string
			old, new      bool
			signatureKeys int
		}{
			{"before the rotation", true, false, 1},
			{"during the rotation", true, true, 2},
			{"after the grace", false, true, 1},
		}
		for i, tt := range tests {
			c := got[i]
			if v := verify(oldSecret, c); v != tt.old {
				t.Errorf("%s: verifies with the old secret: %v", tt.name, v)
			}
			if v := verify(newSecret, c); v != tt.new {
				t.Errorf("%s: verifies with the new secret: %v", tt.name, v)
			}
			if n := len(strings.Split(c.signature, " ")); n != tt.signatureKeys {
				t.Errorf("%s: %d signatures: %q", tt.name, n, c.signature)
			}
			if c.timestamp != itoa(w.clock.Now().Add(-tasktrack.WebhookRotationGrace).Unix()) && i < 2 {
				t.Errorf("%s: timestamp %s", tt.name, c.timestamp)
			}
			tampered := c
			tampered.body = append(slices.Clone(c.body), ' ')
			if verify(newSecret, tampered) || verify(oldSecret, tampered) {
				t.Errorf("%s: a changed body verifies", tt.name)
			}
		}
	})
}

// 500, 500, then 200: three attempts, the waits growing, one event id, and
// a log of delivered after two retrying.
func TestWebhookRetries(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		w := newHookWorld(t, e, true)
		w.rc.answers = []int{500, 500}
		h, _ := w.endpoint(t, w.rc.srv.URL+"/", tasktrack.FormatStandard, "*")
		if err := w.db.Webhooks.PingWebhook(System, h.ID); err != nil {
			t.Fatal(err)
		}
		w.run(t)
		// With Rand 0 the waits are the lower half of the schedule's steps:
		// 2.5 s, then 15 s.
		for _, wait := range []time.Duration{hookBase / 2, 6 * hookBase / 2} {
			w.clock.Add(wait - time.Millisecond)
			if n := w.run(t); n != 0 {
				t.Fatalf("retried %d before %s", n, wait)
			}
			w.clock.Add(time.Millisecond)
			if n := w.run(t); n != 1 {
				t.Fatalf("claimed %d after %s", n, wait)
			}
		}
		got := w.rc.got()
		if len(got) != 3 || got[0].id != got[1].id || got[1].id != got[2].id {
			t.Fatalf("calls %+v", got)
		}
		var statuses []string
		for _, a := range w.attempts(t, h.ID) {
			code := 0
			if a.ResponseStatus != nil {
				code = *a.ResponseStatus
			}
			statuses = append(statuses, a.Status+" "+itoa(int64(code))+" "+itoa(int64(a.Attempt)))
			if a.EventID != got[0].id {
				t.Errorf("attempt of event %s, want %s", a.EventID, got[0].id)
			}
		}
		if want := []string{"delivered 200 3", "retrying 500 2", "retrying 500 1"}; !slices.Equal(statuses, want) {
			t.Errorf("log %q, want %q", statuses, want)
		}
		failed, n, err := w.db.Webhooks.FindWebhookAttempts(System, h.ID, "retrying", tasktrack.Page{})
		if err != nil || n != 2 || len(failed) != 2 {
			t.Fatalf("retrying attempts %d %v", n, err)
		}
		// Redelivery sends the same event again.
		if err := w.db.Webhooks.RedeliverWebhook(System, h.ID, failed[0].ID); err != nil {
			t.Fatal(err)
		}
		w.run(t)
		if got := w.rc.got(); len(got) != 4 || got[3].id != got[0].id {
			t.Fatalf("redelivered %+v", got)
		}
	})
}

// A receiver that does not answer in time, and one that redirects, fail
// the attempt; the redirect is not followed.
func TestWebhookFailures(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		tests := []struct {
			name      string
			setup     func(w *hookWorld)
			wantError string
			wantCode  *int
			wantCalls int
		}{
			{"hangs", func(w *hookWorld) { w.rc.hang = true; w.hooks.Timeout = 50 * time.Millisecond },
				"no answer within 50ms", nil, 1},
			{"redirects", func(w *hookWorld) { w.rc.answers = []int{302} }, "answered 302 Found", new(302), 1},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				w := newHookWorld(t, e, true)
				tt.setup(w)
				h, _ := w.endpoint(t, w.rc.srv.URL+"/", tasktrack.FormatStandard, "*")
				if err := w.db.Webhooks.PingWebhook(System, h.ID); err != nil {
					t.Fatal(err)
				}
				w.run(t)
				a := w.attempts(t, h.ID)
				if len(a) != 1 || a[0].Status != "retrying" || a[0].Error == nil || *a[0].Error != tt.wantError ||
					(a[0].ResponseStatus == nil) != (tt.wantCode == nil) || (tt.wantCode != nil && *a[0].ResponseStatus != *tt.wantCode) {
					t.Fatalf("attempts %+v", a[0])
				}
				if a[0].NextAttemptAt == nil {
					t.Errorf("no next attempt")
				}
				if n := len(w.rc.got()); n != tt.wantCalls {
					t.Errorf("%d calls", n)
				}
			})
		}
	})
}

// Without --webhook-allow-private, addresses that are not public are
// refused when connecting, before any connection is made, and the
// delivery fails at once with the reason.
func TestWebhookSSRF(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		w := newHookWorld(t, e, false)
		port := w.rc.srv.URL[strings.LastIndexByte(w.rc.srv.URL, ':')+1:]
		tests := []struct{ url, addr string }{
			{"http://127.0.0.1:" + port + "/", "127.0.0.1"},
			{"http://[::1]:" + port + "/", "::1"},
			{"http://169.254.169.254/latest/meta-data/", "169.254.169.254"},
			{"http://10.0.0.1/", "10.0.0.1"},
			{"http://[::ffff:127.0.0.1]:" + port + "/", "127.0.0.1"},
			{"http://localhost:" + port + "/", ""},
		}
		for _, tt := range tests {
			t.Run(tt.url, func(t *testing.T) {
				h, _ := w.endpoint(t, tt.url, tasktrack.FormatStandard, "*")
				if err := w.db.Webhooks.PingWebhook(System, h.ID); err != nil {
					t.Fatal(err)
				}
				w.run(t)
				a := w.attempts(t, h.ID)
				if len(a) != 1 || a[0].Status != "failed" || a[0].Error == nil || a[0].ResponseStatus != nil {
					t.Fatalf("attempts %+v", a)
				}
				// Only the dialer's Control says this, and it runs before
				// connect(2): no packet left for the address.
				want := "refused to connect to " + tt.addr
				if tt.addr == "" {
					want = "refused to connect to "
				}
				if !strings.HasPrefix(*a[0].Error, want) || !strings.Contains(*a[0].Error, "not a public address") {
					t.Errorf("error %q", *a[0].Error)
				}
			})
		}
		if n := len(w.rc.got()); n != 0 {
			t.Errorf("the receiver got %d requests", n)
		}
	})
}

// The client refuses at the dialer itself, with the typed error.
func TestWebhookClientRefuses(t *testing.T) {
	c := outbox.NewWebhookClient(time.Second, false)
	for _, u := range []string{"http://10.0.0.1/", "http://169.254.169.254/", "http://[::ffff:10.0.0.1]/"} {
		_, err := c.Post(u, "application/json", nil)
		var refused *outbox.RefusedAddressError
		if !errors.As(err, &refused) {
			t.Errorf("%s: %v", u, err)
		}
	}
}

// Slack and Discord get one line with a link.
func TestWebhookFormats(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		w := newHookWorld(t, e, true)
		w.endpoint(t, w.rc.srv.URL+"/slack", tasktrack.FormatSlack, tasktrack.EventTaskCreated)
		w.endpoint(t, w.rc.srv.URL+"/discord", tasktrack.FormatDiscord, tasktrack.EventTaskCreated)
		sam := MustCreateUser(t, w.db, "sam", "user")
		task := MustCreateTask(t, w.db, sam, "Quarterly report", time.Hour)
		w.run(t)
		line := `New task: \"Quarterly report\" (sam), due Mar 2 10:00 UTC \u003chttps://tt.example.com/tasks/` + task.ID + `\u003e`
		want := map[string]string{"/slack": `{"text":"` + line + `"}`, "/discord": `{"content":"` + line + `"}`}
		got := w.rc.got()
		if len(got) != 2 {
			t.Fatalf("calls %d", len(got))
		}
		for _, c := range got {
			if string(c.body) != want[c.path] {
				t.Errorf("%s: %s, want %s", c.path, c.body, want[c.path])
			}
			if c.signature == "" {
				t.Errorf("%s: unsigned", c.path)
			}
		}
	})
}

// Deleting an endpoint drops its pending deliveries.
func TestWebhookDeleteDropsPending(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		w := newHookWorld(t, e, true)
		h, _ := w.endpoint(t, w.rc.srv.URL+"/", tasktrack.FormatStandard, "*")
		MustCreateUser(t, w.db, "sam", "user")
		if err := w.db.Webhooks.DeleteWebhook(System, h.ID); err != nil {
			t.Fatal(err)
		}
		pending, _, err := w.db.Outbox.OutboxStats(context.Background())
		if err != nil || pending[tasktrack.DeliveryWebhook] != 0 {
			t.Fatalf("pending %v %v", pending, err)
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// The sweep's events, captured in SQL and rendered when sent, carry the
// same JSON as events rendered when the change is made.
func TestWebhookSweepData(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		w := newHookWorld(t, e, true)
		w.endpoint(t, w.rc.srv.URL+"/", tasktrack.FormatStandard, tasktrack.EventTaskMissed, tasktrack.EventUserAtRisk)
		w.db.MissedThreshold = 2
		sam := MustCreateUser(t, w.db, "sam", "user")
		task := MustCreateTask(t, w.db, sam, "Quarterly report", time.Minute)
		w.clock.Add(2 * time.Minute)
		if _, err := w.db.Sweeper.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
		for w.run(t) > 0 {
		}
		got := map[string]string{}
		for _, c := range w.rc.got() {
			var b tasktrack.WebhookBody
			if err := json.Unmarshal(c.body, &b); err != nil {
				t.Fatal(err)
			}
			got[b.Type] = string(c.body)
		}
		want := map[string]string{
			tasktrack.EventTaskMissed: `{"type":"task.missed","timestamp":"2026-03-02T09:02:00.000000Z","data":{"assigned_to":` + itoa(sam.ID) +
				`,"assigned_to_username":"sam","completed_at":null,"created_at":"2026-03-02T09:00:00.000000Z","created_by":null,` +
				`"deadline":"2026-03-02T09:01:00.000000Z","description":"","id":"` + task.ID + `","missed_at":"2026-03-02T09:02:00.000000Z",` +
				`"status":"missed","title":"Quarterly report","updated_at":"2026-03-02T09:02:00.000000Z"}}`,
			tasktrack.EventUserAtRisk: `{"type":"user.at_risk","timestamp":"2026-03-02T09:02:00.000000Z","data":{"date_joined":"2026-03-02T09:00:00.000000Z",` +
				`"deactivated_at":null,"deactivation_reason":null,"email":"","first_name":"","id":` + itoa(sam.ID) +
				`,"is_active":true,"last_name":"","role":{"id":3,"name":"user"},"username":"sam"}}`,
		}
		for typ, body := range want {
			if got[typ] != body {
				t.Errorf("%s:\n%s\nwant\n%s", typ, got[typ], body)
			}
		}
		if len(got) != 2 {
			t.Errorf("events %v", got)
		}
	})
}

// An endpoint is turned off once its attempts have all failed for a day
// and at least ten times in a row; a success in between starts over.
func TestWebhookDisabled(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		tests := []struct {
			name        string
			failures    int
			span        time.Duration
			successAt   int // the attempt that succeeds, 0 for none
			wantActive  bool
			wantMessage bool
		}{
			{"ten over a day", 10, 24 * time.Hour, 0, false, true},
			{"nine over a day", 9, 24 * time.Hour, 0, true, false},
			{"ten within an hour", 10, time.Hour, 0, true, false},
			{"a success in between", 12, 24 * time.Hour, 6, true, false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				w := newHookWorld(t, e, true)
				h, _ := w.endpoint(t, w.rc.srv.URL+"/", tasktrack.FormatStandard, "*")
				for i := 1; i <= tt.failures; i++ {
					ok := i == tt.successAt
					rec := tasktrack.WebhookAttemptRecord{WebhookID: h.ID, DeliveryID: "0193c2d4-5e6f-7a81-9b2c-3d4e5f607182",
						EventType: tasktrack.EventPing, Attempt: i, OK: ok, ResponseStatus: 500, Error: "answered 500 Internal Server Error"}
					if err := w.db.Webhooks.RecordWebhookAttempt(context.Background(), rec); err != nil {
						t.Fatal(err)
					}
					if i < tt.failures {
						w.clock.Add(tt.span / time.Duration(tt.failures-1))
					}
				}
				got, err := w.db.Webhooks.FindWebhook(System, h.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.IsActive != tt.wantActive || (got.DisabledReason != nil) != tt.wantMessage {
					t.Fatalf("active %v, reason %v", got.IsActive, got.DisabledReason)
				}
			})
		}
	})
}

// A success's attempt is recorded with its delivery's success: it is
// listed, at the time the attempt ended, and it ends the endpoint's run of
// failures, so the failure after it starts a new run. An endpoint deleted
// between an attempt and its record leaves the record out, and the rest
// of the record is still written.
func TestWebhookSuccessRecordedWithDelivery(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		w := newHookWorld(t, e, true)
		h, _ := w.endpoint(t, w.rc.srv.URL+"/", tasktrack.FormatStandard, "*")
		fail := func(attempt int) {
			t.Helper()
			rec := tasktrack.WebhookAttemptRecord{WebhookID: h.ID, DeliveryID: "0193c2d4-5e6f-7a81-9b2c-3d4e5f607182",
				EventType: tasktrack.EventPing, Attempt: attempt, ResponseStatus: 500, Error: "answered 500 Internal Server Error"}
			if err := w.db.Webhooks.RecordWebhookAttempt(context.Background(), rec); err != nil {
				t.Fatal(err)
			}
		}
		for i := 1; i <= 9; i++ {
			fail(i)
			w.clock.Add(3 * time.Hour)
		}
		if err := w.db.Webhooks.PingWebhook(System, h.ID); err != nil {
			t.Fatal(err)
		}
		if n := w.run(t); n != 1 {
			t.Fatalf("claimed %d, want the ping", n)
		}
		got := w.attempts(t, h.ID)
		if len(got) != 10 || got[0].Status != "delivered" || got[0].Error != nil || !got[0].CreatedAt.Equal(w.clock.Now()) {
			t.Fatalf("%d attempts, the newest %+v at %v", len(got), got[0], w.clock.Now())
		}
		// Ten failures over more than a day would turn the endpoint off,
		// were the success not between them.
		w.clock.Add(time.Hour)
		fail(10)
		if hook, err := w.db.Webhooks.FindWebhook(System, h.ID); err != nil || !hook.IsActive {
			t.Fatalf("endpoint after a success and a failure: %+v %v", hook, err)
		}

		other, _ := w.endpoint(t, w.rc.srv.URL+"/other", tasktrack.FormatStandard, "*")
		for _, id := range []string{h.ID, other.ID} {
			if err := w.db.Webhooks.PingWebhook(System, id); err != nil {
				t.Fatal(err)
			}
		}
		ds, err := w.db.Outbox.ClaimDeliveries(context.Background(), "me", []string{tasktrack.DeliveryWebhook}, 10, time.Minute,
			tasktrack.DeliveryRoom{})
		if err != nil || len(ds) != 2 {
			t.Fatalf("claimed %d %v, want the two pings", len(ds), err)
		}
		for _, d := range ds {
			d.WebhookAttempt = &tasktrack.WebhookAttemptRecord{WebhookID: d.Target, DeliveryID: d.ID, EventType: tasktrack.EventPing,
				Attempt: d.Attempt, OK: true, ResponseStatus: 204, At: w.clock.Now()}
		}
		if err := w.db.Webhooks.DeleteWebhook(System, h.ID); err != nil {
			t.Fatal(err)
		}
		if err := w.db.Outbox.DeliveriesSucceeded(context.Background(), ds); err != nil {
			t.Fatalf("recording a success of a deleted endpoint: %v", err)
		}
		if got := w.attempts(t, other.ID); len(got) != 1 || got[0].Status != "delivered" {
			t.Fatalf("the other endpoint's attempts: %d", len(got))
		}
		if pending, _, err := w.db.Outbox.OutboxStats(context.Background()); err != nil || pending[tasktrack.DeliveryWebhook] != 0 {
			t.Fatalf("pending %v %v", pending, err)
		}
	})
}

// gate is a receiver that holds every request until released (or until
// the client gives up), and records how many it held at once and whether
// it was ever sent one event while already holding it.
type gate struct {
	srv      *httptest.Server
	release  chan struct{}
	mu       sync.Mutex
	holding  map[string]bool
	peak     int
	twice    []string
	answered map[string]int
}

func newGate(t *testing.T) *gate {
	t.Helper()
	g := &gate{release: make(chan struct{}), holding: map[string]bool{}, answered: map[string]int{}}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("webhook-id")
		g.mu.Lock()
		if g.holding[id] {
			g.twice = append(g.twice, id)
		}
		g.holding[id] = true
		g.peak = max(g.peak, len(g.holding))
		g.mu.Unlock()
		released := false
		select {
		case <-g.release:
			released = true
		case <-r.Context().Done():
		}
		g.mu.Lock()
		delete(g.holding, id)
		if released {
			g.answered[id]++
		}
		g.mu.Unlock()
	}))
	t.Cleanup(g.srv.Close)
	return g
}

// held is how many requests the gate holds now, unreleased.
func (g *gate) held() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-g.release:
		return 0
	default:
		return len(g.holding)
	}
}

// waitFor waits until cond holds, failing the test if it does not within
// a bound far above what it takes (a liveness bound, not a speed check).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting for %s", what)
		}
	}
}

// A receiver that hangs holds only its own endpoint's few requests: while
// it holds them, the running worker delivers the events after them to
// another endpoint, and sends email; once it answers its own deliveries
// go too, each attempted once, never two at once of one event nor more
// than the cap at once.
func TestWebhookHangingEndpointDelaysNoOther(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		w := newWorld(t, e, smtptest.Options{}, "")
		a := newGate(t)
		var (
			bMu          sync.Mutex
			bGot         []string
			bWhileAHangs int
		)
		b := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			bMu.Lock()
			bGot = append(bGot, r.Header.Get("webhook-id"))
			if a.held() == 2 {
				bWhileAHangs++
			}
			bMu.Unlock()
		}))
		t.Cleanup(b.Close)
		hooks := &outbox.Webhooks{Store: w.db.Webhooks, Client: outbox.NewWebhookClient(time.Minute, true),
			PublicURL: "https://tt.example.com", Timeout: time.Minute, PerEndpoint: 2, Now: w.clock.Now,
			Logger: slog.New(slog.DiscardHandler)}
		w.worker.Kinds[tasktrack.DeliveryWebhook] = outbox.WebhookKind(hooks, hookBase)
		sam := w.user(t, "sam", "user")
		hw := &hookWorld{db: w.db}
		hA, _ := hw.endpoint(t, a.srv.URL+"/", tasktrack.FormatStandard, "*")
		hw.endpoint(t, b.URL+"/", tasktrack.FormatStandard, "*")

		// A's pings; the worker starts and A hangs on two of them.
		const n = 10
		for range n {
			if err := w.db.Webhooks.PingWebhook(System, hA.ID); err != nil {
				t.Fatal(err)
			}
		}
		ctx, cancel := context.WithCancel(context.Background())
		stopped := make(chan struct{})
		go func() { w.worker.Run(ctx); close(stopped) }()
		stop := sync.OnceFunc(func() {
			cancel()
			<-stopped
		})
		release := sync.OnceFunc(func() { close(a.release) })
		t.Cleanup(stop)
		t.Cleanup(release)
		waitFor(t, "A to hold two requests", func() bool { return a.held() == 2 })
		// Each task makes an event for each endpoint and an email.
		for i := range n {
			MustCreateTask(t, w.db, sam, "task "+itoa(int64(i)), 30*time.Hour)
		}
		waitFor(t, "B's deliveries and the emails while A hangs", func() bool {
			bMu.Lock()
			defer bMu.Unlock()
			return len(bGot) == n && len(w.smtp.Messages()) == n
		})
		if h := a.held(); h != 2 {
			t.Errorf("A holds %d requests, want its 2", h)
		}
		bMu.Lock()
		if bWhileAHangs != n {
			t.Errorf("B got %d of %d events while A held two", bWhileAHangs, n)
		}
		bMu.Unlock()

		release()
		waitFor(t, "A's deliveries once released, and all recorded", func() bool {
			pending, _, err := w.db.Outbox.OutboxStats(context.Background())
			return err == nil && len(pending) == 0
		})
		stop()
		a.mu.Lock()
		if len(a.answered) != 2*n || a.peak > 2 || len(a.twice) > 0 {
			t.Errorf("A answered %d events of %d, held %d at once (cap 2); sent again while held: %q", len(a.answered), 2*n, a.peak, a.twice)
		}
		for id, k := range a.answered {
			if k != 1 {
				t.Errorf("A answered %s %d times", id, k)
			}
		}
		a.mu.Unlock()
		for _, at := range hw.attempts(t, hA.ID) {
			if at.Attempt != 1 || at.Status != "delivered" {
				t.Errorf("A's attempt %d of %s: %s", at.Attempt, at.EventID, at.Status)
			}
		}
		if o := w.outcomesSoFar(); len(o) != 4*n || slices.ContainsFunc(o, func(s string) bool { return s != outbox.Delivered }) {
			t.Errorf("outcomes %q, want %d delivered", o, 4*n)
		}
	})
}

// A worker stopping hands back the deliveries it claimed and had not
// started, due at once and their attempts not counted; those it was making
// end as failed attempts, due again after their backoff. None is lost.
func TestWorkerStopHandsBackUnstarted(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		w := newHookWorld(t, e, true)
		w.hooks.Client, w.hooks.Timeout = outbox.NewWebhookClient(time.Minute, true), time.Minute
		a := newGate(t)
		t.Cleanup(func() { close(a.release) })
		h, _ := w.endpoint(t, a.srv.URL+"/", tasktrack.FormatStandard, "*")
		const n = 10
		for range n {
			if err := w.db.Webhooks.PingWebhook(System, h.ID); err != nil {
				t.Fatal(err)
			}
		}
		ctx, cancel := context.WithCancel(context.Background())
		stopped := make(chan struct{})
		go func() { w.worker.Run(ctx); close(stopped) }()
		waitFor(t, "A to hold two requests", func() bool { return a.held() == 2 })
		cancel()
		<-stopped
		if got := w.attempts(t, h.ID); len(got) != 2 {
			t.Fatalf("%d attempts, want the 2 cut short", len(got))
		}
		ds, err := w.db.Outbox.ClaimDeliveries(context.Background(), "another", []string{tasktrack.DeliveryWebhook}, 100, time.Minute,
			tasktrack.DeliveryRoom{})
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) != n-2 {
			t.Fatalf("%d due at once, want the %d not attempted", len(ds), n-2)
		}
		for _, d := range ds {
			if d.Attempt != 1 {
				t.Errorf("delivery %s claimed as attempt %d, want 1", d.ID, d.Attempt)
			}
		}
		if pending, _, err := w.db.Outbox.OutboxStats(context.Background()); err != nil || pending[tasktrack.DeliveryWebhook] != n {
			t.Fatalf("pending %v %v, want all %d", pending, err, n)
		}
	})
}
