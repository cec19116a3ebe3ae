package sqlstoretest

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"net/url"
	"strings"
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
// commit has been sent. It speaks just enough of PostgreSQL's protocol to
// find message boundaries and commits (without TLS: URLs with
// sslmode=disable).
type Proxy struct {
	ln     net.Listener
	target string

	mu       sync.Mutex
	mode     ProxyMode
	conns    map[net.Conn]struct{}
	cutNext  bool          // cut at the next commit
	answered chan struct{} // closed once the server answered that commit
	// cutKeys are the cancellation keys (BackendKeyData) of the sessions
	// cut at a commit: their cancel requests are lost with them.
	cutKeys map[string]bool
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

// CutAtCommit arms the proxy: the next commit a client sends reaches the
// server, and the client's connection is cut before the answer reaches
// it, so the client cannot know whether it committed. The returned
// channel is closed once the server has answered that commit. A commit is
// a COMMIT, or the Sync that ends a write (a statement that begins with
// WITH, INSERT, UPDATE or DELETE) sent outside a transaction, which
// commits by itself. The cancel request a client sends when it loses its
// connection is lost too, as the network that cut the one would lose the
// other: the server carries out the commit (pgx cancels the statement of
// a broken connection, which would cancel such a write at random).
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
	// idle is whether the server's last ReadyForQuery said it is outside a
	// transaction block.
	var idle atomic.Bool
	// key is the session's cancellation key, from the server.
	var key atomic.Pointer[string]
	go func() {
		startup := true
		var w writes
		for {
			msg, err := readMessage(client, startup)
			if err != nil {
				server.Close()
				return
			}
			if startup && p.cancelsCut(msg) {
				client.Close()
				server.Close()
				return
			}
			startup = false
			if isCommit(msg) || w.commits(msg, idle.Load()) {
				p.mu.Lock()
				if p.cutNext {
					p.cutNext = false
					ch := p.answered
					answered.Store(&ch)
					if k := key.Load(); k != nil {
						if p.cutKeys == nil {
							p.cutKeys = map[string]bool{}
						}
						p.cutKeys[*k] = true
					}
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
		switch {
		case msg[0] == 'Z' && len(msg) > 5:
			idle.Store(msg[5] == 'I')
		case msg[0] == 'K':
			k := string(msg[5:])
			key.Store(&k)
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

// cancelCode is the request code of a CancelRequest.
const cancelCode = 80877102

// cancelsCut reports whether msg, a connection's first message, is a
// cancel request for a session cut at a commit.
func (p *Proxy) cancelsCut(msg []byte) bool {
	if len(msg) != 16 || binary.BigEndian.Uint32(msg[4:8]) != cancelCode {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cutKeys[string(msg[8:])]
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

// writes follows a connection's extended-protocol messages to find the
// Syncs that commit a write outside a transaction: the statements it
// prepares (Parse: name, text), and whether those it binds since the last
// Sync are writes.
type writes struct {
	stmts map[string]string
	write bool
}

// commits reports whether msg, sent while the server is idle (outside a
// transaction block) or not, commits a write by itself.
func (w *writes) commits(msg []byte, idle bool) bool {
	body := msg[min(5, len(msg)):]
	switch msg[0] {
	case 'P':
		if name, rest, ok := bytes.Cut(body, []byte{0}); ok {
			query, _, _ := bytes.Cut(rest, []byte{0})
			if w.stmts == nil {
				w.stmts = map[string]string{}
			}
			w.stmts[string(name)] = string(query)
		}
	case 'B':
		if _, rest, ok := bytes.Cut(body, []byte{0}); ok {
			name, _, _ := bytes.Cut(rest, []byte{0})
			w.write = w.write || isWrite(w.stmts[string(name)])
		}
	case 'S':
		write := w.write
		w.write = false
		return write && idle
	}
	return false
}

// isWrite reports whether query begins with WITH, INSERT, UPDATE or DELETE.
func isWrite(query string) bool {
	f := bytes.Fields([]byte(query))
	if len(f) == 0 {
		return false
	}
	switch strings.ToUpper(string(f[0])) {
	case "WITH", "INSERT", "UPDATE", "DELETE":
		return true
	}
	return false
}
