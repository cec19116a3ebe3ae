package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"tasktrack"
	"tasktrack/auth"
)

// ---- authentication ----

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) error {
	cookie := r.Header.Get(refreshCookieHeader) == "1"
	if cookie && s.crossSite(r) {
		return errCrossSite
	}
	f, err := decodeForm(r)
	if err != nil {
		return err
	}
	f.require("username", "password")
	username, _ := f.str("username")
	password, _ := f.str("password")
	if err := f.err(); err != nil {
		return err
	}
	pair, err := s.Auth.Login(r.Context(), username, password, s.clientAddr(r))
	if err != nil {
		return err
	}
	s.writePair(w, r, pair, cookie)
	return nil
}

// writePair answers a login or refresh: the pair in the body, or, for the
// web UI, the access token in the body and the refresh token in the cookie
// (so that no script of the page ever holds it).
func (s *Server) writePair(w http.ResponseWriter, r *http.Request, pair auth.TokenPair, cookie bool) {
	if !cookie {
		writeJSON(w, http.StatusOK, pair)
		return
	}
	s.setRefreshCookie(w, r, pair.Refresh)
	writeJSON(w, http.StatusOK, map[string]string{"access": pair.Access})
}

func (s *Server) handleRefresh(w http.ResponseWriter, r *http.Request) error {
	token, fromCookie, err := s.refreshToken(r)
	if err != nil {
		return err
	}
	pair, err := s.Auth.Refresh(r.Context(), token)
	if err != nil {
		if fromCookie && tasktrack.ErrorKind(err) == tasktrack.KindUnauthenticated {
			s.clearRefreshCookie(w, r) // dead for good: reused, revoked or expired
		}
		return err
	}
	s.writePair(w, r, pair, fromCookie)
	return nil
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) error {
	token, fromCookie, err := s.refreshToken(r)
	if err != nil {
		return err
	}
	if fromCookie {
		s.clearRefreshCookie(w, r) // whatever becomes of the token, the browser is signed out
	}
	if err := s.Auth.Logout(r.Context(), token); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ---- users ----

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, toUserJSON(tasktrack.ActorFromContext(r.Context())))
	return nil
}

