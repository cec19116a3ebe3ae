package outbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	netmail "net/mail"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"tasktrack"
	"tasktrack/mail"
	"tasktrack/mail/smtptest"
	"tasktrack/outbox"
	"tasktrack/sqlstore"
	. "tasktrack/sqlstore/sqlstoretest"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

const base = 30 * time.Second

// world is a store with email on, an SMTP server, and a worker sending to
// it, all on one clock.
type world struct {
	db     *sqlstore.DB
	clock  *Clock
	smtp   *smtptest.Server
	worker *outbox.Worker
	// outcomes are the worker's outcomes so far.
	mu       sync.Mutex
	outcomes []string
}

func newWorld(t *testing.T, e Engine, opts smtptest.Options, userinfo string) *world {
	t.Helper()
	db := Open(t, e)
	return newWorldOn(t, db, smtptest.NewServer(t, opts), userinfo)
}

func newWorldOn(t *testing.T, db *sqlstore.DB, srv *smtptest.Server, userinfo string) *world {
	t.Helper()
	w := &world{db: db, smtp: srv}
	if w.clock = clockOf(db); w.clock == nil {
		w.clock = NewClock(t0)
		db.Now = w.clock.Now
	}
	db.Email = true
	raw := srv.URL()
	if userinfo != "" {
		raw = strings.Replace(raw, "://", "://"+userinfo+"@", 1)
	}
	cfg, err := mail.ParseURL(raw)
	if err != nil {
		t.Fatal(err)
	}
	cfg.From, _ = mail.ParseFrom("tasktrack <noreply@tt.example.com>")
	sender, err := mail.NewSender(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tm, err := mail.NewTemplates("https://tt.example.com")
	if err != nil {
		t.Fatal(err)
	}
	emailer := &outbox.Emailer{Sender: sender, Templates: tm, Domain: "tt.example.com"}
	w.worker = outbox.New(db.Outbox, map[string]outbox.Kind{tasktrack.DeliveryEmail: outbox.EmailKind(emailer, base)}, db.OutboxChanged(), slog.New(slog.DiscardHandler))
	w.worker.Now = w.clock.Now
	// The middle of the jitter's range: a retry is due after half the
	// ceiling.
	w.worker.Rand = func() float64 { return 0.5 }
	w.worker.OnOutcome = func(_, outcome string) {
		w.mu.Lock()
		w.outcomes = append(w.outcomes, outcome)
		w.mu.Unlock()
	}
	return w
}

var clocks sync.Map // *sqlstore.DB -> *Clock

func clockOf(db *sqlstore.DB) *Clock {
	c, _ := clocks.Load(db)
	c2, _ := c.(*Clock)
	return c2
}

// run runs the worker once and returns how many it claimed.
func (w *world) run(t *testing.T) int {
	t.Helper()
	n, err := w.worker.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (w *world) outcomesSoFar() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.outcomes)
}

func (w *world) user(t *testing.T, name, role string) *tasktrack.User {
	t.Helper()
	u, err := w.db.Users.CreateUser(System, tasktrack.UserCreate{Username: name, Password: "pass-" + name + "-word",
		Email: name + "@example.com", FirstName: strings.ToUpper(name[:1]) + name[1:], Role: role})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// received is a message as a mail client reads it.
type received struct {
	to, subject, messageID string
	text, html             string
}

func messages(t *testing.T, srv *smtptest.Server) []received {
	t.Helper()
	var out []received
	for _, m := range srv.Messages() {
		msg, err := netmail.ReadMessage(bytes.NewReader(m.Data))
		if err != nil {
			t.Fatal(err)
		}
		subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
		r := received{to: strings.Join(m.To, ","), subject: subject, messageID: msg.Header.Get("Message-Id")}
		_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
		if err != nil {
			t.Fatal(err)
		}
		mr := multipart.NewReader(msg.Body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(p)
			if strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") {
				r.html = string(body)
			} else {
				r.text = string(body)
			}
		}
		out = append(out, r)
	}
	return out
}

func subjects(t *testing.T, srv *smtptest.Server) []string {
	t.Helper()
	out := []string{}
	for _, m := range messages(t, srv) {
		out = append(out, m.to+" "+m.subject)
	}
	slices.Sort(out)
	return out
}

