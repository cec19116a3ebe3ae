// Command tasktrack serves the task service and runs its chores: the
// sweep, migrations, user creation, demo data.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"tasktrack"
	"tasktrack/auth"
	"tasktrack/httpapi"
	"tasktrack/sqlstore"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return
	}
	fmt.Fprintln(os.Stderr, "tasktrack:", err)
	var ue *usageError
	if errors.As(err, &ue) {
		os.Exit(2)
	}
	os.Exit(1)
}

const usage = `tasktrack: task management with deadlines that enforce themselves

Usage:
  tasktrack [serve] [flags]     serve the API, docs and web UI; sweep on an interval
  tasktrack sweep [--json]      run one sweep and exit
  tasktrack migrate             bring the schema up to date and exit
  tasktrack createuser --username U --role R [--email E]
                                password from $TASKTRACK_PASSWORD or standard input
  tasktrack demo [--users N] [--tasks N]
                                fill the database with sample users and tasks
  tasktrack import-django PATH|URL [--dry-run] [--merge] [--json]
                                import the users and tasks of the Django version
                                from its SQLite file or postgres:// URL
  tasktrack version             print the version

Run "tasktrack serve -h" for the settings.
`

// run is the whole program; main only maps its error to an exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, getenv, stderr)
	case "sweep":
		return sweepCmd(ctx, args, getenv, stdout, stderr)
	case "migrate":
		return migrateCmd(ctx, args, getenv, stdout, stderr)
	case "createuser":
		return createUserCmd(ctx, args, getenv, stdin, stdout, stderr)
	case "demo":
		return demoCmd(ctx, args, getenv, stdout, stderr)
	case "import-django":
		return importDjangoCmd(ctx, args, getenv, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "tasktrack", tasktrack.Version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return usageErrorf("unknown command %q", cmd)
}

func newLogger(c *Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if c.LogFormat == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	// Lines logged within a request carry its id.
	return slog.New(httpapi.LogHandler(h))
}

// openStore opens and migrates the configured database. A database that
// cannot be opened is a bad setting. bulk is for a command that may change
// many pages in one transaction and exits (sqlstore.Options.BulkWrites);
// serve and createuser keep the writer's page cache small.
func openStore(ctx context.Context, c *Config, logger *slog.Logger, bulk bool) (*sqlstore.DB, error) {
	db, err := sqlstore.Open(ctx, c.Database, sqlstore.Options{MaxConns: c.DBMaxConns, Synchronous: c.SQLiteSync,
		ListenURL: c.ListenURL, BulkWrites: bulk})
	if err != nil {
		return nil, usageErrorf("bad setting --database ($TASKTRACK_DATABASE): cannot open %s: %v", redactDSN(c.Database), err)
	}
	db.Logger = logger
	db.MissedThreshold = c.MissedThreshold
	db.MissedWindow = c.MissedWindow
	db.Reminders = c.Reminders
	// Emails are written by whoever writes their cause (the sweep from
	// cron too), and sent by the serve processes.
	db.Email = c.SMTP != nil
	db.Hasher = auth.NewHasher(auth.DefaultArgon2, c.HashConcurrency)
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return db, nil
}

// redactDSN hides a password in a database URL.
func redactDSN(dsn string) string {
	if i := strings.Index(dsn, "://"); i >= 0 {
		if at := strings.LastIndexByte(dsn, '@'); at > i {
			cred := dsn[i+3 : at]
			if user, _, ok := strings.Cut(cred, ":"); ok {
				return dsn[:i+3] + user + ":***" + dsn[at:]
			}
		}
	}
	return dsn
}

func sweepCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sweep", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print the result as JSON")
	c, err := parseConfig(fs, args, getenv, stderr)
	if err != nil {
		return err
	}
	db, err := openStore(ctx, c, newLogger(c, stderr), true)
	if err != nil {
		return err
	}
	defer db.Close()
	res, err := db.Sweeper.Sweep(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(map[string]any{
			"at": res.At, "tasks_missed": res.TasksMissed, "users_deactivated": res.UsersDeactivated,
			"users_at_risk": res.UsersAtRisk, "reminders": res.Reminders, "duration_ms": res.Duration.Milliseconds(),
		})
	}
	fmt.Fprintf(stdout, "marked %d tasks missed, deactivated %d users\n", res.TasksMissed, res.UsersDeactivated)
	return nil
}

func migrateCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c, err := parseConfig(flag.NewFlagSet("migrate", flag.ContinueOnError), args, getenv, stderr)
	if err != nil {
		return err
	}
	db, err := openStore(ctx, c, newLogger(c, stderr), true)
	if err != nil {
		return err
	}
	defer db.Close()
	fmt.Fprintln(stdout, "schema up to date")
	return nil
}

func createUserCmd(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("createuser", flag.ContinueOnError)
	username := fs.String("username", "", "username (required)")
	role := fs.String("role", "user", "role: admin, manager or user")
	email := fs.String("email", "", "email address")
	c, err := parseConfig(fs, args, getenv, stderr)
	if err != nil {
		return err
	}
	if *username == "" {
		return usageErrorf("createuser: --username is required")
	}
	password := getenv("TASKTRACK_PASSWORD")
	if password == "" {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && line == "" {
			return usageErrorf("createuser: give the password in $TASKTRACK_PASSWORD or on standard input")
		}
		password = strings.TrimRight(line, "\r\n")
	}
	db, err := openStore(ctx, c, newLogger(c, stderr), false)
	if err != nil {
		return err
	}
	defer db.Close()
	u, err := db.Users.CreateUser(ctx, tasktrack.UserCreate{Username: *username, Password: password, Email: *email, Role: *role})
	if err != nil {
		var te *tasktrack.Error
		if errors.As(err, &te) && len(te.Fields) > 0 {
			var msgs []string
			for f, m := range te.Fields {
				msgs = append(msgs, f+": "+strings.Join(m, " "))
			}
			return usageErrorf("createuser: %s", strings.Join(msgs, "; "))
		}
		return err
	}
	fmt.Fprintf(stdout, "created %s %q (id %d)\n", u.Role.Name, u.Username, u.ID)
	return nil
}

func randomPassword() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
