package auth

// CountWork makes h tell f the work of every password check it makes.
func (h *Hasher) CountWork(f func(Work)) { h.onWork = f }
