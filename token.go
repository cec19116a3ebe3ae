package tasktrack

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"
)

// Scope is what a personal access token may be used for.
type Scope string

// The scopes. Read is every GET the owner's role allows; write, which
// needs read too, everything else the role allows; calendar only the
// calendar endpoints.
const (
	ScopeRead     Scope = "read"
	ScopeWrite    Scope = "write"
	ScopeCalendar Scope = "calendar"
)

// Scopes lists the scopes in the order they are shown and stored.
var Scopes = []Scope{ScopeRead, ScopeWrite, ScopeCalendar}

// PersonalToken is a long-lived credential for scripts and integrations.
// Only a hash of its secret is stored; the secret is shown once, when the
// token is made.
type PersonalToken struct {
	ID         string
	UserID     int64
	Name       string
	Scopes     []Scope
	CreatedAt  time.Time
	ExpiresAt  *time.Time // nil: never
	LastUsedAt *time.Time // nil: never used
	RevokedAt  *time.Time
	// Hash is the hex SHA-256 of the secret, loaded only for
	// authentication.
	Hash string
}

// Has reports whether t carries scope s.
func (t *PersonalToken) Has(s Scope) bool {
	for _, x := range t.Scopes {
		if x == s {
			return true
		}
	}
	return false
}

// Usable reports whether t, whose owner is u, may authenticate at now:
// not revoked, not expired, its owner active and not reactivated since it
// was made. Deactivation ends a token for good: reactivating the owner
// does not bring back the tokens the deactivation stopped.
func (t *PersonalToken) Usable(u *User, now time.Time) bool {
	return t.RevokedAt == nil && (t.ExpiresAt == nil || now.Before(*t.ExpiresAt)) && u.IsActive &&
		(u.ReactivatedAt == nil || t.CreatedAt.After(*u.ReactivatedAt))
}

// PersonalTokenCreate is the input of PersonalTokenService.CreatePersonalToken.
type PersonalTokenCreate struct {
	Name      string
	Scopes    []string
	ExpiresAt *time.Time
}

// Audit actions of personal access tokens.
const (
	ActionTokenCreate = "token.create"
	ActionTokenRevoke = "token.revoke"
)

// MaxTokenNameLen is the longest name a token may have.
const MaxTokenNameLen = 100

// ValidatePersonalToken checks a new token's name, scopes and expiry at
// now, and returns the name trimmed and the scopes in their canonical
// order without repeats.
func ValidatePersonalToken(errs FieldErrors, in PersonalTokenCreate, now time.Time) (string, []Scope) {
	name := strings.TrimSpace(in.Name)
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		errs.Add("name", "This field may not be blank.")
	case n > MaxTokenNameLen:
		errs.Add("name", "Ensure this field has no more than 100 characters.")
	}
	given := map[Scope]bool{}
	for _, s := range in.Scopes {
		sc := Scope(s)
		valid := false
		for _, known := range Scopes {
			valid = valid || sc == known
		}
		// The first unknown scope is named, not every one: a body of a
		// megabyte of them would otherwise answer many megabytes.
		if !valid && len(errs["scopes"]) == 0 {
			errs.Add("scopes", `"`+s+`" is not a valid choice: read, write or calendar.`)
		}
		given[sc] = true
	}
	if len(in.Scopes) == 0 {
		errs.Add("scopes", "Choose at least one scope: read, write or calendar.")
	}
	if given[ScopeWrite] && !given[ScopeRead] {
		errs.Add("scopes", `The "write" scope needs "read" as well.`)
	}
	if in.ExpiresAt != nil && !in.ExpiresAt.After(now) {
		errs.Add("expires_at", "The expiry must be in the future.")
	}
	var scopes []Scope
	for _, s := range Scopes {
		if given[s] {
			scopes = append(scopes, s)
		}
	}
	return name, scopes
}

// PersonalTokenService manages personal access tokens. Every method takes
// the acting user from the context and applies the policy: a person
// lists and revokes their own tokens, an admin anyone's.
type PersonalTokenService interface {
	// Every method may also answer KindUnavailable when the database does
	// not answer, and an internal error when something unexpected fails.

	// CreatePersonalToken stores a new token of the actor's whose secret
	// hashes to hash; KindUnauthenticated without an actor, KindInvalid
	// for a name, scope or expiry that breaks the rules.
	CreatePersonalToken(ctx context.Context, in PersonalTokenCreate, hash string) (*PersonalToken, error)
	// FindPersonalTokens lists the tokens of user userID that are
	// neither revoked nor ended by a deactivation (expired ones too),
	// newest first. KindUnauthenticated without an actor, KindForbidden
	// for someone else's tokens when the actor is not an admin.
	FindPersonalTokens(ctx context.Context, userID int64, p Page) ([]*PersonalToken, int, error)
	// RevokePersonalToken revokes token id of user userID; as
	// FindPersonalTokens, and KindNotFound for no such token of theirs
	// or one already revoked.
	RevokePersonalToken(ctx context.Context, userID int64, id string) error
}

// PersonalTokenStore is what authentication needs of the stored tokens,
// without policy.
type PersonalTokenStore interface {
	// Every method may also answer KindUnavailable when the database does
	// not answer, and an internal error when something unexpected fails.

	// PersonalTokenByHash loads the token whose secret hashes to hash,
	// revoked or not, with its owner, in one indexed read. It answers
	// ErrNotFound when there is none.
	PersonalTokenByHash(ctx context.Context, hash string) (*PersonalToken, *User, error)
	// TouchPersonalToken sets the token's last use to at, unless it was
	// set less than a minute before at (by any process).
	TouchPersonalToken(ctx context.Context, id string, at time.Time) error
}

type tokenKey struct{}

// ErrSessionRequired answers a personal access token used where only a
// login session will do: the routes that declare so, and setting a
// password.
var ErrSessionRequired = &Error{Kind: KindForbidden,
	Message: "This needs a login session: sign in with your password. A personal access token cannot do it.",
	Code:    "login_session_required"}

// RequireSession refuses a request made with the personal access token t
// (nil when the request came with a login session).
func RequireSession(t *PersonalToken) error {
	if t != nil {
		return ErrSessionRequired
	}
	return nil
}

// NewContextWithToken returns a context that records the personal access
// token a request authenticated with; audit entries name it.
func NewContextWithToken(ctx context.Context, t *PersonalToken) context.Context {
	return context.WithValue(ctx, tokenKey{}, t)
}

// TokenFromContext returns the personal access token of the request, nil
// for a login session (a JWT) or the system.
func TokenFromContext(ctx context.Context) *PersonalToken {
	t, _ := ctx.Value(tokenKey{}).(*PersonalToken)
	return t
}
