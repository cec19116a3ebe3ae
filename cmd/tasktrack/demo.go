package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"tasktrack"
	"tasktrack/auth"
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
	days := fs.Int("days", 30, "tasks were created over this many days up to now")
	benchUser := fs.String("bench-user", "", "also create this user, owning exactly --bench-tasks of the tasks (open, due in the future), and a manager named after it with -manager (for benchmarks)")
	benchTasks := fs.Int("bench-tasks", 20, "tasks owned by --bench-user")
	benchPassword := fs.String("bench-password", demoPassword, "password of --bench-user and its manager")
	c, err := parseConfig(fs, args, getenv, stderr)
	if err != nil {
		return err
	}
	if *nUsers < 1 || *nTasks < 0 || *days < 1 {
		return usageErrorf("demo: --users and --days must be at least 1 and --tasks not negative")
	}
	if *overdue < 0 {
		*overdue = *nTasks / 100
	}
	if *benchUser == "" {
		*benchTasks = 0
	}
	if *benchTasks < 0 || *overdue+*benchTasks > *nTasks {
		return usageErrorf("demo: --overdue plus --bench-tasks cannot exceed --tasks")
	}
	db, err := openStore(ctx, c, newLogger(c, stderr), true)
	if err != nil {
		return err
	}
	defer db.Close()
	if *seed == 0 {
		*seed = rand.Uint64()
	}
	rng := rand.New(rand.NewPCG(*seed, *seed^0x9e3779b97f4a7c15))
	start := time.Now()
	// A fresh database gets its first admin as `serve` would give it, so
	// that someone can manage the sample people afterwards.
	if err := bootstrapAdmin(ctx, db, auth.NewHasher(auth.DefaultArgon2, c.HashConcurrency), c.AdminPassword, c.LogFormat == "json", stderr); err != nil {
		return err
	}

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
	if *benchUser != "" {
		benchHash, err := db.Hasher.Hash(*benchPassword)
		if err != nil {
			return err
		}
		users = append(users,
			sqlstore.BulkUser{Username: *benchUser, PasswordHash: benchHash, Role: tasktrack.RoleUser},
			sqlstore.BulkUser{Username: *benchUser + "-manager", PasswordHash: benchHash, Role: tasktrack.RoleManager})
	}
	ids, err := db.Bulk.InsertUsers(ctx, users)
	if err != nil {
		return err
	}
	var benchIDs []int64
	if *benchUser != "" {
		benchIDs, ids, users = ids[len(ids)-2:], ids[:len(ids)-2], users[:len(users)-2]
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

	// Tasks were created over the last --days days, in order; overdue ones
	// are spread among them.
	now := time.Now().UTC()
	total := *nTasks
	span := time.Duration(*days) * 24 * time.Hour
	step := span / time.Duration(max(1, total))
	overdueLeft := *overdue
	// The bench user's tasks are spread evenly through the table.
	benchLeft := *benchTasks
	isBench := func(i int) bool {
		k := *benchTasks - benchLeft
		return benchLeft > 0 && i == k*total / *benchTasks
	}
	i := 0
	next := func() (sqlstore.BulkTask, bool) {
		if i >= total {
			return sqlstore.BulkTask{}, false
		}
		var t sqlstore.BulkTask
		t.Title = verbs[rng.IntN(len(verbs))] + " " + objects[rng.IntN(len(objects))]
		t.Description = "Sample task " + fmt.Sprint(i+1) + "."
		t.CreatedBy = managers[rng.IntN(len(managers))]
		t.CreatedAt = now.Add(-span + time.Duration(i)*step)
		bench := isBench(i)
		isOverdue := !bench && overdueLeft > 0 && rng.IntN(total-i-benchLeft) < overdueLeft
		if bench {
			benchLeft--
			t.AssignedTo = benchIDs[0]
			t.Deadline = now.Add(24*time.Hour + time.Duration(rng.Int64N(int64(28*24*time.Hour))))
			t.Status = []tasktrack.Status{tasktrack.StatusPending, tasktrack.StatusInProgress}[rng.IntN(2)]
		} else if isOverdue {
			overdueLeft--
			t.AssignedTo = struggling[rng.IntN(len(struggling))]
			// Due between its creation and a minute ago, within six days.
			if t.CreatedAt.After(now.Add(-time.Hour)) {
				t.CreatedAt = now.Add(-time.Hour)
			}
			earliest := maxTime(t.CreatedAt, now.Add(-6*24*time.Hour))
			t.Deadline = earliest.Add(time.Duration(rng.Int64N(int64(now.Add(-time.Minute).Sub(earliest)) + 1)))
			t.Status = []tasktrack.Status{tasktrack.StatusPending, tasktrack.StatusInProgress}[rng.IntN(2)]
		} else {
			t.AssignedTo = assignees[rng.IntN(len(assignees))]
			// Due from a day to a month after creation; the past ones were
			// done, one in eight of them late (within two days, by now).
			t.Deadline = t.CreatedAt.Add(24*time.Hour + time.Duration(rng.Int64N(int64(29*24*time.Hour))))
			switch {
			case !t.Deadline.After(now):
				t.Status = tasktrack.StatusCompleted
				if rng.IntN(8) == 0 {
					t.CompletedAt = t.Deadline.Add(time.Duration(rng.Int64N(int64(min(48*time.Hour, now.Sub(t.Deadline)) + 1))))
				} else {
					t.CompletedAt = t.CreatedAt.Add(time.Duration(rng.Int64N(int64(t.Deadline.Sub(t.CreatedAt)) + 1)))
				}
			case rng.IntN(4) == 0:
				t.Status = tasktrack.StatusInProgress
			case rng.IntN(6) == 0:
				t.Status = tasktrack.StatusCompleted
				t.CompletedAt = t.CreatedAt.Add(time.Duration(rng.Int64N(int64(now.Sub(t.CreatedAt)) + 1)))
			default:
				t.Status = tasktrack.StatusPending
			}
		}
		i++
		return t, true
	}
	showProgress := total >= 10000
	created, err := db.Bulk.InsertTasks(ctx, next, func(done int) {
		if showProgress {
			fmt.Fprintf(stderr, "\rtasks %d/%d (%.0f%%)", done, total, 100*float64(done)/float64(max(1, total)))
		}
	})
	if showProgress {
		fmt.Fprintln(stderr)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created %d users (%d managers; password %q) and %d tasks (%d overdue) in %s\n",
		len(ids), len(managers), demoPassword, created, *overdue, time.Since(start).Round(time.Millisecond))
	if *benchUser != "" {
		fmt.Fprintf(stdout, "bench user %s (id %d) owns %d tasks; bench manager %s-manager (id %d)\n",
			*benchUser, benchIDs[0], *benchTasks, *benchUser, benchIDs[1])
	}
	return printSignIns(ctx, db, stdout, users[0].Username, users[min(1, len(users)-1)].Username)
}

// printSignIns tells a newcomer who can sign in: the active admins, with
// their own passwords, and a sample manager and user.
func printSignIns(ctx context.Context, db *sqlstore.DB, stdout io.Writer, manager, user string) error {
	active := true
	admins, total, err := db.Users.FindUsers(ctx, tasktrack.UserFilter{Role: tasktrack.RoleAdmin.Name, IsActive: &active, Page: tasktrack.Page{Limit: 3}})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "sign in as:")
	for _, a := range admins {
		fmt.Fprintf(stdout, "  %-24s admin, with its own password\n", a.Username)
	}
	if total > len(admins) {
		fmt.Fprintf(stdout, "  (and %d more admins)\n", total-len(admins))
	}
	fmt.Fprintf(stdout, "  %-24s manager, password %q\n", manager, demoPassword)
	if user != manager {
		fmt.Fprintf(stdout, "  %-24s user, password %q\n", user, demoPassword)
	}
	return nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
