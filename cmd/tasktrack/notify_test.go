package main

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	netmail "net/mail"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"tasktrack/mail/smtptest"
	"tasktrack/sqlstore/sqlstoretest"
)

// mailbox reads what an SMTP test server received: subject by recipient,
// and Message-IDs.
func mailbox(t *testing.T, srv *smtptest.Server) (subjects []string, ids []string) {
	t.Helper()
	for _, m := range srv.Messages() {
		msg, err := netmail.ReadMessage(bytes.NewReader(m.Data))
		if err != nil {
			t.Fatal(err)
		}
		subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
		if err != nil {
			t.Fatal(err)
		}
		subjects = append(subjects, strings.Join(m.To, ",")+" "+subject)
		ids = append(ids, msg.Header.Get("Message-Id"))
	}
	slices.Sort(subjects)
	return subjects, ids
}

// metric returns the value of the series named exactly by series (name
// and labels as Prometheus writes them), or -1 when there is none.
func metric(t *testing.T, s *server, series string) float64 {
	t.Helper()
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`)
	m := re.FindSubmatch(s.scrape(t).Body)
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// The whole way of a reminder through the real binary: serve with
// --reminders 1m and an SMTP server; a task due in about 70 s; the
// assignee's stream receives the reminder, and the email arrives once.
// Then the process is killed with SIGKILL between the commit of an email
// and its delivery (the SMTP server unreachable), restarted, and the
// email arrives once, and nothing else twice.
func TestReminderStreamAndEmail(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary for a minute")
	}
	t.Parallel()
	smtp := smtptest.NewServer(t, smtptest.Options{})
	db := sqliteFile(t)
	flags := func(smtpURL string) []string {
		return []string{"--sweep-interval", "1s", "--reminders", "1m", "--smtp-url", smtpURL,
			"--smtp-from", "tasktrack <noreply@tt.example.com>", "--public-url", "https://tt.example.com",
			"--smtp-retry-base", "200ms"}
	}
	s := startServe(t, db, adminEnv, flags(smtp.URL())...)
	admin := s.login(t, "admin", adminPassword)
	admin.CreateUser("maria", "manager", "maria@example.com")
	samID := admin.CreateUser("sam", "user", "sam@example.com")
	maria := s.login(t, "maria", userPassword("maria"))
	sam := s.login(t, "sam", userPassword("sam"))
	stream := sam.OpenEvents("/api/notifications/stream/", "")

	due := time.Now().Add(70 * time.Second)
	task := maria.CreateTask(samID, "Quarterly report", due)
	ev := stream.Next(t, 10*time.Second)
	if ev.Type != "notification" || !strings.Contains(ev.Data, `"kind":"task_assigned"`) {
		t.Fatalf("first event %+v", ev)
	}
	// The 1-minute lead passes about 10 s after the creation.
	ev = stream.Next(t, 30*time.Second)
	var n struct {
		ID, Kind, Message string
		Details           map[string]string
		Task              struct{ ID string }
	}
	if err := json.Unmarshal([]byte(ev.Data), &n); err != nil {
		t.Fatal(err)
	}
	if ev.Type != "notification" || ev.ID != n.ID || n.Kind != "task_reminder" || n.Task.ID != task ||
		n.Message != `"Quarterly report" is due in 1 minute` || n.Details["lead"] != "1m" {
		t.Fatalf("reminder event %+v", ev)
	}
	if time.Now().Before(due.Add(-time.Minute)) {
		t.Fatalf("reminded before the lead")
	}
	reminded := []string{`sam@example.com Assigned to you: "Quarterly report"`, `sam@example.com Reminder: "Quarterly report" is due in 1 minute`}
	waitFor(t, 20*time.Second, "both emails delivered", func() bool {
		return metric(t, s, `tasktrack_outbox_deliveries_total{kind="email",outcome="delivered"}`) == 2
	})
	if got, _ := mailbox(t, smtp); !slices.Equal(got, reminded) {
		t.Fatalf("mail:\n got %q\nwant %q", got, reminded)
	}
	if v := metric(t, s, `tasktrack_notifications_created_total{kind="task_reminder"}`); v != 1 {
		t.Errorf("reminders created: %v", v)
	}

	// Killed, and back with the SMTP server unreachable: the next email is
	// committed and fails for now; killed again before any success.
	s.kill()
	s = startServe(t, db, adminEnv, flags("smtp://127.0.0.1:"+strings.Split(freeAddr(t), ":")[1])...)
	maria = s.login(t, "maria", userPassword("maria"))
	maria.CreateTask(samID, "Slides", time.Now().Add(time.Hour))
	waitFor(t, 20*time.Second, "a failed attempt", func() bool {
		return metric(t, s, `tasktrack_outbox_deliveries_total{kind="email",outcome="retrying"}`) >= 1
	})
	if v := metric(t, s, `tasktrack_outbox_pending{kind="email"}`); v != 1 {
		t.Fatalf("pending after a failed attempt: %v", v)
	}
	s.kill()

	// Back with the SMTP server: the email arrives, once (within the
	// lease, when the kill came in the middle of a retry).
	s = startServe(t, db, adminEnv, flags(smtp.URL())...)
	waitFor(t, 45*time.Second, "the outbox emptied", func() bool {
		return metric(t, s, `tasktrack_outbox_pending{kind="email"}`) == 0
	})
	want := append(slices.Clone(reminded), `sam@example.com Assigned to you: "Slides"`)
	slices.Sort(want)
	got, ids := mailbox(t, smtp)
	if !slices.Equal(got, want) {
		t.Fatalf("mail after the restarts:\n got %q\nwant %q", got, want)
	}
	if distinct := slices.Compact(slices.Sorted(slices.Values(ids))); len(distinct) != len(ids) {
		t.Fatalf("Message-IDs repeat: %q", ids)
	}
	if v := metric(t, s, `tasktrack_outbox_oldest_pending_age_seconds`); v != 0 {
		t.Errorf("oldest pending age %v with none pending", v)
	}
}

// Three replicas over one PostgreSQL, each sweeping every second with
// two leads: every task gets one reminder per lead, and each reminder one
// email, whichever replica swept; a stream on one replica carries them
// all.
func TestRemindersOnReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three servers")
	}
	smtp := smtptest.NewServer(t, smtptest.Options{})
	dsn := sqlstoretest.DSN(t, sqlstoretest.Postgres)
	flags := []string{"--sweep-interval", "1s", "--reminders", "1m,20s", "--smtp-url", smtp.URL(), "--missed-threshold", "10",
		"--public-url", "https://tt.example.com", "--smtp-retry-base", "200ms"}
	replicas := make([]*server, 3)
	for i := range replicas {
		replicas[i] = launchServeIn(t, "", dsn, adminEnv, flags...)
	}
	for _, r := range replicas {
		r.waitReady()
	}
	admin := replicas[0].login(t, "admin", adminPassword)
	admin.CreateUser("boss", "manager", "boss@example.com")
	uid := admin.CreateUser("una", "user", "una@example.com")
	boss := replicas[1].login(t, "boss", userPassword("boss"))
	una := replicas[2].login(t, "una", userPassword("una"))
	stream := una.OpenEvents("/api/notifications/stream/", "")

	// Due in 35 s: the 1-minute lead has passed at once, the 20-second
	// one passes 15 s later.
	due := time.Now().Add(35 * time.Second)
	titles := []string{"a", "b", "c", "d", "e", "f"}
	for i, title := range titles {
		c := replicas[i%3].client(t, boss.Access)
		c.CreateTask(uid, title, due)
	}
	reminders := map[string]int{}
	for len(reminders) < 2*len(titles) {
		ev := stream.Next(t, 40*time.Second)
		var n struct{ Kind, Message string }
		if err := json.Unmarshal([]byte(ev.Data), &n); err != nil {
			t.Fatal(err)
		}
		if n.Kind == "task_reminder" {
			reminders[n.Message]++
		}
	}
	waitFor(t, 30*time.Second, "every task missed", func() bool {
		r := boss.Do("GET", "/api/task/tasks/missed/", nil)
		return r.Status == http.StatusOK && r.Header.Get("X-Total-Count") == strconv.Itoa(len(titles))
	})
	var inbox []struct{ Kind, Message string }
	una.Want("GET", "/api/notifications/?kind=task_reminder&limit=1000", nil, http.StatusOK).Decode(t, &inbox)
	counted := map[string]int{}
	for _, n := range inbox {
		counted[n.Message]++
	}
	var wantMail []string
	for _, title := range titles {
		// Made 35 s before the deadline: inside the 1-minute lead, so due
		// within it; the 20-second one passes later, so due in it.
		for _, lead := range []string{"within 1 minute", "in 20 seconds"} {
			msg := `"` + title + `" is due ` + lead
			if reminders[msg] != 1 || counted[msg] != 1 {
				t.Errorf("%s: streamed %d times, %d in the inbox; want 1", msg, reminders[msg], counted[msg])
			}
			wantMail = append(wantMail, `una@example.com Reminder: `+msg)
		}
	}
	slices.Sort(wantMail)
	waitFor(t, 20*time.Second, "the outbox emptied", func() bool {
		for _, r := range replicas {
			if metric(t, r, `tasktrack_outbox_pending{kind="email"}`) != 0 {
				return false
			}
		}
		return true
	})
	got, _ := mailbox(t, smtp)
	var reminderMail []string
	for _, s := range got {
		if strings.Contains(s, "Reminder: ") {
			reminderMail = append(reminderMail, s)
		}
	}
	if !slices.Equal(reminderMail, wantMail) {
		t.Fatalf("reminder emails:\n got %q\nwant %q", reminderMail, wantMail)
	}
}
