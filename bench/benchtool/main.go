// Command benchtool is the small helper of bench/run.sh: it times a
// server's start until it is ready, and turns the saved wrk outputs and
// measurements of one run into the results table.
//
//	benchtool startup -url http://127.0.0.1:18003/readyz -n 3 -- tasktrack serve ...
//	benchtool table -dir bench/out/run
//	benchtool smtpsink -addr 127.0.0.1:2525
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
		fmt.Fprintln(os.Stderr, "usage: benchtool startup|table|smtpsink ...")
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
	errors        int // socket errors: connect, read, write, timeout
	non2xx        int
}

var (
	reRPS    = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	reLat    = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$`)
	reNon2xx = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	reSock   = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	reReqs   = regexp.MustCompile(`(\d+) requests in`)
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
	a, b   string // series keys
	target float64
	// paired: a and b ran in turns, the ratio is the median of the
	// per-round ratios; otherwise it is the ratio of the medians.
	paired bool
	// zeroErrors: the target is only that nothing failed.
	zeroErrors bool
	rss        string // metrics key of the RSS shown, if any
}

var loadRows = []loadRow{
	{work: "a user lists their 20 tasks (of 10k), c32; ref = ceiling", a: "list.tt", b: "list.ceil", target: 0.6, paired: true, rss: "rss_list"},
	{work: "a user updates a task's status, c32; ref = ceiling", a: "status.tt", b: "status.ceil", target: 0.5, paired: true},
	{work: "a manager creates a task, c32; ref = ceiling", a: "create.tt", b: "create.ceil", target: 0.5, paired: true},
	{work: "list at c128 (zero errors); ref = ceiling", a: "list128.tt", b: "list128.ceil", zeroErrors: true},
	{work: "status at c128 (zero errors); ref = ceiling", a: "status128.tt", b: "status128.ceil", zeroErrors: true},
	{work: "create at c128 (zero errors); ref = ceiling", a: "create128.tt", b: "create128.ceil", zeroErrors: true},
	{work: "a user's 20 tasks on 1M; ref = same on 10k", a: "scaleuser.tt1m", b: "scaleuser.tt10k", target: 0.8, paired: true},
	{work: "manager's first 100 by deadline on 1M; ref = same on 10k", a: "scalemgr.tt1m", b: "scalemgr.tt10k", target: 0.8, paired: true},
	{work: "PostgreSQL: list, c32; ref = ceiling (SQLite)", a: "pglist.pg", b: "list.ceil"},
	{work: "PostgreSQL: status, c32; ref = ceiling (SQLite)", a: "pgstatus.pg", b: "status.ceil"},
	{work: "PostgreSQL: create, c32; ref = ceiling (SQLite)", a: "pgcreate.pg", b: "create.ceil"},
	{work: "PgBouncer (transaction mode): list, c32; ref = PostgreSQL direct", a: "pgblist.pgb", b: "pgblist.pg", paired: true},
	{work: "PgBouncer (transaction mode): status, c32; ref = PostgreSQL direct", a: "pgbstatus.pgb", b: "pgbstatus.pg", paired: true},
	{work: "PgBouncer (transaction mode): create, c32; ref = PostgreSQL direct", a: "pgbcreate.pgb", b: "pgbcreate.pg", paired: true},
}

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
	for _, row := range loadRows {
		a, b := raw[row.a], raw[row.b]
		if len(a) == 0 {
			fmt.Fprintf(w, "| %s | not run | | | | | | | |\n", row.work)
			continue
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
		target, met := "reported", "-"
		switch {
		case row.zeroErrors:
			target, met = "0 errors, 0 non-2xx", yesNo(clean)
		case row.target > 0:
			target = fmt.Sprintf(">= %.1fx, 0 errors", row.target)
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
			row.work, rounds, ma, mb, ratio, target, lat(a), lat(b), errsA, non2xxA, errsB, non2xxB, rss, met)
	}

	// Single measurements.
	for _, sw := range []struct{ key, what string }{{"sweep_off", ", reminders off"}, {"sweep", ""}} {
		v := metrics[sw.key]
		if len(v) < 3 {
			fmt.Fprintf(w, "| sweep%s | not run | | | | | | | |\n", sw.what)
			continue
		}
		// <wall seconds> <max rss kB> <duration_ms reported> <tasks missed> <users deactivated> <reminders>
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
		fmt.Fprintf(w, "| sweep over %s tasks, %s due to be missed%s%s | %.2f s | | | <= 3 s, <= 150 MB | | | %.0f | %s |\n",
			metricStr(metrics, "sweep_tasks"), metricStr(metrics, "sweep_overdue"), sw.what, extra, wall, kb/1024,
			yesNo(wall <= 3 && kb/1024 <= 150))
	}
	if len(metrics["smtp"]) > 0 {
		fmt.Fprintf(w, "| emails sent to the SMTP sink while tasktrack ran with `--smtp-url` (one per created task) | %s | | | reported | | | | - |\n",
			metricStr(metrics, "smtp_received"))
	}
	if v := metrics["rss_list_tt_max_kb"]; len(v) > 0 {
		rss := metricFloat(metrics, "rss_list_tt_max_kb") / 1024
		fmt.Fprintf(w, "| resident memory while serving the list load (largest VmRSS sampled every 0.2 s; ref = ceiling) | %.1f MB | %.1f MB | | <= 60 MB | | | VmHWM since start %.1f; %.1f | %s |\n",
			rss, metricFloat(metrics, "rss_list_ceil_max_kb")/1024,
			metricFloat(metrics, "rss_list_tt_hwm_kb")/1024, metricFloat(metrics, "rss_list_ceil_hwm_kb")/1024, yesNo(rss <= 60))
	}
	if v := metrics["startup_ms"]; len(v) > 0 {
		ms, _ := strconv.ParseFloat(v[0], 64)
		fmt.Fprintf(w, "| `serve` on the %s-task database until /readyz is 200 (median of %s) | %.0f ms | | | <= 500 ms | | | | %s |\n",
			metricStr(metrics, "startup_tasks"), strings.Join(v[1:], ", ")+" ms", ms, yesNo(ms <= 500))
	}
	return nil
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
