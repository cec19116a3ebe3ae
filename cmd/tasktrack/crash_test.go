package main

// Crash safety of the real binary: writes it acknowledged survive a
// SIGKILL, SIGTERM lets requests in flight finish, and a client that never
// finishes its request header is cut off.

import (
	"bufio"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" driver, to check the file
)

// integrityCheck opens the SQLite file and runs PRAGMA integrity_check.
func integrityCheck(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("PRAGMA integrity_check")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(lines) != 1 || lines[0] != "ok" {
		t.Fatalf("integrity_check: %q", lines)
	}
}

// allTaskIDs lists every task through the API, page by page.
func allTaskIDs(c *client) map[string]bool {
	c.T().Helper()
	ids := map[string]bool{}
	for offset := 0; ; offset += 1000 {
		var page []struct{ ID string }
		r := c.Want("GET", "/api/task/tasks/?limit=1000&ordering=created_at&offset="+strconv.Itoa(offset), nil, http.StatusOK)
		r.Decode(c.T(), &page)
		for _, p := range page {
			ids[p.ID] = true
		}
		total, err := strconv.Atoi(r.Header.Get("X-Total-Count"))
		if err != nil {
			c.T().Fatalf("X-Total-Count %q", r.Header.Get("X-Total-Count"))
		}
		if len(page) < 1000 {
			if len(ids) != total {
				c.T().Fatalf("listed %d distinct tasks, X-Total-Count says %d", len(ids), total)
			}
			return ids
		}
	}
}

// TestCrashKeepsAcknowledgedWrites kills the server with SIGKILL while
// clients create tasks, restarts it on the same file and finds every task
// it had acknowledged, in a file that passes SQLite's integrity check.
func TestCrashKeepsAcknowledgedWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills the binary")
	}
	t.Parallel()
	db := sqliteFile(t)
	s := startServe(t, db, adminEnv, "--sweep-interval", "0")
	admin := s.login(t, "admin", adminPassword)
	workerID := admin.CreateUser("worker", "user", "worker@example.com")
	deadline := time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339Nano)

	const workers, perWorker, killAfter = 8, 1000, 300
	var (
		mu       sync.Mutex
		acked    []string
		problems []string
		n        atomic.Int64
		wg       sync.WaitGroup
	)
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				r, err := admin.Request("POST", "/api/task/tasks/", map[string]any{
					"title": fmt.Sprintf("task %d.%d", w, i), "deadline": deadline, "assigned_to": workerID,
				})
				if err != nil {
					return // the server is gone
				}
				var task struct{ ID string }
				if r.Status != http.StatusCreated || json.Unmarshal(r.Body, &task) != nil || task.ID == "" {
					mu.Lock()
					problems = append(problems, fmt.Sprintf("%d %s", r.Status, r.Body))
					mu.Unlock()
					return
				}
				mu.Lock()
				acked = append(acked, task.ID)
				mu.Unlock()
				n.Add(1)
			}
		})
	}
	waitFor(t, 60*time.Second, "acknowledged tasks", func() bool { return n.Load() >= killAfter })
	s.kill()
	wg.Wait()
	if len(problems) > 0 {
		t.Fatalf("unexpected answers before the crash: %q", problems)
	}
	if len(acked) >= workers*perWorker {
		t.Fatal("every request finished before the kill; nothing was in flight")
	}
	integrityCheck(t, db)

	s2 := startServe(t, db, adminEnv, "--sweep-interval", "0")
	present := allTaskIDs(s2.login(t, "admin", adminPassword))
	missing := 0
	for _, id := range acked {
		if !present[id] {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged tasks are gone after the crash", missing, len(acked))
	}
	// Besides the acknowledged ones, at most the requests in flight at
	// the kill (one per worker) may have been committed.
	if extra := len(present) - len(acked); extra < 0 || extra > workers {
		t.Errorf("%d tasks after the crash for %d acknowledged", len(present), len(acked))
	}
	t.Logf("%d tasks acknowledged before SIGKILL, %d present after restart", len(acked), len(present))
}

// inFlight reads the server's in-flight request gauge.
func inFlight(t *testing.T, s *server) int {
	t.Helper()
	r := s.scrape(t)
	for line := range strings.Lines(string(r.Body)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "tasktrack_http_in_flight_requests "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("gauge %q", line)
			}
			return int(f)
		}
	}
	t.Fatalf("no in-flight gauge in /metrics")
	return 0
}

