package sqlstore

import (
	"fmt"
	"slices"
	"testing"
)

// A statement of n rows runs on SQLite as statements of the binary digits
// of n, largest first, each with the lead arguments and its own rows' in
// order; on PostgreSQL as one.
func TestEachChunk(t *testing.T) {
	for _, c := range []struct {
		d    dialect
		n    int
		want []int
	}{
		{sqliteDialect{}, 1, []int{1}},
		{sqliteDialect{}, 13, []int{8, 4, 1}},
		{sqliteDialect{}, 64, []int{64}},
		{sqliteDialect{}, 63, []int{32, 16, 8, 4, 2, 1}},
		{postgresDialect{}, 13, []int{13}},
	} {
		tx := &Tx{db: &DB{dialect: c.d}}
		args := []any{"lead1", "lead2"}
		for i := range c.n {
			args = append(args, fmt.Sprint("a", i), fmt.Sprint("b", i))
		}
		var sizes []int
		var seen []any
		err := tx.eachChunk(c.n, 2, args, func(k int, a []any) error {
			sizes = append(sizes, k)
			if len(a) != 2+2*k || a[0] != "lead1" || a[1] != "lead2" {
				t.Errorf("%T %d: chunk of %d rows with args %v", c.d, c.n, k, a)
			}
			seen = append(seen, a[2:]...)
			return nil
		})
		if err != nil || !slices.Equal(sizes, c.want) || !slices.Equal(seen, args[2:]) {
			t.Errorf("%T %d: chunks %v (want %v), rows %v, %v", c.d, c.n, sizes, c.want, seen, err)
		}
		if args[0] != "lead1" || len(args) != 2+2*c.n {
			t.Errorf("%T %d: the caller's args changed: %v", c.d, c.n, args[:3])
		}
	}
}

// An IN list is padded to a power of two with its last value.
func TestPadded(t *testing.T) {
	for _, c := range []struct{ in, want []any }{
		{[]any{1}, []any{1}},
		{[]any{1, 2}, []any{1, 2}},
		{[]any{1, 2, 3}, []any{1, 2, 3, 3}},
		{[]any{1, 2, 3, 4, 5}, []any{1, 2, 3, 4, 5, 5, 5, 5}},
	} {
		if got := padded(c.in); !slices.Equal(got, c.want) {
			t.Errorf("padded(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}
