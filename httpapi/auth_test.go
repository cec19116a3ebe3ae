package httpapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"tasktrack"
	"tasktrack/auth"
	"tasktrack/sqlstore"
	. "tasktrack/sqlstore/sqlstoretest"
)

const (
	badCredentialsBody = `{"detail":"No active account found with the given credentials"}`
	tokenNotValidBody  = `{"code":"token_not_valid","detail":"Given token not valid for any token type"}`
	loginLimitedBody   = `{"detail":"Too many failed login attempts. Try again later."}`
)

// tokenLogin posts a username and password to the login endpoint.
func tokenLogin(ev *env, username, password string) *response {
	ev.t.Helper()
	return ev.anon().Do("POST", "/api/token/", map[string]string{"username": username, "password": password})
}

// tokenRefresh posts a refresh token to the refresh endpoint.
func tokenRefresh(ev *env, refresh string) *response {
	ev.t.Helper()
	return ev.anon().Do("POST", "/api/token/refresh/", map[string]string{"refresh": refresh})
}

// tokenPair decodes a 200 answer of login or refresh, which must be exactly
// {"access","refresh"}.
func tokenPair(t *testing.T, r *response) (access, refresh string) {
	t.Helper()
	if r.Status != 200 {
		t.Fatalf("want 200 {access, refresh}, got %d %s", r.Status, r.Body)
	}
	m := r.Object(t)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if !slices.Equal(keys, []string{"access", "refresh"}) {
		t.Fatalf("token pair keys %v, want [access refresh]: %s", keys, r.Body)
	}
	access, _ = m["access"].(string)
	refresh, _ = m["refresh"].(string)
	if strings.Count(access, ".") != 2 || strings.Count(refresh, ".") != 2 || access == refresh {
		t.Fatalf("not two JWTs: %s", r.Body)
	}
	return access, refresh
}

// bearer is a client that sends the given access token.
func bearer(ev *env, access string) *client { return ev.as(access, "", nil) }

// wantBody checks a status, the exact JSON body and, for 401, the
// WWW-Authenticate header.
func wantBody(t *testing.T, what string, r *response, status int, body string) {
	t.Helper()
	if r.Status != status || strings.TrimSpace(string(r.Body)) != body {
		t.Fatalf("%s: got %d %s, want %d %s", what, r.Status, strings.TrimSpace(string(r.Body)), status, body)
	}
	if status == 401 && r.Header.Get("WWW-Authenticate") != `Bearer realm="api"` {
		t.Fatalf("%s: 401 with WWW-Authenticate %q", what, r.Header.Get("WWW-Authenticate"))
	}
}

// jwtPart decodes part i (0 header, 1 claims) of a JWT.
func jwtPart(t *testing.T, token string, i int) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[i])
	if err != nil {
		t.Fatalf("token part %d: %v", i, err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("token part %d: %v", i, err)
	}
	return m
}

func TestAuthLoginSuccess(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ev := newEnv(t, e)
		access, refresh := tokenPair(t, tokenLogin(ev, "admin", adminPassword))
		for _, c := range []struct {
			token, typ string
			ttl        time.Duration
		}{{access, "access", 5 * time.Minute}, {refresh, "refresh", 24 * time.Hour}} {
			if h := jwtPart(t, c.token, 0); h["alg"] != "HS256" {
				t.Errorf("%s header %v", c.typ, h)
			}
			claims := jwtPart(t, c.token, 1)
			jti, _ := claims["jti"].(string)
			if claims["token_type"] != c.typ || claims["user_id"] != float64(ev.admin.user.ID) || jti == "" || claims["user_key"] != ev.admin.user.TokenKey ||
				claims["iat"] != float64(t0.Unix()) || claims["exp"] != float64(t0.Add(c.ttl).Unix()) {
				t.Errorf("%s claims %v", c.typ, claims)
			}
		}
		r := bearer(ev, access).Do("GET", "/api/user/me/", nil)
		if r.Status != 200 || r.Object(t)["username"] != "admin" {
			t.Fatalf("me with the new access token: %d %s", r.Status, r.Body)
		}
		// Each login is its own pair.
		again, againRefresh := tokenPair(t, tokenLogin(ev, "admin", adminPassword))
		if again == access || againRefresh == refresh {
			t.Fatal("two logins gave the same token")
		}
	})
}

