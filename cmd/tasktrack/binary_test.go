package main

// Helpers for the end-to-end tests: they build the real binary once, run
// its one-shot commands and start `serve` on a free port, and talk to it
// over HTTP like any client would.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"tasktrack/internal/apitest"
)

var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

// TestMain removes the binary built by the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// raceEnabled reports whether the tests were built with the race
// detector; the binary under test is then built with it too, so a data
// race in the server fails the test through its exit code.
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// binary builds ./cmd/tasktrack once per test run and returns its path.
func binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		gobin, err := exec.LookPath("go")
		if err != nil {
			buildErr = fmt.Errorf("the go command is needed to build the binary: %w", err)
			return
		}
		if binDir, buildErr = os.MkdirTemp("", "tasktrack-e2e-"); buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "tasktrack")
		args := []string{"build", "-o", binPath}
		if raceEnabled() {
			args = append(args, "-race")
		}
		out, err := exec.Command(gobin, append(args, ".")...).CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// environ is the test's environment without any TASKTRACK_ setting of the
// caller's, plus extra ("NAME=value").
func environ(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TASKTRACK_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// syncBuffer is a buffer a process writes to while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// result is how a one-shot command ended.
type result struct {
	code           int
	stdout, stderr string
}

// command prepares the binary with args and the clean environment plus
// env, working in dir (a new temporary directory if empty).
func command(t testing.TB, ctx context.Context, dir string, env []string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.CommandContext(ctx, binary(t), args...)
	cmd.Env = environ(env...)
	if dir == "" {
		dir = t.TempDir()
	}
	cmd.Dir = dir
	return cmd
}

// runBinary runs a one-shot command to its end (at most a minute) and
// returns its exit code and output.
func runBinary(t testing.TB, env []string, stdin string, args ...string) result {
	t.Helper()
	return runBinaryWithin(t, time.Minute, env, stdin, args...)
}

// runBinaryWithin is runBinary with a time limit of d.
func runBinaryWithin(t testing.TB, d time.Duration, env []string, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	cmd := command(t, ctx, "", env, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("tasktrack %s: %v", strings.Join(args, " "), err)
	}
	if ctx.Err() != nil {
		t.Fatalf("tasktrack %s did not end within %s; stderr:\n%s", strings.Join(args, " "), d, stderr.String())
	}
	return result{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
}

// mustRun runs a one-shot command that must succeed and returns its
// standard output.
func mustRun(t testing.TB, env []string, stdin string, args ...string) string {
	t.Helper()
	r := runBinary(t, env, stdin, args...)
	if r.code != 0 {
		t.Fatalf("tasktrack %s: exit code %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// freeAddr returns a loopback address with a port nobody listens on.
//
// The address is on a loopback address of its own (127.x.y.z), not
// 127.0.0.1: between this listener's close and the server's bind, the
// kernel may hand the same port on 127.0.0.1 to any outgoing connection of
// a test running beside this one, but it binds an outgoing connection to
// another loopback address only when that connection goes there.
func freeAddr(t testing.TB) string {
	t.Helper()
	ip := fmt.Sprintf("127.%d.%d.%d", 1+rand.IntN(254), rand.IntN(256), 1+rand.IntN(254))
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// sqliteFile returns the path of a new SQLite database file.
func sqliteFile(t testing.TB) string {
	return filepath.Join(t.TempDir(), "tasktrack.db")
}

// adminPassword is the first admin's password in servers started with
// adminEnv.
const adminPassword = "e2e-admin-password"

// adminEnv sets the first admin's password.
var adminEnv = []string{"TASKTRACK_ADMIN_PASSWORD=" + adminPassword}

// server is a running `tasktrack serve`.
type server struct {
	t    testing.TB
	db   string
	addr string
	url  string
	// metricsURL is the base of the metrics listener.
	metricsURL string
	cmd        *exec.Cmd
	stderr     *syncBuffer
	done       chan struct{} // closed once the process has exited
}

// startServe starts `tasktrack serve` on a free port, and its metrics on
// another, over the database db (a SQLite file or a PostgreSQL URL) with
// the clean environment plus env and the extra flags, and waits until
// /readyz answers 200. At cleanup the
// server is stopped with SIGTERM and must exit with code 0.
func startServe(t testing.TB, db string, env []string, flags ...string) *server {
	t.Helper()
	return startServeIn(t, "", db, env, flags...)
}

// startServeIn is startServe working in dir; an empty db leaves the
// database to its default, tasktrack.db in dir.
func startServeIn(t testing.TB, dir, db string, env []string, flags ...string) *server {
	t.Helper()
	s := launchServeIn(t, dir, db, env, flags...)
	s.waitReady()
	return s
}

// launchServeIn starts `tasktrack serve` like startServeIn without
// waiting for it to be ready, so that several can start at once.
func launchServeIn(t testing.TB, dir, db string, env []string, flags ...string) *server {
	t.Helper()
	s := &server{t: t, db: db, addr: freeAddr(t), stderr: &syncBuffer{}, done: make(chan struct{})}
	s.url = "http://" + s.addr
	metricsAddr := freeAddr(t)
	s.metricsURL = "http://" + metricsAddr
	args := []string{"serve", "--addr", s.addr, "--metrics-addr", metricsAddr}
	if db != "" {
		args = append(args, "--database", db)
	}
	s.cmd = command(t, context.Background(), dir, env, append(args, flags...)...)
	s.cmd.Stdout = s.stderr
	s.cmd.Stderr = s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		if !s.exited() {
			s.stop()
		}
		if t.Failed() {
			t.Logf("server output:\n%s", s.stderr.String())
		}
	})
	return s
}

// exited reports whether the process has ended.
func (s *server) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// wait waits up to d for the process to end and returns its exit code.
func (s *server) wait(d time.Duration) int {
	s.t.Helper()
	select {
	case <-s.done:
		return s.cmd.ProcessState.ExitCode()
	case <-time.After(d):
		_ = s.cmd.Process.Kill()
		<-s.done
		s.t.Fatalf("server did not exit within %s", d)
		return -1
	}
}

// waitReady polls /readyz until it answers 200.
func (s *server) waitReady() {
	s.t.Helper()
	c := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if s.exited() {
			s.t.Fatalf("server exited with code %d before it was ready:\n%s", s.cmd.ProcessState.ExitCode(), s.stderr.String())
		}
		res, err := c.Get(s.url + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatalf("server not ready within 30s:\n%s", s.stderr.String())
}

// scrape reads /metrics from the server's metrics listener.
func (s *server) scrape(t testing.TB) *response {
	t.Helper()
	res, err := httpClient.Get(s.metricsURL + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", res.StatusCode, body)
	}
	return &response{Status: res.StatusCode, Header: res.Header, Body: body}
}

// signal sends sig to the server.
func (s *server) signal(sig syscall.Signal) {
	s.t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatalf("signal %v: %v", sig, err)
	}
}

// stop ends the server with SIGTERM; it must exit with code 0.
func (s *server) stop() {
	s.t.Helper()
	s.signal(syscall.SIGTERM)
	if code := s.wait(20 * time.Second); code != 0 {
		s.t.Errorf("server exited with code %d after SIGTERM, want 0", code)
	}
}

// kill ends the server with SIGKILL, as a crash would.
func (s *server) kill() {
	s.t.Helper()
	s.signal(syscall.SIGKILL)
	s.wait(10 * time.Second)
}

// httpClient is shared by the test clients; each request has a timeout.
var httpClient = &http.Client{Timeout: 30 * time.Second}

// client calls a server's API, signed in or not; response is its answer.
type (
	client   = apitest.Client
	response = apitest.Response
)

// userPassword is the password createUser gives.
var userPassword = apitest.UserPassword

// waitFor polls cond every 20ms until it holds or d has passed.
var waitFor = apitest.WaitFor

// alertStreamPath is the path of the alert stream.
const alertStreamPath = "/api/alerts/stream/"

// client is a client of s that fails t and sends access (none if empty).
func (s *server) client(t testing.TB, access string) *client {
	return &client{T: func() testing.TB { return t }, URL: s.url, HTTP: httpClient, Access: access}
}

// anon is a client without credentials.
func (s *server) anon(t testing.TB) *client { return s.client(t, "") }

// tryLogin asks for a token pair.
func (s *server) tryLogin(t testing.TB, username, password string) *response {
	t.Helper()
	return s.anon(t).Do("POST", "/api/token/", map[string]string{"username": username, "password": password})
}

// login signs in and returns a client with the user's tokens.
func (s *server) login(t testing.TB, username, password string) *client {
	t.Helper()
	return s.anon(t).Login(username, password)
}
