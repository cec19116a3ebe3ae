package httpapi

import (
	"net/http"

	"tasktrack"
)

// Alerts: the list and the acknowledgement; the stream is in stream.go.

func (s *Server) handleListAlerts(w http.ResponseWriter, r *http.Request) error {
	q := query{r.URL.Query(), tasktrack.FieldErrors{}}
	f := tasktrack.AlertFilter{Page: q.page(), Acknowledged: q.boolean("acknowledged"), Since: q.time("since")}
	if k := q.Get("kind"); k != "" {
		if !tasktrack.ValidAlertKind(k) {
			q.errs.Add("kind", "Select a valid choice. "+k+" is not one of the available choices.")
		}
		f.Kind = k
	}
	if err := q.errs.Err(); err != nil {
		return err
	}
	alerts, total, err := s.Alerts.FindAlerts(r.Context(), f)
	if err != nil {
		return err
	}
	writeList(w, r, s.PublicURL, mapSlice(alerts, tasktrack.ToAlertJSON), total, f.Page)
	return nil
}

func (s *Server) handleAcknowledge(w http.ResponseWriter, r *http.Request) error {
	a, err := s.Alerts.AcknowledgeAlert(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tasktrack.ToAlertJSON(a))
	return nil
}