// A username is found by its PRECIS UsernameCaseMapped form, so every case
// and width variant signs in to the one account it names, and failures
// under any variant count towards that name's limit; a look-alike in
// another script names no one.
func TestAuthLoginByUsernameVariants(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ev := newEnv(t, e)
		for _, name := range []string{"ADMIN", "Admin", "ａｄｍｉｎ", "ＡＤＭＩＮ"} {
			access, _ := tokenPair(t, tokenLogin(ev, name, adminPassword))
			if id := jwtPart(t, access, 1)["user_id"]; id != float64(ev.admin.user.ID) {
				t.Errorf("%s signed in as user %v, want the admin %d", name, id, ev.admin.user.ID)
			}
		}
		wantBody(t, "admin with a Cyrillic a", tokenLogin(ev, "аdmin", adminPassword), 401, badCredentialsBody)
		// The harness allows one address loginLimits.UserAddr.N failures
		// per username; the variants spend that one allowance together.
		variants := []string{"admin", "ａｄｍｉｎ", "ＡＤＭＩＮ", "Ａｄｍｉｎ"}
		for i := range loginLimits.UserAddr.N {
			name := variants[i%len(variants)]
			wantBody(t, "wrong password "+strconv.Itoa(i+1)+" as "+name, tokenLogin(ev, name, "wrong-"+strconv.Itoa(i)), 401, badCredentialsBody)
		}
		wantBody(t, "another variant once the name is limited", tokenLogin(ev, "Ａｄｍｉｎ", "wrong-again"), 429, loginLimitedBody)
		wantBody(t, "right password once the name is limited", tokenLogin(ev, "admin", adminPassword), 429, loginLimitedBody)
	})
}

// Unknown user, wrong password and a wrong password for an inactive user
// are told apart by nothing (the right one is: TestAuthInactiveAccountIsTold).
func TestAuthLoginFailuresLookAlike(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ev := newEnv(t, e)
		ev.newUser("alice", "user")
		bob := ev.newUser("bob", "user")
		if r := ev.admin.Do("POST", "/api/user/users/"+itoa(bob.user.ID)+"/deactivate/", nil); r.Status != 200 {
			t.Fatalf("deactivate bob: %d %s", r.Status, r.Body)
		}
		cases := []struct{ name, username, password string }{
			{"unknown user", "nobody", userPassword("alice")},
			{"unknown user, empty-ish name", "x", "whatever-pass"},
			{"wrong password", "alice", userPassword("alice") + "x"},
			{"wrong password, admin", "admin", "not-the-admin-pass"},
			{"another user's password", "alice", userPassword("bob")},
			{"inactive user, wrong password", "bob", "wrong-password"},
		}
		for _, c := range cases {
			r := tokenLogin(ev, c.username, c.password)
			wantBody(t, c.name, r, 401, badCredentialsBody)
			if ct := r.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("%s: Content-Type %q", c.name, ct)
			}
		}
		// The right password still works after all that.
		tokenPair(t, tokenLogin(ev, "alice", userPassword("alice")))
	})
}

func TestAuthRefreshRotationAndReuse(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ev := newEnv(t, e)
		alice := ev.newUser("alice", "user")
		r1 := alice.Refresh
		a2, r2 := tokenPair(t, tokenRefresh(ev, r1))
		if r2 == r1 {
			t.Fatal("the refresh token was not rotated")
		}
		if r := bearer(ev, a2).Do("GET", "/api/user/me/", nil); r.Status != 200 || r.Object(t)["username"] != "alice" {
			t.Fatalf("me with the refreshed access token: %d %s", r.Status, r.Body)
		}
		_, r3 := tokenPair(t, tokenRefresh(ev, r2))
		if r3 == r2 || r3 == r1 {
			t.Fatal("the refresh token was not rotated the second time")
		}
		// Another login of alice is another family.
		other := ev.login("alice", userPassword("alice"))

		// r1 was spent: presenting it again is reuse.
		wantBody(t, "reused r1", tokenRefresh(ev, r1), 401, tokenNotValidBody)
		// The whole family is revoked, its newest token included.
		wantBody(t, "r3 after reuse", tokenRefresh(ev, r3), 401, tokenNotValidBody)
		wantBody(t, "r2 after reuse", tokenRefresh(ev, r2), 401, tokenNotValidBody)
		wantBody(t, "r3 again", tokenRefresh(ev, r3), 401, tokenNotValidBody)
		// The other family is untouched.
		_, o2 := tokenPair(t, tokenRefresh(ev, other.Refresh))
		tokenPair(t, tokenRefresh(ev, o2))
	})
}