func (s *Server) handleChangeOwnPassword(w http.ResponseWriter, r *http.Request) error {
	f, err := decodeForm(r)
	if err != nil {
		return err
	}
	f.require("old_password", "new_password")
	old, _ := f.str("old_password")
	nw, _ := f.str("new_password")
	if err := f.err(); err != nil {
		return err
	}
	if err := s.Auth.ChangePassword(r.Context(), old, nw, s.clientAddr(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleRoles(w http.ResponseWriter, r *http.Request) error {
	q := query{r.URL.Query(), tasktrack.FieldErrors{}}
	p := q.page()
	if err := q.errs.Err(); err != nil {
		return err
	}
	roles := tasktrack.Roles[min(p.Offset, len(tasktrack.Roles)):]
	writeList(w, r, s.PublicURL, roles[:min(p.Limit, len(roles))], len(tasktrack.Roles), p)
	return nil
}

func (s *Server) handleListUsers(w http.ResponseWriter, r *http.Request) error {
	q := query{r.URL.Query(), tasktrack.FieldErrors{}}
	f := tasktrack.UserFilter{Page: q.page(), Search: q.text("search"), IsActive: q.boolean("is_active")}
	if role := q.Get("role"); role != "" {
		if _, ok := tasktrack.RoleByName(role); !ok {
			q.errs.Add("role", "Select a valid choice. "+role+" is not one of the available choices.")
		}
		f.Role = role
	}
	if err := q.errs.Err(); err != nil {
		return err
	}
	users, total, err := s.Users.FindUsers(r.Context(), f)
	if err != nil {
		return err
	}
	writeList(w, r, s.PublicURL, mapSlice(users, toUserJSON), total, f.Page)
	return nil
}

func (s *Server) handleCreateUser(w http.ResponseWriter, r *http.Request) error {
	f, err := decodeForm(r)
	if err != nil {
		return err
	}
	f.require("username", "password")
	var in tasktrack.UserCreate
	in.Username, _ = f.str("username")
	in.Password, _ = f.str("password")
	in.Email, _ = f.str("email")
	in.FirstName, _ = f.str("first_name")
	in.LastName, _ = f.str("last_name")
	in.Role = roleField(f)
	if err := f.err(); err != nil {
		return err
	}
	u, err := s.Users.CreateUser(r.Context(), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toUserJSON(u))
	return nil
}

// roleField reads "role" as a name, or as the {"id", "name"} object the
// user JSON shows, so that a client can send back what it read.
func roleField(f *form) string {
	raw, ok := f.m["role"]
	if !ok {
		return ""
	}
	if len(raw) > 0 && raw[0] == '{' {
		var obj struct {
			Name string `json:"name"`
		}
		if json.Unmarshal(raw, &obj) != nil || obj.Name == "" {
			f.errs.Add("role", "Enter a role name: admin, manager or user.")
		}
		return obj.Name
	}
	name, _ := f.str("role")
	return name
}

func pathUserID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, tasktrack.ErrNotFound
	}
	return id, nil
}

// userAction checks the role before the path: a caller who may not act on
// users at all gets 403 whether or not the user exists.
func (s *Server) userID(r *http.Request, action tasktrack.Action) (int64, error) {
	if err := tasktrack.Authorize(tasktrack.ActorFromContext(r.Context()), action); err != nil {
		return 0, err
	}
	return pathUserID(r)
}

func (s *Server) handleGetUser(w http.ResponseWriter, r *http.Request) error {
	id, err := s.userID(r, tasktrack.CanReadUser)
	if err != nil {
		return err
	}
	u, err := s.Users.FindUserByID(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toUserJSON(u))
	return nil
}

func (s *Server) handleUpdateUser(w http.ResponseWriter, r *http.Request) error {
	id, err := s.userID(r, tasktrack.CanUpdateUser)
	if err != nil {
		return err
	}
	f, err := decodeForm(r)
	if err != nil {
		return err
	}
	var in tasktrack.UserUpdate
	in.Email = f.strPtr("email")
	in.FirstName = f.strPtr("first_name")
	in.LastName = f.strPtr("last_name")
	in.Password = f.strPtr("password")
	if f.has("role") {
		role := roleField(f)
		in.Role = &role
	}
	if v, ok := f.bool("is_active"); ok {
		in.IsActive = &v
	}
	if err := f.err(); err != nil {
		return err
	}
	if in.Password != nil && tasktrack.TokenFromContext(r.Context()) != nil {
		return errNeedsSession
	}
	u, err := s.Users.UpdateUser(r.Context(), id, in)
	if err != nil {
		return err
	}
	s.usersChanged()
	writeJSON(w, http.StatusOK, toUserJSON(u))
	return nil
}

func (s *Server) handleDeleteUser(w http.ResponseWriter, r *http.Request) error {
	id, err := s.userID(r, tasktrack.CanDeleteUser)
	if err != nil {
		return err
	}
	if err := s.Users.DeleteUser(r.Context(), id); err != nil {
		return err
	}
	s.usersChanged()
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleReactivate(w http.ResponseWriter, r *http.Request) error {
	id, err := s.userID(r, tasktrack.CanReactivateUser)
	if err != nil {
		return err
	}
	if _, err := s.Users.ReactivateUser(r.Context(), id); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "User reactivated"})
	return nil
}

func (s *Server) handleDeactivate(w http.ResponseWriter, r *http.Request) error {
	id, err := s.userID(r, tasktrack.CanDeactivateUser)
	if err != nil {
		return err
	}
	if _, err := s.Users.DeactivateUser(r.Context(), id); err != nil {
		return err
	}
	s.usersChanged()
	writeJSON(w, http.StatusOK, map[string]string{"status": "User deactivated"})
	return nil
}

