package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tasktrack/sqlstore/sqlstoretest"
)

// hookReceiver records the webhook-ids it accepts; while down it answers
// 503 and records nothing.
type hookReceiver struct {
	srv *httptest.Server
	up  atomic.Bool
	mu  sync.Mutex
	ids map[string]int
}

func newHookReceiver(t *testing.T) *hookReceiver {
	rc := &hookReceiver{ids: map[string]int{}}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !rc.up.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		rc.mu.Lock()
		rc.ids[r.Header.Get("webhook-id")]++
		rc.mu.Unlock()
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *hookReceiver) received() map[string]int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := map[string]int{}
	for k, v := range rc.ids {
		out[k] = v
	}
	return out
}

// Events committed while their receiver is down survive a SIGKILL: after
// the restart each arrives once, with the webhook-id its failed attempts
// had. The kill comes once every first attempt's failure is recorded, and
// the retry base puts the second attempts 5 to 10 s later, so that no row
// is leased at the kill: a row a killed process held waits out its lease
// (two minutes) before another process takes it.
func TestWebhooksSurviveKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills the binary")
	}
	t.Parallel()
	rc := newHookReceiver(t)
	db := sqliteFile(t)
	flags := []string{"--sweep-interval", "0", "--webhook-allow-private", "--webhook-retry-base", "10s"}
	s := startServe(t, db, adminEnv, flags...)
	admin := s.login(t, "admin", adminPassword)
	r := admin.Want("POST", "/api/webhooks/", map[string]any{"url": rc.srv.URL + "/hook", "events": []string{"task.created"}}, 201)
	hookID := r.Object(t)["id"].(string)
	samID := admin.CreateUser("sam", "user", "sam@example.com")
	const events = 5
	for i := range events {
		admin.CreateTask(samID, fmt.Sprintf("Task %d", i), time.Now().Add(time.Hour))
	}
	var attempted []string
	waitFor(t, 20*time.Second, "every event attempted", func() bool {
		var log []struct {
			EventID string `json:"event_id"`
			Status  string `json:"status"`
		}
		admin.Want("GET", "/api/webhooks/"+hookID+"/deliveries/?limit=100", nil, 200).Decode(t, &log)
		attempted = attempted[:0]
		for _, a := range log {
			if !slices.Contains(attempted, a.EventID) {
				attempted = append(attempted, a.EventID)
			}
		}
		return len(attempted) == events &&
			metric(t, s, `tasktrack_outbox_deliveries_total{kind="webhook",outcome="retrying"}`) == events
	})
	s.kill()

	rc.up.Store(true)
	s = startServe(t, db, adminEnv, flags...)
	waitFor(t, 30*time.Second, "the outbox emptied", func() bool {
		return metric(t, s, `tasktrack_outbox_pending{kind="webhook"}`) == 0
	})
	if v := metric(t, s, `tasktrack_outbox_deliveries_total{kind="webhook",outcome="delivered"}`); v != events {
		t.Errorf("delivered after the restart: %v", v)
	}
	if v := metric(t, s, `tasktrack_webhook_endpoints{state="active"}`); v != 1 {
		t.Errorf("active endpoints: %v", v)
	}
	got := rc.received()
	if len(got) != events {
		t.Fatalf("received %v", got)
	}
	for _, id := range attempted {
		if got[id] != 1 {
			t.Errorf("event %s received %d times", id, got[id])
		}
	}
}

