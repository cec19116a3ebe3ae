// Package httpapi serves the tasktrack API over HTTP: the routes and
// their policy (all in this file), the middleware, JSON decoding and
// encoding, the one map from error kinds to status codes, and the event
// streams. The handlers, one file per resource, decode, call one service
// method and encode. A route declares the action a caller's role must
// hold, which the wrapper checks before the handler runs; everything that
// depends on the data is decided by the services.
package httpapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
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
	// MaxInFlight bounds the requests served at once (the routes marked
	// unbounded aside: event streams, /healthz and /readyz); more are
	// answered 503 at once. 0 means no bound.
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

	handler http.Handler
	// unbounded holds the paths, without a trailing slash, of the
	// unbounded routes: the bound is checked before routing, so that a
	// refused request costs as little as can be.
	unbounded map[string]bool
	inFlight  atomic.Int64 // every request, for the gauge
	bounded   atomic.Int64 // the requests MaxInFlight counts
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

// route is one method on one path, and the policy the wrapper applies
// before its handler runs.
type route struct {
	method string
	path   string
	h      handlerFunc
	// public routes need no token.
	public bool
	// action is what the caller's role must hold, checked before the body
	// is read or the path's id looked up, so that a forbidden caller gets
	// 403 whether or not the thing exists. Empty lets every authenticated
	// caller in, and the service decides by the data.
	action tasktrack.Action
	// session routes need a login session: a personal access token may
	// never use them, whatever its scopes, since making more tokens and
	// changing passwords need a person who has just proved who they are,
	// not a stored secret.
	session bool
	// scope is the scope a personal access token needs here; empty means
	// read for GET and HEAD, write for the rest.
	scope tasktrack.Scope
	// unbounded routes are outside MaxInFlight: event streams, which stay
	// open for as long as their page does, and the liveness and readiness
	// endpoints, which must answer most when the server is overloaded (and
	// in their own shapes). Their paths have no wildcards.
	unbounded bool
	// claimed routes may run for a claimed actor (an access token's user
	// as this process last read them, unread for this request): every
	// store call they make confirms that actor in its own statement, and
	// any error sends the request round again, authenticated in full.
	// They answer only after their one store call, so nothing has been
	// written when it refuses.
	claimed bool
}

