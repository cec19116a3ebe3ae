package tasktrack_test

import (
	"testing"
	"time"

	"tasktrack"
)

func TestWeekStart(t *testing.T) {
	paris := time.FixedZone("CET", 3600)
	cases := []struct {
		at, want time.Time
	}{
		{time.Date(2026, 3, 8, 23, 59, 59, 999999999, time.UTC), time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)}, // Sunday's end
		{time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC)},            // Monday's start
		{time.Date(2026, 3, 11, 15, 4, 5, 0, time.UTC), time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC)},          // a Wednesday
		{time.Date(2026, 3, 9, 0, 30, 0, 0, paris), time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)},              // Sunday 23:30 in UTC
		{time.Date(2021, 1, 3, 12, 0, 0, 0, time.UTC), time.Date(2020, 12, 28, 0, 0, 0, 0, time.UTC)},         // across a year
		{time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC), time.Date(1969, 12, 29, 0, 0, 0, 0, time.UTC)},        // before the epoch
	}
	for _, c := range cases {
		if got := tasktrack.WeekStart(c.at); !got.Equal(c.want) || got.Location() != time.UTC {
			t.Errorf("WeekStart(%v) = %v, want %v", c.at, got, c.want)
		}
	}
	weeks := tasktrack.StatsWeekStarts(time.Date(2026, 3, 18, 12, 0, 0, 0, time.UTC))
	if len(weeks) != tasktrack.StatsWeeks || !weeks[0].Equal(time.Date(2025, 12, 29, 0, 0, 0, 0, time.UTC)) ||
		!weeks[len(weeks)-1].Equal(time.Date(2026, 3, 16, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("StatsWeekStarts = %v", weeks)
	}
	for i := 1; i < len(weeks); i++ {
		if weeks[i].Sub(weeks[i-1]) != 7*24*time.Hour {
			t.Errorf("weeks %v and %v are not a week apart", weeks[i-1], weeks[i])
		}
	}
}

func TestAtRisk(t *testing.T) {
	cases := []struct {
		counted, threshold int
		want               bool
	}{
		{0, 5, false}, {3, 5, false}, {4, 5, true}, {5, 5, true}, {9, 5, true},
		{1, 2, true}, {0, 2, false},
		{0, 1, false}, {1, 1, false}, // no room for a warning
	}
	for _, c := range cases {
		if got := tasktrack.AtRisk(c.counted, c.threshold); got != c.want {
			t.Errorf("AtRisk(%d, %d) = %v, want %v", c.counted, c.threshold, got, c.want)
		}
	}
}
