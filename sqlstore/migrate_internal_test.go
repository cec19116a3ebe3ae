package sqlstore

import (
	"context"
	"path/filepath"
	"testing"
)

// TestMigrationsLeaveForeignKeysOn: SQLite migrations run with foreign key
// enforcement off; the connection they ran on must have it on again when
// it goes back to the pool. Every connection of the writer pool is held
// and asked at once, so the one the migrations used is among them.
func TestMigrationsLeaveForeignKeysOn(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "tasktrack.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	n := db.writer.Stats().MaxOpenConnections
	for i := range n {
		conn, err := db.writer.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		var on int
		if err := conn.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&on); err != nil || on != 1 {
			t.Fatalf("writer connection %d of %d: foreign_keys = %d after migrating (%v), want 1", i+1, n, on, err)
		}
	}
}
