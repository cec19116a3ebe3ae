package auth_test

import (
	"fmt"
	"testing"
	"time"

	"tasktrack/auth"
)

func TestParseLimit(t *testing.T) {
	good := []struct {
		in   string
		want auth.Limit
		str  string
	}{
		{"10/15m", auth.Limit{N: 10, Period: 15 * time.Minute}, "10/15m0s"},
		{"1/1s", auth.Limit{N: 1, Period: time.Second}, "1/1s"},
		{"20/1h", auth.Limit{N: 20, Period: time.Hour}, "20/1h0m0s"},
		{"5/90s", auth.Limit{N: 5, Period: 90 * time.Second}, "5/1m30s"},
		{"3/1h30m", auth.Limit{N: 3, Period: 90 * time.Minute}, "3/1h30m0s"},
		{"0", auth.Limit{}, "0"},
		{"off", auth.Limit{}, "0"},
	}
	for _, c := range good {
		t.Run(c.in, func(t *testing.T) {
			got, err := auth.ParseLimit(c.in)
			if err != nil || got != c.want {
				t.Fatalf("ParseLimit(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
			}
			if got.String() != c.str {
				t.Fatalf("String() = %q, want %q", got.String(), c.str)
			}
			// What String writes reads back the same.
			if again, err := auth.ParseLimit(got.String()); err != nil || again != got {
				t.Fatalf("ParseLimit(%q) = %+v, %v", got.String(), again, err)
			}
		})
	}
	bad := []string{
		"", "10", "/15m", "10/", "x/15m", "0/15m", "-1/15m", "10/0s", "10/0",
		"10/-5m", "10/abc", "10/15", "10/15m/2", " 10/15m", "10 /15m", "10/ 15m",
		"1.5/15m", "OFF", "none", "00", "99999999999999999999/1m",
	}
	for _, in := range bad {
		t.Run("bad "+in, func(t *testing.T) {
			if got, err := auth.ParseLimit(in); err == nil {
				t.Fatalf("ParseLimit(%q) = %+v, want an error", in, got)
			}
		})
	}
}

// limiter returns a login limiter on a clock the test moves.
func limiter(perAddr, perUser auth.Limit) (*auth.LoginLimiter, *time.Time) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	l := auth.NewLoginLimiter(perAddr, perUser)
	l.Now = func() time.Time { return now }
	return l, &now
}

func TestLoginLimiterPerUsername(t *testing.T) {
	perUser := auth.Limit{N: 3, Period: 9 * time.Minute}
	l, now := limiter(auth.Limit{N: 100, Period: time.Minute}, perUser)
	for i := range perUser.N {
		if w := l.Wait(fmt.Sprintf("10.0.0.%d", i), "alice"); w != 0 {
			t.Fatalf("after %d failures: Wait = %v, want 0", i, w)
		}
		l.Fail(fmt.Sprintf("10.0.0.%d", i), "alice")
	}
	// Limited from any address, whatever the case of the name.
	for _, c := range []struct{ addr, user string }{
		{"10.0.0.0", "alice"}, {"192.0.2.9", "alice"}, {"192.0.2.9", "ALICE"}, {"2001:db8::1", "aLiCe"},
	} {
		w := l.Wait(c.addr, c.user)
		// One attempt comes back every period/N.
		if w <= 0 || w > perUser.Period/time.Duration(perUser.N) {
			t.Fatalf("Wait(%s, %s) = %v, want in (0, %v]", c.addr, c.user, w, perUser.Period/time.Duration(perUser.N))
		}
	}
	// Other usernames from the same addresses are not limited.
	if w := l.Wait("10.0.0.0", "bob"); w != 0 {
		t.Fatalf("bob: Wait = %v", w)
	}
	if w := l.Wait("10.0.0.0", "alice2"); w != 0 {
		t.Fatalf("alice2: Wait = %v", w)
	}
	// Asking does not spend: many Waits change nothing.
	for range 100 {
		l.Wait("10.0.0.0", "bob")
	}
	if w := l.Wait("10.0.0.0", "bob"); w != 0 {
		t.Fatalf("bob after asking 100 times: Wait = %v", w)
	}

	// Time brings attempts back: one per period/N, all after the period.
	w := l.Wait("10.0.0.0", "alice")
	*now = now.Add(w - time.Second)
	if l.Wait("10.0.0.0", "alice") == 0 {
		t.Fatal("let through a second before the wait it announced")
	}
	*now = now.Add(time.Second)
	if got := l.Wait("10.0.0.0", "alice"); got != 0 {
		t.Fatalf("after the announced wait: Wait = %v", got)
	}
	l.Fail("10.0.0.0", "alice")
	if l.Wait("10.0.0.0", "alice") == 0 {
		t.Fatal("one attempt came back, but a second one was allowed too")
	}
	*now = now.Add(perUser.Period)
	for i := range perUser.N {
		if w := l.Wait("10.0.0.0", "Alice"); w != 0 {
			t.Fatalf("after the period, failure %d: Wait = %v", i, w)
		}
		l.Fail("10.0.0.0", "Alice")
	}
	if l.Wait("10.0.0.0", "alice") == 0 {
		t.Fatal("not limited again after N more failures")
	}
}

