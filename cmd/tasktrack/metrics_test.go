package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"tasktrack/httpapi"
)

// sample is one line of the Prometheus text format: a metric name, its
// labels and its value.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// parseMetrics reads the Prometheus text format; it fails the test on a
// line it cannot read.
func parseMetrics(t *testing.T, text string) []sample {
	t.Helper()
	var out []sample
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		s := sample{labels: map[string]string{}}
		rest := line
		if i := strings.IndexAny(line, "{ "); i > 0 && line[i] == '{' {
			s.name, rest = line[:i], line[i+1:]
			for !strings.HasPrefix(rest, "}") {
				key, after, ok := strings.Cut(rest, `="`)
				if !ok {
					t.Fatalf("metrics line %q: bad labels", line)
				}
				var value strings.Builder
				j := 0
				for ; j < len(after) && after[j] != '"'; j++ {
					if after[j] == '\\' && j+1 < len(after) {
						j++
						if after[j] == 'n' {
							value.WriteByte('\n')
							continue
						}
					}
					value.WriteByte(after[j])
				}
				if j == len(after) {
					t.Fatalf("metrics line %q: unterminated label", line)
				}
				s.labels[key] = value.String()
				rest = strings.TrimPrefix(after[j+1:], ",")
			}
			rest = strings.TrimSpace(rest[1:])
		} else {
			s.name, rest, _ = strings.Cut(line, " ")
		}
		v, _, _ := strings.Cut(rest, " ") // a timestamp may follow
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			t.Fatalf("metrics line %q: value: %v", line, err)
		}
		s.value = f
		out = append(out, s)
	}
	return out
}

// find returns the samples of the metric name whose labels include want
// ("key", "value", ...).
func find(samples []sample, name string, want ...string) []sample {
	var out []sample
next:
	for _, s := range samples {
		if s.name != name {
			continue
		}
		for i := 0; i+1 < len(want); i += 2 {
			if s.labels[want[i]] != want[i+1] {
				continue next
			}
		}
		out = append(out, s)
	}
	return out
}

// one returns the value of the single sample of name with the labels
// want, failing the test if there is not exactly one.
func one(t *testing.T, samples []sample, name string, want ...string) float64 {
	t.Helper()
	got := find(samples, name, want...)
	if len(got) != 1 {
		t.Fatalf("%d samples of %s%v in /metrics, want 1", len(got), name, want)
	}
	return got[0].value
}

