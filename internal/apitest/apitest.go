// Package apitest is the client side of the API tests, shared by httpapi's
// tests (a server in the test process, wired by app.New) and the binary's
// (a `tasktrack serve` process): a Client that signs in, sends requests
// and reads their answers whole, creates users and tasks through the API,
// and reads event streams. Each harness makes its Clients, for what
// differs: the server's base URL and HTTP client, which test a failure
// fails, and what else it holds every answer to (httpapi's tests: the
// OpenAPI document).
package apitest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Response is one answer, read whole.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Decode decodes the body as JSON into v, failing t if it cannot.
func (r *Response) Decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// Object decodes the body as a JSON object.
func (r *Response) Object(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	r.Decode(t, &m)
	return m
}

// String is the body.
func (r *Response) String() string { return string(r.Body) }

// NewRequest builds a request to url with body: nil for none, a string or
// []byte sent as it is (so that a test can send what no encoder would),
// anything else as JSON. Any body is labelled application/json. The body's
// bytes are returned too, for the checks that read it again.
func NewRequest(method, url string, body any) (*http.Request, []byte, error) {
	var raw []byte
	switch b := body.(type) {
	case nil:
	case []byte:
		raw = b
	case string:
		raw = []byte(b)
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			return nil, nil, err
		}
	}
	req, err := http.NewRequest(method, url, bytes.NewReader(raw))
	if err != nil {
		return nil, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, raw, nil
}

// Client calls a server's API, signed in or not.
type Client struct {
	// T is the test a failure fails, asked at each use, so that a
	// harness whose test moves into subtests can follow it.
	T func() testing.TB
	// URL is the server's base URL, "http://host:port".
	URL string
	// HTTP sends the requests; nil: http.DefaultClient.
	HTTP *http.Client
	// Access and Refresh are the user's tokens (empty: anonymous); Access
	// is sent as the bearer token.
	Access, Refresh string
	// ID is the signed-in user's id (Login sets it).
	ID int64
	// Check, when set, is called on every answer Do reads, with its
	// request and the request's body.
	Check func(t testing.TB, req *http.Request, body []byte, r *Response)
	// Allow503 makes Do take a 503 for an answer rather than a server
	// error (for tests that make the database unavailable).
	Allow503 bool
}

// UserPassword is the password CreateUser gives username.
func UserPassword(username string) string { return "pw-" + username + "-secret" }

