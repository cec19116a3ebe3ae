package httpapi

import (
	"encoding/csv"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"tasktrack"
)

// csvRequested reports whether a list is asked for as CSV: ?format=csv, or
// an Accept header that names text/csv and prefers it to JSON. ?format=json
// asks for JSON whatever the header says.
func csvRequested(r *http.Request) (bool, error) {
	switch f := r.URL.Query().Get("format"); f {
	case "csv":
		return true, nil
	case "json":
		return false, nil
	case "":
		return acceptsCSV(r.Header.Values("Accept")), nil
	default:
		return false, badRequest("format", "Select a valid choice. "+f+" is not one of the available choices: json, csv.")
	}
}

// acceptsCSV reads Accept: text/csv must be named (a wildcard means the
// JSON a list answers by default) with a quality at least JSON's.
func acceptsCSV(accept []string) bool {
	csvQ, jsonQ := 0.0, 0.0
	for _, h := range accept {
		for _, part := range strings.Split(h, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil {
				continue
			}
			q := 1.0
			if v, ok := params["q"]; ok {
				if q, err = strconv.ParseFloat(v, 64); err != nil {
					continue
				}
			}
			switch mt {
			case "text/csv":
				csvQ = max(csvQ, q)
			case "application/json", "application/*", "*/*":
				jsonQ = max(jsonQ, q)
			}
		}
	}
	return csvQ > 0 && csvQ >= jsonQ
}

// pageless returns r without limit and offset, which an export ignores: it
// holds every row, and a bad page is no reason to refuse it.
func pageless(r *http.Request) *http.Request {
	q := r.URL.Query()
	q.Del("limit")
	q.Del("offset")
	r2 := r.Clone(r.Context())
	r2.URL = &url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
	return r2
}

var taskCSVHeader = []string{"id", "title", "description", "deadline", "status", "assigned_to", "assigned_to_username",
	"created_by", "created_at", "updated_at", "completed_at", "missed_at"}

// exportTasks answers a task list (missed tasks only when missed) as CSV.
func (s *Server) exportTasks(w http.ResponseWriter, r *http.Request, missed bool) error {
	f, err := s.taskFilter(pageless(r))
	if err != nil {
		return err
	}
	f.MissedOnly = missed
	name := "tasks"
	if missed {
		name = "missed"
	}
	out := s.newCSVStream(w, r, name, taskCSVHeader)
	rec := make([]string, len(taskCSVHeader))
	err = s.Reports.ExportTasks(r.Context(), f, func(t *tasktrack.Task) error {
		rec[0], rec[1], rec[2] = t.ID, t.Title, t.Description
		rec[3], rec[4] = csvTime(&t.Deadline), string(t.Status)
		rec[5], rec[6] = strconv.FormatInt(t.AssignedTo, 10), t.AssignedToUsername
		rec[7] = ""
		if t.CreatedBy != nil {
			rec[7] = strconv.FormatInt(*t.CreatedBy, 10)
		}
		rec[8], rec[9] = csvTime(&t.CreatedAt), csvTime(&t.UpdatedAt)
		rec[10], rec[11] = csvTime(t.CompletedAt), csvTime(t.MissedAt)
		return out.row(rec)
	})
	return out.finish(err)
}

var auditCSVHeader = []string{"id", "at", "actor_id", "actor_username", "action", "target_type", "target_id", "details"}

// exportAudit answers the audit log as CSV; details stay JSON text.
func (s *Server) exportAudit(w http.ResponseWriter, r *http.Request) error {
	f, err := auditFilter(pageless(r))
	if err != nil {
		return err
	}
	out := s.newCSVStream(w, r, "audit", auditCSVHeader)
	rec := make([]string, len(auditCSVHeader))
	err = s.Reports.ExportAuditEntries(r.Context(), f, func(e *tasktrack.AuditEntry) error {
		rec[0], rec[1] = strconv.FormatInt(e.ID, 10), csvTime(&e.At)
		rec[2], rec[3] = "", ""
		if e.ActorID != nil {
			rec[2], rec[3] = strconv.FormatInt(*e.ActorID, 10), e.ActorUsername
		}
		rec[4], rec[5], rec[6], rec[7] = e.Action, e.TargetType, e.TargetID, string(e.Details)
		return out.row(rec)
	})
	return out.finish(err)
}

func csvTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	b, _ := tasktrack.JSONTime(*t).MarshalText()
	return string(b)
}

// csvFlushRows is how many rows go out at a time: each batch is flushed to
// the client, and pushes the connection's write deadline further.
const csvFlushRows = 1000

// csvWriteWindow is how long one batch may take to reach a slow client.
const csvWriteWindow = 30 * time.Second

// csvFirstWindow is how long the first row may take: a list ordered by a
// column without an index is sorted whole before it (4 s for 1,000,000
// tasks by title), which the server's write timeout must not cut short.
const csvFirstWindow = 10 * time.Minute

// csvStream writes an export as its rows come, so that none is held in
// memory beyond its batch. The status and headers go out with the first
// batch: an error before it is answered as any other; an error after it
// can only break the response off, which the client sees as a transfer
// cut short, never as a complete file.
type csvStream struct {
	s        *Server
	w        http.ResponseWriter
	r        *http.Request
	rc       *http.ResponseController
	cw       *csv.Writer
	filename string
	header   []string
	cells    []string
	rows     int
	started  bool
}

func (s *Server) newCSVStream(w http.ResponseWriter, r *http.Request, name string, header []string) *csvStream {
	c := &csvStream{s: s, w: w, r: r, rc: http.NewResponseController(w), cw: csv.NewWriter(w), header: header,
		filename: name + "-" + s.now().UTC().Format(time.DateOnly) + ".csv", cells: make([]string, len(header))}
	c.extend(csvFirstWindow)
	return c
}

// extend moves the connection's write deadline d from now. Not every
// writer has one (a recorder in a test); the rows go out all the same.
func (c *csvStream) extend(d time.Duration) {
	_ = c.rc.SetWriteDeadline(time.Now().Add(d))
}

// errHeadOnly stops an export answered to HEAD after its first row: the
// request was allowed and the headers are known.
var errHeadOnly = errors.New("head only")

func (c *csvStream) start() error {
	c.started = true
	h := c.w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+c.filename+`"`)
	c.w.WriteHeader(http.StatusOK)
	if c.r.Method == http.MethodHead {
		return errHeadOnly
	}
	return c.cw.Write(c.header)
}

func (c *csvStream) row(rec []string) error {
	if !c.started {
		if err := c.start(); err != nil {
			return err
		}
	}
	for i, v := range rec {
		c.cells[i] = defuse(v)
	}
	if err := c.cw.Write(c.cells); err != nil {
		return err
	}
	c.rows++
	if c.rows%csvFlushRows == 0 {
		return c.flush()
	}
	return nil
}

func (c *csvStream) flush() error {
	c.cw.Flush()
	if err := c.cw.Error(); err != nil {
		return err
	}
	c.extend(csvWriteWindow)
	// A writer that cannot flush sends the rows as its buffer fills.
	if err := c.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}

// finish ends the export that err ended (nil: every row was written).
func (c *csvStream) finish(err error) error {
	if errors.Is(err, errHeadOnly) {
		return nil
	}
	if err == nil && !c.started {
		err = c.start() // no rows: the header alone
		if errors.Is(err, errHeadOnly) {
			return nil
		}
	}
	if err == nil {
		c.cw.Flush()
		err = c.cw.Error()
	}
	if err == nil || !c.started {
		return err
	}
	if c.r.Context().Err() == nil {
		c.s.Logger.ErrorContext(c.r.Context(), "export broken off", "err", err, "path", c.r.URL.Path, "rows", c.rows)
	}
	panic(http.ErrAbortHandler)
}

// defuse keeps a spreadsheet from running a cell as a formula: a cell that
// starts with =, +, -, @, a tab or a carriage return gets a leading '.
func defuse(v string) string {
	if v != "" && strings.IndexByte("=+-@\t\r", v[0]) >= 0 {
		return "'" + v
	}
	return v
}
