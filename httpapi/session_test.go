package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	. "tasktrack/sqlstore/sqlstoretest"
)

const accountInactiveBody = `{"code":"account_inactive","detail":"No active account found with the given credentials"}`

// The right password of a deactivated account says that the account is
// paused; a wrong one says nothing more than for any other account, and
// the login limits hold all the same.
func TestAuthInactiveAccountIsTold(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ev := newEnv(t, e)
		bob := ev.newUser("bob", "user")
		carol := ev.newUser("carol", "user")
		if r := ev.admin.Do("POST", "/api/user/users/"+itoa(bob.user.ID)+"/deactivate/", nil); r.Status != 200 {
			t.Fatalf("deactivate bob: %d %s", r.Status, r.Body)
		}
		if r := ev.admin.Do("PATCH", "/api/user/users/"+itoa(carol.user.ID)+"/", map[string]any{"is_active": false}); r.Status != 200 {
			t.Fatalf("deactivate carol: %d %s", r.Status, r.Body)
		}
		cases := []struct {
			name, username, password string
			body                     string
		}{
			{"deactivated, right password", "bob", userPassword("bob"), accountInactiveBody},
			{"deactivated by update, right password", "carol", userPassword("carol"), accountInactiveBody},
			{"deactivated, right password in another case", "BOB", userPassword("bob"), accountInactiveBody},
			{"deactivated, wrong password", "bob", "wrong-password", badCredentialsBody},
			{"deactivated, another's password", "bob", userPassword("carol"), badCredentialsBody},
			{"unknown user", "nobody", userPassword("bob"), badCredentialsBody},
		}
		for _, c := range cases {
			wantBody(t, c.name, tokenLogin(ev, c.username, c.password), 401, c.body)
		}

		// A right password is no failed guess: the paused person may try
		// as often as they like and keeps hearing why.
		for i := range loginLimits.UserAddr.N + 1 {
			wantBody(t, "right password, try "+strconv.Itoa(i+1), tokenLogin(ev, "carol", userPassword("carol")), 401, accountInactiveBody)
		}
		// Wrong passwords count as for anyone, and once limited the right
		// one is refused with 429 before it is checked.
		for i := range loginLimits.UserAddr.N {
			wantBody(t, "wrong password "+strconv.Itoa(i+1), tokenLogin(ev, "carol", "wrong-"+strconv.Itoa(i)), 401, badCredentialsBody)
		}
		wantBody(t, "right password once limited", tokenLogin(ev, "carol", userPassword("carol")), 429, loginLimitedBody)

		// Reactivated, bob signs in as before.
		if r := ev.admin.Do("POST", "/api/user/users/"+itoa(bob.user.ID)+"/reactivate/", nil); r.Status != 200 {
			t.Fatalf("reactivate bob: %d %s", r.Status, r.Body)
		}
		tokenPair(t, tokenLogin(ev, "bob", userPassword("bob")))
	})
}

const crossSiteBody = `{"detail":"Cross-site request refused."}`

// setCookie returns the refresh cookie a response sets, or nil.
func setCookie(t *testing.T, r *response) *http.Cookie {
	t.Helper()
	var found *http.Cookie
	for _, line := range r.Header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			t.Fatalf("Set-Cookie %q: %v", line, err)
		}
		if c.Name == "tasktrack_refresh" {
			if found != nil {
				t.Fatalf("two refresh cookies set: %q", r.Header.Values("Set-Cookie"))
			}
			found = c
		}
	}
	return found
}

// wantCookie checks that r sets the refresh cookie with the attributes
// the web UI relies on, and returns its value ("" when r clears it).
func wantCookie(t *testing.T, what string, r *response, secure, cleared bool) string {
	t.Helper()
	c := setCookie(t, r)
	if c == nil {
		t.Fatalf("%s: no refresh cookie set; Set-Cookie %q", what, r.Header.Values("Set-Cookie"))
	}
	if c.Path != "/api/token/" || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure != secure || c.Domain != "" {
		t.Errorf("%s: cookie %q: want Path=/api/token/, HttpOnly, SameSite=Strict, Secure=%v, no Domain", what, c.String(), secure)
	}
	switch {
	case cleared && (c.MaxAge >= 0 || c.Value != ""):
		t.Errorf("%s: cookie %q does not clear it", what, c.String())
	case !cleared && (c.MaxAge != 24*60*60 || strings.Count(c.Value, ".") != 2):
		t.Errorf("%s: cookie %q: want a JWT that lives as long as a refresh token (86400 s)", what, c.String())
	}
	return c.Value
}

// wantAccessOnly checks a 200 whose body is exactly {"access"}: the
// refresh token went into the cookie, never into the page's reach.
func wantAccessOnly(t *testing.T, what string, r *response) string {
	t.Helper()
	if r.Status != 200 {
		t.Fatalf("%s: %d %s, want 200", what, r.Status, r.Body)
	}
	m := r.Object(t)
	access, _ := m["access"].(string)
	if len(m) != 1 || strings.Count(access, ".") != 2 {
		t.Fatalf("%s: body %s, want exactly {\"access\"}", what, r.Body)
	}
	return access
}

