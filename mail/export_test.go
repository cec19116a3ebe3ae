package mail

import "time"

// SetPool changes the limits of s's pool of sessions.
func (s *Sender) SetPool(maxIdle int, idleTimeout time.Duration, maxMessages int) {
	s.pool.mu.Lock()
	defer s.pool.mu.Unlock()
	s.pool.maxIdle, s.pool.idleTimeout, s.pool.maxMessages = maxIdle, idleTimeout, maxMessages
}

// Idle returns how many sessions wait in s's pool.
func (s *Sender) Idle() int {
	s.pool.mu.Lock()
	defer s.pool.mu.Unlock()
	return len(s.pool.idle)
}