// TestMetrics drives a server through requests, failed and rate-limited
// logins, a sweep that marks a task missed and deactivates its assignee,
// and a reactivation, then reads /metrics from the metrics listener:
// every counter has the exact count, requests are labelled by route
// pattern (never by raw path), method and status, and the gauges and
// histograms are there. The API's own listener serves no metrics.
func TestMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the binary and waits for a deadline")
	}
	t.Parallel()
	start := time.Now()
	s := startServe(t, sqliteFile(t), adminEnv,
		"--sweep-interval", "200ms", "--missed-threshold", "1", "--login-limit-user", "2/1h")
	admin := s.login(t, "admin", adminPassword)
	workerID := admin.CreateUser("worker", "user", "worker@example.com")

	// Three tasks: one will be missed, two stay open.
	due := time.Now().Add(time.Second)
	late := admin.CreateTask(workerID, "Late", due)
	admin.CreateTask(workerID, "Later", due.Add(time.Hour))
	admin.CreateTask(workerID, "Latest", due.Add(2*time.Hour))
	admin.Want("GET", "/api/task/tasks/"+late+"/", nil, http.StatusOK)
	admin.Want("GET", "/api/task/tasks/?limit=2", nil, http.StatusOK)
	s.anon(t).Want("GET", "/api/no/such/path/", nil, http.StatusNotFound)
	s.anon(t).Want("GET", "/no-such-page-"+late, nil, http.StatusOK) // the web UI

	// Two wrong passwords for one username, then the limit answers.
	for _, want := range []int{http.StatusUnauthorized, http.StatusUnauthorized, http.StatusTooManyRequests} {
		if r := s.tryLogin(t, "worker", "not-the-password"); r.Status != want {
			t.Fatalf("wrong login: %s, want %d", r, want)
		}
	}

	// The server's own sweep marks the late task and, at a threshold of
	// one, deactivates the worker; an admin reactivates them.
	waitFor(t, 15*time.Second, "the sweep to mark the late task", func() bool {
		var task struct{ Status string }
		admin.Want("GET", "/api/task/tasks/"+late+"/", nil, http.StatusOK).Decode(t, &task)
		return task.Status == "missed"
	})
	waitFor(t, 5*time.Second, "the sweep to deactivate the worker", func() bool {
		var u struct {
			IsActive bool `json:"is_active"`
		}
		admin.Want("GET", fmt.Sprintf("/api/user/users/%d/", workerID), nil, http.StatusOK).Decode(t, &u)
		return !u.IsActive
	})
	admin.Want("POST", fmt.Sprintf("/api/user/users/%d/reactivate/", workerID), nil, http.StatusOK)
	admin.Want("POST", fmt.Sprintf("/api/user/users/%d/reactivate/", workerID), nil, http.StatusBadRequest)
	admin.Want("POST", "/api/user/users/999999/reactivate/", nil, http.StatusNotFound)

	// An open event stream is the one request in flight.
	admin.OpenEvents(alertStreamPath, "")
	r := s.scrape(t)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("/metrics Content-Type %q", ct)
	}
	m := parseMetrics(t, string(r.Body))
	const requests = "tasktrack_http_requests_total"

	counts := []struct {
		route, method, status string
		min, max              float64
	}{
		{"/api/token/", "POST", "200", 1, 1},
		{"/api/token/", "POST", "401", 2, 2},
		{"/api/token/", "POST", "429", 1, 1},
		{"/api/user/me/", "GET", "200", 1, 1},
		{"/api/user/users/", "POST", "201", 1, 1},
		{"/api/user/users/{id}/", "GET", "200", 1, 1000},
		{"/api/task/tasks/", "POST", "201", 3, 3},
		{"/api/task/tasks/", "GET", "200", 1, 1},
		{"/api/task/tasks/{id}/", "GET", "200", 2, 1000},
		{"/api/user/users/{id}/reactivate/", "POST", "200", 1, 1},
		{"/api/user/users/{id}/reactivate/", "POST", "400", 1, 1},
		{"/api/user/users/{id}/reactivate/", "POST", "404", 1, 1},
		{"/readyz", "GET", "200", 1, 1000},
		{"other", "GET", "404", 1, 1},
	}
	for _, c := range counts {
		v := one(t, m, requests, "route", c.route, "method", c.method, "status", c.status)
		if v < c.min || v > c.max {
			t.Errorf("%s{route=%q,method=%q,status=%q} = %v, want %v to %v", requests, c.route, c.method, c.status, v, c.min, c.max)
		}
	}
	// Labels come from route patterns: no id, no unknown path, no
	// unbounded label values.
	for _, s := range find(m, requests) {
		if len(s.labels) != 3 {
			t.Errorf("%s has labels %v, want route, method and status", requests, s.labels)
		}
		route := s.labels["route"]
		if strings.Contains(route, late) || strings.Contains(route, "no-such") || strings.Contains(route, "999999") ||
			(route != "other" && !strings.HasPrefix(route, "/")) {
			t.Errorf("%s has route label %q", requests, route)
		}
	}

	const duration = "tasktrack_http_request_duration_seconds"
	if n := one(t, m, duration+"_count", "route", "/api/task/tasks/", "method", "POST"); n != 3 {
		t.Errorf("%s_count for task creation = %v, want 3", duration, n)
	}
	if sum := one(t, m, duration+"_sum", "route", "/api/task/tasks/", "method", "POST"); sum <= 0 || sum > 60 {
		t.Errorf("%s_sum for task creation = %v", duration, sum)
	}
	if inf := one(t, m, duration+"_bucket", "route", "/api/task/tasks/", "method", "POST", "le", "+Inf"); inf != 3 {
		t.Errorf("%s_bucket{le=+Inf} for task creation = %v, want 3", duration, inf)
	}
	if len(find(m, duration+"_bucket", "route", "/api/task/tasks/", "method", "POST")) < 5 {
		t.Errorf("%s has too few buckets", duration)
	}

	if v := one(t, m, "tasktrack_http_in_flight_requests"); v != 1 {
		t.Errorf("tasktrack_http_in_flight_requests = %v, want 1", v)
	}
	for _, pool := range []string{"writer", "reader"} {
		for _, name := range []string{"open_connections", "in_use_connections", "idle_connections", "wait_count_total"} {
			if v := one(t, m, "tasktrack_db_"+name, "pool", pool); v < 0 {
				t.Errorf("tasktrack_db_%s{pool=%q} = %v", name, pool, v)
			}
		}
	}
	if v := one(t, m, "tasktrack_db_open_connections", "pool", "writer"); v < 1 {
		t.Errorf("tasktrack_db_open_connections{pool=writer} = %v after writes, want at least 1", v)
	}

	exact := []struct {
		name string
		want float64
	}{
		{"tasktrack_login_failures_total", 2},
		{"tasktrack_login_rate_limited_total", 1},
		{"tasktrack_tasks_missed_total", 1},
		{"tasktrack_users_deactivated_total", 1},
		{"tasktrack_users_reactivated_total", 1},
		{"tasktrack_http_overload_total", 0},
		{"tasktrack_sweep_failures_total", 0},
	}
	for _, c := range exact {
		if v := one(t, m, c.name); v != c.want {
			t.Errorf("%s = %v, want %v", c.name, v, c.want)
		}
	}
	if n := one(t, m, "tasktrack_sweep_duration_seconds_count"); n < 2 {
		t.Errorf("tasktrack_sweep_duration_seconds_count = %v, want at least 2 sweeps", n)
	}
	last := one(t, m, "tasktrack_sweep_last_success_timestamp_seconds")
	if at := time.Unix(0, int64(last*1e9)); at.Before(start.Add(-time.Second)) || at.After(time.Now().Add(time.Second)) {
		t.Errorf("tasktrack_sweep_last_success_timestamp_seconds = %v (%s), want between %s and now", last, at, start)
	}
	// The runtime's own metrics are there too.
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes"} {
		one(t, m, name)
	}
	// The collector runs at serve's own GOGC when the environment sets none.
	if _, set := os.LookupEnv("GOGC"); !set {
		if v := one(t, m, "go_gc_gogc_percent"); v != serveGCPercent {
			t.Errorf("go_gc_gogc_percent = %v, want %d", v, serveGCPercent)
		}
	}

	// Neither the API's listener nor another path of the metrics one
	// tells any of it.
	if r := s.anon(t).Do("GET", "/metrics", nil); strings.Contains(string(r.Body), "tasktrack_") {
		t.Errorf("GET /metrics on the API: %d %s", r.Status, r.Body)
	}
	res, err := httpClient.Get(s.metricsURL + "/api/user/me/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("GET /api/user/me/ on the metrics listener: %d, want 404", res.StatusCode)
	}
}

