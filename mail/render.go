package mail

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"net/url"
	"strconv"
	"strings"
	"tasktrack"
	texttemplate "text/template"
	"time"
	"unicode/utf8"
)

//go:embed templates/*
var templateFiles embed.FS

// Task is what an email shows of a task.
type Task struct {
	ID       string
	Title    string
	Deadline time.Time
	Status   string // pending, in_progress, completed or missed
}

// Person is whom an alert is about.
type Person struct {
	ID       int64
	Username string
}

// Recipient is the person an email is for: the greeting's name, and the
// timezone its times are shown in (nil is UTC).
type Recipient struct {
	Name     string
	Location *time.Location
}

// Notification is one notification of API.md, to render for its user.
type Notification struct {
	// Kind is task_assigned, task_changed, task_reminder, task_missed,
	// at_risk or reactivated.
	Kind string
	// Message is the notification's message line.
	Message string
	// Task is required for the task_ kinds.
	Task *Task
	// Lead is the reminder's lead, for task_reminder; Within, that the
	// task is due sooner than it (the subject says "within", not "in").
	Lead   time.Duration
	Within bool
}

// Alert is one alert of API.md, to render for a manager or admin.
type Alert struct {
	// Kind is task_missed, user_deactivated, user_at_risk or
	// webhook_disabled.
	Kind string
	// User is whom the alert is about (all kinds but webhook_disabled).
	User *Person
	// Task is the missed task, for task_missed.
	Task *Task
	// WebhookURL is the disabled endpoint, for webhook_disabled.
	WebhookURL string
}

// Content is a rendered email: its subject (one line) and its plain-text
// and HTML parts.
type Content struct {
	Subject, Text, HTML string
}

// Templates renders tasktrack's emails with links under one public URL.
type Templates struct {
	base string // the public URL without a trailing slash
	text *texttemplate.Template
	html *htmltemplate.Template
}

// The kinds each renderer knows, and whether the kind is about a task.
var (
	notificationKinds = map[string]bool{
		"task_assigned": true, "task_changed": true, "task_reminder": true,
		"task_missed": true, "at_risk": false, "reactivated": false,
	}
	alertKinds = map[string]bool{
		"task_missed": true, "user_deactivated": false, "user_at_risk": false,
		"webhook_disabled": false,
	}
)

// maxSubjectTitle is how many characters of a task's title a subject
// quotes; the body has the whole title.
const maxSubjectTitle = 80

