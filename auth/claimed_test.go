package auth_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"tasktrack"
	"tasktrack/auth"
	. "tasktrack/sqlstore/sqlstoretest"
)

// Claimed answers only for a token whose user this service's Authenticate
// last found as the token says (active, the same version and key), and
// stops as soon as an Authenticate finds otherwise.
func TestClaimedFollowsAuthenticate(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ctx := context.Background()
		db := Open(t, e)
		alice := MustCreateUser(t, db, "alice", "user")
		admin := MustCreateUser(t, db, "root", "admin")
		tokens := auth.NewTokens([]byte(strings.Repeat("k", 32)), time.Minute, time.Hour)
		svc, err := auth.NewService(db.Sessions, FastHasher(), tokens, auth.NewLoginLimiter(auth.LoginLimits{}), slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		tok, _, err := tokens.Issue(alice, auth.TypeAccess)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := svc.Claimed(tok); ok {
			t.Fatal("claimed before any authentication")
		}
		if _, err := svc.Authenticate(ctx, tok); err != nil {
			t.Fatal(err)
		}
		u, ok := svc.Claimed(tok)
		if !ok || u.ID != alice.ID || u.Username != "alice" || u.Role != tasktrack.RoleUser || u.PasswordHash != "" {
			t.Fatalf("claimed %+v, %v", u, ok)
		}
		u.Username = "changed by the request"
		if again, _ := svc.Claimed(tok); again.Username != "alice" {
			t.Fatalf("a request's change reached the next: %q", again.Username)
		}
		if _, ok := svc.Claimed(tok + "x"); ok {
			t.Fatal("a forged token was claimed")
		}
		// A token of an older version is not claimed for the newer user.
		old := *alice
		old.TokenVersion--
		if stale, _, err := tokens.Issue(&old, auth.TypeAccess); err != nil {
			t.Fatal(err)
		} else if _, ok := svc.Claimed(stale); ok {
			t.Fatal("a token of another version was claimed")
		}
		// Deactivated elsewhere: the next Authenticate refuses and forgets.
		if _, err := db.Users.DeactivateUser(As(admin), alice.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Authenticate(ctx, tok); err != tasktrack.ErrTokenInvalid {
			t.Fatalf("authenticate after deactivation: %v", err)
		}
		if _, ok := svc.Claimed(tok); ok {
			t.Fatal("claimed after an authentication refused it")
		}
	})
}
