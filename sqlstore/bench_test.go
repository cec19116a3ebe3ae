package sqlstore_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"tasktrack"
	"tasktrack/sqlstore"
	. "tasktrack/sqlstore/sqlstoretest"
)

// Benchmarks of the store's hot paths, on the data shape of bench/run.sh:
// 1,000 users, one caller who owns exactly 20 open tasks among 10,000.
// The PostgreSQL variants run when TASKTRACK_TEST_POSTGRES is set.
//
//	go test -run '^$' -bench . -benchmem ./sqlstore/
//	TASKTRACK_BENCH_TASKS=1000000 go test -run '^$' -bench Sweep -benchtime 3x ./sqlstore/

// benchSet is a filled database and the people who use it.
type benchSet struct {
	db      *sqlstore.DB
	caller  *tasktrack.User // owns exactly 20 open tasks, due in the future
	manager *tasktrack.User
	ids     []string // the caller's task ids
}

// benchFill fills db, on a clock stopped at t0, with 1,000 users and n
// tasks: the caller's 20 spread evenly through the table, `overdue` open
// tasks already past their deadline (belonging to one user in twenty, as
// in the demo data), the rest due within a month or completed.
func benchFill(b *testing.B, db *sqlstore.DB, n, overdue int) *benchSet {
	b.Helper()
	ctx := context.Background()
	db.Now = func() time.Time { return t0 }
	hash, err := db.Hasher.Hash("bench-password-1")
	if err != nil {
		b.Fatal(err)
	}
	users := make([]sqlstore.BulkUser, 0, 1000)
	for i := range 998 {
		role := tasktrack.RoleUser
		if i%10 == 0 {
			role = tasktrack.RoleManager
		}
		users = append(users, sqlstore.BulkUser{Username: "user" + strconv.Itoa(i), PasswordHash: hash, Role: role,
			Email: "user" + strconv.Itoa(i) + "@example.com"})
	}
	users = append(users,
		sqlstore.BulkUser{Username: "bench", PasswordHash: hash, Role: tasktrack.RoleUser},
		sqlstore.BulkUser{Username: "bench-manager", PasswordHash: hash, Role: tasktrack.RoleManager})
	ids, err := db.Bulk.InsertUsers(ctx, users)
	if err != nil {
		b.Fatal(err)
	}
	var assignees []int64
	for i, id := range ids[:998] {
		if users[i].Role == tasktrack.RoleUser {
			assignees = append(assignees, id)
		}
	}
	callerID, managerID := ids[998], ids[999]
	struggling := assignees[:len(assignees)/20]
	const own = 20
	rng := rand.New(rand.NewPCG(1, 2))
	overdueLeft, ownLeft, i := overdue, own, 0
	next := func() (sqlstore.BulkTask, bool) {
		if i >= n {
			return sqlstore.BulkTask{}, false
		}
		t := sqlstore.BulkTask{
			Title: "Task " + strconv.Itoa(i), Description: "Description of task " + strconv.Itoa(i),
			CreatedBy: managerID, CreatedAt: t0.Add(-30*24*time.Hour + time.Duration(i)*(30*24*time.Hour/time.Duration(n))),
			Status: tasktrack.StatusPending,
		}
		switch {
		case ownLeft > 0 && i == (own-ownLeft)*n/own:
			ownLeft--
			t.AssignedTo = callerID
			t.Deadline = t0.Add(24*time.Hour + time.Duration(rng.Int64N(int64(28*24*time.Hour))))
		case overdueLeft > 0 && rng.IntN(n-i-ownLeft) < overdueLeft:
			overdueLeft--
			t.AssignedTo = struggling[rng.IntN(len(struggling))]
			t.Deadline = t0.Add(-time.Minute - time.Duration(rng.Int64N(int64(6*24*time.Hour))))
			if t.CreatedAt.After(t.Deadline) {
				t.CreatedAt = t.Deadline.Add(-time.Hour)
			}
		default:
			t.AssignedTo = assignees[rng.IntN(len(assignees))]
			t.Deadline = t.CreatedAt.Add(24*time.Hour + time.Duration(rng.Int64N(int64(29*24*time.Hour))))
			if !t.Deadline.After(t0) || rng.IntN(6) == 0 {
				t.Status = tasktrack.StatusCompleted
			} else if rng.IntN(4) == 0 {
				t.Status = tasktrack.StatusInProgress
			}
		}
		i++
		return t, true
	}
	if _, err := db.Bulk.InsertTasks(ctx, next, nil); err != nil {
		b.Fatal(err)
	}
	s := &benchSet{db: db}
	if s.caller, err = db.Sessions.AuthUser(ctx, callerID); err != nil {
		b.Fatal(err)
	}
	if s.manager, err = db.Sessions.AuthUser(ctx, managerID); err != nil {
		b.Fatal(err)
	}
	tasks, _, err := db.Tasks.FindTasks(As(s.caller), tasktrack.TaskFilter{})
	if err != nil {
		b.Fatal(err)
	}
	if len(tasks) != own {
		b.Fatalf("the caller owns %d tasks, want %d", len(tasks), own)
	}
	for _, t := range tasks {
		s.ids = append(s.ids, t.ID)
	}
	return s
}

