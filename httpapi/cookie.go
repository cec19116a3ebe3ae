package httpapi

import (
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"tasktrack"
)

// The web UI keeps its refresh token in a cookie that its scripts cannot
// read (HttpOnly), that the browser sends only to the token endpoints
// (Path) and only on requests made by pages of this site (SameSite=Strict),
// so every tab of the browser shares one session and a script injected
// into the page cannot carry the token away. API clients keep sending the
// token in the body, as they always have. ARCHITECTURE.md argues why a
// cross-site page cannot use the cookie.
const (
	refreshCookieName = "tasktrack_refresh"
	refreshCookiePath = "/api/token/"
	// refreshCookieHeader, set to "1" on a login, asks for the refresh
	// token in the cookie instead of the body. A page of another site
	// cannot send it without the server's CORS consent.
	refreshCookieHeader = "X-Refresh-Cookie"
)

// errCrossSite refuses a request that would use the session cookie from a
// page of another site.
var errCrossSite = &tasktrack.Error{Kind: tasktrack.KindForbidden, Message: "Cross-site request refused."}

// crossSite reports whether a browser says that r was made by a page of
// another origin: Sec-Fetch-Site other than same-origin, or an Origin
// whose host is not this server's. Requests that carry neither header
// (older browsers, programs) are judged by SameSite alone.
func (s *Server) crossSite(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return true
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" { // "null" from a sandboxed frame or a redirect
		return true
	}
	if strings.EqualFold(u.Host, r.Host) {
		return false
	}
	// Behind a proxy that rewrites Host, the proxy names the host asked for.
	fwd := r.Header.Get("X-Forwarded-Host")
	return fwd == "" || !s.fromTrustedProxy(r) || !strings.EqualFold(u.Host, fwd)
}

// fromTrustedProxy reports whether r's peer is one of TrustedProxies.
func (s *Server) fromTrustedProxy(r *http.Request) bool {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	return err == nil && s.trusted(peer.Addr().Unmap())
}

// overHTTPS reports whether the browser reached us over HTTPS: directly,
// or through a trusted proxy that says so.
func (s *Server) overHTTPS(r *http.Request) bool {
	return r.TLS != nil || (s.fromTrustedProxy(r) && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https"))
}

func (s *Server) refreshCookie(r *http.Request, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name: refreshCookieName, Value: value, Path: refreshCookiePath, MaxAge: maxAge,
		HttpOnly: true, Secure: s.overHTTPS(r), SameSite: http.SameSiteStrictMode,
	}
}

// setRefreshCookie puts a refresh token in the cookie for as long as the
// token lives.
func (s *Server) setRefreshCookie(w http.ResponseWriter, r *http.Request, token string) {
	http.SetCookie(w, s.refreshCookie(r, token, int(s.Auth.Tokens.RefreshTTL.Seconds())))
}

// clearRefreshCookie tells the browser to forget the cookie.
func (s *Server) clearRefreshCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, s.refreshCookie(r, "", -1))
}

// refreshToken reads the refresh token of a refresh or logout: from the
// body when it has "refresh" (API clients), else from the cookie (the web
// UI). A request that carries the cookie from another site is refused
// whatever its body, before the body is read.
func (s *Server) refreshToken(r *http.Request) (token string, fromCookie bool, err error) {
	c, cerr := r.Cookie(refreshCookieName)
	hasCookie := cerr == nil && c.Value != ""
	if hasCookie && s.crossSite(r) {
		return "", false, errCrossSite
	}
	f, err := decodeForm(r)
	if err != nil {
		return "", false, err
	}
	if !f.has("refresh") && hasCookie {
		return c.Value, true, refuseTokenSession(r, "")
	}
	f.require("refresh")
	token, _ = f.str("refresh")
	if err := refuseTokenSession(r, token); err != nil {
		return "", false, err
	}
	return token, false, f.err()
}
