package httpapi

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strconv"

	"tasktrack"
)

// ---- the inbox ----

type notificationJSON struct {
	ID        string              `json:"id"`
	Kind      string              `json:"kind"`
	Task      *tasktrack.TaskJSON `json:"task"`
	Message   string              `json:"message"`
	Details   json.RawMessage     `json:"details"`
	CreatedAt tasktrack.JSONTime  `json:"created_at"`
	ReadAt    *tasktrack.JSONTime `json:"read_at"`
}

func toNotificationJSON(n *tasktrack.Notification) notificationJSON {
	return notificationJSON{ID: n.ID, Kind: n.Kind, Task: tasktrack.ToTaskJSON(n.Task), Message: n.Message, Details: n.Details,
		CreatedAt: tasktrack.JSONTime(n.CreatedAt), ReadAt: tasktrack.OptJSONTime(n.ReadAt)}
}

func (s *Server) handleListNotifications(w http.ResponseWriter, r *http.Request) error {
	q := query{r.URL.Query(), tasktrack.FieldErrors{}}
	f := tasktrack.NotificationFilter{Page: q.page(), Unread: q.boolean("unread")}
	if k := q.Get("kind"); k != "" {
		if !tasktrack.ValidNotificationKind(k) {
			q.errs.Add("kind", "Select a valid choice. "+k+" is not one of the available choices.")
		}
		f.Kind = k
	}
	if err := q.errs.Err(); err != nil {
		return err
	}
	list, total, unread, err := s.Notifications.FindNotifications(r.Context(), f)
	if err != nil {
		return err
	}
	w.Header().Set("X-Unread-Count", strconv.Itoa(unread))
	writeList(w, r, s.PublicURL, mapSlice(list, toNotificationJSON), total, f.Page)
	return nil
}

func (s *Server) handleReadNotification(w http.ResponseWriter, r *http.Request) error {
	n, err := s.Notifications.ReadNotification(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toNotificationJSON(n))
	return nil
}

func (s *Server) handleReadAllNotifications(w http.ResponseWriter, r *http.Request) error {
	n, err := s.Notifications.ReadAllNotifications(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]int{"marked": n})
	return nil
}

// handleNotificationStream sends each of the caller's new notifications
// as a Server-Sent Event, as long as the caller may read their inbox.
func (s *Server) handleNotificationStream(w http.ResponseWriter, r *http.Request) error {
	owner := tasktrack.ActorFromContext(r.Context())
	allowed := func(u *tasktrack.User) bool {
		return u != nil && owner != nil && u.ID == owner.ID && tasktrack.Allowed(u, tasktrack.CanUseInbox)
	}
	return s.serveEvents(w, r, eventSource{
		name: "notification", hub: s.NotificationHub, allowed: allowed,
		resume: s.Notifications.NotificationSeq, last: s.Notifications.LastNotificationSeq,
		after: func(ctx context.Context, seq int64, limit int) ([]event, error) {
			list, err := s.Notifications.NotificationsAfter(ctx, seq, limit)
			events := make([]event, len(list))
			for i, n := range list {
				events[i] = event{n.ID, n.Seq, toNotificationJSON(n)}
			}
			return events, err
		},
	})
}

// ---- preferences ----

func toPreferencesJSON(p tasktrack.Preferences) map[string]any {
	email := map[string]any{"alerts": p.Alerts}
	for _, k := range tasktrack.NotificationKinds {
		email[k] = p.Email[k]
	}
	return map[string]any{"email": email, "timezone": p.Timezone}
}

func (s *Server) handleGetPreferences(w http.ResponseWriter, r *http.Request) error {
	p, err := s.Preferences.FindPreferences(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toPreferencesJSON(p))
	return nil
}

// handleUpdatePreferences changes what the body names. Unlike other
// bodies, unknown keys are refused: a misspelt choice silently ignored
// would leave someone receiving email they turned off.
func (s *Server) handleUpdatePreferences(w http.ResponseWriter, r *http.Request) error {
	f, err := decodeForm(r)
	if err != nil {
		return err
	}
	var in tasktrack.PreferencesUpdate
	for _, k := range slices.Sorted(maps.Keys(f.m)) {
		switch k {
		case "email":
			in.Email, in.Alerts = emailPreferences(f)
		case "timezone":
			in.Timezone = f.strPtr("timezone")
		default:
			f.errs.Add(k, "Unknown preference: the preferences are email and timezone.")
		}
	}
	if err := f.err(); err != nil {
		return err
	}
	p, err := s.Preferences.UpdatePreferences(r.Context(), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toPreferencesJSON(p))
	return nil
}

// emailPreferences reads the "email" object: a boolean per notification
// kind, and the alerts mode.
func emailPreferences(f *form) (map[string]bool, *string) {
	var obj map[string]json.RawMessage
	if raw := f.m["email"]; len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &obj) != nil {
		f.errs.Add("email", "Expected an object of choices, such as {\"task_reminder\": false}.")
		return nil, nil
	}
	email := map[string]bool{}
	var alerts *string
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		raw := obj[k]
		switch {
		case k == "alerts":
			var v string
			if json.Unmarshal(raw, &v) != nil {
				f.errs.Add("email", "alerts: Expected one of off, each or daily.")
				continue
			}
			alerts = &v
		case tasktrack.ValidNotificationKind(k):
			var v bool
			if string(raw) == "null" || json.Unmarshal(raw, &v) != nil {
				f.errs.Add("email", k+": Must be a valid boolean.")
				continue
			}
			email[k] = v
		default:
			f.errs.Add("email", `Unknown key "`+k+`": the keys are the kinds of notification and alerts.`)
		}
	}
	return email, alerts
}