// Reusing the newest token (rather than an ancestor) is also reuse.
func TestAuthRefreshReuseOfNewest(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ev := newEnv(t, e)
		alice := ev.newUser("alice", "user")
		_, r2 := tokenPair(t, tokenRefresh(ev, alice.Refresh))
		_, r3 := tokenPair(t, tokenRefresh(ev, r2))
		wantBody(t, "r2 again", tokenRefresh(ev, r2), 401, tokenNotValidBody)
		wantBody(t, "r3 after r2's reuse", tokenRefresh(ev, r3), 401, tokenNotValidBody)
	})
}

// A refresh token is not an access token, and the reverse.
func TestAuthTokenTypesDoNotMix(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ev := newEnv(t, e)
		alice := ev.newUser("alice", "user")
		wantBody(t, "refresh with an access token", tokenRefresh(ev, alice.Access), 401, tokenNotValidBody)
		wantBody(t, "access with a refresh token", bearer(ev, alice.Refresh).Do("GET", "/api/user/me/", nil), 401, tokenNotValidBody)
		wantBody(t, "task list with a refresh token", bearer(ev, alice.Refresh).Do("GET", "/api/task/tasks/", nil), 401, tokenNotValidBody)
		wantBody(t, "logout with an access token", ev.anon().Do("POST", "/api/token/logout/", map[string]string{"refresh": alice.Access}), 401, tokenNotValidBody)
		// Neither attempt spent or revoked anything.
		if r := alice.Do("GET", "/api/user/me/", nil); r.Status != 200 {
			t.Fatalf("access token after the attempts: %d %s", r.Status, r.Body)
		}
		tokenPair(t, tokenRefresh(ev, alice.Refresh))
	})
}

func TestAuthLogout(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ev := newEnv(t, e)
		alice := ev.newUser("alice", "user")
		logout := func(refresh string) *response {
			return ev.anon().Do("POST", "/api/token/logout/", map[string]string{"refresh": refresh})
		}

		// Logging out with the newest token of a family.
		_, r2 := tokenPair(t, tokenRefresh(ev, alice.Refresh))
		_, r3 := tokenPair(t, tokenRefresh(ev, r2))
		if r := logout(r3); r.Status != 204 || len(r.Body) != 0 {
			t.Fatalf("logout: %d %q", r.Status, r.Body)
		}
		wantBody(t, "refresh after logout", tokenRefresh(ev, r3), 401, tokenNotValidBody)
		wantBody(t, "ancestor after logout", tokenRefresh(ev, alice.Refresh), 401, tokenNotValidBody)

		// Logging out with a spent ancestor revokes its descendants.
		second := ev.login("alice", userPassword("alice"))
		_, s2 := tokenPair(t, tokenRefresh(ev, second.Refresh))
		_, s3 := tokenPair(t, tokenRefresh(ev, s2))
		if r := logout(second.Refresh); r.Status != 204 {
			t.Fatalf("logout with an ancestor: %d %s", r.Status, r.Body)
		}
		wantBody(t, "descendant after logout", tokenRefresh(ev, s3), 401, tokenNotValidBody)

		// Logging out with the first token before any refresh.
		third := ev.login("alice", userPassword("alice"))
		if r := logout(third.Refresh); r.Status != 204 {
			t.Fatalf("logout: %d %s", r.Status, r.Body)
		}
		wantBody(t, "refresh after logout", tokenRefresh(ev, third.Refresh), 401, tokenNotValidBody)

		// Other sessions stay signed in.
		fourth := ev.login("alice", userPassword("alice"))
		tokenPair(t, tokenRefresh(ev, fourth.Refresh))
		tokenPair(t, tokenRefresh(ev, ev.admin.Refresh))

		// Tokens that are not refresh tokens of this server.
		wantBody(t, "logout with garbage", logout("not.a.token"), 401, tokenNotValidBody)
		forged, _, err := auth.NewTokens([]byte(strings.Repeat("o", 32)), time.Minute, time.Hour).Issue(alice.user, auth.TypeRefresh)
		if err != nil {
			t.Fatal(err)
		}
		wantBody(t, "logout with another secret's token", logout(forged), 401, tokenNotValidBody)
	})
}

