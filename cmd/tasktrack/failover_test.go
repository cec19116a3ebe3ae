package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to read the database directly
)

// TestFailover runs three replicas on the highly available cluster of
// scripts/ha-cluster.sh (one through the multi-host URL, one through
// HAProxy, one through PgBouncer in transaction mode with a direct listen
// URL), with clients creating tasks and changing statuses, tasks whose
// deadlines pass during the test, and an alert stream on every replica.
// It then makes a planned switchover and later kills the primary's
// postmaster with SIGKILL. Afterwards every acknowledged creation and
// status change is in the database (and none was applied twice), no
// request was answered 500, each missed task has exactly one alert and
// every stream received every alert. It reports how long each replica
// took from the kill to its first success.
//
// It runs with TASKTRACK_TEST_HA=1 and the TASKTRACK_HA_* variables that
// `scripts/ha-cluster.sh up` prints:
//
//	eval "$(bash scripts/ha-cluster.sh up)"
//	TASKTRACK_TEST_HA=1 go test ./cmd/tasktrack -run TestFailover -v
func TestFailover(t *testing.T) {
	if os.Getenv("TASKTRACK_TEST_HA") != "1" {
		t.Skip("TASKTRACK_TEST_HA=1 runs it, on the cluster of scripts/ha-cluster.sh up")
	}
	env := func(name string) string {
		v := os.Getenv(name)
		if v == "" {
			t.Fatalf("%s is not set: run eval \"$(bash scripts/ha-cluster.sh up)\"", name)
		}
		return v
	}
	multi, haproxy, pgbouncer, listen := env("TASKTRACK_HA_MULTIHOST_URL"), env("TASKTRACK_HA_HAPROXY_URL"),
		env("TASKTRACK_HA_PGBOUNCER_URL"), env("TASKTRACK_HA_LISTEN_URL")
	script, err := filepath.Abs(filepath.Join("..", "..", "scripts", "ha-cluster.sh"))
	if err != nil {
		t.Fatal(err)
	}

	// A database of its own on the cluster.
	name := fmt.Sprintf("tt_failover_%d", time.Now().Unix())
	cluster, err := sql.Open("pgx", withDatabase(t, haproxy, "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cluster.Close() })
	if _, err := cluster.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatal(err)
	}
	// After the replicas have stopped (cleanups run last first).
	t.Cleanup(func() { _, _ = cluster.Exec("DROP DATABASE " + name + " WITH (FORCE)") })
	db, err := sql.Open("pgx", withDatabase(t, haproxy, name))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	flags := []string{"--sweep-interval", "1s", "--access-ttl", "1h", "--missed-threshold", "1000", "--db-max-conns", "10"}
	replicas := []struct {
		name  string
		url   string
		flags []string
	}{
		{"multi-host", withDatabase(t, multi, name), nil},
		{"HAProxy", withDatabase(t, haproxy, name), nil},
		{"PgBouncer", withDatabase(t, pgbouncer, name), []string{"--database-listen-url", withDatabase(t, listen, name)}},
	}
	servers := make([]*server, len(replicas))
	for i, r := range replicas {
		servers[i] = startServe(t, r.url, adminEnv, append(slices.Clone(flags), r.flags...)...)
	}
	admin := servers[0].login(t, "admin", adminPassword)
	admin.CreateUser("boss", "manager", "boss@example.com")
	boss := servers[0].login(t, "boss", userPassword("boss"))
	users := make([]*client, len(servers))
	for i := range users {
		uname := fmt.Sprintf("user%d", i)
		admin.CreateUser(uname, "user", uname+"@example.com")
		users[i] = servers[i].login(t, uname, userPassword(uname))
	}
	// Each user's own tasks, far from their deadlines, for status changes.
	owned := make([][]string, len(users))
	for i, u := range users {
		for j := range 4 {
			owned[i] = append(owned[i], boss.CreateTask(u.ID, fmt.Sprintf("owned %d.%d", i, j), time.Now().Add(24*time.Hour)))
		}
	}

	rec := &failoverRecord{acked: map[string]bool{}, changes: map[string]*statusLog{}}
	for _, ids := range owned {
		for _, id := range ids {
			rec.changes[id] = &statusLog{current: "pending"}
		}
	}
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() {
		stop()
		wg.Wait()
	}()
	streams := make([]*alertStream, len(servers))
	for i, s := range servers {
		streams[i] = &alertStream{seen: map[string]int{}}
		c := s.client(t, boss.Access)
		wg.Go(func() { streams[i].run(ctx, c, rec, i) })
		wg.Go(func() { pollReady(ctx, s, rec, i) })
		creator := s.client(t, boss.Access)
		wg.Go(func() { createTasks(ctx, creator, users, rec, i) })
		changer := s.client(t, users[i].Access)
		wg.Go(func() { changeStatuses(ctx, changer, owned[i], rec, i) })
	}

	time.Sleep(5 * time.Second)
	rec.mark("switchover")
	out, err := exec.Command("bash", script, "switchover").CombinedOutput()
	if err != nil {
		t.Fatalf("switchover: %v\n%s", err, out)
	}
	t.Logf("switchover: %s", strings.TrimSpace(string(out)))
	rec.waitRecovered(t, "switchover", len(servers), 60*time.Second)
	time.Sleep(8 * time.Second)
	rec.mark("kill")
	out, err = exec.Command("bash", script, "kill-primary").CombinedOutput()
	if err != nil {
		t.Fatalf("kill-primary: %v\n%s", err, out)
	}
	t.Logf("kill-primary: %s", strings.TrimSpace(string(out)))
	rec.waitRecovered(t, "kill", len(servers), 60*time.Second)
	time.Sleep(5 * time.Second)
	stop()
	wg.Wait()

	// The sweeps catch up with every deadline passed.
	waitFor(t, 30*time.Second, "every passed deadline swept", func() bool {
		var n int
		err := db.QueryRow("SELECT count(*) FROM tasks WHERE status IN ('pending', 'in_progress') AND deadline < $1", time.Now().UnixMicro()).Scan(&n)
		return err == nil && n == 0
	})
	rec.report(t, replicas[0].name, replicas[1].name, replicas[2].name)
	rec.checkWrites(t, db)
	checkAlerts(t, db, servers, boss, streams)
}

// withDatabase returns the PostgreSQL URL u naming database name.
func withDatabase(t *testing.T, u, name string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	p.Path = "/" + name
	return p.String()
}

// outcome is one request's answer, or its transport error.
type outcome struct {
	replica    int
	write      bool
	start, end time.Time
	status     int
	err        error
	what       string
}

// statusLog is what one client did to one task's status: the statuses it
// asked for, and those acknowledged, in order.
type statusLog struct {
	current   string
	attempted []string
	acked     []string
}

// failoverRecord collects every answer of the test's clients.
type failoverRecord struct {
	mu       sync.Mutex
	outcomes []outcome
	marks    []struct {
		name string
		at   time.Time
	}
	acked   map[string]bool // created tasks, by id, acknowledged with 201
	titles  []string        // titles of every creation attempted
	changes map[string]*statusLog
}

func (r *failoverRecord) add(o outcome) {
	r.mu.Lock()
	r.outcomes = append(r.outcomes, o)
	r.mu.Unlock()
}

func (r *failoverRecord) mark(name string) {
	r.mu.Lock()
	r.marks = append(r.marks, struct {
		name string
		at   time.Time
	}{name, time.Now()})
	r.mu.Unlock()
}

// window returns when the mark was made and when the next one was (or
// the far future).
func (r *failoverRecord) window(name string) (from, to time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	to = time.Now().Add(time.Hour)
	for i, m := range r.marks {
		if m.name == name {
			if i+1 < len(r.marks) {
				to = r.marks[i+1].at
			}
			return m.at, to
		}
	}
	return to, to
}

// recovery returns, for each replica, how long after the mark its first
// successful write came that started after its last failed write since
// the mark and before the next (0 when it had none), whether it has recovered (it has such a
// success, and failed at least once or the mark is 10 s past), and its
// failed writes since the mark.
func (r *failoverRecord) recovery(mark string, replicas int) (took []time.Duration, done []bool, failures []int) {
	at, until := r.window(mark)
	r.mu.Lock()
	defer r.mu.Unlock()
	took = make([]time.Duration, replicas)
	done = make([]bool, replicas)
	failures = make([]int, replicas)
	lastFail := make([]time.Time, replicas)
	for _, o := range r.outcomes {
		if o.write && !o.end.Before(at) && o.end.Before(until) && (o.err != nil || o.status >= 300) {
			failures[o.replica]++
			if o.end.After(lastFail[o.replica]) {
				lastFail[o.replica] = o.end
			}
		}
	}
	first := make([]time.Time, replicas)
	for _, o := range r.outcomes {
		if o.write && o.err == nil && o.status < 300 && !o.end.Before(at) && o.end.Before(until) && o.start.After(lastFail[o.replica]) &&
			(first[o.replica].IsZero() || o.end.Before(first[o.replica])) {
			first[o.replica] = o.end
		}
	}
	for i := range replicas {
		if failures[i] > 0 && !first[i].IsZero() {
			took[i] = first[i].Sub(at)
		}
		done[i] = !first[i].IsZero() && (failures[i] > 0 || time.Since(at) > 10*time.Second)
	}
	return took, done, failures
}

// failureWindow returns when the replica's failed writes since the mark
// (and before the next) began and ended, counted from the mark.
func (r *failoverRecord) failureWindow(mark string, replica int) (from, to time.Duration) {
	at, until := r.window(mark)
	r.mu.Lock()
	defer r.mu.Unlock()
	from = -1
	for _, o := range r.outcomes {
		if o.replica == replica && o.write && !o.end.Before(at) && o.end.Before(until) && (o.err != nil || o.status >= 300) {
			if from < 0 || o.end.Sub(at) < from {
				from = o.end.Sub(at)
			}
			to = max(to, o.end.Sub(at))
		}
	}
	return from, to
}

func (r *failoverRecord) waitRecovered(t *testing.T, mark string, replicas int, within time.Duration) {
	t.Helper()
	waitFor(t, within, "every replica writing again after the "+mark, func() bool {
		_, done, _ := r.recovery(mark, replicas)
		return !slices.Contains(done, false)
	})
}

func (r *failoverRecord) report(t *testing.T, names ...string) {
	t.Helper()
	for _, mark := range []string{"switchover", "kill"} {
		took, _, failures := r.recovery(mark, len(names))
		for i, name := range names {
			from, to := r.failureWindow(mark, i)
			t.Logf("%s, replica through %s: first success %s after it; %d failed writes (503) from %s to %s", mark, name,
				took[i].Round(10*time.Millisecond), failures[i], from.Round(10*time.Millisecond), to.Round(10*time.Millisecond))
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	counts := map[string]int{}
	var slowest outcome
	for _, o := range r.outcomes {
		switch {
		case o.err != nil:
			t.Errorf("replica %d %s: %v", o.replica, o.what, o.err)
		case o.status == http.StatusInternalServerError || (o.status >= 500 && o.status != http.StatusServiceUnavailable):
			t.Errorf("replica %d %s: answered %d", o.replica, o.what, o.status)
		}
		counts[fmt.Sprintf("%s %d", strings.Fields(o.what)[0], o.status)]++
		if o.end.Sub(o.start) > slowest.end.Sub(slowest.start) {
			slowest = o
		}
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		t.Logf("answers %s: %d", k, counts[k])
	}
	t.Logf("slowest answer: %s on replica %d, %d after %s", slowest.what, slowest.replica, slowest.status, slowest.end.Sub(slowest.start).Round(time.Millisecond))
}

// checkWrites compares what was acknowledged with the database: every
// acknowledged creation is there, no creation is there twice, and each
// task's status changes are those acknowledged, possibly with some whose
// answer was lost, each applied at most once.
func (r *failoverRecord) checkWrites(t *testing.T, db *sql.DB) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	ids := map[string]bool{}
	titles := map[string]int{}
	rows, err := db.Query("SELECT id, title FROM tasks")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, title string
		if err := rows.Scan(&id, &title); err != nil {
			t.Fatal(err)
		}
		ids[id] = true
		titles[title]++
	}
	rows.Close()
	lost := 0
	for id := range r.acked {
		if !ids[id] {
			lost++
			t.Errorf("acknowledged task %s is not in the database", id)
		}
	}
	for title, n := range titles {
		if n > 1 {
			t.Errorf("task %q is in the database %d times", title, n)
		}
	}
	t.Logf("creations: %d attempted, %d acknowledged, %d in the database, %d acknowledged ones missing", len(r.titles), len(r.acked), len(ids), lost)

	applied := map[string][]string{}
	rows, err = db.Query("SELECT target_id, details FROM audit_log WHERE action = 'task.status' ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, details string
		if err := rows.Scan(&id, &details); err != nil {
			t.Fatal(err)
		}
		var d struct{ To string }
		if err := json.Unmarshal([]byte(details), &d); err != nil {
			t.Fatal(err)
		}
		applied[id] = append(applied[id], d.To)
	}
	rows.Close()
	attempted, acked := 0, 0
	for id, log := range r.changes {
		attempted += len(log.attempted)
		acked += len(log.acked)
		if !subsequence(log.acked, applied[id]) {
			t.Errorf("task %s: acknowledged %v, in the database %v", id, log.acked, applied[id])
		}
		if !subsequence(applied[id], log.attempted) {
			t.Errorf("task %s: in the database %v, attempted only %v", id, applied[id], log.attempted)
		}
	}
	t.Logf("status changes: %d attempted, %d acknowledged, all of them in the database", attempted, acked)
}

// subsequence reports whether a is b with some elements left out.
func subsequence(a, b []string) bool {
	i := 0
	for _, s := range b {
		if i < len(a) && a[i] == s {
			i++
		}
	}
	return i == len(a)
}

// pace is the pause between a client's requests, so that the clients
// leave the machine's two cores to the servers and the cluster.
const pace = 40 * time.Millisecond

// createTasks creates tasks through one replica until ctx ends, every
// fourth due within the next 25 seconds, so that deadlines pass while the
// primary changes.
func createTasks(ctx context.Context, c *client, users []*client, rec *failoverRecord, replica int) {
	for i := 0; ctx.Err() == nil; i++ {
		title := fmt.Sprintf("r%d task %d", replica, i)
		deadline := time.Now().Add(24 * time.Hour)
		if i%4 == 0 {
			deadline = time.Now().Add(time.Duration(2+i%23) * time.Second)
		}
		rec.mu.Lock()
		rec.titles = append(rec.titles, title)
		rec.mu.Unlock()
		o := outcome{replica: replica, write: true, start: time.Now(), what: "create " + title}
		r, err := c.Request("POST", "/api/task/tasks/", map[string]any{
			"title": title, "deadline": deadline.UTC().Format(time.RFC3339Nano), "assigned_to": users[i%len(users)].ID,
		})
		o.end, o.err = time.Now(), err
		if r != nil {
			o.status = r.Status
			if r.Status == http.StatusCreated {
				var task struct{ ID string }
				if json.Unmarshal(r.Body, &task) == nil && task.ID != "" {
					rec.mu.Lock()
					rec.acked[task.ID] = true
					rec.mu.Unlock()
				}
			}
		}
		rec.add(o)
		time.Sleep(pace)
	}
}

// next is the status a changer asks for after s.
func next(s string) string {
	switch s {
	case "pending":
		return "in_progress"
	case "in_progress":
		return "completed"
	}
	return "pending"
}

// changeStatuses moves one user's tasks through their statuses until ctx
// ends. After an answer that leaves the outcome unknown, it reads the task
// before changing it again, so that every change it asks for is a change.
func changeStatuses(ctx context.Context, c *client, ids []string, rec *failoverRecord, replica int) {
	for i := 0; ctx.Err() == nil; i++ {
		id := ids[i%len(ids)]
		rec.mu.Lock()
		log := rec.changes[id]
		want := next(log.current)
		log.attempted = append(log.attempted, want)
		rec.mu.Unlock()
		o := outcome{replica: replica, write: true, start: time.Now(), what: "status " + id + " " + want}
		r, err := c.Request("PATCH", "/api/task/tasks/"+id+"/update_status/", map[string]string{"status": want})
		o.end, o.err = time.Now(), err
		if r != nil {
			o.status = r.Status
		}
		rec.add(o)
		if err == nil && r.Status == http.StatusOK {
			rec.mu.Lock()
			log.acked = append(log.acked, want)
			log.current = want
			rec.mu.Unlock()
		} else {
			for ctx.Err() == nil {
				o := outcome{replica: replica, start: time.Now(), what: "read " + id}
				r, err := c.Request("GET", "/api/task/tasks/"+id+"/", nil)
				o.end, o.err = time.Now(), err
				if r != nil {
					o.status = r.Status
				}
				rec.add(o)
				if err == nil && r.Status == http.StatusOK {
					var task struct{ Status string }
					if json.Unmarshal(r.Body, &task) == nil {
						rec.mu.Lock()
						log.current = task.Status
						rec.mu.Unlock()
					}
					break
				}
				time.Sleep(pace)
			}
		}
		time.Sleep(pace)
	}
}

// pollReady asks /readyz every 200 ms, recording the answers.
func pollReady(ctx context.Context, s *server, rec *failoverRecord, replica int) {
	c := &client{URL: s.url, HTTP: httpClient}
	for ctx.Err() == nil {
		o := outcome{replica: replica, start: time.Now(), what: "readyz"}
		r, err := c.Request("GET", "/readyz", nil)
		o.end, o.err = time.Now(), err
		if r != nil {
			o.status = r.Status
		}
		rec.add(o)
		time.Sleep(200 * time.Millisecond)
	}
}

// alertStream reads one replica's alert stream as a browser's EventSource
// does: when it ends or cannot be opened, it opens it again with
// Last-Event-ID.
type alertStream struct {
	mu    sync.Mutex
	seen  map[string]int
	opens int
	last  string
}

func (st *alertStream) run(ctx context.Context, c *client, rec *failoverRecord, replica int) {
	for ctx.Err() == nil {
		st.once(ctx, c, rec, replica)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (st *alertStream) once(ctx context.Context, c *client, rec *failoverRecord, replica int) {
	req, err := http.NewRequestWithContext(ctx, "GET", c.URL+"/api/alerts/stream/", nil)
	if err != nil {
		return
	}
	req.Header.Set("Authorization", "Bearer "+c.Access)
	st.mu.Lock()
	if st.last != "" {
		req.Header.Set("Last-Event-ID", st.last)
	}
	st.opens++
	st.mu.Unlock()
	o := outcome{replica: replica, start: time.Now(), what: "stream"}
	res, err := http.DefaultClient.Do(req)
	o.end = time.Now()
	if err != nil {
		if ctx.Err() == nil {
			o.err = err
			rec.add(o)
		}
		return
	}
	defer res.Body.Close()
	o.status = res.StatusCode
	rec.add(o)
	if res.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, res.Body)
		return
	}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var event, id string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if event == "alert" && id != "" {
				st.mu.Lock()
				st.seen[id]++
				st.last = id
				st.mu.Unlock()
			}
			event, id = "", ""
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "id: "):
			id = strings.TrimPrefix(line, "id: ")
		}
	}
}

