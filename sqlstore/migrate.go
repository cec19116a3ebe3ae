package sqlstore

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations
var migrations embed.FS

// Migrate brings the schema up to date: it applies, in order, every
// embedded migration of the engine that is not yet recorded in
// schema_migrations, each in its own transaction together with its record.
// Replicas starting at once serialize on a lock and apply each once.
func (db *DB) Migrate(ctx context.Context) error {
	dir := "migrations/" + db.dialect.name()
	names, err := fs.Glob(migrations, dir+"/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	if _, err := db.writer.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)"); err != nil {
		// Another replica may be creating it at this moment.
		if !db.dialect.isUniqueViolation(err) {
			return db.mapErr(err)
		}
	}
	for _, name := range names {
		base := name[strings.LastIndexByte(name, '/')+1:]
		version, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: bad name", base)
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		err = db.update(ctx, func(tx *Tx) error {
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
			_, err := tx.exec(ctx, "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", version, micros(tx.now))
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}
