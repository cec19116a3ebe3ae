package auth

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"tasktrack"
)

// Service signs people in and out and authenticates requests.
type Service struct {
	Store   tasktrack.SessionStore
	Hasher  *Hasher
	Tokens  *Tokens
	Limiter *LoginLimiter
	Logger  *slog.Logger
	// HashWait bounds how long a login waits for a hashing slot.
	HashWait time.Duration
	// OnLoginFailure is called after each failed login (for metrics).
	OnLoginFailure func(limited bool)

	dummyHash string
}

// NewService wires a service; it makes the dummy hash that unknown
// usernames are checked against, so they take as long as known ones.
func NewService(store tasktrack.SessionStore, h *Hasher, t *Tokens, l *LoginLimiter, logger *slog.Logger) (*Service, error) {
	dummy, err := h.Hash(newJTI())
	if err != nil {
		return nil, err
	}
	return &Service{Store: store, Hasher: h, Tokens: t, Limiter: l, Logger: logger, HashWait: 10 * time.Second, dummyHash: dummy}, nil
}

// TokenPair is what a login or a refresh answers.
type TokenPair struct {
	Access  string `json:"access"`
	Refresh string `json:"refresh"`
}

// ErrBadCredentials answers every failed login the same way, whether the
// username is unknown, the password wrong or the user inactive.
var ErrBadCredentials = &tasktrack.Error{Kind: tasktrack.KindUnauthenticated, Message: "No active account found with the given credentials"}

func (s *Service) limited(wait time.Duration) error {
	if s.OnLoginFailure != nil {
		s.OnLoginFailure(true)
	}
	return &tasktrack.Error{Kind: tasktrack.KindRateLimited, Message: "Too many failed login attempts. Try again later.", RetryAfter: wait}
}

// Login checks a username and password and issues a token pair.
func (s *Service) Login(ctx context.Context, username, password, addr string) (TokenPair, error) {
	// The limits are checked now, cheaply, and again once a hashing slot is
	// held; only failures are recorded, so right passwords never count.
	limit := func() error {
		if wait := s.Limiter.Wait(addr, username); wait > 0 {
			return s.limited(wait)
		}
		return nil
	}
	if err := limit(); err != nil {
		return TokenPair{}, err
	}
	u, err := s.Store.UserByUsername(ctx, username)
	if err != nil && !errors.Is(err, tasktrack.ErrNotFound) {
		return TokenPair{}, err
	}
	hash := s.dummyHash
	if u != nil {
		hash = u.PasswordHash
	}
	hctx, cancel := context.WithTimeout(ctx, s.HashWait)
	ok, rehash, err := s.Hasher.VerifyGuarded(hctx, hash, password, limit, func(ok bool) {
		if !ok || u == nil || !u.IsActive {
			s.Limiter.Fail(addr, username)
		}
	})
	cancel()
	if err != nil {
		return TokenPair{}, err
	}
	ok = ok && u != nil && u.IsActive
	if err := s.Store.RecordLogin(ctx, u, username, ok, addr); err != nil {
		return TokenPair{}, err
	}
	if !ok {
		if s.OnLoginFailure != nil {
			s.OnLoginFailure(false)
		}
		return TokenPair{}, ErrBadCredentials
	}
	if rehash {
		s.upgradeHash(ctx, u, password)
	}
	return s.issue(ctx, u, newJTI())
}

// upgradeHash replaces an outdated hash (an imported Django hash, or older
// argon2 parameters) now that the password is known to be right. A failure
// only means the next login tries again.
func (s *Service) upgradeHash(ctx context.Context, u *tasktrack.User, password string) {
	nh, err := s.Hasher.HashContext(ctx, password)
	if err == nil {
		err = s.Store.UpgradePasswordHash(ctx, u.ID, u.PasswordHash, nh)
	}
	if err != nil {
		s.Logger.WarnContext(ctx, "password rehash failed", "user_id", u.ID, "err", err)
	}
}

func (s *Service) issue(ctx context.Context, u *tasktrack.User, family string) (TokenPair, error) {
	access, _, err := s.Tokens.Issue(u, TypeAccess)
	if err != nil {
		return TokenPair{}, err
	}
	refresh, exp, err := s.Tokens.Issue(u, TypeRefresh)
	if err != nil {
		return TokenPair{}, err
	}
	err = s.Store.SaveRefreshToken(ctx, tasktrack.RefreshToken{
		Hash: HashToken(refresh), FamilyID: family, UserID: u.ID, TokenVersion: u.TokenVersion, TokenKey: u.TokenKey, ExpiresAt: exp,
	})
	return TokenPair{Access: access, Refresh: refresh}, err
}

// Refresh spends a refresh token and issues a new pair in its family. A
// token presented a second time revokes the family.
func (s *Service) Refresh(ctx context.Context, refresh string) (TokenPair, error) {
	c, err := s.Tokens.Verify(refresh, TypeRefresh)
	if err != nil {
		return TokenPair{}, err
	}
	// The user is loaded inside the rotation; the new pair needs the
	// current token version and key, which the rotation checks equal the
	// claims.
	u := &tasktrack.User{ID: c.UserID, TokenVersion: c.Version, TokenKey: c.Key}
	access, _, err := s.Tokens.Issue(u, TypeAccess)
	if err != nil {
		return TokenPair{}, err
	}
	next, exp, err := s.Tokens.Issue(u, TypeRefresh)
	if err != nil {
		return TokenPair{}, err
	}
	_, err = s.Store.RotateRefreshToken(ctx, HashToken(refresh), tasktrack.RefreshToken{Hash: HashToken(next), TokenKey: c.Key, ExpiresAt: exp})
	if errors.Is(err, tasktrack.ErrRefreshReused) {
		s.Logger.WarnContext(ctx, "refresh token reused; family revoked", "user_id", c.UserID)
		return TokenPair{}, tasktrack.ErrTokenInvalid
	}
	if err != nil {
		return TokenPair{}, err
	}
	return TokenPair{Access: access, Refresh: next}, nil
}

// Logout revokes a refresh token and its rotation family.
func (s *Service) Logout(ctx context.Context, refresh string) error {
	if _, err := s.Tokens.Verify(refresh, TypeRefresh); err != nil {
		return err
	}
	return s.Store.RevokeRefreshFamily(ctx, HashToken(refresh))
}

// Authenticate verifies an access token and returns its user, who must
// still exist, be active, and have the token version and key the token
// carries.
func (s *Service) Authenticate(ctx context.Context, access string) (*tasktrack.User, error) {
	c, err := s.Tokens.Verify(access, TypeAccess)
	if err != nil {
		return nil, err
	}
	u, err := s.Store.AuthUser(ctx, c.UserID)
	if errors.Is(err, tasktrack.ErrNotFound) {
		return nil, tasktrack.ErrTokenInvalid
	}
	if err != nil {
		return nil, err
	}
	if !u.IsActive || u.TokenVersion != c.Version || u.TokenKey != c.Key {
		return nil, tasktrack.ErrTokenInvalid
	}
	u.PasswordHash = ""
	return u, nil
}
