package sqlstore_test

import (
	"context"
	"os"
	"testing"
	"time"

	"tasktrack"
	"tasktrack/sqlstore"
	. "tasktrack/sqlstore/sqlstoretest"
)

// One task created through the service: its transaction, audit entry and
// the counters its triggers keep. With the dashboard's per-user tallies
// this measures what they add to every write.
func BenchmarkCreateTask(b *testing.B) {
	benchEngines(b, 10_000, func(b *testing.B, s *benchSet) {
		ctx := As(s.manager)
		in := tasktrack.TaskCreate{Title: "Bench", Deadline: t0.Add(48 * time.Hour), AssignedTo: s.caller.ID}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.db.Tasks.CreateTask(ctx, in); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// The dashboard, as a manager (everyone's figures and 1,000 people) and as
// a user, on TASKTRACK_BENCH_TASKS tasks (default 100,000) of which a
// tenth were missed by a sweep; or on the database at TASKTRACK_BENCH_DB
// as it is (such as `tasktrack demo --tasks 1000000`'s; migrated first).
//
//	TASKTRACK_BENCH_DB=demo.db go test -run '^$' -bench Dashboard ./sqlstore/
func BenchmarkDashboard(b *testing.B) {
	var (
		db            *sqlstore.DB
		manager, user *tasktrack.User
	)
	if path := os.Getenv("TASKTRACK_BENCH_DB"); path != "" {
		db = OpenDSN(b, path)
		for _, role := range []string{"manager", "user"} {
			users, _, err := db.Users.FindUsers(System, tasktrack.UserFilter{Role: role, Page: tasktrack.Page{Limit: 1}})
			if err != nil || len(users) == 0 {
				b.Fatalf("no %s in %s: %v", role, path, err)
			}
			if role == "manager" {
				manager = users[0]
			} else {
				user = users[0]
			}
		}
	} else {
		n := benchTasks(b, 100_000)
		db = Open(b, SQLite)
		s := benchFill(b, db, n, n/10)
		if _, err := db.Sweeper.Sweep(context.Background()); err != nil {
			b.Fatal(err)
		}
		manager, user = s.manager, s.caller
	}
	for _, viewer := range []*tasktrack.User{manager, user} {
		b.Run(viewer.Role.Name, func(b *testing.B) {
			ctx := As(viewer)
			b.ReportAllocs()
			for b.Loop() {
				st, err := db.Reports.Dashboard(ctx)
				if err != nil || len(st.Weeks) != tasktrack.StatsWeeks {
					b.Fatalf("%v %v", st, err)
				}
			}
		})
	}
}

// Managers creating tasks from 32 goroutines at once, with one webhook
// endpoint subscribed to every event and email on: the group commit's
// batches, each with its task.created events, notifications and emails.
func BenchmarkCreateTaskParallel(b *testing.B) {
	benchEngines(b, 10_000, func(b *testing.B, s *benchSet) {
		url := "https://hooks.example.com/tasktrack"
		if _, err := s.db.Webhooks.CreateWebhook(System, tasktrack.WebhookInput{URL: &url, Events: []string{"*"}}, tasktrack.NewWebhookSecret()); err != nil {
			b.Fatal(err)
		}
		s.db.Email = true
		ctx := As(s.manager)
		in := tasktrack.TaskCreate{Title: "Bench", Deadline: t0.Add(48 * time.Hour), AssignedTo: s.caller.ID}
		b.ReportAllocs()
		b.SetParallelism(16)
		b.ResetTimer() // not the fill
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.db.Tasks.CreateTask(ctx, in); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
