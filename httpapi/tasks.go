package httpapi

import (
	"net/http"
	"strings"

	"tasktrack"
)

// Tasks: the lists (with their CSV exports), create, read, update,
// delete, the status change and a task's history.

func (s *Server) taskFilter(r *http.Request) (tasktrack.TaskFilter, error) {
	q := query{r.URL.Query(), tasktrack.FieldErrors{}}
	f := tasktrack.TaskFilter{Page: q.page(), Search: q.text("search")}
	if v := q.Get("status"); v != "" {
		for _, part := range strings.Split(v, ",") {
			st := tasktrack.Status(strings.TrimSpace(part))
			if !st.Valid() {
				q.errs.Add("status", "Select a valid choice. "+string(st)+" is not one of the available choices.")
				continue
			}
			f.Statuses = append(f.Statuses, st)
		}
	}
	f.AssignedTo = q.integer("assigned_to")
	f.DeadlineBefore = q.time("deadline_before")
	f.DeadlineAfter = q.time("deadline_after")
	if v := q.Get("ordering"); v != "" {
		ok := false
		for _, o := range tasktrack.TaskOrderings {
			ok = ok || o == v
		}
		if !ok {
			q.errs.Add("ordering", "Select a valid choice. "+v+" is not one of the available choices: "+strings.Join(tasktrack.TaskOrderings, ", ")+".")
		}
		f.Ordering = v
	}
	return f, q.errs.Err()
}

func (s *Server) handleListTasks(w http.ResponseWriter, r *http.Request) error {
	return s.listTasks(w, r, false)
}

func (s *Server) handleListMissed(w http.ResponseWriter, r *http.Request) error {
	return s.listTasks(w, r, true)
}

// listTasks answers a task list, as JSON or CSV; missed lists missed tasks
// only.
func (s *Server) listTasks(w http.ResponseWriter, r *http.Request, missed bool) error {
	if csv, err := csvRequested(r); err != nil {
		return err
	} else if csv {
		if tasktrack.ActorClaimed(r.Context()) {
			// The export streams as it reads: only a user read afresh.
			return tasktrack.ErrActorChanged
		}
		return s.exportTasks(w, r, missed)
	}
	f, err := s.taskFilter(r)
	if err != nil {
		return err
	}
	f.MissedOnly = missed
	tasks, total, err := s.Tasks.FindTasks(r.Context(), f)
	if err != nil {
		return err
	}
	writeList(w, r, s.PublicURL, mapSlice(tasks, tasktrack.ToTaskJSON), total, f.Page)
	return nil
}

func (s *Server) handleCreateTask(w http.ResponseWriter, r *http.Request) error {
	f, err := decodeForm(r)
	if err != nil {
		return err
	}
	f.require("title", "deadline", "assigned_to")
	var in tasktrack.TaskCreate
	in.Title, _ = f.str("title")
	in.Description, _ = f.str("description")
	in.Deadline, _ = f.time("deadline")
	in.AssignedTo, _ = f.int("assigned_to")
	if err := f.err(); err != nil {
		return err
	}
	t, err := s.Tasks.CreateTask(r.Context(), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, tasktrack.ToTaskJSON(t))
	return nil
}

func (s *Server) handleGetTask(w http.ResponseWriter, r *http.Request) error {
	t, err := s.Tasks.FindTaskByID(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tasktrack.ToTaskJSON(t))
	return nil
}

func (s *Server) handleUpdateTask(w http.ResponseWriter, r *http.Request) error {
	f, err := decodeForm(r)
	if err != nil {
		return err
	}
	if r.Method == http.MethodPut {
		f.require("title", "deadline", "assigned_to")
	}
	var in tasktrack.TaskUpdate
	in.Title = f.strPtr("title")
	in.Description = f.strPtr("description")
	if t, ok := f.time("deadline"); ok {
		in.Deadline = &t
	}
	if id, ok := f.int("assigned_to"); ok {
		in.AssignedTo = &id
	}
	if st, ok := f.str("status"); ok {
		s := tasktrack.Status(st)
		in.Status = &s
	}
	if err := f.err(); err != nil {
		return err
	}
	t, err := s.Tasks.UpdateTask(r.Context(), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tasktrack.ToTaskJSON(t))
	return nil
}

func (s *Server) handleDeleteTask(w http.ResponseWriter, r *http.Request) error {
	if err := s.Tasks.DeleteTask(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleUpdateStatus(w http.ResponseWriter, r *http.Request) error {
	f, err := decodeForm(r)
	if err != nil {
		return err
	}
	f.require("status")
	st, _ := f.str("status")
	if err := f.err(); err != nil {
		// A task the caller may not see is absent, whatever the body.
		if _, ferr := s.Tasks.FindTaskByID(r.Context(), r.PathValue("id")); ferr != nil {
			return ferr
		}
		return err
	}
	t, err := s.Tasks.UpdateTaskStatus(r.Context(), r.PathValue("id"), tasktrack.Status(st))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tasktrack.ToTaskJSON(t))
	return nil
}

func (s *Server) handleTaskHistory(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	events, total, err := s.Audit.TaskHistory(r.Context(), r.PathValue("id"), p)
	if err != nil {
		return err
	}
	writeList(w, r, s.PublicURL, mapSlice(events, toTaskEventJSON), total, p)
	return nil
}
