package mail_test

import (
	"strings"
	"testing"
	"time"

	"tasktrack/mail"
)

const publicURL = "https://tt.example.com/app/"

var (
	paris    = time.FixedZone("CET", 3600)
	alice    = &mail.Person{ID: 7, Username: "alice"}
	deadline = time.Date(2026, 12, 1, 17, 0, 0, 0, time.UTC)
	report   = &mail.Task{ID: "0193abc", Title: "Quarterly report", Deadline: deadline, Status: "in_progress"}
	hook     = "https://hooks.example.com/tt?a=1&b=2"
)

func templates(t *testing.T) *mail.Templates {
	t.Helper()
	tm, err := mail.NewTemplates(publicURL)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func withTitle(title string) *mail.Task {
	task := *report
	task.Title = title
	return &task
}

// One case per email tasktrack sends: its subject, and the lines and links
// both parts must hold.
func TestRender(t *testing.T) {
	tm := templates(t)
	to := mail.Recipient{Name: "Alice Smith", Location: paris}
	notification := func(n mail.Notification) func() (mail.Content, error) {
		return func() (mail.Content, error) { return tm.Notification(to, n) }
	}
	alert := func(a mail.Alert) func() (mail.Content, error) {
		return func() (mail.Content, error) { return tm.Alert(to, a) }
	}
	digest := func(alerts ...mail.Alert) func() (mail.Content, error) {
		return func() (mail.Content, error) { return tm.DigestOf(to, deadline, alerts, 0) }
	}
	const (
		taskLink  = "https://tt.example.com/app/tasks/0193abc"
		userLink  = "https://tt.example.com/app/users/7"
		alertLink = "https://tt.example.com/app/alerts"
		myTasks   = "https://tt.example.com/app/my-tasks"
		due       = "Tue 1 Dec 2026, 18:00 CET"
	)
	cases := []struct {
		name        string
		render      func() (mail.Content, error)
		subject     string
		text, links []string // in both parts
	}{
		{"task_assigned",
			notification(mail.Notification{Kind: "task_assigned", Message: "bob assigned you a task", Task: report}),
			`Assigned to you: "Quarterly report"`,
			[]string{"bob assigned you a task", "Quarterly report", due, "In progress"}, []string{taskLink}},
		{"task_changed",
			notification(mail.Notification{Kind: "task_changed", Message: "bob moved the deadline", Task: report}),
			`Changed: "Quarterly report"`,
			[]string{"bob moved the deadline", due}, []string{taskLink}},
		{"task_reminder",
			notification(mail.Notification{Kind: "task_reminder", Message: "due soon", Task: report, Lead: time.Hour}),
			`Reminder: "Quarterly report" is due in 1 hour`,
			[]string{"due soon", due}, []string{taskLink}},
		{"task_reminder, within",
			notification(mail.Notification{Kind: "task_reminder", Message: "due sooner", Task: report, Lead: time.Hour, Within: true}),
			`Reminder: "Quarterly report" is due within 1 hour`,
			[]string{"due sooner", due}, []string{taskLink}},
		{"task_reminder, 24h",
			notification(mail.Notification{Kind: "task_reminder", Task: report, Lead: 24 * time.Hour}),
			`Reminder: "Quarterly report" is due in 24 hours`, nil, []string{taskLink}},
		{"task_reminder, 48h",
			notification(mail.Notification{Kind: "task_reminder", Task: report, Lead: 48 * time.Hour}),
			`Reminder: "Quarterly report" is due in 2 days`, nil, []string{taskLink}},
		{"task_reminder, 90m",
			notification(mail.Notification{Kind: "task_reminder", Task: report, Lead: 90 * time.Minute}),
			`Reminder: "Quarterly report" is due in 1 hour 30 minutes`, nil, []string{taskLink}},
		{"task_reminder, 45s",
			notification(mail.Notification{Kind: "task_reminder", Task: report, Lead: 45 * time.Second}),
			`Reminder: "Quarterly report" is due in 45 seconds`, nil, []string{taskLink}},
		{"task_missed",
			notification(mail.Notification{Kind: "task_missed", Message: "missed", Task: withTitle("Ship it")}),
			`Missed: "Ship it"`, []string{"Ship it", due}, []string{taskLink}},
		{"at_risk",
			notification(mail.Notification{Kind: "at_risk", Message: "You have missed 4 deadlines this week."}),
			`Warning: one more missed deadline pauses your account`,
			[]string{"You have missed 4 deadlines this week.", "One more missed deadline deactivates your account"},
			[]string{myTasks}},
		{"reactivated",
			notification(mail.Notification{Kind: "reactivated", Message: "carol reactivated your account"}),
			`Your account was reactivated`,
			[]string{"carol reactivated your account"}, []string{myTasks}},
		{"alert task_missed",
			alert(mail.Alert{Kind: "task_missed", User: alice, Task: report}),
			`Missed by alice: "Quarterly report"`,
			[]string{"missed", "Quarterly report", due}, []string{taskLink, alertLink}},
		{"alert user_deactivated",
			alert(mail.Alert{Kind: "user_deactivated", User: alice}),
			`alice was deactivated`, []string{"alice", "was deactivated"}, []string{alertLink}},
		{"alert user_at_risk",
			alert(mail.Alert{Kind: "user_at_risk", User: alice}),
			`alice is at risk`, []string{"one missed deadline away from being deactivated"}, []string{alertLink}},
		{"alert webhook_disabled",
			alert(mail.Alert{Kind: "webhook_disabled", WebhookURL: "https://hooks.example.com/tt"}),
			`Webhook disabled: https://hooks.example.com/tt`,
			[]string{"https://hooks.example.com/tt", "was disabled"}, []string{alertLink}},
		{"digest of one",
			digest(mail.Alert{Kind: "user_at_risk", User: alice}),
			`tasktrack: 1 unacknowledged alert today`,
			[]string{"1 alert is still unacknowledged today, Tuesday 1 December 2026"}, []string{alertLink}},
		{"digest of three",
			digest(
				mail.Alert{Kind: "task_missed", User: alice, Task: report},
				mail.Alert{Kind: "user_deactivated", User: alice},
				mail.Alert{Kind: "webhook_disabled", WebhookURL: "https://hooks.example.com/tt"}),
			`tasktrack: 3 unacknowledged alerts today`,
			[]string{"3 alerts are still unacknowledged today", "Quarterly report", "was deactivated", "https://hooks.example.com/tt"},
			[]string{taskLink, alertLink}},
		{"digest listing two of 1,002",
			func() (mail.Content, error) {
				return tm.DigestOf(to, deadline, []mail.Alert{{Kind: "task_missed", User: alice, Task: report}, {Kind: "user_at_risk", User: alice}}, 1000)
			},
			`tasktrack: 1002 unacknowledged alerts today`,
			[]string{"1002 alerts are still unacknowledged today", "Quarterly report", "one missed deadline away", "... and 1000 more."},
			[]string{taskLink, alertLink}},
	}
	for _, c := range cases {
		got, err := c.render()
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got.Subject != c.subject {
			t.Errorf("%s: subject %q, want %q", c.name, got.Subject, c.subject)
		}
		for _, s := range append([]string{"Hello Alice Smith,"}, c.text...) {
			if !strings.Contains(got.Text, s) {
				t.Errorf("%s: text lacks %q:\n%s", c.name, s, got.Text)
			}
			if !strings.Contains(got.HTML, s) {
				t.Errorf("%s: HTML lacks %q:\n%s", c.name, s, got.HTML)
			}
		}
		// Every email ends with the way to its sender's preferences.
		for _, link := range append(c.links, "https://tt.example.com/app/preferences") {
			if !strings.Contains(got.Text, link) {
				t.Errorf("%s: text lacks the link %s:\n%s", c.name, link, got.Text)
			}
			if !strings.Contains(got.HTML, `href="`+link+`"`) {
				t.Errorf("%s: HTML lacks the link %s:\n%s", c.name, link, got.HTML)
			}
		}
	}
}

// A task's title comes from a person: in the HTML part it is escaped, in the
// subject it stays on one line and is cut short.
func TestRenderUntrustedTitles(t *testing.T) {
	tm := templates(t)
	long := strings.Repeat("x", 79) + "yz"
	cases := []struct {
		name, title, subject string
		html, notHTML        []string
	}{
		{"markup", `<script>alert(1)</script> & "more"`,
			`Assigned to you: "<script>alert(1)</script> & "more""`,
			[]string{"&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;more&#34;"}, []string{"<script>"}},
		{"header injection", "Report\r\nBcc: evil@example.com\r\n\r\nbody",
			`Assigned to you: "Report Bcc: evil@example.com body"`, nil, nil},
		{"tabs and runs of spaces", "a\t\t b \u2028 c", `Assigned to you: "a b c"`, nil, nil},
		{"long", long, `Assigned to you: "` + strings.Repeat("x", 79) + `…"`, []string{long}, nil},
		{"emoji", "Ship 🚀 v2", `Assigned to you: "Ship 🚀 v2"`, []string{"Ship 🚀 v2"}, nil},
	}
	for _, c := range cases {
		got, err := tm.Notification(mail.Recipient{}, mail.Notification{Kind: "task_assigned", Task: withTitle(c.title)})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got.Subject != c.subject {
			t.Errorf("%s: subject %q, want %q", c.name, got.Subject, c.subject)
		}
		for _, s := range c.html {
			if !strings.Contains(got.HTML, s) {
				t.Errorf("%s: HTML lacks %q", c.name, s)
			}
		}
		for _, s := range c.notHTML {
			if strings.Contains(got.HTML, s) {
				t.Errorf("%s: HTML holds %q", c.name, s)
			}
		}
		// The text part shows the title as written.
		if !strings.Contains(got.Text, c.title) {
			t.Errorf("%s: text lacks the title", c.name)
		}
		if !strings.HasPrefix(got.Text, "Hello,\n") {
			t.Errorf("%s: text without a name starts %q", c.name, got.Text[:10])
		}
	}
}

func TestRenderWebhookURLEscaped(t *testing.T) {
	got, err := templates(t).Alert(mail.Recipient{}, mail.Alert{Kind: "webhook_disabled", WebhookURL: hook})
	if err != nil {
		t.Fatal(err)
	}
	if want := "https://hooks.example.com/tt?a=1&amp;b=2"; !strings.Contains(got.HTML, want) {
		t.Errorf("HTML lacks %q:\n%s", want, got.HTML)
	}
	if !strings.Contains(got.Text, hook) {
		t.Errorf("text lacks %q:\n%s", hook, got.Text)
	}
}

func TestRenderErrors(t *testing.T) {
	tm := templates(t)
	to := mail.Recipient{}
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"unknown notification", second(tm.Notification(to, mail.Notification{Kind: "user_deactivated"})),
			`mail: no template for notification kind "user_deactivated"`},
		{"notification without task", second(tm.Notification(to, mail.Notification{Kind: "task_changed"})),
			`mail: a task_changed notification needs its task`},
		{"reminder without lead", second(tm.Notification(to, mail.Notification{Kind: "task_reminder", Task: report})),
			`mail: a task_reminder notification needs its lead`},
		{"unknown alert", second(tm.Alert(to, mail.Alert{Kind: "at_risk", User: alice})),
			`mail: no template for alert kind "at_risk"`},
		{"missed alert without task", second(tm.Alert(to, mail.Alert{Kind: "task_missed", User: alice})),
			`mail: a task_missed alert needs its task`},
		{"missed alert without user", second(tm.Alert(to, mail.Alert{Kind: "task_missed", Task: report})),
			`mail: a task_missed alert needs its user`},
		{"user alert without user", second(tm.Alert(to, mail.Alert{Kind: "user_at_risk"})),
			`mail: a user_at_risk alert needs its user`},
		{"webhook alert without URL", second(tm.Alert(to, mail.Alert{Kind: "webhook_disabled"})),
			`mail: a webhook_disabled alert needs the webhook's URL`},
		{"empty digest", second(tm.DigestOf(to, deadline, nil, 0)), `mail: a digest needs alerts`},
		{"digest with a bad alert", second(tm.DigestOf(to, deadline, []mail.Alert{{Kind: "nope"}}, 0)),
			`mail: no template for alert kind "nope"`},
		{"digest with fewer than none more", second(tm.DigestOf(to, deadline, []mail.Alert{{Kind: "user_at_risk", User: alice}}, -1)),
			`mail: a digest cannot have fewer than no more alerts`},
	}
	for _, c := range cases {
		if c.err == nil || c.err.Error() != c.want {
			t.Errorf("%s: error %v, want %q", c.name, c.err, c.want)
		}
	}
}

