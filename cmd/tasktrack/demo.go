package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"tasktrack"
	"tasktrack/sqlstore"
)

var (
	firstNames = []string{"Ada", "Grace", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Frances", "Edsger", "Radia",
		"Alan", "Hedy", "Donald", "Karen", "John", "Sophie", "Tim", "Anita", "Niklaus", "Joan"}
	lastNames = []string{"Lovelace", "Hopper", "Torvalds", "Hamilton", "Thompson", "Liskov", "Ritchie", "Allen", "Dijkstra",
		"Perlman", "Turing", "Lamarr", "Knuth", "Jones", "Backus", "Wilson", "Berners-Lee", "Borg", "Wirth", "Clarke"}
	verbs   = []string{"Review", "Draft", "Fix", "Test", "Write", "Update", "Plan", "Prepare", "Check", "Ship", "Refactor", "Document"}
	objects = []string{"the quarterly report", "login page", "release notes", "invoice export", "onboarding guide",
		"database backup", "customer survey", "sprint plan", "API client", "budget sheet", "support tickets", "team retro"}
)

// demoPassword is the password of every demo user.
const demoPassword = "demo-password"

func demoCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	nUsers := fs.Int("users", 50, "users to create (about one in ten a manager)")
	nTasks := fs.Int("tasks", 500, "tasks to create")
	overdue := fs.Int("overdue", -1, "open tasks whose deadline has already passed (default: 1% of tasks)")
	seed := fs.Uint64("seed", 0, "random seed (0: random)")
	c, err := parseConfig(fs, args, getenv, stderr)
	if err != nil {
		return err
	}
	if *nUsers < 1 || *nTasks < 0 {
		return usageErrorf("demo: --users must be at least 1 and --tasks not negative")
	}
	if *overdue < 0 {
		*overdue = *nTasks / 100
	}
	if *overdue > *nTasks {
		return usageErrorf("demo: --overdue cannot exceed --tasks")
	}
	db, err := openStore(ctx, c, newLogger(c, stderr))
	if err != nil {
		return err
	}
	defer db.Close()
	if *seed == 0 {
		*seed = rand.Uint64()
	}
	rng := rand.New(rand.NewPCG(*seed, *seed^0x9e3779b97f4a7c15))
	start := time.Now()

	hash, err := db.Hasher.Hash(demoPassword)
	if err != nil {
		return err
	}
	run := start.Unix() % 100000
	users := make([]sqlstore.BulkUser, *nUsers)
	for i := range users {
		fn, ln := firstNames[rng.IntN(len(firstNames))], lastNames[rng.IntN(len(lastNames))]
		role := tasktrack.RoleUser
		if i%10 == 0 {
			role = tasktrack.RoleManager
		}
		name := fmt.Sprintf("%s.%s%d_%d", fn, ln, i+1, run)
		users[i] = sqlstore.BulkUser{Username: name, PasswordHash: hash, Email: name + "@example.com",
			FirstName: fn, LastName: ln, Role: role}
	}
	ids, err := db.InsertUsers(ctx, users)
	if err != nil {
		return err
	}
	var managers, assignees []int64
	for i, id := range ids {
		if users[i].Role == tasktrack.RoleManager {
			managers = append(managers, id)
		} else {
			assignees = append(assignees, id)
		}
	}
	if len(assignees) == 0 {
		assignees = managers
	}
	// Overdue tasks go to a few struggling users, so the first sweep
	// deactivates some people rather than everyone.
	struggling := assignees[:max(1, len(assignees)/20)]

	now := time.Now().UTC()
	tasks := make([]sqlstore.BulkTask, *nTasks)
	for i := range tasks {
		t := &tasks[i]
		t.Title = verbs[rng.IntN(len(verbs))] + " " + objects[rng.IntN(len(objects))]
		t.Description = "Sample task " + fmt.Sprint(i+1) + "."
		t.CreatedBy = managers[rng.IntN(len(managers))]
		if i < *overdue {
			t.AssignedTo = struggling[rng.IntN(len(struggling))]
			t.Deadline = now.Add(-time.Duration(rng.Int64N(int64(6*24*time.Hour))) - time.Minute)
			t.Status = []tasktrack.Status{tasktrack.StatusPending, tasktrack.StatusInProgress}[rng.IntN(2)]
		} else {
			t.AssignedTo = assignees[rng.IntN(len(assignees))]
			// Deadlines from two weeks ago to a month ahead; the past ones
			// were done in time.
			t.Deadline = now.Add(time.Duration(rng.Int64N(int64(44*24*time.Hour))) - 14*24*time.Hour)
			switch {
			case !t.Deadline.After(now):
				t.Status = tasktrack.StatusCompleted
			case rng.IntN(4) == 0:
				t.Status = tasktrack.StatusInProgress
			case rng.IntN(6) == 0:
				t.Status = tasktrack.StatusCompleted
			default:
				t.Status = tasktrack.StatusPending
			}
		}
		t.CreatedAt = minTime(now, t.Deadline).Add(-time.Duration(1 + rng.Int64N(int64(10*24*time.Hour))))
	}
	showProgress := *nTasks >= 10000
	err = db.InsertTasks(ctx, tasks, func(done int) {
		if showProgress {
			fmt.Fprintf(stderr, "\rtasks %d/%d (%.0f%%)", done, len(tasks), 100*float64(done)/float64(len(tasks)))
		}
	})
	if showProgress {
		fmt.Fprintln(stderr)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created %d users (%d managers; password %q) and %d tasks (%d overdue) in %s\n",
		len(ids), len(managers), demoPassword, len(tasks), *overdue, time.Since(start).Round(time.Millisecond))
	return nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
