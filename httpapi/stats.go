package httpapi

import (
	"net/http"
	"time"

	"tasktrack"
)

// The JSON of GET /api/stats/: the contract's fields, and `me`,
// `threshold` and `window_hours`, which a person's own page needs to say
// how far they are from being paused, and `is_active` and `role` of each
// person, which say who may be reactivated.

type statsJSON struct {
	GeneratedAt tasktrack.JSONTime `json:"generated_at"`
	Tasks       taskCountsJSON     `json:"tasks"`
	DueSoon     int                `json:"due_soon"`
	Weeks       []weekJSON         `json:"weeks"`
	// People is left out for a caller who may see only their own figures.
	People      *[]personJSON `json:"people,omitempty"`
	Me          *personJSON   `json:"me"`
	Threshold   int           `json:"threshold"`
	WindowHours float64       `json:"window_hours"`
}

type taskCountsJSON struct {
	Pending    int `json:"pending"`
	InProgress int `json:"in_progress"`
	Completed  int `json:"completed"`
	Missed     int `json:"missed"`
}

type weekJSON struct {
	WeekStart       string `json:"week_start"`
	Completed       int    `json:"completed"`
	CompletedOnTime int    `json:"completed_on_time"`
	Missed          int    `json:"missed"`
}

type personJSON struct {
	ID             int64          `json:"id"`
	Username       string         `json:"username"`
	Role           tasktrack.Role `json:"role"`
	IsActive       bool           `json:"is_active"`
	Open           int            `json:"open"`
	MissedInWindow int            `json:"missed_in_window"`
	AtRisk         bool           `json:"at_risk"`
	OnTimeRate     *float64       `json:"on_time_rate"`
}

func toPersonJSON(p *tasktrack.PersonStats) *personJSON {
	if p == nil {
		return nil
	}
	return &personJSON{ID: p.ID, Username: p.Username, Role: p.Role, IsActive: p.IsActive, Open: p.Open,
		MissedInWindow: p.MissedInWindow, AtRisk: p.AtRisk, OnTimeRate: p.OnTimeRate}
}

func toStatsJSON(st *tasktrack.Stats) statsJSON {
	j := statsJSON{
		GeneratedAt: tasktrack.JSONTime(st.GeneratedAt),
		Tasks:       taskCountsJSON{st.Tasks.Pending, st.Tasks.InProgress, st.Tasks.Completed, st.Tasks.Missed},
		DueSoon:     st.DueSoon,
		Weeks:       make([]weekJSON, len(st.Weeks)),
		Me:          toPersonJSON(st.Me),
		Threshold:   st.Threshold,
		WindowHours: st.Window.Hours(),
	}
	for i, w := range st.Weeks {
		j.Weeks[i] = weekJSON{w.WeekStart.Format(time.DateOnly), w.Completed, w.CompletedOnTime, w.Missed}
	}
	if st.People != nil {
		people := make([]personJSON, len(st.People))
		for i := range st.People {
			people[i] = *toPersonJSON(&st.People[i])
		}
		j.People = &people
	}
	return j
}

func (s *Server) handleStats(w http.ResponseWriter, r *http.Request) error {
	st, err := s.Reports.Dashboard(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toStatsJSON(st))
	return nil
}