func wantSubjects(t *testing.T, srv *smtptest.Server, want ...string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	slices.Sort(want)
	if got := subjects(t, srv); !slices.Equal(got, want) {
		t.Errorf("mail received:\n got %q\nwant %q", got, want)
	}
}

// A reminder's email says what its notification says: "in" the lead for a
// task reminded as the lead passes, "within" it for one made inside it.
func TestReminderEmailWithin(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		w := newWorld(t, e, smtptest.Options{}, "")
		w.db.Reminders = []time.Duration{time.Hour, 24 * time.Hour}
		maria := w.user(t, "maria", "manager")
		sam := w.user(t, "sam", "user")
		for _, c := range []struct {
			title string
			due   time.Duration
		}{{"Early", 30 * time.Hour}, {"Late", 20 * time.Hour}} {
			if _, err := w.db.Tasks.CreateTask(As(maria), tasktrack.TaskCreate{Title: c.title, Deadline: t0.Add(c.due), AssignedTo: sam.ID}); err != nil {
				t.Fatal(err)
			}
		}
		w.clock.Add(6 * time.Hour) // Early is due in 24 hours, Late was made inside them
		if res, err := w.db.Sweeper.Sweep(context.Background()); err != nil || res.Reminders != 2 {
			t.Fatalf("sweep: %+v %v", res, err)
		}
		for w.run(t) > 0 {
		}
		var reminded []string
		for _, s := range subjects(t, w.smtp) {
			if strings.Contains(s, " Reminder: ") {
				reminded = append(reminded, s)
			}
		}
		if want := []string{`sam@example.com Reminder: "Early" is due in 24 hours`,
			`sam@example.com Reminder: "Late" is due within 24 hours`}; !slices.Equal(reminded, want) {
			t.Errorf("reminders sent %q, want %q", reminded, want)
		}
		notes, _, _, err := w.db.Notifications.FindNotifications(As(sam), tasktrack.NotificationFilter{Kind: tasktrack.NotifyTaskReminder, Page: tasktrack.Page{Limit: 10}})
		if err != nil {
			t.Fatal(err)
		}
		var messages []string
		for _, n := range notes {
			messages = append(messages, n.Message)
		}
		slices.Sort(messages)
		if want := []string{`"Early" is due in 24 hours`, `"Late" is due within 24 hours`}; !slices.Equal(messages, want) {
			t.Errorf("messages %q, want %q", messages, want)
		}
	})
}

// A notification's email: written with it, sent once, with both parts,
// the task's link, the preferences footer and a Message-ID made of the
// delivery's id.
func TestNotificationEmail(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		w := newWorld(t, e, smtptest.Options{}, "")
		maria := w.user(t, "maria", "manager")
		sam := w.user(t, "sam", "user")
		task, err := w.db.Tasks.CreateTask(As(maria), tasktrack.TaskCreate{Title: `Report <b>"Q3"</b>`, Deadline: t0.Add(30 * time.Hour), AssignedTo: sam.ID})
		if err != nil {
			t.Fatal(err)
		}
		if n := w.run(t); n != 1 {
			t.Fatalf("claimed %d, want 1", n)
		}
		got := messages(t, w.smtp)
		if len(got) != 1 {
			t.Fatalf("%d messages", len(got))
		}
		m := got[0]
		link := "https://tt.example.com/tasks/" + task.ID
		if m.to != "sam@example.com" || m.subject != `Assigned to you: "Report <b>"Q3"</b>"` ||
			!strings.Contains(m.text, `"Report <b>"Q3"</b>" was assigned to you by maria`) || !strings.Contains(m.text, link) ||
			!strings.Contains(m.text, "https://tt.example.com/preferences") ||
			!strings.Contains(m.html, `href="`+link+`"`) || strings.Contains(m.html, "<b>") ||
			!strings.Contains(m.html, "Report &lt;b&gt;") || !strings.HasSuffix(m.messageID, "@tt.example.com>") {
			t.Fatalf("message:\n%+v", m)
		}
		// Delivered once: nothing is due again, whatever the time.
		w.clock.Add(48 * time.Hour)
		if n := w.run(t); n != 0 || len(w.smtp.Messages()) != 1 {
			t.Fatalf("claimed %d more, %d messages", n, len(w.smtp.Messages()))
		}
		if got := w.outcomesSoFar(); !slices.Equal(got, []string{outbox.Delivered}) {
			t.Fatalf("outcomes %q", got)
		}
		pending, _, err := w.db.Outbox.OutboxStats(context.Background())
		if err != nil || pending[tasktrack.DeliveryEmail] != 0 {
			t.Fatalf("outbox: %v %v", pending, err)
		}
	})
}

