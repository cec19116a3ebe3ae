package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations
var migrations embed.FS

// afterSQL holds the parts of migrations that SQL cannot do, by the
// migration's name without its number (which differs per engine). Each
// runs in its migration's transaction, after the SQL.
var afterSQL = map[string]func(*Tx, context.Context) error{
	"accounts_and_misses": (*Tx).rekeyUsernames,
}

// Migrate brings the schema up to date: it applies, in order, every
// embedded migration of the engine that is not yet recorded in
// schema_migrations, each in its own transaction together with its record.
// Replicas starting at once serialize on a lock and apply each once.
func (db *DB) Migrate(ctx context.Context) (err error) {
	defer wrap(&err, "sqlstore.Migrate")
	dir := "migrations/" + db.dialect.name()
	names, err := fs.Glob(migrations, dir+"/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	// What is applied already, read outside the migration transactions:
	// every start of a process (a sweep from cron too) finds the schema up
	// to date, and a migration transaction on SQLite ends with
	// PRAGMA foreign_key_check, which reads every table (seconds on a
	// million tasks). A version once recorded stays recorded, so only
	// those missing here go through the lock, which asks again. Without
	// the table (a new database), every migration does.
	applied := map[int]bool{}
	rows, err := db.query(ctx, "SELECT version FROM schema_migrations")
	if err == nil {
		for rows.Next() {
			var v int
			if err := rows.Scan(&v); err != nil {
				rows.Close()
				return err
			}
			applied[v] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	} else {
		// Under the lock, like each migration: on PostgreSQL two replicas
		// racing through CREATE TABLE IF NOT EXISTS can both miss the
		// table, and the second then fails on the type the first has made.
		err = db.dialect.migration(ctx, db, func(tx *Tx) error {
			if err := db.dialect.lock(ctx, tx, lockMigrate); err != nil {
				return err
			}
			_, err := tx.exec(ctx, "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)")
			return err
		})
		if err != nil {
			return db.mapErr(err)
		}
	}
	for _, name := range names {
		base := name[strings.LastIndexByte(name, '/')+1:]
		number, rest, _ := strings.Cut(base, "_")
		version, err := strconv.Atoi(number)
		if err != nil {
			return fmt.Errorf("migration %s: bad name", base)
		}
		if applied[version] {
			continue
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		err = db.dialect.migration(ctx, db, func(tx *Tx) error {
			if err := db.dialect.lock(ctx, tx, lockMigrate); err != nil {
				return err
			}
			var n int
			if err := tx.queryRow(ctx, "SELECT count(*) FROM schema_migrations WHERE version = ?", version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.tx.ExecContext(ctx, string(body)); err != nil {
				return fmt.Errorf("migration %s: %w", base, err)
			}
			if step := afterSQL[strings.TrimSuffix(rest, ".sql")]; step != nil {
				if err := step(tx, ctx); err != nil {
					return fmt.Errorf("migration %s: %w", base, err)
				}
			}
			_, err := tx.exec(ctx, "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", version, micros(tx.now))
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// checkForeignKeys fails when a row refers to one that does not exist.
func (tx *Tx) checkForeignKeys(ctx context.Context) error {
	rows, err := tx.tx.QueryContext(ctx, "PRAGMA foreign_key_check")
	if err != nil {
		return err
	}
	defer rows.Close()
	if rows.Next() {
		var (
			table, parent string
			rowid         sql.NullInt64
			fk            int
		)
		if err := rows.Scan(&table, &rowid, &parent, &fk); err != nil {
			return err
		}
		return fmt.Errorf("row %d of %s refers to a missing row of %s", rowid.Int64, table, parent)
	}
	return rows.Err()
}

// rekeyUsernames sets every user's username_key to the name's PRECIS form
// (tasktrack.UsernameKey). Names that have the same form are refused by
// name, and the migration with them, before anything changes: which of the
// accounts keeps the name is for a person to decide (README, "Upgrading").
func (tx *Tx) rekeyUsernames(ctx context.Context) error {
	type user struct {
		id       int64
		name     string
		key, was string
	}
	rows, err := tx.query(ctx, "SELECT id, username, username_key FROM users ORDER BY id")
	if err != nil {
		return err
	}
	var users []user
	for rows.Next() {
		var u user
		if err := rows.Scan(&u.id, &u.name, &u.was); err != nil {
			rows.Close()
			return err
		}
		u.key = usernameKey(u.name)
		users = append(users, u)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	byKey := map[string][]string{}
	for _, u := range users {
		byKey[u.key] = append(byKey[u.key], fmt.Sprintf("%q (id %d)", u.name, u.id))
	}
	if clashes := usernameClashes(byKey); len(clashes) > 0 {
		return fmt.Errorf("usernames that differ only in case or width are now one name: %s; rename all but one of each, then start again (README: Upgrading)",
			strings.Join(clashes, "; "))
	}
	for _, u := range users {
		if u.key == u.was {
			continue
		}
		if _, err := tx.exec(ctx, "UPDATE users SET username_key = ? WHERE id = ?", u.key, u.id); err != nil {
			return err
		}
	}
	return nil
}
