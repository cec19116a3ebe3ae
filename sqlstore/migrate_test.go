package sqlstore_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"tasktrack/sqlstore"
	. "tasktrack/sqlstore/sqlstoretest"
)

// The migration these tests start before: accounts_and_misses.
const accountsMigration = "accounts_and_misses"

// oldSchema makes a database of engine e as one from before the accounts
// migration was: every earlier migration applied and recorded. It returns
// the database's DSN and a raw connection to it.
func oldSchema(t *testing.T, e Engine) (string, *sql.DB) {
	t.Helper()
	dsn := DSN(t, e)
	raw := Raw(t, dsn)
	if _, err := raw.Exec("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join("migrations", string(e), "*.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("migrations of %s: %v", e, err)
	}
	slices.Sort(files)
	for _, f := range files {
		if strings.Contains(f, accountsMigration) {
			return dsn, raw
		}
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		version, _ := strconv.Atoi(strings.SplitN(filepath.Base(f), "_", 2)[0])
		if _, err := raw.Exec(string(body)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if _, err := raw.Exec("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 0)", version); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatalf("no %s migration for %s", accountsMigration, e)
	return "", nil
}

// rawExec runs statements on a raw connection.
func rawExec(t *testing.T, raw *sql.DB, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := raw.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// schemaObjects returns the definition of every index, and on SQLite of
// every table and trigger, by name.
func schemaObjects(t *testing.T, e Engine, raw *sql.DB) map[string]string {
	t.Helper()
	q := "SELECT name, COALESCE(sql, '') FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'"
	if e == Postgres {
		q = `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()
			UNION ALL SELECT conname, pg_get_constraintdef(c.oid) FROM pg_constraint c
			JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = current_schema()`
	}
	rows, err := raw.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			t.Fatal(err)
		}
		out[name] = def
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// oldTask was missed at 7 s (times are microseconds) for its deadline at
// 5 s; it has three task_missed alerts: one from before its deadline was
// moved to 5 s, and two for 5 s, as the sweep could raise before.
const oldTask = "0195a6f0-0000-7000-8000-000000000001"

// TestMigrateAccountsFromOldSchema migrates a database from before the
// accounts migration: every row and every index and constraint stays, the
// tables refer to each other as before (nothing cascaded while the users
// table was rebuilt), every user gets a token key and a PRECIS username
// key, ids continue after the largest ever given, and the alerts of a miss
// learn their deadline.
func TestMigrateAccountsFromOldSchema(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		dsn, raw := oldSchema(t, e)
		rawExec(t, raw,
			`INSERT INTO users (id, username, username_key, password, role_id, is_active, date_joined, token_version)
			 VALUES (1, 'admin', 'admin', 'h1', 1, TRUE, 1000, 3), (2, 'Bob', 'bob', 'h2', 3, TRUE, 2000, 1),
			        (3, 'Ｃａｒｏｌ', 'ｃａｒｏｌ', 'h3', 2, TRUE, 3000, 1)`,
			`INSERT INTO audit_log (at, action, target_type, target_id) VALUES (4000, 'user.delete', 'user', '4')`,
			`INSERT INTO tasks (id, title, deadline, status, assigned_to, created_by, created_at, updated_at, missed_at)
			 VALUES ('`+oldTask+`', 'Report', 5000000, 'missed', 2, 1, 1000, 7000000, 7000000)`,
			`INSERT INTO alerts (id, kind, task_id, user_id, username, created_at) VALUES
			 ('0195a6f0-0000-7000-8000-0000000000a1', 'task_missed', '`+oldTask+`', 2, 'Bob', 3000000),
			 ('0195a6f0-0000-7000-8000-0000000000a2', 'task_missed', '`+oldTask+`', 2, 'Bob', 6000000),
			 ('0195a6f0-0000-7000-8000-0000000000a3', 'task_missed', '`+oldTask+`', 2, 'Bob', 7000000)`,
			`INSERT INTO refresh_tokens (token_hash, family_id, user_id, token_version, created_at, expires_at)
			 VALUES ('hash-of-bob', 'family', 2, 1, 1000, 9000000000000000)`,
		)
		before := schemaObjects(t, e, raw)

		db := OpenDSN(t, dsn)
		ctx := context.Background()

		after := schemaObjects(t, e, raw)
		changed := map[string]bool{"users": true, "alerts": true, "alerts_task_missed_once": true}
		// Later migrations replace these for the dashboard (0004_stats.sql
		// on SQLite, 0003_stats.sql on PostgreSQL), ...
		replaced := map[string]bool{"tasks_open_deadline": e == SQLite, "tasks_missed_deadline": true,
			// and the alert kinds gain user_at_risk (0005/0004_notifications.sql).
			"alerts_kind_check": true}
		for name, def := range before {
			if replaced[name] {
				continue
			}
			if got, ok := after[name]; !ok || (got != def && !changed[name]) {
				t.Errorf("%s was\n  %s\nis\n  %s", name, def, got)
			}
		}
		if e == SQLite {
			for _, want := range []string{"AUTOINCREMENT", "CHECK (role_id IN (1, 2, 3))", "token_key"} {
				if !strings.Contains(after["users"], want) {
					t.Errorf("users table lacks %q: %s", want, after["users"])
				}
			}
		}

		keys := map[string]bool{}
		for _, c := range []struct {
			id        int64
			name, key string
			version   int64
			logins    []string
		}{
			{1, "admin", "admin", 3, []string{"admin", "ADMIN"}},
			{2, "Bob", "bob", 1, []string{"bob", "BOB", "ｂｏｂ"}},
			{3, "Ｃａｒｏｌ", "carol", 1, []string{"carol", "Ｃａｒｏｌ", "CAROL"}},
		} {
			u, err := db.Sessions.AuthUser(ctx, c.id)
			if err != nil || u.Username != c.name || u.TokenVersion != c.version || len(u.TokenKey) < 32 || keys[u.TokenKey] {
				t.Fatalf("user %d after the migration: %+v, %v", c.id, u, err)
			}
			keys[u.TokenKey] = true
			for _, login := range c.logins {
				if got, err := db.Sessions.UserByUsername(ctx, login); err != nil || got.ID != c.id {
					t.Errorf("%q finds %+v, %v; want user %d", login, got, err, c.id)
				}
			}
		}
		task, err := db.Tasks.FindTaskByID(System, oldTask)
		if err != nil || task.AssignedTo != 2 || task.CreatedBy == nil || *task.CreatedBy != 1 {
			t.Errorf("task after the migration: %+v, %v", task, err)
		}
		if hashes, err := db.Sessions.RefreshTokenHashes(ctx); err != nil || !slices.Equal(hashes, []string{"hash-of-bob"}) {
			t.Errorf("refresh tokens after the migration: %q, %v", hashes, err)
		}
		rows, err := raw.Query("SELECT created_at, deadline FROM alerts ORDER BY seq")
		if err != nil {
			t.Fatal(err)
		}
		var deadlines []string
		for rows.Next() {
			var (
				at int64
				d  sql.NullInt64
			)
			if err := rows.Scan(&at, &d); err != nil {
				t.Fatal(err)
			}
			deadlines = append(deadlines, strconv.FormatInt(at, 10)+":"+map[bool]string{true: strconv.FormatInt(d.Int64, 10), false: "null"}[d.Valid])
		}
		rows.Close()
		if want := []string{"3000000:null", "6000000:5000000", "7000000:null"}; !slices.Equal(deadlines, want) {
			t.Errorf("alerts' deadlines %q, want %q", deadlines, want)
		}
		if u := MustCreateUser(t, db, "dave", "user"); u.ID != 5 {
			t.Errorf("the first user after the migration got id %d, want 5 (4 was deleted)", u.ID)
		}
	})
}

// TestMigrateAccountsRefusesCollidingUsernames: names that become one under
// the PRECIS rule stop the migration, which names them and changes
// nothing; once one is renamed, it goes through.
func TestMigrateAccountsRefusesCollidingUsernames(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		dsn, raw := oldSchema(t, e)
		rawExec(t, raw,
			`INSERT INTO users (id, username, username_key, password, role_id, is_active, date_joined)
			 VALUES (1, 'admin', 'admin', 'h1', 1, TRUE, 1000), (2, 'ａｄｍｉｎ', 'ａｄｍｉｎ', 'h2', 3, TRUE, 2000),
			        (3, 'Zoë', 'zoë', 'h3', 3, TRUE, 3000), (4, 'ＺＯË', 'ｚｏë', 'h4', 3, TRUE, 4000)`)
		var version int
		if err := raw.QueryRow("SELECT max(version) FROM schema_migrations").Scan(&version); err != nil {
			t.Fatal(err)
		}
		db, err := sqlstore.Open(context.Background(), dsn, sqlstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		const want = `usernames that differ only in case or width are now one name: "Zoë" (id 3) and "ＺＯË" (id 4); "admin" (id 1) and "ａｄｍｉｎ" (id 2); rename all but one of each, then start again`
		for range 2 {
			if err := db.Migrate(context.Background()); err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("migrate: %v\nwant an error with %s", err, want)
			}
		}
		var now int
		if err := raw.QueryRow("SELECT max(version) FROM schema_migrations").Scan(&now); err != nil || now != version {
			t.Fatalf("schema version %d after the refusal, want %d (%v)", now, version, err)
		}
		if _, err := raw.Exec("SELECT token_key FROM users"); err == nil {
			t.Fatal("the refused migration left its column behind")
		}
		rawExec(t, raw, "UPDATE users SET username = 'admin2', username_key = 'admin2' WHERE id = 2",
			"UPDATE users SET username = 'zoe4', username_key = 'zoe4' WHERE id = 4")
		if err := db.Migrate(context.Background()); err != nil {
			t.Fatalf("migrate after the renames: %v", err)
		}
	})
}
