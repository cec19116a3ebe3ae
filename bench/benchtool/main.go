// Command benchtool is the small helper of bench/run.sh: it times a
// server's start until it is ready, stands in for the mail server and the
// webhook receiver, creates and signs in a burst of users, and turns the
// saved wrk outputs and measurements of one run into the results table.
//
//	benchtool startup -url http://127.0.0.1:18003/readyz -n 3 -- tasktrack serve ...
//	benchtool table -dir bench/out/run
//	benchtool smtpsink -addr 127.0.0.1:2525 [-count-addr 127.0.0.1:2526]
//	benchtool httpsink -addr 127.0.0.1:8026
//	benchtool drain -url http://127.0.0.1:2526/ -url http://127.0.0.1:8026/
//	benchtool users -url http://127.0.0.1:18000 -token ADMIN -n 50
//
// The table reads DIR/raw/<row>.<server>.<round>.txt (wrk --latency output)
// and DIR/metrics.txt ("key value ..." lines written by run.sh).
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: benchtool startup|table|smtpsink|httpsink|drain|users ...")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "startup":
		err = startup(os.Args[2:])
	case "table":
		err = table(os.Args[2:], os.Stdout)
	case "smtpsink":
		err = smtpSink(os.Args[2:], os.Stdout)
	case "httpsink":
		err = httpSink(os.Args[2:], os.Stdout)
	case "drain":
		err = drain(os.Args[2:], os.Stdout)
	case "users":
		err = users(os.Args[2:], os.Stdout)
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtool:", err)
		os.Exit(1)
	}
}

// startup starts the command n times, each time measuring the milliseconds
// until url answers 200, then stops it with SIGTERM. It prints the median
// and every measurement.
func startup(args []string) error {
	fs := flag.NewFlagSet("startup", flag.ContinueOnError)
	url := fs.String("url", "", "readiness URL")
	n := fs.Int("n", 3, "starts")
	timeout := fs.Duration("timeout", 60*time.Second, "give up after")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cmdArgs := fs.Args()
	if *url == "" || len(cmdArgs) == 0 {
		return errors.New("startup: want -url URL -- command args")
	}
	client := &http.Client{Timeout: time.Second}
	var ms []float64
	for range *n {
		cmd := exec.Command(cmdArgs[0], cmdArgs[1:]...)
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
		start := time.Now()
		if err := cmd.Start(); err != nil {
			return err
		}
		ready := false
		for time.Since(start) < *timeout {
			resp, err := client.Get(*url)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					ready = true
					break
				}
			}
			time.Sleep(2 * time.Millisecond)
		}
		d := time.Since(start)
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		if !ready {
			return fmt.Errorf("startup: %s not ready after %s", *url, *timeout)
		}
		ms = append(ms, float64(d.Microseconds())/1000)
	}
	parts := make([]string, len(ms))
	for i, v := range ms {
		parts[i] = strconv.FormatFloat(v, 'f', 0, 64)
	}
	fmt.Printf("%.0f %s\n", median(ms), strings.Join(parts, " "))
	return nil
}

// wrkResult is what one wrk run reported.
type wrkResult struct {
	rps, p50, p99 float64 // req/s, ms
	requests      int
	seconds       float64 // how long wrk ran
	errors        int     // socket errors: connect, read, write, timeout
	non2xx        int
}

