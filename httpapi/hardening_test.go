package httpapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tasktrack/httpapi"
	. "tasktrack/sqlstore/sqlstoretest"
	"tasktrack/web"
)

// The middleware's defences: security headers on every kind of response,
// CORS off unless configured, the bound on requests in flight, and the
// request id in the log. They do not touch the database engine, so they run
// on SQLite alone.

// withServer starts a second server over e's database and services,
// configured by configure, and returns an env whose clients (admin
// included, with the same tokens) talk to it.
func (e *env) withServer(t *testing.T, configure func(s *httpapi.Server)) *env {
	t.Helper()
	api := &httpapi.Server{
		Users: e.db.Users, Tasks: e.db.Tasks, Alerts: e.db.Alerts, Audit: e.db.Audit, Auth: e.auth, Hub: e.api.Hub,
		Notifications: e.db.Notifications, Preferences: e.db.Preferences, NotificationHub: e.api.NotificationHub,
		Ready: e.db.Ping, Logger: slog.New(slog.DiscardHandler),
	}
	configure(api)
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
	})
	ne := *e
	ne.api, ne.srv = api, srv
	ne.admin = ne.as(e.admin.Access, e.admin.Refresh, e.admin.user)
	return &ne
}

// sendUnchecked sends a request the OpenAPI document does not describe
// (OPTIONS, HEAD, a preflight) as c, without holding it to the document.
func (c *client) sendUnchecked(method, path string, body io.Reader, headers ...string) *response {
	c.env.t.Helper()
	req, err := http.NewRequest(method, c.env.srv.URL+path, body)
	if err != nil {
		c.env.t.Fatal(err)
	}
	return c.Send(req, headers...)
}

// checkSecurityHeaders fails the test unless h carries the headers every
// response must have.
func checkSecurityHeaders(t *testing.T, what string, h http.Header) {
	t.Helper()
	want := map[string]string{
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "no-referrer",
		"X-Frame-Options":        "DENY",
	}
	for name, v := range want {
		if got := h.Values(name); len(got) != 1 || got[0] != v {
			t.Errorf("%s: %s = %q, want %q", what, name, got, v)
		}
	}
	csp := h.Get("Content-Security-Policy")
	for _, d := range []string{"frame-ancestors 'none'", "default-src 'self'", "script-src 'self'", "base-uri 'none'"} {
		if !strings.Contains(csp, d) {
			t.Errorf("%s: Content-Security-Policy %q lacks %q", what, csp, d)
		}
	}
	for _, bad := range []string{"unsafe-inline", "unsafe-eval", "*", "http:", "https:"} {
		if strings.Contains(csp, bad) {
			t.Errorf("%s: Content-Security-Policy %q allows %q", what, csp, bad)
		}
	}
	if h.Get("X-Request-ID") == "" {
		t.Errorf("%s: no X-Request-ID", what)
	}
}

// noCORS fails the test if h carries any Access-Control-* header.
func noCORS(t *testing.T, what string, h http.Header) {
	t.Helper()
	for name := range h {
		if strings.HasPrefix(strings.ToLower(name), "access-control-") {
			t.Errorf("%s: %s: %q, want no CORS header", what, name, h.Values(name))
		}
	}
}

