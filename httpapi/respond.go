package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"tasktrack"
	"tasktrack/auth"
)

// MaxBodyBytes is the largest request body accepted.
const MaxBodyBytes = 1 << 20

// statusOf is the one map from error kinds to HTTP status codes.
func statusOf(k tasktrack.Kind) int {
	switch k {
	case tasktrack.KindInvalid:
		return http.StatusBadRequest
	case tasktrack.KindUnauthenticated:
		return http.StatusUnauthorized
	case tasktrack.KindForbidden:
		return http.StatusForbidden
	case tasktrack.KindNotFound:
		return http.StatusNotFound
	case tasktrack.KindConflict:
		return http.StatusConflict
	case tasktrack.KindRateLimited:
		return http.StatusTooManyRequests
	case tasktrack.KindUnavailable:
		return http.StatusServiceUnavailable
	case kindUnsupportedMedia:
		return http.StatusUnsupportedMediaType
	}
	return http.StatusInternalServerError
}

// writeJSON writes v as the JSON body with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"detail":"Internal error."}` + "\n")
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// writeError answers err in DRF's shapes. Internal errors are logged and
// shown only as "Internal error.".
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var (
		te  *tasktrack.Error
		mbe *http.MaxBytesError
	)
	switch {
	case errors.As(err, &mbe):
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"detail": "Request body is too large (at most 1 MiB)."})
		return
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		// The client went away; nobody reads an answer.
		w.WriteHeader(499)
		return
	case errors.As(err, &te) && te.Kind != tasktrack.KindInternal:
	default:
		s.Logger.ErrorContext(r.Context(), "internal error", "err", err, "method", r.Method, "path", logPath(r.URL.Path))
		writeJSON(w, http.StatusInternalServerError, map[string]string{"detail": "Internal error."})
		return
	}
	status := statusOf(te.Kind)
	switch status {
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="api"`)
	case http.StatusTooManyRequests:
		w.Header().Set("Retry-After", strconv.Itoa(auth.RetryAfterSeconds(te.RetryAfter)))
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "5")
		if te.Err != nil {
			s.Logger.WarnContext(r.Context(), "database unavailable", "err", te.Err)
		}
	}
	if len(te.Fields) > 0 && te.Message == "" {
		writeJSON(w, status, te.Fields)
		return
	}
	body := map[string]string{}
	key := te.Key
	if key == "" {
		key = "detail"
	}
	body[key] = te.Message
	if te.Code != "" {
		body["code"] = te.Code
	}
	writeJSON(w, status, body)
}

func badRequest(field, msg string) error { return tasktrack.Invalid(field, msg) }

func detailError(kind tasktrack.Kind, msg string) error {
	return &tasktrack.Error{Kind: kind, Message: msg}
}

// form is a decoded JSON object whose fields are read one by one, with
// DRF's messages for what is missing or of the wrong type.
type form struct {
	m    map[string]json.RawMessage
	errs tasktrack.FieldErrors
}

// decodeForm reads the request body as a JSON object. An empty body is an
// empty object; a body that is not JSON is 415; malformed JSON is 400.
func decodeForm(r *http.Request) (*form, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	f := &form{m: map[string]json.RawMessage{}, errs: tasktrack.FieldErrors{}}
	ct := r.Header.Get("Content-Type")
	if len(bytes.TrimSpace(body)) == 0 && ct == "" {
		return f, nil
	}
	mt, _, perr := mime.ParseMediaType(ct)
	if perr != nil || !(mt == "application/json" || strings.HasSuffix(mt, "+json")) {
		return nil, &tasktrack.Error{Kind: kindUnsupportedMedia, Message: `Unsupported media type "` + ct + `" in request.`}
	}
	if !utf8.Valid(body) {
		return nil, detailError(tasktrack.KindInvalid, "JSON parse error - invalid UTF-8 in request body")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return f, nil
	}
	var raw json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, detailError(tasktrack.KindInvalid, "JSON parse error - "+err.Error())
	}
	if raw[0] != '{' {
		return nil, badRequest("non_field_errors", "Invalid data. Expected a dictionary, but got "+jsonTypeName(raw)+".")
	}
	if err := json.Unmarshal(raw, &f.m); err != nil {
		return nil, detailError(tasktrack.KindInvalid, "JSON parse error - "+err.Error())
	}
	return f, nil
}

// kindUnsupportedMedia is answered 415; it is an HTTP matter, not the
// domain's.
const kindUnsupportedMedia tasktrack.Kind = 100

func jsonTypeName(raw json.RawMessage) string {
	switch raw[0] {
	case '[':
		return "list"
	case '"':
		return "str"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	}
	return "number"
}

func (f *form) has(name string) bool { _, ok := f.m[name]; return ok }

// require records "This field is required." for each absent field.
func (f *form) require(names ...string) {
	for _, n := range names {
		if !f.has(n) {
			f.errs.Add(n, "This field is required.")
		}
	}
}

// str reads a string field; present reports whether it was given at all.
func (f *form) str(name string) (v string, present bool) {
	raw, ok := f.m[name]
	if !ok {
		return "", false
	}
	if string(raw) == "null" {
		f.errs.Add(name, "This field may not be null.")
		return "", true
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		f.errs.Add(name, "Not a valid string.")
		return "", true
	}
	if strings.ContainsRune(v, 0) {
		f.errs.Add(name, "Null characters are not allowed.")
		return "", true
	}
	return v, true
}

// strPtr reads an optional string field into a pointer.
func (f *form) strPtr(name string) *string {
	v, ok := f.str(name)
	if !ok {
		return nil
	}
	return &v
}

// int reads an integer field (a JSON integer or a string of digits).
func (f *form) int(name string) (v int64, present bool) {
	raw, ok := f.m[name]
	if !ok {
		return 0, false
	}
	if string(raw) == "null" {
		f.errs.Add(name, "This field may not be null.")
		return 0, true
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		raw = json.RawMessage(strings.TrimSpace(s))
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		f.errs.Add(name, "A valid integer is required.")
		return 0, true
	}
	return n, true
}

// bool reads a boolean field.
func (f *form) bool(name string) (v bool, present bool) {
	raw, ok := f.m[name]
	if !ok {
		return false, false
	}
	if err := json.Unmarshal(raw, &v); err != nil || string(raw) == "null" {
		f.errs.Add(name, "Must be a valid boolean.")
		return false, true
	}
	return v, true
}

// time reads a date-time field.
func (f *form) time(name string) (v time.Time, present bool) {
	s, ok := f.str(name)
	if !ok || len(f.errs[name]) > 0 {
		return time.Time{}, ok
	}
	t, err := parseTime(s)
	if err != nil {
		f.errs.Add(name, "Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].")
		return time.Time{}, true
	}
	return t, true
}

// parseTime reads RFC 3339 with any offset; a time without an offset is UTC.
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02 15:04:05.999999999Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			// The year is checked in UTC, the zone times are kept in:
			// 9999-12-31T23:59-23:59 is in the year 10000.
			t = t.UTC()
			if t.Year() < 1 || t.Year() > 9999 {
				break
			}
			return t, nil
		}
	}
	return time.Time{}, errors.New("bad time")
}

func (f *form) err() error { return f.errs.Err() }