// benchEngines runs f on a filled database of each engine; PostgreSQL is
// skipped without TASKTRACK_TEST_POSTGRES.
func benchEngines(b *testing.B, n int, f func(b *testing.B, s *benchSet)) {
	for _, e := range []Engine{SQLite, Postgres} {
		b.Run(string(e), func(b *testing.B) {
			f(b, benchFill(b, Open(b, e), n, 0))
		})
	}
}

// A user lists their 20 tasks among 10,000: the count and the page.
func BenchmarkFindTasksOwn(b *testing.B) {
	benchEngines(b, 10_000, func(b *testing.B, s *benchSet) {
		ctx := As(s.caller)
		b.ReportAllocs()
		for b.Loop() {
			tasks, total, err := s.db.Tasks.FindTasks(ctx, tasktrack.TaskFilter{})
			if err != nil || total != 20 || len(tasks) != 20 {
				b.Fatalf("got %d tasks of %d, %v", len(tasks), total, err)
			}
		}
	})
}

// The same from many goroutines at once: the reader pool under contention.
func BenchmarkFindTasksOwnParallel(b *testing.B) {
	benchEngines(b, 10_000, func(b *testing.B, s *benchSet) {
		ctx := As(s.caller)
		b.ReportAllocs()
		b.ResetTimer() // not the fill
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				tasks, _, err := s.db.Tasks.FindTasks(ctx, tasktrack.TaskFilter{})
				if err != nil || len(tasks) != 20 {
					b.Errorf("got %d tasks, %v", len(tasks), err)
					return
				}
			}
		})
	})
}

// A manager's first page of 100 by deadline among 10,000.
func BenchmarkFindTasksManagerPage(b *testing.B) {
	benchEngines(b, 10_000, func(b *testing.B, s *benchSet) {
		ctx := As(s.manager)
		b.ReportAllocs()
		for b.Loop() {
			tasks, total, err := s.db.Tasks.FindTasks(ctx, tasktrack.TaskFilter{})
			if err != nil || total != 10_000 || len(tasks) != 100 {
				b.Fatalf("got %d tasks of %d, %v", len(tasks), total, err)
			}
		}
	})
}

// A user moves one of their tasks to another status: one write
// transaction with its audit entry. It cycles through the 20 tasks and
// the three statuses as bench/run.sh's load does.
func BenchmarkUpdateTaskStatus(b *testing.B) {
	statuses := []tasktrack.Status{tasktrack.StatusInProgress, tasktrack.StatusCompleted, tasktrack.StatusPending}
	benchEngines(b, 10_000, func(b *testing.B, s *benchSet) {
		ctx := As(s.caller)
		n := 0
		b.ReportAllocs()
		for b.Loop() {
			n++
			want := statuses[n%3]
			t, err := s.db.Tasks.UpdateTaskStatus(ctx, s.ids[n%len(s.ids)], want)
			if err != nil || t.Status != want {
				b.Fatalf("status %v, %v", t, err)
			}
		}
	})
}

