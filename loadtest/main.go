// Command loadtest drives a running tasktrack server over HTTP and reports
// throughput and latency. It sets up its own users and tasks through the
// API (a manager and -users users with -tasks tasks each), so any server
// with a known admin password will do; names carry a per-run prefix, so
// runs can repeat against one database.
//
// Modes:
//
//	-mode mixed       -clients clients for -duration on a mixed workload:
//	                  each user lists, reads and updates the status of their
//	                  own tasks and the manager creates tasks (weights set
//	                  by -mix). Exits 1 on any error: a transport error or
//	                  an unexpected status.
//	-mode loginflood  -clients users list their tasks for -duration in three
//	                  phases: without a flood; while -flooders goroutines
//	                  send wrong passwords for one username from this
//	                  address (the login limits answer 429 almost at once);
//	                  and while they send wrong passwords for ever new
//	                  usernames from ever new addresses (X-Forwarded-For:
//	                  start the server with --trusted-proxies 127.0.0.1), so
//	                  every attempt costs a password hash and only the
//	                  bound on concurrent hashing protects everyone else.
//	                  A probe signs in correctly every 100 ms throughout.
//	                  Exits 1 if a list request fails.
//
// scripts/loadtest.sh builds and starts a fresh server and runs both.
//
//	go run ./loadtest -url http://127.0.0.1:8000 -admin-password P -mode mixed
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

type config struct {
	url           string
	adminPassword string
	clients       int
	duration      time.Duration
	mode          string
	users         int
	tasks         int
	mix           [4]int // list, read, update status, create
	flooders      int
	listLimit     int
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	var c config
	var mix string
	fs.StringVar(&c.url, "url", "http://127.0.0.1:8000", "base URL of the server")
	fs.StringVar(&c.adminPassword, "admin-password", os.Getenv("TASKTRACK_ADMIN_PASSWORD"), "password of the admin \"admin\" ($TASKTRACK_ADMIN_PASSWORD)")
	fs.IntVar(&c.clients, "clients", 64, "concurrent clients (loginflood: clients listing tasks)")
	fs.DurationVar(&c.duration, "duration", 30*time.Second, "length of the run (loginflood: of each phase)")
	fs.StringVar(&c.mode, "mode", "mixed", "mixed or loginflood")
	fs.IntVar(&c.users, "users", 16, "users to create; the clients act as them in turn")
	fs.IntVar(&c.tasks, "tasks", 20, "tasks to create for each user")
	fs.StringVar(&mix, "mix", "40,30,20,10", "mixed mode: weights of list, read, update status and create")
	fs.IntVar(&c.flooders, "flooders", 32, "loginflood: goroutines sending wrong passwords")
	fs.IntVar(&c.listLimit, "list-limit", 20, "page size of the task lists (?limit=)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.adminPassword == "" {
		return errors.New("give the admin's password with -admin-password or $TASKTRACK_ADMIN_PASSWORD")
	}
	if c.clients < 1 || c.users < 1 || c.tasks < 1 || c.duration <= 0 {
		return errors.New("-clients, -users, -tasks and -duration must be positive")
	}
	parts := strings.Split(mix, ",")
	if len(parts) != 4 {
		return errors.New("-mix wants four weights: list,read,update,create")
	}
	for i, p := range parts {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 0 {
			return fmt.Errorf("-mix: %q is not a weight", p)
		}
		c.mix[i] = n
	}
	c.url = strings.TrimSuffix(c.url, "/")
	api := newAPI(c.url, c.clients+c.flooders+16)

	start := time.Now()
	w, err := setUp(api, c)
	if err != nil {
		return fmt.Errorf("set-up: %w", err)
	}
	fmt.Fprintf(stdout, "set up %d users with %d tasks each and a manager in %s\n", c.users, c.tasks, time.Since(start).Round(time.Millisecond))

	switch c.mode {
	case "mixed":
		return runMixed(api, c, w, stdout)
	case "loginflood":
		return runLoginFlood(api, c, w, stdout)
	}
	return fmt.Errorf("unknown -mode %q (mixed or loginflood)", c.mode)
}

// api sends requests to the server over one pool of connections.
type api struct {
	base   string
	client *http.Client
}

func newAPI(base string, conns int) *api {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = conns
	tr.MaxIdleConnsPerHost = conns
	return &api{base: base, client: &http.Client{Transport: tr, Timeout: 60 * time.Second}}
}

// result is the outcome of one request.
type result struct {
	status int
	body   []byte
	err    error
}

