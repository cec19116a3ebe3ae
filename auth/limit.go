package auth

import (
	"fmt"
	"math"
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

// fail spends one attempt of key.
func (k *keyedLimiter) fail(key string, now time.Time) {
	if k.limit.N == 0 {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	l := k.m[key]
	if l == nil {
		every := rate.Every(k.limit.Period / time.Duration(k.limit.N))
		l = rate.NewLimiter(every, k.limit.N)
		k.m[key] = l
	}
	l.AllowN(now, 1)
	if now.Sub(k.swept) > time.Minute {
		k.swept = now
		for key, l := range k.m {
			if l.TokensAt(now) >= float64(k.limit.N) {
				delete(k.m, key)
			}
		}
	}
}

// LoginLimiter limits failed logins per client address and per username.
// Only failures count, so people who type their password right are never
// slowed. Usernames count by the form login finds accounts by, so case and
// width variants of a name share its limit.
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
	return max(l.byAddr.wait(addr, now), l.byUser.wait(tasktrack.UsernameKey(username), now))
}

// Fail records a failed login.
func (l *LoginLimiter) Fail(addr, username string) {
	now := l.Now()
	l.byAddr.fail(addr, now)
	l.byUser.fail(tasktrack.UsernameKey(username), now)
}

// RetryAfterSeconds rounds a wait up to whole seconds, at least one.
func RetryAfterSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}
