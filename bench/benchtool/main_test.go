package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// wrkOutput is what wrk --latency prints, cut to the lines parseWrk reads.
func wrkOutput(rps float64, requests, non2xx, timeouts int) string {
	s := fmt.Sprintf(`Running 10s test @ http://127.0.0.1:18000
  Latency Distribution
     50%%    5.00ms
     99%%   20.00ms
  %d requests in 10.00s, 1.00MB read
`, requests)
	if timeouts > 0 {
		s += fmt.Sprintf("  Socket errors: connect 0, read 0, write 0, timeout %d\n", timeouts)
	}
	if non2xx > 0 {
		s += fmt.Sprintf("  Non-2xx or 3xx responses: %d\n", non2xx)
	}
	return s + fmt.Sprintf("Requests/sec: %.2f\n", rps)
}

func writeRun(t *testing.T, runs map[string]string, metrics string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "raw"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range runs {
		if err := os.WriteFile(filepath.Join(dir, "raw", name+".txt"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "metrics.txt"), []byte(metrics), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// row finds the table line whose work column starts with prefix.
func row(t *testing.T, table, prefix string) []string {
	t.Helper()
	for _, line := range strings.Split(table, "\n") {
		if strings.HasPrefix(line, "| "+prefix) {
			cells := strings.Split(strings.Trim(line, "|"), "|")
			for i := range cells {
				cells[i] = strings.TrimSpace(cells[i])
			}
			return cells
		}
	}
	t.Fatalf("no row %q in\n%s", prefix, table)
	return nil
}

func TestTable(t *testing.T) {
	runs := map[string]string{}
	for r := 1; r <= 3; r++ {
		// list: 0.85 of the ceiling each round; status: 0.5; create 1.1 with a
		// non-2xx answer in round 2.
		runs[fmt.Sprintf("list.tt.%d", r)] = wrkOutput(850, 8500, 0, 0)
		runs[fmt.Sprintf("list.ceil.%d", r)] = wrkOutput(1000, 10000, 0, 0)
		runs[fmt.Sprintf("status.tt.%d", r)] = wrkOutput(500, 5000, 0, 0)
		runs[fmt.Sprintf("status.ceil.%d", r)] = wrkOutput(1000, 10000, 0, 0)
		non2xx := 0
		if r == 2 {
			non2xx = 3
		}
		runs[fmt.Sprintf("create.tt.%d", r)] = wrkOutput(1100, 11000, non2xx, 0)
		runs[fmt.Sprintf("create.ceil.%d", r)] = wrkOutput(1000, 10000, 0, 0)
		// PostgreSQL list at 0.8 of its own ceiling in rounds 1 and 3, 0.6 in 2.
		pg := 800.0
		if r == 2 {
			pg = 600
		}
		runs[fmt.Sprintf("pglist.pg.%d", r)] = wrkOutput(pg, 4000, 0, 0)
		runs[fmt.Sprintf("pglist.pgceil.%d", r)] = wrkOutput(1000, 5000, 0, 0)
	}
	runs["create128.tt.1"] = wrkOutput(1000, 5000, 0, 0)
	runs["pgcreate128.pg.1"] = wrkOutput(300, 1500, 0, 2)
	runs["pgcreate128.pgceil.1"] = wrkOutput(1000, 5000, 0, 0)
	metrics := `sweep 1.40 120000 1300 100000 45 24000
sweep_tasks 1000000
sweep_overdue 100000
sweep_reminders 24h,1h
sweep_pg 5.5 18000 5400 100000 45 24000
sweep_pg_tasks 200000
sweep_pg_overdue 20000
sweep_pg_reminders 24h,1h
users_create 50 2000 0
users_login 50 1500 0
rss_start_hwm_kb 30720
rss_create_hwm_kb 61440
rss_login_hwm_kb 92160
rss_list_tt_max_kb 46080
rss_list_ceil_max_kb 20480
rss_peak_tt_kb 104448
deliver_sqlite 33314 33000 314 0
drain_sqlite 1.5 0.4 0.0 2.0
pg_settings PostgreSQL 15.20, synchronous_commit on
`
	var b strings.Builder
	if err := table([]string{"-dir", writeRun(t, runs, metrics)}, &b); err != nil {
		t.Fatal(err)
	}
	out := b.String()

	for _, c := range []struct {
		prefix, ratio, target, met string
	}{
		{"SQLite: a user lists", "0.85", ">= 0.8x, 0 errors", "yes"},
		{"SQLite: a user updates", "0.50", ">= 0.9x, 0 errors", "no (44% short)"},
		{"SQLite: a manager creates", "1.10", ">= 1.0x, 0 errors", "no (errors)"},
		{"PostgreSQL: list, c32", "0.80", ">= 0.7x, 0 errors", "yes"},
		{"PostgreSQL: create at c128", "0.30", "0 errors, 0 non-2xx", "no"},
	} {
		cells := row(t, out, c.prefix)
		if cells[3] != c.ratio || cells[4] != c.target || cells[8] != c.met {
			t.Errorf("%s: ratio %q, target %q, met %q; want %q, %q, %q", c.prefix, cells[3], cells[4], cells[8], c.ratio, c.target, c.met)
		}
	}
	if cells := row(t, out, "PostgreSQL: status, c32"); cells[1] != "not run" || cells[4] != ">= 0.7x, 0 errors" {
		t.Errorf("a row not run: %q", cells)
	}
	if cells := row(t, out, "SQLite: sweep over 1000000 tasks, 100000 due to be missed, reminders 24h,1h"); cells[1] != "1.40 s" || cells[4] != "<= 1.5 s, <= 150 MB" || cells[8] != "yes" {
		t.Errorf("SQLite sweep: %q", cells)
	}
	if cells := row(t, out, "PostgreSQL, beside it: the same sweep over 200000 tasks"); cells[1] != "5.50 s" || cells[8] != "-" || !strings.Contains(cells[0], "a smaller set than SQLite's 1000000") {
		t.Errorf("PostgreSQL sweep: %q", cells)
	}
	if cells := row(t, out, "SQLite: resident memory while serving the list load"); cells[1] != "45.0 MB" || cells[4] != "<= 40 MB" || cells[8] != "no" ||
		!strings.Contains(cells[0], "50 users created through the API") {
		t.Errorf("list RSS: %q", cells)
	}
	if cells := row(t, out, "SQLite: peak resident memory"); cells[1] != "102.0 MB" || cells[4] != "<= 100 MB" || cells[8] != "no" ||
		cells[7] != "VmHWM when ready 30.0, after the creations 60.0, after the logins 90.0" {
		t.Errorf("peak RSS: %q", cells)
	}
	for _, want := range []string{
		"- SQLite: wrk counted 37997 2xx answers to tasktrack's creates",
		"the SMTP sink received 33000 emails and the webhook sink 33000 posts; before it, 314 emails and 0 posts",
		"deliveries went on for 1.5, 0.4, 0.0, 2.0 s",
		// 32997 tasks in 3 x 10 s of creating and 1.9 s of delivering after.
		"the c32 runs created and delivered 1034 tasks/s (the ceiling created 1000/s)",
		"| SQLite, for comparison: the sweep with reminders off | not run (BENCH_SWEEP_OFF=1) |",
		"PostgreSQL: PostgreSQL 15.20, synchronous_commit on.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "- PostgreSQL: wrk counted") {
		t.Errorf("a delivery line without its metrics:\n%s", out)
	}
}