// TestGracefulShutdown sends SIGTERM while requests are in flight: the
// server stops accepting connections, ends event streams, finishes the
// requests (their writes committed) and exits with code 0.
func TestGracefulShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the binary")
	}
	t.Parallel()
	db := sqliteFile(t)
	s := startServe(t, db, adminEnv, "--sweep-interval", "0")
	admin := s.login(t, "admin", adminPassword)
	workerID := admin.CreateUser("worker", "user", "worker@example.com")
	stream := admin.OpenEvents(alertStreamPath, "")

	// Each request sends its header and half of its body, then waits.
	const k = 3
	type outcome struct {
		status int
		body   []byte
		err    error
	}
	// The gauge counts the event stream too.
	base := inFlight(t, s)
	results := make(chan outcome, k)
	writers := make([]*io.PipeWriter, k)
	rests := make([]string, k)
	deadline := time.Now().Add(time.Hour).UTC().Format(time.RFC3339Nano)
	for i := range k {
		body := fmt.Sprintf(`{"title": "in flight %d", "deadline": %q, "assigned_to": %d}`, i, deadline, workerID)
		pr, pw := io.Pipe()
		writers[i], rests[i] = pw, body[len(body)/2:]
		req, err := http.NewRequest("POST", s.url+"/api/task/tasks/", pr)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+admin.Access)
		go func() {
			res, err := httpClient.Do(req)
			if err != nil {
				results <- outcome{err: err}
				return
			}
			defer res.Body.Close()
			b, err := io.ReadAll(res.Body)
			results <- outcome{status: res.StatusCode, body: b, err: err}
		}()
		if _, err := pw.Write([]byte(body[:len(body)/2])); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 10*time.Second, "requests in flight", func() bool { return inFlight(t, s) >= base+k })

	s.signal(syscall.SIGTERM)
	waitFor(t, 10*time.Second, "listener to close", func() bool {
		c, err := net.DialTimeout("tcp", s.addr, 200*time.Millisecond)
		if err != nil {
			return true
		}
		c.Close()
		return false
	})
	// The event stream ends: it must not hold the shutdown up.
	waitFor(t, 10*time.Second, "event stream to end", func() bool {
		select {
		case _, ok := <-stream.Events:
			return !ok
		default:
			return false
		}
	})
	if s.exited() {
		t.Fatal("the server exited with requests in flight")
	}
	for i, pw := range writers {
		if _, err := pw.Write([]byte(rests[i])); err != nil {
			t.Fatal(err)
		}
		pw.Close()
	}
	var titles []string
	for range k {
		select {
		case o := <-results:
			if o.err != nil || o.status != http.StatusCreated {
				t.Fatalf("in-flight request: %d %s %v", o.status, o.body, o.err)
			}
			var task struct{ Title string }
			if err := json.Unmarshal(o.body, &task); err != nil {
				t.Fatal(err)
			}
			titles = append(titles, task.Title)
		case <-time.After(15 * time.Second):
			t.Fatal("in-flight request did not finish")
		}
	}
	if code := s.wait(20 * time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}

	s2 := startServe(t, db, adminEnv, "--sweep-interval", "0")
	r := s2.login(t, "admin", adminPassword).Want("GET", "/api/task/tasks/?search=in+flight", nil, http.StatusOK)
	if r.Header.Get("X-Total-Count") != strconv.Itoa(k) {
		t.Fatalf("after restart: %s; the in-flight requests answered %q", r.Body, titles)
	}
}

// TestSlowHeaderIsCutOff opens a connection that sends part of a request
// header and never the rest: the server closes it after its header
// timeout (5 s), and serves others meanwhile.
func TestSlowHeaderIsCutOff(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the header timeout")
	}
	t.Parallel()
	s := startServe(t, sqliteFile(t), adminEnv, "--sweep-interval", "0")
	conn, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	if _, err := io.WriteString(conn, "GET /api/user/me/ HTTP/1.1\r\nHost: "+s.addr+"\r\nX-Slow: "); err != nil {
		t.Fatal(err)
	}
	s.anon(t).Want("GET", "/healthz", nil, http.StatusOK)

	closed := make(chan error, 1)
	go func() {
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err := io.Copy(io.Discard, bufio.NewReader(conn))
		closed <- err
	}()
	select {
	case err := <-closed:
		elapsed := time.Since(start)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("the server kept the connection open for %s", elapsed)
		}
		if elapsed < 4*time.Second || elapsed > 7*time.Second {
			t.Errorf("connection closed after %s, want about 5s", elapsed)
		}
	case <-time.After(12 * time.Second):
		t.Fatal("the connection was not closed")
	}
	s.anon(t).Want("GET", "/healthz", nil, http.StatusOK)
}
