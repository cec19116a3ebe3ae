package httpapi_test

import (
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"tasktrack"
	. "tasktrack/sqlstore/sqlstoretest"
)

// from is a client without credentials at the loopback address 127.0.0.i.
func from(ev *env, i int) *client { return ev.anon().via("127.0.0." + strconv.Itoa(i)) }

// loginAs posts a username and password to the login endpoint.
func (c *client) loginAs(username, password string) *response {
	c.env.t.Helper()
	return c.Do("POST", "/api/token/", map[string]string{"username": username, "password": password})
}

// wantLimited checks a 429 with the limit's body and a Retry-After of
// whole seconds in [1, most].
func wantLimited(t *testing.T, what string, r *response, most time.Duration) {
	t.Helper()
	wantBody(t, what, r, 429, loginLimitedBody)
	secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || secs < 1 || time.Duration(secs)*time.Second > most {
		t.Fatalf("%s: Retry-After %q, want whole seconds in [1, %v]", what, r.Header.Get("Retry-After"), most)
	}
}

// failedLoginAddresses counts the failed logins in the audit log by the
// client address they came from.
func failedLoginAddresses(t *testing.T, ev *env) map[string]int {
	t.Helper()
	entries, _, err := ev.db.Audit.FindAuditEntries(System, tasktrack.AuditFilter{Action: tasktrack.ActionLoginFailed, Page: tasktrack.Page{Limit: tasktrack.MaxLimit}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, a := range entries {
		var d struct{ Address string }
		if err := json.Unmarshal(a.Details, &d); err != nil {
			t.Fatal(err)
		}
		got[d.Address]++
	}
	return got
}

// An attack on admin's password from many addresses (real ones: each
// client binds its own loopback address) does not lock admin out: the
// right password from an address that has not been failing gets in, the
// attacking addresses stay limited, and guessing from many addresses is
// bounded.
func TestLoginLimitsAdminUnderAttack(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ev := newEnv(t, e)
		perPair, perUser := loginLimits.UserAddr, loginLimits.User
		// Two addresses spend admin's whole allowance, each its own.
		attackers := []*client{from(ev, 2), from(ev, 3)}
		for i, a := range attackers {
			for j := range perPair.N {
				wantBody(t, "attacker "+strconv.Itoa(i)+" guess "+strconv.Itoa(j), a.loginAs("admin", "guess-"+strconv.Itoa(j)), 401, badCredentialsBody)
			}
		}
		if got := len(attackers) * perPair.N; got != perUser.N {
			t.Fatalf("the attack spent %d of admin's %d failures; the test wants all", got, perUser.N)
		}
		// The server saw each attacker's own address.
		if got := failedLoginAddresses(t, ev); got["127.0.0.2"] != perPair.N || got["127.0.0.3"] != perPair.N || len(got) != 2 {
			t.Fatalf("failed logins by address: %v, want %d from each of 127.0.0.2 and 127.0.0.3", got, perPair.N)
		}
		// admin signs in from addresses that have not been failing.
		tokenPair(t, from(ev, 9).loginAs("admin", adminPassword))
		tokenPair(t, ev.anon().loginAs("admin", adminPassword))
		// The attackers are refused, even with the right password.
		for i, a := range attackers {
			wantLimited(t, "attacker "+strconv.Itoa(i), a.loginAs("admin", "guess-x"), perPair.Period)
			wantLimited(t, "attacker "+strconv.Itoa(i)+" with the right password", a.loginAs("admin", adminPassword), perPair.Period)
		}

		// Guessing from many addresses is bounded: while admin's
		// allowance is spent, each new address has one guess.
		for i := 10; i < 30; i++ {
			c := from(ev, i)
			wantBody(t, "new address "+strconv.Itoa(i), c.loginAs("admin", "guess-y"), 401, badCredentialsBody)
			wantLimited(t, "new address "+strconv.Itoa(i)+" again", c.loginAs("admin", "guess-z"), perUser.Period)
		}

		// One address keeps guessing whenever it may, for an hour: it
		// gets one guess per period/N of its own limit, and admin gets in
		// from a clean address all along.
		step := perPair.Period / time.Duration(perPair.N)
		guesses := 0
		for m := 1; m <= 60; m++ {
			ev.clock.Add(time.Minute)
			if r := attackers[0].loginAs("admin", "guess-"+strconv.Itoa(m)); r.Status == 401 {
				guesses++
			} else {
				wantLimited(t, "the persistent attacker", r, perPair.Period)
			}
			if m%10 == 0 {
				tokenPair(t, from(ev, 9).loginAs("admin", adminPassword))
			}
		}
		if most := int(time.Hour/step) + 1; guesses == 0 || guesses > most {
			t.Fatalf("the persistent attacker made %d guesses in an hour, want 1 to %d", guesses, most)
		}
	})
}