// Every kind of response carries the security headers: JSON of each
// status the API answers, the errors the mux itself makes (404, 405),
// OPTIONS and HEAD, the operations endpoints, the docs page (HTML), its
// assets and its errors, and the web UI. With CORS off (the default) none
// of them carries an Access-Control-* header, though every request comes
// with an Origin.
func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	ev := newEnv(t, SQLite)
	boss := ev.newUser("boss", "manager")
	worker := ev.newUser("worker", "user")
	taskID := boss.newTask(worker, "Patch the roof", time.Hour)
	ui := ev.withServer(t, func(s *httpapi.Server) { s.Web = web.Handler() })
	const origin = "https://app.example.com"
	big := `{"username": "` + strings.Repeat("a", httpapi.MaxBodyBytes) + `"}`

	cases := []struct {
		name        string
		c           *client
		method      string
		path        string
		body        any
		status      int
		contentType string
		unchecked   bool // not an operation of the OpenAPI document
		headers     []string
	}{
		{"200 JSON", ev.admin, "GET", "/api/user/me/", nil, 200, "application/json", false, nil},
		{"200 list", boss, "GET", "/api/task/tasks/?limit=1", nil, 200, "application/json", false, nil},
		{"201 created", boss, "POST", "/api/task/tasks/", map[string]any{"title": "Sweep the yard", "deadline": t0.Add(time.Hour).Format(time.RFC3339), "assigned_to": worker.user.ID}, 201, "application/json", false, nil},
		{"204 no content", boss, "DELETE", "/api/task/tasks/" + taskID + "/", nil, 204, "", false, nil},
		{"400 validation", boss, "POST", "/api/task/tasks/", map[string]any{"title": ""}, 400, "application/json", false, nil},
		{"400 malformed JSON", boss, "POST", "/api/task/tasks/", `{"title":`, 400, "application/json", false, nil},
		{"401 no credentials", ev.anon(), "GET", "/api/task/tasks/", nil, 401, "application/json", false, nil},
		{"401 bad login", ev.anon(), "POST", "/api/token/", map[string]string{"username": "boss", "password": "wrong-password"}, 401, "application/json", false, nil},
		{"403 forbidden", worker, "GET", "/api/user/users/", nil, 403, "application/json", false, nil},
		{"404 unknown API path", ev.admin, "GET", "/api/nothing/here/", nil, 404, "application/json", false, nil},
		{"404 unknown path", ev.anon(), "GET", "/nothing", nil, 404, "application/json", false, nil},
		{"404 bad id", ev.admin, "GET", "/api/task/tasks/not-a-uuid/", nil, 404, "application/json", false, nil},
		{"405", ev.admin, "DELETE", "/api/user/roles/", nil, 405, "application/json", false, nil},
		{"413 too large", ev.admin, "POST", "/api/user/users/", big, 413, "application/json", false, nil},
		{"415 not JSON", ev.anon(), "POST", "/api/token/", []byte("username=a"), 415, "application/json", false, []string{"Content-Type", "application/x-www-form-urlencoded"}},
		{"OPTIONS", ev.anon(), "OPTIONS", "/api/task/tasks/", nil, 204, "", true, nil},
		{"HEAD", ev.anon(), "HEAD", "/healthz", nil, 200, "application/json", true, nil},
		{"healthz", ev.anon(), "GET", "/healthz", nil, 200, "application/json", false, nil},
		{"readyz", ev.anon(), "GET", "/readyz", nil, 200, "application/json", false, nil},
		{"schema", ev.anon(), "GET", "/api/schema/", nil, 200, "application/json", false, nil},
		{"docs page", ev.anon(), "GET", "/api/docs/", nil, 200, "text/html; charset=utf-8", true, nil},
		{"docs without slash", ev.anon(), "GET", "/api/docs", nil, 200, "text/html; charset=utf-8", true, nil},
		{"docs script", ev.anon(), "GET", "/api/docs/init.js", nil, 200, "text/javascript; charset=utf-8", true, nil},
		{"docs 404", ev.anon(), "GET", "/api/docs/missing.html", nil, 404, "application/json", true, nil},
		{"docs 405", ev.anon(), "POST", "/api/docs/", nil, 405, "application/json", true, nil},
		{"web UI page", ui.anon(), "GET", "/", nil, 200, "text/html; charset=utf-8", true, nil},
		{"web UI route", ui.anon(), "GET", "/tasks/abc", nil, 200, "text/html; charset=utf-8", true, nil},
		{"web UI API 404", ui.anon(), "GET", "/api/nothing/", nil, 404, "application/json", true, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.c.env.t = t
			defer func() { c.c.env.t = ev.t }()
			headers := append([]string{"Origin", origin}, c.headers...)
			var r *response
			if c.unchecked {
				if c.body != nil {
					t.Fatal("unchecked requests send no body")
				}
				r = c.c.sendUnchecked(c.method, c.path, nil, headers...)
			} else {
				r = c.c.Do(c.method, c.path, c.body, headers...)
			}
			if r.Status != c.status {
				t.Fatalf("%s %s: %d %.300s, want %d", c.method, c.path, r.Status, r.Body, c.status)
			}
			if got := r.Header.Get("Content-Type"); got != c.contentType {
				t.Errorf("%s %s: Content-Type %q, want %q", c.method, c.path, got, c.contentType)
			}
			checkSecurityHeaders(t, c.method+" "+c.path, r.Header)
			noCORS(t, c.method+" "+c.path, r.Header)
		})
	}

	// A preflight with CORS off gets no CORS answer: the browser refuses.
	r := ev.anon().sendUnchecked("OPTIONS", "/api/task/tasks/", nil,
		"Origin", origin, "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization, content-type")
	noCORS(t, "preflight with CORS off", r.Header)
	checkSecurityHeaders(t, "preflight with CORS off", r.Header)
}

