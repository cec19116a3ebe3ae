package httpapi_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"tasktrack"
	"tasktrack/app"
	"tasktrack/auth"
	"tasktrack/httpapi"
	"tasktrack/internal/apitest"
	"tasktrack/sqlstore"
	. "tasktrack/sqlstore/sqlstoretest"
)

// The test harness: a real server (httptest) over a real database of each
// engine, with a clock the tests move, and a client that checks every
// response against the OpenAPI document.

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

const adminPassword = "admin-pass-123"

// loginLimits are the server's default limits on failed logins.
var loginLimits = auth.LoginLimits{
	Addr:     auth.Limit{N: 20, Period: 10 * time.Minute},
	UserAddr: auth.Limit{N: 5, Period: 10 * time.Minute},
	User:     auth.Limit{N: 10, Period: 10 * time.Minute},
}

type env struct {
	t      testing.TB
	engine Engine
	db     *sqlstore.DB
	clock  *Clock
	api    *httpapi.Server
	srv    *httptest.Server
	auth   *auth.Service
	pats   *auth.PersonalTokens
	admin  *client
}

// newEnv starts a server on a fresh database with an admin "admin".
func newEnv(t testing.TB, e Engine) *env {
	t.Helper()
	return newEnvOn(t, e, DSN(t, e))
}

// newEnvOn is newEnv on the database at dsn.
func newEnvOn(t testing.TB, e Engine, dsn string) *env {
	t.Helper()
	db := OpenDSN(t, dsn)
	clock := NewClock(t0)
	db.Now = clock.Now
	hasher := db.Hasher.(*auth.Hasher)
	hash, err := hasher.Hash(adminPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Settings.BootstrapAdmin(context.Background(), hash); err != nil {
		t.Fatal(err)
	}
	tokens := auth.NewTokens([]byte(strings.Repeat("k", 32)), 5*time.Minute, 24*time.Hour)
	tokens.Now = clock.Now
	limiter := auth.NewLoginLimiter(loginLimits)
	limiter.Now = clock.Now
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("TASKTRACK_TEST_LOG") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	// The server is wired as `tasktrack serve` wires it.
	a, err := app.New(db, app.Options{Hasher: hasher, Tokens: tokens, Limiter: limiter, Logger: logger,
		Poll: 50 * time.Millisecond, Reminders: []time.Duration{24 * time.Hour, time.Hour}, Now: clock.Now,
		// Receivers in tests listen on loopback.
		WebhookAllowPrivate: true})
	if err != nil {
		t.Fatal(err)
	}
	api, svc, pats := a.API, a.Auth, a.TokenAuth
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	srv := httptest.NewUnstartedServer(api.Handler())
	api.LinkBase = "http://" + srv.Listener.Addr().String()
	srv.Start()
	t.Cleanup(func() {
		cancel()
		srv.CloseClientConnections()
		srv.Close()
		<-done
	})
	ev := &env{t: t, engine: e, db: db, clock: clock, api: api, srv: srv, auth: svc, pats: pats}
	ev.admin = ev.login("admin", adminPassword)
	return ev
}

// client calls the API with a user's tokens; response is its answer.
type client struct {
	apitest.Client
	env  *env
	user *tasktrack.User
}

type response = apitest.Response

// as is a client of e's server that sends access (none if empty) and
// refreshes with refresh, as user (nil: unknown). Its failures fail e's
// test of the moment, and it holds each answer to the OpenAPI document.
func (e *env) as(access, refresh string, user *tasktrack.User) *client {
	c := &client{env: e, user: user, Client: apitest.Client{
		T:   func() testing.TB { return e.t },
		URL: e.srv.URL, HTTP: e.srv.Client(),
		Access: access, Refresh: refresh,
		Check: checkResponse, Allow503: true,
	}}
	if user != nil {
		c.ID = user.ID
	}
	return c
}

// via returns a copy of c whose connections come from the local address
// ip, as another client's would: the server listens on 127.0.0.1, which
// answers every source address in 127.0.0.0/8.
func (c *client) via(ip string) *client {
	c.env.t.Helper()
	src := net.ParseIP(ip)
	if src == nil {
		c.env.t.Fatalf("via %q: not an address", ip)
	}
	tr := c.env.srv.Client().Transport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{LocalAddr: &net.TCPAddr{IP: src}}).DialContext
	c.env.t.Cleanup(tr.CloseIdleConnections)
	v := *c
	v.HTTP = &http.Client{Transport: tr}
	return &v
}

