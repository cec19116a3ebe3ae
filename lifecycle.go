package tasktrack

import (
	"context"
	"time"
)

// The state changes of users and tasks. The store loads, calls these and
// saves: the rules live here once, whichever use case makes the change.

// ErrLastAdmin answers a change that would leave no active admin.
var ErrLastAdmin = Errorf(KindConflict, "This is the last active admin; make another admin first.")

// KeepAnAdmin refuses to take u out of the active admins (a demotion, a
// deactivation, a deletion) when it is the last one: nobody would be left
// to run the service. others counts the active admins other than u; it is
// asked only when u is an active admin.
func KeepAnAdmin(ctx context.Context, u *User, others func(ctx context.Context, id int64) (int, error)) error {
	if !u.IsAdmin() || !u.IsActive {
		return nil
	}
	n, err := others(ctx, u.ID)
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrLastAdmin
	}
	return nil
}

// Deactivate makes u inactive from now for reason. The token version
// moves on, so that every token issued to u stops working at once.
func (u *User) Deactivate(now time.Time, reason string) {
	u.IsActive = false
	u.DeactivatedAt, u.DeactivationReason = &now, reason
	u.TokenVersion++
}

// Reactivate makes u active again from now, by the user by (nil for the
// system): misses before now no longer count towards a deactivation. The
// token version moves on, as at every change of who may sign in.
func (u *User) Reactivate(now time.Time, by *User) {
	u.IsActive = true
	u.DeactivatedAt, u.DeactivationReason = nil, ""
	u.ReactivatedAt, u.ReactivatedBy = &now, nil
	if by != nil {
		id := by.ID
		u.ReactivatedBy = &id
	}
	u.TokenVersion++
}

// SetStatus moves t to status s at now, keeping the times of completion
// and of the miss true to it.
func (t *Task) SetStatus(s Status, now time.Time) {
	if s == StatusCompleted && t.Status != StatusCompleted {
		t.CompletedAt = &now
	}
	if s != StatusCompleted {
		t.CompletedAt = nil
	}
	if s != StatusMissed {
		t.MissedAt = nil
	}
	t.Status = s
}
