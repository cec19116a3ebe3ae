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
func limiter(limits auth.LoginLimits) (*auth.LoginLimiter, *time.Time) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	l := auth.NewLoginLimiter(limits)
	l.Now = func() time.Time { return now }
	return l, &now
}

// lots is a limit no test reaches.
var lots = auth.Limit{N: 1000, Period: time.Minute}

func TestLoginLimiterPerAddress(t *testing.T) {
	perAddr := auth.Limit{N: 4, Period: 4 * time.Minute}
	l, now := limiter(auth.LoginLimits{Addr: perAddr, UserAddr: lots, User: lots})
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

func TestLoginLimiterPerUsernameAndAddress(t *testing.T) {
	perPair := auth.Limit{N: 3, Period: 9 * time.Minute}
	l, now := limiter(auth.LoginLimits{Addr: lots, UserAddr: perPair, User: lots})
	for i := range perPair.N {
		if w := l.Wait("10.0.0.1", "alice"); w != 0 {
			t.Fatalf("after %d failures: Wait = %v, want 0", i, w)
		}
		l.Fail("10.0.0.1", "alice")
	}
	// Limited from that address, whatever the case of the name; one
	// attempt comes back every period/N.
	for _, u := range []string{"alice", "ALICE", "aLiCe"} {
		if w := l.Wait("10.0.0.1", u); w <= 0 || w > perPair.Period/time.Duration(perPair.N) {
			t.Fatalf("Wait(10.0.0.1, %s) = %v, want in (0, %v]", u, w, perPair.Period/time.Duration(perPair.N))
		}
	}
	// Neither that username from other addresses nor other usernames from
	// that address are limited.
	for _, c := range []struct{ addr, user string }{
		{"10.0.0.2", "alice"}, {"192.0.2.9", "ALICE"}, {"2001:db8::1", "alice"}, {"10.0.0.1", "bob"}, {"10.0.0.1", "alice2"},
	} {
		if w := l.Wait(c.addr, c.user); w != 0 {
			t.Fatalf("Wait(%s, %s) = %v, want 0", c.addr, c.user, w)
		}
	}
	// Asking does not spend: many Waits change nothing.
	for range 100 {
		l.Wait("10.0.0.1", "bob")
	}
	if w := l.Wait("10.0.0.1", "bob"); w != 0 {
		t.Fatalf("bob after asking 100 times: Wait = %v", w)
	}

	// Time brings attempts back: one per period/N, all after the period.
	w := l.Wait("10.0.0.1", "alice")
	*now = now.Add(w - time.Second)
	if l.Wait("10.0.0.1", "alice") == 0 {
		t.Fatal("let through a second before the wait it announced")
	}
	*now = now.Add(time.Second)
	if got := l.Wait("10.0.0.1", "alice"); got != 0 {
		t.Fatalf("after the announced wait: Wait = %v", got)
	}
	l.Fail("10.0.0.1", "alice")
	if l.Wait("10.0.0.1", "alice") == 0 {
		t.Fatal("one attempt came back, but a second one was allowed too")
	}
	*now = now.Add(perPair.Period)
	for i := range perPair.N {
		if w := l.Wait("10.0.0.1", "Alice"); w != 0 {
			t.Fatalf("after the period, failure %d: Wait = %v", i, w)
		}
		l.Fail("10.0.0.1", "Alice")
	}
	if l.Wait("10.0.0.1", "alice") == 0 {
		t.Fatal("not limited again after N more failures")
	}
}

// A username whose allowance is spent by failures from many addresses
// refuses those addresses, and only those: an address that has not failed
// for it within the period gets in, and every such address has one guess.
func TestLoginLimiterUsernameSpent(t *testing.T) {
	perUser := auth.Limit{N: 3, Period: 9 * time.Minute}
	l, now := limiter(auth.LoginLimits{Addr: lots, UserAddr: lots, User: perUser})
	attackers := []string{"203.0.113.1", "203.0.113.2", "203.0.113.3"}
	for _, a := range attackers {
		if w := l.Wait(a, "admin"); w != 0 {
			t.Fatalf("%s before the username is spent: Wait = %v", a, w)
		}
		l.Fail(a, "admin")
	}
	step := perUser.Period / time.Duration(perUser.N)
	for _, a := range attackers {
		// The username has an attempt again after period/N, and the
		// address is clean after the period: the sooner applies.
		if w := l.Wait(a, "ADMIN"); w <= 0 || w > step {
			t.Fatalf("attacker %s: Wait = %v, want in (0, %v]", a, w, step)
		}
	}
	// Addresses that never failed for admin get in, even one that failed
	// for another username.
	l.Fail("198.51.100.1", "bob")
	for _, a := range []string{"198.51.100.1", "198.51.100.2", "2001:db8::1"} {
		if w := l.Wait(a, "admin"); w != 0 {
			t.Fatalf("clean address %s: Wait = %v, want 0", a, w)
		}
	}
	// Each new address has one guess, then is refused as well.
	for i := range 50 {
		a := fmt.Sprintf("192.0.2.%d", i)
		if w := l.Wait(a, "admin"); w != 0 {
			t.Fatalf("new address %s, first guess: Wait = %v", a, w)
		}
		l.Fail(a, "admin")
		if w := l.Wait(a, "admin"); w <= 0 {
			t.Fatalf("new address %s after its guess: Wait = %v", a, w)
		}
	}
	// Other usernames are not touched.
	if w := l.Wait(attackers[0], "bob"); w != 0 {
		t.Fatalf("attacker for bob: Wait = %v", w)
	}

	// The attack goes on: every attacker fails whenever it may. Ten
	// periods later, a clean address still gets in, and the attackers
	// together got no more than the username's allowance plus one guess
	// per address in each period.
	guesses := 0
	for range 10 * perUser.N * 6 {
		*now = now.Add(step / 6)
		for _, a := range attackers {
			if l.Wait(a, "admin") == 0 {
				guesses++
				l.Fail(a, "admin")
			}
		}
	}
	if max := 10 * (perUser.N + len(attackers)); guesses > max {
		t.Fatalf("attackers made %d guesses in 10 periods, want at most %d", guesses, max)
	}
	if w := l.Wait("198.51.100.9", "admin"); w != 0 {
		t.Fatalf("clean address during the attack: Wait = %v", w)
	}
	// The attack ends; a period later its addresses are clean again.
	*now = now.Add(perUser.Period)
	for _, a := range attackers {
		if w := l.Wait(a, "admin"); w != 0 {
			t.Fatalf("%s a period after the attack: Wait = %v", a, w)
		}
	}
}

// IPv6 clients are limited per /64, which one subscriber usually holds;
// IPv4 clients per address.
func TestLoginLimiterAddressGrouping(t *testing.T) {
	cases := []struct {
		name       string
		failFrom   []string // each fails once, with its own username
		limited    []string
		notLimited []string
	}{
		{"IPv6 /64", []string{"2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff:ffff:ffff:ffff"},
			[]string{"2001:db8:1:2::1", "2001:db8:1:2:abcd::9", "2001:db8:1:2::", "2001:DB8:1:2::7"},
			[]string{"2001:db8:1:3::1", "2001:db8:1:1:ffff:ffff:ffff:ffff", "2001:db8::1", "10.0.0.1"}},
		{"IPv6 with a zone", []string{"fe80::1%eth0", "fe80::2%eth1", "fe80::3"},
			[]string{"fe80::9", "fe80::9%eth2"}, []string{"fe80:0:0:1::1"}},
		{"IPv4 per address", []string{"10.0.0.1", "10.0.0.1", "::ffff:10.0.0.1"},
			[]string{"10.0.0.1", "::ffff:10.0.0.1"}, []string{"10.0.0.2", "10.0.1.1", "::a00:1"}},
		{"not an address", []string{"@", "@", "@"}, []string{"@"}, []string{"", "10.0.0.1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, _ := limiter(auth.LoginLimits{Addr: auth.Limit{N: 3, Period: 3 * time.Minute}, UserAddr: lots, User: lots})
			for i, a := range c.failFrom {
				l.Fail(a, fmt.Sprintf("user%d", i))
			}
			for _, a := range c.limited {
				if w := l.Wait(a, "someone"); w <= 0 {
					t.Errorf("Wait(%s) = %v, want limited", a, w)
				}
			}
			for _, a := range c.notLimited {
				if w := l.Wait(a, "someone"); w != 0 {
					t.Errorf("Wait(%s) = %v, want 0", a, w)
				}
			}
		})
	}
	// The username-and-address limit groups the same way.
	l, _ := limiter(auth.LoginLimits{Addr: lots, UserAddr: auth.Limit{N: 2, Period: time.Minute}, User: lots})
	l.Fail("2001:db8:5:6::1", "alice")
	l.Fail("2001:db8:5:6::2", "alice")
	if w := l.Wait("2001:db8:5:6::3", "alice"); w <= 0 {
		t.Fatalf("alice from the same /64: Wait = %v, want limited", w)
	}
	if w := l.Wait("2001:db8:5:7::1", "alice"); w != 0 {
		t.Fatalf("alice from another /64: Wait = %v", w)
	}
}

// The longest of the waits applies.
func TestLoginLimiterLongestWait(t *testing.T) {
	l, _ := limiter(auth.LoginLimits{Addr: auth.Limit{N: 2, Period: 20 * time.Minute}, UserAddr: auth.Limit{N: 2, Period: 2 * time.Minute}, User: lots})
	l.Fail("203.0.113.1", "carol")
	l.Fail("203.0.113.1", "carol")
	w := l.Wait("203.0.113.1", "carol")
	if w <= time.Minute || w > 10*time.Minute {
		t.Fatalf("Wait = %v, want the address's wait (over 1m, at most 10m)", w)
	}
	if w := l.Wait("203.0.113.2", "carol"); w != 0 {
		t.Fatalf("other address: Wait = %v", w)
	}
}

func TestLoginLimiterOff(t *testing.T) {
	l, _ := limiter(auth.LoginLimits{})
	for range 1000 {
		l.Fail("203.0.113.1", "dave")
	}
	if w := l.Wait("203.0.113.1", "dave"); w != 0 {
		t.Fatalf("limits off: Wait = %v", w)
	}
	// Some limits off, the others still hold.
	l, _ = limiter(auth.LoginLimits{User: auth.Limit{N: 1, Period: time.Minute}})
	l.Fail("203.0.113.1", "dave")
	if w := l.Wait("203.0.113.1", "dave"); w <= 0 {
		t.Fatalf("username limit alone, the failing address: Wait = %v", w)
	}
	if w := l.Wait("203.0.113.9", "dave"); w != 0 {
		t.Fatalf("username limit alone, a clean address: Wait = %v", w)
	}
	if w := l.Wait("203.0.113.1", "erin"); w != 0 {
		t.Fatalf("address limit off: Wait = %v", w)
	}
	l, _ = limiter(auth.LoginLimits{UserAddr: auth.Limit{N: 1, Period: time.Minute}})
	l.Fail("203.0.113.1", "dave")
	if w := l.Wait("203.0.113.1", "dave"); w <= 0 {
		t.Fatalf("username-and-address limit alone: Wait = %v", w)
	}
	if w := l.Wait("203.0.113.1", "erin"); w != 0 {
		t.Fatalf("username-and-address limit alone, another username: Wait = %v", w)
	}
}

// Many keys failing once each, over a long time, are all let through and
// each limited on its own.
func TestLoginLimiterManyKeys(t *testing.T) {
	two := auth.Limit{N: 2, Period: time.Minute}
	l, now := limiter(auth.LoginLimits{Addr: two, UserAddr: two, User: two})
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
