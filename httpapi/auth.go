package httpapi

import (
	"net/http"

	"tasktrack"
	"tasktrack/auth"
)

// Signing in and out: login, refresh and logout, each answering a token
// pair in the body or, for the web UI, the refresh token in a cookie.

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) error {
	cookie := r.Header.Get(refreshCookieHeader) == "1"
	if cookie && s.crossSite(r) {
		return errCrossSite
	}
	f, err := decodeForm(r)
	if err != nil {
		return err
	}
	f.require("username", "password")
	username, _ := f.str("username")
	password, _ := f.str("password")
	if err := f.err(); err != nil {
		return err
	}
	pair, err := s.Auth.Login(r.Context(), username, password, s.clientAddr(r))
	if err != nil {
		return err
	}
	s.writePair(w, r, pair, cookie)
	return nil
}

// writePair answers a login or refresh: the pair in the body, or, for the
// web UI, the access token in the body and the refresh token in the cookie
// (so that no script of the page ever holds it).
func (s *Server) writePair(w http.ResponseWriter, r *http.Request, pair auth.TokenPair, cookie bool) {
	if !cookie {
		writeJSON(w, http.StatusOK, pair)
		return
	}
	s.setRefreshCookie(w, r, pair.Refresh)
	writeJSON(w, http.StatusOK, map[string]string{"access": pair.Access})
}

func (s *Server) handleRefresh(w http.ResponseWriter, r *http.Request) error {
	token, fromCookie, err := s.refreshToken(r)
	if err != nil {
		return err
	}
	pair, err := s.Auth.Refresh(r.Context(), token)
	if err != nil {
		if fromCookie && tasktrack.ErrorKind(err) == tasktrack.KindUnauthenticated {
			s.clearRefreshCookie(w, r) // dead for good: reused, revoked or expired
		}
		return err
	}
	s.writePair(w, r, pair, fromCookie)
	return nil
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) error {
	token, fromCookie, err := s.refreshToken(r)
	if err != nil {
		return err
	}
	if fromCookie {
		s.clearRefreshCookie(w, r) // whatever becomes of the token, the browser is signed out
	}
	if err := s.Auth.Logout(r.Context(), token); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
