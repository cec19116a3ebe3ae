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
// (without policy), refresh tokens and the login record.
type SessionStore interface {
	UserByUsername(ctx context.Context, username string) (*User, error)
	AuthUser(ctx context.Context, id int64) (*User, error)
	RecordLogin(ctx context.Context, u *User, username string, ok bool, addr string) error
	SaveRefreshToken(ctx context.Context, t RefreshToken) error
	RotateRefreshToken(ctx context.Context, oldHash string, next RefreshToken) (*User, error)
	RevokeRefreshFamily(ctx context.Context, hash string) error
	UpgradePasswordHash(ctx context.Context, id int64, oldHash, newHash string) error
}
