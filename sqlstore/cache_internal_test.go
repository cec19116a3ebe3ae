package sqlstore

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
)

// TestSQLitePageCaches: the writer connections of a serving process cache
// writerCacheKiB of pages, those of a bulk process (Options.BulkWrites)
// bulkWriterCacheKiB, the readers readerCacheKiB. Every connection of each
// pool is held and asked at once, so that none is missed.
func TestSQLitePageCaches(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		opt    Options
		writer int
	}{
		{"serve", Options{}, writerCacheKiB},
		{"bulk", Options{BulkWrites: true}, bulkWriterCacheKiB},
	} {
		t.Run(c.name, func(t *testing.T) {
			db, err := Open(ctx, filepath.Join(t.TempDir(), "tasktrack.db"), c.opt)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			check := func(pool string, p *sql.DB, want int) {
				n := p.Stats().MaxOpenConnections
				for i := range n {
					conn, err := p.Conn(ctx)
					if err != nil {
						t.Fatal(err)
					}
					defer conn.Close()
					var got int
					if err := conn.QueryRowContext(ctx, "PRAGMA cache_size").Scan(&got); err != nil || got != -want {
						t.Errorf("%s connection %d of %d: cache_size = %d (%v), want %d", pool, i+1, n, got, err, -want)
					}
				}
			}
			check("writer", db.writer, c.writer)
			check("reader", db.reader, readerCacheKiB)
		})
	}
	if writerCacheKiB >= bulkWriterCacheKiB {
		t.Errorf("a serving writer's cache (%d KiB) is not smaller than a bulk one's (%d KiB)", writerCacheKiB, bulkWriterCacheKiB)
	}
}