func TestLoginLimiterPerAddress(t *testing.T) {
	perAddr := auth.Limit{N: 4, Period: 4 * time.Minute}
	l, now := limiter(perAddr, auth.Limit{N: 100, Period: time.Minute})
	for i := range perAddr.N {
		if w := l.Wait("198.51.100.7", "anyone"); w != 0 {
			t.Fatalf("after %d failures: Wait = %v", i, w)
		}
		l.Fail("198.51.100.7", fmt.Sprintf("user%d", i))
	}
	// That address is limited for every username, even new ones...
	for _, u := range []string{"user0", "user1", "nobody", "admin"} {
		if w := l.Wait("198.51.100.7", u); w <= 0 || w > time.Minute {
			t.Fatalf("Wait(198.51.100.7, %s) = %v, want in (0, 1m]", u, w)
		}
	}
	// ...while those usernames from other addresses are not.
	for _, u := range []string{"user0", "user3", "admin"} {
		if w := l.Wait("198.51.100.8", u); w != 0 {
			t.Fatalf("Wait(198.51.100.8, %s) = %v", u, w)
		}
	}
	*now = now.Add(perAddr.Period)
	if w := l.Wait("198.51.100.7", "admin"); w != 0 {
		t.Fatalf("after the period: Wait = %v", w)
	}
}

// The longer of the two waits applies.
func TestLoginLimiterBothLimits(t *testing.T) {
	l, _ := limiter(auth.Limit{N: 2, Period: 20 * time.Minute}, auth.Limit{N: 2, Period: 2 * time.Minute})
	l.Fail("203.0.113.1", "carol")
	l.Fail("203.0.113.1", "carol")
	w := l.Wait("203.0.113.1", "carol")
	if w <= time.Minute || w > 10*time.Minute {
		t.Fatalf("Wait = %v, want the address's wait (over 1m, at most 10m)", w)
	}
	if w := l.Wait("203.0.113.2", "carol"); w <= 0 || w > time.Minute {
		t.Fatalf("other address: Wait = %v, want the username's wait (at most 1m)", w)
	}
}

func TestLoginLimiterOff(t *testing.T) {
	l, _ := limiter(auth.Limit{}, auth.Limit{})
	for range 1000 {
		l.Fail("203.0.113.1", "dave")
	}
	if w := l.Wait("203.0.113.1", "dave"); w != 0 {
		t.Fatalf("limits off: Wait = %v", w)
	}
	// One limit off, the other still holds.
	l, _ = limiter(auth.Limit{}, auth.Limit{N: 1, Period: time.Minute})
	l.Fail("203.0.113.1", "dave")
	if w := l.Wait("203.0.113.9", "dave"); w <= 0 {
		t.Fatalf("username limit with address limit off: Wait = %v", w)
	}
	if w := l.Wait("203.0.113.1", "erin"); w != 0 {
		t.Fatalf("address limit off: Wait = %v", w)
	}
}

// Many keys failing once each, over a long time, are all let through and
// each limited on its own.
func TestLoginLimiterManyKeys(t *testing.T) {
	l, now := limiter(auth.Limit{N: 2, Period: time.Minute}, auth.Limit{N: 2, Period: time.Minute})
	for i := range 500 {
		addr, user := fmt.Sprintf("10.1.%d.%d", i/256, i%256), fmt.Sprintf("u%d", i)
		if w := l.Wait(addr, user); w != 0 {
			t.Fatalf("key %d: Wait = %v", i, w)
		}
		l.Fail(addr, user)
		*now = now.Add(time.Second)
	}
	// The last one failed twice is limited; a long-forgotten one fails twice
	// and is limited afresh.
	l.Fail("10.1.1.243", "u499")
	if l.Wait("10.1.1.243", "u499") == 0 {
		t.Fatal("u499 not limited after two failures")
	}
	l.Fail("10.1.0.0", "u0")
	if l.Wait("10.1.0.0", "u0") != 0 {
		t.Fatal("u0 limited after one failure in the last minute")
	}
	l.Fail("10.1.0.0", "u0")
	if l.Wait("10.1.0.0", "u0") == 0 {
		t.Fatal("u0 not limited after two failures")
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want int
	}{
		{0, 1}, {-time.Second, 1}, {time.Millisecond, 1}, {time.Second, 1},
		{time.Second + time.Millisecond, 2}, {59500 * time.Millisecond, 60}, {time.Minute, 60}, {10 * time.Minute, 600},
	} {
		if got := auth.RetryAfterSeconds(c.d); got != c.want {
			t.Errorf("RetryAfterSeconds(%v) = %d, want %d", c.d, got, c.want)
		}
	}
}
