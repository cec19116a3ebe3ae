package sqlstore_test

import (
	"context"
	"testing"

	. "tasktrack/sqlstore/sqlstoretest"
)

// The outbox's bookkeeping commits without waiting for the WAL's flush on
// PostgreSQL, in its own transaction only: the setting is back to the
// server's for the next transaction on the connection, and every other
// transaction waits as before.
func TestLazyCommitIsLocalToItsTransaction(t *testing.T) {
	db := Open(t, Postgres)
	ctx := context.Background()
	server, _, err := db.SynchronousCommit(ctx, false)
	if err != nil || server == "off" {
		t.Fatalf("not lazy: %q, %v; want the server's setting, which waits", server, err)
	}
	inside, after, err := db.SynchronousCommit(ctx, true)
	if err != nil || inside != "off" || after != server {
		t.Fatalf("lazy: %q inside, %q after, %v; want off, then %q", inside, after, err, server)
	}
}
