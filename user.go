package tasktrack

import (
	"context"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/secure/precis"
)

// Role is one of the three fixed roles.
type Role struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

// The roles, in the order GET /api/user/roles/ lists them.
var (
	RoleAdmin   = Role{ID: 1, Name: "admin"}
	RoleManager = Role{ID: 2, Name: "manager"}
	RoleUser    = Role{ID: 3, Name: "user"}
	Roles       = []Role{RoleAdmin, RoleManager, RoleUser}
)

// RoleByName returns the role with the given name.
func RoleByName(name string) (Role, bool) {
	for _, r := range Roles {
		if r.Name == name {
			return r, true
		}
	}
	return Role{}, false
}

// RoleByID returns the role with the given id.
func RoleByID(id int) (Role, bool) {
	for _, r := range Roles {
		if r.ID == id {
			return r, true
		}
	}
	return Role{}, false
}

// Reasons a user was deactivated.
const (
	ReasonMissedDeadlines = "missed_deadlines"
	ReasonManual          = "manual"
)

// User is a person who signs in.
type User struct {
	ID                 int64
	Username           string
	Email              string
	FirstName          string
	LastName           string
	Role               Role
	IsActive           bool
	DateJoined         time.Time
	DeactivatedAt      *time.Time
	DeactivationReason string // "" while active
	ReactivatedAt      *time.Time
	ReactivatedBy      *int64
	// TokenVersion changes whenever the user's tokens must stop working:
	// deactivation, password or role change.
	TokenVersion int64
	// TokenKey is a random value made with the account and never changed.
	// Tokens carry it, so that a token names one account, not merely an
	// id and a version another account could also have.
	TokenKey string
	// PasswordHash is loaded only for authentication.
	PasswordHash string
}

// IsAdmin reports whether u is an admin.
func (u *User) IsAdmin() bool { return u != nil && u.Role.ID == RoleAdmin.ID }

// IsManager reports whether u is a manager.
func (u *User) IsManager() bool { return u != nil && u.Role.ID == RoleManager.ID }

// UserCreate is the input of UserService.CreateUser.
type UserCreate struct {
	Username  string
	Password  string
	Email     string
	FirstName string
	LastName  string
	Role      string // a role name; "" means "user"
}

// UserUpdate holds the fields to change; nil leaves a field as it is.
type UserUpdate struct {
	Email     *string
	FirstName *string
	LastName  *string
	Role      *string
	IsActive  *bool
	Password  *string
}

// UserFilter selects users in a list.
type UserFilter struct {
	Role     string // a role name
	IsActive *bool
	Search   string // username, email or names, case-insensitive
	Page
}

// UserService manages users. Every method takes the acting user from the
// context and applies the policy: KindUnauthenticated without an actor,
// KindForbidden when the actor's role may not.
type UserService interface {
	// Every method may also answer KindUnavailable when the database does
	// not answer, and an internal error when something unexpected fails.

	// FindUserByID returns one user; KindNotFound if there is none.
	FindUserByID(ctx context.Context, id int64) (*User, error)
	// FindUsers lists users by id, with the total the filter selects;
	// KindInvalid for a bad filter.
	FindUsers(ctx context.Context, f UserFilter) ([]*User, int, error)
	// CreateUser creates a user (the system, with no actor, may too);
	// KindInvalid for a field that breaks a rule or a username taken.
	CreateUser(ctx context.Context, in UserCreate) (*User, error)
	// UpdateUser changes a user's email, names, role, active flag or
	// password; KindInvalid for a field that breaks a rule, KindNotFound
	// for no such user, KindConflict (ErrLastAdmin) for a change that
	// would leave no active admin.
	UpdateUser(ctx context.Context, id int64, in UserUpdate) (*User, error)
	// DeleteUser deletes a user; KindNotFound for no such user,
	// KindConflict for one who still has tasks or is the last active admin.
	DeleteUser(ctx context.Context, id int64) error
	// ReactivateUser makes an inactive user active again, and misses
	// before now stop counting; KindNotFound for no such user, KindInvalid
	// for one already active, KindForbidden when a manager reactivates
	// anyone but a user.
	ReactivateUser(ctx context.Context, id int64) (*User, error)
	// DeactivateUser deactivates a user by hand; KindNotFound for no such
	// user, KindInvalid for one already inactive, KindConflict for the
	// last active admin.
	DeactivateUser(ctx context.Context, id int64) (*User, error)
	// SetUserPassword sets another user's password (an admin's reset);
	// KindNotFound for no such user, KindInvalid for a password that
	// breaks the rules.
	SetUserPassword(ctx context.Context, id int64, password string) error
	// UserStanding tells how near a user is to being deactivated by the
	// sweep; KindNotFound for no such user.
	UserStanding(ctx context.Context, id int64) (*Standing, error)
}

// Standing is a user's count of missed deadlines as the sweep counts it:
// misses whose deadlines fall in the window and after the user's last
// reactivation. Threshold is 0 for admins, whom the sweep never
// deactivates.
type Standing struct {
	MissedInWindow int
	Threshold      int
	Window         time.Duration
	// CountedSince is where the count starts: the window's start, or the
	// last reactivation when that is later.
	CountedSince time.Time
}

// PasswordHasher hashes new passwords. Checking a password is auth's
// work, under its limits on failures.
type PasswordHasher interface {
	// Hash hashes a new password; it fails only when something
	// unexpected does (an internal error).
	Hash(password string) (string, error)
}

