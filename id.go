package tasktrack

// ValidID reports whether s can name a task, an alert, a notification, a
// personal access token or a webhook (or one of its deliveries): a UUID in its
// 36-character form, in either case. Anything else names nothing, so a
// lookup answers not found rather than asking the database.
func ValidID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}
