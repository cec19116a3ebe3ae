package outbox

import (
	"testing"
	"time"
)

// The backoff is full jitter: a draw in [0, 1) times a ceiling that
// doubles with each attempt up to the cap.
func TestBackoff(t *testing.T) {
	k := Kind{Base: 30 * time.Second, Cap: 5 * time.Minute}
	cases := []struct {
		attempt int
		draw    float64
		want    time.Duration
	}{
		{1, 0, 0},
		{1, 0.5, 15 * time.Second},
		{1, 0.999, 29970 * time.Millisecond},
		{2, 0.5, 30 * time.Second},
		{3, 0.5, time.Minute},
		{4, 0.5, 2 * time.Minute},
		{5, 0.5, 2*time.Minute + 30*time.Second}, // capped at 5 minutes
		{60, 0.5, 2*time.Minute + 30*time.Second},
		{0, 0.5, 15 * time.Second},
	}
	for _, c := range cases {
		w := &Worker{Rand: func() float64 { return c.draw }}
		if got := w.backoff(k, c.attempt); got != c.want {
			t.Errorf("attempt %d, draw %v: %v, want %v", c.attempt, c.draw, got, c.want)
		}
	}
}

// With a schedule, the wait after attempt n is drawn from the upper half of
// its step; attempts past the schedule keep its last step.
func TestBackoffSchedule(t *testing.T) {
	k := Kind{Schedule: []time.Duration{10 * time.Second, time.Minute, time.Hour}, Base: time.Second, Cap: time.Second}
	cases := []struct {
		attempt int
		draw    float64
		want    time.Duration
	}{
		{1, 0, 5 * time.Second},
		{1, 0.5, 7500 * time.Millisecond},
		{1, 0.999, 9995 * time.Millisecond},
		{2, 0, 30 * time.Second},
		{2, 0.5, 45 * time.Second},
		{3, 0.5, 45 * time.Minute},
		{4, 0, 30 * time.Minute},
		{0, 0, 5 * time.Second},
	}
	for _, c := range cases {
		w := &Worker{Rand: func() float64 { return c.draw }}
		if got := w.backoff(k, c.attempt); got != c.want {
			t.Errorf("attempt %d, draw %v: %v, want %v", c.attempt, c.draw, got, c.want)
		}
	}
}
