package auth_test

import (
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"tasktrack"
	"tasktrack/auth"
	"tasktrack/sqlstore"
	. "tasktrack/sqlstore/sqlstoretest"
)

// legacyHash is a Django pbkdf2_sha256 hash of password.
func legacyHash(t *testing.T, password string, iter int) string {
	t.Helper()
	salt := "salt" + strconv.Itoa(iter)
	key, err := pbkdf2.Key(sha256.New, password, []byte(salt), iter, sha256.Size)
	if err != nil {
		t.Fatal(err)
	}
	return "pbkdf2_sha256$" + strconv.Itoa(iter) + "$" + salt + "$" + base64.StdEncoding.EncodeToString(key)
}

// imported is a user as the Django import hands it to the store.
func imported(id int64, username, role, hash string) *tasktrack.User {
	r, _ := tasktrack.RoleByName(role)
	return &tasktrack.User{ID: id, Username: username, Role: r, IsActive: true, DateJoined: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), PasswordHash: hash}
}

// After a Django import, every failed login does the same work, whatever
// the username: one argon2id hash at the current parameters and as many
// PBKDF2 iterations as the costliest imported hash still stored needs,
// fewer as those hashes are upgraded, none once all are. Work is counted,
// not timed.
func TestFailedLoginsDoTheSameWork(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ctx := context.Background()
		db := Open(t, e)
		hasher := db.Hasher.(*auth.Hasher)
		argon2Hash, err := hasher.Hash("argon2-password")
		if err != nil {
			t.Fatal(err)
		}
		users := []*tasktrack.User{
			imported(1, "admin", "admin", argon2Hash),
			imported(2, "old", "user", legacyHash(t, "old-password", 3000)),
			imported(3, "older", "manager", legacyHash(t, "older-password", 5000)),
			imported(4, "locked", "user", "!bcrypt$2b$12$abcdefghijklmnopqrstuv"),
		}
		if _, err := db.Importer.ImportDjango(ctx, users, nil, sqlstore.ImportOptions{}); err != nil {
			t.Fatal(err)
		}
		tokens := auth.NewTokens([]byte(strings.Repeat("k", 32)), time.Minute, time.Hour)
		svc, err := auth.NewService(db.Sessions, hasher, tokens, auth.NewLoginLimiter(auth.LoginLimits{}), slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		var (
			mu    sync.Mutex
			works []auth.Work
		)
		hasher.CountWork(func(w auth.Work) {
			mu.Lock()
			works = append(works, w)
			mu.Unlock()
		})
		login := func(username, password string) ([]auth.Work, error) {
			mu.Lock()
			works = nil
			mu.Unlock()
			_, err := svc.Login(ctx, username, password, "192.0.2.1")
			mu.Lock()
			defer mu.Unlock()
			return works, err
		}
		failures := []struct{ name, username, password string }{
			{"unknown username", "nobody", "some-password"},
			{"argon2id hash", "admin", "wrong-password"},
			{"pbkdf2 at 3000", "old", "wrong-password"},
			{"pbkdf2 at 5000", "older", "wrong-password"},
			{"unusable hash", "locked", "wrong-password"},
		}
		current := auth.Argon2Params{Memory: 64, Time: 1, Threads: 1}
		// Each stage signs in first with a right password (none: ""),
		// whose hash the login upgrades.
		stages := []struct {
			name, username, password string
			pbkdf2                   int
		}{
			{"after the import", "", "", 5000},
			{"the 5000-iteration hash upgraded", "older", "older-password", 3000},
			{"every hash upgraded", "old", "old-password", 0},
		}
		for _, s := range stages {
			if s.username != "" {
				if _, err := login(s.username, s.password); err != nil {
					t.Fatalf("%s: login %s: %v", s.name, s.username, err)
				}
			}
			want := []auth.Work{{Argon2: current, PBKDF2: s.pbkdf2}}
			for _, f := range failures {
				got, err := login(f.username, f.password)
				if !errors.Is(err, auth.ErrBadCredentials) {
					t.Fatalf("%s, %s: %v, want bad credentials", s.name, f.name, err)
				}
				if !slices.Equal(got, want) {
					t.Errorf("%s, %s: work %+v, want %+v", s.name, f.name, got, want)
				}
			}
		}
	})
}