// With an allow-list, an allowed origin gets the CORS headers on its
// requests and a 204 to its preflight (before authentication, which a
// preflight never carries); any other origin, including ones that only
// look alike, gets none.
func TestCORSAllowList(t *testing.T) {
	base := newEnv(t, SQLite)
	const allowed = "https://app.example.com"
	ev := base.withServer(t, func(s *httpapi.Server) {
		s.CORSOrigins = []string{"https://other.example.org", allowed}
	})

	preflight := func(origin, path string) *response {
		return ev.anon().sendUnchecked("OPTIONS", path, nil,
			"Origin", origin, "Access-Control-Request-Method", "PATCH",
			"Access-Control-Request-Headers", "authorization, content-type")
	}

	t.Run("allowed origin", func(t *testing.T) {
		ev.t = t
		r := ev.admin.Do("GET", "/api/task/tasks/", nil, "Origin", allowed)
		if r.Status != 200 {
			t.Fatalf("GET: %d %s", r.Status, r.Body)
		}
		if got := r.Header.Get("Access-Control-Allow-Origin"); got != allowed {
			t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, allowed)
		}
		if !strings.Contains(strings.Join(r.Header.Values("Vary"), ","), "Origin") {
			t.Errorf("Vary = %q, want Origin in it", r.Header.Values("Vary"))
		}
		expose := r.Header.Get("Access-Control-Expose-Headers")
		for _, h := range []string{"X-Total-Count", "Link", "X-Request-ID", "Retry-After", "Content-Disposition"} {
			if !strings.Contains(expose, h) {
				t.Errorf("Access-Control-Expose-Headers %q lacks %s", expose, h)
			}
		}
		if got := r.Header.Get("Access-Control-Allow-Credentials"); got != "" {
			t.Errorf("Access-Control-Allow-Credentials = %q; tokens travel in a header, not cookies", got)
		}
		checkSecurityHeaders(t, "allowed GET", r.Header)

		// A request that fails still lets the page read why.
		r = ev.anon().Do("GET", "/api/task/tasks/", nil, "Origin", allowed)
		if r.Status != 401 || r.Header.Get("Access-Control-Allow-Origin") != allowed {
			t.Errorf("401 to an allowed origin: %d, Access-Control-Allow-Origin %q", r.Status, r.Header.Get("Access-Control-Allow-Origin"))
		}

		for _, path := range []string{"/api/task/tasks/", "/api/task/tasks/0193a7f0-0000-7000-8000-000000000000/update_status/", "/api/token/"} {
			r = preflight(allowed, path)
			if r.Status != http.StatusNoContent || len(r.Body) != 0 {
				t.Fatalf("preflight %s: %d %s, want 204 and no body", path, r.Status, r.Body)
			}
			if got := r.Header.Get("Access-Control-Allow-Origin"); got != allowed {
				t.Errorf("preflight %s: Access-Control-Allow-Origin = %q", path, got)
			}
			methods := r.Header.Get("Access-Control-Allow-Methods")
			for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
				if !strings.Contains(methods, m) {
					t.Errorf("preflight %s: Access-Control-Allow-Methods %q lacks %s", path, methods, m)
				}
			}
			headers := strings.ToLower(r.Header.Get("Access-Control-Allow-Headers"))
			for _, h := range []string{"authorization", "content-type", "last-event-id"} {
				if !strings.Contains(headers, h) {
					t.Errorf("preflight %s: Access-Control-Allow-Headers %q lacks %s", path, headers, h)
				}
			}
			if r.Header.Get("Access-Control-Max-Age") == "" {
				t.Errorf("preflight %s: no Access-Control-Max-Age", path)
			}
			checkSecurityHeaders(t, "preflight "+path, r.Header)
		}
	})

	for _, origin := range []string{
		"https://evil.example.com",
		"http://app.example.com",                   // another scheme
		"https://app.example.com:8443",             // another port
		"https://app.example.com.evil.com",         // the allowed one as a prefix
		"https://evil.com/https://app.example.com", // as a suffix
		"null",
	} {
		t.Run("refused "+origin, func(t *testing.T) {
			ev.t = t
			r := ev.admin.Do("GET", "/api/task/tasks/", nil, "Origin", origin)
			if r.Status != 200 {
				t.Fatalf("GET: %d %s", r.Status, r.Body)
			}
			noCORS(t, "GET from "+origin, r.Header)
			r = preflight(origin, "/api/task/tasks/")
			noCORS(t, "preflight from "+origin, r.Header)
			checkSecurityHeaders(t, "preflight from "+origin, r.Header)
		})
	}
}

