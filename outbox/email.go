package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	netmail "net/mail"
	"time"

	"tasktrack"
	"tasktrack/mail"
)

// Email defaults: an SMTP server that refuses for now (greylisting, a
// full queue) usually accepts within minutes; one down for longer than a
// day is an outage whose mail is stale.
const (
	DefaultEmailBase        = 30 * time.Second
	DefaultEmailCap         = time.Hour
	DefaultEmailGiveUpAfter = 24 * time.Hour
)

// Sender sends one email; *mail.Sender is one.
type Sender interface {
	Send(ctx context.Context, m mail.Message) error
}

// Emailer delivers email rows: it renders the payload captured when the
// row was written with the embedded templates, and sends it.
type Emailer struct {
	Sender    Sender
	Templates *mail.Templates
	// Domain is the right part of Message-IDs: <delivery id@Domain>.
	Domain string
}

// EmailKind is the Kind of email deliveries, with the given backoff base
// (0: DefaultEmailBase).
func EmailKind(e *Emailer, base time.Duration) Kind {
	if base <= 0 {
		base = DefaultEmailBase
	}
	return Kind{
		Handler: e, Permanent: mail.IsPermanent,
		Base: base, Cap: max(base, DefaultEmailCap), GiveUpAfter: DefaultEmailGiveUpAfter,
		FailedAction: tasktrack.ActionEmailFailed,
		FailedDetails: func(d *tasktrack.Delivery, err error) map[string]any {
			details := map[string]any{"delivery": d.ID, "attempts": d.Attempt, "error": err.Error()}
			if code := mail.ReplyCode(err); code != 0 {
				details["reply_code"] = code
			}
			var p tasktrack.EmailPayload
			if json.Unmarshal(d.Payload, &p) == nil {
				details["template"], details["kind"] = p.Template, p.Kind
			}
			return details
		},
	}
}

// Deliver sends the email of d. A payload that cannot be read or rendered
// is refused for good, as mail.ErrInvalidMessage.
func (e *Emailer) Deliver(ctx context.Context, d *tasktrack.Delivery) error {
	m, err := e.Message(d)
	if err != nil {
		return fmt.Errorf("%w: %v", mail.ErrInvalidMessage, err)
	}
	return e.Sender.Send(ctx, m)
}

// Message renders the email of d. The same row renders the same message
// on every attempt: the payload does not change, and the Message-ID and
// Date come from the row's id and time.
func (e *Emailer) Message(d *tasktrack.Delivery) (mail.Message, error) {
	var p tasktrack.EmailPayload
	if err := json.Unmarshal(d.Payload, &p); err != nil {
		return mail.Message{}, err
	}
	loc, err := tasktrack.LoadTimezone(p.Timezone)
	if err != nil {
		loc = time.UTC
	}
	to := mail.Recipient{Name: p.Name, Location: loc}
	var c mail.Content
	switch p.Template {
	case tasktrack.EmailNotification:
		c, err = e.Templates.Notification(to, mail.Notification{Kind: p.Kind, Message: p.Message, Task: emailTask(p),
			Lead: time.Duration(p.LeadMicros) * time.Microsecond, Within: p.Within == 1})
	case tasktrack.EmailAlert:
		c, err = e.Templates.Alert(to, emailAlert(p))
	case tasktrack.EmailDigest:
		var day time.Time
		if day, err = time.ParseInLocation(time.DateOnly, p.Day, loc); err != nil {
			return mail.Message{}, err
		}
		alerts := make([]mail.Alert, len(p.Alerts))
		for i, a := range p.Alerts {
			alerts[i] = emailAlert(a)
		}
		c, err = e.Templates.DigestOf(to, day.Add(tasktrack.DigestHour*time.Hour), alerts, p.More)
	default:
		err = errors.New("unknown template " + p.Template)
	}
	if err != nil {
		return mail.Message{}, err
	}
	return mail.Message{
		To: netmail.Address{Name: p.Name, Address: d.Target}, Subject: c.Subject, Text: c.Text, HTML: c.HTML,
		MessageID: "<" + d.ID + "@" + e.Domain + ">", Date: d.CreatedAt,
	}, nil
}

func emailTask(p tasktrack.EmailPayload) *mail.Task {
	if p.TaskID == "" {
		return nil
	}
	return &mail.Task{ID: p.TaskID, Title: p.TaskTitle, Status: p.TaskStatus,
		Deadline: time.UnixMicro(p.TaskDeadlineMicros).UTC()}
}

func emailAlert(p tasktrack.EmailPayload) mail.Alert {
	a := mail.Alert{Kind: p.Kind, Task: emailTask(p)}
	if p.AboutUsername != "" {
		a.User = &mail.Person{ID: p.AboutID, Username: p.AboutUsername}
	}
	return a
}