// routes is the whole API, one route a line.
func (s *Server) routes() []route {
	return []route{
		{method: "POST", path: "/api/token/", h: s.handleLogin, public: true},
		{method: "POST", path: "/api/token/refresh/", h: s.handleRefresh, public: true},
		{method: "POST", path: "/api/token/logout/", h: s.handleLogout, public: true},

		{method: "GET", path: "/api/user/me/", h: s.handleMe},
		{method: "POST", path: "/api/user/me/password/", h: s.handleChangeOwnPassword, session: true},
		{method: "GET", path: "/api/user/roles/", h: s.handleRoles},
		{method: "GET", path: "/api/user/users/", h: s.handleListUsers, action: tasktrack.CanListUsers},
		{method: "POST", path: "/api/user/users/", h: s.handleCreateUser, action: tasktrack.CanCreateUser},
		{method: "GET", path: "/api/user/users/{id}/", h: s.handleGetUser, action: tasktrack.CanReadUser},
		{method: "PUT", path: "/api/user/users/{id}/", h: s.handleUpdateUser, action: tasktrack.CanUpdateUser},
		{method: "PATCH", path: "/api/user/users/{id}/", h: s.handleUpdateUser, action: tasktrack.CanUpdateUser},
		{method: "DELETE", path: "/api/user/users/{id}/", h: s.handleDeleteUser, action: tasktrack.CanDeleteUser},
		{method: "POST", path: "/api/user/users/{id}/reactivate/", h: s.handleReactivate, action: tasktrack.CanReactivateUser},
		{method: "POST", path: "/api/user/users/{id}/deactivate/", h: s.handleDeactivate, action: tasktrack.CanDeactivateUser},
		{method: "POST", path: "/api/user/users/{id}/password/", h: s.handleSetPassword, action: tasktrack.CanSetUserPassword, session: true},
		{method: "GET", path: "/api/user/me/tokens/", h: s.handleListOwnTokens},
		{method: "POST", path: "/api/user/me/tokens/", h: s.handleCreateToken, session: true},
		{method: "DELETE", path: "/api/user/me/tokens/{id}/", h: s.handleRevokeOwnToken},
		{method: "GET", path: "/api/user/users/{id}/tokens/", h: s.handleListUserTokens, action: tasktrack.CanManageTokens},
		{method: "DELETE", path: "/api/user/users/{id}/tokens/{token_id}/", h: s.handleRevokeUserToken, action: tasktrack.CanManageTokens},
		{method: "GET", path: "/api/user/users/{id}/standing/", h: s.handleUserStanding, action: tasktrack.CanReadUser},

		{method: "GET", path: "/api/task/tasks/", h: s.handleListTasks, claimed: true},
		{method: "POST", path: "/api/task/tasks/", h: s.handleCreateTask, action: tasktrack.CanCreateTask, claimed: true},
		{method: "GET", path: "/api/task/tasks/missed/", h: s.handleListMissed, action: tasktrack.CanListMissed, claimed: true},
		{method: "GET", path: "/api/task/tasks/{id}/", h: s.handleGetTask},
		{method: "PUT", path: "/api/task/tasks/{id}/", h: s.handleUpdateTask, action: tasktrack.CanUpdateTask},
		{method: "PATCH", path: "/api/task/tasks/{id}/", h: s.handleUpdateTask, action: tasktrack.CanUpdateTask},
		{method: "DELETE", path: "/api/task/tasks/{id}/", h: s.handleDeleteTask, action: tasktrack.CanDeleteTask},
		{method: "PATCH", path: "/api/task/tasks/{id}/update_status/", h: s.handleUpdateStatus, claimed: true},
		{method: "GET", path: "/api/task/tasks/{id}/history/", h: s.handleTaskHistory},

		{method: "GET", path: "/api/alerts/", h: s.handleListAlerts, action: tasktrack.CanListAlerts},
		{method: "POST", path: "/api/alerts/{id}/acknowledge/", h: s.handleAcknowledge, action: tasktrack.CanAcknowledgeAlert},
		{method: "GET", path: "/api/alerts/stream/", h: s.handleStream, unbounded: true},

		{method: "GET", path: "/api/notifications/", h: s.handleListNotifications},
		{method: "POST", path: "/api/notifications/{id}/read/", h: s.handleReadNotification},
		{method: "POST", path: "/api/notifications/read-all/", h: s.handleReadAllNotifications},
		{method: "GET", path: "/api/notifications/stream/", h: s.handleNotificationStream, unbounded: true},
		{method: "GET", path: "/api/user/me/preferences/", h: s.handleGetPreferences},
		{method: "PATCH", path: "/api/user/me/preferences/", h: s.handleUpdatePreferences, action: tasktrack.CanSetPreferences},

		{method: "GET", path: "/api/audit/", h: s.handleListAudit, action: tasktrack.CanReadAudit},

		{method: "GET", path: "/api/calendar/", h: s.handleCalendar, scope: tasktrack.ScopeCalendar},
		{method: "POST", path: "/api/calendar/rotate/", h: s.handleRotateCalendar, scope: tasktrack.ScopeCalendar},
		{method: "GET", path: "/api/calendar/{secret}/tasks.ics", h: s.handleCalendarFeed, public: true},
		{method: "GET", path: "/api/stats/", h: s.handleStats},

		{method: "GET", path: "/api/webhooks/", h: s.handleListWebhooks, action: tasktrack.CanManageWebhooks},
		{method: "POST", path: "/api/webhooks/", h: s.handleCreateWebhook, action: tasktrack.CanManageWebhooks},
		{method: "GET", path: "/api/webhooks/{id}/", h: s.handleGetWebhook, action: tasktrack.CanManageWebhooks},
		{method: "PATCH", path: "/api/webhooks/{id}/", h: s.handleUpdateWebhook, action: tasktrack.CanManageWebhooks},
		{method: "DELETE", path: "/api/webhooks/{id}/", h: s.handleDeleteWebhook, action: tasktrack.CanManageWebhooks},
		{method: "POST", path: "/api/webhooks/{id}/rotate-secret/", h: s.handleRotateWebhook, action: tasktrack.CanManageWebhooks},
		{method: "POST", path: "/api/webhooks/{id}/test/", h: s.handleTestWebhook, action: tasktrack.CanManageWebhooks},
		{method: "GET", path: "/api/webhooks/{id}/deliveries/", h: s.handleWebhookDeliveries, action: tasktrack.CanManageWebhooks},
		{method: "POST", path: "/api/webhooks/{id}/deliveries/{delivery_id}/redeliver/", h: s.handleRedeliverWebhook, action: tasktrack.CanManageWebhooks},

		{method: "GET", path: "/healthz", h: s.handleHealth, public: true, unbounded: true},
		{method: "GET", path: "/readyz", h: s.handleReady, public: true, unbounded: true},
		{method: "GET", path: "/api/schema/", h: s.handleSchema, public: true},
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
	s.unbounded = map[string]bool{}
	for _, rt := range s.routes() {
		if rt.unbounded {
			if strings.Contains(rt.path, "{") {
				panic("httpapi: an unbounded route has a wildcard: " + rt.path)
			}
			s.unbounded[strings.TrimSuffix(rt.path, "/")] = true
		}
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
		handlers[m] = s.wrap(path, s.guarded(rt))
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

// guarded applies a route's policy before its handler: unless the route
// is public, a valid access token or personal access token, whose user,
// and personal access token, it puts in the context; the token held to
// what the route allows it; and the role holding the route's action.
func (s *Server) guarded(rt route) handlerFunc {
	h := rt.h
	if rt.public {
		return h
	}
	return func(w http.ResponseWriter, r *http.Request) error {
		token, ok := bearerToken(r)
		if !ok {
			return tasktrack.ErrNotAuthenticated
		}
		if rt.claimed && !auth.IsPersonalToken(token) {
			// The statement that answers confirms the user, where a
			// full authentication reads the user first. An error may
			// come of the claimed user's being out of date, so errors
			// are not answered here but decided again below, on the
			// same body.
			if u, ok := s.Auth.Claimed(token); ok && (rt.action == "" || tasktrack.Authorize(u, rt.action) == nil) {
				replay, whole := keepBody(r)
				if whole {
					if err := h(w, r.WithContext(tasktrack.NewContextWithClaimedActor(r.Context(), u))); err == nil {
						return nil
					}
				}
				replay()
			}
		}
		u, pat, err := s.authenticate(r, token)
		if err != nil {
			return err
		}
		ctx := tasktrack.NewContextWithActor(r.Context(), u)
		if pat != nil {
			if err := checkToken(pat, r, rt); err != nil {
				return err
			}
			ctx = tasktrack.NewContextWithToken(ctx, pat)
		}
		if rt.action != "" {
			if err := tasktrack.Authorize(u, rt.action); err != nil {
				return err
			}
		}
		return h(w, r.WithContext(ctx))
	}
}

// keepBody reads r's body so that it can be read again: replay puts it
// back, to be read as if for the first time, with the error that ended it
// if one did (too large, or the connection lost). whole reports that the
// body was read to its end without error. A request without a body costs
// nothing.
func keepBody(r *http.Request) (replay func(), whole bool) {
	if r.Body == nil || r.Body == http.NoBody {
		return func() {}, true
	}
	b, err := io.ReadAll(r.Body)
	replay = func() {
		r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(b), endReader{err}))
	}
	replay()
	return replay, err == nil
}

// endReader ends a replayed body as the original ended: with its error,
// or with io.EOF.
type endReader struct{ err error }

func (e endReader) Read([]byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	return 0, io.EOF
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
// body limit, the in-flight bound, recovery, log and metrics.
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
		if !s.unbounded[strings.TrimSuffix(r.URL.Path, "/")] {
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