// heldRequest is a request whose body the test sends in two halves: the
// server has started serving it and waits for the rest.
type heldRequest struct {
	w    *io.PipeWriter
	rest string
	done chan *response
}

// holdCreate starts a task creation as c whose body stops half-way.
func (c *client) holdCreate(t *testing.T, assignee int64, title string) *heldRequest {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"title": title, "deadline": c.env.clock.Now().Add(time.Hour).Format(time.RFC3339), "assigned_to": assignee})
	pr, pw := io.Pipe()
	req, err := http.NewRequest("POST", c.env.srv.URL+"/api/task/tasks/", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.Access)
	h := &heldRequest{w: pw, rest: string(body[len(body)/2:]), done: make(chan *response, 1)}
	client := c.env.srv.Client()
	go func() {
		res, err := client.Do(req)
		if err != nil {
			h.done <- &response{Status: -1, Body: []byte(err.Error())}
			return
		}
		defer res.Body.Close()
		out, _ := io.ReadAll(res.Body)
		h.done <- &response{Status: res.StatusCode, Header: res.Header, Body: out}
	}()
	if _, err := pw.Write(body[:len(body)/2]); err != nil {
		t.Fatal(err)
	}
	return h
}

// finish sends the rest of the body and returns the answer.
func (h *heldRequest) finish(t *testing.T) *response {
	t.Helper()
	if _, err := io.WriteString(h.w, h.rest); err != nil {
		t.Fatal(err)
	}
	h.w.Close()
	select {
	case r := <-h.done:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("held request: no answer within 10s")
		return nil
	}
}