// A temporary refusal (451) is retried after the backoff, and the message
// arrives once, with the same Message-ID as on the first attempt.
func TestEmailRetriedAfter451(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		w := newWorld(t, e, smtptest.Options{}, "")
		sam := w.user(t, "sam", "user")
		MustCreateTask(t, w.db, sam, "Report", 30*time.Hour)
		w.smtp.Reply(smtptest.AtData, 451, 1)
		w.run(t)
		if n := len(w.smtp.Messages()); n != 0 {
			t.Fatalf("%d messages after a 451", n)
		}
		pending, oldest, err := w.db.Outbox.OutboxStats(context.Background())
		if err != nil || pending[tasktrack.DeliveryEmail] != 1 || !oldest.Equal(t0) {
			t.Fatalf("outbox after a 451: %v %v %v", pending, oldest, err)
		}
		// Not due before the backoff (half of the first ceiling, base).
		w.clock.Add(base/2 - time.Microsecond)
		if n := w.run(t); n != 0 {
			t.Fatalf("retried %d before the backoff", n)
		}
		w.clock.Add(time.Microsecond)
		if n := w.run(t); n != 1 {
			t.Fatalf("claimed %d after the backoff", n)
		}
		w.clock.Add(time.Hour)
		w.run(t)
		got := messages(t, w.smtp)
		if len(got) != 1 || got[0].subject != `Assigned to you: "Report"` {
			t.Fatalf("messages: %+v", got)
		}
		if o := w.outcomesSoFar(); !slices.Equal(o, []string{outbox.Retrying, outbox.Delivered}) {
			t.Fatalf("outcomes %q", o)
		}
	})
}

// A permanent refusal (550) is given up at once, with an audit entry
// email.failed by the system that names no secret.
func TestEmailGivenUpAfter550(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		w := newWorld(t, e, smtptest.Options{Users: map[string]string{"tt": "s3cret-Pa55"}}, "tt:s3cret-Pa55")
		sam := w.user(t, "sam", "user")
		MustCreateTask(t, w.db, sam, "Report", 30*time.Hour)
		w.smtp.Reply(smtptest.AtRcpt, 550, 1)
		w.run(t)
		w.clock.Add(48 * time.Hour)
		if n := w.run(t); n != 0 || len(w.smtp.Messages()) != 0 {
			t.Fatalf("tried again: %d claimed, %d messages", n, len(w.smtp.Messages()))
		}
		entries, _, err := w.db.Audit.FindAuditEntries(System, tasktrack.AuditFilter{Action: tasktrack.ActionEmailFailed})
		if err != nil || len(entries) != 1 {
			t.Fatalf("email.failed: %d entries, %v", len(entries), err)
		}
		en := entries[0]
		var details map[string]any
		if err := json.Unmarshal(en.Details, &details); err != nil {
			t.Fatal(err)
		}
		if en.ActorID != nil || en.TargetType != "user" || en.TargetID != fmt.Sprint(sam.ID) || details["reply_code"] != float64(550) ||
			details["attempts"] != float64(1) || details["kind"] != "task_assigned" || strings.Contains(string(en.Details), "s3cret") {
			t.Fatalf("entry %+v %s", en, en.Details)
		}
		if o := w.outcomesSoFar(); !slices.Equal(o, []string{outbox.Failed}) {
			t.Fatalf("outcomes %q", o)
		}
	})
}