// A user's refresh and access tokens die as soon as the user is
// deactivated, deleted, or has their password or role changed.
func TestAuthTokensDieWithUserChanges(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ev := newEnv(t, e)
		const newPassword = "brand-new-pass-4567"
		cases := []struct {
			name   string
			change func(c *client) *response
			status int
			// newPassword tells whether the user can then sign in with
			// newPassword (otherwise no password works).
			newPassword bool
		}{
			{"deactivated", func(c *client) *response {
				return ev.admin.Do("POST", "/api/user/users/"+itoa(c.user.ID)+"/deactivate/", nil)
			}, 200, false},
			{"deactivated by update", func(c *client) *response {
				return ev.admin.Do("PATCH", "/api/user/users/"+itoa(c.user.ID)+"/", map[string]any{"is_active": false})
			}, 200, false},
			{"password set by an admin", func(c *client) *response {
				return ev.admin.Do("POST", "/api/user/users/"+itoa(c.user.ID)+"/password/", map[string]string{"password": newPassword})
			}, 204, true},
			{"password changed by the user", func(c *client) *response {
				return c.Do("POST", "/api/user/me/password/", map[string]string{"old_password": userPassword(c.user.Username), "new_password": newPassword})
			}, 204, true},
			{"role changed", func(c *client) *response {
				return ev.admin.Do("PATCH", "/api/user/users/"+itoa(c.user.ID)+"/", map[string]any{"role": "manager"})
			}, 200, false},
			{"deleted", func(c *client) *response {
				return ev.admin.Do("DELETE", "/api/user/users/"+itoa(c.user.ID)+"/", nil)
			}, 204, false},
		}
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				name := "user" + strconv.Itoa(i)
				u := ev.newUser(name, "user")
				// A spent-and-rotated family and a fresh one: both die.
				_, rotated := tokenPair(t, tokenRefresh(ev, u.Refresh))
				fresh := ev.login(name, userPassword(name))
				if r := c.change(u); r.Status != c.status {
					t.Fatalf("change: %d %s", r.Status, r.Body)
				}
				wantBody(t, "access after the change", u.Do("GET", "/api/user/me/", nil), 401, tokenNotValidBody)
				wantBody(t, "other access after the change", fresh.Do("GET", "/api/user/me/", nil), 401, tokenNotValidBody)
				wantBody(t, "rotated refresh after the change", tokenRefresh(ev, rotated), 401, tokenNotValidBody)
				wantBody(t, "fresh refresh after the change", tokenRefresh(ev, fresh.Refresh), 401, tokenNotValidBody)
				switch {
				case c.newPassword:
					wantBody(t, "old password", tokenLogin(ev, name, userPassword(name)), 401, badCredentialsBody)
					tokenPair(t, tokenLogin(ev, name, newPassword))
				case c.name == "role changed":
					// The same password signs in again, with the new role.
					again := ev.login(name, userPassword(name))
					if r := again.Do("GET", "/api/user/me/", nil); r.Status != 200 || r.Object(t)["role"].(map[string]any)["name"] != "manager" {
						t.Fatalf("me after the role change: %d %s", r.Status, r.Body)
					}
				case c.name == "deleted":
					wantBody(t, "login after the change", tokenLogin(ev, name, userPassword(name)), 401, badCredentialsBody)
				default:
					wantBody(t, "login after the change", tokenLogin(ev, name, userPassword(name)), 401, accountInactiveBody)
				}
			})
		}
	})
}