// waitInFlight waits until the server counts n requests in flight.
func waitInFlight(t *testing.T, api *httpapi.Server, n int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for api.InFlight() != n {
		if time.Now().After(deadline) {
			t.Fatalf("in flight: %d, want %d", api.InFlight(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// openAlertStream opens the alert stream as c and returns once its header
// has arrived; the stream is closed at the end of the test.
func (c *client) openAlertStream(t *testing.T) *http.Response {
	t.Helper()
	return c.Stream(t, "/api/alerts/stream/")
}

// MaxInFlight: with that many requests being served, the next one gets
// 503 {"detail": "Service temporarily unavailable"} with Retry-After at
// once; the held ones finish normally, and once they have, requests pass
// again. Open event streams neither count nor are refused, and the
// liveness and readiness endpoints answer under overload.
func TestMaxInFlight(t *testing.T) {
	base := newEnv(t, SQLite)
	worker := base.newUser("worker", "user")
	for _, limit := range []int{1, 3} {
		t.Run(strconvFormat(int64(limit)), func(t *testing.T) {
			base.t = t
			var refused atomic.Int64
			ev := base.withServer(t, func(s *httpapi.Server) {
				s.MaxInFlight = limit
				s.OnOverload = func() { refused.Add(1) }
			})
			ev.t = t
			api := ev.api

			// Streams open before and during the overload are served
			// and do not take a place.
			for range limit + 1 {
				if res := ev.admin.openAlertStream(t); res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
					t.Fatalf("stream: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
				}
			}
			streams := int64(limit + 1)
			waitInFlight(t, api, streams)
			if r := ev.admin.Do("GET", "/api/user/me/", nil); r.Status != 200 {
				t.Fatalf("with %d streams open and a limit of %d: %d %s", streams, limit, r.Status, r.Body)
			}

			held := make([]*heldRequest, limit)
			title := "held-L" + strconvFormat(int64(limit)) + "-"
			for i := range held {
				held[i] = ev.admin.holdCreate(t, worker.user.ID, title+strconvFormat(int64(i)))
				waitInFlight(t, api, streams+int64(i+1))
			}

			for _, path := range []string{"/api/user/me/", "/api/task/tasks/", "/api/alerts/"} {
				r := ev.admin.Do("GET", path, nil, "X-Request-ID", "overloaded-1")
				if r.Status != 503 || string(r.Body) != `{"detail":"Service temporarily unavailable"}`+"\n" {
					t.Fatalf("GET %s over the limit: %d %q", path, r.Status, r.Body)
				}
				if got := r.Header.Get("Retry-After"); got != "1" {
					t.Errorf("GET %s over the limit: Retry-After %q, want 1", path, got)
				}
				if got := r.Header.Get("Content-Type"); got != "application/json" {
					t.Errorf("GET %s over the limit: Content-Type %q", path, got)
				}
				if got := r.Header.Get("X-Request-ID"); got != "overloaded-1" {
					t.Errorf("GET %s over the limit: X-Request-ID %q", path, got)
				}
				checkSecurityHeaders(t, "503 "+path, r.Header)
			}
			// A write is refused before it is read, and changes nothing.
			r := ev.admin.Do("POST", "/api/task/tasks/", map[string]any{"title": "refused", "deadline": t0.Add(time.Hour).Format(time.RFC3339), "assigned_to": worker.user.ID})
			if r.Status != 503 {
				t.Fatalf("POST over the limit: %d %s", r.Status, r.Body)
			}
			if got := refused.Load(); got != 4 {
				t.Errorf("OnOverload called %d times, want 4", got)
			}
			if res := ev.admin.openAlertStream(t); res.StatusCode != 200 {
				t.Errorf("stream over the limit: %d", res.StatusCode)
			}
			if res := ev.admin.Stream(t, "/api/notifications/stream/"); res.StatusCode != 200 {
				t.Errorf("notification stream over the limit: %d", res.StatusCode)
			}
			streams += 2
			for _, path := range []string{"/healthz", "/readyz"} {
				if r := ev.anon().Do("GET", path, nil); r.Status != 200 {
					t.Errorf("GET %s over the limit: %d %s", path, r.Status, r.Body)
				}
			}

			for i, h := range held {
				r := h.finish(t)
				if r.Status != 201 {
					t.Fatalf("held request %d: %d %s", i, r.Status, r.Body)
				}
			}
			waitInFlight(t, api, streams)
			if r := ev.admin.Do("GET", "/api/task/tasks/?search="+title, nil); r.Status != 200 || r.Header.Get("X-Total-Count") != strconvFormat(int64(limit)) {
				t.Fatalf("after the overload: %d total %q %s", r.Status, r.Header.Get("X-Total-Count"), r.Body)
			}
			if r := ev.admin.Do("GET", "/api/task/tasks/?search=refused", nil); r.Status != 200 || r.Header.Get("X-Total-Count") != "0" {
				t.Fatalf("the refused create: %d total %q", r.Status, r.Header.Get("X-Total-Count"))
			}
		})
	}
}

// logBuffer is a log destination the server writes while the test reads.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines decodes every line written so far; each must be a JSON object.
func (b *logBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for line := range strings.Lines(b.buf.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		out = append(out, m)
	}
	return out
}

// Each request's "request" log line carries the request id of its
// response: the caller's when it is acceptable, else a new one.
func TestRequestIDInLog(t *testing.T) {
	base := newEnv(t, SQLite)
	logs := &logBuffer{}
	ev := base.withServer(t, func(s *httpapi.Server) {
		s.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	generated := regexp.MustCompile(`^[0-9a-f]{24}$`)
	cases := []struct {
		name   string
		c      *client
		method string
		path   string
		body   any
		sent   string // the caller's X-Request-ID; "" sends none
		kept   bool   // whether the server keeps it
		status int
	}{
		{"caller's id", ev.admin, "GET", "/api/user/me/", nil, "trace-4f2a.9_b", true, 200},
		{"no id", ev.admin, "GET", "/api/task/tasks/", nil, "", false, 200},
		{"id with a space", ev.admin, "GET", "/api/user/me/", nil, "two words", false, 200},
		{"id with a tab", ev.admin, "GET", "/api/user/me/", nil, "a\tb", false, 200},
		{"id not ASCII", ev.admin, "GET", "/api/user/me/", nil, "caf\u00e9", false, 200},
		{"id too long", ev.admin, "GET", "/api/user/me/", nil, strings.Repeat("x", 129), false, 200},
		{"id of 128 characters", ev.admin, "GET", "/api/user/me/", nil, strings.Repeat("y", 128), true, 200},
		{"failed login", ev.anon(), "POST", "/api/token/", map[string]string{"username": "admin", "password": "not-the-password"}, "login-7", true, 401},
		{"unknown path", ev.anon(), "GET", "/api/nothing/", nil, "", false, 404},
		{"method not allowed", ev.admin, "PUT", "/api/user/me/", nil, "m-405", true, 405},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev.t = t
			var r *response
			if c.sent == "" {
				r = c.c.Do(c.method, c.path, c.body)
			} else {
				r = c.c.Do(c.method, c.path, c.body, "X-Request-ID", c.sent)
			}
			if r.Status != c.status {
				t.Fatalf("%s %s: %d %s, want %d", c.method, c.path, r.Status, r.Body, c.status)
			}
			id := r.Header.Get("X-Request-ID")
			if c.kept && id != c.sent {
				t.Fatalf("X-Request-ID = %q, want the caller's %q", id, c.sent)
			}
			if !c.kept && !generated.MatchString(id) {
				t.Fatalf("X-Request-ID = %q, want a new id of 24 hex digits", id)
			}
			var found []map[string]any
			deadline := time.Now().Add(5 * time.Second)
			for len(found) == 0 && time.Now().Before(deadline) {
				for _, l := range logs.lines(t) {
					if l["msg"] == "request" && l["request_id"] == id {
						found = append(found, l)
					}
				}
				if len(found) == 0 {
					time.Sleep(time.Millisecond)
				}
			}
			if len(found) != 1 {
				t.Fatalf("%d request log lines with request_id %q, want 1; log:\n%s", len(found), id, logs.buf.String())
			}
			l := found[0]
			if l["level"] != "DEBUG" || l["method"] != c.method || l["path"] != strings.SplitN(c.path, "?", 2)[0] || l["status"] != float64(c.status) {
				t.Errorf("request log line %v, want level DEBUG, method %s, path %s, status %d", l, c.method, c.path, c.status)
			}
			if _, ok := l["duration"]; !ok {
				t.Errorf("request log line %v has no duration", l)
			}
		})
	}
	// Nothing a client sent is logged as its id unchecked.
	for _, l := range logs.lines(t) {
		if id, _ := l["request_id"].(string); strings.ContainsAny(id, " \t\u00e9") || len(id) > 128 {
			t.Errorf("log line with request_id %q", id)
		}
	}
}

// Pagination links never come from the Host header, which the caller
// chooses: they are relative references, or absolute under PublicURL
// when it is set, whatever Host says.
func TestLinksIgnoreHost(t *testing.T) {
	base := newEnv(t, SQLite)
	for _, name := range []string{"ann", "bob", "cat"} {
		base.newUser(name, "user")
	}
	cases := []struct {
		publicURL, host, query string
		want                   string
	}{
		{"", "evil.example", "limit=1&offset=1",
			`</api/user/users/?limit=1&offset=2>; rel="next", </api/user/users/?limit=1&offset=0>; rel="prev"`},
		{"", "", "limit=2&is_active=true",
			`</api/user/users/?is_active=true&limit=2&offset=2>; rel="next"`},
		{"https://tasks.example.com", "evil.example", "limit=1&offset=3",
			`<https://tasks.example.com/api/user/users/?limit=1&offset=2>; rel="prev"`},
		{"https://example.com/tasktrack", "evil.example:8443", "limit=3",
			`<https://example.com/tasktrack/api/user/users/?limit=3&offset=3>; rel="next"`},
	}
	for _, c := range cases {
		t.Run(c.publicURL+" Host "+c.host, func(t *testing.T) {
			ev := base.withServer(t, func(s *httpapi.Server) { s.PublicURL = c.publicURL })
			ev.t = t
			req, err := http.NewRequest("GET", ev.srv.URL+"/api/user/users/?"+c.query, nil)
			if err != nil {
				t.Fatal(err)
			}
			if c.host != "" {
				req.Host = c.host
			}
			r := ev.admin.Send(req, "X-Forwarded-Host", "evil.example", "X-Forwarded-Proto", "gopher")
			if r.Status != 200 || r.Header.Get("X-Total-Count") != "4" {
				t.Fatalf("%d, X-Total-Count %q: %s", r.Status, r.Header.Get("X-Total-Count"), r.Body)
			}
			checkAgainstSpec(t, req, nil, r)
			if got := r.Header.Get("Link"); got != c.want {
				t.Errorf("Link %q\nwant %q", got, c.want)
			}
		})
	}
}
