package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"log/slog"
	"strings"
	"time"

	"tasktrack"
)

// PersonalTokenPrefix starts every personal access token, so that people,
// secret scanners and this server tell one from a JWT at a glance.
const PersonalTokenPrefix = "tt_pat_"

// personalTokenBytes is the randomness of a token's secret.
const personalTokenBytes = 32

// personalTokenLen is the length of a token: the prefix and its bytes in
// unpadded URL-safe base64.
var personalTokenLen = len(PersonalTokenPrefix) + base64.RawURLEncoding.EncodedLen(personalTokenBytes)

// IsPersonalToken reports whether a bearer token is meant as a personal
// access token (it may still be wrong).
func IsPersonalToken(token string) bool { return strings.HasPrefix(token, PersonalTokenPrefix) }

// NewPersonalToken makes a token's secret and the hash that is stored of
// it.
func NewPersonalToken() (token, hash string) {
	b := make([]byte, personalTokenBytes)
	_, _ = rand.Read(b) // never fails (crypto/rand's documentation)
	token = PersonalTokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token)
}

// PersonalTokens authenticates requests that carry a personal access
// token. A token is found by the SHA-256 of its secret (one indexed read,
// which also loads its owner), and then judged like a JWT's user: the
// owner must exist and be active, and the token be neither revoked nor
// expired. The owner is read on every request, so all of that, and the
// owner's current role, hold on every replica at once.
//
// A token that matches nothing is a guess: it counts as a failed
// authentication for the client address, under the address limit of the
// login limiter, and an address over it gets 429 for every token it
// sends until it recovers. Revoked and expired tokens do not count: they
// were once right, and a forgotten script still sending one must not lock
// out the people behind the same address.
type PersonalTokens struct {
	Store   tasktrack.PersonalTokenStore
	Limiter *LoginLimiter
	Now     func() time.Time
	Logger  *slog.Logger
	// OnFailure is called after each wrong token, and each refused by the
	// limit (for metrics); nil for none.
	OnFailure func(limited bool)
}

// NewPersonalTokens returns an authenticator over store, limited by l.
func NewPersonalTokens(store tasktrack.PersonalTokenStore, l *LoginLimiter, logger *slog.Logger) *PersonalTokens {
	return &PersonalTokens{Store: store, Limiter: l, Now: time.Now, Logger: logger}
}

// Authenticate checks token, sent from addr, and returns the token and its
// owner. It records the token's use, at most once a minute.
func (p *PersonalTokens) Authenticate(ctx context.Context, token, addr string) (*tasktrack.User, *tasktrack.PersonalToken, error) {
	if wait := p.Limiter.WaitAddr(addr); wait > 0 {
		p.failed(true)
		return nil, nil, &tasktrack.Error{Kind: tasktrack.KindRateLimited, Message: "Too many failed authentication attempts. Try again later.", RetryAfter: wait}
	}
	if len(token) != personalTokenLen {
		return nil, nil, p.wrong(addr)
	}
	hash := HashToken(token)
	t, u, err := p.Store.PersonalTokenByHash(ctx, hash)
	if errors.Is(err, tasktrack.ErrNotFound) {
		return nil, nil, p.wrong(addr)
	}
	if err != nil {
		return nil, nil, err
	}
	// The index matched the hash already; comparing again in constant
	// time keeps the decision itself free of timing, whatever the engine
	// does.
	if subtle.ConstantTimeCompare([]byte(t.Hash), []byte(hash)) != 1 {
		return nil, nil, p.wrong(addr)
	}
	now := p.Now()
	if !t.Usable(u, now) {
		return nil, nil, tasktrack.ErrTokenInvalid
	}
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) >= time.Minute {
		// A failure to record the use costs the person only an older
		// "last used": the request goes on.
		if err := p.Store.TouchPersonalToken(ctx, t.ID, now); err != nil {
			p.Logger.WarnContext(ctx, "recording a token's use failed", "token_id", t.ID, "err", err)
		}
	}
	t.Hash, u.PasswordHash = "", ""
	return u, t, nil
}

// wrong records a guess from addr.
func (p *PersonalTokens) wrong(addr string) error {
	p.Limiter.FailAddr(addr)
	p.failed(false)
	return tasktrack.ErrTokenInvalid
}

func (p *PersonalTokens) failed(limited bool) {
	if p.OnFailure != nil {
		p.OnFailure(limited)
	}
}

// WaitAddr returns how long authentication attempts from addr must wait
// under the per-address limit alone; 0 lets them through. It serves
// credentials that carry no username, such as personal access tokens.
func (l *LoginLimiter) WaitAddr(addr string) time.Duration {
	return l.byAddr.wait(addrKey(addr), l.Now())
}

// FailAddr records a failed authentication from addr under the
// per-address limit alone.
func (l *LoginLimiter) FailAddr(addr string) {
	l.byAddr.fail(addrKey(addr), l.Now())
}
