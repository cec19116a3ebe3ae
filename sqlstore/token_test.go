package sqlstore_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"tasktrack"
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

// Task creations that share a transaction (group commit) each write the
// audit entry of their own request: the one made with a personal access
// token names it, the one made in a login session does not, whichever of
// them leads the batch.
func TestBatchedCreatesNameTheirOwnToken(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ctx := context.Background()
		dsn := DSN(t, e)
		db := OpenDSN(t, dsn)
		boss := MustCreateUser(t, db, "boss", "manager")
		ann := MustCreateUser(t, db, "ann", "user")
		token, err := db.Tokens.CreatePersonalToken(As(boss), tasktrack.PersonalTokenCreate{Name: "ci", Scopes: []string{"read", "write"}}, strings.Repeat("ab", 32))
		if err != nil {
			t.Fatal(err)
		}
		withToken := tasktrack.NewContextWithToken(As(boss), token)

		// Another connection holds the tasks table, so that the first
		// creation's batch waits and the next two queue behind it, in
		// one batch of their own.
		driver := map[Engine]string{SQLite: "sqlite", Postgres: "pgx"}[e]
		other, err := sql.Open(driver, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		hold, err := other.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		lock := map[Engine]string{SQLite: "DELETE FROM tasks WHERE id = 'none'", Postgres: "LOCK TABLE tasks IN EXCLUSIVE MODE"}[e]
		if _, err := hold.ExecContext(ctx, lock); err != nil {
			t.Fatal(err)
		}
		create := func(ctx context.Context, title string, wg *sync.WaitGroup) {
			wg.Go(func() {
				if _, err := db.Tasks.CreateTask(ctx, tasktrack.TaskCreate{Title: title, Deadline: db.Now().Add(time.Hour), AssignedTo: ann.ID}); err != nil {
					t.Error(err)
				}
			})
		}
		waitFor := func(pending int) {
			for n, leading := db.Tasks.CreateQueue(); n != pending || !leading; n, leading = db.Tasks.CreateQueue() {
				runtime.Gosched()
			}
		}
		var wg sync.WaitGroup
		create(As(boss), "first", &wg)
		waitFor(0)
		create(withToken, "by token", &wg)
		waitFor(1)
		create(As(boss), "by session", &wg)
		waitFor(2)
		if err := hold.Rollback(); err != nil {
			t.Fatal(err)
		}
		wg.Wait()

		entries, _, err := db.Audit.FindAuditEntries(System, tasktrack.AuditFilter{Action: tasktrack.ActionTaskCreate})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, en := range entries {
			var d struct {
				Title   string `json:"title"`
				TokenID string `json:"token_id"`
			}
			if err := json.Unmarshal(en.Details, &d); err != nil {
				t.Fatal(err)
			}
			got[d.Title] = d.TokenID
		}
		want := map[string]string{"first": "", "by token": token.ID, "by session": ""}
		if !maps.Equal(got, want) {
			t.Fatalf("token ids by task: %v, want %v", got, want)
		}
	})
}
