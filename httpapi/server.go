// Package httpapi serves the tasktrack API over HTTP: the routes (all in
// this file), the middleware, JSON decoding and encoding, the one map from
// error kinds to status codes, and the alert event stream. Handlers decode,
// call one service method and encode; who may do what is decided by the
// services.
package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/netip"
	"runtime/debug"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"tasktrack"
	"tasktrack/auth"
)

// Server is the HTTP API.
type Server struct {
	Users  tasktrack.UserService
	Tasks  tasktrack.TaskService
	Alerts tasktrack.AlertService
	Audit  tasktrack.AuditService
	Auth   *auth.Service
	// Hub wakes the alert streams, NotificationHub the notification
	// streams.
	Hub             *Hub
	NotificationHub *Hub
	// Notifications are every person's inbox; Preferences their choices.
	Notifications tasktrack.NotificationService
	Preferences   tasktrack.PreferencesService
	// PersonalTokens manages personal access tokens, and TokenAuth
	// authenticates the requests that carry one.
	PersonalTokens tasktrack.PersonalTokenService
	TokenAuth      *auth.PersonalTokens
	// Calendars serves the calendar feeds.
	Calendars tasktrack.CalendarService
	// Reminders are the leads before a deadline at which the calendar
	// feed's alarms ring.
	Reminders []time.Duration
	// Ready checks that the database answers.
	Ready func(ctx context.Context) error
	// Web serves the browser UI at every path outside the API.
	Web    http.Handler
	Logger *slog.Logger
	// TrustedProxies are the addresses whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// CORSOrigins are the origins allowed to call the API from a browser;
	// empty turns CORS off.
	CORSOrigins []string
	// PublicURL is the base of absolute links (scheme, host and any path
	// prefix, without a trailing slash); empty makes them relative
	// references.
	PublicURL string
	// LinkBase is the base of the links that must be absolute whatever
	// PublicURL is (a calendar's subscribe URL, the links inside a feed):
	// PublicURL, or http:// and the listen address when it is empty.
	LinkBase string
	// Observe is called after each request with its route (a route
	// pattern, or "other") and its method (see metricMethod), for
	// metrics; nil for none. Both come from fixed sets, so that no caller
	// can add label values.
	Observe func(route, method string, status int, seconds float64)
	// MaxInFlight bounds the requests served at once (event streams,
	// /healthz and /readyz aside); more are answered 503 at once. 0 means
	// no bound.
	MaxInFlight int
	// OnOverload is called for each request refused by MaxInFlight.
	OnOverload func()
	// Webhooks manages the webhook endpoints; WebhookAllowPrivate lets
	// their URLs name addresses that are not public.
	Webhooks            tasktrack.WebhookService
	WebhookAllowPrivate bool
	// Reports answers the dashboard and the lists' CSV exports.
	Reports tasktrack.ReportService
	// Now is the clock, for the date in an export's file name; nil means
	// time.Now.
	Now func() time.Time

	handler  http.Handler
	inFlight atomic.Int64 // every request, for the gauge
	bounded  atomic.Int64 // the requests MaxInFlight counts
}

func (s *Server) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// InFlight returns the number of requests being served.
func (s *Server) InFlight() int64 { return s.inFlight.Load() }

// handlerFunc is a handler with one error path.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

type route struct {
	method string
	path   string
	h      handlerFunc
	// public routes need no token.
	public bool
}