// A process killed in the middle of webhook attempts (the receiver not
// answering) held those rows and a few claimed to follow them. Its
// restart takes them once their leases, no longer renewed, end: each
// event arrives once, within seconds rather than minutes.
func TestWebhooksHeldByKilledProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills the binary")
	}
	t.Parallel()
	var (
		hanging atomic.Bool
		seen    atomic.Int32
		mu      sync.Mutex
		got     = map[string]int{}
	)
	hanging.Store(true)
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hanging.Load() {
			seen.Add(1)
			_, _ = io.Copy(io.Discard, r.Body) // so that the server sees the connection close
			select {
			case <-r.Context().Done():
			case <-done:
			}
			return
		}
		mu.Lock()
		got[r.Header.Get("webhook-id")]++
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(done) })
	db := sqliteFile(t)
	flags := []string{"--sweep-interval", "0", "--webhook-allow-private"}
	s := startServe(t, db, adminEnv, flags...)
	admin := s.login(t, "admin", adminPassword)
	admin.Want("POST", "/api/webhooks/", map[string]any{"url": srv.URL + "/hook", "events": []string{"task.created"}}, 201)
	samID := admin.CreateUser("sam", "user", "sam@example.com")
	const events = 5
	for i := range events {
		admin.CreateTask(samID, fmt.Sprintf("Task %d", i), time.Now().Add(time.Hour))
	}
	waitFor(t, 20*time.Second, "an attempt under way", func() bool { return seen.Load() > 0 })
	s.kill()

	hanging.Store(false)
	s = startServe(t, db, adminEnv, flags...)
	waitFor(t, 45*time.Second, "the outbox emptied", func() bool {
		return metric(t, s, `tasktrack_outbox_pending{kind="webhook"}`) == 0
	})
	mu.Lock()
	defer mu.Unlock()
	if len(got) != events {
		t.Fatalf("received %v", got)
	}
	for id, n := range got {
		if n != 1 {
			t.Errorf("event %s received %d times", id, n)
		}
	}
}

// Three replicas on one PostgreSQL database share the outbox: 1,000 task
// events to one endpoint arrive, each once, and no event is ever being
// sent by two replicas at the same moment.
func TestWebhooksOnReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three servers")
	}
	dsn := sqlstoretest.DSN(t, sqlstoretest.Postgres)
	var (
		mu       sync.Mutex
		inFlight = map[string]int{}
		got      = map[string]int{}
		overlaps int
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("webhook-id")
		mu.Lock()
		inFlight[id]++
		if inFlight[id] > 1 {
			overlaps++
		}
		got[id]++
		mu.Unlock()
		// Long enough for a second sender of the same id to be seen.
		time.Sleep(2 * time.Millisecond)
		mu.Lock()
		inFlight[id]--
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	flags := []string{"--sweep-interval", "0", "--webhook-allow-private"}
	replicas := make([]*server, 3)
	for i := range replicas {
		replicas[i] = launchServeIn(t, "", dsn, adminEnv, flags...)
	}
	for _, r := range replicas {
		r.waitReady()
	}
	admin := replicas[0].login(t, "admin", adminPassword)
	admin.Want("POST", "/api/webhooks/", map[string]any{"url": srv.URL + "/", "events": []string{"task.created"}}, 201)
	uid := admin.CreateUser("una", "user", "una@example.com")
	const events, writers = 1000, 6
	var wg sync.WaitGroup
	var failed atomic.Int64
	for w := range writers {
		c := replicas[w%len(replicas)].client(t, admin.Access)
		wg.Go(func() {
			for i := w; i < events; i += writers {
				r, err := c.Request("POST", "/api/task/tasks/", map[string]any{"title": "task " + strconv.Itoa(i),
					"deadline": time.Now().Add(time.Hour).UTC().Format(time.RFC3339Nano), "assigned_to": uid})
				if err != nil || r.Status != http.StatusCreated {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if n := failed.Load(); n != 0 {
		t.Fatalf("%d creations failed", n)
	}
	waitFor(t, 60*time.Second, "every event delivered", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) >= events && metric(t, replicas[0], `tasktrack_outbox_pending{kind="webhook"}`) == 0
	})
	mu.Lock()
	defer mu.Unlock()
	if len(got) != events || overlaps != 0 {
		t.Fatalf("%d events received, %d overlapping attempts", len(got), overlaps)
	}
	for id, n := range got {
		if n != 1 {
			t.Errorf("event %s received %d times", id, n)
		}
	}
	senders := 0
	for _, r := range replicas {
		if metric(t, r, `tasktrack_outbox_deliveries_total{kind="webhook",outcome="delivered"}`) > 0 {
			senders++
		}
	}
	t.Logf("%d events delivered by %d replicas", len(got), senders)
}
