package auth_test

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"tasktrack"
	"tasktrack/auth"
	. "tasktrack/sqlstore/sqlstoretest"
)

// touchCounter is the real store, counting the writes of last use.
type touchCounter struct {
	tasktrack.PersonalTokenStore
	touches int
}

func (c *touchCounter) TouchPersonalToken(ctx context.Context, id string, at time.Time) error {
	c.touches++
	return c.PersonalTokenStore.TouchPersonalToken(ctx, id, at)
}

// Authentication writes a token's last use once a minute, not on every
// request, and the token it answers carries neither hash nor password.
func TestPersonalTokenTouchesOncePerMinute(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ctx := context.Background()
		db := Open(t, e)
		clock := NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
		db.Now = clock.Now
		u, err := db.Users.CreateUser(ctx, tasktrack.UserCreate{Username: "alice", Password: "alice-password-1"})
		if err != nil {
			t.Fatal(err)
		}
		token, hash := auth.NewPersonalToken()
		if _, err := db.Tokens.CreatePersonalToken(tasktrack.NewContextWithActor(ctx, u), tasktrack.PersonalTokenCreate{Name: "ci", Scopes: []string{"read"}}, hash); err != nil {
			t.Fatal(err)
		}
		store := &touchCounter{PersonalTokenStore: db.Tokens}
		limiter := auth.NewLoginLimiter(auth.LoginLimits{Addr: auth.Limit{N: 20, Period: 10 * time.Minute}})
		limiter.Now = clock.Now
		p := auth.NewPersonalTokens(store, limiter, slog.New(slog.DiscardHandler))
		p.Now = clock.Now
		for _, step := range []struct {
			wait    time.Duration
			touches int
		}{{0, 1}, {30 * time.Second, 1}, {29 * time.Second, 1}, {time.Second, 2}, {59 * time.Second, 2}, {time.Hour, 3}} {
			clock.Add(step.wait)
			for range 25 {
				got, pat, err := p.Authenticate(ctx, token, "192.0.2.1")
				if err != nil {
					t.Fatal(err)
				}
				if got.ID != u.ID || got.PasswordHash != "" || pat.Hash != "" || pat.UserID != u.ID {
					t.Fatalf("answered %+v and %+v", got, pat)
				}
			}
			if store.touches != step.touches {
				t.Fatalf("at %v: %d writes of last use, want %d", clock.Now(), store.touches, step.touches)
			}
		}
	})
}

// What counts as a guess: a token that matches none, malformed or not,
// but not a real token that has been revoked or has expired.
func TestPersonalTokenGuessesCount(t *testing.T) {
	ctx := context.Background()
	db := Open(t, SQLite)
	clock := NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	db.Now = clock.Now
	u, err := db.Users.CreateUser(ctx, tasktrack.UserCreate{Username: "alice", Password: "alice-password-1"})
	if err != nil {
		t.Fatal(err)
	}
	actx := tasktrack.NewContextWithActor(ctx, u)
	revoked, hash := auth.NewPersonalToken()
	rt, err := db.Tokens.CreatePersonalToken(actx, tasktrack.PersonalTokenCreate{Name: "old", Scopes: []string{"read"}}, hash)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Tokens.RevokePersonalToken(actx, u.ID, rt.ID); err != nil {
		t.Fatal(err)
	}
	expired, hash := auth.NewPersonalToken()
	soon := clock.Now().Add(time.Minute)
	if _, err := db.Tokens.CreatePersonalToken(actx, tasktrack.PersonalTokenCreate{Name: "short", Scopes: []string{"read"}, ExpiresAt: &soon}, hash); err != nil {
		t.Fatal(err)
	}
	clock.Add(time.Minute)
	unknown, _ := auth.NewPersonalToken()
	limiter := auth.NewLoginLimiter(auth.LoginLimits{Addr: auth.Limit{N: 3, Period: time.Hour}})
	limiter.Now = clock.Now
	p := auth.NewPersonalTokens(db.Tokens, limiter, slog.New(slog.DiscardHandler))
	p.Now = clock.Now
	cases := []struct {
		name, token string
		counts      bool
	}{
		{"revoked", revoked, false},
		{"expired", expired, false},
		{"unknown", unknown, true},
		{"too short", "tt_pat_abc", true},
		{"too long", unknown + "x", true},
		{"one character changed", changeLast(revoked), true},
	}
	for n, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			addr := "198.51.100." + strconv.Itoa(n+1)
			for i := range 4 {
				_, _, err := p.Authenticate(ctx, c.token, addr)
				limited := tasktrack.ErrorKind(err) == tasktrack.KindRateLimited
				if wantLimited := c.counts && i == 3; limited != wantLimited || (!limited && !errors.Is(err, tasktrack.ErrTokenInvalid)) {
					t.Fatalf("attempt %d: %v; want limited %v", i+1, err, wantLimited)
				}
			}
		})
	}
}

func changeLast(token string) string {
	last := byte('A')
	if token[len(token)-1] == last {
		last = 'B'
	}
	return token[:len(token)-1] + string(last)
}

// Authenticating a request with a personal access token, among 1,000
// tokens of 1,000 users: one indexed read of the token and its owner, to
// set beside BenchmarkAuthenticate's JWT.
func BenchmarkAuthenticatePersonalToken(b *testing.B) {
	for _, e := range []Engine{SQLite, Postgres} {
		b.Run(string(e), func(b *testing.B) {
			svc, _, id, db := benchAuthService(b, e)
			ctx := context.Background()
			var token string
			for uid := id - 500; uid < id+500; uid++ {
				u, err := db.Sessions.AuthUser(ctx, uid)
				if err != nil {
					b.Fatal(err)
				}
				secret, hash := auth.NewPersonalToken()
				if _, err := db.Tokens.CreatePersonalToken(tasktrack.NewContextWithActor(ctx, u), tasktrack.PersonalTokenCreate{Name: "bench", Scopes: []string{"read"}}, hash); err != nil {
					b.Fatal(err)
				}
				if uid == id {
					token = secret
				}
			}
			p := auth.NewPersonalTokens(db.Tokens, svc.Limiter, slog.New(slog.DiscardHandler))
			b.ReportAllocs()
			for b.Loop() {
				u, _, err := p.Authenticate(ctx, token, "192.0.2.1")
				if err != nil || u.ID != id {
					b.Fatalf("user %v, %v", u, err)
				}
			}
		})
	}
}
