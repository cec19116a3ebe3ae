package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"tasktrack"
)

// AlertHub tells every open event stream of this process when new alerts
// may have been committed, by this process or any other: it wakes on the
// store's signal (local commits, and LISTEN/NOTIFY on PostgreSQL) and, as
// a fallback that also catches up after a lost connection, polls the
// newest alert's position.
type AlertHub struct {
	alerts tasktrack.AlertService
	wake   <-chan struct{}
	poll   time.Duration
	logger interface {
		Warn(msg string, args ...any)
	}

	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every change

	stopOnce sync.Once
	stopped  chan struct{} // closed when Run returns
}

// NewAlertHub returns a hub; Run must be called for it to work.
func NewAlertHub(alerts tasktrack.AlertService, wake <-chan struct{}, poll time.Duration, logger interface{ Warn(string, ...any) }) *AlertHub {
	return &AlertHub{alerts: alerts, wake: wake, poll: poll, logger: logger, changed: make(chan struct{}), stopped: make(chan struct{})}
}

// Stopped returns a channel closed once Run has returned; open event
// streams then end, so that they do not hold up a graceful shutdown.
func (h *AlertHub) Stopped() <-chan struct{} { return h.stopped }

// UsersChanged wakes every open stream of this process to check its
// caller again: a user was deactivated, deleted, or had their role or
// password changed here. (Changes made on another replica are seen at
// the stream's next alert or heartbeat.)
func (h *AlertHub) UsersChanged() { h.broadcast() }

// Changed returns a channel closed at the next change.
func (h *AlertHub) Changed() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.changed
}

func (h *AlertHub) broadcast() {
	h.mu.Lock()
	close(h.changed)
	h.changed = make(chan struct{})
	h.mu.Unlock()
}

// Run watches for new alerts until ctx ends.
func (h *AlertHub) Run(ctx context.Context) {
	defer h.stopOnce.Do(func() { close(h.stopped) })
	t := time.NewTicker(h.poll)
	defer t.Stop()
	last, _ := h.alerts.LastAlertSeq(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.wake:
			h.broadcast()
		case <-t.C:
			seq, err := h.alerts.LastAlertSeq(ctx)
			if err != nil {
				if ctx.Err() == nil {
					h.logger.Warn("alert poll failed", "err", err)
				}
				continue
			}
			if seq != last {
				last = seq
				h.broadcast()
			}
		}
	}
}

// usersChanged tells this process's open streams that a user may have
// lost their rights, so that they check their callers again at once. A
// server without a hub has no streams.
func (s *Server) usersChanged() {
	if s.Hub != nil {
		s.Hub.UsersChanged()
	}
}

// HeartbeatInterval is how often an idle stream sends a comment line.
var HeartbeatInterval = 15 * time.Second

// handleStream sends each new alert as a Server-Sent Event. Last-Event-ID
// resumes after the alert it names.
//
// A stream outlives the request that opened it, but not the caller's
// credentials: after every wait, before anything is written, the caller is
// authenticated again by the rule of every request (the user exists, is
// active, has the token's version; the token has not expired) and the
// policy asked again, and the stream ends, with nothing more sent, when
// they fail. It is woken for that at once by a change to a user made
// through this process (AlertHub.UsersChanged) and by the token's expiry,
// and otherwise at the next alert or heartbeat.
func (s *Server) handleStream(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if err := tasktrack.Authorize(tasktrack.ActorFromContext(ctx), tasktrack.CanListAlerts); err != nil {
		return err
	}
	token, _ := bearerToken(r)
	life, err := s.credentialLife(ctx, token)
	if err != nil {
		return err
	}
	var cursor int64
	if last := r.Header.Get("Last-Event-ID"); last != "" {
		cursor, err = s.Alerts.AlertSeq(ctx, last)
	}
	if cursor == 0 || err != nil {
		if cursor, err = s.Alerts.LastAlertSeq(ctx); err != nil {
			return err
		}
	}
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	write := func(b []byte) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(30 * time.Second))
		if _, err := w.Write(b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !write([]byte(": connected\nretry: 3000\n\n")) {
		return nil
	}
	allowed := func() bool {
		u, _, err := s.authenticate(r, token)
		return err == nil && tasktrack.Allowed(u, tasktrack.CanListAlerts)
	}
	expired := time.NewTimer(life)
	defer expired.Stop()
	heartbeat := time.NewTicker(HeartbeatInterval)
	defer heartbeat.Stop()
	for {
		changed := s.Hub.Changed()
		alerts, err := s.Alerts.AlertsAfter(ctx, cursor, 100)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			s.Logger.WarnContext(ctx, "alert stream query failed", "err", err)
			alerts = nil
		}
		// After the query: an alert committed after the caller lost their
		// rights is never sent to them.
		if !allowed() {
			return nil
		}
		for _, a := range alerts {
			data, _ := json.Marshal(toAlertJSON(a))
			msg := make([]byte, 0, len(data)+64)
			msg = append(msg, "event: alert\nid: "...)
			msg = append(msg, a.ID...)
			msg = append(msg, "\ndata: "...)
			msg = append(msg, data...)
			msg = append(msg, "\n\n"...)
			if !write(msg) {
				return nil
			}
			cursor = a.Seq
		}
		if len(alerts) == 100 {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.Hub.Stopped():
			return nil
		case <-expired.C:
			return nil
		case <-changed:
		case <-heartbeat.C:
			if !allowed() || !write([]byte(": heartbeat\n\n")) {
				return nil
			}
		}
	}
}
