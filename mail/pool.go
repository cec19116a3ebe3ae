package mail

import (
	"errors"
	"net"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"
)

// A Sender keeps a few SMTP sessions open between messages, so that a
// burst of email does not pay for a connection, a greeting, STARTTLS and
// AUTH per message.
const (
	// DefaultMaxIdle sessions are kept waiting for the next message; one
	// more that ends a message is closed.
	DefaultMaxIdle = 4
	// DefaultIdleTimeout is how long a session waits for a message before
	// it is closed, well within the 5 minutes RFC 5321 asks servers to
	// wait.
	DefaultIdleTimeout = 30 * time.Second
	// DefaultMaxMessages is how many messages one session carries before
	// it is closed, so that a server's per-connection limits and state
	// never build up.
	DefaultMaxMessages = 100
	// quitTimeout bounds the QUIT of a session the pool closes (one that
	// waited too long, or all of them at Close).
	quitTimeout = 2 * time.Second
)

// session is one SMTP conversation past its greeting, STARTTLS and AUTH.
// One Send at a time has it; between Sends it waits in the pool.
type session struct {
	client *gomail.Client
	smtp   *smtp.Client
	sent   int // messages the server accepted on it

	mu     sync.Mutex
	conn   net.Conn // the TCP connection, once dialled
	closed bool

	// Under the pool's lock: when it started waiting, and the timer that
	// closes it if it waits too long.
	idleSince time.Time
	timer     *time.Timer
}

// cut closes the connection at once, without QUIT: the context of the
// Send that has the session ended, or the conversation is over. Any later
// read or write on it fails.
func (ss *session) cut() {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.closed = true
	if ss.conn != nil {
		ss.conn.Close()
	}
}

// setConn records the dialled connection; it refuses it when the session
// was cut meanwhile.
func (ss *session) setConn(c net.Conn) bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.closed {
		return false
	}
	ss.conn = c
	return true
}

// quit ends the conversation politely within timeout, then closes the
// connection whatever the server said.
func (ss *session) quit(timeout time.Duration) {
	if ss.smtp.UpdateDeadline(timeout) == nil {
		_ = ss.client.CloseWithSMTPClient(ss.smtp)
	}
	ss.cut()
}

// pool holds the sessions of a Sender waiting for a message, the one used
// last at the end.
type pool struct {
	maxIdle     int
	idleTimeout time.Duration
	maxMessages int

	mu      sync.Mutex
	idle    []*session
	closed  bool
	quiting sync.WaitGroup // sessions closed for waiting too long
}

// get takes the session that waited least, or returns nil.
func (p *pool) get() *session {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.idle)
	if n == 0 {
		return nil
	}
	ss := p.idle[n-1]
	p.idle[n-1] = nil
	p.idle = p.idle[:n-1]
	// Should the timer have fired just now, expire finds the session
	// gone from idle and leaves it alone.
	ss.timer.Stop()
	return ss
}

// wants reports whether a session that just carried a message should be
// kept: it has room for more, and the pool room for it.
func (p *pool) wants(ss *session) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.closed && len(p.idle) < p.maxIdle && ss.sent < p.maxMessages
}

// put keeps ss for the next Send; it reports false, keeping nothing, when
// the pool has filled or closed since wants said yes.
func (p *pool) put(ss *session) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || len(p.idle) >= p.maxIdle {
		return false
	}
	p.idle = append(p.idle, ss)
	ss.idleSince = time.Now()
	if ss.timer == nil {
		ss.timer = time.AfterFunc(p.idleTimeout, func() { p.expire(ss) })
	} else {
		ss.timer.Reset(p.idleTimeout)
	}
	return true
}

// expire closes ss if it is still waiting, and has waited long enough
// (a timer that fired as a Send took it, and came late, finds it taken or
// waiting anew).
func (p *pool) expire(ss *session) {
	p.mu.Lock()
	i := -1
	for j, o := range p.idle {
		if o == ss {
			i = j
		}
	}
	if p.closed || i < 0 || time.Since(ss.idleSince) < p.idleTimeout {
		p.mu.Unlock()
		return
	}
	p.idle = append(p.idle[:i], p.idle[i+1:]...)
	p.quiting.Add(1)
	p.mu.Unlock()
	defer p.quiting.Done()
	ss.quit(quitTimeout)
}

// close closes the waiting sessions (QUIT, in parallel) and keeps no more.
func (p *pool) close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.quiting.Wait()
		return
	}
	p.closed = true
	idle := p.idle
	p.idle = nil
	for _, ss := range idle {
		ss.timer.Stop()
	}
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, ss := range idle {
		wg.Go(func() { ss.quit(quitTimeout) })
	}
	wg.Wait()
	p.quiting.Wait()
}

// unsent reports whether err, from sending on a session that had been
// waiting in the pool, shows that the session was gone before the message
// was: the failure came before any of the message's data was written (at
// the connection check, MAIL FROM, RCPT TO or the DATA command), and is no
// reply of the server's about the message but a broken connection (no
// reply code) or a 421, which a server sends as it closes the connection.
// Trying again on a new session then cannot send the message twice.
func unsent(err error) bool {
	var se *gomail.SendError
	if !errors.As(err, &se) {
		return false
	}
	switch se.Reason {
	case gomail.ErrConnCheck, gomail.ErrSMTPMailFrom, gomail.ErrSMTPRcptTo, gomail.ErrSMTPData:
	default:
		return false
	}
	code := se.ErrorCode()
	return code == 0 || code == 421
}
