package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"tasktrack"
	"tasktrack/djangoimport"
	"tasktrack/sqlstore"
)

// importBools are import-django's flags that take no value.
var importBools = map[string]bool{"dry-run": true, "merge": true, "json": true, "h": true, "help": true}

// importReport is what import-django prints, as text or JSON.
type importReport struct {
	Source    string              `json:"source"`
	Engine    string              `json:"source_engine"`
	Target    string              `json:"target"`
	DryRun    bool                `json:"dry_run"`
	Merge     bool                `json:"merge"`
	Roles     []djangoimport.Role `json:"roles"`
	Users     importCounts        `json:"users"`
	Tasks     importCounts        `json:"tasks"`
	Passwords passwordCounts      `json:"passwords"`
	Overdue   int                 `json:"overdue_open_tasks"`
	// NoAdmin is set when no imported user is an active admin.
	NoAdmin    bool                     `json:"no_active_admin"`
	Notes      []djangoimport.Note      `json:"notes"`
	Collisions []djangoimport.Collision `json:"collisions"`
	Refused    string                   `json:"refused,omitempty"`
}

type importCounts struct {
	Read     int `json:"read"`
	Imported int `json:"imported"`
	Skipped  int `json:"skipped"`
}

type passwordCounts struct {
	Kept  int `json:"kept"`
	Reset int `json:"must_reset"`
}

// importDjangoCmd imports the users and tasks of the Django original into
// the configured database.
func importDjangoCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	source, rest, err := splitSource(args)
	if err != nil {
		return err
	}
	fset := flag.NewFlagSet("import-django", flag.ContinueOnError)
	dryRun := fset.Bool("dry-run", false, "report what would be imported and write nothing")
	merge := fset.Bool("merge", false, "import into a database that holds data, skipping what it has")
	asJSON := fset.Bool("json", false, "print the report as JSON")
	fset.Usage = func() {
		fmt.Fprintln(fset.Output(), "Usage: tasktrack import-django PATH|URL [--dry-run] [--merge] [--json] [settings]")
		fset.PrintDefaults()
	}
	c, err := parseConfig(fset, rest, getenv, stderr)
	if err != nil {
		return err
	}
	if source == "" {
		return usageErrorf("import-django: give the Django database: a SQLite file or a postgres:// URL")
	}

	data, err := djangoimport.Read(ctx, source, time.Now())
	var se *djangoimport.SourceError
	if errors.As(err, &se) {
		return usageErrorf("import-django: %v", se)
	}
	if err != nil {
		return err
	}
	rep := &importReport{
		Source: redactDSN(source), Engine: data.Engine, Target: redactDSN(c.Database), DryRun: *dryRun, Merge: *merge,
		Roles: data.Roles, Notes: data.Notes, Collisions: data.Collisions, Overdue: data.Overdue,
		Users:     importCounts{Read: len(data.Users)},
		Tasks:     importCounts{Read: data.TasksRead},
		Passwords: passwordCounts{Kept: len(data.Users) - data.PasswordResets, Reset: data.PasswordResets},
	}
	rep.NoAdmin = true
	for _, u := range data.Users {
		if u.IsActive && u.IsAdmin() {
			rep.NoAdmin = false
		}
	}
	if len(data.Collisions) > 0 {
		rep.Refused = fmt.Sprintf("%d username(s) collide: they differ only in case or width, which tasktrack cannot tell apart at login: rename all but one of each in the Django database, then import again", len(data.Collisions))
		return printImportReport(rep, *asJSON, stdout)
	}

	logger := newLogger(c, stderr)
	if *dryRun {
		// A dry run into a SQLite file that does not exist yet must not
		// create it: rehearse on a temporary one, which is just as empty.
		if path := strings.TrimPrefix(strings.TrimPrefix(c.Database, "sqlite://"), "file:"); !sqlstore.IsPostgres(c.Database) {
			if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
				dir, err := os.MkdirTemp("", "tasktrack-dry-run-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(dir)
				c.Database = filepath.Join(dir, "tasktrack.db")
			}
		}
	}
	db, err := openStore(ctx, c, logger, true)
	if err != nil {
		return err
	}
	defer db.Close()

	total := len(data.Users) + len(data.Tasks)
	showProgress := total >= 10000 && !*asJSON
	if showProgress {
		fmt.Fprintf(stderr, "read %d users and %d tasks from %s\n", len(data.Users), data.TasksRead, rep.Source)
	}
	res, err := db.Importer.ImportDjango(ctx, data.Users, data.Tasks, sqlstore.ImportOptions{
		Merge: *merge, DryRun: *dryRun,
		Details: map[string]any{
			"source_engine": data.Engine, "users_read": len(data.Users), "tasks_read": data.TasksRead,
			"mapped": len(data.Notes), "password_resets": data.PasswordResets,
		},
		Progress: func(stage string, done, n int) {
			if showProgress {
				fmt.Fprintf(stderr, "\r%s %d/%d (%.0f%%)", stage, done, n, 100*float64(done)/float64(max(n, 1)))
				if done == n {
					fmt.Fprintln(stderr)
				}
			}
		},
	})
	if tasktrack.ErrorKind(err) == tasktrack.KindConflict {
		rep.Refused = err.Error()
		if !*merge {
			rep.Refused += " Import into an empty database, or pass --merge to add only what it lacks."
		}
		return printImportReport(rep, *asJSON, stdout)
	}
	if err != nil {
		return err
	}
	rep.Users.Imported, rep.Tasks.Imported = res.UsersImported, res.TasksImported
	rep.Users.Skipped, rep.Tasks.Skipped = rep.Users.Read-res.UsersImported, rep.Tasks.Read-res.TasksImported
	rep.Notes = append(rep.Notes, res.Notes...)
	return printImportReport(rep, *asJSON, stdout)
}

