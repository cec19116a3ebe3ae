package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"tasktrack"
)

// Token types.
const (
	TypeAccess  = "access"
	TypeRefresh = "refresh"
)

// Claims are the claims of both token types.
type Claims struct {
	TokenType string `json:"token_type"`
	UserID    int64  `json:"user_id"`
	// Version is the user's token version at issue; a token whose version
	// is behind the user's is dead.
	Version int64 `json:"ver"`
	// Key is the user's token key at issue: a token whose key is not its
	// user's was issued for another account that had the same id.
	Key string `json:"user_key"`
	jwt.RegisteredClaims
}

// Tokens issues and verifies HS256 JWTs.
type Tokens struct {
	secret     []byte
	AccessTTL  time.Duration
	RefreshTTL time.Duration
	Now        func() time.Time

	parserOnce sync.Once
	parser     *jwt.Parser

	// verified holds the claims of access tokens verified lately, by the
	// exact token: a client sends the same one with each request until it
	// expires, and parsing it again (two base64 decodes, two JSON
	// documents, an HMAC) was most of authenticating one. Whether a token
	// is good is a function of its text, the key and the time alone, so a
	// remembered verdict is the one a parse would give, once its expiry
	// and issue time are checked against now again; revocation is checked
	// apart, against the stored user, on every request.
	mu       sync.Mutex
	verified map[string]*Claims
}

// maxVerified bounds Tokens.verified: a few hundred bytes an entry.
const maxVerified = 1024

func (t *Tokens) key(*jwt.Token) (any, error) { return t.secret, nil }

// NewTokens returns a token issuer with the given HS256 key.
func NewTokens(secret []byte, accessTTL, refreshTTL time.Duration) *Tokens {
	return &Tokens{secret: secret, AccessTTL: accessTTL, RefreshTTL: refreshTTL, Now: time.Now}
}

func newJTI() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Issue signs a token of the given type for u, returning it and its expiry.
func (t *Tokens) Issue(u *tasktrack.User, typ string) (string, time.Time, error) {
	now := t.Now()
	ttl := t.AccessTTL
	if typ == TypeRefresh {
		ttl = t.RefreshTTL
	}
	exp := now.Add(ttl)
	c := Claims{
		TokenType: typ, UserID: u.ID, Version: u.TokenVersion, Key: u.TokenKey,
		RegisteredClaims: jwt.RegisteredClaims{
			ID: newJTI(), IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(exp),
		},
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(t.secret)
	return s, exp, err
}

// Verify parses a token, checks its HS256 signature, expiry and type, and
// returns its claims. Any other algorithm, "none" included, is refused.
func (t *Tokens) Verify(token, typ string) (*Claims, error) {
	if typ == TypeAccess {
		t.mu.Lock()
		c, ok := t.verified[token]
		t.mu.Unlock()
		if ok {
			if now := t.Now(); !now.Before(c.ExpiresAt.Time) || now.Before(c.IssuedAt.Time) {
				return nil, tasktrack.ErrTokenInvalid
			}
			cc := *c
			return &cc, nil
		}
	}
	var c Claims
	t.parserOnce.Do(func() {
		t.parser = jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithTimeFunc(func() time.Time { return t.Now() }),
			jwt.WithLeeway(0),
		)
	})
	_, err := t.parser.ParseWithClaims(token, &c, t.key)
	if err != nil {
		return nil, tasktrack.ErrTokenInvalid
	}
	if c.TokenType != typ || c.UserID <= 0 || c.ID == "" {
		return nil, tasktrack.ErrTokenInvalid
	}
	// The parser required an expiry and checked the issue time; a token
	// without one, or with a not-before time, is verified each time.
	if typ == TypeAccess && c.IssuedAt != nil && c.NotBefore == nil {
		t.remember(token, c)
	}
	return &c, nil
}

// remember keeps the claims of a verified access token, making room by
// forgetting one at random when full.
func (t *Tokens) remember(token string, c Claims) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.verified == nil {
		t.verified = make(map[string]*Claims)
	}
	if len(t.verified) >= maxVerified {
		for k := range t.verified {
			delete(t.verified, k)
			break
		}
	}
	t.verified[token] = &c
}

// HashToken is what is stored of a refresh token.
func HashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// NewSecret makes a random HS256 key, hex-encoded (64 characters).
func NewSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}
