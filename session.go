package tasktrack

import (
	"context"
	"errors"
	"time"
)

// RefreshToken is the stored record of an issued refresh token: only a
// hash of the token is kept.
type RefreshToken struct {
	Hash         string
	FamilyID     string
	UserID       int64
	TokenVersion int64
	// TokenKey is the user's token key, which the token carries; it is
	// checked against the user's, not stored.
	TokenKey  string
	ExpiresAt time.Time
}

// ErrRefreshReused reports a refresh token presented again after rotation;
// its whole family has been revoked.
var ErrRefreshReused = errors.New("refresh token reused")

// ErrTokenInvalid answers a token that is malformed, forged, expired,
// revoked, or whose user may no longer sign in.
var ErrTokenInvalid = &Error{Kind: KindUnauthenticated, Message: "Given token not valid for any token type", Code: "token_not_valid"}

// SessionStore keeps what authentication needs: users by name and id
// (without policy), refresh tokens, the login record, and the passwords
// that auth checks.
type SessionStore interface {
	UserByUsername(ctx context.Context, username string) (*User, error)
	AuthUser(ctx context.Context, id int64) (*User, error)
	RecordLogin(ctx context.Context, u *User, username string, ok bool, addr string) error
	LoginSucceeded(ctx context.Context, u *User, username, addr string, t RefreshToken, newHash string) error
	RotateRefreshToken(ctx context.Context, oldHash string, next RefreshToken) (*User, error)
	RevokeRefreshFamily(ctx context.Context, hash string) error
	// SetOwnPassword sets the acting user's password once auth has
	// checked their current one, whose hash is oldHash; it refuses the
	// change if the hash is no longer that.
	SetOwnPassword(ctx context.Context, oldHash, newPassword string) error
	// MaxLegacyIterations is the highest PBKDF2 iteration count among the
	// imported Django hashes still stored, 0 when none is left.
	MaxLegacyIterations(ctx context.Context) (int, error)
}
