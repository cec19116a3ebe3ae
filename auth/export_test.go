package auth

// CountWork makes h tell f the work of every password check it makes.
func (h *Hasher) CountWork(f func(Work)) { h.onWork = f }

// Remembered is how many verified access tokens t remembers.
func (t *Tokens) Remembered() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.verified)
}
