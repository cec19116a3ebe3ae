package sqlstoretest

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
)

// ProxyMode is how a Proxy treats new connections.
type ProxyMode int

// The modes.
const (
	// ProxyPass forwards connections to the database.
	ProxyPass ProxyMode = iota
	// ProxyHold accepts connections and never answers, as a load balancer
	// does while it waits for a server that does not answer.
	ProxyHold
)

// Proxy is a TCP proxy in front of the test PostgreSQL that a test turns
// bad on purpose, as a failing load balancer or network would: it holds
// new connections, cuts the open ones, or cuts one at the moment its
// COMMIT has been sent. It speaks just enough of PostgreSQL's protocol to
// find message boundaries (without TLS: URLs with sslmode=disable).
type Proxy struct {
	ln     net.Listener
	target string

	mu       sync.Mutex
	mode     ProxyMode
	conns    map[net.Conn]struct{}
	cutNext  bool          // cut at the next COMMIT
	answered chan struct{} // closed once the server answered that COMMIT
}

// NewProxy starts a proxy to the host and port of the PostgreSQL URL
// base; it stops when the test ends.
func NewProxy(tb testing.TB, base string) *Proxy {
	tb.Helper()
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p := &Proxy{ln: ln, target: u.Host, conns: map[net.Conn]struct{}{}}
	go p.serve()
	tb.Cleanup(func() {
		ln.Close()
		p.CutAll()
	})
	return p
}

// URL returns dsn with its host and port replaced by the proxy's.
func (p *Proxy) URL(tb testing.TB, dsn string) string {
	tb.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		tb.Fatal(err)
	}
	u.Host = p.ln.Addr().String()
	return u.String()
}

// SetMode sets how new connections are treated.
func (p *Proxy) SetMode(m ProxyMode) {
	p.mu.Lock()
	p.mode = m
	p.mu.Unlock()
}

// CutAll closes every open connection, both ways.
func (p *Proxy) CutAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

// CutAtCommit arms the proxy: the next COMMIT a client sends reaches the
// server, and the client's connection is cut before the answer reaches
// it, so the client cannot know whether it committed. The returned
// channel is closed once the server has answered that COMMIT.
func (p *Proxy) CutAtCommit() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cutNext = true
	p.answered = make(chan struct{})
	return p.answered
}

func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns == nil {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) serve() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.track(client)
		p.mu.Lock()
		mode := p.mode
		p.mu.Unlock()
		if mode == ProxyHold {
			continue // held open, unanswered, until cut
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			client.Close()
			continue
		}
		p.track(server)
		go p.pump(client, server)
	}
}

// pump forwards one connection, a message at a time each way, so that a
// COMMIT and the server's answer to it can be recognised.
func (p *Proxy) pump(client, server net.Conn) {
	// answered is set, before the COMMIT is forwarded, when this
	// connection is being cut at it.
	var answered atomic.Pointer[chan struct{}]
	go func() {
		startup := true
		for {
			msg, err := readMessage(client, startup)
			if err != nil {
				server.Close()
				return
			}
			startup = false
			if isCommit(msg) {
				p.mu.Lock()
				if p.cutNext {
					p.cutNext = false
					ch := p.answered
					answered.Store(&ch)
				}
				p.mu.Unlock()
			}
			if answered.Load() != nil {
				client.Close()
			}
			if _, err := server.Write(msg); err != nil || answered.Load() != nil {
				return
			}
		}
	}()
	defer server.Close()
	defer client.Close()
	for {
		msg, err := readMessage(server, false)
		if err != nil {
			return
		}
		if ch := answered.Load(); ch != nil {
			// The answer must not reach the client; ReadyForQuery after
			// the COMMIT settles the transaction's fate on the server.
			if msg[0] == 'Z' {
				close(*ch)
				return
			}
			continue
		}
		if _, err := client.Write(msg); err != nil {
			return
		}
	}
}

// readMessage reads one protocol message: a type byte and a length, or
// for a connection's first message (startup, SSL or cancel request) a
// length alone.
func readMessage(r io.Reader, untyped bool) ([]byte, error) {
	head := 5
	if untyped {
		head = 4
	}
	buf := make([]byte, head)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint32(buf[head-4:]))
	if n < 4 {
		return nil, io.ErrUnexpectedEOF
	}
	msg := make([]byte, head+n-4)
	copy(msg, buf)
	if _, err := io.ReadFull(r, msg[head:]); err != nil {
		return nil, err
	}
	return msg, nil
}

// isCommit reports whether msg is a simple query "commit", as pgx sends
// to commit a transaction.
func isCommit(msg []byte) bool {
	if len(msg) < 6 || msg[0] != 'Q' {
		return false
	}
	q := bytes.TrimRight(msg[5:], "\x00")
	return bytes.EqualFold(bytes.TrimSpace(q), []byte("commit"))
}