// do sends one request; body is JSON-encoded unless nil.
func (a *api) do(method, path, token string, body any, headers ...string) result {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return result{err: err}
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.base+path, rd)
	if err != nil {
		return result{err: err}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := a.client.Do(req)
	if err != nil {
		return result{err: err}
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	return result{status: res.StatusCode, body: out, err: err}
}

// must sends a set-up request that has to answer want.
func (a *api) must(method, path, token string, body any, want int, into any) error {
	r := a.do(method, path, token, body)
	if r.err != nil {
		return fmt.Errorf("%s %s: %w", method, path, r.err)
	}
	if r.status != want {
		return fmt.Errorf("%s %s: %d %s, want %d", method, path, r.status, r.body, want)
	}
	if into != nil {
		return json.Unmarshal(r.body, into)
	}
	return nil
}

func (a *api) login(username, password string) (string, error) {
	var pair struct{ Access string }
	if err := a.must("POST", "/api/token/", "", map[string]string{"username": username, "password": password}, 200, &pair); err != nil {
		return "", err
	}
	return pair.Access, nil
}

// user is a signed-in account of the workload.
type user struct {
	id       int64
	name     string
	token    string
	taskIDs  []string
	password string
}

// world is what the set-up made.
type world struct {
	prefix  string
	manager *user
	users   []*user
}

// setUp creates a manager and c.users users, signs them in, and gives each
// user c.tasks tasks due in a week, eight requests at a time.
func setUp(a *api, c config) (*world, error) {
	admin, err := a.login("admin", c.adminPassword)
	if err != nil {
		return nil, err
	}
	w := &world{prefix: "lt" + strconv.FormatInt(time.Now().UnixNano()%1e10, 36)}
	password := "load-" + w.prefix + "-secret"
	create := func(name, role string) (*user, error) {
		var u struct{ ID int64 }
		if err := a.must("POST", "/api/user/users/", admin, map[string]string{"username": name, "password": password, "role": role}, 201, &u); err != nil {
			return nil, err
		}
		token, err := a.login(name, password)
		if err != nil {
			return nil, err
		}
		return &user{id: u.ID, name: name, token: token, password: password}, nil
	}
	if w.manager, err = create(w.prefix+"-manager", "manager"); err != nil {
		return nil, err
	}
	w.users = make([]*user, c.users)
	err = parallel(8, c.users, func(i int) error {
		u, err := create(fmt.Sprintf("%s-u%d", w.prefix, i), "user")
		w.users[i] = u
		return err
	})
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(7 * 24 * time.Hour)
	err = parallel(8, c.users, func(i int) error {
		u := w.users[i]
		for j := range c.tasks {
			var t struct{ ID string }
			body := map[string]any{
				"title": fmt.Sprintf("Task %d of %s", j, u.name), "description": "load test",
				"deadline": deadline.Add(time.Duration(j) * time.Minute).UTC().Format(time.RFC3339), "assigned_to": u.id,
			}
			if err := a.must("POST", "/api/task/tasks/", w.manager.token, body, 201, &t); err != nil {
				return err
			}
			u.taskIDs = append(u.taskIDs, t.ID)
		}
		return nil
	})
	return w, err
}

// parallel runs f(0..n-1), at most k at once, and returns the first error.
func parallel(k, n int, f func(i int) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	sem := make(chan struct{}, k)
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := f(i); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return first
}

// stats collects the latencies and errors of one operation.
type stats struct {
	mu       sync.Mutex
	lat      []time.Duration
	errors   int
	statuses map[int]int
	samples  []string // the first few errors
}

func newStats() *stats { return &stats{statuses: map[int]int{}} }

// record notes one request that took d and answered r; ok says whether
// the answer was the expected one.
func (s *stats) record(d time.Duration, r result, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lat = append(s.lat, d)
	s.statuses[r.status]++
	if ok {
		return
	}
	s.errors++
	if len(s.samples) < 3 {
		if r.err != nil {
			s.samples = append(s.samples, r.err.Error())
		} else {
			s.samples = append(s.samples, fmt.Sprintf("%d %.200s", r.status, r.body))
		}
	}
}

// percentile is the nearest-rank percentile p (0..100) of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 2, 64) }

// row is one line of a results table.
type row struct {
	name string
	s    *stats
}

// table prints requests, throughput, errors and latency of each row over
// elapsed, and a total when there is more than one row.
func table(w io.Writer, elapsed time.Duration, rows []row) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "operation\trequests\treq/s\terrors\tp50 ms\tp99 ms\tmax ms\t")
	var all []time.Duration
	errs := 0
	line := func(name string, lat []time.Duration, errors int) {
		slices.Sort(lat)
		var top time.Duration
		if len(lat) > 0 {
			top = lat[len(lat)-1]
		}
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%d\t%s\t%s\t%s\t\n", name, len(lat), float64(len(lat))/elapsed.Seconds(), errors,
			ms(percentile(lat, 50)), ms(percentile(lat, 99)), ms(top))
	}
	for _, r := range rows {
		lat := slices.Clone(r.s.lat)
		all = append(all, lat...)
		errs += r.s.errors
		line(r.name, lat, r.s.errors)
	}
	if len(rows) > 1 {
		line("total", all, errs)
	}
	tw.Flush()
	for _, r := range rows {
		for _, s := range r.s.samples {
			fmt.Fprintf(w, "  %s error: %s\n", r.name, s)
		}
	}
}