// WrongOldPassword answers a password change whose old password is not
// the caller's current one.
const WrongOldPassword = "Your old password was entered incorrectly."

// Length limits of user fields.
const (
	MaxUsernameLen = 150
	MinPasswordLen = 8
	MaxPasswordLen = 4096
	MaxNameLen     = 150
	MaxEmailLen    = 254
)

// Messages of the username rules.
const (
	msgUsernameChars  = "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."
	msgUsernameScript = "Enter a valid username. This value may not mix scripts."
)

// ValidateUsername checks the username rules: 1-150 letters, digits and
// @.+-_, of one script, that the PRECIS UsernameCaseMapped profile accepts.
func ValidateUsername(errs FieldErrors, username string) {
	n := utf8.RuneCountInString(username)
	switch {
	case n == 0:
		errs.Add("username", "This field may not be blank.")
	case n > MaxUsernameLen:
		errs.Add("username", "Ensure this field has no more than 150 characters.")
	default:
		for _, r := range username {
			if !(isLetterOrDigit(r) || strings.ContainsRune("@.+-_", r)) {
				errs.Add("username", msgUsernameChars)
				return
			}
		}
		if !oneScript(username) {
			errs.Add("username", msgUsernameScript)
			return
		}
		// Letters the profile refuses (ligatures and other compatibility
		// forms, unassigned code points) could not be told apart reliably.
		if _, err := precis.UsernameCaseMapped.CompareKey(username); err != nil {
			errs.Add("username", msgUsernameChars)
		}
	}
}

// UsernameKey is what makes usernames unique and finds them at login: the
// PRECIS UsernameCaseMapped form (RFC 8265), under which case and width
// variants ("Admin", "ａｄｍｉｎ") are the same name as "admin". A name the
// profile refuses (one from before the rule, or an import) keeps its
// lower-cased form, which no accepted name has: an accepted name's form
// has no character the profile refuses.
func UsernameKey(username string) string {
	k, err := precis.UsernameCaseMapped.CompareKey(username)
	if err != nil {
		return strings.ToLower(username)
	}
	return k
}

// oneScript reports whether the letters and digits of s belong to one
// writing system, so that "аdmin" with a Cyrillic "а" is refused beside
// "admin". Characters common to all scripts (ASCII digits, @.+-_) and
// combining marks go with any. Following UTS #39's augmented script sets,
// Han mixes with the kana as Japanese, with Hangul as Korean and with
// Bopomofo, as those languages are written.
func oneScript(s string) bool {
	var common []string
	for _, r := range s {
		sets := scriptSets(r)
		if sets == nil {
			continue
		}
		if common == nil {
			common = sets
			continue
		}
		var kept []string
		for _, c := range common {
			for _, x := range sets {
				if c == x {
					kept = append(kept, c)
				}
			}
		}
		if kept == nil {
			return false
		}
		common = kept
	}
	return true
}

// scriptSets returns the writing systems r may be part of, nil for any.
func scriptSets(r rune) []string {
	if r < utf8.RuneSelf {
		if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' {
			return []string{"Latin"}
		}
		return nil
	}
	for name, table := range unicode.Scripts {
		if name == "Common" || name == "Inherited" || !unicode.Is(table, r) {
			continue
		}
		switch name {
		case "Han":
			return []string{"Han", "Japanese", "Korean", "Bopomofo"}
		case "Hiragana", "Katakana":
			return []string{"Japanese"}
		case "Hangul":
			return []string{"Korean"}
		case "Bopomofo":
			return []string{"Bopomofo"}
		}
		return []string{name}
	}
	return nil
}

func isLetterOrDigit(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// ValidatePassword checks the password rules: at least 8 characters, not
// all digits, not the username.
func ValidatePassword(errs FieldErrors, field, password, username string) {
	n := utf8.RuneCountInString(password)
	if n < MinPasswordLen {
		errs.Add(field, "This password is too short. It must contain at least 8 characters.")
	}
	if n > MaxPasswordLen {
		errs.Add(field, "Ensure this field has no more than 4096 characters.")
	}
	if n > 0 && strings.Trim(password, "0123456789") == "" {
		errs.Add(field, "This password is entirely numeric.")
	}
	if username != "" && strings.EqualFold(password, username) {
		errs.Add(field, "The password is too similar to the username.")
	}
}

// ValidateEmail checks that email is empty or a valid address.
func ValidateEmail(errs FieldErrors, email string) {
	if email == "" {
		return
	}
	if len(email) > MaxEmailLen {
		errs.Add("email", "Ensure this field has no more than 254 characters.")
		return
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || a.Name != "" || !strings.Contains(email[strings.LastIndexByte(email, '@')+1:], ".") {
		errs.Add("email", "Enter a valid email address.")
	}
}

// ValidateName checks a first or last name.
func ValidateName(errs FieldErrors, field, name string) {
	if utf8.RuneCountInString(name) > MaxNameLen {
		errs.Add(field, "Ensure this field has no more than 150 characters.")
	}
}

// ValidateRole checks a role name and returns the role.
func ValidateRole(errs FieldErrors, name string) Role {
	r, ok := RoleByName(name)
	if !ok {
		errs.Add("role", `"`+name+`" is not a valid choice.`)
	}
	return r
}