// roundTrip sends req with c's token and the header pairs, name then value
// (an empty value removes the header), and reads the whole answer.
func (c *Client) roundTrip(req *http.Request, headers ...string) (*Response, error) {
	if c.Access != "" {
		req.Header.Set("Authorization", "Bearer "+c.Access)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	res, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	return &Response{Status: res.StatusCode, Header: res.Header, Body: out}, nil
}

// Request sends one request to path with body (as NewRequest takes it)
// and the header pairs (as Send takes them); it is safe for any
// goroutine and never fails the test.
func (c *Client) Request(method, path string, body any, headers ...string) (*Response, error) {
	req, _, err := NewRequest(method, c.URL+path, body)
	if err != nil {
		return nil, err
	}
	return c.roundTrip(req, headers...)
}

// Send sends req with c's token and the header pairs, name then value (an
// empty value removes the header), and reads the whole answer; a
// transport error fails the test. The answer is not checked.
func (c *Client) Send(req *http.Request, headers ...string) *Response {
	t := c.T()
	t.Helper()
	r, err := c.roundTrip(req, headers...)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	return r
}

// Do sends a request to path with body (as NewRequest takes it) and the
// header pairs (as Send takes them). A transport error fails the test, a
// 5xx answer (but a 503 under Allow503) marks it failed, and Check sees
// the answer.
func (c *Client) Do(method, path string, body any, headers ...string) *Response {
	t := c.T()
	t.Helper()
	req, raw, err := NewRequest(method, c.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	r := c.Send(req, headers...)
	if r.Status >= 500 && !(c.Allow503 && r.Status == http.StatusServiceUnavailable) {
		t.Errorf("%s %s: %d %s", method, path, r.Status, r.Body)
	}
	if c.Check != nil {
		c.Check(t, req, raw, r)
	}
	return r
}

// Want is Do, failing the test unless the answer has status.
func (c *Client) Want(method, path string, body any, status int, headers ...string) *Response {
	t := c.T()
	t.Helper()
	r := c.Do(method, path, body, headers...)
	if r.Status != status {
		t.Fatalf("%s %s: got %d %s, want %d", method, path, r.Status, r.Body, status)
	}
	return r
}

// Login signs in through the API and returns a copy of c with the user's
// tokens and id; it fails the test unless /api/user/me/ then names
// username.
func (c *Client) Login(username, password string) *Client {
	t := c.T()
	t.Helper()
	r := c.Do("POST", "/api/token/", map[string]string{"username": username, "password": password})
	if r.Status != http.StatusOK {
		t.Fatalf("login %s: %d %s", username, r.Status, r.Body)
	}
	var pair struct{ Access, Refresh string }
	r.Decode(t, &pair)
	u := *c
	u.Access, u.Refresh = pair.Access, pair.Refresh
	var me struct {
		ID       int64
		Username string
	}
	u.Want("GET", "/api/user/me/", nil, http.StatusOK).Decode(t, &me)
	if me.Username != username {
		t.Fatalf("login %s: /me is %q", username, me.Username)
	}
	u.ID = me.ID
	return &u
}

// CreateUser creates an active user through the API with the password
// UserPassword gives, and email unless it is empty, and returns their id.
func (c *Client) CreateUser(username, role, email string) int64 {
	t := c.T()
	t.Helper()
	body := map[string]string{"username": username, "password": UserPassword(username), "role": role}
	if email != "" {
		body["email"] = email
	}
	r := c.Want("POST", "/api/user/users/", body, http.StatusCreated)
	var u struct {
		ID       int64
		Username string
		Role     struct{ Name string }
		IsActive bool `json:"is_active"`
	}
	r.Decode(t, &u)
	if u.Username != username || u.Role.Name != role || !u.IsActive || u.ID == 0 {
		t.Fatalf("created user: %s", r.Body)
	}
	return u.ID
}

// CreateTask creates a task through the API, due at deadline for
// assignee, and returns its id.
func (c *Client) CreateTask(assignee int64, title string, deadline time.Time) string {
	t := c.T()
	t.Helper()
	r := c.Want("POST", "/api/task/tasks/", map[string]any{
		"title": title, "description": "about " + title,
		"deadline": deadline.UTC().Format(time.RFC3339Nano), "assigned_to": assignee,
	}, http.StatusCreated)
	id, _ := r.Object(t)["id"].(string)
	if id == "" {
		t.Fatalf("created task without id: %s", r.Body)
	}
	return id
}

// Stream sends GET path as c with the header pairs (as Send takes them)
// and returns the answer, whatever its status, as soon as its header has
// arrived, its body unread: for event streams. No time limit applies; the
// request is cancelled and the body closed when t's test ends.
func (c *Client) Stream(t testing.TB, path string, headers ...string) *http.Response {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", c.URL+path, nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if c.Access != "" {
		req.Header.Set("Authorization", "Bearer "+c.Access)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] != "" {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	hc := http.Client{}
	if c.HTTP != nil {
		hc = *c.HTTP
		hc.Timeout = 0
	}
	res, err := hc.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		res.Body.Close()
	})
	return res
}

// Event is one event of a text/event-stream.
type Event struct {
	Type, ID, Data string
}

// EventStream is an open event stream whose events arrive on Events, in
// order; Events is closed when the stream ends.
type EventStream struct {
	Events chan Event
}

// OpenEvents opens the event stream at path as c, resuming after
// lastEventID when it is not empty. It fails the test unless the answer
// is 200 with text/event-stream and the server's first comment arrives
// within 10 s. The stream is closed at the end of the test.
func (c *Client) OpenEvents(path, lastEventID string) *EventStream {
	t := c.T()
	t.Helper()
	res := c.Stream(t, path, "Accept", "text/event-stream", "Last-Event-ID", lastEventID)
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("stream: %d %s %s", res.StatusCode, res.Header.Get("Content-Type"), b)
	}
	done := res.Request.Context().Done()
	st := &EventStream{Events: make(chan Event, 100)}
	connected := make(chan struct{})
	go func() {
		defer res.Body.Close()
		defer close(st.Events)
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		var ev Event
		var data []string
		first := true
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.Type != "" || len(data) > 0 {
					ev.Data = strings.Join(data, "\n")
					select {
					case st.Events <- ev:
					case <-done:
						return
					}
				}
				ev, data = Event{}, nil
			case strings.HasPrefix(line, ":"):
				if first {
					first = false
					close(connected)
				}
			default:
				field, value, _ := strings.Cut(line, ":")
				value = strings.TrimPrefix(value, " ")
				switch field {
				case "event":
					ev.Type = value
				case "id":
					ev.ID = value
				case "data":
					data = append(data, value)
				}
			}
		}
	}()
	select {
	case <-connected:
	case <-time.After(10 * time.Second):
		t.Fatal("stream: no first comment within 10s")
	}
	return st
}

// Next waits up to d for the next event.
func (st *EventStream) Next(t testing.TB, d time.Duration) Event {
	t.Helper()
	select {
	case ev, ok := <-st.Events:
		if !ok {
			t.Fatal("stream closed")
		}
		return ev
	case <-time.After(d):
		t.Fatalf("no event within %s", d)
		return Event{}
	}
}

// WaitFor polls cond every 20ms until it holds, failing t if it does not
// within d.
func WaitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