// browser is how the web UI calls the token endpoints: same origin, the
// cookie, and no refresh token in the body.
func browser(ev *env, cookie string, extra ...string) []string {
	host := strings.TrimPrefix(ev.srv.URL, "http://")
	h := []string{"Origin", "http://" + host, "Sec-Fetch-Site", "same-origin"}
	if cookie != "" {
		h = append(h, "Cookie", "tasktrack_refresh="+cookie)
	}
	return append(h, extra...)
}

func cookieLogin(ev *env, username, password string, headers ...string) *response {
	ev.t.Helper()
	return ev.anon().Do("POST", "/api/token/", map[string]string{"username": username, "password": password},
		append(browser(ev, "", "X-Refresh-Cookie", "1"), headers...)...)
}

// The web UI's session: the refresh token lives in an HttpOnly cookie that
// refresh and logout read when the body has none; it rotates, its reuse
// revokes the family, and logout clears it.
func TestAuthRefreshCookie(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ev := newEnv(t, e)
		ev.newUser("alice", "user")

		r := cookieLogin(ev, "alice", userPassword("alice"))
		access := wantAccessOnly(t, "login", r)
		c1 := wantCookie(t, "login", r, false, false)
		if r := bearer(ev, access).Do("GET", "/api/user/me/", nil); r.Status != 200 || r.Object(t)["username"] != "alice" {
			t.Fatalf("me with the access token: %d %s", r.Status, r.Body)
		}

		// Refresh with the cookie alone: an empty body, or {}.
		r = ev.anon().Do("POST", "/api/token/refresh/", nil, browser(ev, c1)...)
		access = wantAccessOnly(t, "refresh", r)
		c2 := wantCookie(t, "refresh", r, false, false)
		if c2 == c1 {
			t.Fatal("the cookie's token was not rotated")
		}
		if r := bearer(ev, access).Do("GET", "/api/user/me/", nil); r.Status != 200 {
			t.Fatalf("me with the refreshed access token: %d %s", r.Status, r.Body)
		}
		r = ev.anon().Do("POST", "/api/token/refresh/", map[string]any{}, browser(ev, c2)...)
		wantAccessOnly(t, "refresh with {}", r)
		c3 := wantCookie(t, "refresh with {}", r, false, false)

		// The spent c1 again is reuse: refused, the browser told to forget
		// it, and the whole family revoked.
		r = ev.anon().Do("POST", "/api/token/refresh/", nil, browser(ev, c1)...)
		wantBody(t, "reused cookie", r, 401, tokenNotValidBody)
		wantCookie(t, "reused cookie", r, false, true)
		wantBody(t, "newest cookie after reuse", ev.anon().Do("POST", "/api/token/refresh/", nil, browser(ev, c3)...), 401, tokenNotValidBody)

		// Logout with the cookie revokes the family and clears the cookie.
		l1 := wantCookie(t, "second login", cookieLogin(ev, "alice", userPassword("alice")), false, false)
		r = ev.anon().Do("POST", "/api/token/refresh/", nil, browser(ev, l1)...)
		l2 := wantCookie(t, "refresh before logout", r, false, false)
		r = ev.anon().Do("POST", "/api/token/logout/", nil, browser(ev, l2)...)
		if r.Status != 204 || len(r.Body) != 0 {
			t.Fatalf("logout: %d %s", r.Status, r.Body)
		}
		wantCookie(t, "logout", r, false, true)
		wantBody(t, "refresh after logout", ev.anon().Do("POST", "/api/token/refresh/", nil, browser(ev, l2)...), 401, tokenNotValidBody)
		wantBody(t, "ancestor after logout", ev.anon().Do("POST", "/api/token/refresh/", nil, browser(ev, l1)...), 401, tokenNotValidBody)
		// Logging out with a cookie that is no token still clears it.
		r = ev.anon().Do("POST", "/api/token/logout/", nil, browser(ev, "not.a.token")...)
		wantBody(t, "logout with a bad cookie", r, 401, tokenNotValidBody)
		wantCookie(t, "logout with a bad cookie", r, false, true)

		// API clients are untouched: the pair in the body, no cookie; a
		// refresh token in the body wins over a cookie.
		r = tokenLogin(ev, "alice", userPassword("alice"))
		_, body1 := tokenPair(t, r)
		if c := setCookie(t, r); c != nil {
			t.Fatalf("a login without X-Refresh-Cookie set %q", c.String())
		}
		l3 := wantCookie(t, "third login", cookieLogin(ev, "alice", userPassword("alice")), false, false)
		r = ev.anon().Do("POST", "/api/token/refresh/", map[string]string{"refresh": body1}, browser(ev, l3)...)
		tokenPair(t, r)
		if c := setCookie(t, r); c != nil {
			t.Fatalf("a refresh with a body token set %q", c.String())
		}
		wantAccessOnly(t, "the cookie beside it is unspent", ev.anon().Do("POST", "/api/token/refresh/", nil, browser(ev, l3)...))

		// Neither cookie nor body: the field is required, as before.
		wantBody(t, "no token at all", ev.anon().Do("POST", "/api/token/refresh/", nil, browser(ev, "")...), 400, `{"refresh":["This field is required."]}`)
		wantBody(t, "logout without a token", ev.anon().Do("POST", "/api/token/logout/", nil, browser(ev, "")...), 400, `{"refresh":["This field is required."]}`)
	})
}

