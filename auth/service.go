package auth

import (
	"context"
	"errors"
	"log/slog"
	"sync"
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
	// OnLoginFailure is called after each failed password check, at login
	// or at a password change, and each one refused by the limits (for
	// metrics).
	OnLoginFailure func(limited bool)

	dummyHash string
	known     knownUsers
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
// username is unknown or the password wrong.
var ErrBadCredentials = &tasktrack.Error{Kind: tasktrack.KindUnauthenticated, Message: "No active account found with the given credentials"}

// ErrAccountInactive answers the right password of a deactivated account,
// so that its owner learns the account is paused rather than doubting
// their password. Only someone who knows the password hears it.
var ErrAccountInactive = &tasktrack.Error{Kind: tasktrack.KindUnauthenticated, Message: ErrBadCredentials.Message, Code: "account_inactive"}

func (s *Service) limited(wait time.Duration) error {
	if s.OnLoginFailure != nil {
		s.OnLoginFailure(true)
	}
	return &tasktrack.Error{Kind: tasktrack.KindRateLimited, Message: "Too many failed login attempts. Try again later.", RetryAfter: wait}
}

// limit refuses a password check for username from addr while the
// limits on failures hold it back.
func (s *Service) limit(addr, username string) error {
	if wait := s.Limiter.Wait(addr, username); wait > 0 {
		return s.limited(wait)
	}
	return nil
}

// check verifies password against hash for username from addr. The
// caller has checked the limits already, cheaply; they are checked again
// once a hashing slot is held, and a failure (as failed judges the
// outcome) is recorded while it is still held, so racing attempts cannot
// get past a limit together. Only failures are recorded, so right
// passwords never count. A failure costs as much as one against the
// costliest hash stored, so timing tells no username from another.
func (s *Service) check(ctx context.Context, addr, username, hash, password string, failed func(ok bool) bool) (ok, rehash bool, err error) {
	legacy, err := s.Store.MaxLegacyIterations(ctx)
	if err != nil {
		return false, false, err
	}
	hctx, cancel := context.WithTimeout(ctx, s.HashWait)
	defer cancel()
	return s.Hasher.VerifyGuarded(hctx, hash, password, legacy, func() error { return s.limit(addr, username) }, func(ok bool) {
		if failed(ok) {
			s.Limiter.Fail(addr, username)
		}
	})
}

// Login checks a username and password and issues a token pair.
func (s *Service) Login(ctx context.Context, username, password, addr string) (TokenPair, error) {
	if err := s.limit(addr, username); err != nil {
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
	// A right password is no failed guess, even for an inactive account:
	// only wrong ones count towards the limits.
	ok, rehash, err := s.check(ctx, addr, username, hash, password, func(ok bool) bool {
		return !ok || u == nil
	})
	if err != nil {
		return TokenPair{}, err
	}
	ok = ok && u != nil
	inactive := ok && !u.IsActive
	if !ok || inactive {
		if err := s.Store.RecordLogin(ctx, u, username, false, addr); err != nil {
			return TokenPair{}, err
		}
		if s.OnLoginFailure != nil {
			s.OnLoginFailure(false)
		}
		if inactive {
			return TokenPair{}, ErrAccountInactive
		}
		return TokenPair{}, ErrBadCredentials
	}
	var newHash string
	if rehash {
		newHash = s.rehash(ctx, u, password)
	}
	access, _, err := s.Tokens.Issue(u, TypeAccess)
	if err != nil {
		return TokenPair{}, err
	}
	refresh, exp, err := s.Tokens.Issue(u, TypeRefresh)
	if err != nil {
		return TokenPair{}, err
	}
	// The login's record, the new hash and the refresh token are written
	// together, in one transaction.
	err = s.Store.LoginSucceeded(ctx, u, username, addr, tasktrack.RefreshToken{
		Hash: HashToken(refresh), FamilyID: newJTI(), UserID: u.ID, TokenVersion: u.TokenVersion, TokenKey: u.TokenKey, ExpiresAt: exp,
	}, newHash)
	if err != nil {
		return TokenPair{}, err
	}
	return TokenPair{Access: access, Refresh: refresh}, nil
}

// ChangePassword changes the caller's password after checking their
// current one, under the same limits as a login: a wrong old password
// counts as a failed login for the caller's username from addr.
func (s *Service) ChangePassword(ctx context.Context, oldPassword, newPassword, addr string) error {
	actor := tasktrack.ActorFromContext(ctx)
	if actor == nil {
		return tasktrack.ErrNotAuthenticated
	}
	if err := s.limit(addr, actor.Username); err != nil {
		return err
	}
	u, err := s.Store.AuthUser(ctx, actor.ID)
	if err != nil {
		return err
	}
	ok, _, err := s.check(ctx, addr, u.Username, u.PasswordHash, oldPassword, func(ok bool) bool { return !ok })
	if err != nil {
		return err
	}
	if !ok {
		if s.OnLoginFailure != nil {
			s.OnLoginFailure(false)
		}
		errs := tasktrack.FieldErrors{}
		errs.Add("old_password", tasktrack.WrongOldPassword)
		tasktrack.ValidatePassword(errs, "new_password", newPassword, u.Username)
		return errs.Err()
	}
	return s.Store.SetOwnPassword(ctx, u.PasswordHash, newPassword)
}

// rehash hashes a password whose stored hash is outdated (an imported
// Django hash, or older argon2 parameters), now that it is known to be
// right, for the login to store in place of the old one. A failure only
// means the next login tries again: it answers "", and the login goes on.
func (s *Service) rehash(ctx context.Context, u *tasktrack.User, password string) string {
	nh, err := s.Hasher.HashContext(ctx, password)
	if err != nil {
		s.Logger.WarnContext(ctx, "password rehash failed", "user_id", u.ID, "err", err)
		return ""
	}
	return nh
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
		s.known.forget(c.UserID)
		return nil, tasktrack.ErrTokenInvalid
	}
	if err != nil {
		return nil, err
	}
	if !u.IsActive || u.TokenVersion != c.Version || u.TokenKey != c.Key {
		s.known.forget(c.UserID)
		return nil, tasktrack.ErrTokenInvalid
	}
	u.PasswordHash = ""
	s.known.remember(u)
	return u, nil
}

// Claimed verifies an access token and returns its user as the last
// Authenticate of this process read them, for a store to confirm in the
// statement that answers (see tasktrack.NewContextWithClaimedActor). It
// reads nothing: ok is false when the token is not valid, or when no
// earlier read of its user agrees with it, and the caller then
// authenticates in full.
func (s *Service) Claimed(access string) (_ *tasktrack.User, ok bool) {
	c, err := s.Tokens.Verify(access, TypeAccess)
	if err != nil {
		return nil, false
	}
	u, ok := s.known.get(c.UserID)
	if !ok || !u.IsActive || u.TokenVersion != c.Version || u.TokenKey != c.Key {
		return nil, false
	}
	return u, true
}

// knownUsers keeps each user as the last Authenticate read them, for
// Claimed. It is bounded: when full it starts again empty, which costs
// each user one full authentication.
type knownUsers struct {
	mu sync.Mutex
	m  map[int64]tasktrack.User
}

const maxKnownUsers = 10000

func (k *knownUsers) remember(u *tasktrack.User) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.m == nil || len(k.m) >= maxKnownUsers {
		k.m = make(map[int64]tasktrack.User)
	}
	k.m[u.ID] = *u
}

func (k *knownUsers) forget(id int64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.m, id)
}

// get returns a copy, which the request may change as it likes.
func (k *knownUsers) get(id int64) (*tasktrack.User, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	u, ok := k.m[id]
	if !ok {
		return nil, false
	}
	return &u, true
}