// routes is the whole API.
func (s *Server) routes() []route {
	return []route{
		{"POST", "/api/token/", s.handleLogin, true},
		{"POST", "/api/token/refresh/", s.handleRefresh, true},
		{"POST", "/api/token/logout/", s.handleLogout, true},

		{"GET", "/api/user/me/", s.handleMe, false},
		{"POST", "/api/user/me/password/", s.handleChangeOwnPassword, false},
		{"GET", "/api/user/roles/", s.handleRoles, false},
		{"GET", "/api/user/users/", s.handleListUsers, false},
		{"POST", "/api/user/users/", s.handleCreateUser, false},
		{"GET", "/api/user/users/{id}/", s.handleGetUser, false},
		{"PUT", "/api/user/users/{id}/", s.handleUpdateUser, false},
		{"PATCH", "/api/user/users/{id}/", s.handleUpdateUser, false},
		{"DELETE", "/api/user/users/{id}/", s.handleDeleteUser, false},
		{"POST", "/api/user/users/{id}/reactivate/", s.handleReactivate, false},
		{"POST", "/api/user/users/{id}/deactivate/", s.handleDeactivate, false},
		{"POST", "/api/user/users/{id}/password/", s.handleSetPassword, false},
		{"GET", "/api/user/me/tokens/", s.handleListOwnTokens, false},
		{"POST", "/api/user/me/tokens/", s.handleCreateToken, false},
		{"DELETE", "/api/user/me/tokens/{id}/", s.handleRevokeOwnToken, false},
		{"GET", "/api/user/users/{id}/tokens/", s.handleListUserTokens, false},
		{"DELETE", "/api/user/users/{id}/tokens/{token_id}/", s.handleRevokeUserToken, false},
		{"GET", "/api/user/users/{id}/standing/", s.handleUserStanding, false},

		{"GET", "/api/task/tasks/", s.handleListTasks, false},
		{"POST", "/api/task/tasks/", s.handleCreateTask, false},
		{"GET", "/api/task/tasks/missed/", s.handleListMissed, false},
		{"GET", "/api/task/tasks/{id}/", s.handleGetTask, false},
		{"PUT", "/api/task/tasks/{id}/", s.handleUpdateTask, false},
		{"PATCH", "/api/task/tasks/{id}/", s.handleUpdateTask, false},
		{"DELETE", "/api/task/tasks/{id}/", s.handleDeleteTask, false},
		{"PATCH", "/api/task/tasks/{id}/update_status/", s.handleUpdateStatus, false},
		{"GET", "/api/task/tasks/{id}/history/", s.handleTaskHistory, false},

		{"GET", "/api/alerts/", s.handleListAlerts, false},
		{"POST", "/api/alerts/{id}/acknowledge/", s.handleAcknowledge, false},
		{"GET", "/api/alerts/stream/", s.handleStream, false},

		{"GET", "/api/notifications/", s.handleListNotifications, false},
		{"POST", "/api/notifications/{id}/read/", s.handleReadNotification, false},
		{"POST", "/api/notifications/read-all/", s.handleReadAllNotifications, false},
		{"GET", "/api/notifications/stream/", s.handleNotificationStream, false},
		{"GET", "/api/user/me/preferences/", s.handleGetPreferences, false},
		{"PATCH", "/api/user/me/preferences/", s.handleUpdatePreferences, false},

		{"GET", "/api/audit/", s.handleListAudit, false},

		{"GET", "/api/calendar/", s.handleCalendar, false},
		{"POST", "/api/calendar/rotate/", s.handleRotateCalendar, false},
		{"GET", "/api/calendar/{secret}/tasks.ics", s.handleCalendarFeed, true},
		{"GET", "/api/stats/", s.handleStats, false},

		{"GET", "/api/webhooks/", s.handleListWebhooks, false},
		{"POST", "/api/webhooks/", s.handleCreateWebhook, false},
		{"GET", "/api/webhooks/{id}/", s.handleGetWebhook, false},
		{"PATCH", "/api/webhooks/{id}/", s.handleUpdateWebhook, false},
		{"DELETE", "/api/webhooks/{id}/", s.handleDeleteWebhook, false},
		{"POST", "/api/webhooks/{id}/rotate-secret/", s.handleRotateWebhook, false},
		{"POST", "/api/webhooks/{id}/test/", s.handleTestWebhook, false},
		{"GET", "/api/webhooks/{id}/deliveries/", s.handleWebhookDeliveries, false},
		{"POST", "/api/webhooks/{id}/deliveries/{delivery_id}/redeliver/", s.handleRedeliverWebhook, false},

		{"GET", "/healthz", s.handleHealth, true},
		{"GET", "/readyz", s.handleReady, true},
		{"GET", "/api/schema/", s.handleSchema, true},
	}
}

// Routes lists the API's routes as "METHOD /path/", for tests that hold
// the OpenAPI document to them.
func (s *Server) Routes() []string {
	var out []string
	for _, rt := range s.routes() {
		out = append(out, rt.method+" "+rt.path)
	}
	return append(out, "GET /api/docs/")
}

