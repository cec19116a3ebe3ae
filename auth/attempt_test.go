package auth_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tasktrack/auth"
)

// Attempts racing each other get past the limit no more often than it
// allows, and a successful login gives its attempt back.
func TestAttemptsCannotOvershoot(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := auth.NewLoginLimiter(auth.Limit{N: 100, Period: time.Hour}, auth.Limit{N: 10, Period: time.Hour})
	l.Now = func() time.Time { return now }
	var passed atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Go(func() {
			if wait, _ := l.Attempt("10.0.0.1", "ann"); wait == 0 {
				passed.Add(1)
			}
		})
	}
	wg.Wait()
	if n := passed.Load(); n != 10 {
		t.Fatalf("%d racing attempts passed a limit of 10", n)
	}

	// Successes never count.
	for i := 0; i < 30; i++ {
		wait, succeeded := l.Attempt("10.0.0.2", "bob")
		if wait > 0 {
			t.Fatalf("successful login %d was limited", i+1)
		}
		succeeded()
	}
}