func TestAuthExpiry(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ev := newEnv(t, e)
		alice := ev.newUser("alice", "user")
		ev.clock.Add(4*time.Minute + 59*time.Second)
		if r := alice.Do("GET", "/api/user/me/", nil); r.Status != 200 {
			t.Fatalf("access token before its expiry: %d %s", r.Status, r.Body)
		}
		ev.clock.Add(time.Minute + time.Second) // 6 minutes after login
		wantBody(t, "expired access token", alice.Do("GET", "/api/user/me/", nil), 401, tokenNotValidBody)
		// The refresh token still works, and gives a working access token.
		access, refresh := tokenPair(t, tokenRefresh(ev, alice.Refresh))
		if r := bearer(ev, access).Do("GET", "/api/user/me/", nil); r.Status != 200 {
			t.Fatalf("refreshed access token: %d %s", r.Status, r.Body)
		}
		// A refresh token lives 24 hours from its issue.
		ev.clock.Add(24*time.Hour - time.Second)
		_, refresh = tokenPair(t, tokenRefresh(ev, refresh))
		ev.clock.Add(24*time.Hour + time.Second)
		wantBody(t, "expired refresh token", tokenRefresh(ev, refresh), 401, tokenNotValidBody)
	})
}

// Tokens the server did not issue, or for users who are gone, are refused.
func TestAuthForeignTokens(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ev := newEnv(t, e)
		alice := ev.newUser("alice", "user")
		other := auth.NewTokens([]byte(strings.Repeat("o", 32)), 5*time.Minute, 24*time.Hour)
		other.Now = ev.clock.Now
		issue := func(tk *auth.Tokens, u *tasktrack.User, typ string) string {
			s, _, err := tk.Issue(u, typ)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		// The control: a token signed with the server's own secret works,
		// so the refusals below are about the secret and the user.
		if r := bearer(ev, issue(ev.auth.Tokens, alice.user, auth.TypeAccess)).Do("GET", "/api/user/me/", nil); r.Status != 200 {
			t.Fatalf("token signed with the server's secret: %d %s", r.Status, r.Body)
		}
		ghost := &tasktrack.User{ID: alice.user.ID + 1000}
		claims := base64.RawURLEncoding.EncodeToString([]byte(`{"token_type":"access","user_id":` + itoa(alice.user.ID) +
			`,"jti":"x","iat":` + strconv.FormatInt(t0.Unix(), 10) + `,"exp":` + strconv.FormatInt(t0.Add(time.Hour).Unix(), 10) + `}`))
		none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + claims + "."
		cases := []struct{ name, access string }{
			{"another secret", issue(other, alice.user, auth.TypeAccess)},
			{"alg none", none},
			{"user that never existed", issue(ev.auth.Tokens, ghost, auth.TypeAccess)},
			{"stale token version", issue(ev.auth.Tokens, &tasktrack.User{ID: alice.user.ID, TokenVersion: alice.user.TokenVersion + 1, TokenKey: alice.user.TokenKey}, auth.TypeAccess)},
			{"another account's token key", issue(ev.auth.Tokens, &tasktrack.User{ID: alice.user.ID, TokenVersion: alice.user.TokenVersion, TokenKey: ev.admin.user.TokenKey}, auth.TypeAccess)},
			{"no token key", issue(ev.auth.Tokens, &tasktrack.User{ID: alice.user.ID, TokenVersion: alice.user.TokenVersion}, auth.TypeAccess)},
			{"garbage", "garbage"},
		}
		for _, c := range cases {
			wantBody(t, c.name, bearer(ev, c.access).Do("GET", "/api/user/me/", nil), 401, tokenNotValidBody)
		}
		wantBody(t, "refresh signed with another secret", tokenRefresh(ev, issue(other, alice.user, auth.TypeRefresh)), 401, tokenNotValidBody)
		// Well signed, but never issued (not stored): refused.
		wantBody(t, "refresh never issued", tokenRefresh(ev, issue(ev.auth.Tokens, alice.user, auth.TypeRefresh)), 401, tokenNotValidBody)
		wantBody(t, "refresh for a user that never existed", tokenRefresh(ev, issue(ev.auth.Tokens, ghost, auth.TypeRefresh)), 401, tokenNotValidBody)

		// A user deleted after signing in: the tokens they hold are dead.
		bob := ev.newUser("bob", "user")
		if r := ev.admin.Do("DELETE", "/api/user/users/"+itoa(bob.user.ID)+"/", nil); r.Status != 204 {
			t.Fatalf("delete bob: %d %s", r.Status, r.Body)
		}
		wantBody(t, "deleted user's access token", bob.Do("GET", "/api/user/me/", nil), 401, tokenNotValidBody)
		wantBody(t, "deleted user's fresh access token", bearer(ev, issue(ev.auth.Tokens, bob.user, auth.TypeAccess)).Do("GET", "/api/user/me/", nil), 401, tokenNotValidBody)
		wantBody(t, "deleted user's refresh token", tokenRefresh(ev, bob.Refresh), 401, tokenNotValidBody)

		// No credentials at all is another answer.
		wantBody(t, "no credentials", ev.anon().Do("GET", "/api/user/me/", nil), 401, `{"detail":"Authentication credentials were not provided."}`)
	})
}

