package tasktrack

import (
	"context"
	"testing"
	"time"
)

func TestKeepAnAdmin(t *testing.T) {
	for _, tc := range []struct {
		name      string
		u         User
		others    int
		wantAsked bool
		want      error
	}{
		{"the last active admin", User{ID: 1, Role: RoleAdmin, IsActive: true}, 0, true, ErrLastAdmin},
		{"one of two active admins", User{ID: 1, Role: RoleAdmin, IsActive: true}, 1, true, nil},
		{"an inactive admin", User{ID: 1, Role: RoleAdmin}, 0, false, nil},
		{"a manager", User{ID: 1, Role: RoleManager, IsActive: true}, 0, false, nil},
	} {
		asked := false
		err := KeepAnAdmin(context.Background(), &tc.u, func(_ context.Context, id int64) (int, error) {
			asked = true
			if id != tc.u.ID {
				t.Errorf("%s: counted the admins other than %d, want %d", tc.name, id, tc.u.ID)
			}
			return tc.others, nil
		})
		if err != tc.want || asked != tc.wantAsked {
			t.Errorf("%s: KeepAnAdmin = %v (counted: %v), want %v (counted: %v)", tc.name, err, asked, tc.want, tc.wantAsked)
		}
	}
}

func TestActivation(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	u := User{ID: 7, IsActive: true, TokenVersion: 3}
	u.Deactivate(now, ReasonManual)
	if u.IsActive || u.DeactivatedAt == nil || !u.DeactivatedAt.Equal(now) || u.DeactivationReason != ReasonManual || u.TokenVersion != 4 {
		t.Fatalf("after Deactivate: %+v", u)
	}
	later := now.Add(time.Hour)
	u.Reactivate(later, &User{ID: 1})
	if !u.IsActive || u.DeactivatedAt != nil || u.DeactivationReason != "" || u.ReactivatedAt == nil || !u.ReactivatedAt.Equal(later) ||
		u.ReactivatedBy == nil || *u.ReactivatedBy != 1 || u.TokenVersion != 5 {
		t.Fatalf("after Reactivate: %+v", u)
	}
	u.Reactivate(later, nil)
	if u.ReactivatedBy != nil {
		t.Fatalf("reactivated by the system: ReactivatedBy = %d, want nil", *u.ReactivatedBy)
	}
}

func TestSetStatus(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	before := now.Add(-time.Hour)
	for _, tc := range []struct {
		from          Status
		completedAt   *time.Time
		missedAt      *time.Time
		to            Status
		wantCompleted *time.Time
		wantMissed    *time.Time
	}{
		{StatusPending, nil, nil, StatusCompleted, &now, nil},
		{StatusCompleted, &before, nil, StatusCompleted, &before, nil},
		{StatusCompleted, &before, nil, StatusInProgress, nil, nil},
		{StatusMissed, nil, &before, StatusMissed, nil, &before},
		{StatusMissed, nil, &before, StatusPending, nil, nil},
	} {
		task := Task{Status: tc.from, CompletedAt: tc.completedAt, MissedAt: tc.missedAt}
		task.SetStatus(tc.to, now)
		if task.Status != tc.to || !sameTime(task.CompletedAt, tc.wantCompleted) || !sameTime(task.MissedAt, tc.wantMissed) {
			t.Errorf("%s -> %s: status %s, completed %v, missed %v; want completed %v, missed %v",
				tc.from, tc.to, task.Status, task.CompletedAt, task.MissedAt, tc.wantCompleted, tc.wantMissed)
		}
	}
}

func sameTime(a, b *time.Time) bool {
	return a == nil && b == nil || a != nil && b != nil && a.Equal(*b)
}
