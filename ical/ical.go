// Package ical writes iCalendar (RFC 5545) for tasktrack's calendar feed:
// one VCALENDAR of VEVENTs, each with a VALARM per reminder. It owns the
// format only: CRLF line ends, content lines folded at 75 octets and never
// inside a UTF-8 sequence, TEXT values escaped, times in UTC. What the
// events say (which tasks, their titles and links) is the caller's.
package ical

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Calendar is one VCALENDAR published for subscription (METHOD:PUBLISH).
type Calendar struct {
	// ProdID names the product that made the calendar (PRODID), such as
	// "-//tasktrack//tasktrack//EN".
	ProdID string
	// Name is the calendar's name in calendar apps (X-WR-CALNAME).
	Name   string
	Events []Event
}

// Event is one VEVENT.
type Event struct {
	// UID identifies the event across versions of the feed.
	UID string
	// Stamp is DTSTAMP: when this version of the event was made. Taking it
	// from the data (the task's last change) rather than the clock keeps
	// an unchanged feed byte for byte the same.
	Stamp time.Time
	// Start (DTSTART) is written in UTC; Duration is DURATION.
	Start       time.Time
	Duration    time.Duration
	Summary     string
	Description string
	// URL is written as it is (a URI, not TEXT); it must be escaped
	// already, with no spaces or control characters.
	URL    string
	Alarms []Alarm
}

// Alarm is one VALARM that shows a message Before the event's start.
type Alarm struct {
	Before time.Duration
	// Description is the message shown; the event's summary when empty.
	Description string
}

// maxLine is the longest content line RFC 5545 allows, in octets,
// without its CRLF.
const maxLine = 75

// WriteTo writes the calendar to w. It checks the calendar first and
// writes nothing if it is not valid.
func (c *Calendar) WriteTo(w io.Writer) (int64, error) {
	if err := c.check(); err != nil {
		return 0, err
	}
	counted := &countingWriter{w: w}
	cw := &contentWriter{w: bufio.NewWriter(counted)}
	cw.line("BEGIN", "VCALENDAR")
	cw.line("VERSION", "2.0")
	cw.line("PRODID", escapeText(c.ProdID))
	cw.line("CALSCALE", "GREGORIAN")
	cw.line("METHOD", "PUBLISH")
	if c.Name != "" {
		cw.line("X-WR-CALNAME", escapeText(c.Name))
	}
	for _, e := range c.Events {
		cw.line("BEGIN", "VEVENT")
		cw.line("UID", escapeText(e.UID))
		cw.line("DTSTAMP", utc(e.Stamp))
		cw.line("DTSTART", utc(e.Start))
		cw.line("DURATION", duration(e.Duration))
		cw.line("SUMMARY", escapeText(e.Summary))
		if e.Description != "" {
			cw.line("DESCRIPTION", escapeText(e.Description))
		}
		if e.URL != "" {
			cw.line("URL", e.URL)
		}
		for _, a := range e.Alarms {
			text := a.Description
			if text == "" {
				text = e.Summary
			}
			cw.line("BEGIN", "VALARM")
			cw.line("ACTION", "DISPLAY")
			cw.line("TRIGGER", duration(-a.Before))
			cw.line("DESCRIPTION", escapeText(text))
			cw.line("END", "VALARM")
		}
		cw.line("END", "VEVENT")
	}
	cw.line("END", "VCALENDAR")
	if cw.err == nil {
		cw.err = cw.w.Flush()
	}
	return counted.n, cw.err
}

func (c *Calendar) check() error {
	if c.ProdID == "" {
		return errors.New("ical: calendar without PRODID")
	}
	for i, e := range c.Events {
		switch {
		case e.UID == "":
			return fmt.Errorf("ical: event %d has no UID", i)
		case e.Stamp.IsZero():
			return fmt.Errorf("ical: event %s has no DTSTAMP", e.UID)
		case e.Start.IsZero():
			return fmt.Errorf("ical: event %s has no start", e.UID)
		case e.Duration < 0:
			return fmt.Errorf("ical: event %s has a negative duration", e.UID)
		case !validURI(e.URL):
			return fmt.Errorf("ical: event %s has a URL with spaces or control characters", e.UID)
		}
	}
	return nil
}

// contentWriter writes content lines, folded, and keeps the first error.
type contentWriter struct {
	w   *bufio.Writer
	err error
}

// line writes "name:value" folded into lines of at most 75 octets: the
// first cut at 75, the next at 74 after the space that marks a
// continuation, each cut moved back to the start of a UTF-8 sequence.
func (cw *contentWriter) line(name, value string) {
	s := name + ":" + value
	limit := maxLine
	for len(s) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		cw.write(s[:cut])
		cw.write("\r\n ")
		s = s[cut:]
		limit = maxLine - 1
	}
	cw.write(s)
	cw.write("\r\n")
}

func (cw *contentWriter) write(s string) {
	if cw.err != nil {
		return
	}
	_, cw.err = cw.w.WriteString(s)
}

// countingWriter counts what reaches the caller's writer, for WriteTo's
// answer.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// escapeText writes a TEXT value (RFC 5545 3.3.11): backslash, semicolon
// and comma escaped, every line break as \n. Other control characters
// have no place in TEXT and are dropped; invalid UTF-8 becomes U+FFFD.
func escapeText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\', c == ';', c == ',':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\r':
			if i+1 < len(s) && s[i+1] == '\n' {
				i++
			}
			b.WriteString(`\n`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\t':
			b.WriteByte(c)
		case c < ' ', c == 0x7f:
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// validURI refuses what would break a content line or is never part of
// a URI: spaces and control characters.
func validURI(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] == 0x7f {
			return false
		}
	}
	return true
}

func utc(t time.Time) string {
	return t.UTC().Format("20060102T150405Z")
}

// duration writes a DURATION value in exact hours, minutes and seconds
// (PT24H rather than P1D, which is a calendar day and may be 23 or 25
// hours long): PT15M, -PT1H, PT1H30M, PT0S. Fractions of a second are
// dropped.
func duration(d time.Duration) string {
	var b strings.Builder
	if d < 0 {
		b.WriteByte('-')
		d = -d
	}
	b.WriteString("PT")
	h, m, s := int64(d/time.Hour), int64(d%time.Hour/time.Minute), int64(d%time.Minute/time.Second)
	if h > 0 {
		b.WriteString(strconv.FormatInt(h, 10) + "H")
	}
	if m > 0 {
		b.WriteString(strconv.FormatInt(m, 10) + "M")
	}
	if s > 0 || (h == 0 && m == 0) {
		b.WriteString(strconv.FormatInt(s, 10) + "S")
	}
	return b.String()
}
