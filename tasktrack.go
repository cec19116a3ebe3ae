// Package tasktrack is the domain of the task service: users with roles,
// tasks with deadlines, alerts, the audit log, the error kinds, the service
// interfaces and the permission policy. It does no I/O and imports nothing
// of this module; storage, authentication and HTTP live in their own
// packages and meet here.
package tasktrack

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Version is the program version, set at build time with
// -ldflags "-X tasktrack.Version=...".
var Version = "dev"

// Kind classifies an error; the HTTP layer maps each kind to one status code.
type Kind int

// The error kinds.
const (
	KindInternal        Kind = iota // a bug or an unexpected failure
	KindInvalid                     // the input breaks a rule (400)
	KindUnauthenticated             // no or bad credentials (401)
	KindForbidden                   // authenticated but not allowed (403)
	KindNotFound                    // absent, or not visible to the caller (404)
	KindConflict                    // the resource's state forbids it (409)
	KindRateLimited                 // too many attempts (429)
	KindUnavailable                 // the database does not answer (503)
)

// Error is the domain's error: a kind, a message for the client and,
// for validation errors, messages per field.
type Error struct {
	Kind    Kind
	Message string
	// Code is an optional machine-readable code, such as "token_not_valid".
	Code string
	// Key names the JSON key that carries Message; empty means "detail".
	Key string
	// Fields holds validation messages by field; "non_field_errors" for
	// errors that belong to no single field.
	Fields map[string][]string
	// RetryAfter tells a rate-limited client when to try again.
	RetryAfter time.Duration
	// Err is the underlying cause, logged but never shown.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	if e.Message == "" && len(e.Fields) > 0 {
		return fmt.Sprintf("invalid: %v", e.Fields)
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an error of the given kind with a formatted message.
func Errorf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// ErrorKind returns the kind of err, KindInternal when it carries none.
func ErrorKind(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// FieldErrors collects validation messages by field.
type FieldErrors map[string][]string

// Add records msg for field.
func (f FieldErrors) Add(field, msg string) { f[field] = append(f[field], msg) }

// Err returns an invalid-kind error holding the messages, or nil if none.
func (f FieldErrors) Err() error {
	if len(f) == 0 {
		return nil
	}
	return &Error{Kind: KindInvalid, Fields: f}
}

// Invalid returns a validation error for a single field.
func Invalid(field, msg string) error {
	return &Error{Kind: KindInvalid, Fields: map[string][]string{field: {msg}}}
}

// Common errors.
var (
	ErrNotAuthenticated = &Error{Kind: KindUnauthenticated, Message: "Authentication credentials were not provided."}
	ErrForbidden        = &Error{Kind: KindForbidden, Message: "You do not have permission to perform this action."}
	ErrNotFound         = &Error{Kind: KindNotFound, Message: "Not found."}
	ErrUnavailable      = &Error{Kind: KindUnavailable, Message: "Service temporarily unavailable"}
)

type actorKey struct{}

// NewContextWithActor returns a context that carries the authenticated user.
func NewContextWithActor(ctx context.Context, u *User) context.Context {
	return context.WithValue(ctx, actorKey{}, u)
}

// ActorFromContext returns the authenticated user, or nil for the system
// (the sweep, command-line tools).
func ActorFromContext(ctx context.Context) *User {
	u, _ := ctx.Value(actorKey{}).(*User)
	return u
}

// Page selects a window of a list.
type Page struct {
	Limit  int
	Offset int
}

// Default and maximum page sizes.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)
