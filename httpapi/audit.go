package httpapi

import (
	"net/http"

	"tasktrack"
)

// The audit log: the list, and its CSV export (in csv.go).

func auditFilter(r *http.Request) (tasktrack.AuditFilter, error) {
	q := query{r.URL.Query(), tasktrack.FieldErrors{}}
	f := tasktrack.AuditFilter{Page: q.page(), Action: q.text("action"), ActorID: q.integer("actor"), TargetID: q.text("target_id")}
	return f, q.errs.Err()
}

func (s *Server) handleListAudit(w http.ResponseWriter, r *http.Request) error {
	if csv, err := csvRequested(r); err != nil {
		return err
	} else if csv {
		return s.exportAudit(w, r)
	}
	f, err := auditFilter(r)
	if err != nil {
		return err
	}
	entries, total, err := s.Audit.FindAuditEntries(r.Context(), f)
	if err != nil {
		return err
	}
	writeList(w, r, s.PublicURL, mapSlice(entries, toAuditJSON), total, f.Page)
	return nil
}