// The limit per address spans usernames; the limit per username and
// address touches only that username from that address.
func TestLoginLimitsPerAddress(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ev := newEnv(t, e)
		ev.newUser("alice", "user")
		ev.newUser("bob", "user")
		spray := from(ev, 4)
		for i := range loginLimits.Addr.N {
			wantBody(t, "unknown user "+strconv.Itoa(i), spray.loginAs("ghost"+strconv.Itoa(i), "wrong-pass"), 401, badCredentialsBody)
		}
		wantLimited(t, "admin from the spraying address", spray.loginAs("admin", adminPassword), loginLimits.Addr.Period)
		tokenPair(t, from(ev, 5).loginAs("admin", adminPassword))

		guesser := from(ev, 6)
		for i := range loginLimits.UserAddr.N {
			wantBody(t, "alice's guess "+strconv.Itoa(i), guesser.loginAs("alice", "wrong-pass"), 401, badCredentialsBody)
		}
		wantLimited(t, "alice from the guessing address", guesser.loginAs("ALICE", userPassword("alice")), loginLimits.UserAddr.Period)
		tokenPair(t, guesser.loginAs("bob", userPassword("bob")))
		tokenPair(t, from(ev, 7).loginAs("alice", userPassword("alice")))
		ev.clock.Add(loginLimits.UserAddr.Period)
		tokenPair(t, guesser.loginAs("alice", userPassword("alice")))
	})
}

// Guessing the old password at a password change counts toward the login
// limits: a wrong old_password is a failed login for the caller's
// username from the caller's address.
func TestChangePasswordGuessesLimited(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ev := newEnv(t, e)
		alice := ev.newUser("alice", "user")
		change := func(c *client, old, nw string) *response {
			return c.Do("POST", "/api/user/me/password/", map[string]string{"old_password": old, "new_password": nw})
		}
		// Someone with alice's token guesses her password.
		thief := alice.via("127.0.0.2")
		for i := range loginLimits.UserAddr.N {
			wantBody(t, "guess "+strconv.Itoa(i), change(thief, "guess-"+strconv.Itoa(i), "new-password-1"), 400,
				`{"old_password":["Your old password was entered incorrectly."]}`)
		}
		wantLimited(t, "a guess once limited", change(thief, "guess-x", "new-password-1"), loginLimits.UserAddr.Period)
		wantLimited(t, "the right password once limited", change(thief, userPassword("alice"), "new-password-1"), loginLimits.UserAddr.Period)
		// The same limits hold at login, from that address.
		wantLimited(t, "login from the guessing address", from(ev, 2).loginAs("alice", userPassword("alice")), loginLimits.UserAddr.Period)

		// Failed logins count toward a password change too.
		for i := range loginLimits.UserAddr.N {
			wantBody(t, "login guess "+strconv.Itoa(i), from(ev, 3).loginAs("alice", "wrong-pass"), 401, badCredentialsBody)
		}
		wantLimited(t, "password change after failed logins", change(alice.via("127.0.0.3"), userPassword("alice"), "new-password-1"), loginLimits.UserAddr.Period)

		// alice, from an address that has not been failing, changes it.
		if r := change(alice.via("127.0.0.5"), userPassword("alice"), "alice-new-pass-1"); r.Status != 204 {
			t.Fatalf("password change from a clean address: %d %s", r.Status, r.Body)
		}
		tokenPair(t, from(ev, 5).loginAs("alice", "alice-new-pass-1"))
	})
}