// The same from 32 goroutines at once, as bench/run.sh's status load
// (wrk, 32 connections): changes of the same 20 tasks race each other, and
// those of one assignee meet on its tallies.
func BenchmarkUpdateTaskStatusParallel(b *testing.B) {
	statuses := []tasktrack.Status{tasktrack.StatusInProgress, tasktrack.StatusCompleted, tasktrack.StatusPending}
	benchEngines(b, 10_000, func(b *testing.B, s *benchSet) {
		ctx := As(s.caller)
		var next atomic.Int64
		b.ReportAllocs()
		b.SetParallelism(max(1, 32/runtime.GOMAXPROCS(0)))
		b.ResetTimer() // not the fill
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				n := next.Add(1)
				want := statuses[n%3]
				t, err := s.db.Tasks.UpdateTaskStatus(ctx, s.ids[n%int64(len(s.ids))], want)
				if err != nil || t.Status != want {
					b.Errorf("status %v, %v", t, err)
					return
				}
			}
		})
	})
}

// One sweep over TASKTRACK_BENCH_TASKS tasks (default 100,000), of which a
// tenth are overdue and become missed, on SQLite: without email, and with
// it (the notifications' emails written to the outbox, as when SMTP is
// configured); with the writer's page cache of the sweep command
// (Options.BulkWrites, "bulk") and of a serving process ("serve"). Each
// iteration sweeps a fresh copy of the same database; only the sweep is
// timed.
func BenchmarkSweep(b *testing.B) {
	n := benchTasks(b, 100_000)
	overdue := n / 10
	b.Run(fmt.Sprintf("sqlite/%d_tasks/%d_missed", n, overdue), func(b *testing.B) {
		dir := b.TempDir()
		template := filepath.Join(dir, "template.db")
		db := OpenDSN(b, template)
		benchFill(b, db, n, overdue)
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		for _, email := range []bool{false, true} {
			for _, bulk := range []bool{true, false} {
				name := "no_email"
				if email {
					name = "email"
				}
				name += map[bool]string{true: "/bulk", false: "/serve"}[bulk]
				b.Run(name, func(b *testing.B) {
					benchSweep(b, dir, template, overdue, email, sqlstore.Options{BulkWrites: bulk})
				})
			}
		}
	})
}

func benchSweep(b *testing.B, dir, template string, overdue int, email bool, opt sqlstore.Options) {
	ctx := context.Background()
	run := 0
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		run++
		path := filepath.Join(dir, "sweep"+strconv.Itoa(run)+".db")
		for _, suffix := range []string{"", "-wal"} {
			copyFile(b, template+suffix, path+suffix)
		}
		sdb := OpenDSNOptions(b, path, opt)
		sdb.Now = func() time.Time { return t0 }
		sdb.Email = email
		b.StartTimer()
		res, err := sdb.Sweeper.Sweep(ctx)
		b.StopTimer()
		if err != nil || res.TasksMissed != overdue {
			b.Fatalf("swept %d tasks, want %d: %v", res.TasksMissed, overdue, err)
		}
		if res.UsersDeactivated == 0 {
			b.Fatal("nobody was deactivated")
		}
		sdb.Close()
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(path + suffix)
		}
		b.StartTimer()
	}
}

// benchTasks is TASKTRACK_BENCH_TASKS, or def without it.
func benchTasks(b *testing.B, def int) int {
	v := os.Getenv("TASKTRACK_BENCH_TASKS")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1000 {
		b.Fatalf("TASKTRACK_BENCH_TASKS=%q: want a number of at least 1000", v)
	}
	return n
}

// copyFile copies a file, if it exists.
func copyFile(b *testing.B, from, to string) {
	b.Helper()
	src, err := os.Open(from)
	if os.IsNotExist(err) {
		return
	}
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		b.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		b.Fatal(err)
	}
}