// A delivery still failing a day after it was written is given up too.
func TestEmailGivenUpAfterADay(t *testing.T) {
	w := newWorld(t, SQLite, smtptest.Options{}, "")
	sam := w.user(t, "sam", "user")
	MustCreateTask(t, w.db, sam, "Report", 30*time.Hour)
	w.smtp.Reply(smtptest.AtMail, 421, 1000)
	for w.clock.Now().Before(t0.Add(outbox.DefaultEmailGiveUpAfter + 2*time.Hour)) {
		w.run(t)
		w.clock.Add(10 * time.Minute)
	}
	o := w.outcomesSoFar()
	if len(o) < 3 || o[len(o)-1] != outbox.Failed || slices.Contains(o[:len(o)-1], outbox.Failed) {
		t.Fatalf("outcomes %q, want retries and then one failure", o)
	}
	if entries, _, _ := w.db.Audit.FindAuditEntries(System, tasktrack.AuditFilter{Action: tasktrack.ActionEmailFailed}); len(entries) != 1 {
		t.Fatalf("%d email.failed entries", len(entries))
	}
}

// A worker that dies holding a delivery (its lease never ends by itself)
// does not lose it: once the lease is over, another worker sends it.
func TestEmailLeaseEnds(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		w := newWorld(t, e, smtptest.Options{}, "")
		sam := w.user(t, "sam", "user")
		MustCreateTask(t, w.db, sam, "Report", 30*time.Hour)
		claimed, err := w.db.Outbox.ClaimDeliveries(context.Background(), "dead-worker", []string{tasktrack.DeliveryEmail}, 10, outbox.DefaultLease,
			tasktrack.DeliveryRoom{})
		if err != nil || len(claimed) != 1 {
			t.Fatalf("claim: %v %v", claimed, err)
		}
		w.clock.Add(outbox.DefaultLease - time.Microsecond)
		if n := w.run(t); n != 0 {
			t.Fatalf("claimed %d under another's lease", n)
		}
		w.clock.Add(time.Microsecond)
		if n := w.run(t); n != 1 || len(w.smtp.Messages()) != 1 {
			t.Fatalf("after the lease: claimed %d, %d messages", n, len(w.smtp.Messages()))
		}
		// The dead worker's late outcome changes nothing.
		if err := w.db.Outbox.RetryDelivery(context.Background(), claimed[0], "dead-worker", 0, "late"); err != nil {
			t.Fatal(err)
		}
		w.clock.Add(time.Hour)
		if n := w.run(t); n != 0 {
			t.Fatalf("sent again after the dead worker's outcome: %d", n)
		}
	})
}

// heldHandler holds each attempt until released, and counts them.
type heldHandler struct {
	entered chan struct{}
	release chan struct{}
	mu      sync.Mutex
	n       int
}

func (h *heldHandler) Deliver(ctx context.Context, d *tasktrack.Delivery) error {
	h.mu.Lock()
	h.n++
	h.mu.Unlock()
	h.entered <- struct{}{}
	select {
	case <-h.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// renewals is the real store, telling each renewal that has committed.
type renewals struct {
	tasktrack.OutboxStore
	done chan struct{}
}

func (r *renewals) RenewDeliveries(ctx context.Context, ds []*tasktrack.Delivery, owner string, lease time.Duration) error {
	err := r.OutboxStore.RenewDeliveries(ctx, ds, owner, lease)
	if err == nil {
		select {
		case r.done <- struct{}{}:
		default:
		}
	}
	return err
}

// An attempt that outlasts its lease keeps its row: the worker renews the
// lease while it holds the row, so another replica's worker does not take
// it, however long the attempt runs; it is made once.
func TestLeaseRenewedWhileHeld(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		w := newWorld(t, e, smtptest.Options{}, "")
		sam := w.user(t, "sam", "user")
		MustCreateTask(t, w.db, sam, "Report", 30*time.Hour)
		h := &heldHandler{entered: make(chan struct{}, 4), release: make(chan struct{})}
		const lease = 300 * time.Millisecond
		store := &renewals{OutboxStore: w.db.Outbox, done: make(chan struct{})}
		holder := outbox.New(store, map[string]outbox.Kind{tasktrack.DeliveryEmail: {Handler: h, Base: base, Cap: time.Hour}}, nil,
			slog.New(slog.DiscardHandler))
		holder.Lease, holder.Now, holder.Poll = lease, w.clock.Now, time.Hour
		ctx, cancel := context.WithCancel(context.Background())
		stopped := make(chan struct{})
		go func() {
			defer close(stopped)
			holder.Run(ctx)
		}()
		t.Cleanup(func() { cancel(); <-stopped })
		select {
		case <-h.entered:
		case <-time.After(10 * time.Second):
			t.Fatal("the attempt did not start")
		}
		// Three leases' worth of time passes on the store's clock, in steps
		// of two thirds of a lease, each followed by a renewal; another
		// worker looks after each.
		for i := range 5 {
			w.clock.Add(2 * lease / 3)
			select {
			case <-store.done:
			case <-time.After(10 * time.Second):
				t.Fatalf("step %d: no renewal", i)
			}
			if n := w.run(t); n != 0 {
				t.Fatalf("step %d: another worker took a row held and renewed", i)
			}
		}
		close(h.release)
		waitFor(t, "the delivery recorded", func() bool {
			pending, _, err := w.db.Outbox.OutboxStats(context.Background())
			return err == nil && pending[tasktrack.DeliveryEmail] == 0
		})
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.n != 1 || len(w.smtp.Messages()) != 0 {
			t.Fatalf("attempts %d, messages by the other worker %d", h.n, len(w.smtp.Messages()))
		}
	})
}