// NewTemplates reads the embedded templates. publicURL (--public-url) is
// where the web UI is served, the base of every link: an absolute http or
// https URL, possibly with a path.
func NewTemplates(publicURL string) (*Templates, error) {
	if publicURL == "" {
		return nil, errors.New("mail: a public URL is needed for the links in email")
	}
	u, err := url.Parse(publicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return nil, fmt.Errorf("mail: public URL %q is not an absolute http or https URL", publicURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("mail: public URL %q has a query or fragment", publicURL)
	}
	funcs := map[string]any{"quote": quoteTitle}
	text, err := texttemplate.New("mail").Funcs(funcs).ParseFS(templateFiles, "templates/*.txt")
	if err != nil {
		return nil, err
	}
	html, err := htmltemplate.New("mail").ParseFS(templateFiles, "templates/*.html")
	if err != nil {
		return nil, err
	}
	return &Templates{base: strings.TrimRight(u.String(), "/"), text: text, html: html}, nil
}

// view is what the templates see: every value already in the words and
// links the email shows.
type view struct {
	Kind, Name, Subject, Message, Lead string
	Within                             bool
	Task                               *taskView
	User                               *personView
	WebhookURL                         string
	AlertsURL, MyTasksURL              string
	PreferencesURL                     string
	Day                                string
	Items                              []*view
	// Total counts the digest's alerts, More those not listed.
	Total, More int
}

type taskView struct{ Title, Deadline, Status, URL string }

type personView struct{ Username, URL string }

// Notification renders the email for one notification.
func (t *Templates) Notification(to Recipient, n Notification) (Content, error) {
	aboutTask, ok := notificationKinds[n.Kind]
	switch {
	case !ok:
		return Content{}, fmt.Errorf("mail: no template for notification kind %q", n.Kind)
	case aboutTask && n.Task == nil:
		return Content{}, fmt.Errorf("mail: a %s notification needs its task", n.Kind)
	case n.Kind == "task_reminder" && n.Lead <= 0:
		return Content{}, errors.New("mail: a task_reminder notification needs its lead")
	}
	v := t.view(to, n.Kind)
	v.Message = n.Message
	v.Lead, v.Within = formatLead(n.Lead), n.Within
	if n.Task != nil {
		v.Task = t.task(to, n.Task)
	}
	return t.render(v, "subject/notification/"+n.Kind, "notification")
}

// Alert renders the email for one alert.
func (t *Templates) Alert(to Recipient, a Alert) (Content, error) {
	v, err := t.alert(to, a)
	if err != nil {
		return Content{}, err
	}
	return t.render(v, "subject/alert/"+a.Kind, "alert")
}

// DigestOf renders the daily digest of a day's unacknowledged alerts (day
// is any moment of that day): it lists alerts and counts more besides,
// not listed, so that a digest stays readable however many alerts there
// were. There is no digest of no alerts.
func (t *Templates) DigestOf(to Recipient, day time.Time, alerts []Alert, more int) (Content, error) {
	if len(alerts) == 0 {
		return Content{}, errors.New("mail: a digest needs alerts")
	}
	if more < 0 {
		return Content{}, errors.New("mail: a digest cannot have fewer than no more alerts")
	}
	v := t.view(to, "digest")
	v.Total, v.More = len(alerts)+more, more
	v.Day = day.In(location(to)).Format("Monday 2 January 2006")
	for _, a := range alerts {
		item, err := t.alert(to, a)
		if err != nil {
			return Content{}, err
		}
		v.Items = append(v.Items, item)
	}
	return t.render(v, "subject/digest", "digest")
}

func (t *Templates) alert(to Recipient, a Alert) (*view, error) {
	aboutTask, ok := alertKinds[a.Kind]
	switch {
	case !ok:
		return nil, fmt.Errorf("mail: no template for alert kind %q", a.Kind)
	case aboutTask && a.Task == nil:
		return nil, fmt.Errorf("mail: a %s alert needs its task", a.Kind)
	case a.Kind == "webhook_disabled" && a.WebhookURL == "":
		return nil, errors.New("mail: a webhook_disabled alert needs the webhook's URL")
	case a.Kind != "webhook_disabled" && (a.User == nil || a.User.Username == ""):
		return nil, fmt.Errorf("mail: a %s alert needs its user", a.Kind)
	}
	v := t.view(to, a.Kind)
	if a.Task != nil {
		v.Task = t.task(to, a.Task)
	}
	if a.User != nil {
		v.User = &personView{
			Username: oneLine(a.User.Username),
			URL:      t.base + "/users/" + strconv.FormatInt(a.User.ID, 10),
		}
	}
	v.WebhookURL = a.WebhookURL
	return v, nil
}

func (t *Templates) view(to Recipient, kind string) *view {
	return &view{
		Kind:           kind,
		Name:           oneLine(to.Name),
		AlertsURL:      t.base + "/alerts",
		MyTasksURL:     t.base + "/my-tasks",
		PreferencesURL: t.base + "/preferences",
	}
}

func (t *Templates) task(to Recipient, task *Task) *taskView {
	return &taskView{
		Title:    task.Title,
		Deadline: task.Deadline.In(location(to)).Format("Mon 2 Jan 2006, 15:04 MST"),
		Status:   statusLabel(task.Status),
		URL:      t.base + "/tasks/" + url.PathEscape(task.ID),
	}
}

// render executes the subject template and then the body's text and html
// templates (name + ".text", name + ".html").
func (t *Templates) render(v *view, subject, name string) (Content, error) {
	var b bytes.Buffer
	if err := t.text.ExecuteTemplate(&b, subject, v); err != nil {
		return Content{}, fmt.Errorf("mail: subject: %w", err)
	}
	v.Subject = oneLine(b.String())
	b.Reset()
	if err := t.text.ExecuteTemplate(&b, name+".text", v); err != nil {
		return Content{}, fmt.Errorf("mail: text: %w", err)
	}
	text := b.String()
	b.Reset()
	if err := t.html.ExecuteTemplate(&b, name+".html", v); err != nil {
		return Content{}, fmt.Errorf("mail: html: %w", err)
	}
	return Content{Subject: v.Subject, Text: text, HTML: b.String()}, nil
}

func location(to Recipient) *time.Location {
	if to.Location == nil {
		return time.UTC
	}
	return to.Location
}

// quoteTitle puts a task's title in a subject: on one line, cut short,
// in quotes.
func quoteTitle(title string) string {
	title = oneLine(title)
	if utf8.RuneCountInString(title) > maxSubjectTitle {
		r := []rune(title)
		title = strings.TrimRight(string(r[:maxSubjectTitle-1]), " ") + "…"
	}
	return `"` + title + `"`
}

func statusLabel(status string) string {
	switch status {
	case "pending":
		return "Pending"
	case "in_progress":
		return "In progress"
	case "completed":
		return "Completed"
	case "missed":
		return "Missed"
	}
	return status
}

// formatLead says a reminder's lead in words, as the notification's own
// message does ("1 hour", "24 hours", "2 days"); nothing for none.
func formatLead(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return tasktrack.LeadWords(d)
}
