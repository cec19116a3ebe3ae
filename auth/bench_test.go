package auth_test

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"tasktrack"
	"tasktrack/auth"
	"tasktrack/sqlstore"
	. "tasktrack/sqlstore/sqlstoretest"
)

// Benchmarks of what every API request pays before its handler runs.
//
//	go test -run '^$' -bench . -benchmem ./auth/

func benchTokens() *auth.Tokens {
	return auth.NewTokens([]byte(strings.Repeat("k", 32)), 5*time.Minute, 24*time.Hour)
}

// Verifying an access token: parse, HS256 check, expiry and type.
func BenchmarkVerifyAccess(b *testing.B) {
	tokens := benchTokens()
	tok, _, err := tokens.Issue(&tasktrack.User{ID: 42, TokenVersion: 3}, auth.TypeAccess)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		c, err := tokens.Verify(tok, auth.TypeAccess)
		if err != nil || c.UserID != 42 {
			b.Fatalf("claims %v, %v", c, err)
		}
	}
}

// Issuing an access token (logins and refreshes).
func BenchmarkIssueAccess(b *testing.B) {
	tokens := benchTokens()
	u := &tasktrack.User{ID: 42, TokenVersion: 3}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := tokens.Issue(u, auth.TypeAccess); err != nil {
			b.Fatal(err)
		}
	}
}

// Authenticating a request: the token and the user behind it (who must
// exist, be active and have the token's version), among 1,000 users.
func BenchmarkAuthenticate(b *testing.B) {
	for _, e := range []Engine{SQLite, Postgres} {
		b.Run(string(e), func(b *testing.B) {
			svc, tok, id, _ := benchAuthService(b, e)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				u, err := svc.Authenticate(ctx, tok)
				if err != nil || u.ID != id {
					b.Fatalf("user %v, %v", u, err)
				}
			}
		})
	}
}

// The same from many goroutines at once.
func BenchmarkAuthenticateParallel(b *testing.B) {
	for _, e := range []Engine{SQLite, Postgres} {
		b.Run(string(e), func(b *testing.B) {
			svc, tok, id, _ := benchAuthService(b, e)
			ctx := context.Background()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					u, err := svc.Authenticate(ctx, tok)
					if err != nil || u.ID != id {
						b.Errorf("user %v, %v", u, err)
						return
					}
				}
			})
		})
	}
}

// benchAuthService returns a service over a database of engine e holding
// 1,000 users, and an access token of one of them.
func benchAuthService(b *testing.B, e Engine) (*auth.Service, string, int64, *sqlstore.DB) {
	b.Helper()
	db := Open(b, e)
	hash, err := db.Hasher.Hash("bench-password-1")
	if err != nil {
		b.Fatal(err)
	}
	users := make([]sqlstore.BulkUser, 1000)
	for i := range users {
		users[i] = sqlstore.BulkUser{Username: "user" + strconv.Itoa(i), PasswordHash: hash, Role: tasktrack.RoleUser}
	}
	ids, err := db.Bulk.InsertUsers(context.Background(), users)
	if err != nil {
		b.Fatal(err)
	}
	u, err := db.Sessions.AuthUser(context.Background(), ids[500])
	if err != nil {
		b.Fatal(err)
	}
	tokens := benchTokens()
	limiter := auth.NewLoginLimiter(auth.LoginLimits{Addr: auth.Limit{N: 20, Period: 10 * time.Minute}, UserAddr: auth.Limit{N: 5, Period: 10 * time.Minute}, User: auth.Limit{N: 10, Period: 10 * time.Minute}})
	svc, err := auth.NewService(db.Sessions, FastHasher(), tokens, limiter, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	tok, _, err := tokens.Issue(u, auth.TypeAccess)
	if err != nil {
		b.Fatal(err)
	}
	return svc, tok, u.ID, db
}
