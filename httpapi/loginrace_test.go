package httpapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"

	. "tasktrack/sqlstore/sqlstoretest"
)

// Logins racing each other: wrong passwords get no more checks than the
// limit allows (the limit is checked again once a hashing slot is held,
// and hashing is bounded), and a crowd of right passwords from one address
// is never limited.
func TestRacingLogins(t *testing.T) {
	ev := newEnv(t, SQLite)
	ev.newUser("ann", "user")
	for i := 0; i < 30; i++ {
		ev.newUser("crowd"+itoa(int64(i)), "user")
	}
	statuses := func(n int, body func(i int) map[string]string) map[int]int {
		var mu sync.Mutex
		got := map[int]int{}
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Go(func() {
				req, _ := http.NewRequest("POST", ev.srv.URL+"/api/token/", jsonBody(body(i)))
				req.Header.Set("Content-Type", "application/json")
				res, err := ev.srv.Client().Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				res.Body.Close()
				mu.Lock()
				got[res.StatusCode]++
				mu.Unlock()
			})
		}
		wg.Wait()
		return got
	}
	// 30 people sign in at once from one address, each with the right
	// password: none is limited (the address allows 20 failures).
	ok := statuses(30, func(i int) map[string]string {
		name := "crowd" + itoa(int64(i))
		return map[string]string{"username": name, "password": userPassword(name)}
	})
	if ok[200] != 30 {
		t.Fatalf("30 right passwords at once: %v", ok)
	}
	// 40 wrong passwords for one username at once from one address: they
	// allow 5 failures, and the limit is checked and the failure recorded
	// while the hashing slot is held, so exactly 5 are checked.
	bad := statuses(40, func(int) map[string]string {
		return map[string]string{"username": "ann", "password": "wrong-password"}
	})
	if n := loginLimits.UserAddr.N; bad[401] != n || bad[429] != 40-n {
		t.Fatalf("40 racing wrong passwords for one username: %v; want exactly %d checked (401), the rest 429", bad, n)
	}
}

func jsonBody(v any) io.Reader {
	b, _ := json.Marshal(v)
	return bytes.NewReader(b)
}
