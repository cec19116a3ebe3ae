package sqlstore_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"tasktrack/sqlstore"
	. "tasktrack/sqlstore/sqlstoretest"
)

// Authenticating a personal access token is one indexed read: the token by
// the unique index on its hash, its owner by primary key, nothing scanned.
func TestTokenLookupIsOneIndexedRead(t *testing.T) {
	db := Open(t, SQLite)
	plan, err := db.QueryPlan(context.Background(), sqlstore.TokenByHash, "0123")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"SEARCH p USING INDEX personal_tokens_hash (token_hash=?)",
		"SEARCH u USING INTEGER PRIMARY KEY (rowid=?)",
	}
	if !slices.Equal(plan, want) {
		t.Fatalf("plan:\n%s\nwant:\n%s", strings.Join(plan, "\n"), strings.Join(want, "\n"))
	}
}
