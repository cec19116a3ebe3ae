package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// users creates -n users through the API as the admin whose access token
// is -token (POST /api/user/users/, -create-conc at once: each is an
// argon2id hash), then signs them all in at once (POST /api/token/, n
// concurrent logins: n more hashes); -do create or -do login does one of
// the two. For each it prints
//
//	<n> <ms> <failures>
//
// and it fails if any request did. bench/run.sh runs it against the server
// it then measures, so that the server's peak memory includes such a burst.
func users(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("users", flag.ContinueOnError)
	base := fs.String("url", "", "base URL of tasktrack")
	token := fs.String("token", "", "an admin's access token")
	n := fs.Int("n", 50, "users to create and sign in")
	prefix := fs.String("prefix", "burst-", "usernames are prefix + 1..n")
	password := fs.String("password", "bench-password-1", "their password")
	createConc := fs.Int("create-conc", 8, "creations at once")
	do := fs.String("do", "both", "create, login or both")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *base == "" || *n < 1 {
		return errors.New("users: want -url and -n >= 1")
	}
	doCreate, doLogin := *do == "both" || *do == "create", *do == "both" || *do == "login"
	if !doCreate && !doLogin {
		return fmt.Errorf("users: -do %q: want create, login or both", *do)
	}
	if doCreate && *token == "" {
		return errors.New("users: creating users wants -token")
	}
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: *n}}
	post := func(path, bearer string, body any, want int) error {
		b, _ := json.Marshal(body)
		req, err := http.NewRequest(http.MethodPost, *base+path, bytes.NewReader(b))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		if resp.StatusCode != want {
			return fmt.Errorf("POST %s: %d %s", path, resp.StatusCode, msg)
		}
		return nil
	}
	name := func(i int) string { return fmt.Sprintf("%s%d", *prefix, i+1) }

	// run calls f(0..n-1), conc at once, released together; it answers the
	// milliseconds it took and the failures (the first one printed).
	run := func(conc int, f func(i int) error) (float64, int) {
		var failed atomic.Int64
		var once sync.Once
		next := make(chan int, *n)
		for i := range *n {
			next <- i
		}
		close(next)
		gate := make(chan struct{})
		var wg sync.WaitGroup
		for range max(1, conc) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-gate
				for i := range next {
					if err := f(i); err != nil {
						failed.Add(1)
						once.Do(func() { fmt.Fprintln(os.Stderr, "users:", err) })
					}
				}
			}()
		}
		start := time.Now()
		close(gate)
		wg.Wait()
		return float64(time.Since(start).Microseconds()) / 1000, int(failed.Load())
	}
	failures := 0
	if doCreate {
		ms, failed := run(*createConc, func(i int) error {
			return post("/api/user/users/", *token, map[string]string{"username": name(i), "password": *password, "role": "user"}, http.StatusCreated)
		})
		fmt.Fprintf(stdout, "%d %.0f %d\n", *n, ms, failed)
		failures += failed
	}
	if doLogin {
		ms, failed := run(*n, func(i int) error {
			return post("/api/token/", "", map[string]string{"username": name(i), "password": *password}, http.StatusOK)
		})
		fmt.Fprintf(stdout, "%d %.0f %d\n", *n, ms, failed)
		failures += failed
	}
	if failures > 0 {
		return fmt.Errorf("users: %d requests failed", failures)
	}
	return nil
}