// The cookie is Secure when the browser came over HTTPS: directly, or
// through a trusted proxy that says so; an untrusted peer cannot claim it.
func TestAuthRefreshCookieSecure(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ev := newEnv(t, e)
		ev.newUser("alice", "user")
		tls := httptest.NewTLSServer(ev.api.Handler())
		t.Cleanup(tls.Close)
		body := strings.NewReader(`{"username":"alice","password":"` + userPassword("alice") + `"}`)
		req, err := http.NewRequest("POST", tls.URL+"/api/token/", body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Refresh-Cookie", "1")
		req.Header.Set("Origin", tls.URL)
		res, err := tls.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		wantCookie(t, "over TLS", &response{Status: res.StatusCode, Header: res.Header}, true, false)

		forwarded := []string{"X-Forwarded-Proto", "https"}
		wantCookie(t, "X-Forwarded-Proto from an untrusted peer", cookieLogin(ev, "alice", userPassword("alice"), forwarded...), false, false)
		ev.api.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
		wantCookie(t, "X-Forwarded-Proto from a trusted proxy", cookieLogin(ev, "alice", userPassword("alice"), forwarded...), true, false)
	})
}

// A page of another site cannot use the cookie: SameSite=Strict keeps
// browsers from sending it, and a request that carries it all the same
// (an older browser) is refused when Origin or Sec-Fetch-Site says it
// comes from elsewhere, before anything is spent.
func TestAuthRefreshCookieCrossSite(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ev := newEnv(t, e)
		ev.newUser("alice", "user")
		cookie := wantCookie(t, "login", cookieLogin(ev, "alice", userPassword("alice")), false, false)
		host := strings.TrimPrefix(ev.srv.URL, "http://")
		evil := func(extra ...string) []string {
			return append([]string{"Cookie", "tasktrack_refresh=" + cookie}, extra...)
		}
		cases := []struct {
			name    string
			body    any
			headers []string
			status  int
			want    string
		}{
			{"a cross-site form post", "refresh=x", evil("Content-Type", "application/x-www-form-urlencoded",
				"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"), 403, crossSiteBody},
			{"a cross-site form post from an old browser", "refresh=x", evil("Content-Type", "application/x-www-form-urlencoded",
				"Origin", "https://evil.example"), 403, crossSiteBody},
			{"a cross-site text/plain post", `{"a":"`, evil("Content-Type", "text/plain", "Sec-Fetch-Site", "cross-site"), 403, crossSiteBody},
			{"a cross-site fetch", nil, evil("Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"), 403, crossSiteBody},
			{"a sibling site", nil, evil("Origin", "https://other.example", "Sec-Fetch-Site", "same-site"), 403, crossSiteBody},
			{"another port of this host", nil, evil("Origin", "http://127.0.0.1:1"), 403, crossSiteBody},
			{"an opaque origin", nil, evil("Origin", "null"), 403, crossSiteBody},
			{"Sec-Fetch-Site none", nil, evil("Sec-Fetch-Site", "none"), 403, crossSiteBody},
			{"a body token with a cross-site cookie", map[string]string{"refresh": "x"}, evil("Origin", "https://evil.example"), 403, crossSiteBody},
			{"a cross-site form post without the cookie (SameSite)", "refresh=x", []string{"Content-Type", "application/x-www-form-urlencoded",
				"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}, 415, `{"detail":"Unsupported media type \"application/x-www-form-urlencoded\" in request."}`},
		}
		for _, path := range []string{"/api/token/refresh/", "/api/token/logout/"} {
			for _, c := range cases {
				r := ev.anon().Do("POST", path, c.body, c.headers...)
				wantBody(t, path+": "+c.name, r, c.status, c.want)
				if sc := setCookie(t, r); sc != nil {
					t.Errorf("%s: %s set %q", path, c.name, sc.String())
				}
			}
		}
		// A cookie-issuing login from another site is refused too (no
		// signing a victim's browser into the attacker's account).
		r := ev.anon().Do("POST", "/api/token/", map[string]string{"username": "alice", "password": userPassword("alice")},
			"X-Refresh-Cookie", "1", "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
		wantBody(t, "cross-site cookie login", r, 403, crossSiteBody)

		// None of that spent or revoked the cookie: the page itself, and a
		// browser that sends neither header, still refresh with it.
		r = ev.anon().Do("POST", "/api/token/refresh/", nil, "Origin", "http://"+host, "Cookie", "tasktrack_refresh="+cookie)
		wantAccessOnly(t, "same origin", r)
		next := wantCookie(t, "same origin", r, false, false)
		wantAccessOnly(t, "no Origin, no Sec-Fetch-Site", ev.anon().Do("POST", "/api/token/refresh/", nil, "Cookie", "tasktrack_refresh="+next))
	})
}
