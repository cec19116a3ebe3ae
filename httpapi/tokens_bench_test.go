package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"tasktrack"
	"tasktrack/auth"
	"tasktrack/sqlstore/sqlstoretest"
)

// The list endpoint with a personal access token against the same with a
// JWT, on BenchmarkRequest's SQLite data: a token costs one indexed read
// (the token and its owner), as a JWT costs the owner's read, plus a
// SHA-256 instead of an HMAC.
//
//	go test -run '^$' -bench ListByCredential -benchmem ./httpapi/
func BenchmarkListByCredential(b *testing.B) {
	s, jwt, _, _, _, db := benchServer(b, sqlstoretest.SQLite)
	ctx := context.Background()
	u, err := s.Auth.Authenticate(ctx, jwt)
	if err != nil {
		b.Fatal(err)
	}
	pat, hash := auth.NewPersonalToken()
	if _, err := db.Tokens.CreatePersonalToken(tasktrack.NewContextWithActor(ctx, u), tasktrack.PersonalTokenCreate{Name: "bench", Scopes: []string{"read"}}, hash); err != nil {
		b.Fatal(err)
	}
	s.PersonalTokens = db.Tokens
	s.TokenAuth = auth.NewPersonalTokens(db.Tokens, s.Auth.Limiter, slog.New(slog.DiscardHandler))
	h := s.Handler()
	w := &discardWriter{h: http.Header{}}
	for _, c := range []struct{ name, token string }{{"jwt", jwt}, {"personal_token", pat}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequest("GET", "/api/task/tasks/", nil)
				r.Header.Set("Authorization", "Bearer "+c.token)
				w.reset()
				h.ServeHTTP(w, r)
				if w.status != http.StatusOK {
					b.Fatalf("status %d", w.status)
				}
			}
		})
	}
}
