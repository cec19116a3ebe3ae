package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"tasktrack"
	"tasktrack/sqlstore"
	. "tasktrack/sqlstore/sqlstoretest"
)

// djangoHash is a Django pbkdf2_sha256 hash in form; the store reads only
// its iteration count.
func djangoHash(iter int) string {
	return "pbkdf2_sha256$" + strconv.Itoa(iter) + "$salt$" + strings.Repeat("A", 43) + "="
}

func importedUser(id int64, username, role, hash string) *tasktrack.User {
	r, _ := tasktrack.RoleByName(role)
	return &tasktrack.User{ID: id, Username: username, Role: r, IsActive: true, DateJoined: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), PasswordHash: hash}
}

// The highest iteration count of the Django hashes still stored follows
// every way a hash comes and goes: the import and a merge raise it, and
// an upgrade at login, a reset, an update, the user's own change and a
// deletion lower it once no hash at that count is left.
func TestMaxLegacyIterationsFollowsHashes(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ctx := context.Background()
		dsn := DSN(t, e)
		db := OpenDSN(t, dsn)
		argon2Hash, err := db.Hasher.Hash("admin-password")
		if err != nil {
			t.Fatal(err)
		}
		users := []*tasktrack.User{
			importedUser(1, "admin", "admin", argon2Hash),
			importedUser(2, "a", "user", djangoHash(3000)),
			importedUser(3, "b", "user", djangoHash(5000)),
			importedUser(4, "c", "user", djangoHash(5000)),
			importedUser(5, "d", "user", djangoHash(2000)),
			importedUser(6, "f", "user", djangoHash(1000)),
			importedUser(7, "locked", "user", "!unusable"),
		}
		if _, err := db.Importer.ImportDjango(ctx, users, nil, sqlstore.ImportOptions{}); err != nil {
			t.Fatal(err)
		}
		admin := users[0]
		newPassword := "a-new-password-1"
		steps := []struct {
			name string
			do   func() error
			want int
		}{
			{"after the import", func() error { return nil }, 5000},
			{"one of two at 5000 deleted", func() error { return db.Users.DeleteUser(As(admin), 3) }, 5000},
			{"the other at 5000 updated", func() error {
				_, err := db.Users.UpdateUser(As(admin), 4, tasktrack.UserUpdate{Password: &newPassword})
				return err
			}, 3000},
			{"a lower one upgraded", func() error { return db.Sessions.UpgradePasswordHash(ctx, 5, djangoHash(2000), argon2Hash) }, 3000},
			{"the one at 3000 reset", func() error { return db.Users.SetUserPassword(As(admin), 2, newPassword) }, 1000},
			{"a merge brings one at 9000", func() error {
				_, err := db.Importer.ImportDjango(ctx, []*tasktrack.User{importedUser(8, "g", "user", djangoHash(9000))}, nil, sqlstore.ImportOptions{Merge: true})
				return err
			}, 9000},
			{"a dry run brings one at 20000", func() error {
				_, err := db.Importer.ImportDjango(ctx, []*tasktrack.User{importedUser(9, "h", "user", djangoHash(20000))}, nil, sqlstore.ImportOptions{Merge: true, DryRun: true})
				return err
			}, 9000},
			{"the one at 9000 changed by its user", func() error {
				return db.Sessions.SetOwnPassword(As(&tasktrack.User{ID: 8, Username: "g"}), djangoHash(9000), newPassword)
			}, 1000},
			{"the last upgraded", func() error { return db.Sessions.UpgradePasswordHash(ctx, 6, djangoHash(1000), argon2Hash) }, 0},
		}
		for _, s := range steps {
			if err := s.do(); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			if got, err := db.Sessions.MaxLegacyIterations(ctx); err != nil || got != s.want {
				t.Fatalf("%s: MaxLegacyIterations = %d, %v; want %d", s.name, got, err, s.want)
			}
		}
	})
}

// A database whose Django hashes were imported before the store kept the
// count has it counted at the first asking.
func TestMaxLegacyIterationsCountedOnce(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ctx := context.Background()
		dsn := DSN(t, e)
		db := OpenDSN(t, dsn)
		users := []*tasktrack.User{importedUser(1, "a", "user", djangoHash(4000)), importedUser(2, "b", "user", djangoHash(600000))}
		if _, err := db.Importer.ImportDjango(ctx, users, nil, sqlstore.ImportOptions{}); err != nil {
			t.Fatal(err)
		}
		driver := "sqlite"
		if e == Postgres {
			driver = "pgx"
		}
		raw, err := sql.Open(driver, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		if _, err := raw.ExecContext(ctx, "DELETE FROM settings WHERE key = 'legacy_pbkdf2_iterations'"); err != nil {
			t.Fatal(err)
		}
		if got, err := db.Sessions.MaxLegacyIterations(ctx); err != nil || got != 600000 {
			t.Fatalf("MaxLegacyIterations = %d, %v; want 600000", got, err)
		}
		var v string
		if err := raw.QueryRowContext(ctx, "SELECT value FROM settings WHERE key = 'legacy_pbkdf2_iterations'").Scan(&v); err != nil || v != "600000" {
			t.Fatalf("stored count %q, %v; want 600000", v, err)
		}
	})
}

// A user's own change is refused when the hash auth checked the old
// password against has changed since.
func TestSetOwnPasswordRefusesAChangedHash(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		db := Open(t, e)
		ann := MustCreateUser(t, db, "ann", "user")
		stored, err := db.Sessions.AuthUser(System, ann.ID)
		if err != nil {
			t.Fatal(err)
		}
		err = db.Sessions.SetOwnPassword(As(ann), stored.PasswordHash+"x", "ann-new-pass-1")
		var te *tasktrack.Error
		if !errors.As(err, &te) || te.Kind != tasktrack.KindInvalid || len(te.Fields["old_password"]) != 1 || te.Fields["old_password"][0] != tasktrack.WrongOldPassword {
			t.Fatalf("SetOwnPassword with a stale hash: %v, want the old_password field error", err)
		}
		if now, _ := db.Sessions.AuthUser(System, ann.ID); now.PasswordHash != stored.PasswordHash || now.TokenVersion != stored.TokenVersion {
			t.Fatal("a refused change changed the user")
		}
		if err := db.Sessions.SetOwnPassword(As(ann), stored.PasswordHash, "ann-new-pass-1"); err != nil {
			t.Fatalf("SetOwnPassword with the current hash: %v", err)
		}
	})
}
