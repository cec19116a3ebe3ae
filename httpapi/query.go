package httpapi

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"tasktrack"
)

// Query strings and lists: the parameters every list reads, and the
// paging headers every list answers.

// query reads query-string parameters, collecting errors by name.
type query struct {
	url.Values
	errs tasktrack.FieldErrors
}

// maxQueryText bounds a text parameter. A search longer than the longest
// field matches nothing, and SQLite refuses LIKE patterns over 50,000 bytes.
const maxQueryText = tasktrack.MaxDescriptionLen

func (q query) text(name string) string {
	v := q.Get(name)
	if strings.ContainsRune(v, 0) {
		q.errs.Add(name, "Null characters are not allowed.")
		return ""
	}
	if !utf8.ValidString(v) {
		// PostgreSQL refuses such text outright.
		q.errs.Add(name, "Enter valid UTF-8 text.")
		return ""
	}
	if utf8.RuneCountInString(v) > maxQueryText {
		q.errs.Add(name, fmt.Sprintf("Ensure this field has no more than %d characters.", maxQueryText))
		return ""
	}
	return v
}

func (q query) integer(name string) *int64 {
	v := q.Get(name)
	if v == "" {
		return nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		q.errs.Add(name, "Enter a whole number.")
		return nil
	}
	return &n
}

func (q query) boolean(name string) *bool {
	switch strings.ToLower(q.Get(name)) {
	case "":
		return nil
	case "true", "1", "yes":
		b := true
		return &b
	case "false", "0", "no":
		b := false
		return &b
	}
	q.errs.Add(name, "Enter true or false.")
	return nil
}

func (q query) time(name string) *time.Time {
	v := q.Get(name)
	if v == "" {
		return nil
	}
	// A '+' in a query string arrives as a space.
	t, err := parseTime(strings.ReplaceAll(v, " ", "+"))
	if err != nil {
		q.errs.Add(name, "Enter a valid date/time.")
		return nil
	}
	return &t
}

func (q query) page() tasktrack.Page {
	p := tasktrack.Page{Limit: tasktrack.DefaultLimit}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > tasktrack.MaxLimit {
			q.errs.Add("limit", fmt.Sprintf("Enter a whole number from 1 to %d.", tasktrack.MaxLimit))
		} else {
			p.Limit = n
		}
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			q.errs.Add("offset", "Enter a whole number, 0 or more.")
		} else {
			p.Offset = n
		}
	}
	return p
}

// pageOf reads the limit and offset of a list that takes no other
// parameter.
func pageOf(r *http.Request) (tasktrack.Page, error) {
	q := query{r.URL.Query(), tasktrack.FieldErrors{}}
	p := q.page()
	return p, q.errs.Err()
}

// writeList answers a page of a list: a JSON array, with the total in
// X-Total-Count and the neighbouring pages in Link, under base (see
// Server.PublicURL).
func writeList[T any](w http.ResponseWriter, r *http.Request, base string, items []T, total int, p tasktrack.Page) {
	h := w.Header()
	h.Set("X-Total-Count", strconv.Itoa(total))
	var links []string
	if p.Offset < total-p.Limit { // not p.Offset+p.Limit: the offset may be near the largest int
		links = append(links, `<`+pageURL(r, base, p.Limit, p.Offset+p.Limit)+`>; rel="next"`)
	}
	if p.Offset > 0 {
		links = append(links, `<`+pageURL(r, base, p.Limit, max(0, p.Offset-p.Limit))+`>; rel="prev"`)
	}
	if len(links) > 0 {
		h.Set("Link", strings.Join(links, ", "))
	}
	if tasks, ok := any(items).([]*tasktrack.TaskJSON); ok && tasks != nil {
		writeTasks(w, tasks)
		return
	}
	writeJSON(w, http.StatusOK, items)
}

// writeTasks answers a page of tasks as writeJSON would, byte for byte,
// encoded without reflection (TaskJSON.AppendJSON), into a buffer kept for
// the next page (taskPageBufs).
func writeTasks(w http.ResponseWriter, tasks []*tasktrack.TaskJSON) {
	bp := taskPageBufs.Get().(*[]byte)
	b := (*bp)[:0]
	if need := 64 + 400*len(tasks); cap(b) < need {
		b = make([]byte, 0, need)
	}
	b = append(b, '[')
	for i, t := range tasks {
		if i > 0 {
			b = append(b, ',')
		}
		b = t.AppendJSON(b)
	}
	b = append(b, ']', '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b) // copied or sent when it returns: the buffer is free again
	if cap(b) <= maxPooledTaskPage {
		*bp = b
		taskPageBufs.Put(bp)
	}
}

// taskPageBufs keeps the buffers of task pages between requests. A page of
// a person's 20 tasks is 8 KB, a fifth of the bytes a list request
// allocates; each allocated byte brings the next collection nearer, and
// serve runs its heap small (see defaultMemoryLimit in cmd/tasktrack), so
// reusing them saves collections rather than memory.
var taskPageBufs = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledTaskPage bounds the buffers kept: a page of the largest limit
// is let go rather than held.
const maxPooledTaskPage = 64 << 10

// pageURL is the request's URL with another page: a relative reference
// (RFC 8288 allows them; the client resolves it against the URL it asked
// for), or absolute under base when one is set. Never built from the Host
// header, which the caller chooses.
func pageURL(r *http.Request, base string, limit, offset int) string {
	q := r.URL.Query()
	q.Set("limit", strconv.Itoa(limit))
	q.Set("offset", strconv.Itoa(offset))
	u := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
	return base + u.String()
}