// Workers of many replicas, racing, send each email once.
func TestEmailOnceAcrossWorkers(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		dsn := DSN(t, e)
		srv := smtptest.NewServer(t, smtptest.Options{})
		clock := NewClock(t0)
		var worlds []*world
		for range 3 {
			db := OpenDSN(t, dsn)
			db.Now = clock.Now
			clocks.Store(db, clock)
			worlds = append(worlds, newWorldOn(t, db, srv, ""))
		}
		sam := worlds[0].user(t, "sam", "user")
		const n = 40
		for i := range n {
			MustCreateTask(t, worlds[0].db, sam, fmt.Sprint("task ", i), 30*time.Hour)
		}
		var wg sync.WaitGroup
		for _, w := range worlds {
			w.worker.Batch = 3
			wg.Go(func() {
				for {
					k, err := w.worker.RunOnce(context.Background())
					if err != nil {
						t.Error(err)
						return
					}
					if k == 0 {
						return
					}
				}
			})
		}
		wg.Wait()
		seen := map[string]int{}
		for _, m := range messages(t, srv) {
			seen[m.subject]++
		}
		if len(seen) != n || len(srv.Messages()) != n {
			t.Fatalf("%d messages, %d distinct; want %d once each", len(srv.Messages()), len(seen), n)
		}
	})
}