// checkAlerts checks that each missed task has exactly one alert, that
// no other alert was made, and that every stream received every alert
// once.
func checkAlerts(t *testing.T, db *sql.DB, servers []*server, boss *client, streams []*alertStream) {
	t.Helper()
	var missed, wrong int
	if err := db.QueryRow("SELECT count(*) FROM tasks WHERE status = 'missed'").Scan(&missed); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT count(*) FROM tasks t WHERE t.status = 'missed' AND
		(SELECT count(*) FROM alerts a WHERE a.task_id = t.id AND a.kind = 'task_missed') <> 1`).Scan(&wrong); err != nil {
		t.Fatal(err)
	}
	if wrong > 0 {
		t.Errorf("%d of %d missed tasks do not have exactly one alert", wrong, missed)
	}
	var ids []string
	rows, err := db.Query("SELECT id FROM alerts ORDER BY seq")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if len(ids) != missed {
		t.Errorf("%d alerts for %d missed tasks", len(ids), missed)
	}
	// The streams stopped with the clients; each resumes from where it
	// was for a last catch-up.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for i, st := range streams {
		c := servers[i].client(t, boss.Access)
		sctx, scancel := context.WithCancel(ctx)
		wg.Go(func() {
			defer scancel()
			go func() {
				for sctx.Err() == nil {
					st.mu.Lock()
					n := 0
					for _, id := range ids {
						if st.seen[id] > 0 {
							n++
						}
					}
					st.mu.Unlock()
					if n == len(ids) {
						scancel()
						return
					}
					time.Sleep(100 * time.Millisecond)
				}
			}()
			st.once(sctx, c, &failoverRecord{}, i)
		})
	}
	wg.Wait()
	inDB := map[string]bool{}
	for _, id := range ids {
		inDB[id] = true
	}
	for i, st := range streams {
		st.mu.Lock()
		missing, twice, gone := 0, 0, 0
		for _, id := range ids {
			switch n := st.seen[id]; {
			case n == 0:
				missing++
			case n > 1:
				twice++
			}
		}
		for id := range st.seen {
			if !inDB[id] {
				gone++
			}
		}
		if missing > 0 || twice > 0 {
			t.Errorf("stream on replica %d: %d of %d alerts missing, %d received more than once", i, missing, len(ids), twice)
		}
		// PostgreSQL shows a commit to other sessions before its
		// synchronous standby has confirmed it: a sweep's alerts read on
		// the old primary just before its crash may be gone from the
		// new one, whose sweep then makes them again with new ids.
		t.Logf("stream on replica %d: %d alerts received (%d of them no longer in the database), opened %d times", i, len(st.seen), gone, st.opens)
		st.mu.Unlock()
	}
	t.Logf("missed tasks: %d, each with one alert: %v", missed, wrong == 0)
}