// runMixed holds c.clients clients on the mixed workload for c.duration.
func runMixed(a *api, c config, w *world, stdout io.Writer) error {
	names := []string{"list", "read", "update status", "create"}
	ops := make([]*stats, 4)
	for i := range ops {
		ops[i] = newStats()
	}
	total := c.mix[0] + c.mix[1] + c.mix[2] + c.mix[3]
	if total == 0 {
		return errors.New("-mix: all weights are zero")
	}
	statuses := []string{"in_progress", "completed", "pending"}
	var created atomic.Int64
	deadline := time.Now().Add(7 * 24 * time.Hour).UTC()
	ctx, cancel := context.WithTimeout(context.Background(), c.duration)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for i := range c.clients {
		wg.Go(func() {
			rnd := rand.New(rand.NewPCG(uint64(i), uint64(start.UnixNano())))
			u := w.users[i%len(w.users)]
			for n := 0; ctx.Err() == nil; n++ {
				pick := rnd.IntN(total)
				op := 0
				for pick >= c.mix[op] {
					pick -= c.mix[op]
					op++
				}
				task := u.taskIDs[rnd.IntN(len(u.taskIDs))]
				t0 := time.Now()
				var r result
				want := 200
				switch op {
				case 0:
					r = a.do("GET", "/api/task/tasks/?limit="+strconv.Itoa(c.listLimit), u.token, nil)
				case 1:
					r = a.do("GET", "/api/task/tasks/"+task+"/", u.token, nil)
				case 2:
					r = a.do("PATCH", "/api/task/tasks/"+task+"/update_status/", u.token, map[string]string{"status": statuses[n%len(statuses)]})
				case 3:
					want = 201
					k := created.Add(1)
					r = a.do("POST", "/api/task/tasks/", w.manager.token, map[string]any{
						"title": fmt.Sprintf("Load %d", k), "description": "created under load",
						"deadline": deadline.Add(time.Duration(k) * time.Second).Format(time.RFC3339), "assigned_to": u.id,
					})
				}
				ops[op].record(time.Since(t0), r, r.err == nil && r.status == want)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	fmt.Fprintf(stdout, "\nmixed workload: %d clients for %s (list %d%%, read %d%%, update status %d%%, create %d%%; lists of %d)\n",
		c.clients, elapsed.Round(time.Millisecond), c.mix[0]*100/total, c.mix[1]*100/total, c.mix[2]*100/total, c.mix[3]*100/total, c.listLimit)
	rows := make([]row, 4)
	errs := 0
	for i := range ops {
		rows[i] = row{names[i], ops[i]}
		errs += ops[i].errors
	}
	table(stdout, elapsed, rows)
	if errs > 0 {
		return fmt.Errorf("%d errors", errs)
	}
	return nil
}

// flood is a kind of login flood.
type flood struct {
	name string
	// attempt returns the username and the X-Forwarded-For of attempt n
	// ("" for none).
	attempt func(n int64) (username, forwarded string)
}

// runLoginFlood measures the task list without a flood and during each
// kind of flood.
func runLoginFlood(a *api, c config, w *world, stdout io.Writer) error {
	victim := w.users[0].name
	floods := []flood{
		{"no flood", nil},
		{"flood: one username, one address", func(int64) (string, string) { return victim, "" }},
		{"flood: new username and address each time", func(n int64) (string, string) {
			return fmt.Sprintf("%s-nobody-%d", w.prefix, n), fmt.Sprintf("10.%d.%d.%d", n>>16&255, n>>8&255, n&255)
		}},
	}
	type phase struct {
		name        string
		elapsed     time.Duration
		list, login *stats
		attempts    *stats
	}
	var phases []phase
	var counter atomic.Int64
	listErrors := 0
	for _, f := range floods {
		p := phase{name: f.name, list: newStats(), login: newStats(), attempts: newStats()}
		ctx, cancel := context.WithTimeout(context.Background(), c.duration)
		start := time.Now()
		var wg, listers sync.WaitGroup
		for i := range c.clients {
			u := w.users[i%len(w.users)]
			listers.Go(func() {
				for ctx.Err() == nil {
					t0 := time.Now()
					r := a.do("GET", "/api/task/tasks/?limit="+strconv.Itoa(c.listLimit), u.token, nil)
					p.list.record(time.Since(t0), r, r.err == nil && r.status == 200)
				}
			})
		}
		// A person who knows their password signs in every 100 ms, from
		// an address of their own.
		probe := w.users[len(w.users)-1]
		wg.Go(func() {
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			for ctx.Err() == nil {
				t0 := time.Now()
				r := a.do("POST", "/api/token/", "", map[string]string{"username": probe.name, "password": probe.password}, "X-Forwarded-For", "192.0.2.77")
				p.login.record(time.Since(t0), r, r.err == nil && r.status == 200)
				select {
				case <-ctx.Done():
				case <-tick.C:
				}
			}
		})
		if f.attempt != nil {
			for range c.flooders {
				wg.Go(func() {
					for ctx.Err() == nil {
						name, fwd := f.attempt(counter.Add(1))
						var headers []string
						if fwd != "" {
							headers = []string{"X-Forwarded-For", fwd}
						}
						t0 := time.Now()
						r := a.do("POST", "/api/token/", "", map[string]string{"username": name, "password": "wrong-password"}, headers...)
						// A wrong password is meant to fail: 401, 429 once
						// limited, or 503 when no hashing slot came free
						// in time. Anything else is an error.
						p.attempts.record(time.Since(t0), r, r.err == nil && (r.status == 401 || r.status == 429 || r.status == 503))
					}
				})
			}
		}
		// The phase lasts as long as the lists ran; attempts still
		// waiting for a hash when it ends are only waited for.
		listers.Wait()
		p.elapsed = time.Since(start)
		wg.Wait()
		cancel()
		listErrors += p.list.errors
		phases = append(phases, p)

		fmt.Fprintf(stdout, "\n%s: %d clients listing tasks for %s", p.name, c.clients, p.elapsed.Round(time.Millisecond))
		if f.attempt != nil {
			fmt.Fprintf(stdout, ", %d goroutines sending wrong passwords", c.flooders)
		}
		fmt.Fprintln(stdout)
		rows := []row{{"list", p.list}, {"good login", p.login}}
		if f.attempt != nil {
			rows = append(rows, row{"wrong login", p.attempts})
		}
		table(stdout, p.elapsed, rows)
		if f.attempt != nil {
			fmt.Fprintf(stdout, "  wrong logins by status: %s\n", byStatus(p.attempts))
		}
	}

	fmt.Fprintln(stdout, "\ntask list under login floods:")
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "phase\tlist req/s\tlist p50 ms\tlist p99 ms\tlist errors\tgood login p99 ms\twrong logins/s\t")
	for _, p := range phases {
		lat := slices.Clone(p.list.lat)
		slices.Sort(lat)
		good := slices.Clone(p.login.lat)
		slices.Sort(good)
		fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\t%d\t%s\t%.0f\t\n", p.name, float64(len(lat))/p.elapsed.Seconds(), ms(percentile(lat, 50)),
			ms(percentile(lat, 99)), p.list.errors, ms(percentile(good, 99)), float64(len(p.attempts.lat))/p.elapsed.Seconds())
	}
	tw.Flush()
	if last := phases[len(phases)-1]; last.attempts.statuses[401] == 0 {
		fmt.Fprintln(stdout, "  note: no wrong login of the last flood reached the password check; start the server with --trusted-proxies 127.0.0.1 so that X-Forwarded-For gives each attempt an address of its own")
	}
	if listErrors > 0 {
		return fmt.Errorf("%d task list requests failed", listErrors)
	}
	return nil
}

// byStatus formats how many requests answered each status.
func byStatus(s *stats) string {
	var codes []int
	for code := range s.statuses {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	var parts []string
	for _, code := range codes {
		name := strconv.Itoa(code)
		if code == 0 {
			name = "transport error"
		}
		parts = append(parts, fmt.Sprintf("%s: %d", name, s.statuses[code]))
	}
	return strings.Join(parts, ", ")
}