// A deleted user's unexpired tokens never authenticate anyone else: not
// the next user created (who never gets the deleted id; on SQLite it used
// to be given again, and the intern's token then signed in as the new
// admin), and not an account brought back under the same id by an import
// of the original (the same person, but a new account with a token key of
// its own).
func TestAuthDeletedUsersTokensStayDead(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ev := newEnv(t, e)
		intern := ev.newUser("intern", "user")
		if r := ev.admin.Do("DELETE", "/api/user/users/"+itoa(intern.user.ID)+"/", nil); r.Status != 204 {
			t.Fatalf("delete the intern: %d %s", r.Status, r.Body)
		}
		r := ev.admin.Do("POST", "/api/user/users/", map[string]string{"username": "chief", "password": userPassword("chief"), "role": "admin"})
		if r.Status != 201 {
			t.Fatalf("create an admin: %d %s", r.Status, r.Body)
		}
		wantBody(t, "deleted user's access token after a new admin", intern.Do("GET", "/api/user/me/", nil), 401, tokenNotValidBody)
		wantBody(t, "deleted user's refresh token after a new admin", tokenRefresh(ev, intern.Refresh), 401, tokenNotValidBody)
		if id := int64(r.Object(t)["id"].(float64)); id <= intern.user.ID {
			t.Errorf("the new admin got id %d; the deleted user had %d", id, intern.user.ID)
		}

		back := *intern.user
		if _, err := ev.db.Importer.ImportDjango(context.Background(), []*tasktrack.User{&back}, nil, sqlstore.ImportOptions{Merge: true}); err != nil {
			t.Fatal(err)
		}
		wantBody(t, "deleted user's access token after the same id came back", intern.Do("GET", "/api/user/me/", nil), 401, tokenNotValidBody)
		wantBody(t, "deleted user's refresh token after the same id came back", tokenRefresh(ev, intern.Refresh), 401, tokenNotValidBody)
		if again := ev.login("intern", userPassword("intern")); again.user.ID != intern.user.ID || again.user.TokenKey == intern.user.TokenKey {
			t.Errorf("the account brought back: id %d key %q; the deleted one: id %d key %q",
				again.user.ID, again.user.TokenKey, intern.user.ID, intern.user.TokenKey)
		}
	})
}

func TestAuthRefreshTokensStoredHashed(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ev := newEnv(t, e)
		alice := ev.newUser("alice", "user")
		_, r2 := tokenPair(t, tokenRefresh(ev, alice.Refresh))
		_, r3 := tokenPair(t, tokenRefresh(ev, r2))
		raw := []string{ev.admin.Refresh, alice.Refresh, r2, r3}
		hashes, err := ev.db.Sessions.RefreshTokenHashes(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(hashes) != len(raw) {
			t.Fatalf("%d stored refresh tokens, want %d", len(hashes), len(raw))
		}
		for _, h := range hashes {
			for _, tok := range raw {
				// Neither the token nor any of its parts (the signature
				// alone would let one check a guess) is stored.
				for _, part := range append(strings.Split(tok, "."), tok) {
					if strings.Contains(h, part) {
						t.Fatalf("stored %q contains the raw token part %q", h, part)
					}
				}
			}
		}
		for _, tok := range raw {
			if !slices.Contains(hashes, auth.HashToken(tok)) {
				t.Errorf("the hash of %.20s… is not stored", tok)
			}
		}
	})
}

