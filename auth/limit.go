package auth

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"tasktrack"
)

// Limit is a number of failures allowed per period, refilled evenly.
type Limit struct {
	N      int
	Period time.Duration
}

// ParseLimit reads a limit written as "N/period", such as "10/15m";
// "0" turns the limit off.
func ParseLimit(s string) (Limit, error) {
	if s == "0" || s == "off" {
		return Limit{}, nil
	}
	n, p, ok := strings.Cut(s, "/")
	if !ok {
		return Limit{}, fmt.Errorf("want N/period, such as 10/15m")
	}
	num, err := strconv.Atoi(n)
	if err != nil || num < 1 {
		return Limit{}, fmt.Errorf("want a positive count before the slash")
	}
	d, err := time.ParseDuration(p)
	if err != nil || d <= 0 {
		return Limit{}, fmt.Errorf("want a positive duration after the slash")
	}
	return Limit{N: num, Period: d}, nil
}

func (l Limit) String() string {
	if l.N == 0 {
		return "0"
	}
	return strconv.Itoa(l.N) + "/" + l.Period.String()
}

// keyedLimiter keeps one token bucket per key, and the time of the key's
// last failure. A key whose bucket is full again and whose last failure is
// older than remember is forgotten, so memory follows the keys failing
// right now.
type keyedLimiter struct {
	limit Limit
	// remember is how long a key's last failure is kept for lastFailure
	// once its bucket is full again (0: not at all).
	remember time.Duration
	mu       sync.Mutex
	m        map[string]*failures
	swept    time.Time
}

type failures struct {
	bucket *rate.Limiter // nil when the limit is off
	last   time.Time
}

func newKeyedLimiter(l Limit, remember time.Duration) *keyedLimiter {
	return &keyedLimiter{limit: l, remember: remember, m: map[string]*failures{}}
}

// wait returns how long key must wait before its next attempt, 0 if none.
func (k *keyedLimiter) wait(key string, now time.Time) time.Duration {
	if k.limit.N == 0 {
		return 0
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	f := k.m[key]
	if f == nil || f.bucket.TokensAt(now) >= 1 {
		return 0
	}
	r := f.bucket.ReserveN(now, 1)
	d := r.DelayFrom(now)
	r.CancelAt(now)
	return d
}

// lastFailure returns the time of key's last remembered failure.
func (k *keyedLimiter) lastFailure(key string) (time.Time, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	f := k.m[key]
	if f == nil {
		return time.Time{}, false
	}
	return f.last, true
}

// fail spends one attempt of key.
func (k *keyedLimiter) fail(key string, now time.Time) {
	if k.limit.N == 0 && k.remember == 0 {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	f := k.m[key]
	if f == nil {
		f = &failures{}
		if k.limit.N > 0 {
			f.bucket = rate.NewLimiter(rate.Every(k.limit.Period/time.Duration(k.limit.N)), k.limit.N)
		}
		k.m[key] = f
	}
	if f.bucket != nil {
		f.bucket.AllowN(now, 1)
	}
	f.last = now
	if now.Sub(k.swept) > time.Minute {
		k.swept = now
		for key, f := range k.m {
			if (f.bucket == nil || f.bucket.TokensAt(now) >= float64(k.limit.N)) && now.Sub(f.last) >= k.remember {
				delete(k.m, key)
			}
		}
	}
}

// LoginLimits are the limits on failed password checks. Only failures
// count, so people who type their password right are never slowed.
type LoginLimits struct {
	// Addr refuses a client address (an IPv6 client by its /64) that
	// failed too often, whatever the username.
	Addr Limit
	// UserAddr refuses one username from one client address.
	UserAddr Limit
	// User counts a username's failures from every address. Once it is
	// spent, it refuses only the addresses that failed for that username
	// within its period: an address with no recent failure is still let
	// through, so an attack from elsewhere cannot lock out the person
	// whose account it is. The failing addresses share the limit's refill,
	// and any other address has one guess before it counts as failing.
	User Limit
}

// LoginLimiter limits failed password checks (logins and password
// changes) per client address, per username and address, and per
// username; see LoginLimits. Usernames count by the form login finds
// accounts by, so case and width variants of a name share its limits.
type LoginLimiter struct {
	userLimit Limit
	byAddr    *keyedLimiter
	byPair    *keyedLimiter
	byUser    *keyedLimiter
	Now       func() time.Time
}

// NewLoginLimiter returns a limiter with the given limits.
func NewLoginLimiter(l LoginLimits) *LoginLimiter {
	return &LoginLimiter{
		userLimit: l.User,
		byAddr:    newKeyedLimiter(l.Addr, 0),
		// A pair's last failure is kept for the username limit's period,
		// which refuses only pairs that failed within it.
		byPair: newKeyedLimiter(l.UserAddr, l.User.Period),
		byUser: newKeyedLimiter(l.User, 0),
		Now:    time.Now,
	}
}

// addrKey is the key of a client address: an IPv4 address itself, an
// IPv6 address's /64, which one subscriber usually holds whole, so that
// walking through it gains nothing. What does not parse as an address
// is its own key.
func addrKey(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	return netip.PrefixFrom(a.WithZone(""), 64).Masked().String()
}

func userKey(username string) string { return tasktrack.UsernameKey(username) }

// pairKey joins an address key and a username key; the length prefix
// keeps distinct pairs apart whatever they hold.
func pairKey(addr, user string) string { return strconv.Itoa(len(addr)) + ":" + addr + user }

// Wait returns how long a password check from addr for username must
// wait; 0 lets it through.
func (l *LoginLimiter) Wait(addr, username string) time.Duration {
	now := l.Now()
	a, u := addrKey(addr), userKey(username)
	pair := pairKey(a, u)
	w := max(l.byAddr.wait(a, now), l.byPair.wait(pair, now))
	if uw := l.byUser.wait(u, now); uw > 0 {
		// Spent: only the pairs that failed within its period wait, until
		// the username has an attempt again or their failure is old.
		if last, ok := l.byPair.lastFailure(pair); ok {
			if clean := last.Add(l.userLimit.Period).Sub(now); clean > 0 {
				w = max(w, min(uw, clean))
			}
		}
	}
	return w
}

// Fail records a failed password check.
func (l *LoginLimiter) Fail(addr, username string) {
	now := l.Now()
	a, u := addrKey(addr), userKey(username)
	l.byAddr.fail(a, now)
	l.byPair.fail(pairKey(a, u), now)
	l.byUser.fail(u, now)
}

// RetryAfterSeconds rounds a wait up to whole seconds, at least one.
func RetryAfterSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}
