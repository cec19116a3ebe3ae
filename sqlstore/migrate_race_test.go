package sqlstore_test

import (
	"context"
	"sync"
	"testing"

	"tasktrack/sqlstore"
	. "tasktrack/sqlstore/sqlstoretest"
)

// Replicas started at once on a new database migrate it together: each
// returns without error and the schema is made once. (On PostgreSQL two
// CREATE TABLE IF NOT EXISTS racing for the migrations table made one of
// them fail with "type already exists".)
func TestMigrateConcurrently(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		for range 5 {
			dsn := DSN(t, e)
			const replicas = 4
			dbs := make([]*sqlstore.DB, replicas)
			for i := range dbs {
				db, err := sqlstore.Open(context.Background(), dsn, sqlstore.Options{})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				dbs[i] = db
			}
			var wg sync.WaitGroup
			errs := make([]error, replicas)
			for i, db := range dbs {
				wg.Go(func() { errs[i] = db.Migrate(context.Background()) })
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("replica %d: %v", i, err)
				}
			}
		}
	})
}