func TestAuthLoginRateLimit(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ev := newEnv(t, e)
		ev.newUser("alice", "user")
		ev.newUser("bob", "user")
		// The harness allows 5 failures per username from one address per
		// 10 minutes.
		for i := range loginLimits.UserAddr.N {
			wantBody(t, "wrong password "+strconv.Itoa(i+1), tokenLogin(ev, "alice", "wrong-"+strconv.Itoa(i)), 401, badCredentialsBody)
		}
		for _, username := range []string{"alice", "ALICE", "Alice"} {
			r := tokenLogin(ev, username, userPassword("alice"))
			wantBody(t, "right password of "+username+" once limited", r, 429, loginLimitedBody)
			secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
			if err != nil || secs < 1 || secs > 600 {
				t.Fatalf("Retry-After %q, want whole seconds in [1, 600]", r.Header.Get("Retry-After"))
			}
		}
		// A wrong password while limited gets 429 too, not 401.
		wantBody(t, "wrong password once limited", tokenLogin(ev, "alice", "wrong"), 429, loginLimitedBody)
		// Another username from the same address is not limited yet, nor
		// is alice from another address.
		tokenPair(t, tokenLogin(ev, "bob", userPassword("bob")))
		wantBody(t, "bob's wrong password", tokenLogin(ev, "bob", "wrong"), 401, badCredentialsBody)
		tokenPair(t, ev.anon().via("127.0.0.2").Do("POST", "/api/token/", map[string]string{"username": "alice", "password": userPassword("alice")}))
		// Ten minutes on, alice is let through.
		ev.clock.Add(10 * time.Minute)
		tokenPair(t, tokenLogin(ev, "alice", userPassword("alice")))
	})
}

func TestAuthLoginRateLimitPerAddress(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ev := newEnv(t, e)
		// The harness allows 20 failures per address per 10 minutes; each
		// username here fails once, far under its own limit.
		for i := range 20 {
			name := "ghost" + strconv.Itoa(i)
			wantBody(t, name, tokenLogin(ev, name, "wrong-pass"), 401, badCredentialsBody)
		}
		r := tokenLogin(ev, "admin", adminPassword)
		wantBody(t, "admin from the limited address", r, 429, loginLimitedBody)
		if secs, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || secs < 1 || secs > 600 {
			t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
		}
		// Signed-in clients are not affected: the limit is on logins.
		if r := ev.admin.Do("GET", "/api/user/me/", nil); r.Status != 200 {
			t.Fatalf("me while logins are limited: %d %s", r.Status, r.Body)
		}
		tokenPair(t, tokenRefresh(ev, ev.admin.Refresh))
		ev.clock.Add(10 * time.Minute)
		tokenPair(t, tokenLogin(ev, "admin", adminPassword))
	})
}

// Only failures count: people who type their password right are never
// slowed, however often they sign in.
func TestAuthSuccessfulLoginsNeverCount(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ev := newEnv(t, e)
		for i := range 30 {
			if r := tokenLogin(ev, "admin", adminPassword); r.Status != 200 {
				t.Fatalf("login %d: %d %s", i+1, r.Status, r.Body)
			}
		}
		// The whole allowance of failures is still there.
		n := loginLimits.UserAddr.N
		for i := range n - 1 {
			wantBody(t, "failure "+strconv.Itoa(i+1), tokenLogin(ev, "admin", "wrong-pass"), 401, badCredentialsBody)
		}
		tokenPair(t, tokenLogin(ev, "admin", adminPassword))
		wantBody(t, "failure "+strconv.Itoa(n), tokenLogin(ev, "admin", "wrong-pass"), 401, badCredentialsBody)
		wantBody(t, "after "+strconv.Itoa(n)+" failures", tokenLogin(ev, "admin", adminPassword), 429, loginLimitedBody)
	})
}
