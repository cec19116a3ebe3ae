package ical_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	goical "github.com/arran4/golang-ical"

	"tasktrack/ical"
)

var (
	deadline = time.Date(2026, 12, 1, 17, 0, 0, 0, time.UTC)
	changed  = time.Date(2026, 11, 20, 9, 30, 5, 0, time.UTC)
)

func write(t *testing.T, c *ical.Calendar) string {
	t.Helper()
	var b bytes.Buffer
	n, err := c.WriteTo(&b)
	if err != nil {
		t.Fatalf("WriteTo: %v", err)
	}
	if n != int64(b.Len()) {
		t.Errorf("WriteTo counted %d bytes, wrote %d", n, b.Len())
	}
	return b.String()
}

// The whole output of a small calendar, byte for byte.
func TestWriteTo(t *testing.T) {
	paris := time.FixedZone("CET", 3600)
	c := &ical.Calendar{
		ProdID: "-//tasktrack//tasktrack//EN",
		Name:   "tasktrack: alice",
		Events: []ical.Event{{
			UID:         "0193abcd-0000-7000-8000-000000000001@tasktrack",
			Stamp:       changed.In(paris),
			Start:       deadline.In(paris), // written in UTC all the same
			Duration:    15 * time.Minute,
			Summary:     "Quarterly report",
			Description: "Numbers for Q4, then; send\nto Bob",
			URL:         "https://tt.example.com/tasks/0193abcd-0000-7000-8000-000000000001",
			Alarms: []ical.Alarm{
				{Before: 24 * time.Hour},
				{Before: 90 * time.Minute, Description: "Due in 1 hour 30 minutes"},
			},
		}, {
			UID:      "0193abcd-0000-7000-8000-000000000002@tasktrack",
			Stamp:    changed,
			Start:    deadline.Add(24 * time.Hour),
			Duration: 15 * time.Minute,
			Summary:  "Done: Ship it",
		}},
	}
	want := strings.Join([]string{
		"BEGIN:VCALENDAR",
		"VERSION:2.0",
		"PRODID:-//tasktrack//tasktrack//EN",
		"CALSCALE:GREGORIAN",
		"METHOD:PUBLISH",
		"X-WR-CALNAME:tasktrack: alice",
		"BEGIN:VEVENT",
		"UID:0193abcd-0000-7000-8000-000000000001@tasktrack",
		"DTSTAMP:20261120T093005Z",
		"DTSTART:20261201T170000Z",
		"DURATION:PT15M",
		"SUMMARY:Quarterly report",
		`DESCRIPTION:Numbers for Q4\, then\; send\nto Bob`,
		"URL:https://tt.example.com/tasks/0193abcd-0000-7000-8000-000000000001",
		"BEGIN:VALARM",
		"ACTION:DISPLAY",
		"TRIGGER:-PT24H",
		"DESCRIPTION:Quarterly report",
		"END:VALARM",
		"BEGIN:VALARM",
		"ACTION:DISPLAY",
		"TRIGGER:-PT1H30M",
		"DESCRIPTION:Due in 1 hour 30 minutes",
		"END:VALARM",
		"END:VEVENT",
		"BEGIN:VEVENT",
		"UID:0193abcd-0000-7000-8000-000000000002@tasktrack",
		"DTSTAMP:20261120T093005Z",
		"DTSTART:20261202T170000Z",
		"DURATION:PT15M",
		"SUMMARY:Done: Ship it",
		"END:VEVENT",
		"END:VCALENDAR",
		"",
	}, "\r\n")
	if got := write(t, c); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

// TEXT escaping, seen on the unfolded line.
func TestEscaping(t *testing.T) {
	cases := []struct{ summary, line string }{
		{`a,b;c\d`, `SUMMARY:a\,b\;c\\d`},
		{"one\ntwo\r\nthree\rfour", `SUMMARY:one\ntwo\nthree\nfour`},
		{"tab\tkept", "SUMMARY:tab\tkept"},
		{"bell\a and nul\x00 and del\x7f dropped", "SUMMARY:bell and nul and del dropped"},
		{"colon: and \"quotes\" stay", `SUMMARY:colon: and "quotes" stay`},
		{"bad \xff utf-8", "SUMMARY:bad \uFFFD utf-8"},
		{`\n is not a newline`, `SUMMARY:\\n is not a newline`},
	}
	for _, c := range cases {
		out := unfold(write(t, calendar(c.summary)))
		if !strings.Contains(out, "\r\n"+c.line+"\r\n") {
			t.Errorf("%q: no line %q in\n%s", c.summary, c.line, out)
		}
	}
}

func TestDurations(t *testing.T) {
	cases := []struct {
		duration, before time.Duration
		want             []string
	}{
		{15 * time.Minute, time.Hour, []string{"DURATION:PT15M", "TRIGGER:-PT1H"}},
		{time.Hour, 24 * time.Hour, []string{"DURATION:PT1H", "TRIGGER:-PT24H"}},
		{90*time.Minute + 5*time.Second, 50 * time.Minute, []string{"DURATION:PT1H30M5S", "TRIGGER:-PT50M"}},
		{0, 30*time.Second + time.Millisecond, []string{"DURATION:PT0S", "TRIGGER:-PT30S"}},
		{time.Minute, 0, []string{"TRIGGER:PT0S"}},
		{time.Minute, 49 * time.Hour, []string{"TRIGGER:-PT49H"}},
	}
	for _, c := range cases {
		cal := calendar("x")
		cal.Events[0].Duration = c.duration
		cal.Events[0].Alarms = []ical.Alarm{{Before: c.before}}
		out := write(t, cal)
		for _, line := range c.want {
			if !strings.Contains(out, "\r\n"+line+"\r\n") {
				t.Errorf("%v, %v: no line %q in\n%s", c.duration, c.before, line, out)
			}
		}
	}
}

// Titles people write, checked on the bytes (RFC 5545 section 3.1) and
// read back by an independent parser (github.com/arran4/golang-ical).
func TestFoldingAndParsing(t *testing.T) {
	word200 := strings.Repeat("Antidisestablishmentarianism", 8)[:200]
	titles := []string{
		"Quarterly report",
		"Budget, forecast; and review",
		"Line one\nline two\r\nline three",
		"Ship 🚀 the release 🎉 before Friday",
		word200,
		strings.Repeat("🚀", 60),
		strings.Repeat("日本語のタスク", 20),
		strings.Repeat(`a\,;`, 40),
		"Family 👨‍👩‍👧‍👦 and flags 🇫🇷🇩🇪 and é (e + combining acute)",
	}
	// Shift each title by 0 to 4 octets so that every character meets the
	// fold boundary at every one of its octets.
	var cases []string
	for _, title := range titles {
		for shift := range 5 {
			cases = append(cases, strings.Repeat("x", shift)+title)
		}
	}
	for _, title := range cases {
		c := calendar("Missed: " + title)
		c.Name = "tasktrack: " + title
		c.Events[0].Description = title + "\n\n" + word200
		c.Events[0].URL = "https://tt.example.com/tasks/" + strings.Repeat("0193abcd-", 12) + "end?x=1&y=2,3;4"
		c.Events[0].Alarms = []ical.Alarm{{Before: time.Hour, Description: "Due in 1 hour: " + title}}
		out := write(t, c)

		checkBytes(t, title, out)

		cal, err := goical.ParseCalendar(strings.NewReader(out))
		if err != nil {
			t.Fatalf("%q: parse: %v", title, err)
		}
		want := strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(title)
		events := cal.Events()
		if len(events) != 1 {
			t.Fatalf("%q: %d events", title, len(events))
		}
		e := events[0]
		props := []struct{ name, got, want string }{
			{"X-WR-CALNAME", calendarProperty(cal, goical.PropertyXWRCalName), "tasktrack: " + want},
			{"UID", e.Id(), "0193abcd-0000-7000-8000-000000000001@tasktrack"},
			{"SUMMARY", property(e.ComponentBase, goical.ComponentPropertySummary), "Missed: " + want},
			{"DESCRIPTION", property(e.ComponentBase, goical.ComponentPropertyDescription), want + "\n\n" + word200},
			{"URL", property(e.ComponentBase, goical.ComponentPropertyUrl), c.Events[0].URL},
			{"DURATION", property(e.ComponentBase, goical.ComponentPropertyDuration), "PT15M"},
		}
		for _, p := range props {
			if p.got != p.want {
				t.Errorf("%q: %s %q, want %q", title, p.name, p.got, p.want)
			}
		}
		if start, err := e.GetStartAt(); err != nil || !start.Equal(deadline) {
			t.Errorf("%q: DTSTART %v (%v), want %v", title, start, err, deadline)
		}
		alarms := e.Alarms()
		if len(alarms) != 1 {
			t.Fatalf("%q: %d alarms", title, len(alarms))
		}
		a := alarms[0].ComponentBase
		for _, p := range []struct{ name, got, want string }{
			{"TRIGGER", property(a, goical.ComponentPropertyTrigger), "-PT1H"},
			{"ACTION", property(a, goical.ComponentPropertyAction), "DISPLAY"},
			{"DESCRIPTION", property(a, goical.ComponentPropertyDescription), "Due in 1 hour: " + want},
		} {
			if p.got != p.want {
				t.Errorf("%q: alarm %s %q, want %q", title, p.name, p.got, p.want)
			}
		}
	}
}

// checkBytes holds the output to RFC 5545's rules for content lines, and
// unfolds it to find the values again without any parser.
func checkBytes(t *testing.T, title, out string) {
	t.Helper()
	if !strings.HasSuffix(out, "\r\n") {
		t.Errorf("%q: output does not end with CRLF", title)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n")
	for i, line := range lines {
		if strings.ContainsAny(line, "\r\n") {
			t.Errorf("%q: line %d holds a bare CR or LF: %q", title, i+1, line)
		}
		if len(line) > 75 {
			t.Errorf("%q: line %d is %d octets: %q", title, i+1, len(line), line)
		}
		if !utf8.ValidString(line) {
			t.Errorf("%q: line %d is not valid UTF-8 on its own: %q", title, i+1, line)
		}
		if line == "" || line == " " {
			t.Errorf("%q: line %d is empty", title, i+1)
		}
	}
	escaped := strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\r\n", `\n`, "\n", `\n`, "\r", `\n`).Replace(title)
	if !strings.Contains(unfold(out), "\r\nSUMMARY:Missed: "+escaped+"\r\n") {
		t.Errorf("%q: unfolding does not give back the summary", title)
	}
}

// unfold undoes folding: a CRLF followed by one space goes.
func unfold(s string) string { return strings.ReplaceAll(s, "\r\n ", "") }

func calendar(summary string) *ical.Calendar {
	return &ical.Calendar{
		ProdID: "-//tasktrack//tasktrack//EN",
		Events: []ical.Event{{
			UID:      "0193abcd-0000-7000-8000-000000000001@tasktrack",
			Stamp:    changed,
			Start:    deadline,
			Duration: 15 * time.Minute,
			Summary:  summary,
		}},
	}
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

func TestWriteToRefusesInvalid(t *testing.T) {
	cases := []struct {
		name   string
		change func(*ical.Calendar)
		want   string
	}{
		{"no PRODID", func(c *ical.Calendar) { c.ProdID = "" }, "ical: calendar without PRODID"},
		{"no UID", func(c *ical.Calendar) { c.Events[0].UID = "" }, "ical: event 0 has no UID"},
		{"no DTSTAMP", func(c *ical.Calendar) { c.Events[0].Stamp = time.Time{} },
			"ical: event 0193abcd-0000-7000-8000-000000000001@tasktrack has no DTSTAMP"},
		{"no start", func(c *ical.Calendar) { c.Events[0].Start = time.Time{} },
			"ical: event 0193abcd-0000-7000-8000-000000000001@tasktrack has no start"},
		{"negative duration", func(c *ical.Calendar) { c.Events[0].Duration = -time.Minute },
			"ical: event 0193abcd-0000-7000-8000-000000000001@tasktrack has a negative duration"},
		{"URL with a line break", func(c *ical.Calendar) { c.Events[0].URL = "https://x.example/\r\nSUMMARY:forged" },
			"ical: event 0193abcd-0000-7000-8000-000000000001@tasktrack has a URL with spaces or control characters"},
		{"URL with a space", func(c *ical.Calendar) { c.Events[0].URL = "https://x.example/a b" },
			"ical: event 0193abcd-0000-7000-8000-000000000001@tasktrack has a URL with spaces or control characters"},
	}
	for _, c := range cases {
		cal := calendar("x")
		c.change(cal)
		var b bytes.Buffer
		n, err := cal.WriteTo(&b)
		if err == nil || err.Error() != c.want {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
		if n != 0 || b.Len() != 0 {
			t.Errorf("%s: wrote %d bytes", c.name, b.Len())
		}
	}
}

// A failing writer's error comes back, with the bytes it took.
func TestWriteToWriterError(t *testing.T) {
	cal := calendar(strings.Repeat("long title ", 1000))
	w := &failingWriter{left: 5000}
	n, err := cal.WriteTo(w)
	if !errors.Is(err, errFull) {
		t.Fatalf("error %v, want %v", err, errFull)
	}
	if n != 5000 {
		t.Errorf("counted %d bytes, want 5000", n)
	}
}

var errFull = errors.New("disk full")

type failingWriter struct{ left int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.left {
		n := w.left
		w.left = 0
		return n, errFull
	}
	w.left -= len(p)
	return len(p), nil
}
