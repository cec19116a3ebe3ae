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

// A claimed actor is the user an access token names, taken from an
// earlier request's read of that user rather than read again for this one.
// Only a store that checks it can answer for it: the statement that
// answers the request also confirms, in the same snapshot, that the user
// is still active with the token's version and key and the same role and
// username (so revocation stays exact at the next request on every
// replica), and answers ErrActorChanged when not. The caller then reads
// the user afresh and asks again, as for any other request. A route opts
// in only when every store call it makes checks a claimed actor.
type claimedKey struct{}

// NewContextWithClaimedActor returns a context that carries u as a claimed
// actor: ActorFromContext returns u, and ActorClaimed says it is unchecked.
func NewContextWithClaimedActor(ctx context.Context, u *User) context.Context {
	return context.WithValue(NewContextWithActor(ctx, u), claimedKey{}, true)
}

// ActorClaimed reports whether the actor of ctx is a claimed actor, which
// a store must confirm in the statement that answers.
func ActorClaimed(ctx context.Context) bool {
	b, _ := ctx.Value(claimedKey{}).(bool)
	return b
}

// ErrActorChanged answers a claimed actor whose stored user no longer
// matches it. It is the caller's cue to authenticate afresh; should it
// ever reach a client, it reads as an invalid token.
var ErrActorChanged = &Error{Kind: KindUnauthenticated, Message: ErrTokenInvalid.Message, Code: ErrTokenInvalid.Code}

// SessionStore keeps what authentication needs: users by name and id
// (without policy), refresh tokens, the login record, and the passwords
// that auth checks.
type SessionStore interface {
	// Every method may also answer KindUnavailable when the database does
	// not answer, and an internal error when something unexpected fails.

	// UserByUsername loads a user by username, any case or width variant
	// of it, without policy; KindNotFound if there is none.
	UserByUsername(ctx context.Context, username string) (*User, error)
	// AuthUser loads a user by id, without policy; KindNotFound if there
	// is none.
	AuthUser(ctx context.Context, id int64) (*User, error)
	// RecordLogin writes the audit entry of a login attempt by username
	// from addr; u is nil when the username is unknown.
	RecordLogin(ctx context.Context, u *User, username string, ok bool, addr string) error
	// LoginSucceeded records u's successful login, replaces u's outdated
	// password hash with newHash when it is not "" (unless the hash
	// changed meanwhile), and saves the refresh token t, in one
	// transaction; KindConflict if t is already stored.
	LoginSucceeded(ctx context.Context, u *User, username, addr string, t RefreshToken, newHash string) error
	// RotateRefreshToken spends the refresh token with hash oldHash and
	// stores next in its family, returning the user. ErrRefreshReused
	// (KindUnauthenticated, after revoking the family) for a token spent
	// or revoked; ErrTokenInvalid for one unknown, expired, or whose user
	// may no longer sign in.
	RotateRefreshToken(ctx context.Context, oldHash string, next RefreshToken) (*User, error)
	// RevokeRefreshFamily revokes the family of the refresh token with
	// hash (a logout); ErrTokenInvalid for an unknown token.
	RevokeRefreshFamily(ctx context.Context, hash string) error
	// SetOwnPassword sets the acting user's password once auth has
	// checked their current one, whose hash is oldHash; it refuses the
	// change if the hash is no longer that. KindUnauthenticated without
	// an actor, KindInvalid for a password that breaks the rules.
	SetOwnPassword(ctx context.Context, oldHash, newPassword string) error
	// MaxLegacyIterations is the highest PBKDF2 iteration count among the
	// imported Django hashes still stored, 0 when none is left.
	MaxLegacyIterations(ctx context.Context) (int, error)
}