// Who gets which email: the person concerned, when they have an address
// and want it; each alert to each active manager and admin who chose
// "each", but not to the person it is about.
func TestEmailRecipients(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		w := newWorld(t, e, smtptest.Options{}, "")
		w.db.MissedThreshold = 3
		maria := w.user(t, "maria", "manager")
		bob := w.user(t, "bob", "manager")
		quiet := w.user(t, "quiet", "manager")
		away := w.user(t, "away", "manager")
		w.user(t, "root", "admin")
		sam := w.user(t, "sam", "user")
		kim := w.user(t, "kim", "user")
		noMail := MustCreateUser(t, w.db, "nomail", "user")
		off := tasktrack.AlertMailOff
		if _, err := w.db.Preferences.UpdatePreferences(As(quiet), tasktrack.PreferencesUpdate{Alerts: &off}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.db.Users.DeactivateUser(System, away.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := w.db.Preferences.UpdatePreferences(As(kim), tasktrack.PreferencesUpdate{Email: map[string]bool{tasktrack.NotifyTaskAssigned: false}}); err != nil {
			t.Fatal(err)
		}
		for _, u := range []*tasktrack.User{sam, kim, noMail} {
			if _, err := w.db.Tasks.CreateTask(As(maria), tasktrack.TaskCreate{Title: "For " + u.Username, Deadline: t0.Add(90 * time.Minute), AssignedTo: u.ID}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := w.db.Tasks.CreateTask(As(bob), tasktrack.TaskCreate{Title: "Bob's own", Deadline: t0.Add(90 * time.Minute), AssignedTo: bob.ID}); err != nil {
			t.Fatal(err)
		}
		w.run(t)
		wantSubjects(t, w.smtp, `sam@example.com Assigned to you: "For sam"`)

		// The sweep two hours later: four misses, their alerts to maria
		// and root (bob's own alert not to bob), and an at-risk warning.
		MustCreateTask(t, w.db, sam, "Second", 100*time.Minute)
		w.clock.Add(2 * time.Hour)
		if res, err := w.db.Sweeper.Sweep(context.Background()); err != nil || res.TasksMissed != 5 || res.UsersAtRisk != 1 {
			t.Fatalf("sweep: %+v %v", res, err)
		}
		for w.run(t) > 0 {
		}
		wantSubjects(t, w.smtp,
			`sam@example.com Assigned to you: "For sam"`,
			`sam@example.com Assigned to you: "Second"`,
			`sam@example.com Missed: "For sam"`, `sam@example.com Missed: "Second"`,
			`sam@example.com Warning: one more missed deadline pauses your account`,
			`kim@example.com Missed: "For kim"`, `bob@example.com Missed: "Bob's own"`,
			`maria@example.com Missed by sam: "For sam"`, `maria@example.com Missed by sam: "Second"`,
			`maria@example.com Missed by kim: "For kim"`, `maria@example.com Missed by nomail: "For nomail"`,
			`maria@example.com Missed by bob: "Bob's own"`, `maria@example.com sam is at risk`,
			`bob@example.com Missed by sam: "For sam"`, `bob@example.com Missed by sam: "Second"`,
			`bob@example.com Missed by kim: "For kim"`, `bob@example.com Missed by nomail: "For nomail"`,
			`bob@example.com sam is at risk`,
			`root@example.com Missed by sam: "For sam"`, `root@example.com Missed by sam: "Second"`,
			`root@example.com Missed by kim: "For kim"`, `root@example.com Missed by nomail: "For nomail"`,
			`root@example.com Missed by bob: "Bob's own"`, `root@example.com sam is at risk`,
		)
	})
}

// A manager who chose daily gets one digest at 08:00 in their timezone,
// of the unacknowledged alerts of the day before it, and none for a day
// without any; a manager who chose each gets each alert.
func TestDailyDigest(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		w := newWorld(t, e, smtptest.Options{}, "")
		w.clock.Set(time.Date(2026, 3, 2, 5, 0, 0, 0, time.UTC)) // 06:00 in Paris
		w.db.Reminders = nil
		maria := w.user(t, "maria", "manager")
		w.user(t, "bob", "manager")
		sam := w.user(t, "sam", "user")
		daily, paris := tasktrack.AlertMailDaily, "Europe/Paris"
		if _, err := w.db.Preferences.UpdatePreferences(As(maria), tasktrack.PreferencesUpdate{Alerts: &daily, Timezone: &paris}); err != nil {
			t.Fatal(err)
		}
		sweepAt := func(h, m int, day int) {
			t.Helper()
			w.clock.Set(time.Date(2026, 3, day, h, m, 0, 0, time.UTC))
			if _, err := w.db.Sweeper.Sweep(context.Background()); err != nil {
				t.Fatal(err)
			}
			for w.run(t) > 0 {
			}
		}
		MustCreateTask(t, w.db, sam, "Early", 30*time.Minute)
		sweepAt(6, 0, 2) // 07:00 in Paris: missed, an alert
		sweepAt(6, 59, 2)
		early := []string{`sam@example.com Assigned to you: "Early"`, `sam@example.com Missed: "Early"`, `bob@example.com Missed by sam: "Early"`}
		wantSubjects(t, w.smtp, early...)
		sweepAt(7, 0, 2) // 08:00 in Paris
		sweepAt(7, 1, 2)
		wantSubjects(t, w.smtp, append(early, `maria@example.com tasktrack: 1 unacknowledged alert today`)...)
		for _, m := range messages(t, w.smtp) {
			if m.to == "maria@example.com" && (!strings.Contains(m.text, "Monday 2 March 2026") || !strings.Contains(m.text, `"Early"`)) {
				t.Errorf("digest:\n%s", m.text)
			}
		}
		// The next day: one alert acknowledged, one not; the digest holds
		// the one.
		MustCreateTask(t, w.db, sam, "Acknowledged", 30*time.Minute)
		MustCreateTask(t, w.db, sam, "Open", 40*time.Minute)
		sweepAt(9, 0, 2)
		alerts, _, err := w.db.Alerts.FindAlerts(System, tasktrack.AlertFilter{Kind: tasktrack.AlertTaskMissed})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range alerts {
			if a.Task.Title == "Acknowledged" {
				if _, err := w.db.Alerts.AcknowledgeAlert(As(maria), a.ID); err != nil {
					t.Fatal(err)
				}
			}
		}
		before := len(w.smtp.Messages())
		sweepAt(7, 0, 3)
		got := messages(t, w.smtp)[before:]
		var digests []received
		for _, m := range got {
			if m.to == "maria@example.com" {
				digests = append(digests, m)
			}
		}
		if len(digests) != 1 || !strings.Contains(digests[0].text, `"Open"`) || strings.Contains(digests[0].text, `"Acknowledged"`) {
			t.Fatalf("second digest: %+v", digests)
		}
		// A day without alerts: no digest.
		before = len(w.smtp.Messages())
		sweepAt(7, 0, 4)
		if n := len(w.smtp.Messages()); n != before {
			t.Fatalf("%d emails on a day without alerts", n-before)
		}
	})
}