// TestMetricsOff: --metrics-addr off (or empty) opens no metrics listener.
func TestMetricsOff(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the binary")
	}
	t.Parallel()
	for _, v := range []string{"off", ""} {
		t.Run(fmt.Sprintf("%q", v), func(t *testing.T) {
			t.Parallel()
			// The flag given last wins over the one startServe gives.
			s := startServe(t, sqliteFile(t), adminEnv, "--sweep-interval", "0", "--metrics-addr", v)
			s.anon(t).Want("GET", "/api/user/roles/", nil, http.StatusUnauthorized)
			if res, err := httpClient.Get(s.metricsURL + "/metrics"); err == nil {
				res.Body.Close()
				t.Errorf("the metrics address answers %d", res.StatusCode)
			}
			s.stop()
			if out := s.stderr.String(); strings.Contains(out, "serving metrics") {
				t.Errorf("a metrics listener with --metrics-addr %q:\n%s", v, out)
			}
		})
	}
}

// TestMetricsBounded: requests with made-up methods and paths, sent
// without credentials, add no series to /metrics. Every method label is
// a known method or "other" and every route label a route pattern or
// "other"; a second round of new methods and paths, in the same mix as
// the first, leaves the number of series where the first left it.
func TestMetricsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the binary")
	}
	t.Parallel()
	s := startServe(t, sqliteFile(t), adminEnv, "--sweep-interval", "0")
	known := []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
	// The paths: an API route with an id, one without, an unknown API
	// path, the web UI, and the docs; %s is a new value every time.
	paths := []string{"/api/task/tasks/%s/", "/api/user/roles/?q=%s", "/api/%s/x/", "/%s", "/api/docs/%s"}
	var routes []string
	for _, r := range (&httpapi.Server{}).Routes() {
		_, path, _ := strings.Cut(r, " ")
		routes = append(routes, path)
	}
	n := 0
	round := func() {
		for _, p := range paths {
			methods := append([]string{}, known...)
			for range 20 {
				n++
				methods = append(methods, fmt.Sprintf("M%dX", n), fmt.Sprintf("get%d", n))
			}
			for _, m := range methods {
				n++
				req, err := http.NewRequest(m, s.url+fmt.Sprintf(p, fmt.Sprintf("p%d", n)), nil)
				if err != nil {
					t.Fatal(err)
				}
				res, err := httpClient.Do(req)
				if err != nil {
					t.Fatalf("%s %s: %v", m, req.URL.Path, err)
				}
				res.Body.Close()
				if res.StatusCode >= 500 {
					t.Fatalf("%s %s: %d", m, req.URL.Path, res.StatusCode)
				}
			}
		}
	}
	series := func() int {
		count := 0
		bad := map[string]bool{}
		for _, smp := range parseMetrics(t, string(s.scrape(t).Body)) {
			if !strings.HasPrefix(smp.name, "tasktrack_http_") {
				continue
			}
			count++
			if m, ok := smp.labels["method"]; ok && m != "other" && !slices.Contains(known, m) {
				bad["method="+m] = true
			}
			if r, ok := smp.labels["route"]; ok && r != "other" && !slices.Contains(routes, r) {
				bad["route="+r] = true
			}
		}
		if len(bad) > 0 {
			labels := slices.Sorted(maps.Keys(bad))
			t.Errorf("%d label values outside the fixed sets, such as %q", len(labels), labels[:min(5, len(labels))])
		}
		return count
	}
	round()
	first := series()
	round()
	if second := series(); second != first {
		t.Errorf("%d series after the second round of made-up requests, %d after the first", second, first)
	}
}