func (s *Server) handleSetPassword(w http.ResponseWriter, r *http.Request) error {
	id, err := s.userID(r, tasktrack.CanSetUserPassword)
	if err != nil {
		return err
	}
	f, err := decodeForm(r)
	if err != nil {
		return err
	}
	f.require("password")
	pw, _ := f.str("password")
	if err := f.err(); err != nil {
		return err
	}
	if err := s.Users.SetUserPassword(r.Context(), id, pw); err != nil {
		return err
	}
	s.usersChanged()
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleUserStanding(w http.ResponseWriter, r *http.Request) error {
	id, err := s.userID(r, tasktrack.CanReadUser)
	if err != nil {
		return err
	}
	st, err := s.Users.UserStanding(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toStandingJSON(st))
	return nil
}

// ---- tasks ----

func (s *Server) taskFilter(r *http.Request) (tasktrack.TaskFilter, error) {
	q := query{r.URL.Query(), tasktrack.FieldErrors{}}
	f := tasktrack.TaskFilter{Page: q.page(), Search: q.text("search")}
	if v := q.Get("status"); v != "" {
		for _, part := range strings.Split(v, ",") {
			st := tasktrack.Status(strings.TrimSpace(part))
			if !st.Valid() {
				q.errs.Add("status", "Select a valid choice. "+string(st)+" is not one of the available choices.")
				continue
			}
			f.Statuses = append(f.Statuses, st)
		}
	}
	f.AssignedTo = q.integer("assigned_to")
	f.DeadlineBefore = q.time("deadline_before")
	f.DeadlineAfter = q.time("deadline_after")
	if v := q.Get("ordering"); v != "" {
		ok := false
		for _, o := range tasktrack.TaskOrderings {
			ok = ok || o == v
		}
		if !ok {
			q.errs.Add("ordering", "Select a valid choice. "+v+" is not one of the available choices: "+strings.Join(tasktrack.TaskOrderings, ", ")+".")
		}
		f.Ordering = v
	}
	return f, q.errs.Err()
}

func (s *Server) handleListTasks(w http.ResponseWriter, r *http.Request) error {
	if csv, err := csvRequested(r); err != nil {
		return err
	} else if csv {
		return s.exportTasks(w, r, false)
	}
	f, err := s.taskFilter(r)
	if err != nil {
		return err
	}
	return s.listTasks(w, r, f)
}

func (s *Server) handleListMissed(w http.ResponseWriter, r *http.Request) error {
	if err := tasktrack.Authorize(tasktrack.ActorFromContext(r.Context()), tasktrack.CanListMissed); err != nil {
		return err
	}
	if csv, err := csvRequested(r); err != nil {
		return err
	} else if csv {
		return s.exportTasks(w, r, true)
	}
	f, err := s.taskFilter(r)
	if err != nil {
		return err
	}
	f.MissedOnly = true
	return s.listTasks(w, r, f)
}

func (s *Server) listTasks(w http.ResponseWriter, r *http.Request, f tasktrack.TaskFilter) error {
	tasks, total, err := s.Tasks.FindTasks(r.Context(), f)
	if err != nil {
		return err
	}
	writeList(w, r, s.PublicURL, mapSlice(tasks, toTaskJSON), total, f.Page)
	return nil
}

func (s *Server) handleCreateTask(w http.ResponseWriter, r *http.Request) error {
	if err := tasktrack.Authorize(tasktrack.ActorFromContext(r.Context()), tasktrack.CanCreateTask); err != nil {
		return err
	}
	f, err := decodeForm(r)
	if err != nil {
		return err
	}
	f.require("title", "deadline", "assigned_to")
	var in tasktrack.TaskCreate
	in.Title, _ = f.str("title")
	in.Description, _ = f.str("description")
	in.Deadline, _ = f.time("deadline")
	in.AssignedTo, _ = f.int("assigned_to")
	if err := f.err(); err != nil {
		return err
	}
	t, err := s.Tasks.CreateTask(r.Context(), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toTaskJSON(t))
	return nil
}

func (s *Server) handleGetTask(w http.ResponseWriter, r *http.Request) error {
	t, err := s.Tasks.FindTaskByID(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toTaskJSON(t))
	return nil
}

func (s *Server) handleUpdateTask(w http.ResponseWriter, r *http.Request) error {
	if err := tasktrack.Authorize(tasktrack.ActorFromContext(r.Context()), tasktrack.CanUpdateTask); err != nil {
		return err
	}
	f, err := decodeForm(r)
	if err != nil {
		return err
	}
	if r.Method == http.MethodPut {
		f.require("title", "deadline", "assigned_to")
	}
	var in tasktrack.TaskUpdate
	in.Title = f.strPtr("title")
	in.Description = f.strPtr("description")
	if t, ok := f.time("deadline"); ok {
		in.Deadline = &t
	}
	if id, ok := f.int("assigned_to"); ok {
		in.AssignedTo = &id
	}
	if st, ok := f.str("status"); ok {
		s := tasktrack.Status(st)
		in.Status = &s
	}
	if err := f.err(); err != nil {
		return err
	}
	t, err := s.Tasks.UpdateTask(r.Context(), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toTaskJSON(t))
	return nil
}

func (s *Server) handleDeleteTask(w http.ResponseWriter, r *http.Request) error {
	if err := tasktrack.Authorize(tasktrack.ActorFromContext(r.Context()), tasktrack.CanDeleteTask); err != nil {
		return err
	}
	if err := s.Tasks.DeleteTask(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleUpdateStatus(w http.ResponseWriter, r *http.Request) error {
	f, err := decodeForm(r)
	if err != nil {
		return err
	}
	f.require("status")
	st, _ := f.str("status")
	if err := f.err(); err != nil {
		// A task the caller may not see is absent, whatever the body.
		if _, ferr := s.Tasks.FindTaskByID(r.Context(), r.PathValue("id")); ferr != nil {
			return ferr
		}
		return err
	}
	t, err := s.Tasks.UpdateTaskStatus(r.Context(), r.PathValue("id"), tasktrack.Status(st))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toTaskJSON(t))
	return nil
}

func (s *Server) handleTaskHistory(w http.ResponseWriter, r *http.Request) error {
	q := query{r.URL.Query(), tasktrack.FieldErrors{}}
	p := q.page()
	if err := q.errs.Err(); err != nil {
		return err
	}
	events, total, err := s.Audit.TaskHistory(r.Context(), r.PathValue("id"), p)
	if err != nil {
		return err
	}
	writeList(w, r, s.PublicURL, mapSlice(events, toTaskEventJSON), total, p)
	return nil
}

// ---- alerts and audit ----

func (s *Server) handleListAlerts(w http.ResponseWriter, r *http.Request) error {
	q := query{r.URL.Query(), tasktrack.FieldErrors{}}
	f := tasktrack.AlertFilter{Page: q.page(), Acknowledged: q.boolean("acknowledged"), Since: q.time("since")}
	if k := q.Get("kind"); k != "" {
		if k != tasktrack.AlertTaskMissed && k != tasktrack.AlertUserDeactivated && k != tasktrack.AlertUserAtRisk && k != tasktrack.AlertWebhookDisabled {
			q.errs.Add("kind", "Select a valid choice. "+k+" is not one of the available choices.")
		}
		f.Kind = k
	}
	if err := q.errs.Err(); err != nil {
		return err
	}
	alerts, total, err := s.Alerts.FindAlerts(r.Context(), f)
	if err != nil {
		return err
	}
	writeList(w, r, s.PublicURL, mapSlice(alerts, toAlertJSON), total, f.Page)
	return nil
}

func (s *Server) handleAcknowledge(w http.ResponseWriter, r *http.Request) error {
	a, err := s.Alerts.AcknowledgeAlert(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toAlertJSON(a))
	return nil
}

func auditFilter(r *http.Request) (tasktrack.AuditFilter, error) {
	q := query{r.URL.Query(), tasktrack.FieldErrors{}}
	f := tasktrack.AuditFilter{Page: q.page(), Action: q.text("action"), ActorID: q.integer("actor"), TargetID: q.text("target_id")}
	return f, q.errs.Err()
}

func (s *Server) handleListAudit(w http.ResponseWriter, r *http.Request) error {
	if csv, err := csvRequested(r); err != nil {
		return err
	} else if csv {
		return s.exportAudit(w, r)
	}
	f, err := auditFilter(r)
	if err != nil {
		return err
	}
	entries, total, err := s.Audit.FindAuditEntries(r.Context(), f)
	if err != nil {
		return err
	}
	writeList(w, r, s.PublicURL, mapSlice(entries, toAuditJSON), total, f.Page)
	return nil
}

// ---- operations ----

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.Ready(ctx); err != nil {
		s.Logger.WarnContext(r.Context(), "not ready", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
		return nil
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

func (s *Server) handleSchema(w http.ResponseWriter, r *http.Request) error {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(openAPIDocument)))
	_, err := w.Write(openAPIDocument)
	return err
}

// ---- query strings and lists ----

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
	writeJSON(w, http.StatusOK, items)
}

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
