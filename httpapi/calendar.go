package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"tasktrack"
	"tasktrack/ical"
)

// The calendar feed: a secret URL per person that calendar apps subscribe
// to. The secret in the URL is the feed's only credential (calendar apps
// cannot send an Authorization header), so it is kept out of the logs,
// and a bearer token does not open a feed: the calendar scope lets a
// token fetch and rotate the URL, and the URL opens the feed.

// eventDuration is how long a task's event lasts in a calendar: a
// deadline is a moment, but calendar apps show a zero-length event badly.
const eventDuration = 15 * time.Minute

func (s *Server) feedURL(secret string) map[string]string {
	return map[string]string{"url": s.LinkBase + "/api/calendar/" + secret + "/tasks.ics"}
}

func (s *Server) handleCalendar(w http.ResponseWriter, r *http.Request) error {
	secret, err := s.Calendars.CalendarSecret(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.feedURL(secret))
	return nil
}

func (s *Server) handleRotateCalendar(w http.ResponseWriter, r *http.Request) error {
	secret, err := s.Calendars.RotateCalendarSecret(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.feedURL(secret))
	return nil
}

// handleCalendarFeed answers the feed as iCalendar. Its ETag is a hash of
// the bytes, which depend only on the data (each event's DTSTAMP is the
// task's last change), so an unchanged feed keeps its ETag and a calendar
// app that polls gets 304.
func (s *Server) handleCalendarFeed(w http.ResponseWriter, r *http.Request) error {
	var all bool
	switch scope := r.URL.Query().Get("scope"); scope {
	case "":
	case "all":
		all = true
	default:
		return badRequest("scope", "Select a valid choice. "+scope+" is not one of the available choices: all.")
	}
	feed, err := s.Calendars.FindCalendarFeed(r.Context(), r.PathValue("secret"), all)
	if err != nil {
		return err
	}
	var body bytes.Buffer
	if _, err := s.calendar(feed).WriteTo(&body); err != nil {
		return err
	}
	sum := sha256.Sum256(body.Bytes())
	etag := `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", "private, max-age=300")
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	h.Set("Content-Type", "text/calendar; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(body.Len()))
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(body.Bytes())
	return err
}

// etagMatches applies If-None-Match (RFC 9110 13.1.2): a list of tags,
// compared weakly, or "*".
func etagMatches(header, etag string) bool {
	for _, tag := range strings.Split(header, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if tag == "*" || tag == etag {
			return true
		}
	}
	return false
}

// calendar makes the feed's calendar: one event per task at its deadline,
// titled with what became of it, with an alarm per reminder lead while the
// task is open (a done or missed task has nothing left to remind of).
func (s *Server) calendar(feed *tasktrack.CalendarFeed) *ical.Calendar {
	name := "tasktrack: " + feed.Owner.Username
	if feed.All {
		name = "tasktrack: all tasks"
	}
	c := &ical.Calendar{ProdID: "-//tasktrack//tasktrack//EN", Name: name, Events: make([]ical.Event, 0, len(feed.Tasks))}
	for _, t := range feed.Tasks {
		e := ical.Event{
			UID: t.ID + "@tasktrack", Stamp: t.UpdatedAt, Start: t.Deadline, Duration: eventDuration,
			Summary: eventSummary(t), Description: t.Description, URL: s.LinkBase + "/tasks/" + t.ID,
		}
		if feed.All {
			e.Description = strings.TrimSpace("Assigned to " + t.AssignedToUsername + "\n\n" + t.Description)
		}
		if t.Status.Open() {
			for _, lead := range s.Reminders {
				e.Alarms = append(e.Alarms, ical.Alarm{Before: lead, Description: `"` + t.Title + `" is due in ` + leadText(lead)})
			}
		}
		c.Events = append(c.Events, e)
	}
	return c
}

func eventSummary(t *tasktrack.Task) string {
	switch t.Status {
	case tasktrack.StatusMissed:
		return "Missed: " + t.Title
	case tasktrack.StatusCompleted:
		return "Done: " + t.Title
	}
	return t.Title
}

// leadText says a reminder lead in words: "24 hours", "1 hour 30 minutes".
func leadText(d time.Duration) string {
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	var parts []string
	if h > 0 {
		parts = append(parts, plural(h, "hour"))
	}
	if m > 0 || h == 0 {
		parts = append(parts, plural(m, "minute"))
	}
	return strings.Join(parts, " ")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// logPath is a request's path as logged: a calendar feed's secret is its
// credential, and credentials stay out of logs.
func logPath(p string) string {
	rest, ok := strings.CutPrefix(p, "/api/calendar/")
	if !ok {
		return p
	}
	secret, tail, more := strings.Cut(rest, "/")
	switch {
	case secret == "" || secret == "rotate":
		return p
	case !more:
		return "/api/calendar/{secret}"
	}
	return "/api/calendar/{secret}/" + tail
}