// With --log-format json every line the server writes, from start to a
// graceful stop, is a JSON object with time, level and msg; each request
// line carries the request's id. On a first start with no admin password
// the random password line is JSON too.
func TestJSONLogs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the binary")
	}
	t.Parallel()
	cases := []struct {
		name string
		env  []string
	}{
		{"admin password given", adminEnv},
		{"random admin password", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := startServe(t, sqliteFile(t), c.env, "--log-format", "json", "--log-level", "debug", "--sweep-interval", "1h")
			password := adminPassword
			if c.env == nil {
				for line := range strings.Lines(s.stderr.String()) {
					var l map[string]any
					if json.Unmarshal([]byte(line), &l) == nil {
						if p, ok := l["password"].(string); ok {
							password = p
						}
					}
				}
			}
			admin := s.login(t, "admin", password)
			ids := map[string]int{}
			for i, req := range []struct {
				method, path string
				status       int
			}{
				{"GET", "/api/user/me/", 200},
				{"GET", "/api/nothing/", 404},
				{"DELETE", "/api/user/roles/", 405},
			} {
				id := fmt.Sprintf("json-log-%d", i)
				admin.Want(req.method, req.path, nil, req.status, "X-Request-ID", id)
				ids[id] = req.status
			}
			if r := s.tryLogin(t, "admin", "wrong-password"); r.Status != http.StatusUnauthorized {
				t.Fatalf("wrong login: %d %s", r.Status, r.Body)
			}
			s.stop()

			out := s.stderr.String()
			seen := map[string]bool{}
			lines := 0
			for line := range strings.Lines(out) {
				lines++
				var l map[string]any
				if err := json.Unmarshal([]byte(line), &l); err != nil {
					t.Errorf("log line is not JSON: %q", line)
					continue
				}
				for _, key := range []string{"time", "level", "msg"} {
					if _, ok := l[key]; !ok {
						t.Errorf("log line without %q: %q", key, line)
					}
				}
				if l["msg"] != "request" {
					continue
				}
				id, _ := l["request_id"].(string)
				if id == "" {
					t.Errorf("request line without request_id: %q", line)
				}
				if want, ok := ids[id]; ok {
					if l["status"] != float64(want) || seen[id] {
						t.Errorf("request line %q: want status %d, once", line, want)
					}
					seen[id] = true
				}
			}
			for id := range ids {
				if !seen[id] {
					t.Errorf("no request line with request_id %q", id)
				}
			}
			if lines < len(ids)+2 {
				t.Errorf("only %d log lines:\n%s", lines, out)
			}
		})
	}
}