// splitSource takes the one positional argument, the source, out of args,
// wherever it stands among the flags. Every flag but importBools takes a
// value, after "=" or as the next argument.
func splitSource(args []string) (string, []string, error) {
	var (
		source string
		rest   []string
	)
	take := func(a string) error {
		if source != "" {
			return usageErrorf("import-django: unexpected argument %q: give one Django database", a)
		}
		source = a
		return nil
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			for _, b := range args[i+1:] {
				if err := take(b); err != nil {
					return "", nil, err
				}
			}
			return source, rest, nil
		case strings.HasPrefix(a, "-") && len(a) > 1:
			rest = append(rest, a)
			name := strings.TrimLeft(a, "-")
			if !strings.Contains(name, "=") && !importBools[name] && i+1 < len(args) {
				i++
				rest = append(rest, args[i])
			}
		default:
			if err := take(a); err != nil {
				return "", nil, err
			}
		}
	}
	return source, rest, nil
}

// printImportReport prints the report; a refused import is an error (exit
// code 1) after the report.
func printImportReport(rep *importReport, asJSON bool, w io.Writer) error {
	if asJSON {
		if rep.Notes == nil {
			rep.Notes = []djangoimport.Note{}
		}
		if rep.Collisions == nil {
			rep.Collisions = []djangoimport.Collision{}
		}
		if err := json.NewEncoder(w).Encode(rep); err != nil {
			return err
		}
	} else {
		printImportText(rep, w)
	}
	if rep.Refused != "" {
		return errors.New("import refused: " + rep.Refused)
	}
	return nil
}

func printImportText(rep *importReport, w io.Writer) {
	fmt.Fprintf(w, "Django database: %s (%s)\n", rep.Source, rep.Engine)
	var roles []string
	for _, r := range rep.Roles {
		roles = append(roles, r.Name+" -> "+r.As)
	}
	fmt.Fprintf(w, "Roles: %d (%s)\n", len(rep.Roles), strings.Join(roles, ", "))
	verb := "imported"
	if rep.DryRun {
		verb = "to import"
	}
	if rep.Refused != "" {
		fmt.Fprintf(w, "Users: %d read\nTasks: %d read\n", rep.Users.Read, rep.Tasks.Read)
	} else {
		fmt.Fprintf(w, "Users: %d read, %d %s, %d skipped\n", rep.Users.Read, rep.Users.Imported, verb, rep.Users.Skipped)
		fmt.Fprintf(w, "Tasks: %d read, %d %s, %d skipped\n", rep.Tasks.Read, rep.Tasks.Imported, verb, rep.Tasks.Skipped)
	}
	fmt.Fprintf(w, "Passwords: %d kept (Django's pbkdf2_sha256, verified at login and re-hashed at the first), %d must be reset by an admin\n",
		rep.Passwords.Kept, rep.Passwords.Reset)
	if len(rep.Collisions) > 0 {
		fmt.Fprintf(w, "Username collisions (%d), equal but for case or width:\n", len(rep.Collisions))
		for _, c := range rep.Collisions {
			var us []string
			for _, u := range c.Users {
				us = append(us, fmt.Sprintf("%q (id %d)", u.Username, u.ID))
			}
			fmt.Fprintf(w, "  %s\n", strings.Join(us, ", "))
		}
	}
	// Rows a merge finds already there are counted, not listed: a second
	// merge would list everything. --json lists them.
	var listed []djangoimport.Note
	present := map[string]int{}
	for _, n := range rep.Notes {
		if n.Skipped && n.Detail == sqlstore.ImportPresent {
			present[n.Target]++
			continue
		}
		listed = append(listed, n)
	}
	if len(present) > 0 {
		fmt.Fprintf(w, "Already in the database, skipped: %d user(s), %d task(s)\n", present[djangoimport.TargetUser], present[djangoimport.TargetTask])
	}
	if len(listed) > 0 {
		fmt.Fprintf(w, "Mapped or skipped (%d):\n", len(listed))
		for _, n := range listed {
			fmt.Fprintf(w, "  %s\n", n)
		}
	}
	switch {
	case rep.Refused != "":
		fmt.Fprintf(w, "Import refused: nothing was written to %s.\n", rep.Target)
		return
	case rep.DryRun:
		fmt.Fprintf(w, "Dry run: nothing was written to %s.\n", rep.Target)
	case rep.Users.Imported == 0 && rep.Tasks.Imported == 0:
		fmt.Fprintf(w, "Nothing to import: %s already holds all of it.\n", rep.Target)
	default:
		fmt.Fprintf(w, "Imported into %s in one transaction.\n", rep.Target)
	}
	if rep.NoAdmin && !rep.Merge {
		fmt.Fprintln(w, "No imported user is an active admin: create one with tasktrack createuser --role admin.")
	}
	if rep.Overdue > 0 && rep.Tasks.Imported > 0 {
		fmt.Fprintf(w, "%d open task(s) are past their deadline: the first sweep (at server start, or tasktrack sweep) marks them missed.\n", rep.Overdue)
	}
}
