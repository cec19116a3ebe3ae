package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"tasktrack"
)

// Hub tells every open event stream of one kind in this process when new
// events may have been committed, by this process or any other: it wakes
// on the store's signal (local commits, and LISTEN/NOTIFY on PostgreSQL)
// and, as a fallback that also catches up after a lost connection, polls
// the newest event's position. There is one for alerts and one for
// notifications.
type Hub struct {
	last   func(context.Context) (int64, error)
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

// NewAlertHub returns the hub of alert streams; Run must be called for it
// to work.
func NewAlertHub(alerts tasktrack.AlertService, wake <-chan struct{}, poll time.Duration, logger interface{ Warn(string, ...any) }) *Hub {
	return newHub(alerts.LastAlertSeq, wake, poll, logger)
}

// NewNotificationHub returns the hub of notification streams; Run must be
// called for it to work.
func NewNotificationHub(n tasktrack.NotificationService, wake <-chan struct{}, poll time.Duration, logger interface{ Warn(string, ...any) }) *Hub {
	return newHub(n.LastNotificationSeq, wake, poll, logger)
}

func newHub(last func(context.Context) (int64, error), wake <-chan struct{}, poll time.Duration, logger interface{ Warn(string, ...any) }) *Hub {
	return &Hub{last: last, wake: wake, poll: poll, logger: logger, changed: make(chan struct{}), stopped: make(chan struct{})}
}

// Stopped returns a channel closed once Run has returned; open event
// streams then end, so that they do not hold up a graceful shutdown.
func (h *Hub) Stopped() <-chan struct{} { return h.stopped }

// UsersChanged wakes every open stream of this process to check its
// caller again: a user was deactivated, deleted, or had their role or
// password changed here. (Changes made on another replica are seen at
// the stream's next event or heartbeat.)
func (h *Hub) UsersChanged() { h.broadcast() }

// Changed returns a channel closed at the next change.
func (h *Hub) Changed() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.changed
}

func (h *Hub) broadcast() {
	h.mu.Lock()
	close(h.changed)
	h.changed = make(chan struct{})
	h.mu.Unlock()
}

// Run watches for new events until ctx ends.
func (h *Hub) Run(ctx context.Context) {
	defer h.stopOnce.Do(func() { close(h.stopped) })
	t := time.NewTicker(h.poll)
	defer t.Stop()
	last, _ := h.last(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.wake:
			h.broadcast()
		case <-t.C:
			seq, err := h.last(ctx)
			if err != nil {
				if ctx.Err() == nil {
					h.logger.Warn("event poll failed", "err", err)
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
	for _, h := range []*Hub{s.Hub, s.NotificationHub} {
		if h != nil {
			h.UsersChanged()
		}
	}
}

// HeartbeatInterval is how often an idle stream sends a comment line.
var HeartbeatInterval = 15 * time.Second

// event is one event of a stream: its id (the Last-Event-ID that resumes
// after it), its commit position, and its data as JSON; nil data marks a
// position the caller may not see, which the stream passes without
// sending anything.
type event struct {
	id   string
	seq  int64
	data any
}

// eventSource is what a stream sends: events of one name, in commit order.
type eventSource struct {
	name string
	hub  *Hub
	// allowed tells whether the caller, authenticated again, may still
	// read the stream.
	allowed func(u *tasktrack.User) bool
	// resume turns a Last-Event-ID into a position; last is the newest.
	resume func(ctx context.Context, id string) (int64, error)
	last   func(ctx context.Context) (int64, error)
	// after returns up to limit events committed after seq, oldest first.
	after func(ctx context.Context, seq int64, limit int) ([]event, error)
}

// handleStream sends each new alert as a Server-Sent Event.
func (s *Server) handleStream(w http.ResponseWriter, r *http.Request) error {
	allowed := func(u *tasktrack.User) bool { return tasktrack.Allowed(u, tasktrack.CanListAlerts) }
	return s.serveEvents(w, r, eventSource{
		name: "alert", hub: s.Hub, allowed: allowed,
		resume: s.Alerts.AlertSeq, last: s.Alerts.LastAlertSeq,
		after: func(ctx context.Context, seq int64, limit int) ([]event, error) {
			alerts, err := s.Alerts.AlertsAfter(ctx, seq, limit)
			events := make([]event, 0, len(alerts))
			for _, a := range alerts {
				if tasktrack.SeesAlertKind(tasktrack.ActorFromContext(ctx), a.Kind) {
					events = append(events, event{a.ID, a.Seq, tasktrack.ToAlertJSON(a)})
				} else {
					// Not for this caller, but the stream moves past it.
					events = append(events, event{seq: a.Seq})
				}
			}
			return events, err
		},
	})
}

// serveEvents sends the events of src as Server-Sent Events.
// Last-Event-ID resumes after the event it names.
//
// A stream outlives the request that opened it, but not the caller's
// credentials: after every wait, before anything is written, the caller is
// authenticated again by the rule of every request (the user exists, is
// active, has the token's version; the token has not expired) and the
// policy asked again, and the stream ends, with nothing more sent, when
// they fail. It is woken for that at once by a change to a user made
// through this process (Hub.UsersChanged) and by the token's expiry, and
// otherwise at the next event or heartbeat.
func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request, src eventSource) error {
	ctx := r.Context()
	if !src.allowed(tasktrack.ActorFromContext(ctx)) {
		return tasktrack.ErrForbidden
	}
	token, _ := bearerToken(r)
	life, err := s.credentialLife(ctx, token)
	if err != nil {
		return err
	}
	var cursor int64
	if last := r.Header.Get("Last-Event-ID"); last != "" {
		cursor, err = src.resume(ctx, last)
	}
	if cursor == 0 || err != nil {
		if cursor, err = src.last(ctx); err != nil {
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
		return err == nil && src.allowed(u)
	}
	expired := time.NewTimer(life)
	defer expired.Stop()
	heartbeat := time.NewTicker(HeartbeatInterval)
	defer heartbeat.Stop()
	for {
		changed := src.hub.Changed()
		events, err := src.after(ctx, cursor, 100)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			s.Logger.WarnContext(ctx, src.name+" stream query failed", "err", err)
			events = nil
		}
		// After the query: an event committed after the caller lost their
		// rights is never sent to them.
		if !allowed() {
			return nil
		}
		for _, e := range events {
			if e.data == nil {
				cursor = e.seq
				continue
			}
			data, _ := json.Marshal(e.data)
			msg := make([]byte, 0, len(data)+64)
			msg = append(msg, "event: "...)
			msg = append(msg, src.name...)
			msg = append(msg, "\nid: "...)
			msg = append(msg, e.id...)
			msg = append(msg, "\ndata: "...)
			msg = append(msg, data...)
			msg = append(msg, "\n\n"...)
			if !write(msg) {
				return nil
			}
			cursor = e.seq
		}
		if len(events) == 100 {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-src.hub.Stopped():
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