var (
	reRPS    = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	reLat    = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$`)
	reNon2xx = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	reSock   = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	reReqs   = regexp.MustCompile(`(\d+) requests in ([\d.]+)(ms|s|m)\b`)
)

func parseWrk(text string) (wrkResult, error) {
	var r wrkResult
	m := reRPS.FindStringSubmatch(text)
	if m == nil {
		return r, errors.New("no Requests/sec line")
	}
	r.rps, _ = strconv.ParseFloat(m[1], 64)
	for _, m := range reLat.FindAllStringSubmatch(text, -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		switch m[3] {
		case "us":
			v /= 1000
		case "s":
			v *= 1000
		}
		if m[1] == "50" {
			r.p50 = v
		} else {
			r.p99 = v
		}
	}
	if m := reNon2xx.FindStringSubmatch(text); m != nil {
		r.non2xx, _ = strconv.Atoi(m[1])
	}
	if m := reSock.FindStringSubmatch(text); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.Atoi(s)
			r.errors += n
		}
	}
	if m := reReqs.FindStringSubmatch(text); m != nil {
		r.requests, _ = strconv.Atoi(m[1])
		r.seconds, _ = strconv.ParseFloat(m[2], 64)
		switch m[3] {
		case "ms":
			r.seconds /= 1000
		case "m":
			r.seconds *= 60
		}
	}
	return r, nil
}

// series is the rounds of one row on one server, by round number.
type series map[int]wrkResult

func (s series) rounds() []int {
	var rs []int
	for r := range s {
		rs = append(rs, r)
	}
	slices.Sort(rs)
	return rs
}

func (s series) med(f func(wrkResult) float64) float64 {
	var v []float64
	for _, r := range s {
		v = append(v, f(r))
	}
	return median(v)
}

func (s series) sum(f func(wrkResult) int) int {
	n := 0
	for _, r := range s {
		n += f(r)
	}
	return n
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// loadRaw reads every dir/raw/<row>.<server>.<round>.txt.
func loadRaw(dir string) (map[string]series, error) {
	files, err := filepath.Glob(filepath.Join(dir, "raw", "*.txt"))
	if err != nil {
		return nil, err
	}
	out := map[string]series{}
	for _, f := range files {
		parts := strings.Split(strings.TrimSuffix(filepath.Base(f), ".txt"), ".")
		if len(parts) != 3 {
			continue
		}
		round, err := strconv.Atoi(parts[2])
		if err != nil {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		r, err := parseWrk(string(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %v", f, err)
		}
		key := parts[0] + "." + parts[1]
		if out[key] == nil {
			out[key] = series{}
		}
		out[key][round] = r
	}
	return out, nil
}

// loadMetrics reads "key value ..." lines.
func loadMetrics(path string) (map[string][]string, error) {
	m := map[string][]string{}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 0 {
			m[fields[0]] = fields[1:]
		}
	}
	return m, sc.Err()
}

// loadRow is one load row of the table: server a measured against
// reference b.
type loadRow struct {
	work   string
	a, b   string  // series keys
	target float64 // the least ratio a/b, if any
	// paired: a and b ran in turns, the ratio is the median of the
	// per-round ratios; otherwise it is the ratio of the medians.
	paired bool
	// zeroErrors: the target is only that nothing failed.
	zeroErrors bool
	rss        string // metrics key of the RSS shown, if any
}

// delivering is what the create rows run with.
const delivering = "with SMTP and a \"*\" webhook"

// targetRows are the load rows of the performance targets.
var targetRows = []loadRow{
	{work: "SQLite: a user lists their 20 tasks (of 10k), c32; ref = SQLite ceiling", a: "list.tt", b: "list.ceil", target: 0.8, paired: true, rss: "rss_list"},
	{work: "SQLite: a user updates a task's status, c32; ref = SQLite ceiling", a: "status.tt", b: "status.ceil", target: 0.9, paired: true},
	{work: "SQLite: a manager creates a task, " + delivering + ", c32; ref = SQLite ceiling", a: "create.tt", b: "create.ceil", target: 1.0, paired: true},
	{work: "PostgreSQL: list, c32; ref = PostgreSQL ceiling", a: "pglist.pg", b: "pglist.pgceil", target: 0.7, paired: true},
	{work: "PostgreSQL: status, c32; ref = PostgreSQL ceiling", a: "pgstatus.pg", b: "pgstatus.pgceil", target: 0.7, paired: true},
	{work: "PostgreSQL: create, " + delivering + ", c32; ref = PostgreSQL ceiling", a: "pgcreate.pg", b: "pgcreate.pgceil", target: 0.7, paired: true},
	{work: "SQLite: list at c128; ref = SQLite ceiling", a: "list128.tt", b: "list128.ceil", zeroErrors: true},
	{work: "SQLite: status at c128; ref = SQLite ceiling", a: "status128.tt", b: "status128.ceil", zeroErrors: true},
	{work: "SQLite: create at c128, " + delivering + "; ref = SQLite ceiling", a: "create128.tt", b: "create128.ceil", zeroErrors: true},
	{work: "PostgreSQL: list at c128; ref = PostgreSQL ceiling", a: "pglist128.pg", b: "pglist128.pgceil", zeroErrors: true},
	{work: "PostgreSQL: status at c128; ref = PostgreSQL ceiling", a: "pgstatus128.pg", b: "pgstatus128.pgceil", zeroErrors: true},
	{work: "PostgreSQL: create at c128, " + delivering + "; ref = PostgreSQL ceiling", a: "pgcreate128.pg", b: "pgcreate128.pgceil", zeroErrors: true},
}

// extraRows are measured too, beyond the targets.
var extraRows = []loadRow{
	{work: "a user's 20 tasks on 1M; ref = same on 10k", a: "scaleuser.tt1m", b: "scaleuser.tt10k", target: 0.8, paired: true},
	{work: "manager's first 100 by deadline on 1M; ref = same on 10k", a: "scalemgr.tt1m", b: "scalemgr.tt10k", target: 0.8, paired: true},
	{work: "PgBouncer (transaction mode): list, c32; ref = PostgreSQL direct", a: "pgblist.pgb", b: "pgblist.pg", paired: true},
	{work: "PgBouncer (transaction mode): status, c32; ref = PostgreSQL direct", a: "pgbstatus.pgb", b: "pgbstatus.pg", paired: true},
	{work: "PgBouncer (transaction mode): create, c32; ref = PostgreSQL direct", a: "pgbcreate.pgb", b: "pgbcreate.pg", paired: true},
}

// The targets of the single measurements.
const (
	sweepSeconds = 1.5 // SQLite sweep, wall
	sweepMB      = 150 // SQLite sweep, peak RSS
	listRSSMB    = 40  // VmRSS while serving the list load
	peakRSSMB    = 100 // VmHWM of the SQLite server over the whole run
	startupMS    = 500
)

func table(args []string, w io.Writer) error {
	fs := flag.NewFlagSet("table", flag.ContinueOnError)
	dir := fs.String("dir", "bench/out/run", "run directory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	raw, err := loadRaw(*dir)
	if err != nil {
		return err
	}
	metrics, err := loadMetrics(filepath.Join(*dir, "metrics.txt"))
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "| work | tasktrack | reference | ratio | target | p50 / p99 ms (tasktrack; ref) | errors / non-2xx (tasktrack; ref) | RSS MB | met |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---|---|---|---|---|")
	for _, row := range targetRows {
		writeLoadRow(w, row, raw, metrics)
	}
	writeSweepRow(w, metrics, "sweep", "SQLite: ", true)
	writeSweepRow(w, metrics, "sweep_pg", "PostgreSQL, beside it: the same ", false)
	writeMemoryRows(w, metrics)
	for _, row := range extraRows {
		writeLoadRow(w, row, raw, metrics)
	}
	if len(metrics["sweep_off"]) > 0 {
		writeSweepRow(w, metrics, "sweep_off", "SQLite, for comparison: ", false)
	} else {
		fmt.Fprintln(w, "| SQLite, for comparison: the sweep with reminders off | not run (BENCH_SWEEP_OFF=1) | | | reported | | | | |")
	}
	if v := metrics["startup_ms"]; len(v) > 0 {
		ms, _ := strconv.ParseFloat(v[0], 64)
		fmt.Fprintf(w, "| `serve` on the %s-task database until /readyz is 200 (median of %s) | %.0f ms | | | <= %d ms | | | | %s |\n",
			metricStr(metrics, "startup_tasks"), strings.Join(v[1:], ", ")+" ms", ms, startupMS, yesNo(ms <= startupMS))
	}
	writeNotes(w, raw, metrics)
	return nil
}

func writeLoadRow(w io.Writer, row loadRow, raw map[string]series, metrics map[string][]string) {
	a, b := raw[row.a], raw[row.b]
	if len(a) == 0 {
		fmt.Fprintf(w, "| %s | not run | | | %s | | | | |\n", row.work, rowTarget(row))
		return
	}
	rps := func(r wrkResult) float64 { return r.rps }
	ma, mb := a.med(rps), b.med(rps)
	var ratio float64
	if row.paired {
		var rs []float64
		for _, r := range a.rounds() {
			if rb, ok := b[r]; ok && rb.rps > 0 {
				rs = append(rs, a[r].rps/rb.rps)
			}
		}
		ratio = median(rs)
	} else if mb > 0 {
		ratio = ma / mb
	}
	errsA := a.sum(func(r wrkResult) int { return r.errors })
	non2xxA := a.sum(func(r wrkResult) int { return r.non2xx })
	errsB := b.sum(func(r wrkResult) int { return r.errors })
	non2xxB := b.sum(func(r wrkResult) int { return r.non2xx })
	clean := errsA == 0 && non2xxA == 0
	met := "-"
	switch {
	case row.zeroErrors:
		met = yesNo(clean)
	case row.target > 0:
		switch {
		case ratio < row.target:
			met = fmt.Sprintf("no (%.0f%% short)", 100*(row.target-ratio)/row.target)
		case !clean:
			met = "no (errors)"
		default:
			met = "yes"
		}
	case !clean:
		met = "errors"
	}
	rounds := ""
	if len(a) > 1 {
		rounds = fmt.Sprintf(" (%d rounds)", len(a))
	}
	lat := func(s series) string {
		if len(s) == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f / %.2f", s.med(func(r wrkResult) float64 { return r.p50 }), s.med(func(r wrkResult) float64 { return r.p99 }))
	}
	rss := ""
	if row.rss != "" {
		rss = rssCell(metrics, row.rss)
	}
	fmt.Fprintf(w, "| %s%s | %.0f | %.0f | %.2f | %s | %s; %s | %d / %d; %d / %d | %s | %s |\n",
		row.work, rounds, ma, mb, ratio, rowTarget(row), lat(a), lat(b), errsA, non2xxA, errsB, non2xxB, rss, met)
}

func rowTarget(row loadRow) string {
	switch {
	case row.zeroErrors:
		return "0 errors, 0 non-2xx"
	case row.target > 0:
		return fmt.Sprintf(">= %.1fx, 0 errors", row.target)
	}
	return "reported"
}

// writeSweepRow writes the sweep measured under key: metrics "key <wall
// seconds> <max rss kB> <duration_ms reported> <tasks missed> <users
// deactivated> <reminders>", "key_tasks", "key_overdue", "key_reminders".
func writeSweepRow(w io.Writer, metrics map[string][]string, key, prefix string, withTarget bool) {
	target := "reported"
	if withTarget {
		target = fmt.Sprintf("<= %.1f s, <= %d MB", sweepSeconds, sweepMB)
	}
	what := ""
	switch reminders := metricStr(metrics, key+"_reminders"); reminders {
	case "off":
		what = ", reminders off"
	case "?":
	default:
		what = ", reminders " + reminders
	}
	v := metrics[key]
	if len(v) < 3 {
		fmt.Fprintf(w, "| %ssweep%s | not run | | | %s | | | | |\n", prefix, what, target)
		return
	}
	wall, _ := strconv.ParseFloat(v[0], 64)
	kb, _ := strconv.ParseFloat(v[1], 64)
	extra := ""
	if len(v) >= 5 {
		extra = fmt.Sprintf(" (sweep itself %s ms; %s tasks missed, %s users deactivated", v[2], v[3], v[4])
		if len(v) >= 6 {
			extra += ", " + v[5] + " reminders"
		}
		extra += ")"
	}
	if t, s := metricStr(metrics, key+"_tasks"), metricStr(metrics, "sweep_tasks"); key != "sweep" && s != "?" && t != s {
		extra += fmt.Sprintf("; a smaller set than SQLite's %s", s)
	}
	met := "-"
	if withTarget {
		met = yesNo(wall <= sweepSeconds && kb/1024 <= sweepMB)
	}
	fmt.Fprintf(w, "| %ssweep over %s tasks, %s due to be missed%s%s | %.2f s | | | %s | | | %.0f | %s |\n",
		prefix, metricStr(metrics, key+"_tasks"), metricStr(metrics, key+"_overdue"), what, extra, wall, target, kb/1024, met)
}

func writeMemoryRows(w io.Writer, metrics map[string][]string) {
	// users_create and users_login: <n> <ms> <failures>
	burst := ""
	if c, l := metrics["users_create"], metrics["users_login"]; len(c) >= 3 && len(l) >= 3 {
		burst = fmt.Sprintf("%s users created through the API by an admin (%s ms, %s failed) and %s logins at once (%s ms, %s failed)",
			c[0], c[1], c[2], l[0], l[1], l[2])
	}
	if v := metrics["rss_list_tt_max_kb"]; len(v) > 0 {
		rss := metricFloat(metrics, "rss_list_tt_max_kb") / 1024
		after := ""
		if burst != "" {
			after = ", after " + burst
		}
		fmt.Fprintf(w, "| SQLite: resident memory while serving the list load%s (largest VmRSS sampled every 0.2 s; ref = ceiling) | %.1f MB | %.1f MB | | <= %d MB | | | VmHWM since start %.1f; %.1f | %s |\n",
			after, rss, metricFloat(metrics, "rss_list_ceil_max_kb")/1024, listRSSMB,
			metricFloat(metrics, "rss_list_tt_hwm_kb")/1024, metricFloat(metrics, "rss_list_ceil_hwm_kb")/1024, yesNo(rss <= listRSSMB))
	} else {
		fmt.Fprintf(w, "| SQLite: resident memory while serving the list load | not run | | | <= %d MB | | | | |\n", listRSSMB)
	}
	if v := metrics["rss_peak_tt_kb"]; len(v) > 0 {
		peak := metricFloat(metrics, "rss_peak_tt_kb") / 1024
		fmt.Fprintf(w, "| SQLite: peak resident memory of the serving process over the whole run (VmHWM at its end; it served %s, then every SQLite list, status and create run above, with their emails and webhooks) | %.1f MB | | | <= %d MB | | | VmHWM when ready %.1f, after the creations %.1f, after the logins %.1f | %s |\n",
			burst, peak, peakRSSMB, metricFloat(metrics, "rss_start_hwm_kb")/1024, metricFloat(metrics, "rss_create_hwm_kb")/1024,
			metricFloat(metrics, "rss_login_hwm_kb")/1024, yesNo(peak <= peakRSSMB))
	} else {
		fmt.Fprintf(w, "| SQLite: peak resident memory over the whole run | not run | | | <= %d MB | | | | |\n", peakRSSMB)
	}
}

// writeNotes writes, under the table, what the sinks received and the
// PostgreSQL settings of both servers.
func writeNotes(w io.Writer, raw map[string]series, metrics map[string][]string) {
	created := func(keys ...string) int {
		n := 0
		for _, k := range keys {
			n += raw[k].sum(func(r wrkResult) int { return r.requests - r.non2xx })
		}
		return n
	}
	var lines []string
	for _, e := range []struct{ name, key, create, create128, ceil string }{
		{"SQLite", "sqlite", "create.tt", "create128.tt", "create.ceil"},
		{"PostgreSQL", "pg", "pgcreate.pg", "pgcreate128.pg", "pgcreate.pgceil"},
	} {
		// <emails> <posts> at the end, <emails> <posts> when the webhook was added
		v := metrics["deliver_"+e.key]
		if len(v) < 4 {
			continue
		}
		emails, _ := strconv.Atoi(v[0])
		posts, _ := strconv.Atoi(v[1])
		emails0, _ := strconv.Atoi(v[2])
		posts0, _ := strconv.Atoi(v[3])
		line := fmt.Sprintf("- %s: wrk counted %d 2xx answers to tasktrack's creates (c32 and c128; it leaves out those still in flight when it stops); from the webhook's creation on, the SMTP sink received %d emails and the webhook sink %d posts; before it, %d emails and %d posts",
			e.name, created(e.create, e.create128), emails-emails0, posts-posts0, emails0, posts0)
		if d := metrics["drain_"+e.key]; len(d) > 0 {
			line += fmt.Sprintf("; after each of those runs deliveries went on for %s s (the next run waited for them)", strings.Join(d, ", "))
			// The c32 rounds, counting the time their deliveries went on:
			// what tasktrack creates and delivers for as long as it lasts.
			c32, secs := raw[e.create], 0.0
			for i, r := range c32.rounds() {
				if i >= len(d) {
					break
				}
				ds, _ := strconv.ParseFloat(d[i], 64)
				secs += c32[r].seconds + ds
			}
			if secs > 0 {
				line += fmt.Sprintf("; counting that time, the c32 runs created and delivered %.0f tasks/s (the ceiling created %.0f/s)",
					float64(created(e.create))/secs, raw[e.ceil].med(func(r wrkResult) float64 { return r.rps }))
			}
		}
		lines = append(lines, line+".")
	}
	if len(lines) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Deliveries: tasktrack ran with `--smtp-url` at `benchtool smtpsink` throughout, and from just before its create rows with one webhook endpoint `{\"events\": [\"*\"], \"format\": \"standard\"}` at `benchtool httpsink` (answers 204):")
		for _, l := range lines {
			fmt.Fprintln(w, l)
		}
	}
	if v := metrics["pg_settings"]; len(v) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "PostgreSQL: "+strings.Join(v, " ")+".")
	}
}

func rssCell(m map[string][]string, key string) string {
	tt, ceil := metricFloat(m, key+"_tt_max_kb"), metricFloat(m, key+"_ceil_max_kb")
	if tt == 0 {
		return ""
	}
	return fmt.Sprintf("%.1f; %.1f (VmRSS max)", tt/1024, ceil/1024)
}

func metricFloat(m map[string][]string, key string) float64 {
	if v := m[key]; len(v) > 0 {
		f, _ := strconv.ParseFloat(v[0], 64)
		return f
	}
	return 0
}

func metricStr(m map[string][]string, key string) string {
	if v := m[key]; len(v) > 0 {
		return v[0]
	}
	return "?"
}

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "no"
}
