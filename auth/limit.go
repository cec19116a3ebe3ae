package auth

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
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

// keyedLimiter keeps one token bucket per key; a key whose bucket is full
// again is forgotten, so memory follows the keys failing right now.
type keyedLimiter struct {
	limit Limit
	mu    sync.Mutex
	m     map[string]*rate.Limiter
	swept time.Time
}

func newKeyedLimiter(l Limit) *keyedLimiter {
	return &keyedLimiter{limit: l, m: map[string]*rate.Limiter{}}
}

// wait returns how long key must wait before its next attempt, 0 if none.
func (k *keyedLimiter) wait(key string, now time.Time) time.Duration {
	if k.limit.N == 0 {
		return 0
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	l := k.m[key]
	if l == nil || l.TokensAt(now) >= 1 {
		return 0
	}
	r := l.ReserveN(now, 1)
	d := r.DelayFrom(now)
	r.CancelAt(now)
	return d
}

// take spends one attempt of key if it has one, returning the reservation
// (to give it back) or, when none is left, how long to wait.
func (k *keyedLimiter) take(key string, now time.Time) (time.Duration, *rate.Reservation) {
	if k.limit.N == 0 {
		return 0, nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	l := k.m[key]
	if l == nil {
		every := rate.Every(k.limit.Period / time.Duration(k.limit.N))
		l = rate.NewLimiter(every, k.limit.N)
		k.m[key] = l
	}
	if l.TokensAt(now) < 1 {
		r := l.ReserveN(now, 1)
		d := r.DelayFrom(now)
		r.CancelAt(now)
		return max(d, time.Nanosecond), nil
	}
	r := l.ReserveN(now, 1)
	if now.Sub(k.swept) > time.Minute {
		k.swept = now
		for key, l := range k.m {
			if l.TokensAt(now) >= float64(k.limit.N) {
				delete(k.m, key)
			}
		}
	}
	return 0, r
}

// LoginLimiter limits failed logins per client address and per username.
// Only failures count, so people who type their password right are never
// slowed.
type LoginLimiter struct {
	byAddr *keyedLimiter
	byUser *keyedLimiter
	Now    func() time.Time
}

// NewLoginLimiter returns a limiter with the given limits per address and
// per username.
func NewLoginLimiter(perAddr, perUser Limit) *LoginLimiter {
	return &LoginLimiter{byAddr: newKeyedLimiter(perAddr), byUser: newKeyedLimiter(perUser), Now: time.Now}
}

// Wait returns how long a login from addr for username must wait; 0 lets
// it through.
func (l *LoginLimiter) Wait(addr, username string) time.Duration {
	now := l.Now()
	return max(l.byAddr.wait(addr, now), l.byUser.wait(strings.ToLower(username), now))
}

// Attempt takes one attempt from addr and from username before the
// password is checked, so that attempts racing each other cannot get past
// the limits. It returns how long to wait when either limit is spent, or
// else a function that gives the attempt back, for a login that succeeds:
// only failures count.
func (l *LoginLimiter) Attempt(addr, username string) (wait time.Duration, succeeded func()) {
	now := l.Now()
	wa, ra := l.byAddr.take(addr, now)
	if wa > 0 {
		return wa, nil
	}
	wu, ru := l.byUser.take(strings.ToLower(username), now)
	if wu > 0 {
		cancel(ra, now)
		return wu, nil
	}
	return 0, func() {
		now := l.Now()
		cancel(ra, now)
		cancel(ru, now)
	}
}

func cancel(r *rate.Reservation, now time.Time) {
	if r != nil {
		r.CancelAt(now)
	}
}

// Fail records a failed login.
func (l *LoginLimiter) Fail(addr, username string) {
	l.Attempt(addr, username)
}

// RetryAfterSeconds rounds a wait up to whole seconds, at least one.
func RetryAfterSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}
