package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// httpSink answers 204 to every POST on addr, counting them, until SIGTERM
// or SIGINT; then it prints the count. A GET answers the count so far.
// bench/run.sh makes it the URL of a webhook endpoint subscribed to every
// event, so that creating a task is measured with its webhook posted.
func httpSink(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("httpsink", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8026", "address to listen on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var received atomic.Int64
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPost:
			if _, err := io.Copy(io.Discard, r.Body); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			received.Add(1)
			w.WriteHeader(http.StatusNoContent)
		case http.MethodGet:
			fmt.Fprintln(w, received.Load())
		default:
			w.WriteHeader(http.StatusMethodNotAllowed)
		}
	})}
	if err := serveUntilSignal(srv, ln); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "received %d posts\n", received.Load())
	return nil
}

// serveUntilSignal serves srv on ln until SIGTERM or SIGINT.
func serveUntilSignal(srv *http.Server, ln net.Listener) error {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-stop
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// countServer answers every GET with n: the count of a sink, for drain.
func countServer(n *atomic.Int64) *http.Server {
	return &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, n.Load())
	})}
}

// urlList is a repeatable -url flag.
type urlList []string

func (u *urlList) String() string     { return strings.Join(*u, ",") }
func (u *urlList) Set(s string) error { *u = append(*u, s); return nil }

// drain waits until the counts that the sinks answer at each -url have all
// stood still for -settle: the server has delivered what it had to. It
// prints the seconds until the last change, then each count.
func drain(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("drain", flag.ContinueOnError)
	var urls urlList
	fs.Var(&urls, "url", "count URL of a sink (repeatable)")
	settle := fs.Duration("settle", 2500*time.Millisecond, "the counts must not change for this long")
	timeout := fs.Duration("timeout", 60*time.Second, "give up waiting after")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(urls) == 0 {
		return errors.New("drain: want -url")
	}
	client := &http.Client{Timeout: 2 * time.Second}
	get := func(u string) (int64, error) {
		resp, err := client.Get(u)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return 0, err
		}
		return strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	}
	start := time.Now()
	last := make([]int64, len(urls))
	changed := start
	for first := true; ; first = false {
		moved := false
		for i, u := range urls {
			n, err := get(u)
			if err != nil {
				return fmt.Errorf("drain: %v", err)
			}
			if first || n != last[i] {
				moved = true
			}
			last[i] = n
		}
		now := time.Now()
		if moved && !first {
			changed = now
		}
		if now.Sub(changed) >= *settle {
			break
		}
		if now.Sub(start) >= *timeout {
			fmt.Fprintf(os.Stderr, "drain: still moving after %s\n", *timeout)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	parts := []string{strconv.FormatFloat(changed.Sub(start).Seconds(), 'f', 1, 64)}
	for _, n := range last {
		parts = append(parts, strconv.FormatInt(n, 10))
	}
	fmt.Fprintln(stdout, strings.Join(parts, " "))
	return nil
}
