package httpapi_test

import (
	"strconv"
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
		if r := ev.admin.do("POST", "/api/user/users/"+itoa(bob.user.ID)+"/deactivate/", nil); r.status != 200 {
			t.Fatalf("deactivate bob: %d %s", r.status, r.body)
		}
		if r := ev.admin.do("PATCH", "/api/user/users/"+itoa(carol.user.ID)+"/", map[string]any{"is_active": false}); r.status != 200 {
			t.Fatalf("deactivate carol: %d %s", r.status, r.body)
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
		if r := ev.admin.do("POST", "/api/user/users/"+itoa(bob.user.ID)+"/reactivate/", nil); r.status != 200 {
			t.Fatalf("reactivate bob: %d %s", r.status, r.body)
		}
		tokenPair(t, tokenLogin(ev, "bob", userPassword("bob")))
	})
}
