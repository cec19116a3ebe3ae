package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"tasktrack"
	"tasktrack/sqlstore"
	. "tasktrack/sqlstore/sqlstoretest"
)

// TestUserIDsAreNeverReused: a deleted user's id is never given again,
// neither after the newest user is deleted nor after an import that
// brings only smaller ids, and every account has a token key of its own.
func TestUserIDsAreNeverReused(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		db := Open(t, e)
		ctx := context.Background()
		joined := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		imported := func(id int64, name string) *tasktrack.User {
			return &tasktrack.User{ID: id, Username: name, Role: tasktrack.RoleUser, IsActive: true, DateJoined: joined, PasswordHash: "!"}
		}
		if _, err := db.Importer.ImportDjango(ctx, []*tasktrack.User{imported(1, "one"), imported(3, "three")}, nil, sqlstore.ImportOptions{}); err != nil {
			t.Fatal(err)
		}
		keys := map[string]bool{}
		given := int64(3)
		next := func(name string) *tasktrack.User {
			t.Helper()
			u := MustCreateUser(t, db, name, "user")
			if u.ID <= given {
				t.Fatalf("%s got id %d; ids up to %d were given before", name, u.ID, given)
			}
			if len(u.TokenKey) < 32 || keys[u.TokenKey] {
				t.Fatalf("%s got token key %q", name, u.TokenKey)
			}
			keys[u.TokenKey] = true
			given = u.ID
			return u
		}
		intern := next("intern")
		if err := db.Users.DeleteUser(System, intern.ID); err != nil {
			t.Fatal(err)
		}
		next("after-delete")
		newest := next("newest")
		if err := db.Users.DeleteUser(System, newest.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Importer.ImportDjango(ctx, []*tasktrack.User{imported(2, "two")}, nil, sqlstore.ImportOptions{Merge: true}); err != nil {
			t.Fatal(err)
		}
		next("after-import")
	})
}

// TestRefreshRotationChecksTheTokenKey: a stored refresh token rotates
// only for a token that carries its user's token key, as it does only for
// the user's token version; a refused rotation spends nothing.
func TestRefreshRotationChecksTheTokenKey(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		db := Open(t, e)
		ctx := context.Background()
		u := MustCreateUser(t, db, "alice", "user")
		exp := db.Now().Add(time.Hour)
		if err := db.Sessions.SaveRefreshToken(ctx, tasktrack.RefreshToken{Hash: "first", FamilyID: "family", UserID: u.ID, TokenVersion: u.TokenVersion, ExpiresAt: exp}); err != nil {
			t.Fatal(err)
		}
		for _, key := range []string{"", "another-accounts-key"} {
			if _, err := db.Sessions.RotateRefreshToken(ctx, "first", tasktrack.RefreshToken{Hash: "second", TokenKey: key, ExpiresAt: exp}); err != tasktrack.ErrTokenInvalid {
				t.Errorf("rotation with key %q: %v, want %v", key, err, tasktrack.ErrTokenInvalid)
			}
		}
		if got, err := db.Sessions.RotateRefreshToken(ctx, "first", tasktrack.RefreshToken{Hash: "second", TokenKey: u.TokenKey, ExpiresAt: exp}); err != nil || got.ID != u.ID {
			t.Errorf("rotation with the user's key: %+v, %v", got, err)
		}
	})
}
