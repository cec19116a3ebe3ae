package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"

	"tasktrack"
)

// The people: the caller's own account, the roles, and the user
// endpoints of admins and managers.

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, tasktrack.ToUserJSON(tasktrack.ActorFromContext(r.Context())))
	return nil
}

func (s *Server) handleChangeOwnPassword(w http.ResponseWriter, r *http.Request) error {
	f, err := decodeForm(r)
	if err != nil {
		return err
	}
	f.require("old_password", "new_password")
	old, _ := f.str("old_password")
	nw, _ := f.str("new_password")
	if err := f.err(); err != nil {
		return err
	}
	if err := s.Auth.ChangePassword(r.Context(), old, nw, s.clientAddr(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleRoles(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	roles := tasktrack.Roles[min(p.Offset, len(tasktrack.Roles)):]
	writeList(w, r, s.PublicURL, roles[:min(p.Limit, len(roles))], len(tasktrack.Roles), p)
	return nil
}

func (s *Server) handleListUsers(w http.ResponseWriter, r *http.Request) error {
	q := query{r.URL.Query(), tasktrack.FieldErrors{}}
	f := tasktrack.UserFilter{Page: q.page(), Search: q.text("search"), IsActive: q.boolean("is_active")}
	if role := q.Get("role"); role != "" {
		if _, ok := tasktrack.RoleByName(role); !ok {
			q.errs.Add("role", "Select a valid choice. "+role+" is not one of the available choices.")
		}
		f.Role = role
	}
	if err := q.errs.Err(); err != nil {
		return err
	}
	users, total, err := s.Users.FindUsers(r.Context(), f)
	if err != nil {
		return err
	}
	writeList(w, r, s.PublicURL, mapSlice(users, tasktrack.ToUserJSON), total, f.Page)
	return nil
}

func (s *Server) handleCreateUser(w http.ResponseWriter, r *http.Request) error {
	f, err := decodeForm(r)
	if err != nil {
		return err
	}
	f.require("username", "password")
	var in tasktrack.UserCreate
	in.Username, _ = f.str("username")
	in.Password, _ = f.str("password")
	in.Email, _ = f.str("email")
	in.FirstName, _ = f.str("first_name")
	in.LastName, _ = f.str("last_name")
	in.Role = roleField(f)
	if err := f.err(); err != nil {
		return err
	}
	u, err := s.Users.CreateUser(r.Context(), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, tasktrack.ToUserJSON(u))
	return nil
}

// roleField reads "role" as a name, or as the {"id", "name"} object the
// user JSON shows, so that a client can send back what it read.
func roleField(f *form) string {
	raw, ok := f.m["role"]
	if !ok {
		return ""
	}
	if len(raw) > 0 && raw[0] == '{' {
		var obj struct {
			Name string `json:"name"`
		}
		if json.Unmarshal(raw, &obj) != nil || obj.Name == "" {
			f.errs.Add("role", "Enter a role name: admin, manager or user.")
		}
		return obj.Name
	}
	name, _ := f.str("role")
	return name
}

func pathUserID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, tasktrack.ErrNotFound
	}
	return id, nil
}

func (s *Server) handleGetUser(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUserID(r)
	if err != nil {
		return err
	}
	u, err := s.Users.FindUserByID(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tasktrack.ToUserJSON(u))
	return nil
}

func (s *Server) handleUpdateUser(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUserID(r)
	if err != nil {
		return err
	}
	f, err := decodeForm(r)
	if err != nil {
		return err
	}
	var in tasktrack.UserUpdate
	in.Email = f.strPtr("email")
	in.FirstName = f.strPtr("first_name")
	in.LastName = f.strPtr("last_name")
	in.Password = f.strPtr("password")
	if f.has("role") {
		role := roleField(f)
		in.Role = &role
	}
	if v, ok := f.bool("is_active"); ok {
		in.IsActive = &v
	}
	if err := f.err(); err != nil {
		return err
	}
	u, err := s.Users.UpdateUser(r.Context(), id, in)
	if err != nil {
		return err
	}
	s.usersChanged()
	writeJSON(w, http.StatusOK, tasktrack.ToUserJSON(u))
	return nil
}

func (s *Server) handleDeleteUser(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUserID(r)
	if err != nil {
		return err
	}
	if err := s.Users.DeleteUser(r.Context(), id); err != nil {
		return err
	}
	s.usersChanged()
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleReactivate(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUserID(r)
	if err != nil {
		return err
	}
	if _, err := s.Users.ReactivateUser(r.Context(), id); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "User reactivated"})
	return nil
}

func (s *Server) handleDeactivate(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUserID(r)
	if err != nil {
		return err
	}
	if _, err := s.Users.DeactivateUser(r.Context(), id); err != nil {
		return err
	}
	s.usersChanged()
	writeJSON(w, http.StatusOK, map[string]string{"status": "User deactivated"})
	return nil
}

func (s *Server) handleSetPassword(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUserID(r)
	if err != nil {
		return err
	}
	f, err := decodeForm(r)
	if err != nil {
		return err
	}
	f.require("password")
	pw, _ := f.str("password")
	if err := f.err(); err != nil {
		return err
	}
	if err := s.Users.SetUserPassword(r.Context(), id, pw); err != nil {
		return err
	}
	s.usersChanged()
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleUserStanding(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUserID(r)
	if err != nil {
		return err
	}
	st, err := s.Users.UserStanding(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toStandingJSON(st))
	return nil
}