// anon is a client without credentials.
func (e *env) anon() *client { return e.as("", "", nil) }

// login signs in through the API.
func (e *env) login(username, password string) *client {
	e.t.Helper()
	c := &client{Client: *e.anon().Login(username, password), env: e}
	c.user, _ = e.db.Sessions.AuthUser(context.Background(), c.ID)
	return c
}

// userPassword is the password newUser gives.
var userPassword = apitest.UserPassword

// newUser creates a user through the API as admin and signs them in.
func (e *env) newUser(username, role string) *client {
	e.t.Helper()
	e.admin.CreateUser(username, role, "")
	return e.login(username, userPassword(username))
}

// newTask creates a task through the API as c, assigned to assignee and
// due in `in`; it returns the task's id.
func (c *client) newTask(assignee *client, title string, in time.Duration) string {
	c.env.t.Helper()
	return c.CreateTask(assignee.user.ID, title, c.env.clock.Now().Add(in))
}

// checkResponse holds every answer of the API to what all have (an
// X-Request-ID) and to the OpenAPI document.
func checkResponse(t testing.TB, req *http.Request, body []byte, r *response) {
	t.Helper()
	if r.Header.Get("X-Request-ID") == "" {
		t.Errorf("%s %s: no X-Request-ID", req.Method, req.URL.Path)
	}
	checkAgainstSpec(t, req, body, r)
}

var (
	specOnce   sync.Once
	specRouter routers.Router
	specErr    error
)

func openAPIRouter() (routers.Router, error) {
	specOnce.Do(func() {
		data, err := os.ReadFile("openapi.json")
		if err != nil {
			specErr = err
			return
		}
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(data)
		if err != nil {
			specErr = err
			return
		}
		if err := doc.Validate(loader.Context); err != nil {
			specErr = err
			return
		}
		// Match operations on any host the test server has.
		doc.Servers = nil
		specRouter, specErr = legacy.NewRouter(doc)
	})
	return specRouter, specErr
}

// checkAgainstSpec fails the test when a response (status, headers, body)
// differs from what the OpenAPI document says of its operation. Requests to
// paths without the trailing slash are checked as the canonical path.
func checkAgainstSpec(t testing.TB, req *http.Request, body []byte, r *response) {
	t.Helper()
	router, err := openAPIRouter()
	if err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if r.Status == http.StatusMethodNotAllowed {
		return // any method on any path; the document lists only the allowed ones
	}
	vreq := req.Clone(context.Background())
	if !strings.HasSuffix(vreq.URL.Path, "/") && strings.HasPrefix(vreq.URL.Path, "/api/") && path.Ext(vreq.URL.Path) == "" {
		vreq.URL.Path += "/"
	}
	vreq.Body = io.NopCloser(bytes.NewReader(body))
	route, params, err := router.FindRoute(vreq)
	if err != nil {
		if r.Status == http.StatusNotFound {
			return // an unknown path: nothing to hold it to
		}
		t.Errorf("%s %s answered %d but the OpenAPI document has no such operation: %v", req.Method, req.URL.Path, r.Status, err)
		return
	}
	opts := &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true, AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}
	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route, Options: opts}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: r.Status, Header: r.Header,
		Body: io.NopCloser(bytes.NewReader(r.Body)), Options: opts,
	}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		t.Errorf("%s %s: response %d does not match the OpenAPI document: %v\nbody: %.500s", req.Method, req.URL.Path, r.Status, err, r.Body)
	}
}