func second(_ mail.Content, err error) error { return err }

func TestNewTemplates(t *testing.T) {
	cases := []struct {
		publicURL, wantLink, wantErr string
	}{
		{"https://tt.example.com", "https://tt.example.com/tasks/0193abc", ""},
		{"http://localhost:8000/", "http://localhost:8000/tasks/0193abc", ""},
		{"https://example.com/tt//", "https://example.com/tt/tasks/0193abc", ""},
		{"", "", "mail: a public URL is needed for the links in email"},
		{"tt.example.com", "", `mail: public URL "tt.example.com" is not an absolute http or https URL`},
		{"ftp://tt.example.com", "", `mail: public URL "ftp://tt.example.com" is not an absolute http or https URL`},
		{"https://user:pw@tt.example.com", "", `mail: public URL "https://user:pw@tt.example.com" is not an absolute http or https URL`},
		{"https://tt.example.com/?x=1", "", `mail: public URL "https://tt.example.com/?x=1" has a query or fragment`},
	}
	for _, c := range cases {
		tm, err := mail.NewTemplates(c.publicURL)
		if c.wantErr != "" {
			if err == nil || err.Error() != c.wantErr {
				t.Errorf("NewTemplates(%q): error %v, want %q", c.publicURL, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("NewTemplates(%q): %v", c.publicURL, err)
			continue
		}
		got, err := tm.Notification(mail.Recipient{}, mail.Notification{Kind: "task_missed", Task: report})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(got.Text, "Open it:  "+c.wantLink+"\n") {
			t.Errorf("NewTemplates(%q): text lacks %s:\n%s", c.publicURL, c.wantLink, got.Text)
		}
	}
}