// Handler returns the server's root handler.
func (s *Server) Handler() http.Handler {
	if s.handler == nil {
		s.handler = s.build()
	}
	return s.handler
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.Handler().ServeHTTP(w, r) }

// build registers each path once, with and without its trailing slash,
// and dispatches on the method itself, answering 405 with Allow.
func (s *Server) build() http.Handler {
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	s.Logger = slog.New(LogHandler(s.Logger.Handler()))
	byPath := map[string]map[string]route{}
	var paths []string
	for _, rt := range s.routes() {
		if byPath[rt.path] == nil {
			byPath[rt.path] = map[string]route{}
			paths = append(paths, rt.path)
		}
		byPath[rt.path][rt.method] = rt
	}
	mux := http.NewServeMux()
	for _, p := range paths {
		h := s.endpoint(p, byPath[p])
		if strings.HasSuffix(p, "/") {
			mux.Handle(p+"{$}", h)
			mux.Handle(strings.TrimSuffix(p, "/"), h)
		} else {
			mux.Handle(p, h)
			mux.Handle(p+"/{$}", h)
		}
	}
	docs := docsHandler()
	mux.Handle("/api/docs", docs)
	mux.Handle("/api/docs/", docs)
	mux.Handle("/api/", s.wrap("", func(w http.ResponseWriter, r *http.Request) error {
		return tasktrack.ErrNotFound
	}))
	if s.Web != nil {
		mux.Handle("/", s.Web)
	} else {
		mux.Handle("/", s.wrap("", func(w http.ResponseWriter, r *http.Request) error { return tasktrack.ErrNotFound }))
	}
	return s.middleware(mux)
}

func (s *Server) endpoint(path string, methods map[string]route) http.Handler {
	allowed := make([]string, 0, len(methods)+1)
	for m := range methods {
		allowed = append(allowed, m)
	}
	if _, ok := methods["GET"]; ok {
		allowed = append(allowed, "HEAD")
	}
	sort.Strings(allowed)
	allow := strings.Join(append(allowed, "OPTIONS"), ", ")
	handlers := map[string]http.Handler{}
	for m, rt := range methods {
		h := rt.h
		if !rt.public {
			h = s.authenticated(h, sessionOnly[m+" "+path])
		}
		handlers[m] = s.wrap(path, h)
	}
	if h, ok := handlers["GET"]; ok {
		handlers["HEAD"] = h
	}
	notAllowed := s.wrap(path, func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Allow", allow)
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return nil
		}
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"detail": `Method "` + r.Method + `" not allowed.`})
		return nil
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h, ok := handlers[r.Method]; ok {
			h.ServeHTTP(w, r)
			return
		}
		notAllowed.ServeHTTP(w, r)
	})
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// wrap turns a handlerFunc into a handler: errors are answered in one
// place, and the route is observed for metrics.
func (s *Server) wrap(pattern string, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if info, ok := r.Context().Value(requestIDKey{}).(*requestInfo); ok && pattern != "" {
			info.route = pattern
		}
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// authenticated requires a valid access token or personal access token
// and puts its user, and the personal access token, in the context. A
// personal access token must have the scope the request needs, and may
// not be used at all where needsSession.
func (s *Server) authenticated(h handlerFunc, needsSession bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		token, ok := bearerToken(r)
		if !ok {
			return tasktrack.ErrNotAuthenticated
		}
		u, pat, err := s.authenticate(r, token)
		if err != nil {
			return err
		}
		ctx := tasktrack.NewContextWithActor(r.Context(), u)
		if pat != nil {
			if err := checkToken(pat, r, needsSession); err != nil {
				return err
			}
			ctx = tasktrack.NewContextWithToken(ctx, pat)
		}
		return h(w, r.WithContext(ctx))
	}
}

func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

type requestIDKey struct{}

// requestInfo travels with a request for its log lines and metrics.
type requestInfo struct {
	id string
	// route is the pattern of the route that served the request, or
	// otherRoute: never the raw path.
	route string
}

// otherRoute is the route label of every request no API route served (the
// web UI, the docs, unknown paths).
const otherRoute = "other"