// A sweep that raises more than 20 alerts sends each manager who wants an
// email per alert one email of them all; 20 are still sent one by one.
func TestAlertBurst(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		for _, c := range []struct {
			misses int
			want   []string // what maria receives
		}{
			{20, nil},
			{21, []string{`maria@example.com tasktrack: 21 unacknowledged alerts today`}},
		} {
			t.Run(fmt.Sprint(c.misses), func(t *testing.T) {
				w := newWorld(t, e, smtptest.Options{}, "")
				w.db.MissedThreshold = 100
				w.db.Reminders = nil
				w.user(t, "maria", "manager")
				sam := w.user(t, "sam", "user")
				for i := range c.misses {
					MustCreateTask(t, w.db, sam, fmt.Sprint("task ", i), 30*time.Hour)
				}
				for w.run(t) > 0 {
				}
				w.clock.Add(31 * time.Hour)
				if res, err := w.db.Sweeper.Sweep(context.Background()); err != nil || res.TasksMissed != c.misses {
					t.Fatalf("sweep: %+v %v", res, err)
				}
				for w.run(t) > 0 {
				}
				var toMaria, toSam []received
				for _, m := range messages(t, w.smtp) {
					switch m.to {
					case "maria@example.com":
						toMaria = append(toMaria, m)
					case "sam@example.com":
						toSam = append(toSam, m)
					}
				}
				if len(toSam) != 2*c.misses {
					t.Errorf("sam got %d emails, want %d (assigned and missed, each)", len(toSam), 2*c.misses)
				}
				if c.want == nil {
					if len(toMaria) != c.misses || !strings.HasPrefix(toMaria[0].subject, "Missed by sam: ") {
						t.Fatalf("maria got %d emails, want %d alerts one by one", len(toMaria), c.misses)
					}
					return
				}
				if len(toMaria) != 1 || toMaria[0].subject != strings.TrimPrefix(c.want[0], "maria@example.com ") ||
					!strings.Contains(toMaria[0].text, `sam missed "task 20"`) || strings.Contains(toMaria[0].text, "more.") {
					t.Fatalf("maria got %d emails: %+v", len(toMaria), toMaria)
				}
			})
		}
	})
}

// Finished deliveries are deleted once older than what is kept; waiting
// ones never are.
func TestPurgeDeliveries(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		w := newWorld(t, e, smtptest.Options{}, "")
		sam := w.user(t, "sam", "user")
		MustCreateTask(t, w.db, sam, "sent", 30*time.Hour)
		w.run(t)
		w.smtp.Reply(smtptest.AtData, 451, 1)
		MustCreateTask(t, w.db, sam, "waiting", 30*time.Hour)
		w.run(t)
		ctx := context.Background()
		w.clock.Add(outbox.DefaultKeep)
		if n, err := w.db.Outbox.PurgeDeliveries(ctx, outbox.DefaultKeep); err != nil || n != 0 {
			t.Fatalf("purged %d at the limit, %v", n, err)
		}
		w.clock.Add(time.Microsecond)
		if n, err := w.db.Outbox.PurgeDeliveries(ctx, outbox.DefaultKeep); err != nil || n != 1 {
			t.Fatalf("purged %d past the limit, %v; want the sent one", n, err)
		}
		if pending, _, err := w.db.Outbox.OutboxStats(ctx); err != nil || pending[tasktrack.DeliveryEmail] != 1 {
			t.Fatalf("waiting after the purge: %v %v", pending, err)
		}
	})
}
