package tasktrack

import "strconv"

// ImportNote records one row an import of another system's data maps
// rather than copies as it is, or leaves out (Skipped): the reader notes
// what it mapped, the store what it left out or changed on writing.
type ImportNote struct {
	Target string `json:"target"` // "role", "user" or "task"
	ID     string `json:"id"`     // the row's id in tasktrack's form
	Name   string `json:"name"`   // a role's name, a username, a task's title
	Detail string `json:"detail"`
	// Skipped is true when the row is not imported at all.
	Skipped bool `json:"skipped"`
}

func (n ImportNote) String() string {
	s := n.Target + " " + n.ID
	if n.Name != "" {
		s += " " + strconv.Quote(n.Name)
	}
	return s + ": " + n.Detail
}