// metricMethod is the method as a metrics label: one of the methods the
// API knows, or "other". The raw method is the caller's to choose, and
// every new label value would be a new series kept for the life of the
// process.
func metricMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

func requestIDFrom(ctx context.Context) string {
	if info, ok := ctx.Value(requestIDKey{}).(*requestInfo); ok {
		return info.id
	}
	return ""
}

func newRequestID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// validRequestID accepts a caller's id if it is short printable ASCII.
func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

// middleware wraps every request: request id, security headers, CORS,
// recovery, body limit, log and metrics.
func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-ID")
		if !validRequestID(id) {
			id = newRequestID()
		}
		info := &requestInfo{id: id, route: otherRoute}
		ctx := context.WithValue(r.Context(), requestIDKey{}, info)
		r = r.WithContext(ctx)
		h := w.Header()
		h.Set("X-Request-ID", id)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		if strings.HasPrefix(r.URL.Path, "/api/") {
			h.Set("Cache-Control", "no-store")
		}
		if s.cors(w, r) {
			return
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		}
		s.inFlight.Add(1)
		defer s.inFlight.Add(-1)
		if !unbounded(r.URL.Path) {
			n := s.bounded.Add(1)
			defer s.bounded.Add(-1)
			if s.MaxInFlight > 0 && n > int64(s.MaxInFlight) {
				if s.OnOverload != nil {
					s.OnOverload()
				}
				w.Header().Set("Retry-After", "1")
				writeJSON(w, http.StatusServiceUnavailable, map[string]string{"detail": tasktrack.ErrUnavailable.Message})
				return
			}
		}
		sw := &statusWriter{ResponseWriter: w}
		start := time.Now()
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.Logger.ErrorContext(ctx, "panic", "panic", v, "stack", string(debug.Stack()))
				if sw.status == 0 {
					writeJSON(sw, http.StatusInternalServerError, map[string]string{"detail": "Internal error."})
				}
			}
			elapsed := time.Since(start)
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			if s.Observe != nil {
				s.Observe(info.route, metricMethod(r.Method), status, elapsed.Seconds())
			}
			level := slog.LevelDebug
			if status >= 500 {
				level = slog.LevelError
			}
			s.Logger.Log(ctx, level, "request", "method", r.Method, "path", logPath(r.URL.Path), "status", status,
				"duration", elapsed)
		}()
		next.ServeHTTP(sw, r)
	})
}

// unbounded reports whether a path is outside MaxInFlight: event streams,
// which stay open for as long as their page does, and the liveness and
// readiness endpoints, which must answer most when the server is
// overloaded (and in their own shapes).
func unbounded(path string) bool {
	path = strings.TrimSuffix(path, "/")
	return path == "/api/alerts/stream" || path == "/api/notifications/stream" || path == "/healthz" || path == "/readyz"
}

// LogHandler wraps h so that every line logged with a request's context
// carries that request's id.
func LogHandler(h slog.Handler) slog.Handler {
	if _, ok := h.(requestIDHandler); ok {
		return h
	}
	return requestIDHandler{h}
}

type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := requestIDFrom(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(attrs)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}

// contentSecurityPolicy allows nothing from outside the binary, and no
// inline script.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// cors answers CORS for the allowed origins; it reports whether the request
// was a preflight it answered.
func (s *Server) cors(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || len(s.CORSOrigins) == 0 {
		return false
	}
	allowed := false
	for _, o := range s.CORSOrigins {
		if o == "*" || o == origin {
			allowed = true
		}
	}
	if !allowed {
		return false
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Add("Vary", "Origin")
	h.Set("Access-Control-Expose-Headers", "X-Total-Count, X-Unread-Count, Link, X-Request-ID, Retry-After, Content-Disposition")
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Request-ID, Last-Event-ID")
		h.Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
		return true
	}
	return false
}

// clientAddr is the caller's address: the connection's peer, or, when the
// peer is a trusted proxy, the nearest untrusted address in
// X-Forwarded-For.
func (s *Server) clientAddr(r *http.Request) string {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	addr := peer.Addr().Unmap()
	if !s.trusted(addr) {
		return addr.String()
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		a = a.Unmap()
		if !s.trusted(a) {
			return a.String()
		}
		addr = a
	}
	return addr.String()
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
