package httpapi

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"time"

	"tasktrack"
	"tasktrack/auth"
)

// Personal access tokens: the endpoints that manage them, and how a
// request that carries one is authenticated and held to its scopes.

// authenticate checks a bearer token, a JWT or a personal access token,
// and returns its user and, for a personal access token, the token.
func (s *Server) authenticate(r *http.Request, token string) (*tasktrack.User, *tasktrack.PersonalToken, error) {
	if auth.IsPersonalToken(token) {
		return s.TokenAuth.Authenticate(r.Context(), token, s.clientAddr(r))
	}
	u, err := s.Auth.Authenticate(r.Context(), token)
	return u, nil, err
}

// requiredScope is the scope a token needs for rt: the one it declares
// (calendar for the calendar endpoints), read for any other GET or HEAD,
// write for the rest.
func requiredScope(r *http.Request, rt route) tasktrack.Scope {
	switch {
	case rt.scope != "":
		return rt.scope
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		return tasktrack.ScopeRead
	}
	return tasktrack.ScopeWrite
}

// checkToken holds a personal access token to what the route allows it.
func checkToken(t *tasktrack.PersonalToken, r *http.Request, rt route) error {
	if rt.session {
		return tasktrack.RequireSession(t)
	}
	if need := requiredScope(r, rt); !t.Has(need) {
		return &tasktrack.Error{Kind: tasktrack.KindForbidden, Code: "insufficient_scope",
			Message: `This token does not have the "` + string(need) + `" scope.`}
	}
	return nil
}

// credentialLife is how long the request's credential has left to live:
// a JWT until its expiry, a personal access token until its own, if any.
func (s *Server) credentialLife(ctx context.Context, token string) (time.Duration, error) {
	if t := tasktrack.TokenFromContext(ctx); t != nil {
		if t.ExpiresAt == nil {
			return math.MaxInt64, nil
		}
		return t.ExpiresAt.Sub(s.TokenAuth.Now()), nil
	}
	c, err := s.Auth.Tokens.Verify(token, auth.TypeAccess)
	if err != nil {
		return 0, err
	}
	return c.ExpiresAt.Sub(s.Auth.Tokens.Now()), nil
}

// refuseTokenSession answers tasktrack.ErrSessionRequired when a personal access token
// comes to an endpoint of login sessions (refresh, logout), in the
// Authorization header or in place of the refresh token.
func refuseTokenSession(r *http.Request, refresh string) error {
	if t, ok := bearerToken(r); (ok && auth.IsPersonalToken(t)) || auth.IsPersonalToken(refresh) {
		return tasktrack.ErrSessionRequired
	}
	return nil
}

type tokenJSON struct {
	ID         string              `json:"id"`
	Name       string              `json:"name"`
	Scopes     []tasktrack.Scope   `json:"scopes"`
	CreatedAt  tasktrack.JSONTime  `json:"created_at"`
	ExpiresAt  *tasktrack.JSONTime `json:"expires_at"`
	LastUsedAt *tasktrack.JSONTime `json:"last_used_at"`
}

func toTokenJSON(t *tasktrack.PersonalToken) tokenJSON {
	return tokenJSON{ID: t.ID, Name: t.Name, Scopes: t.Scopes, CreatedAt: tasktrack.JSONTime(t.CreatedAt),
		ExpiresAt: tasktrack.OptJSONTime(t.ExpiresAt), LastUsedAt: tasktrack.OptJSONTime(t.LastUsedAt)}
}

// newTokenJSON is a token as its creation answers it: with the secret,
// shown this once.
type newTokenJSON struct {
	tokenJSON
	Token string `json:"token"`
}

// strList reads a list of strings.
func (f *form) strList(name string) []string {
	raw, ok := f.m[name]
	if !ok {
		return nil
	}
	var items []json.RawMessage
	if string(raw) == "null" || json.Unmarshal(raw, &items) != nil {
		f.errs.Add(name, `Expected a list of items but got type "`+jsonTypeName(raw)+`".`)
		return nil
	}
	out := make([]string, 0, len(items))
	for _, item := range items {
		var v string
		if json.Unmarshal(item, &v) != nil {
			f.errs.Add(name, "Not a valid string.")
			return nil
		}
		out = append(out, v)
	}
	return out
}

func (s *Server) handleCreateToken(w http.ResponseWriter, r *http.Request) error {
	f, err := decodeForm(r)
	if err != nil {
		return err
	}
	f.require("name", "scopes")
	var in tasktrack.PersonalTokenCreate
	in.Name, _ = f.str("name")
	in.Scopes = f.strList("scopes")
	if raw, ok := f.m["expires_at"]; ok && string(raw) != "null" {
		exp, _ := f.time("expires_at")
		in.ExpiresAt = &exp
	}
	if err := f.err(); err != nil {
		return err
	}
	token, hash := auth.NewPersonalToken()
	t, err := s.PersonalTokens.CreatePersonalToken(r.Context(), in, hash)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, newTokenJSON{toTokenJSON(t), token})
	return nil
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request, userID int64) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	tokens, total, err := s.PersonalTokens.FindPersonalTokens(r.Context(), userID, p)
	if err != nil {
		return err
	}
	writeList(w, r, s.PublicURL, mapSlice(tokens, toTokenJSON), total, p)
	return nil
}

func (s *Server) handleListOwnTokens(w http.ResponseWriter, r *http.Request) error {
	return s.listTokens(w, r, tasktrack.ActorFromContext(r.Context()).ID)
}

func (s *Server) handleRevokeOwnToken(w http.ResponseWriter, r *http.Request) error {
	if err := s.PersonalTokens.RevokePersonalToken(r.Context(), tasktrack.ActorFromContext(r.Context()).ID, r.PathValue("id")); err != nil {
		return err
	}
	s.usersChanged()
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleListUserTokens(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUserID(r)
	if err != nil {
		return err
	}
	return s.listTokens(w, r, id)
}

func (s *Server) handleRevokeUserToken(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUserID(r)
	if err != nil {
		return err
	}
	if err := s.PersonalTokens.RevokePersonalToken(r.Context(), id, r.PathValue("token_id")); err != nil {
		return err
	}
	s.usersChanged()
	w.WriteHeader(http.StatusNoContent)
	return nil
}
